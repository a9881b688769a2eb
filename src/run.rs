//! Real mode as a process: `haven run`, and the run modes of the
//! `haproxy` and `keepalived` personalities. Reads haproxy.cfg and
//! keepalived.conf like `haven check` (refusing to start on an error),
//! then serves the proxy, the VRRP daemon, or both in one process, until a
//! signal says otherwise. What each signal means is the caller's choice
//! ([`Action`]): a reload re-reads haproxy.cfg, starting the new proxy
//! beside the old one (same addresses, SO_REUSEPORT) while the old one
//! drains, and re-reads keepalived.conf, whose instances keep their state
//! (keepalived's SIGHUP); a broken file is refused and the running config
//! goes on. A graceful stop hands the VIP over
//! (priority 0, kept until the new master is heard), then lets requests in
//! progress finish for up to `hard-stop-after` ([`GRACE`] without it). The pidfile lives as long as the
//! process serves.

use crate::check::Report;
use crate::unsupported::may_start;
use anyhow::{Context, Result};
use haven_core::config::haproxy::HaproxyConfig;
use haven_core::config::keepalived::KeepalivedConfig;
use haven_core::vrrp::InstanceView;
use haven_runtime::{Running, VrrpLog, VrrpRunning};
use nix::sys::signal::Signal;
use sd_notify::NotifyState;
use std::future::pending;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// How long a graceful stop waits for requests in progress.
const GRACE: Duration = Duration::from_secs(30);

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Hand the VIP over, stop accepting, finish requests, exit 0.
    Graceful,
    /// Exit at once, ended by this signal (haproxy's SIGTERM and SIGINT).
    Immediate(Signal),
    /// Re-read haproxy.cfg and keepalived.conf.
    Reload,
    /// Write the VRRP statistics to [`STATS_DUMP`] (keepalived's SIGUSR2).
    DumpStats,
    /// Write keepalived's data dump (its SIGUSR1).
    DumpData,
}

/// Why a reload is refused when [`may_start`] says no.
const UNHONOURED: &str = "it holds keywords haven does not honour (above)";

/// Where keepalived writes its statistics dump.
const STATS_DUMP: &str = "/tmp/keepalived.stats";

/// `haven run`'s signals: SIGTERM and SIGINT stop gracefully, SIGHUP
/// reloads.
pub(crate) const HAVEN_SIGNALS: &[(SignalKind, Action)] = &[
    (SignalKind::terminate(), Action::Graceful),
    (SignalKind::interrupt(), Action::Graceful),
    (SignalKind::hangup(), Action::Reload),
];

/// One process to run.
pub(crate) struct Launch {
    /// The proxy's config and the files it was read from (for reloads).
    pub(crate) haproxy: Option<(HaproxyConfig, Vec<PathBuf>)>,
    /// The VRRP config and its file.
    pub(crate) keepalived: Option<(KeepalivedConfig, PathBuf)>,
    /// Where VRRP log lines go, and which.
    pub(crate) vrrp_log: VrrpLog,
    pub(crate) pidfile: Option<PathBuf>,
    /// Go to the background first.
    pub(crate) daemon: bool,
    pub(crate) signals: &'static [(SignalKind, Action)],
    /// Runs once everything listens (haproxy's `-sf` / `-st`).
    pub(crate) on_ready: Box<dyn FnOnce()>,
    /// Start, and reload, configs holding keywords haven does not honour
    /// that change traffic ([`crate::unsupported`]).
    pub(crate) accept_unsupported: bool,
}

/// How a launched process ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// With this exit code.
    Code(ExitCode),
    /// Stopped at once by this signal ([`Action::Immediate`]).
    Signal(Signal),
}

/// Runs `launch` to its end.
pub(crate) fn launch(launch: Launch) -> Result<Ended> {
    let (daemon, pidfile) = (launch.daemon, launch.pidfile.clone());
    as_process(daemon, pidfile.as_deref(), || serve(launch))
}

