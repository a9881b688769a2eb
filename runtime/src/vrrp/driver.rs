//! The VRRP driver task: owns a keepalived-only `Node`, feeds it received
//! packets, script ends and its own timers on the real clock, and hands
//! its outputs to [`VrrpIo`]. It runs beside the proxy's driver, so a
//! proxy reload never touches VRRP state.

use super::socket::Received;
use super::{host_info, VrrpError, VrrpIo, VrrpLog};
use crate::clock::Clock;
use haven_core::config::keepalived::KeepalivedConfig;
use haven_core::log::keepalived::ScriptEnd;
use haven_core::node::Node;
use haven_core::vrrp::packet::{decode_ipv4, RxPacket};
use haven_core::vrrp::InstanceView;
use rand_chacha::rand_core::SeedableRng;
use std::net::SocketAddr;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// Where keepalived writes its data dump.
const DATA_DUMP: &str = "/tmp/keepalived.data";

/// What reaches the VRRP driver.
#[derive(Debug)]
pub(crate) enum VrrpEvent {
    /// A packet arrived on `iface`.
    Packet { iface: String, packet: Received },
    /// A tracked script ended.
    ScriptDone { script: usize, end: ScriptEnd },
    /// Graceful stop: priority 0 advert; once the new master is heard
    /// (or 3 advert intervals passed) the VIPs go and the driver ends.
    Stop,
    /// Write keepalived's data dump to `/tmp/keepalived.data` (SIGUSR1).
    DumpData,
    /// Re-read the config (keepalived's SIGHUP); the answer says whether
    /// it was taken.
    Reload {
        cfg: Box<KeepalivedConfig>,
        done: oneshot::Sender<Result<(), VrrpError>>,
    },
}

/// The VRRP daemon, running.
#[derive(Debug)]
pub struct VrrpRunning {
    task: JoinHandle<()>,
    events: UnboundedSender<VrrpEvent>,
}

impl VrrpRunning {
    /// Stops gracefully: a priority-0 advert so a backup takes over at
    /// once; the VIPs stay (and the proxy serves) until the new master is
    /// heard; returns when they are gone.
    pub async fn stop(self) {
        let _ = self.events.send(VrrpEvent::Stop);
        let _ = self.task.await;
    }

    /// Reloads `cfg` as keepalived does on SIGHUP: instances that are the
    /// same router again keep their state (a MASTER keeps its VIPs). On
    /// an error the old config keeps running.
    pub async fn reload(&self, cfg: KeepalivedConfig) -> Result<(), VrrpError> {
        let (done, answer) = oneshot::channel();
        let cfg = Box::new(cfg);
        self.events
            .send(VrrpEvent::Reload { cfg, done })
            .map_err(|_| VrrpError::Stopped)?;
        answer.await.map_err(|_| VrrpError::Stopped)?
    }

    /// Writes keepalived's data dump to `/tmp/keepalived.data` (as its
    /// SIGUSR1).
    pub fn dump_data(&self) {
        let _ = self.events.send(VrrpEvent::DumpData);
    }

    /// Runs until stopped.
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Starts the VRRP daemon for `cfg`. `listeners` are our proxy's
/// addresses, which answer the "is haproxy running" idiom; `None` runs
/// such scripts for real.
/// Every change of the instances is published on `status`.
pub async fn start_vrrp(
    cfg: KeepalivedConfig,
    log: VrrpLog,
    listeners: Option<Vec<SocketAddr>>,
    status: watch::Sender<Vec<InstanceView>>,
) -> Result<VrrpRunning, VrrpError> {
    let (events, rx) = unbounded_channel();
    let node = Node::new(None, Some(cfg.clone()), host_info()).map_err(VrrpError::Setup)?;
    let io = VrrpIo::open(cfg, log, events.clone(), listeners)?;
    io.announce_idioms();
    Ok(VrrpRunning {
        task: tokio::spawn(run(node, io, rx, status)),
        events,
    })
}

async fn run(
    mut node: Node,
    mut io: VrrpIo,
    mut rx: UnboundedReceiver<VrrpEvent>,
    status: watch::Sender<Vec<InstanceView>>,
) {
    let clock = Clock::start();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    if node.start_keepalived(clock.now()).is_err() {
        return;
    }
    perform(&mut node, &mut io).await;
    let mut stopping = false;
    loop {
        let sleep = tokio::time::sleep_until(node.poll_timeout().map_or_else(
            || tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
            |d| clock.deadline(d),
        ));
        tokio::select! {
            ev = rx.recv() => {
                let now = clock.now();
                match ev {
                    Some(VrrpEvent::Packet { iface, packet }) => {
                        let pkt = match &packet {
                            Received::V4(bytes) => decode_ipv4(bytes).ok(),
                            Received::V6 { src, dst, hop_limit, vrrp } => Some(RxPacket {
                                src: *src,
                                dst: *dst,
                                ttl: *hop_limit,
                                header_len: 0,
                                ip_total_len: None,
                                ah: false,
                                len: vrrp.len(),
                                vrrp,
                            }),
                        };
                        if let (Some(pkt), Some((vrrp, mut t))) = (pkt, node.vrrp()) {
                            vrrp.handle_packet(now, &iface, &pkt, &mut t);
                        }
                    }
                    Some(VrrpEvent::ScriptDone { script, end }) => {
                        if let Some((vrrp, mut t)) = node.vrrp() {
                            vrrp.handle_script_result(now, script, end, &mut t);
                        }
                    }
                    Some(VrrpEvent::DumpData) => {
                        let dump = node.keepalived_data_dump().unwrap_or_default();
                        if let Err(e) = std::fs::write(DATA_DUMP, dump) {
                            crate::eprintln_whole!("haven: cannot write {DATA_DUMP}: {e}");
                        }
                    }
                    Some(VrrpEvent::Reload { cfg, done }) => {
                        let _ = done.send(reload(&mut node, &mut io, *cfg, now));
                    }
                    Some(VrrpEvent::Stop) | None => {
                        node.stop_keepalived(now);
                        stopping = true;
                    }
                }
            }
            () = sleep => {
                let now = clock.now();
                while node.handle_timeout(now, &mut rng) {}
            }
        }
        perform(&mut node, &mut io).await;
        if let Some((vrrp, _)) = node.vrrp() {
            let now = vrrp.instances();
            status.send_if_modified(|old| {
                let changed = *old != now;
                *old = now;
                changed
            });
        }
        // A stopping master hands over before it lets the VIPs go.
        if stopping && !node.keepalived_active() {
            break;
        }
    }
    io.close();
}

/// Hands `cfg` to the sockets and to core; their outputs switch configs
/// at `Output::Reconfigured`.
fn reload(
    node: &mut Node,
    io: &mut VrrpIo,
    cfg: KeepalivedConfig,
    now: haven_core::time::Instant,
) -> Result<(), VrrpError> {
    io.prepare(cfg.clone())?;
    node.reload_keepalived(now, cfg, host_info())
        .map_err(VrrpError::Setup)
}

async fn perform(node: &mut Node, io: &mut VrrpIo) {
    while let Some(out) = node.vrrp().and_then(|(v, _)| v.poll_output()) {
        io.perform(out).await;
    }
}
