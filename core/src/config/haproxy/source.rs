//! `source` (in backends, `defaults` and on server lines): the address
//! server connections leave from, and `usesrc` for transparent proxying
//! (the server sees the client's address, or another one haproxy does not
//! own).

use super::values::{parse_host_port, Host, PortSpec};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where server connections leave from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The local address (`0.0.0.0`: the system's choice).
    pub addr: IpAddr,
    /// The local ports to try, first to last (`None`: the system's).
    pub ports: Option<(u16, u16)>,
    /// `usesrc`: the address the server sees instead.
    pub usesrc: Option<UseSrc>,
    /// `interface`: the device the connections leave through.
    pub interface: Option<String>,
}

/// `usesrc`: a foreign source address, bound with `IP_TRANSPARENT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UseSrc {
    /// A fixed address (and port).
    Addr(IpAddr, Option<u16>),
    /// The client's address and port.
    Client,
    /// The client's address, any port.
    ClientIp,
}

/// The local end of a server connection for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEnd {
    /// The address to bind.
    pub addr: IpAddr,
    /// The ports to try in order (`0`: the system's choice).
    pub ports: (u16, u16),
    /// Binding needs `IP_TRANSPARENT` (an address this host may not own).
    pub transparent: bool,
    /// `interface`.
    pub interface: Option<String>,
}

impl Source {
    /// The local end of a connection made for a client at `client`.
    pub fn local_end(&self, client: SocketAddr) -> LocalEnd {
        let (addr, ports, transparent) = match &self.usesrc {
            None => (self.addr, self.ports.unwrap_or((0, 0)), false),
            Some(UseSrc::Addr(ip, port)) => {
                let p = port.unwrap_or(0);
                (*ip, (p, p), true)
            }
            Some(UseSrc::Client) => (client.ip(), (client.port(), client.port()), true),
            Some(UseSrc::ClientIp) => (client.ip(), (0, 0), true),
        };
        LocalEnd {
            addr,
            ports,
            transparent,
            interface: self.interface.clone(),
        }
    }

    /// The local end of a health check's connection: the `source`
    /// address and ports, never a client's.
    pub fn check_end(&self) -> LocalEnd {
        LocalEnd {
            addr: self.addr,
            ports: self.ports.unwrap_or((0, 0)),
            transparent: false,
            interface: self.interface.clone(),
        }
    }

    /// Connections made for one client only (`usesrc client|clientip`):
    /// never shared with another client.
    pub fn per_client(&self) -> bool {
        matches!(self.usesrc, Some(UseSrc::Client | UseSrc::ClientIp))
    }
}

/// Parses the words after `source`; `ranges` allows `addr:lo-hi` (server
/// lines). The error is haproxy's message.
pub(crate) fn parse_source(args: &[&str], ranges: bool) -> Result<Source, String> {
    let usage = if ranges {
        "'source' expects <addr>[:<port>[-<port>]], and optionally 'usesrc' <addr>, and 'interface' <name> as argument."
    } else {
        "'source' expects <addr>[:<port>], and optionally 'usesrc' <addr>, and 'interface' <name>."
    };
    let Some(first) = args.first() else {
        return Err(usage.to_owned());
    };
    let invalid =
        |what: &str, text: &str| format!("'{what}' : invalid address: '{text}' in '{text}'");
    let (addr, ports) = match parse_host_port(first) {
        Ok(hp) => {
            let addr = match hp.host {
                Host::Any => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Host::Ip(ip) => ip,
                Host::Name(_) => return Err(invalid(&format!("source {first}"), first)),
            };
            let ports = match hp.port {
                Some(PortSpec::Range(lo, hi)) if lo != hi && !ranges => {
                    return Err(format!(
                        "'source {first}' : port range not permitted here in '{first}'"
                    ))
                }
                Some(PortSpec::Range(lo, hi)) => Some((lo, hi)),
                Some(PortSpec::Offset(_)) => {
                    return Err(invalid(&format!("source {first}"), first))
                }
                None => None,
            };
            (addr, ports)
        }
        Err(_) => return Err(invalid(&format!("source {first}"), first)),
    };
    let mut source = Source {
        addr,
        ports,
        usesrc: None,
        interface: None,
    };
    let mut rest = args[1..].iter();
    while let Some(word) = rest.next() {
        match *word {
            "usesrc" => {
                let Some(target) = rest.next() else {
                    return Err(
                        "'usesrc' expects <addr>[:<port>], 'client', or 'clientip' as argument."
                            .to_owned(),
                    );
                };
                source.usesrc = Some(match *target {
                    "client" => UseSrc::Client,
                    "clientip" => UseSrc::ClientIp,
                    text => match parse_host_port(text) {
                        Ok(hp) => {
                            let Host::Ip(ip) = hp.host else {
                                return Err(invalid(&format!("usesrc {text}"), text));
                            };
                            let port = match hp.port {
                                Some(PortSpec::Range(p, q)) if p == q => Some(p),
                                None => None,
                                _ => return Err(invalid(&format!("usesrc {text}"), text)),
                            };
                            UseSrc::Addr(ip, port)
                        }
                        Err(_) => return Err(invalid(&format!("usesrc {text}"), text)),
                    },
                });
            }
            "interface" => match rest.next() {
                Some(name) => source.interface = Some((*name).to_owned()),
                None => return Err("'server' : missing interface name.".to_owned()),
            },
            _ => return Err(usage.to_owned()),
        }
    }
    Ok(source)
}

/// How many words `source` takes on a server line, from its first
/// argument on.
pub(crate) fn source_len(args: &[&str]) -> usize {
    let mut n = 1;
    while let Some(kw) = args.get(n) {
        if matches!(*kw, "usesrc" | "interface") {
            n += 2;
        } else {
            break;
        }
    }
    n.min(args.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_as_haproxy_reads_them() {
        let s = parse_source(&["0.0.0.0", "usesrc", "client"], false).expect("valid");
        let client: SocketAddr = "192.0.2.7:40000".parse().expect("addr");
        let end = s.local_end(client);
        assert_eq!(
            (end.addr, end.ports, end.transparent),
            (client.ip(), (40000, 40000), true)
        );
        assert!(s.per_client());
        let s = parse_source(&["10.0.0.5:1025-1030", "interface", "eth1"], true).expect("valid");
        let end = s.local_end(client);
        assert_eq!(end.ports, (1025, 1030));
        assert!(!end.transparent);
        assert_eq!(end.interface.as_deref(), Some("eth1"));
        assert_eq!(
            parse_source(&["1.2.3.4:80-90"], false),
            Err("'source 1.2.3.4:80-90' : port range not permitted here in '1.2.3.4:80-90'".into())
        );
        assert_eq!(
            parse_source(&["1.2.3.4", "usesrc", "foo"], false),
            Err("'usesrc foo' : invalid address: 'foo' in 'foo'".into())
        );
        assert_eq!(
            parse_source(&["1.2.3.4", "usesrc", "10.1.1.1:99"], false).map(|s| s.usesrc),
            Ok(Some(UseSrc::Addr(
                "10.1.1.1".parse().expect("ip"),
                Some(99)
            )))
        );
        assert_eq!(source_len(&["1.2.3.4", "usesrc", "client", "check"]), 3);
    }
}
