//! Where haproxy's log lines go: each proxy's `log` targets (syslog over
//! UDP or a unix datagram socket such as `/dev/log`, or stdout / stderr),
//! in the RFC 3164 form haproxy sends, filtered by each target's level.
//! Traffic of a proxy with no target goes to stdout so `haven run` shows
//! it; server state changes also go to stderr as haproxy prints them.

use haven_core::config::haproxy::{HaproxyConfig, LogSample, LogTarget};
use haven_core::log::syslog::{datagram, facility_code, severity_code, Civil};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// haproxy's default longest log line (`len`), newline included.
const MAX_LINE: usize = 1024;

/// The severity of traffic logs.
const INFO: u8 = 6;

/// Where one target's lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    Udp(SocketAddr),
    Unix(PathBuf),
    Stdout,
    Stderr,
}

/// What a log line carries before its message (`log ... format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// `raw`: nothing.
    None,
    /// `short`: the severity, `<6>`.
    Level,
    /// `priority`: facility and severity, `<134>`.
    Priority,
    /// `rfc3164` (the default) and `local`: priority, date, tag and pid.
    Syslog,
}

/// One `log` target, resolved.
#[derive(Debug)]
struct Sink {
    destination: Destination,
    facility: u8,
    /// Least severe level sent (7 sends everything).
    max_severity: u8,
    /// `format`: what goes before the message.
    header: Header,
    /// `len`: the longest line, newline included.
    max_len: usize,
    /// `sample`, and how many lines it has seen.
    sample: Option<(LogSample, AtomicU32)>,
}

impl Sink {
    /// Counts a line for this target; whether it is sent.
    fn takes_next(&self) -> bool {
        self.sample
            .as_ref()
            .is_none_or(|(sample, seen)| sample.takes(seen.fetch_add(1, Ordering::Relaxed)))
    }
}

/// Why a `log` line cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[ALERT]    : proxy '{proxy}': log target '{address}': {what}")]
pub struct LogError {
    proxy: String,
    address: String,
    what: String,
}

/// The log targets of every proxy, and the sockets to reach them.
#[derive(Debug)]
pub(crate) struct Logger {
    pid: u32,
    /// Per proxy, in config order.
    sinks: Vec<Vec<Sink>>,
    udp4: Option<UdpSocket>,
    udp6: Option<UdpSocket>,
    unix: Option<UnixDatagram>,
}

impl Logger {
    /// Resolves every proxy's targets (`log global` takes the global ones).
    pub(crate) fn new(cfg: &HaproxyConfig) -> Result<Self, LogError> {
        let mut sinks = Vec::new();
        for p in &cfg.proxies {
            let mut own = Vec::new();
            for target in &p.logs {
                let targets = match target {
                    LogTarget::Global => cfg.global.logs.iter().collect(),
                    t => vec![t],
                };
                for t in targets {
                    own.extend(sink(t).map_err(|what| LogError {
                        proxy: p.name.clone(),
                        address: address_of(t).to_owned(),
                        what,
                    })?);
                }
            }
            sinks.push(own);
        }
        let all = || sinks.iter().flatten().map(|s: &Sink| &s.destination);
        let udp = |v6: bool| {
            all()
                .any(|d| matches!(d, Destination::Udp(a) if a.is_ipv6() == v6))
                .then(|| {
                    let any = if v6 { "[::]:0" } else { "0.0.0.0:0" };
                    UdpSocket::bind(any).and_then(|s| s.set_nonblocking(true).map(|()| s))
                })
                .transpose()
        };
        let io = |e: std::io::Error| LogError {
            proxy: "GLOBAL".into(),
            address: String::new(),
            what: e.to_string(),
        };
        let (udp4, udp6) = (udp(false).map_err(io)?, udp(true).map_err(io)?);
        let unix = all()
            .any(|d| matches!(d, Destination::Unix(_)))
            .then(|| UnixDatagram::unbound().and_then(|s| s.set_nonblocking(true).map(|()| s)))
            .transpose()
            .map_err(io)?;
        Ok(Self {
            pid: std::process::id(),
            sinks,
            udp4,
            udp6,
            unix,
        })
    }

    /// Logs a traffic line of `proxy` (config index) at `info`.
    pub(crate) fn traffic(&self, proxy: usize, text: &str) {
        self.traffic_at(proxy, None, text);
    }

    /// Logs a traffic line of `proxy` at `severity` (`None`: info, the
    /// usual).
    pub(crate) fn traffic_at(&self, proxy: usize, severity: Option<u8>, text: &str) {
        match self.sinks.get(proxy) {
            Some(sinks) if !sinks.is_empty() => self.send(sinks, severity.unwrap_or(INFO), text),
            _ => println!("{text}"),
        }
    }

    /// Logs a server or backend event of `proxy` at `severity`: to stderr
    /// with haproxy's prefix, and to the proxy's targets.
    pub(crate) fn event(&self, proxy: Option<usize>, severity: u8, text: &str) {
        let level = if severity == 0 {
            "[ALERT]"
        } else {
            "[WARNING]"
        };
        crate::eprintln_whole!("{level:<11}({}) : {text}", self.pid);
        if let Some(sinks) = proxy.and_then(|p| self.sinks.get(p)) {
            self.send(sinks, severity, text);
        }
    }

