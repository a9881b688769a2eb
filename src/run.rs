//! `haven run`: real mode. Reads haproxy.cfg like `haven check` (refusing
//! to start on an error), then serves it. SIGHUP re-reads the files: a
//! valid config starts beside the old one (same addresses, SO_REUSEPORT)
//! while the old one drains; an invalid one is refused with its errors and
//! the old one keeps serving (`haven reload` sends that SIGHUP). SIGTERM or
//! Ctrl-C stop accepting and let the requests in progress finish, for up to
//! [`GRACE`]. The pidfile (`-p` or the config's `pidfile`) lives as long as
//! the process serves.

use crate::RunArgs;
use anyhow::{Context, Result};
use haven_runtime::Running;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// How long a graceful stop waits for requests in progress.
const GRACE: Duration = Duration::from_secs(30);

/// Starts real mode for `cfg` and says where it listens.
async fn start(cfg: haven_core::config::haproxy::HaproxyConfig) -> Result<Running> {
    let running = haven_runtime::start(cfg).await?;
    for (frontend, addr) in &running.listeners {
        eprintln!("haven: frontend {frontend} listening on {addr}");
    }
    Ok(running)
}

/// Runs `haven run`.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode> {
    let Some(cfg) = crate::check::load_haproxy(&args.haproxy)? else {
        return Ok(ExitCode::from(1));
    };
    let pidfile = args
        .pidfile
        .clone()
        .or(cfg.global.pidfile.as_ref().map(PathBuf::from));
    if let Some(path) = &pidfile {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pidfile {}", path.display()))?;
    }
    let code = serve(cfg, args);
    if let Some(path) = &pidfile {
        let _ = std::fs::remove_file(path);
    }
    code
}

/// Serves `cfg` until stopped, reloading on SIGHUP.
fn serve(cfg: haven_core::config::haproxy::HaproxyConfig, args: &RunArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let mut running = start(cfg).await?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                () = running.wait() => return Ok(ExitCode::from(1)),
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = hup.recv() => {
                    let reloaded = match crate::check::load_haproxy(&args.haproxy) {
                        Ok(Some(cfg)) => start(cfg).await,
                        Ok(None) => Err(anyhow::anyhow!("the configuration has errors")),
                        Err(e) => Err(e),
                    };
                    match reloaded {
                        Ok(new) => {
                            tokio::spawn(std::mem::replace(&mut running, new).drain());
                            eprintln!("haven: configuration reloaded");
                        }
                        Err(e) => eprintln!(
                            "haven: reload refused: {e:#}; still serving the previous configuration"
                        ),
                    }
                }
            }
        }
        eprintln!("haven: stopping: no new connections, finishing requests in progress");
        if tokio::time::timeout(GRACE, running.drain()).await.is_err() {
            eprintln!("haven: grace time over after {GRACE:?}; exiting");
        }
        Ok(ExitCode::SUCCESS)
    })
}
