//! A proxy's `log-format`: the traffic line of a finished request or
//! connection, rendered from what its `option httplog` line knows
//! ([`HttpLog`]) and the few facts that line leaves out ([`LineFacts`]),
//! field by field as haproxy 2.6 writes them.

use super::haproxy::HttpLog;
use crate::proxy_protocol::ProxyHeader;
use crate::route::RequestHead;
use crate::sample::HeaderView;
use crate::sample::{put_text, Alias, Around, Flags, Format, Part, TlsSession, Vars};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// What a custom line may print that an httplog line does not.
#[derive(Debug, Clone, Default)]
pub struct LineFacts {
    /// A `mode tcp` connection's line (else a request's).
    pub tcp: bool,
    /// Bytes read from the client (`%U`).
    pub bytes_in: u64,
    /// The address the client connected to (`%fi`, `%fp`).
    pub frontend_addr: Option<SocketAddr>,
    /// The source of the connection to the server (`%bi`, `%bp`).
    pub backend_source: Option<SocketAddr>,
    /// The server's address (`%si`, `%sp`).
    pub server_addr: Option<SocketAddr>,
    /// The connection's TLS, when it has some (`%sslv`, `%sslc`).
    pub tls: Option<Arc<TlsSession>>,
    /// The request's unique id (`%ID`).
    pub unique_id: Option<String>,
    /// The process's request counter for this one (`%rt`).
    pub request_counter: u64,
    /// The frontend's log lines before this one (`%lc`).
    pub log_counter: u64,
    /// The host's name (`%H`).
    pub hostname: String,
    /// The process id (`%pid`).
    pub pid: u32,
    /// The accept date as a Unix time (`%Ts`).
    pub accept_unix: i64,
    /// The variables the request had set (`%[var(txn.x)]`).
    pub vars: Option<Vars>,
    /// The PROXY header the connection began with.
    pub proxied: Option<ProxyHeader>,
}

/// Renders `format` for the finished request or connection `line`.
pub fn render(format: &Format, line: &HttpLog, facts: &LineFacts) -> String {
    let mut out = String::new();
    let mut after_space = true;
    for part in &format.parts {
        match part {
            Part::Separator if after_space => continue,
            Part::Separator => out.push(' '),
            Part::Text(t) => out.push_str(t),
            Part::Sample(expr, flags) => {
                let value = with_view(line, facts, |req| {
                    expr.eval(req).map(|v| v.to_text().into_owned())
                });
                put_text(&mut out, value.as_deref(), *flags);
            }
            Part::Alias(alias, flags) => {
                let before = out.len();
                field(&mut out, *alias, *flags, line, facts);
                // Capture fields of a frontend without slots print
                // nothing, and the spaces around them merge.
                if out.len() == before && alias.is_capture_list() {
                    continue;
                }
            }
        }
        after_space = matches!(part, Part::Separator);
    }
    out
}

