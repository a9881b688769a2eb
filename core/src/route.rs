//! Request routing as HAProxy does it (spec/haproxy.md §1.5): ACLs over the
//! request head (or, in `mode tcp`, the client and its first bytes),
//! `use_backend ... if|unless` in order, then `default_backend`; no match
//! means 503.

use crate::config::haproxy::{
    AclPattern, BindProto, Condition, Criterion, Proxy, TcpAction, TcpLayer,
};
use crate::sample::{
    eq, hex_eq, in_network, int_match, str_match, Around, HeaderView, StrMatch, Value, Vars,
};
use std::net::IpAddr;

mod client_hello;
mod level;

pub use level::{run_level, Level, Sticks};

use client_hello::Hello;

/// The parts of a request routing looks at, or, in `mode tcp`, of a
/// connection: its client and the bytes it sent so far.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// Method (`GET`).
    pub method: &'a str,
    /// Request URI as sent: path and query (`/a/b?x=1`).
    pub uri: &'a str,
    /// Headers in order, names as sent.
    pub headers: HeaderView<'a>,
    /// The client's address (`src`), when known.
    pub client: Option<IpAddr>,
    /// `mode tcp`: what the client sent so far (`req.*` fetches); in
    /// HTTP, the body when it was read whole.
    pub payload: &'a [u8],
    /// What samples see beside the head.
    pub around: Around<'a>,
}

/// A request target's path and query: past the scheme and authority of
/// an absolute-form target (`/` when it has no path), else all of it.
pub fn path_and_query(uri: &str) -> &str {
    if uri.starts_with('/') {
        return uri;
    }
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => uri,
    }
}

impl<'a> RequestHead<'a> {
    /// A `mode tcp` connection from `client` that sent `payload` so far.
    pub fn connection(client: IpAddr, payload: &'a [u8]) -> Self {
        Self {
            method: "",
            uri: "",
            headers: HeaderView::default(),
            client: Some(client),
            payload,
            around: Around::default(),
        }
    }

    /// The path: the URI (past its authority in absolute form) up to `?`.
    pub fn path(&self) -> &'a str {
        let rest = path_and_query(self.uri);
        rest.split('?').next().unwrap_or(rest)
    }

    /// Values of header `name` (any case); every header when `name` is empty.
    pub(crate) fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| name.is_empty() || n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// The backend (index in the config's proxies) `frontend` sends `req` to,
/// or `None` when no rule matches and there is no default backend.
pub fn route(proxies: &[Proxy], frontend: &Proxy, req: &RequestHead<'_>) -> Option<usize> {
    let rule = frontend
        .switching_rules
        .iter()
        .find(|r| r.cond.as_ref().is_none_or(|c| condition(frontend, c, req)));
    let chosen = rule.and_then(|r| match (&r.backend, &r.dynamic) {
        (Some(b), _) => Some(b.index),
        (None, Some(name)) => {
            let name = name.render(req);
            proxies
                .iter()
                .position(|p| p.kind.is_backend() && p.name == name)
        }
        (None, None) => None,
    });
    chosen.or(frontend.default_backend.as_ref().map(|b| b.index))
}

/// What a frontend's `tcp-request` rules of one layer decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Let the connection in (a rule accepted it, or none matched).
    Accept,
    /// Close it.
    Reject,
    /// Close it without a word to the client (`silent-drop`): no FIN, no
    /// reset reaches it.
    SilentDrop,
    /// A rule cannot tell before more bytes come: read on, within
    /// `inspect-delay`.
    Wait,
    /// `switch-mode http`: serve it as HTTP from its first bytes on, with
    /// the version named (`Auto`: as the bytes say).
    SwitchToHttp(BindProto),
}

/// Runs `proxy`'s `tcp-request` rules of `layer` on `req`, in order,
/// setting the variables their `set-var` name in `vars` (where the rules
/// read them too); `last`: no more bytes will come (closed, buffer full,
/// or `inspect-delay` over).
pub fn admit(
    proxy: &Proxy,
    layer: TcpLayer,
    req: &RequestHead<'_>,
    last: bool,
    vars: &mut Vars,
) -> Admission {
    for rule in proxy.tcp_request.iter().filter(|r| r.layer == layer) {
        let seen = RequestHead {
            around: Around {
                vars: Some(vars),
                ..req.around
            },
            ..*req
        };
        let hit = match &rule.cond {
            None => Some(true),
            Some(c) => evaluate(proxy, c, &seen, last),
        };
        match (hit, &rule.action) {
            (Some(true), TcpAction::Accept) => return Admission::Accept,
            (Some(true), TcpAction::Reject) => return Admission::Reject,
            (Some(true), TcpAction::SilentDrop) => return Admission::SilentDrop,
            (Some(true), TcpAction::SwitchToHttp(proto)) => return Admission::SwitchToHttp(*proto),
            (Some(true), TcpAction::SetVar(name, e)) => {
                if let Some(v) = e.eval(&seen).map(Value::into_owned) {
                    vars.set(name, v);
                }
            }
            (Some(_), _) => {}
            (None, _) => return Admission::Wait,
        }
    }
    Admission::Accept
}

/// Whether a `mode tcp` client's first `bytes` are an HTTP/1 request
/// head, as haproxy's `req.proto_http` reads them: the HTTP/2 preface
/// too, whose first line reads as one. `None`: they may be, once more
/// come.
fn opens_http_request(bytes: &[u8]) -> Option<bool> {
    const PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";
    if PREFACE_LINE.starts_with(bytes) {
        return None;
    }
    if bytes.starts_with(PREFACE_LINE) {
        return Some(true);
    }
    match crate::http1::parse_head(bytes, usize::MAX) {
        Ok(Some(_)) => Some(true),
        Ok(None) => None,
        Err(_) => Some(false),
    }
}

