//! `haven run`: real mode. Reads haproxy.cfg and keepalived.conf like
//! `haven check` (refusing to start on an error), then serves: the proxy,
//! the VRRP daemon, or both in one process. SIGHUP re-reads haproxy.cfg:
//! a valid config starts beside the old one (same addresses,
//! SO_REUSEPORT) while the old one drains; an invalid one is refused with
//! its errors and the old one keeps serving (`haven reload` sends that
//! SIGHUP). VRRP keeps its state across it. SIGTERM or Ctrl-C stop VRRP
//! gracefully (priority 0, VIPs removed), then stop accepting and let the
//! requests in progress finish, for up to [`GRACE`]. The pidfile (`-p` or
//! the config's `pidfile`) lives as long as the process serves.

use crate::RunArgs;
use anyhow::{bail, Context, Result};
use haven_core::config::haproxy::HaproxyConfig;
use haven_core::config::keepalived::KeepalivedConfig;
use haven_core::vrrp::InstanceView;
use haven_runtime::{Running, VrrpLog, VrrpRunning};
use std::future::pending;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// How long a graceful stop waits for requests in progress.
const GRACE: Duration = Duration::from_secs(30);

/// Starts the proxy for `cfg` and says where it listens; the VRRP
/// instances published on `vrrp` show on its stats.
async fn start(cfg: HaproxyConfig, vrrp: &watch::Receiver<Vec<InstanceView>>) -> Result<Running> {
    let running = haven_runtime::start_with(cfg, Some(vrrp.clone())).await?;
    for (frontend, addr) in &running.listeners {
        eprintln!("haven: frontend {frontend} listening on {addr}");
    }
    Ok(running)
}

/// Runs `haven run`.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode> {
    if args.haproxy.is_empty() && args.keepalived.is_none() {
        bail!("nothing to run: give -f haproxy.cfg and/or -k keepalived.conf");
    }
    let haproxy = match args.haproxy.is_empty() {
        true => None,
        false => match crate::check::load_haproxy(&args.haproxy)? {
            Some(cfg) => Some(cfg),
            None => return Ok(ExitCode::from(1)),
        },
    };
    let keepalived = match &args.keepalived {
        None => None,
        Some(path) => match crate::check::load_keepalived(path)? {
            Some(cfg) => Some(cfg),
            None => return Ok(ExitCode::from(1)),
        },
    };
    let pidfile = args.pidfile.clone().or(haproxy
        .as_ref()
        .and_then(|h| h.global.pidfile.as_ref().map(PathBuf::from)));
    if let Some(path) = &pidfile {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pidfile {}", path.display()))?;
    }
    let code = serve(haproxy, keepalived, args);
    if let Some(path) = &pidfile {
        let _ = std::fs::remove_file(path);
    }
    code
}

/// Waits for `part` to end; forever when it does not run.
async fn ended<T>(part: &mut Option<T>, wait: impl AsyncFnOnce(&mut T)) {
    match part {
        Some(p) => wait(p).await,
        None => pending().await,
    }
}

/// Serves until stopped, reloading the proxy on SIGHUP.
fn serve(
    haproxy: Option<HaproxyConfig>,
    keepalived: Option<KeepalivedConfig>,
    args: &RunArgs,
) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let (status, vrrp_status) = watch::channel(Vec::new());
        let mut proxy = match haproxy {
            Some(cfg) => Some(start(cfg, &vrrp_status).await?),
            None => None,
        };
        let listeners = proxy
            .as_ref()
            .map(|p| p.listeners.iter().map(|(_, a)| *a).collect());
        let log = VrrpLog {
            detail: args.log_detail,
        };
        let mut vrrp: Option<VrrpRunning> = match keepalived {
            Some(cfg) => Some(haven_runtime::start_vrrp(cfg, log, listeners, status).await?),
            None => None,
        };
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                () = ended(&mut proxy, async |p| p.wait().await) => return Ok(ExitCode::from(1)),
                () = ended(&mut vrrp, async |v| v.wait().await) => return Ok(ExitCode::from(1)),
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = hup.recv() => {
                    if let Some(running) = &mut proxy {
                        reload(running, args, &vrrp_status).await;
                    }
                }
            }
        }
        eprintln!("haven: stopping: no new connections, finishing requests in progress");
        if let Some(v) = vrrp {
            v.stop().await;
        }
        if let Some(p) = proxy {
            if tokio::time::timeout(GRACE, p.drain()).await.is_err() {
                eprintln!("haven: grace time over after {GRACE:?}; exiting");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Re-reads haproxy.cfg: the new proxy takes over while the old drains,
/// or the broken config is refused.
async fn reload(running: &mut Running, args: &RunArgs, vrrp: &watch::Receiver<Vec<InstanceView>>) {
    let reloaded = match crate::check::load_haproxy(&args.haproxy) {
        Ok(Some(cfg)) => start(cfg, vrrp).await,
        Ok(None) => Err(anyhow::anyhow!("the configuration has errors")),
        Err(e) => Err(e),
    };
    match reloaded {
        Ok(new) => {
            tokio::spawn(std::mem::replace(running, new).drain());
            eprintln!("haven: configuration reloaded");
        }
        Err(e) => {
            eprintln!("haven: reload refused: {e:#}; still serving the previous configuration")
        }
    }
}
