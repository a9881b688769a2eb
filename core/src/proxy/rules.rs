//! Where HTTP rules meet the request flow: a frontend's request rules,
//! routing on what they left, the backend's request rules, the
//! forwarding headers (`option forwardfor`, `option originalto`), then,
//! on the response, `http-response` and `http-after-response` rules.

use super::forwardfor::adds_forwarded_for;
use crate::cache::{CachedReply, Ticket};
use crate::config::haproxy::{CompAlgo, Forwardfor, HeaderNames, Proxy, TcpLayer, Userlist};
use crate::http_rules::{
    apply_headers, head_size, Answer, Edit, Names, Rendered, ResponseDraft, Room, Stop, Txn,
};
use crate::route::RequestHead;
use crate::sample::{Captured, Scope, Vars};
use crate::stick::StickTables;
use crate::time::Instant;
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

/// How core changes what the client gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rewrite {
    /// The whole response a rule wrote (`return`, `redirect`, a `deny`
    /// with a body), already edited; `None`: the server's response or
    /// haproxy's page, changed by `edits`.
    pub reply: Option<Rendered>,
    /// Changes to the response head, in order.
    pub edits: Vec<Edit>,
    /// The client session's variables, when rules changed them: its next
    /// requests see these.
    pub session: Option<Vars>,
    /// The response's body is compressed with this algorithm (the edits
    /// already say so in its head).
    pub compress: Option<CompAlgo>,
    /// The response comes from a cache: this, not a server's.
    pub cached: Option<Box<CachedReply>>,
    /// The response's body goes into a cache too, under this ticket.
    pub store: Option<Ticket>,
}

/// The transaction of `head` on frontend `fe`, its request headers
/// captured into the frontend's slots.
pub(super) fn new_txn(
    fe: &Proxy,
    head: &RequestHead<'_>,
    (userlists, proc, buffers, date): (&Arc<[Userlist]>, &Vars, (usize, usize), i64),
) -> Box<Txn> {
    let mut t = Box::new(Txn::new(head));
    t.date = date;
    t.vars.replace_scope(Scope::Proc, proc);
    let head_bytes = head_size([head.method, head.uri, "HTTP/1.1"], &t.headers);
    t.room = Room::of(buffers, head_bytes, head.payload.len());
    if !userlists.is_empty() {
        t.userlists = Some(Arc::clone(userlists));
    }
    if !fe.captures.is_empty() {
        t.captured = Captured::for_slots(&fe.captures);
        t.captured.headers(&fe.captures, true, head.headers);
    }
    t
}

/// The stick tables and the time, where rules may use them.
pub(super) type Stick<'a> = Option<(&'a RefCell<StickTables>, Instant)>;

/// True when `p` has rules of the request phase or capture slots to
/// fill.
pub(super) fn has_request_rules(p: &Proxy) -> bool {
    !p.http_request.is_empty()
        || p.tcp_request.iter().any(|r| r.layer == TcpLayer::Content)
        || !p.redirects.is_empty()
        || !p.captures.is_empty()
        || p.options.restrict_header_names != HeaderNames::Preserve
}

/// True when `p` has rules of the response phases.
pub(super) fn has_response_rules(p: &Proxy) -> bool {
    !p.http_response.is_empty()
        || !p.http_after_response.is_empty()
        || super::sticking::stores_responses(p)
}

/// The names samples see for `frontend`, `backend` and `server`.
pub(super) fn names(
    proxies: &[Proxy],
    frontend: usize,
    backend: Option<usize>,
    server: Option<usize>,
) -> Names<'_> {
    let name = |i: Option<usize>| {
        i.and_then(|i| proxies.get(i))
            .map_or("", |p| p.name.as_str())
    };
    let server_name = backend
        .and_then(|b| proxies.get(b)?.servers.get(server?))
        .map_or("", |s| s.name.as_str());
    Names {
        frontend: name(Some(frontend)),
        backend: name(backend),
        server: server_name,
        server_id: server.and_then(|i| u32::try_from(i + 1).ok()),
        stick: None,
        current: "",
    }
}