/// Evaluates an `if` / `unless` condition of `proxy` on all there is.
pub fn condition(proxy: &Proxy, cond: &Condition, req: &RequestHead<'_>) -> bool {
    evaluate(proxy, cond, req, true).unwrap_or(false)
}

/// Evaluates a condition on the bytes received so far: `None` when more
/// bytes may change the answer (haproxy's "miss", which makes a content
/// rule wait within `inspect-delay`).
pub fn condition_so_far(proxy: &Proxy, cond: &Condition, req: &RequestHead<'_>) -> Option<bool> {
    evaluate(proxy, cond, req, false)
}

/// Three-valued: any group all true is true; else any group undecided is
/// undecided; else false. `last`: no more bytes will come.
fn evaluate(proxy: &Proxy, cond: &Condition, req: &RequestHead<'_>, last: bool) -> Option<bool> {
    let mut undecided = false;
    for all in &cond.any_of {
        let mut group = Some(true);
        for t in all {
            let hit = proxy.acls.get(t.acl).map_or(Some(false), |acl| {
                any_of(acl.patterns.iter().map(|p| pattern(p, req, last)))
            });
            match hit.map(|h| h != t.negate) {
                Some(true) => {}
                Some(false) => {
                    group = Some(false);
                    break;
                }
                None => group = None,
            }
        }
        match group {
            Some(true) => return Some(!cond.unless),
            None => undecided = true,
            Some(false) => {}
        }
    }
    (!undecided).then_some(cond.unless)
}

/// True when any answer is; undecided when none is but some are.
fn any_of(answers: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut undecided = false;
    for a in answers {
        match a {
            Some(true) => return Some(true),
            None => undecided = true,
            Some(false) => {}
        }
    }
    (!undecided).then_some(false)
}

/// One ACL line: any value matching is a hit. Comparisons allocate
/// nothing: `-i` folds ASCII case on the fly. `None`: the bytes received
/// so far cannot tell yet (never when `last`).
fn pattern(p: &AclPattern, req: &RequestHead<'_>, last: bool) -> Option<bool> {
    p.values.with(|values| matches(p, values, req, last))
}

/// [`pattern`] over the line's `values` as they are now.
fn matches(p: &AclPattern, values: &[String], req: &RequestHead<'_>, last: bool) -> Option<bool> {
    let ci = p.ignore_case;
    let text = |subject: &str, how: StrMatch| {
        values
            .iter()
            .any(|v| str_match(subject.as_bytes(), v.as_bytes(), how, ci))
    };
    let wait = || last.then_some(false);
    Some(match &p.criterion {
        Criterion::Hdr(h) => req.values(h).any(|v| text(v, StrMatch::Exact)),
        Criterion::HdrBeg(h) => req.values(h).any(|v| text(v, StrMatch::Beg)),
        Criterion::HdrEnd(h) => req.values(h).any(|v| text(v, StrMatch::End)),
        Criterion::HdrSub(h) => req.values(h).any(|v| text(v, StrMatch::Sub)),
        Criterion::HdrDom(h) => req.values(h).any(|v| text(v, StrMatch::Dom)),
        Criterion::Path => text(req.path(), StrMatch::Exact),
        Criterion::PathBeg => text(req.path(), StrMatch::Beg),
        Criterion::PathEnd => text(req.path(), StrMatch::End),
        Criterion::PathSub => text(req.path(), StrMatch::Sub),
        Criterion::UrlBeg => text(req.uri, StrMatch::Beg),
        Criterion::Method => text(req.method, StrMatch::Exact),
        Criterion::Src => req
            .client
            .is_some_and(|ip| values.iter().any(|v| in_network(ip, v))),
        Criterion::SslSni(how) => match client_hello::read(req.payload) {
            Hello::Partial => return wait(),
            Hello::Handshake {
                sni: Some(name), ..
            } => values
                .iter()
                .any(|v| str_match(name, v.as_bytes(), *how, ci)),
            Hello::Handshake { sni: None, .. } | Hello::NotTls => false,
        },
        Criterion::SslHelloType => match client_hello::read(req.payload) {
            Hello::Partial => return wait(),
            Hello::Handshake { kind, .. } => int_match(values, i64::from(kind)),
            Hello::NotTls => false,
        },
        Criterion::ReqLen => {
            let hit = int_match(values, req.payload.len() as i64);
            if !hit && !last {
                return None;
            }
            hit
        }
        Criterion::Payload {
            offset,
            length,
            binary,
        } => {
            let end = if *length == 0 {
                req.payload.len()
            } else {
                offset + length
            };
            match req.payload.get(*offset..end) {
                Some(bytes) if *length > 0 || last => values.iter().any(|v| {
                    if *binary {
                        hex_eq(bytes, v)
                    } else {
                        eq(bytes, v.as_bytes(), ci) && bytes.len() == v.len()
                    }
                }),
                _ => return wait(),
            }
        }
        Criterion::Constant(hit) => *hit,
        Criterion::ProtoHttp if req.around.htx => true,
        Criterion::ProtoHttp => match opens_http_request(req.payload) {
            None => return wait(),
            Some(hit) => hit,
        },
        Criterion::Sample { expr, how } => {
            let hit = expr.any(req, &mut |v| how.hit(v, values, ci));
            // What a client has not sent yet may still match.
            if !hit && !last && expr.fetch.reads_payload() {
                return None;
            }
            hit
        }
        Criterion::Unsupported(_) => false,
    })
}
