//! `resolvers` sections (the DNS servers that re-resolve server names at
//! run time, and how long each kind of answer holds) and the server
//! settings that use them (`resolvers`, `resolve-prefer`, `init-addr`),
//! with haproxy 2.6's error texts.

use super::lexer::Word;
use super::parser::{Parser, Section};
use super::values::{parse_host_port, parse_time, Host, PortSpec};
use crate::config::Form;
use crate::time::Duration;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// One `resolvers` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolvers {
    /// Its name.
    pub name: String,
    /// `nameserver NAME ADDR:PORT` lines, in order.
    pub nameservers: Vec<(String, SocketAddr)>,
    /// `parse-resolv-conf`: the nameservers of `/etc/resolv.conf` too
    /// (read by the runtime at start).
    pub parse_resolv_conf: bool,
    /// `resolve_retries`: queries sent before a resolution times out.
    pub retries: u32,
    /// `timeout resolve`: how often resolutions are looked at.
    pub timeout_resolve: Duration,
    /// `timeout retry`: how long a query waits before the next is sent.
    pub timeout_retry: Duration,
    /// `hold valid`: how long a good answer stands before a new query.
    pub hold_valid: Duration,
    /// `hold nx|refused|timeout|other`: how long the last good address is
    /// kept after each kind of failure, before the server is put in
    /// maintenance.
    pub hold_nx: Duration,
    /// See `hold_nx`.
    pub hold_refused: Duration,
    /// See `hold_nx`.
    pub hold_timeout: Duration,
    /// See `hold_nx`.
    pub hold_other: Duration,
}

impl Resolvers {
    fn new(name: String) -> Self {
        let s = Duration::from_secs;
        Self {
            name,
            nameservers: Vec::new(),
            parse_resolv_conf: false,
            retries: 3,
            timeout_resolve: s(1),
            timeout_retry: s(1),
            hold_valid: s(10),
            hold_nx: s(30),
            hold_refused: s(30),
            hold_timeout: s(30),
            hold_other: s(30),
        }
    }
}

/// `resolve-prefer`: the address family asked for first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `ipv4`.
    Ipv4,
    /// `ipv6` (haproxy's default).
    #[default]
    Ipv6,
}

/// One `init-addr` method, tried in order at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InitAddr {
    /// `last`: the address a server-state file kept (haven keeps none).
    Last,
    /// `libc`: the system's resolver.
    Libc,
    /// `none`: no address; the server starts in maintenance until DNS
    /// gives it one.
    None,
    /// A fixed address.
    Ip(IpAddr),
}

/// haproxy's default `init-addr`.
pub const DEFAULT_INIT_ADDR: [InitAddr; 2] = [InitAddr::Last, InitAddr::Libc];

/// Parses an `init-addr` list, or haproxy's complaint.
pub(crate) fn parse_init_addr(text: &str) -> Result<Vec<InitAddr>, String> {
    text.split(',')
        .map(|m| match m {
            "last" => Ok(InitAddr::Last),
            "libc" => Ok(InitAddr::Libc),
            "none" => Ok(InitAddr::None),
            other => other.parse().map(InitAddr::Ip).map_err(|_| {
                format!("'init-addr' : unknown init-addr method '{other}', supported methods are 'libc', 'last', 'none'.")
            }),
        })
        .collect()
}

/// Parses `resolve-prefer`, or haproxy's complaint.
pub(crate) fn parse_family(text: &str) -> Result<Family, String> {
    match text {
        "ipv4" => Ok(Family::Ipv4),
        "ipv6" => Ok(Family::Ipv6),
        _ => Err("'resolve-prefer' expects either ipv4 or ipv6 as argument.".to_owned()),
    }
}

