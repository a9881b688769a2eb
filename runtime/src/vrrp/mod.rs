//! keepalived's side on real interfaces: a raw VRRP socket per interface
//! (`socket.rs`), virtual addresses through netlink (`vips.rs`),
//! gratuitous ARP frames on an AF_PACKET socket, tracked scripts and
//! notify programs (`programs.rs`). The driver hands every `vrrp::Output`
//! to [`VrrpIo::perform`]; received packets and script ends come back to
//! it as events. Nothing here decides anything.

mod driver;
mod mail;
mod programs;
mod socket;
mod syslog;
mod vips;

use driver::VrrpEvent;
pub use driver::{start_vrrp, VrrpRunning};
use haven_core::config::keepalived::{Compat, KeepalivedConfig, VrrpInstance};
use haven_core::log::keepalived::Record;
use haven_core::log::syslog::{console_line, Civil};
use haven_core::vrrp::{self, garp_frame, is_haproxy_idiom, na_frame, HostInfo, NotifyState};
use pnet_datalink::{Channel, DataLinkSender, NetworkInterface};
use socket::VrrpSocket;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Why the VRRP side cannot start.
#[derive(Debug, thiserror::Error)]
pub enum VrrpError {
    /// An instance names an interface this host does not have.
    #[error("interface {0} not found")]
    NoInterface(String),
    /// The raw socket could not be opened (CAP_NET_RAW is needed).
    #[error("cannot open the VRRP socket on {iface}: {reason}")]
    Socket {
        /// The interface.
        iface: String,
        /// Why.
        reason: std::io::Error,
    },
    /// The netlink socket could not be opened.
    #[error("cannot open netlink: {0}")]
    Netlink(std::io::Error),
    /// The config cannot run on this host.
    #[error("{0}")]
    Setup(haven_core::vrrp::SetupError),
    /// The daemon has stopped.
    #[error("the VRRP daemon has stopped")]
    Stopped,
}

/// Where log lines go and which.
#[derive(Debug, Clone, Copy, Default)]
pub struct VrrpLog {
    /// Print the lines keepalived prints only with `-D`.
    pub detail: bool,
    /// Print lines on stdout as `keepalived -l` does.
    pub console: bool,
    /// Send lines to syslog with this facility code (keepalived's `-S`).
    pub syslog: Option<u8>,
}

/// Whether `ip` is an IPv6 link-local address (fe80::/10).
fn is_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// The interfaces as core sees them: each one's first IPv4 address and
/// its IPv6 link-local address.
pub(crate) fn host_info() -> HostInfo {
    let mut info = HostInfo {
        hostname: crate::hostname(),
        ..HostInfo::default()
    };
    for i in pnet_datalink::interfaces() {
        let ips: Vec<IpAddr> = i.ips.iter().map(|n| n.ip()).collect();
        if let Some(ip) = ips.iter().find(|ip| ip.is_ipv4()) {
            info.interfaces.insert(i.name.clone(), *ip);
        }
        if let Some(ip) = ips.iter().find(|ip| is_link_local(ip)) {
            info.links6.insert(i.name.clone(), *ip);
        }
    }
    info
}

/// The VRRP side's sockets and programs.
pub(crate) struct VrrpIo {
    cfg: KeepalivedConfig,
    /// A reloaded config, until core switches to it.
    pending: Option<KeepalivedConfig>,
    log: VrrpLog,
    syslog: Option<syslog::Syslog>,
    interfaces: BTreeMap<String, NetworkInterface>,
    /// By interface and family (true: IPv6).
    sockets: BTreeMap<(String, bool), Arc<VrrpSocket>>,
    receivers: Vec<JoinHandle<()>>,
    netlink: rtnetlink::Handle,
    /// Frame senders by interface (in a mutex only to be `Sync`; the
    /// driver alone uses them).
    garp: BTreeMap<String, Mutex<Box<dyn DataLinkSender>>>,
    scripts: BTreeMap<usize, JoinHandle<()>>,
    /// Where mail alerts go, when configured.
    outbox: Option<mail::Outbox>,
    events: UnboundedSender<VrrpEvent>,
    /// Our proxy's listeners, for the "is haproxy running" idiom; `None`
    /// when haven runs VRRP only (the idiom then runs for real).
    listeners: Option<Vec<SocketAddr>>,
}

impl std::fmt::Debug for VrrpIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VrrpIo")
            .field("sockets", &self.sockets.keys())
            .finish_non_exhaustive()
    }
}