/// Runs `body` as the process a pidfile names: in the background first
/// when `daemon`, the pid written to `pidfile` while it runs.
pub(crate) fn as_process<T>(
    daemon: bool,
    pidfile: Option<&Path>,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if daemon {
        nix::unistd::daemon(true, false).context("cannot go to the background")?;
    }
    if let Some(path) = pidfile {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pidfile {}", path.display()))?;
    }
    let result = body();
    if let Some(path) = pidfile {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Starts the proxy for `cfg` and says where it listens; the VRRP
/// instances published on `vrrp` show on its stats.
async fn start(cfg: HaproxyConfig, vrrp: &watch::Receiver<Vec<InstanceView>>) -> Result<Running> {
    if let Some(n) = cfg.global.ulimit_n {
        crate::limits::raise_fd_limit(n);
    }
    let running = haven_runtime::start_with(cfg, Some(vrrp.clone())).await?;
    for (frontend, addr) in &running.listeners {
        haven_runtime::eprintln_whole!("haven: frontend {frontend} listening on {addr}");
    }
    Ok(running)
}

/// Waits for `part` to end; forever when it does not run.
async fn ended<T>(part: &mut Option<T>, wait: impl AsyncFnOnce(&mut T)) {
    match part {
        Some(p) => wait(p).await,
        None => pending().await,
    }
}

/// Forwards each signal of `signals` as its action.
pub(crate) fn watch_signals(
    signals: &[(SignalKind, Action)],
) -> Result<mpsc::UnboundedReceiver<Action>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (kind, action) in signals {
        let mut s = signal(*kind)?;
        let (tx, action) = (tx.clone(), *action);
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                if tx.send(action).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

/// Serves until a signal stops it.
fn serve(launch: Launch) -> Result<Ended> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let (status, vrrp_status) = watch::channel(Vec::new());
        let run_as = launch
            .haproxy
            .as_ref()
            .map(|(cfg, _)| (cfg.global.user.clone(), cfg.global.group.clone(), cfg.transparent()));
        // `hard-stop-after` bounds the final soft stop (haven's own bound
        // without it).
        let grace = launch
            .haproxy
            .as_ref()
            .and_then(|(cfg, _)| cfg.global.hard_stop_after)
            .map_or(GRACE, |d| Duration::from_nanos(d.as_nanos()));
        let (mut proxy, files) = match launch.haproxy {
            Some((cfg, files)) => (Some(start(cfg, &vrrp_status).await?), files),
            None => (None, Vec::new()),
        };
        let listeners = proxy
            .as_ref()
            .map(|p| p.listeners.iter().map(|(_, a)| *a).collect());
        let (mut vrrp, keepalived_file) = match launch.keepalived {
            Some((cfg, file)) => (
                Some(haven_runtime::start_vrrp(cfg, launch.vrrp_log, listeners, status).await?),
                Some(file),
            ),
            None => (None, None),
        };
        if let Some((user, group, transparent)) = &run_as {
            let (user, group) = (user.as_deref(), group.as_deref());
            crate::privileges::drop_to(user, group, vrrp.is_some(), *transparent)?;
        }
        let mut actions = watch_signals(launch.signals)?;
        let accept = launch.accept_unsupported;
        // Under systemd (`Type=notify`) or a master-worker master.
        let pid = std::process::id();
        let _ = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::MainPid(pid)]);
        (launch.on_ready)();
        let action = loop {
            tokio::select! {
                () = ended(&mut proxy, async |p| p.wait().await) => return Ok(Ended::Code(ExitCode::from(1))),
                () = ended(&mut vrrp, async |v| v.wait().await) => return Ok(Ended::Code(ExitCode::from(1))),
                action = actions.recv() => match action {
                    Some(Action::Reload) => {
                        if let Some(running) = &mut proxy {
                            reload(running, &files, &vrrp_status, accept).await;
                        }
                        if let (Some(running), Some(file)) = (&vrrp, &keepalived_file) {
                            reload_vrrp(running, file, accept).await;
                        }
                    }
                    Some(Action::DumpStats) => {
                        let dump = haven_core::vrrp::stats_dump(&vrrp_status.borrow());
                        if let Err(e) = std::fs::write(STATS_DUMP, dump) {
                            haven_runtime::eprintln_whole!("haven: cannot write {STATS_DUMP}: {e}");
                        }
                    }
                    Some(Action::DumpData) => {
                        if let Some(v) = &vrrp {
                            v.dump_data();
                        }
                    }
                    Some(action) => break action,
                    None => break Action::Graceful,
                },
            }
        };
        if let Action::Immediate(signal) = action {
            return Ok(Ended::Signal(signal));
        }
        haven_runtime::eprintln_whole!("haven: stopping: no new connections, finishing requests in progress");
        if let Some(v) = vrrp {
            v.stop().await;
        }
        if let Some(p) = proxy {
            if !tokio::time::timeout(grace, p.drain()).await.unwrap_or(false) {
                haven_runtime::eprintln_whole!("haven: grace time over after {grace:?}; exiting");
            }
        }
        Ok(Ended::Code(ExitCode::SUCCESS))
    })
}