impl Parser<'_> {
    /// `resolvers <name>`: opens the section.
    pub(super) fn open_resolvers(&mut self, words: &[Word]) {
        let Some(name) = words.get(1) else {
            self.section = Section::Skipped;
            let msg = "missing name for resolvers section.";
            return self.error(Form::Parsing, words[0].col, msg.into());
        };
        self.resolvers.push(Resolvers::new(name.text.clone()));
        self.section = Section::Resolvers(self.resolvers.len() - 1);
    }

    /// A line of resolvers section `index`.
    pub(super) fn resolvers_keyword(&mut self, index: usize, words: &[Word]) {
        let kw = words[0].text.as_str();
        let col = words[0].col;
        let arg = |i: usize| words.get(i).map(|w| w.text.as_str());
        match kw {
            "nameserver" => {
                let (Some(name), Some(addr)) = (arg(1), arg(2)) else {
                    let msg = "'nameserver' expects <name> and <addr>[:<port>] as arguments.";
                    return self.error(Form::Parsing, col, msg.into());
                };
                match nameserver_addr(addr) {
                    Ok(a) => self.resolvers[index].nameservers.push((name.to_owned(), a)),
                    Err(m) => self.error(Form::Parsing, col, format!("'nameserver {name}' : {m}")),
                }
            }
            "parse-resolv-conf" => self.resolvers[index].parse_resolv_conf = true,
            "resolve_retries" => match arg(1).and_then(|n| n.parse::<u32>().ok()) {
                Some(n) => self.resolvers[index].retries = n,
                None => {
                    let msg = "'resolve_retries' expects <nb> as argument.";
                    self.error(Form::Parsing, col, msg.into());
                }
            },
            "hold" => {
                let (Some(event), Some(time)) = (arg(1), arg(2)) else {
                    let msg = "'hold' expects an <event> and a <time> as arguments.";
                    return self.error(Form::Parsing, col, msg.into());
                };
                let Ok(d) = parse_time(time) else {
                    let msg = format!("'hold {event}' : unexpected character in '{time}'.");
                    return self.error(Form::Parsing, col, msg);
                };
                let r = &mut self.resolvers[index];
                match event {
                    "valid" => r.hold_valid = d,
                    "nx" => r.hold_nx = d,
                    "refused" => r.hold_refused = d,
                    "timeout" => r.hold_timeout = d,
                    "other" => r.hold_other = d,
                    // haven moves a server off an address as soon as the
                    // answer drops it: haproxy's default, `hold obsolete 0`.
                    "obsolete" if d.is_zero() => {}
                    "obsolete" => self.not_supported(col, "resolvers hold obsolete"),
                    _ => {
                        let msg = format!("'hold' unknown <event>: '{event}', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.");
                        self.error(Form::Parsing, col, msg);
                    }
                }
            }
            "timeout" => {
                let (Some(which), Some(time)) = (arg(1), arg(2)) else {
                    let msg = "'timeout' expects 'retry' or 'resolve' and <time> as arguments.";
                    return self.error(Form::Parsing, col, msg.into());
                };
                let Ok(d) = parse_time(time) else {
                    let msg = format!("'timeout {which}' : unexpected character in '{time}'.");
                    return self.error(Form::Parsing, col, msg);
                };
                match which {
                    "resolve" => self.resolvers[index].timeout_resolve = d,
                    "retry" => self.resolvers[index].timeout_retry = d,
                    _ => {
                        let msg = format!("'timeout' expects 'retry' or 'resolve' and <time> as arguments got '{which}'.");
                        self.error(Form::Parsing, col, msg);
                    }
                }
            }
            // The answer size offered with EDNS0: haven reads any answer
            // that fits one datagram.
            "accepted_payload_size" => {}
            _ => {
                let msg = format!("unknown keyword '{kw}' in 'resolvers' section");
                self.error(Form::Parsing, col, msg);
            }
        }
    }

    /// Every `resolvers` a server names exists, as haproxy checks.
    pub(super) fn check_server_resolvers(&mut self, proxies: &[super::Proxy]) {
        let mut problems = Vec::new();
        for p in proxies {
            for s in &p.servers {
                if let Some(name) = &s.resolvers {
                    if !self.resolvers.iter().any(|r| &r.name == name) {
                        problems.push(format!(
                            "proxy '{}', server '{}': unable to find required resolvers '{name}'",
                            p.name, s.name
                        ));
                    }
                }
            }
        }
        for m in problems {
            self.post_error(crate::config::Severity::Error, m);
        }
    }
}

/// A nameserver's `addr[:port]` (port 53 by default is not haproxy's:
/// it wants one).
fn nameserver_addr(text: &str) -> Result<SocketAddr, String> {
    let invalid = || format!("invalid address: '{text}' in '{text}'");
    let hp = parse_host_port(text).map_err(|_| invalid())?;
    let port = match hp.port {
        Some(PortSpec::Range(p, q)) if p == q => p,
        None => return Err(format!("missing port specification in '{text}'")),
        _ => return Err(invalid()),
    };
    match hp.host {
        Host::Ip(ip) => Ok(SocketAddr::new(ip, port)),
        _ => Err(invalid()),
    }
}