    fn send(&self, sinks: &[Sink], severity: u8, text: &str) {
        let at = Civil::from_unix(crate::clock::unix_seconds());
        for s in sinks
            .iter()
            .filter(|s| severity <= s.max_severity && s.takes_next())
        {
            let mut line = match s.header {
                Header::None => format!("{text}\n"),
                Header::Level => format!("<{severity}>{text}\n"),
                Header::Priority => format!("<{}>{text}\n", s.facility * 8 + severity),
                Header::Syslog => datagram(s.facility, severity, &at, "haproxy", self.pid, text),
            };
            truncate(&mut line, s.max_len);
            // A full socket buffer drops the line, as haproxy does.
            match &s.destination {
                Destination::Udp(a) => {
                    let socket = if a.is_ipv6() { &self.udp6 } else { &self.udp4 };
                    if let Some(u) = socket {
                        let _ = u.send_to(line.as_bytes(), a);
                    }
                }
                Destination::Unix(path) => {
                    if let Some(u) = &self.unix {
                        let _ = u.send_to(line.as_bytes(), path);
                    }
                }
                Destination::Stdout => print!("{line}"),
                Destination::Stderr => crate::stderr::write(&line),
            }
        }
    }
}

/// Cuts `line` to `max` bytes, keeping its final newline.
fn truncate(line: &mut String, max: usize) {
    if line.len() > max {
        let mut end = max.saturating_sub(1);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('\n');
    }
}

fn address_of(t: &LogTarget) -> &str {
    match t {
        LogTarget::Target { address, .. } => address,
        LogTarget::Global => "global",
    }
}

/// Resolves one target; `None` for a nested `log global` in global.
fn sink(t: &LogTarget) -> Result<Option<Sink>, String> {
    let LogTarget::Target {
        address,
        facility,
        level,
        format,
        len,
        sample,
    } = t
    else {
        return Ok(None);
    };
    let facility = facility_code(facility).ok_or(format!("unknown log facility '{facility}'"))?;
    let max_severity = match level {
        Some(l) => severity_code(l).ok_or(format!("unknown optional log level '{l}'"))?,
        None => 7,
    };
    Ok(Some(Sink {
        destination: destination(address)?,
        facility,
        max_severity,
        header: match format.as_deref() {
            Some("raw") => Header::None,
            Some("short") => Header::Level,
            Some("priority") => Header::Priority,
            _ => Header::Syslog,
        },
        max_len: len.map_or(MAX_LINE, |l| l as usize),
        sample: sample.clone().map(|s| (s, AtomicU32::new(0))),
    }))
}

/// The destination of an address as haproxy writes it: `stdout`,
/// `fd@1`, `/dev/log`, `unix@/path`, `udp@host:port`, `ipv4@`, or
/// `host[:port]` (port 514 by default).
fn destination(address: &str) -> Result<Destination, String> {
    match address {
        "stdout" | "fd@1" => return Ok(Destination::Stdout),
        "stderr" | "fd@2" => return Ok(Destination::Stderr),
        _ => {}
    }
    if let Some(path) = address
        .strip_prefix("unix@")
        .or_else(|| address.starts_with('/').then_some(address))
    {
        return Ok(Destination::Unix(PathBuf::from(path)));
    }
    let host = ["udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"]
        .iter()
        .find_map(|p| address.strip_prefix(p))
        .unwrap_or(address);
    if host.contains('@') {
        return Err("only UDP, unix datagram, stdout and stderr targets are supported".into());
    }
    // haproxy's defaults: any address (an empty host), port 514.
    let with_port = |h: &str| match h.rsplit_once(':') {
        Some(("", "")) => "0.0.0.0:514".to_owned(),
        Some(("", port)) if port.parse::<u16>().is_ok() => format!("0.0.0.0:{port}"),
        Some((_, port)) if port.parse::<u16>().is_ok() && !h.ends_with(']') => h.to_owned(),
        _ => format!("{h}:514"),
    };
    let spec = if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]:514")
    } else {
        with_port(host)
    };
    spec.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(Destination::Udp)
        .ok_or(format!("cannot resolve '{host}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_resolve_as_haproxy_reads_them() {
        let udp = |s: &str| Destination::Udp(s.parse().expect("address"));
        assert_eq!(destination("127.0.0.1"), Ok(udp("127.0.0.1:514")));
        assert_eq!(destination("127.0.0.1:5514"), Ok(udp("127.0.0.1:5514")));
        assert_eq!(
            destination(":"),
            Ok(udp("0.0.0.0:514")),
            "an unset host and port"
        );
        assert_eq!(destination("udp@127.0.0.1:99"), Ok(udp("127.0.0.1:99")));
        assert_eq!(destination("::1"), Ok(udp("[::1]:514")));
        assert_eq!(
            destination("/dev/log"),
            Ok(Destination::Unix("/dev/log".into()))
        );
        assert_eq!(destination("stdout"), Ok(Destination::Stdout));
        assert!(destination("ring@buf").is_err());
    }

    #[test]
    fn long_lines_are_cut_to_haproxys_length() {
        let mut line = "é".repeat(600);
        truncate(&mut line, MAX_LINE);
        assert!(line.len() <= MAX_LINE && line.ends_with('\n'));
        let mut line = "é".repeat(600);
        truncate(&mut line, 2048);
        assert_eq!(line.len(), 1200, "`len 2048` keeps it whole");
    }

    #[test]
    fn a_sample_takes_its_positions_of_each_run() {
        let target = LogTarget::Target {
            address: "127.0.0.1".into(),
            facility: "local0".into(),
            level: None,
            format: None,
            len: None,
            sample: Some(LogSample {
                ranges: vec![(1, 1), (3, 3)],
                size: 5,
            }),
        };
        let sink = sink(&target).expect("valid").expect("a sink");
        let taken: Vec<bool> = (0..10).map(|_| sink.takes_next()).collect();
        let one_run = [true, false, true, false, false];
        assert_eq!(taken, [one_run, one_run].concat());
    }
}