/// Runs `f` on what samples see of a finished request: its connection,
/// names, variables and captures; no headers (haproxy has none left).
fn with_view<T>(line: &HttpLog, facts: &LineFacts, f: impl FnOnce(&RequestHead<'_>) -> T) -> T {
    let (method, target, _) = request_words(&line.request);
    let req = RequestHead {
        method: "",
        uri: "",
        headers: HeaderView::default(),
        client: Some(line.client.ip()),
        payload: &[],
        around: Around {
            src_port: Some(line.client.port()),
            dst: facts.frontend_addr,
            vars: facts.vars.as_ref(),
            frontend: frontend_name(line),
            backend: &line.backend,
            server: line.server.as_deref().unwrap_or(""),
            captured: line.captured.as_deref(),
            sent: (!facts.tcp).then_some((method, target)),
            proxied: facts.proxied.as_ref(),
            tls: facts.tls.as_ref(),
            unique_id: facts.unique_id.as_deref(),
            ..Around::default()
        },
    };
    f(&req)
}

/// The frontend's name, without the `~` of a TLS listener.
fn frontend_name(line: &HttpLog) -> &str {
    line.frontend.strip_suffix('~').unwrap_or(&line.frontend)
}

/// The method, target and version of a request line; `<BADREQ>` for
/// the parts it lacks.
fn request_words(request: &str) -> (&str, &str, &str) {
    let mut words = request.split_ascii_whitespace();
    let method = words.next().unwrap_or("<BADREQ>");
    let target = words.next().unwrap_or("<BADREQ>");
    let version = match (target, words.next()) {
        ("<BADREQ>", _) => "<BADREQ>",
        (_, None) => "HTTP/0.9",
        (_, Some(v)) => v,
    };
    (method, target, version)
}

/// A timer, `-1` when its phase was not reached.
fn timer(t: Option<u64>) -> String {
    t.map_or_else(|| "-1".to_owned(), |v| v.to_string())
}

fn ip_text(out: &mut String, ip: Option<IpAddr>, flags: Flags) {
    match ip {
        Some(IpAddr::V4(v4)) if flags.hex => {
            v4.octets().iter().for_each(|b| {
                let _ = write!(out, "{b:02X}");
            });
        }
        Some(IpAddr::V6(v6)) if flags.hex => {
            v6.octets().iter().for_each(|b| {
                let _ = write!(out, "{b:02X}");
            });
        }
        Some(ip) => put_text(out, Some(&ip.to_string()), flags),
        None => put_text(out, None, flags),
    }
}

fn port_text(out: &mut String, port: Option<u16>, flags: Flags) {
    match port {
        Some(p) if flags.hex => {
            let _ = write!(out, "{p:04X}");
        }
        Some(p) => {
            let _ = write!(out, "{p}");
        }
        None => put_text(out, None, flags),
    }
}

/// A counter, in `%04X` under `+X`.
fn counter(out: &mut String, n: u64, flags: Flags) {
    let _ = match flags.hex {
        true => write!(out, "{n:04X}"),
        false => write!(out, "{n}"),
    };
}

/// Writes one `%` variable.
fn field(out: &mut String, alias: Alias, flags: Flags, line: &HttpLog, facts: &LineFacts) {
    let [tr, tw, tc, tres, ta] = line.timers;
    let (civil, ms) = &line.accept;
    // Td: from the response head (a connection's: from connecting) to
    // the end, as haproxy counts the phases from the request's start.
    let data = match facts.tcp {
        true => tc.map(|c| c + tw.unwrap_or(0)),
        false => (|| Some(tr? + tw? + tc? + tres?))(),
    }
    .zip(ta)
    .map(|(start, end)| end.saturating_sub(start));
    let (method, target, version) = request_words(&line.request);
    let path = target.split('?').next().unwrap_or(target);
    let text = |out: &mut String, s: &str| put_text(out, Some(s), flags);
    match alias {
        Alias::ClientIp => ip_text(out, Some(line.client.ip()), flags),
        Alias::ClientPort => port_text(out, Some(line.client.port()), flags),
        Alias::FrontendIp => ip_text(out, facts.frontend_addr.map(|a| a.ip()), flags),
        Alias::FrontendPort => port_text(out, facts.frontend_addr.map(|a| a.port()), flags),
        Alias::BackendIp => ip_text(out, facts.backend_source.map(|a| a.ip()), flags),
        Alias::BackendPort => port_text(out, facts.backend_source.map(|a| a.port()), flags),
        Alias::ServerIp => ip_text(out, facts.server_addr.map(|a| a.ip()), flags),
        Alias::ServerPort => port_text(out, facts.server_addr.map(|a| a.port()), flags),
        Alias::Frontend => text(out, frontend_name(line)),
        Alias::FrontendTransport => {
            let q = if flags.quote { "\"" } else { "" };
            let _ = write!(out, "{q}{}{q}", line.frontend);
        }
        Alias::Backend => text(out, &line.backend),
        Alias::Server => text(out, line.server.as_deref().unwrap_or("<NOSRV>")),
        Alias::UniqueId => put_text(out, facts.unique_id.as_deref(), flags),
        Alias::Hostname => text(out, &facts.hostname),
        Alias::Pid => counter(out, u64::from(facts.pid), flags),
        Alias::Date | Alias::RequestDate => out.push_str(&civil.log_date(&format!(".{ms:03}"))),
        Alias::DateGmt | Alias::RequestDateGmt | Alias::DateLocal | Alias::RequestDateLocal => {
            out.push_str(&civil.log_date(" +0000"))
        }
        Alias::Timestamp => match flags.hex {
            true => out.push_str(&format!("{:04X}", facts.accept_unix)),
            false => out.push_str(&facts.accept_unix.to_string()),
        },
        Alias::Millis => match flags.hex {
            true => out.push_str(&format!("{ms:02X}")),
            false => out.push_str(&format!("{ms:03}")),
        },
        Alias::Th | Alias::Ti => out.push('0'),
        Alias::TR | Alias::Tq => out.push_str(&timer(tr)),
        Alias::Tw => out.push_str(&timer(tw)),
        Alias::Tc => out.push_str(&timer(tc)),
        Alias::Tr => out.push_str(&timer(tres)),
        Alias::Td => out.push_str(&timer(data)),
        Alias::Ta | Alias::Tt | Alias::Tu => out.push_str(&timer(ta)),
        Alias::Status => match line.status {
            0 => out.push_str("-1"),
            s => out.push_str(&s.to_string()),
        },
        Alias::BytesOut => out.push_str(&line.bytes.to_string()),
        Alias::BytesIn => out.push_str(&facts.bytes_in.to_string()),
        Alias::ClientCookie | Alias::ServerCookie => put_text(out, None, flags),
        Alias::Termination => out.push_str(line.termination.get(..2).unwrap_or("--")),
        Alias::TerminationCookie => {
            out.push_str(&line.termination);
            if line.termination.len() < 4 {
                out.push_str("--");
            }
        }
        Alias::ActConn => out.push_str(&line.conns[0].to_string()),
        Alias::FeConn => out.push_str(&line.conns[1].to_string()),
        Alias::BeConn => out.push_str(&line.conns[2].to_string()),
        Alias::SrvConn => out.push_str(&line.conns[3].to_string()),
        Alias::Retries => {
            if line.redispatched {
                out.push('+');
            }
            out.push_str(&line.retries.to_string());
        }
        Alias::SrvQueue => out.push_str(&line.queues[0].to_string()),
        Alias::BackendQueue => out.push_str(&line.queues[1].to_string()),
        Alias::RequestHeaders | Alias::ResponseHeaders => {
            let request = alias == Alias::RequestHeaders;
            if let Some(block) = line.captured.as_ref().and_then(|c| c.block(request)) {
                let q = if flags.quote { "\"" } else { "" };
                let _ = write!(out, "{q}{block}{q}");
            }
        }
        Alias::RequestHeaderList | Alias::ResponseHeaderList => {
            let request = alias == Alias::RequestHeaderList;
            if let Some(c) = &line.captured {
                out.push_str(&c.list(request, flags.quote));
            }
        }
        Alias::Request => quoted(out, &line.request, flags),
        Alias::Method => quoted(out, method, flags),
        Alias::Uri => quoted(out, target, flags),
        Alias::Path => quoted(out, path, flags),
        Alias::PathOnly => quoted(out, crate::route::path_and_query(path), flags),
        Alias::Query => quoted(out, target.find('?').map_or("", |i| &target[i..]), flags),
        Alias::Version => quoted(out, version, flags),
        Alias::RequestCounter => counter(out, facts.request_counter, flags),
        Alias::LogCounter => counter(out, facts.log_counter, flags),
        Alias::SslCipher => put_text(out, facts.tls.as_ref().map(|t| t.cipher), flags),
        Alias::SslVersion => put_text(out, facts.tls.as_ref().map(|t| t.protocol), flags),
    }
}

/// A part of the request line, in quotes under `+Q` (never `-`).
fn quoted(out: &mut String, s: &str, flags: Flags) {
    let q = if flags.quote { "\"" } else { "" };
    let _ = write!(out, "{q}{s}{q}");
}

#[cfg(test)]
mod tests;