/// Re-reads haproxy.cfg: the new proxy takes over while the old drains,
/// or the broken config is refused.
async fn reload(
    running: &mut Running,
    files: &[PathBuf],
    vrrp: &watch::Receiver<Vec<InstanceView>>,
    accept: bool,
) {
    let reloaded = match crate::check::load_haproxy(files, Report::Run) {
        Ok(Some(cfg)) if !may_start(&cfg.unsupported, accept) => Err(anyhow::anyhow!(UNHONOURED)),
        Ok(Some(cfg)) => start(cfg, vrrp).await,
        Ok(None) => Err(anyhow::anyhow!("the configuration has errors")),
        Err(e) => Err(e),
    };
    match reloaded {
        Ok(new) => {
            let old = std::mem::replace(running, new);
            tokio::spawn(async move {
                if !old.drain().await {
                    haven_runtime::eprintln_whole!(
                        "haven: soft-stop running for too long, performing a hard-stop (hard-stop-after)"
                    );
                }
            });
            haven_runtime::eprintln_whole!("haven: configuration reloaded");
        }
        Err(e) => {
            haven_runtime::eprintln_whole!(
                "haven: reload refused: {e:#}; still serving the previous configuration"
            )
        }
    }
}

/// Re-reads keepalived.conf into the running VRRP daemon, or refuses it.
async fn reload_vrrp(running: &VrrpRunning, file: &Path, accept: bool) {
    let reloaded = match crate::check::load_keepalived(file) {
        Ok(Some(cfg)) if !may_start(&cfg.unsupported, accept) => Err(anyhow::anyhow!(UNHONOURED)),
        Ok(Some(cfg)) => running.reload(cfg).await.map_err(anyhow::Error::from),
        Ok(None) => Err(anyhow::anyhow!("the configuration has errors")),
        Err(e) => Err(e),
    };
    match reloaded {
        Ok(()) => haven_runtime::eprintln_whole!("haven: {} reloaded", file.display()),
        Err(e) => haven_runtime::eprintln_whole!(
            "haven: reload of {} refused: {e:#}; VRRP goes on with the previous configuration",
            file.display()
        ),
    }
}

/// Runs `haven run`.
pub(crate) fn run(args: &crate::RunArgs) -> Result<ExitCode> {
    if args.haproxy.is_empty() && args.keepalived.is_none() {
        anyhow::bail!("nothing to run: give -f haproxy.cfg and/or -k keepalived.conf");
    }
    let haproxy = match args.haproxy.is_empty() {
        true => None,
        false => match crate::check::load_haproxy(&args.haproxy, Report::Run)? {
            Some(cfg) => Some((cfg, args.haproxy.clone())),
            None => return Ok(ExitCode::from(1)),
        },
    };
    let keepalived = match &args.keepalived {
        None => None,
        Some(path) => match crate::check::load_keepalived(path)? {
            Some(cfg) => Some((cfg, path.clone())),
            None => return Ok(ExitCode::from(1)),
        },
    };
    let unsupported = haproxy
        .iter()
        .flat_map(|(h, _)| &h.unsupported)
        .chain(keepalived.iter().flat_map(|(k, _)| &k.unsupported));
    if !may_start(unsupported, args.accept_unsupported) {
        return Ok(ExitCode::from(1));
    }
    let pidfile = args.pidfile.clone().or(haproxy
        .as_ref()
        .and_then(|(h, _)| h.global.pidfile.as_ref().map(PathBuf::from)));
    launch(Launch {
        haproxy,
        keepalived,
        vrrp_log: VrrpLog {
            detail: args.log_detail,
            console: true,
            syslog: None,
        },
        pidfile,
        daemon: false,
        signals: HAVEN_SIGNALS,
        on_ready: Box::new(|| {}),
        accept_unsupported: args.accept_unsupported,
    })
    .map(|ended| match ended {
        Ended::Code(code) => code,
        // HAVEN_SIGNALS stop gracefully.
        Ended::Signal(_) => ExitCode::SUCCESS,
    })
}
