//! `haven reload`: asks a running `haven run` to re-read haproxy.cfg and
//! keepalived.conf (SIGHUP to the pid in its pidfile). Given the config files, it checks
//! them first and sends nothing when they have errors, so the operator
//! sees the errors where the command was typed; the daemon would refuse
//! them anyway and keep serving.

use crate::ReloadArgs;
use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs `haven reload`.
pub(crate) fn run(args: &ReloadArgs) -> Result<ExitCode> {
    let mut pidfile = args.pidfile.clone();
    if !args.haproxy.is_empty() {
        let Some(cfg) = crate::check::load_haproxy(&args.haproxy)? else {
            eprintln!("haven: the new configuration has errors; reload not sent");
            return Ok(ExitCode::from(1));
        };
        pidfile = pidfile.or(cfg.global.pidfile.map(PathBuf::from));
    }
    if let Some(path) = &args.keepalived {
        if crate::check::load_keepalived(path)?.is_none() {
            eprintln!("haven: the new keepalived.conf has errors; reload not sent");
            return Ok(ExitCode::from(1));
        }
    }
    let Some(pidfile) = pidfile else {
        bail!("which process? give --pidfile, or -f with a config that sets `pidfile`");
    };
    let text = std::fs::read_to_string(&pidfile)
        .with_context(|| format!("cannot read the pidfile {}", pidfile.display()))?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{}: not a process id: {:?}", pidfile.display(), text.trim()))?;
    kill(Pid::from_raw(pid), Signal::SIGHUP)
        .with_context(|| format!("cannot signal process {pid}"))?;
    eprintln!("haven: reload sent to process {pid}");
    Ok(ExitCode::SUCCESS)
}