impl VrrpIo {
    /// Opens a socket on every instance's interface and starts reading
    /// it; opens netlink. Must run inside the tokio runtime.
    pub(crate) fn open(
        cfg: KeepalivedConfig,
        log: VrrpLog,
        events: UnboundedSender<VrrpEvent>,
        listeners: Option<Vec<SocketAddr>>,
    ) -> Result<Self, VrrpError> {
        let (connection, netlink, _) = rtnetlink::new_connection().map_err(VrrpError::Netlink)?;
        let mut io = Self {
            outbox: mail::Outbox::new(&cfg.global, &crate::hostname()),
            cfg: cfg.clone(),
            pending: None,
            syslog: log.syslog.and_then(syslog::Syslog::new),
            log,
            interfaces: BTreeMap::new(),
            sockets: BTreeMap::new(),
            receivers: vec![tokio::spawn(connection)],
            netlink,
            garp: BTreeMap::new(),
            scripts: BTreeMap::new(),
            events,
            listeners,
        };
        io.open_sockets(&cfg)?;
        Ok(io)
    }

    /// Reload: opens what `cfg` needs beyond the current config; `cfg`
    /// takes over at [`vrrp::Output::Reconfigured`].
    pub(crate) fn prepare(&mut self, cfg: KeepalivedConfig) -> Result<(), VrrpError> {
        self.open_sockets(&cfg)?;
        self.pending = Some(cfg);
        Ok(())
    }

    /// Opens a socket on every interface and family `cfg`'s instances
    /// use that has none yet, and starts reading it.
    fn open_sockets(&mut self, cfg: &KeepalivedConfig) -> Result<(), VrrpError> {
        self.interfaces = pnet_datalink::interfaces()
            .into_iter()
            .map(|i| (i.name.clone(), i))
            .collect();
        for inst in &cfg.instances {
            let name = &inst.interface;
            let v6 = inst.vips.first().is_some_and(|v| v.addr.is_ipv6());
            if self.sockets.contains_key(&(name.clone(), v6)) {
                continue;
            }
            let link = self
                .interfaces
                .get(name)
                .ok_or_else(|| VrrpError::NoInterface(name.clone()))?;
            let failed = |reason| VrrpError::Socket {
                iface: name.clone(),
                reason,
            };
            let socket = if v6 {
                let local = link.ips.iter().map(|n| n.ip()).find(is_link_local);
                let Some(IpAddr::V6(local)) = local else {
                    return Err(failed(std::io::Error::other("no IPv6 link-local address")));
                };
                VrrpSocket::open_v6(name, link.index, local)
            } else {
                VrrpSocket::open_v4(name, link.index)
            };
            let socket = socket.map(Arc::new).map_err(failed)?;
            self.receivers.push(tokio::spawn(receive(
                Arc::clone(&socket),
                name.clone(),
                self.events.clone(),
            )));
            self.sockets.insert((name.clone(), v6), socket);
        }
        Ok(())
    }

