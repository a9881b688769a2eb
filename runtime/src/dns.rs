//! Server addresses: found at start by each server's `init-addr` methods
//! (the system's resolver, a fixed address, or none), and, for servers
//! naming a `resolvers` section, kept current at run time by core's
//! [`Resolution`], whose queries this task sends over UDP and whose
//! answers it hands back. What changes goes to the driver as events.

use crate::driver::Event;
use crate::listen::StartError;
use haven_core::config::haproxy::{
    Family, HaproxyConfig, InitAddr, Server, ServerAddr, ServerPort,
};
use haven_core::dns::Resolution;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

/// Every server's address at start.
#[derive(Debug, Default)]
pub(crate) struct Initial {
    /// Per backend (config index), per server: its address (unspecified
    /// for a server without one).
    pub(crate) servers: BTreeMap<usize, Vec<SocketAddr>>,
    /// Servers that start without an address: in maintenance until DNS
    /// gives one.
    pub(crate) unresolved: Vec<(usize, usize)>,
}

impl Initial {
    /// The address server `s` of backend `b` starts with, if any.
    pub(crate) fn ip(&self, b: usize, s: usize) -> Option<IpAddr> {
        if self.unresolved.contains(&(b, s)) {
            return None;
        }
        self.servers.get(&b)?.get(s).map(SocketAddr::ip)
    }
}

/// Finds every server's address as haproxy does at start: a literal
/// address as is; a name by its `init-addr` methods in order. A name no
/// method resolves stops the start, unless the server has `resolvers`
/// (haproxy then starts it in maintenance, saying so).
pub(crate) async fn initial_addresses(cfg: &HaproxyConfig) -> Result<Initial, StartError> {
    let mut out = Initial::default();
    for (b, p) in cfg.proxies.iter().enumerate() {
        if p.servers.is_empty() {
            // `dispatch`: the one address, as server index 0.
            if let Some(addr) = p.dispatch {
                out.servers.insert(b, vec![addr]);
            }
            continue;
        }
        let mut addrs = Vec::new();
        for (i, s) in p.servers.iter().enumerate() {
            let err = |what: &str| StartError::Server {
                backend: p.name.clone(),
                server: s.name.clone(),
                what: what.to_owned(),
            };
            // Without a fixed port, each connection takes the one its
            // client reached (shifted by an offset): none here.
            let port = match s.port {
                ServerPort::Fixed(port) => port,
                ServerPort::Same | ServerPort::Offset(_) => 0,
            };
            let ip = match &s.addr {
                ServerAddr::Ip(ip) => Some(*ip),
                // Connections go to the path; no IP address stands for it.
                ServerAddr::Unix(_) => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                ServerAddr::Host(name) => match by_init_addr(s, name, port).await {
                    Some(ip) => ip,
                    None if s.resolvers.is_some() => {
                        crate::eprintln_whole!(
                            "[WARNING]  ({}) : config : 'server {}/{}' : could not resolve address '{name}', disabling server.",
                            std::process::id(),
                            p.name,
                            s.name
                        );
                        None
                    }
                    None => return Err(err(&format!("could not resolve address '{name}'"))),
                },
            };
            if ip.is_none() {
                out.unresolved.push((b, i));
            }
            let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            addrs.push(SocketAddr::new(ip, port));
        }
        out.servers.insert(b, addrs);
    }
    Ok(out)
}

/// `s`'s address by its `init-addr` methods: `Some(None)` when `none`
/// says to start without one, `None` when every method failed.
async fn by_init_addr(s: &Server, name: &str, port: u16) -> Option<Option<IpAddr>> {
    for method in &s.init_addr {
        match method {
            // No server-state file: nothing was kept.
            InitAddr::Last => {}
            InitAddr::Libc => {
                if let Some(ip) = system_lookup(name, port, s.resolve_prefer).await {
                    return Some(Some(ip));
                }
            }
            InitAddr::None => return Some(None),
            InitAddr::Ip(ip) => return Some(Some(*ip)),
        }
    }
    None
}

/// `name`'s address from the system's resolver, of family `prefer` when
/// it has one.
async fn system_lookup(name: &str, port: u16, prefer: Family) -> Option<IpAddr> {
    let found: Vec<IpAddr> = tokio::net::lookup_host((name, port))
        .await
        .ok()?
        .map(|a| a.ip())
        .collect();
    let preferred = found.iter().find(|ip| match prefer {
        Family::Ipv4 => ip.is_ipv4(),
        Family::Ipv6 => ip.is_ipv6(),
    });
    preferred.or(found.first()).copied()
}

/// The system's nameservers (`/etc/resolv.conf`), for `parse-resolv-conf`.
pub(crate) fn system_nameservers() -> Vec<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// The resolver's sockets: one per family (IPv6 may be absent).
struct Sockets {
    v4: UdpSocket,
    v6: Option<UdpSocket>,
}

impl Sockets {
    async fn send(&self, queries: Vec<haven_core::dns::Query>) {
        for q in queries {
            let socket = if q.to.is_ipv4() {
                Some(&self.v4)
            } else {
                self.v6.as_ref()
            };
            if let Some(socket) = socket {
                let _ = socket.send_to(&q.bytes, q.to).await;
            }
        }
    }
}

/// Runs `resolution` until the driver is gone: sends its queries, hands
/// it every answer, and tells the driver what changed.
pub(crate) async fn run(mut resolution: Resolution, events: UnboundedSender<Event>) {
    let clock = crate::clock::Clock::start();
    let Ok(v4) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await else {
        return;
    };
    let v6 = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).await.ok();
    let sockets = Sockets { v4, v6 };
    let (mut buf4, mut buf6) = (vec![0u8; 65_535], vec![0u8; 65_535]);
    let mut step = resolution.poll(clock.now());
    loop {
        let (queries, changes) = step;
        sockets.send(queries).await;
        for change in changes {
            if events.send(Event::Dns(change)).is_err() {
                return;
            }
        }
        let wait = resolution
            .next_wakeup()
            .map_or(std::time::Duration::from_secs(3600), |at| {
                std::time::Duration::from_nanos(
                    at.saturating_duration_since(clock.now()).as_nanos(),
                )
            });
        let v6 = async {
            match &sockets.v6 {
                Some(v6) => v6
                    .recv_from(&mut buf6)
                    .await
                    .map(|(n, from)| (&buf6[..n], from)),
                None => std::future::pending().await,
            }
        };
        step = tokio::select! {
            Ok((n, from)) = sockets.v4.recv_from(&mut buf4) => {
                resolution.receive(clock.now(), from, &buf4[..n])
            }
            Ok((bytes, from)) = v6 => resolution.receive(clock.now(), from, bytes),
            () = tokio::time::sleep(wait) => resolution.poll(clock.now()),
            () = events.closed() => return,
        };
    }
}
