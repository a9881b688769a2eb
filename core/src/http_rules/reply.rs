//! The answers rules write: `return`, `deny` with a body or headers, and
//! `redirect`, as haproxy 2.6 builds them.

use crate::config::haproxy::{Redirect, RedirectKind, Reply, ReplyBody};
use crate::route::{path_and_query, RequestHead};

/// A response a rule wrote. The driver adds `content-length` and the
/// connection's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Its status.
    pub status: u16,
    /// Its headers in order, names lower case.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: Vec<u8>,
}

/// The response of `return` or `deny` (`deny`); `None` when it is
/// haproxy's page for the status, which an `errorfile` may replace.
pub(super) fn render(reply: &Reply, req: &RequestHead<'_>, deny: bool) -> Option<Rendered> {
    let mut headers = Vec::new();
    let body = match &reply.body {
        // haproxy's page (or the errorfile); with `hdr` lines, no page: an
        // empty answer with those headers.
        ReplyBody::Default if deny && reply.headers.is_empty() => return None,
        ReplyBody::Default => Vec::new(),
        ReplyBody::Fixed(bytes) => bytes.clone(),
        ReplyBody::Format(f) => f.render(req).into_bytes(),
    };
    if let Some(t) = &reply.content_type {
        headers.push(("content-type".to_owned(), t.clone()));
    }
    for (name, fmt) in &reply.headers {
        // haproxy leaves out a header whose value comes out empty.
        let value = fmt.render(req);
        if !value.is_empty() {
            headers.push((name.clone(), value));
        }
    }
    Some(Rendered {
        status: reply.status,
        headers,
        body,
    })
}

/// The response of a redirect; `None` when its target comes out empty
/// (the rule is then skipped, as haproxy skips it).
pub(super) fn redirect(r: &Redirect, req: &RequestHead<'_>) -> Option<Rendered> {
    let target = r.target.render(req);
    let pq = path_and_query(req.uri);
    let path = pq.split('?').next().unwrap_or(pq);
    let mut rest = if r.drop_query { path } else { pq }.to_owned();
    if r.append_slash && r.drop_query && !rest.ends_with('/') {
        rest.push('/');
    }
    let location = match r.kind {
        RedirectKind::Location if target.is_empty() => return None,
        RedirectKind::Location => target,
        RedirectKind::Prefix if target == "/" => rest,
        RedirectKind::Prefix => format!("{}{rest}", target.trim_end_matches('/')),
        RedirectKind::Scheme => {
            let host = req
                .headers
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case("host"))
                .map_or("", |(_, v)| v.trim());
            format!("{target}://{host}{rest}")
        }
    };
    let mut headers = vec![("location".to_owned(), location)];
    if matches!(r.code, 302 | 303 | 307) {
        headers.push(("cache-control".to_owned(), "no-cache".to_owned()));
    }
    if let Some(c) = &r.set_cookie {
        headers.push(("set-cookie".to_owned(), format!("{c}; path=/;")));
    }
    if let Some(c) = &r.clear_cookie {
        headers.push((
            "set-cookie".to_owned(),
            format!("{c}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/;"),
        ));
    }
    Some(Rendered {
        status: r.code,
        headers,
        body: Vec::new(),
    })
}