/// The `X-Forwarded-For` and `X-Original-To` headers a request gets on
/// its way to `backend`, from the addresses rules left: the backend's
/// option, else the frontend's.
pub(super) fn forwarding(
    fe: &Proxy,
    be: &Proxy,
    head: &RequestHead<'_>,
    txn: Option<&Txn>,
) -> Vec<Edit> {
    let client = txn.map_or(head.client, |t| t.client);
    let dst = txn.map_or(head.around.dst, |t| t.dst);
    let present = |name: &str| match txn {
        Some(t) => t.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)),
        None => head
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name)),
    };
    let mut out = Vec::new();
    let mut add = |f: Option<&Forwardfor>, addr: Option<IpAddr>| {
        if let (Some(f), Some(addr)) = (f, addr) {
            let name = f.header.to_ascii_lowercase();
            if adds_forwarded_for(f, addr, present(&name)) {
                out.push(Edit::Add(name, addr.to_string()));
            }
        }
    };
    let pick = |get: fn(&Proxy) -> Option<&Forwardfor>| get(be).or_else(|| get(fe));
    add(pick(|p| p.options.forwardfor.as_ref()), client);
    add(pick(|p| p.options.originalto.as_ref()), dst.map(|d| d.ip()));
    out
}

/// The chain of proxies a response passes, backend first, each once.
pub(super) fn chain(
    proxies: &[Proxy],
    frontend: usize,
    backend: Option<usize>,
) -> impl Iterator<Item = &Proxy> {
    let backend_proxy = backend.and_then(|b| proxies.get(b));
    let frontend_proxy = proxies.get(frontend).filter(|_| backend != Some(frontend));
    backend_proxy.into_iter().chain(frontend_proxy)
}

/// Runs the `http-response` rules of the backend then the frontend on a
/// server's response. `Err`: a rule answered instead.
pub(super) fn http_response(
    proxies: &[Proxy],
    (frontend, backend, server): (usize, Option<usize>, Option<usize>),
    (txn, stick): (&mut Txn, Stick<'_>),
    res: &mut ResponseDraft,
) -> Result<(), Answer> {
    let names = Names {
        stick,
        ..names(proxies, frontend, backend, server)
    };
    for p in chain(proxies, frontend, backend) {
        if let Some(Stop::Answer(a)) = txn.run_response(p, &p.http_response, names, res) {
            return Err(a);
        }
    }
    Ok(())
}

/// Runs the `http-after-response` rules of the backend then the frontend
/// on any response.
pub(super) fn after_response(
    proxies: &[Proxy],
    (frontend, backend, server): (usize, Option<usize>, Option<usize>),
    (txn, stick): (&mut Txn, Stick<'_>),
    res: &mut ResponseDraft,
) {
    let names = Names {
        stick,
        ..names(proxies, frontend, backend, server)
    };
    for p in chain(proxies, frontend, backend) {
        txn.run_response(p, &p.http_after_response, names, res);
    }
}

/// What `http-after-response` rules make of an answer haproxy gives
/// itself: `reply` when a rule wrote it, else haproxy's page for
/// `status`. `None` when nothing changes it.
pub(super) fn after_answer(
    proxies: &[Proxy],
    at: (usize, Option<usize>, Option<usize>),
    txn: &mut Txn,
    answer: Answer,
) -> Option<Box<Rewrite>> {
    let Answer {
        status,
        reply,
        headers: extra,
        ..
    } = answer;
    let (frontend, backend, _) = at;
    let any = chain(proxies, frontend, backend).any(|p| !p.http_after_response.is_empty());
    if !any && extra.is_empty() {
        let session = txn.session_vars();
        return (reply.is_some() || session.is_some()).then(|| {
            Box::new(Rewrite {
                reply,
                edits: Vec::new(),
                session,
                ..Rewrite::default()
            })
        });
    }
    let headers = reply.as_ref().map_or_else(
        || {
            [("cache-control", "no-cache"), ("content-type", "text/html")]
                .into_iter()
                .collect()
        },
        |r| {
            r.headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect()
        },
    );
    // haproxy's own answers are small: their rewrites always fit.
    let mut res = ResponseDraft::new(status, headers, Room::default());
    for (name, value) in extra {
        res.apply(Edit::Add(name, value));
    }
    after_response(proxies, at, (txn, None), &mut res);
    let rewrite = match reply {
        Some(mut r) => {
            apply_headers(&mut r.headers, &res.edits);
            r.status = res.status;
            Rewrite {
                reply: Some(r),
                edits: Vec::new(),
                session: txn.session_vars(),
                ..Rewrite::default()
            }
        }
        None => Rewrite {
            reply: None,
            edits: res.edits,
            session: txn.session_vars(),
            ..Rewrite::default()
        },
    };
    Some(Box::new(rewrite))
}
