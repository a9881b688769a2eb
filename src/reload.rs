//! `haven reload`: asks a running `haven run` to re-read haproxy.cfg and
//! keepalived.conf (SIGHUP to the pid in its pidfile). Given the config files, it checks
//! them first and sends nothing when they have errors, so the operator
//! sees the errors where the command was typed; the daemon would refuse
//! them anyway and keep serving. The daemon re-reads the files it was
//! started with, so files other than those are refused, never reported
//! as loaded.

use crate::check::Report;
use crate::ReloadArgs;
use anyhow::{bail, Context, Result};
use clap::Parser;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs `haven reload`.
pub(crate) fn run(args: &ReloadArgs) -> Result<ExitCode> {
    let mut pidfile = args.pidfile.clone();
    if !args.haproxy.is_empty() {
        let Some(cfg) = crate::check::load_haproxy(&args.haproxy, Report::Check)? else {
            haven_runtime::eprintln_whole!(
                "haven: the new configuration has errors; reload not sent"
            );
            return Ok(ExitCode::from(1));
        };
        pidfile = pidfile.or(cfg.global.pidfile.map(PathBuf::from));
    }
    if let Some(path) = &args.keepalived {
        if crate::check::load_keepalived(path)?.is_none() {
            haven_runtime::eprintln_whole!(
                "haven: the new keepalived.conf has errors; reload not sent"
            );
            return Ok(ExitCode::from(1));
        }
    }
    if args.simulate && !crate::reload_simulate::passes(args)? {
        haven_runtime::eprintln_whole!(
            "haven: the simulation of the new configuration found problems; reload not sent"
        );
        return Ok(ExitCode::from(1));
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
    if !args.haproxy.is_empty() || args.keepalived.is_some() {
        same_files_as(pid, args)?;
    }
    kill(Pid::from_raw(pid), Signal::SIGHUP)
        .with_context(|| format!("cannot signal process {pid}"))?;
    haven_runtime::eprintln_whole!("haven: reload sent to process {pid}");
    Ok(ExitCode::SUCCESS)
}

/// Fails unless the `haven run` with id `pid` reads the files `args` name
/// (its command line, paths taken from its working directory).
fn same_files_as(pid: i32, args: &ReloadArgs) -> Result<()> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let cmdline = std::fs::read(proc.join("cmdline"))
        .with_context(|| format!("cannot read the command line of process {pid}"))?;
    let argv: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let Ok(crate::Cli {
        command: crate::Command::Run(running),
    }) = crate::Cli::try_parse_from(&argv)
    else {
        bail!(
            "process {pid} is not a `haven run` ({}); it cannot be told which files to load",
            argv.join(" ")
        );
    };
    let its_cwd = std::fs::read_link(proc.join("cwd"))
        .with_context(|| format!("cannot see the working directory of process {pid}"))?;
    let theirs = |p: &PathBuf| canonical(&its_cwd.join(p));
    let ours = |p: &PathBuf| canonical(p);
    let haproxy_differs = !args.haproxy.is_empty()
        && args
            .haproxy
            .iter()
            .map(ours)
            .ne(running.haproxy.iter().map(theirs));
    let keepalived_differs = args.keepalived.as_ref().map(ours)
        != running.keepalived.as_ref().map(theirs)
        && args.keepalived.is_some();
    if haproxy_differs || keepalived_differs {
        let list = |files: &[PathBuf], k: &Option<PathBuf>| {
            files
                .iter()
                .map(|f| format!("-f {}", f.display()))
                .chain(k.iter().map(|k| format!("-k {}", k.display())))
                .collect::<Vec<_>>()
                .join(" ")
        };
        bail!(
            "process {pid} runs with {} and re-reads those files on a reload, not {}; reload not sent (copy the new configuration over them, or restart with the new files)",
            list(&running.haproxy, &running.keepalived),
            list(&args.haproxy, &args.keepalived)
        );
    }
    Ok(())
}

/// `path` with links and `..` resolved, or as given when it does not exist.
fn canonical(path: &std::path::Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}