    /// Performs one output of the VRRP daemon. Address changes are done
    /// before the next output, as keepalived does them: a gratuitous ARP
    /// never announces an address the interface does not have yet.
    pub(crate) async fn perform(&mut self, out: vrrp::Output) {
        match out {
            vrrp::Output::Advert {
                instance,
                src,
                dst,
                advert,
                ip_id,
            } => {
                let iface = self.cfg.instances[instance].interface.clone();
                let bytes = match (src, dst) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => advert.encode_ipv4(s, d, ip_id),
                    _ => advert.encode(src, dst),
                };
                if let Some(s) = self.sockets.get(&(iface, dst.is_ipv6())) {
                    let _ = s.send(&bytes, dst);
                }
            }
            vrrp::Output::AddVips { instance, addrs } => {
                self.change_vips(&self.cfg.instances[instance], &addrs, true)
                    .await
            }
            vrrp::Output::RemoveVips { instance, addrs } => {
                self.change_vips(&self.cfg.instances[instance], &addrs, false)
                    .await
            }
            vrrp::Output::Reconfigured => {
                if let Some(cfg) = self.pending.take() {
                    self.outbox = mail::Outbox::new(&cfg.global, &crate::hostname());
                    self.cfg = cfg;
                }
            }
            vrrp::Output::Garp { iface, addr, .. } => self.garp(&iface, addr),
            vrrp::Output::Notify {
                instance,
                state,
                priority,
            } => self.notify(instance, state, priority),
            vrrp::Output::RunScript {
                script,
                command,
                timeout,
            } => self.run_script(script, command, timeout),
            vrrp::Output::KillScript { script } => {
                if let Some(task) = self.scripts.remove(&script) {
                    task.abort();
                }
            }
            vrrp::Output::Log(record) => self.print(&record),
            vrrp::Output::Mail { alert, .. } => {
                if let Some(outbox) = &self.outbox {
                    outbox.send(alert);
                }
            }
        }
    }

    /// Adds or removes the VIPs of `inst` that `addrs` lists.
    async fn change_vips(&self, inst: &VrrpInstance, addrs: &[IpAddr], add: bool) {
        for vip in inst.vips.iter().filter(|v| addrs.contains(&v.addr)) {
            let dev = vip.dev.as_deref().unwrap_or(&inst.interface);
            let Some(index) = self.interfaces.get(dev).map(|i| i.index) else {
                crate::eprintln_whole!("haven: VIP {}: interface {dev} not found", vip.addr);
                continue;
            };
            if let Err(e) = vips::change(self.netlink.clone(), vip.clone(), index, add).await {
                let verb = if add { "add" } else { "remove" };
                crate::eprintln_whole!(
                    "haven: cannot {verb} VIP {}/{} on {dev}: {e}",
                    vip.addr,
                    vip.prefix
                );
            }
        }
    }

    fn garp(&mut self, iface: &str, addr: IpAddr) {
        let Some(link) = self.interfaces.get(iface) else {
            return;
        };
        let Some(mac) = link.mac else {
            return;
        };
        if !self.garp.contains_key(iface) {
            let config = pnet_datalink::Config {
                promiscuous: false,
                ..Default::default()
            };
            match pnet_datalink::channel(link, config) {
                Ok(Channel::Ethernet(tx, _)) => {
                    self.garp.insert(iface.to_owned(), Mutex::new(tx));
                }
                Ok(_) | Err(_) => {
                    crate::eprintln_whole!("haven: cannot send gratuitous ARP on {iface}");
                    return;
                }
            }
        }
        if let Some(Ok(tx)) = self.garp.get_mut(iface).map(Mutex::get_mut) {
            let _ = match addr {
                IpAddr::V4(vip) => tx.send_to(&garp_frame(mac.octets(), vip), None),
                IpAddr::V6(vip) => tx.send_to(&na_frame(mac.octets(), vip), None),
            };
        }
    }

    fn notify(&self, instance: usize, state: NotifyState, priority: u8) {
        let inst = &self.cfg.instances[instance];
        let (program, word) = match state {
            NotifyState::Master => (&inst.notify.master, "MASTER"),
            NotifyState::Backup => (&inst.notify.backup, "BACKUP"),
            NotifyState::Fault => (&inst.notify.fault, "FAULT"),
            NotifyState::Stop => (&inst.notify.stop, "STOP"),
        };
        if let Some(p) = program {
            programs::notify(p, &[]);
        }
        if let Some(p) = &inst.notify.any {
            let args = ["INSTANCE", &inst.name, word, &priority.to_string()].map(str::to_owned);
            programs::notify(p, &args);
        }
    }

    fn run_script(&mut self, script: usize, command: String, timeout: haven_core::time::Duration) {
        let events = self.events.clone();
        let timeout = std::time::Duration::from_nanos(timeout.as_nanos());
        let user = self.cfg.scripts[script]
            .user
            .clone()
            .or_else(|| self.cfg.global.script_user.as_ref().map(|(u, _)| u.clone()));
        let own = self
            .listeners
            .clone()
            .filter(|_| is_haproxy_idiom(&command));
        let task = tokio::spawn(async move {
            let end = match own {
                Some(listeners) => programs::self_probe(listeners, timeout).await,
                None => programs::run_script(command, user).await,
            };
            let _ = events.send(VrrpEvent::ScriptDone { script, end });
        });
        if let Some(old) = self.scripts.insert(script, task) {
            old.abort();
        }
    }

    /// Logs a keepalived line: on the console as `keepalived -l` prints
    /// it, and to syslog.
    fn print(&self, record: &Record) {
        let compat: Compat = self.cfg.global.compat;
        if record.is_detail(compat) && !self.log.detail {
            return;
        }
        let at = Civil::from_unix(crate::clock::unix_seconds());
        let text = record.text(compat);
        if self.log.console {
            println!("{}", console_line(&at, &text));
        }
        if let Some(syslog) = &self.syslog {
            syslog.send(&at, record.process().ident(), &text);
        }
    }

    /// Says once at start which tracked scripts haven answers itself.
    pub(crate) fn announce_idioms(&self) {
        if self.listeners.is_none() {
            return;
        }
        for s in self
            .cfg
            .scripts
            .iter()
            .filter(|s| is_haproxy_idiom(&s.script))
        {
            crate::eprintln_whole!(
                "haven: vrrp_script {}: '{}' is answered by haven's own proxy (every frontend bound and answering)",
                s.name, s.script
            );
        }
    }

    /// Stops reading and kills scripts.
    pub(crate) fn close(mut self) {
        for t in std::mem::take(&mut self.scripts)
            .into_values()
            .chain(self.receivers.drain(..))
        {
            t.abort();
        }
    }
}

/// Reads packets from `socket` into driver events until it fails.
async fn receive(socket: Arc<VrrpSocket>, iface: String, events: UnboundedSender<VrrpEvent>) {
    while let Ok(packet) = socket.recv().await {
        let sent = events.send(VrrpEvent::Packet {
            iface: iface.clone(),
            packet,
        });
        if sent.is_err() {
            return;
        }
    }
}
