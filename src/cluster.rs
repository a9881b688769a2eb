//! The nodes of a simulated cluster made from the configs at hand (one
//! keepalived.conf each), as `check --simulate` and `replay` write them
//! into a scenario.

use haven_core::config::haproxy::{
    Criterion, HaproxyConfig, Proxy, ProxyKind, ServerAddr, ServerPort,
};
use haven_core::config::keepalived::KeepalivedConfig;
use haven_core::vrrp::is_haproxy_idiom;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// One node: its name, its keepalived.conf, and its address on the
/// simulated segment.
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) cfg: KeepalivedConfig,
    pub(crate) addr: Ipv4Addr,
}

impl Node {
    /// A node not yet given an address.
    pub(crate) fn new(name: String, text: String, cfg: KeepalivedConfig) -> Self {
        Self {
            name,
            text,
            cfg,
            addr: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// Its `[[host]]` table (haproxy.cfg and `NAME.conf` beside the
    /// scenario, `extra` keys added) and a `[[script]]` that succeeds for
    /// each tracked script that is not an "is haproxy running" idiom.
    pub(crate) fn host_toml(&self, extra: &str) -> String {
        let interface = self
            .cfg
            .instances
            .first()
            .map_or("eth0", |i| i.interface.as_str());
        let mut s = format!(
            "[[host]]\nname = \"{0}\"\naddress = \"{1}\"\ninterface = \"{interface}\"\nhaproxy = \"haproxy.cfg\"\nkeepalived = \"{0}.conf\"\n{extra}\n",
            self.name, self.addr
        );
        for script in &self.cfg.scripts {
            if !is_haproxy_idiom(&script.script) {
                let _ = writeln!(
                    s,
                    "[[script]]\nhost = \"{}\"\nname = \"{}\"\nexit = 0\n",
                    self.name, script.name
                );
            }
        }
        s
    }
}

/// The port clients reach (the first bind of the first frontend or listen
/// section) and the first Host it routes on, if any.
pub(crate) fn front(haproxy: &HaproxyConfig) -> Option<(u16, Option<String>)> {
    haproxy
        .proxies
        .iter()
        .filter(|p| matches!(p.kind, ProxyKind::Frontend | ProxyKind::Listen))
        .find_map(|p| Some((p.binds.first()?.port, host_routed_on(p))))
}

/// The servers haproxy names, as `ip:port` (a server without a port
/// takes the clients' `port`): the simulated backends.
pub(crate) fn backends(haproxy: &HaproxyConfig, port: Option<u16>) -> Vec<String> {
    let all: BTreeSet<String> = haproxy
        .proxies
        .iter()
        .flat_map(|p| &p.servers)
        .filter_map(|s| {
            let ServerAddr::Ip(IpAddr::V4(ip)) = s.addr else {
                return None;
            };
            let port = match s.port {
                ServerPort::Fixed(p) => p,
                _ => port?,
            };
            Some(format!("{ip}:{port}"))
        })
        .collect();
    all.into_iter().collect()
}

/// A `[[backend]]` of 2 ms for each of `backends`.
pub(crate) fn backends_toml(backends: &[String]) -> String {
    backends
        .iter()
        .map(|b| format!("[[backend]]\naddress = \"{b}\"\nservice = \"2ms\"\n\n"))
        .collect()
}

/// The first Host value `proxy` routes on, if any (`hdr(host)` and the
/// like in its ACLs).
fn host_routed_on(proxy: &Proxy) -> Option<String> {
    proxy.acls.iter().flat_map(|a| &a.patterns).find_map(|p| {
        let header = match &p.criterion {
            Criterion::Hdr(h)
            | Criterion::HdrBeg(h)
            | Criterion::HdrEnd(h)
            | Criterion::HdrDom(h)
            | Criterion::HdrSub(h) => h,
            _ => return None,
        };
        if !header.eq_ignore_ascii_case("host") {
            return None;
        }
        p.values.with(|v| v.first().cloned())
    })
}

/// Loads scenario `text` whose hosts name `haproxy.cfg` and `NODE.conf`:
/// `haproxy` and each node's keepalived.conf;
/// `files` are the other files it names, by name.
pub(crate) fn load_scenario(
    name: &str,
    text: &str,
    haproxy: &str,
    nodes: &[Node],
    files: &[(&str, &str)],
) -> Result<haven_sim::Loaded, haven_sim::ScenarioError> {
    let read = |file: &str| {
        if file == "haproxy.cfg" {
            return Ok(haproxy.to_owned());
        }
        if let Some((_, body)) = files.iter().find(|(n, _)| *n == file) {
            return Ok((*body).to_owned());
        }
        nodes
            .iter()
            .find(|n| format!("{}.conf", n.name) == file)
            .map(|n| n.text.clone())
            .ok_or_else(|| format!("no file {file}"))
    };
    haven_sim::load(name, text, &read, None)
}

/// Each node's address: its `unicast_src_ip`, else one of the VIP's /24
/// that no VIP, peer or other node uses (from .201 up).
pub(crate) fn assign_addresses(nodes: &mut [Node], vip: Ipv4Addr) {
    let mut taken: BTreeSet<Ipv4Addr> = nodes
        .iter()
        .flat_map(|n| &n.cfg.instances)
        .flat_map(|i| {
            i.vips
                .iter()
                .map(|v| v.addr)
                .chain(i.unicast_peers.iter().copied())
        })
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .collect();
    taken.extend(nodes.iter().map(|n| n.addr).filter(|a| !a.is_unspecified()));
    for n in nodes.iter_mut().filter(|n| n.addr.is_unspecified()) {
        let own = n.cfg.instances.iter().find_map(|i| match i.src_ip {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        });
        if let Some(a) = own {
            n.addr = a;
            taken.insert(a);
        }
    }
    let [a, b, c, _] = vip.octets();
    let mut free = (201..=254).map(|d| Ipv4Addr::new(a, b, c, d));
    for n in nodes.iter_mut().filter(|n| n.addr.is_unspecified()) {
        if let Some(addr) = free.find(|x| !taken.contains(x)) {
            n.addr = addr;
            taken.insert(addr);
        }
    }
}
