//! Persistence by cookie (`cookie NAME insert|rewrite|prefix ...` with
//! `server ... cookie VALUE`), as haproxy does it: a request naming a
//! running server in its cookie goes straight to it; the answer gets the
//! cookie inserted, rewritten or prefixed; the log's termination state
//! carries what happened to the cookie both ways.

use crate::config::haproxy::{CookieMode, CookiePersistence, Server};
use crate::http_rules::{Edit, ResponseDraft};
use crate::sample::HeaderView;

/// haproxy's separator between the server's value and the application's
/// cookie in `prefix` mode.
const PREFIX_DELIM: char = '~';
/// haproxy's separator before the dates a cookie may carry.
const DATE_DELIM: char = '|';

/// What the persistence cookie did in one request, for the log (the 3rd
/// and 4th characters of the termination state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieFlags {
    /// The client's cookie: `N` none, `I` invalid, `D` its server is
    /// down, `V` valid.
    pub request: char,
    /// The server's side: `N` none, `P` the server set it, `D` deleted,
    /// `I` inserted, `R` rewritten.
    pub response: char,
}

impl Default for CookieFlags {
    fn default() -> Self {
        Self {
            request: 'N',
            response: 'N',
        }
    }
}

/// One request's persistence state.
#[derive(Debug, Clone, Default)]
pub(super) struct Persistence {
    /// The server its cookie names and that may take it.
    pub(super) server: Option<usize>,
    /// The request went to that server (haproxy's `SF_DIRECT`).
    pub(super) direct: bool,
    /// The request is a POST (`postonly`).
    post: bool,
    /// The method lets the answer be cached (GET, HEAD, OPTIONS, TRACE).
    safe_method: bool,
    pub(super) flags: CookieFlags,
}

/// Reads the persistence cookie among the request's `headers` (name,
/// value): which of `servers` it names (one that is `running`), and the
/// changes the request needs on its way (`indirect` insert removes the
/// cookie, `prefix` strips the server's part).
pub(super) fn read_request(
    cookie: &CookiePersistence,
    servers: &[Server],
    running: impl Fn(usize) -> bool,
    (method, headers): (&str, HeaderView<'_>),
) -> (Persistence, Vec<Edit>) {
    let mut p = Persistence {
        post: method == "POST",
        safe_method: matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE"),
        ..Persistence::default()
    };
    let mut values = Vec::new();
    let mut changed = false;
    for (_, value) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        let mut kept: Vec<String> = Vec::new();
        for part in value.split(';') {
            let part = part.trim_matches([' ', '\t']);
            let (name, val) = part.split_once('=').unwrap_or((part, ""));
            if name.trim_end() != cookie.name {
                kept.push(part.to_owned());
                continue;
            }
            let val = val.trim_start();
            let delim = match cookie.mode {
                CookieMode::Prefix => PREFIX_DELIM,
                _ => DATE_DELIM,
            };
            let (server_part, rest) = match val.split_once(delim) {
                Some((s, r)) => (s, Some(r)),
                None => (val, None),
            };
            if p.server.is_none() {
                p.flags.request = 'I';
                if !server_part.is_empty() {
                    choose(&mut p, servers, &running, server_part);
                }
            }
            match (cookie.mode, rest) {
                (CookieMode::Prefix, Some(app)) => {
                    kept.push(format!("{name}={app}"));
                    changed = true;
                }
                (CookieMode::Insert, _) if cookie.indirect => changed = true,
                _ => kept.push(part.to_owned()),
            }
        }
        values.push(kept.join("; "));
    }
    let edits = if changed {
        values.retain(|v| !v.is_empty());
        vec![Edit::Rewrite("cookie".into(), values)]
    } else {
        Vec::new()
    };
    (p, edits)
}

/// The first server whose cookie value is `value`: taken when it runs,
/// else noted as down while the search goes on.
fn choose(p: &mut Persistence, servers: &[Server], running: impl Fn(usize) -> bool, value: &str) {
    for (i, s) in servers.iter().enumerate() {
        if s.cookie.as_deref() != Some(value) {
            continue;
        }
        if running(i) {
            p.server = Some(i);
            p.flags.request = 'V';
            return;
        }
        p.flags.request = 'D';
    }
}

/// What the persistence cookie changes in a response from `server`: a
/// cookie the server set is deleted, rewritten or prefixed; an `insert`
/// cookie is added when the client did not come with the right one.
pub(super) fn on_response(
    cookie: &CookiePersistence,
    server: Option<&Server>,
    p: &mut Persistence,
    res: &mut ResponseDraft,
) {
    if res.status < 200 && res.status != 101 {
        return;
    }
    server_cookies(cookie, server, p, res);
    let found = p.flags.response == 'P';
    let Some(server) = server else {
        return;
    };
    let insert = cookie.mode == CookieMode::Insert
        && !(found && cookie.preserve)
        && !p.direct
        && (!cookie.postonly || p.post);
    if !insert {
        return;
    }
    let mut set = match &server.cookie {
        Some(v) => format!("{}={v}; path=/", cookie.name),
        None => format!(
            "{}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/",
            cookie.name
        ),
    };
    for d in &cookie.domains {
        set.push_str("; domain=");
        set.push_str(d);
    }
    if cookie.httponly {
        set.push_str("; HttpOnly");
    }
    if cookie.secure {
        set.push_str("; Secure");
    }
    for a in &cookie.attrs {
        set.push_str("; ");
        set.push_str(a);
    }
    res.apply(Edit::Add("set-cookie".into(), set));
    p.flags.response = 'I';
    if cookie.nocache && cacheable(p.safe_method, res) {
        res.apply(Edit::Add("cache-control".into(), "private".into()));
    }
}

/// The server's own `Set-Cookie` of the persistence cookie: kept
/// (`preserve`), deleted (insert mode, or indirect on a direct request),
/// or given the server's value (rewrite) or prefix (prefix).
fn server_cookies(
    cookie: &CookiePersistence,
    server: Option<&Server>,
    p: &mut Persistence,
    res: &mut ResponseDraft,
) {
    let mut values = Vec::new();
    let mut changed = false;
    for (_, value) in res.headers.iter().filter(|(n, _)| *n == "set-cookie") {
        let (first, attrs) = value
            .split_once(';')
            .map_or((value, None), |(f, a)| (f, Some(a)));
        let (name, val) = first.split_once('=').unwrap_or((first, ""));
        if name.trim() != cookie.name || !first.contains('=') {
            values.push(Some(value.to_owned()));
            continue;
        }
        p.flags.response = 'P';
        let val = val.trim();
        let attrs = attrs.map_or_else(String::new, |a| format!(";{a}"));
        let own = server.and_then(|s| s.cookie.as_deref());
        let new = if cookie.preserve {
            Some(value.to_owned())
        } else if (server.is_some() && cookie.mode == CookieMode::Insert)
            || (p.direct && cookie.indirect)
        {
            p.flags.response = 'D';
            None
        } else if let (Some(own), CookieMode::Rewrite) = (own, cookie.mode) {
            p.flags.response = 'R';
            Some(format!("{}={own}{attrs}", cookie.name))
        } else if let (Some(own), CookieMode::Prefix) = (own, cookie.mode) {
            p.flags.response = 'R';
            Some(format!("{}={own}{PREFIX_DELIM}{val}{attrs}", cookie.name))
        } else {
            Some(value.to_owned())
        };
        changed |= new.as_deref() != Some(value);
        values.push(new);
    }
    if changed {
        let values: Vec<String> = values.into_iter().flatten().collect();
        res.apply(Edit::Rewrite("set-cookie".into(), values));
    }
}

/// haproxy's rule for a response a shared cache may keep: a cacheable
/// status, no `no-cache`/`private`/`no-store` directive, and freshness
/// or a validator.
fn cacheable(safe_method: bool, res: &ResponseDraft) -> bool {
    if !safe_method
        || !matches!(
            res.status,
            200 | 203 | 204 | 206 | 300 | 301 | 404 | 405 | 410 | 414 | 501
        )
    {
        return false;
    }
    fn values<'a>(res: &'a ResponseDraft, name: &'a str) -> impl Iterator<Item = &'a str> {
        res.values(name).flat_map(|v| v.split(',')).map(str::trim)
    }
    if values(res, "pragma").any(|v| v.eq_ignore_ascii_case("no-cache")) {
        return false;
    }
    let mut ok = true;
    let mut fresh = false;
    let mut null_maxage = false;
    for v in values(res, "cache-control") {
        let lower = v.to_ascii_lowercase();
        match lower.as_str() {
            "public" => ok = true,
            "max-age=0" => null_maxage = true,
            "private" | "no-cache" | "no-store" | "s-maxage=0" => ok = false,
            _ if lower.starts_with("s-maxage") => {
                fresh = true;
                null_maxage = false;
            }
            _ if lower.starts_with("max-age") => fresh = true,
            _ => {}
        }
    }
    let has = |name: &str| res.headers.iter().any(|(n, _)| n == name);
    ok && !null_maxage && (fresh || has("expires") || has("etag") || has("last-modified"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::{parse, ParseOptions};

    /// The backend `be` of a config with `cookie` line `line` and servers
    /// a (cookie ca) and b (cookie cb).
    fn backend(line: &str) -> (CookiePersistence, Vec<Server>) {
        let text = format!(
            "backend be\n    {line}\n    server a 127.0.0.1:1 cookie ca\n    server b 127.0.0.1:2 cookie cb\n"
        );
        let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
        let cfg = parsed
            .config
            .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
        let be = &cfg.proxies[0];
        (be.cookie.clone().expect("a cookie"), be.servers.clone())
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> ResponseDraft {
        let headers = headers.iter().copied().collect();
        ResponseDraft::new(status, headers, Default::default())
    }

    #[test]
    fn the_cookie_names_a_running_server_and_indirect_hides_it() {
        let (c, servers) = backend("cookie SRV insert indirect");
        let headers = [("Cookie", "a=1; SRV=cb; b=2")];
        let (p, edits) = read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&headers)));
        assert_eq!((p.server, p.flags.request), (Some(1), 'V'));
        assert_eq!(
            edits,
            [Edit::Rewrite("cookie".into(), vec!["a=1; b=2".into()])]
        );
        let alone = [("cookie", "SRV=cb")];
        let (_, edits) = read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&alone)));
        assert_eq!(edits, [Edit::Rewrite("cookie".into(), Vec::new())]);
        let (p, _) = read_request(&c, &servers, |i| i != 1, ("GET", HeaderView::Pairs(&alone)));
        assert_eq!((p.server, p.flags.request), (None, 'D'));
        let unknown = [("cookie", "SRV=zz")];
        let (p, _) = read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&unknown)));
        assert_eq!((p.server, p.flags.request), (None, 'I'));
        let (p, _) = read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&[])));
        assert_eq!(p.flags.request, 'N');
    }

    #[test]
    fn prefix_mode_strips_and_adds_the_servers_part() {
        let (c, servers) = backend("cookie JSESSIONID prefix");
        let headers = [("cookie", "JSESSIONID=cb~abc")];
        let (mut p, edits) =
            read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&headers)));
        assert_eq!(p.server, Some(1));
        assert_eq!(
            edits,
            [Edit::Rewrite(
                "cookie".into(),
                vec!["JSESSIONID=abc".into()]
            )]
        );
        let mut res = response(200, &[("set-cookie", "JSESSIONID=xyz; path=/")]);
        on_response(&c, servers.get(1), &mut p, &mut res);
        assert_eq!(
            res.values("set-cookie").next(),
            Some("JSESSIONID=cb~xyz; path=/")
        );
        assert_eq!(p.flags.response, 'R');
    }

    #[test]
    fn insert_adds_the_cookie_with_its_attributes_and_private_when_cacheable() {
        let (c, servers) =
            backend("cookie SRV insert nocache httponly secure domain .a.b attr SameSite=Lax");
        let (mut p, _) = read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&[])));
        let mut res = response(200, &[("cache-control", "max-age=60")]);
        on_response(&c, servers.first(), &mut p, &mut res);
        let added: Vec<_> = res.edits.iter().collect();
        assert_eq!(
            added,
            [
                &Edit::Add(
                    "set-cookie".into(),
                    "SRV=ca; path=/; domain=.a.b; HttpOnly; Secure; SameSite=Lax".into()
                ),
                &Edit::Add("cache-control".into(), "private".into()),
            ]
        );
        assert_eq!(p.flags.response, 'I');
        // Not cacheable (no freshness, no validator): no cache-control.
        let mut res = response(200, &[]);
        on_response(&c, servers.first(), &mut p, &mut res);
        assert_eq!(res.edits.len(), 1);
        // A client already on its server gets no new cookie.
        p.direct = true;
        let mut res = response(200, &[]);
        on_response(&c, servers.first(), &mut p, &mut res);
        assert!(res.edits.is_empty());
    }

    #[test]
    fn rewrite_mode_replaces_the_value_the_server_set() {
        let (c, servers) = backend("cookie SRV rewrite");
        let (mut p, _) = read_request(&c, &servers, |_| true, ("GET", HeaderView::Pairs(&[])));
        let mut res = response(200, &[("set-cookie", "SRV=app; Path=/x")]);
        on_response(&c, servers.get(1), &mut p, &mut res);
        assert_eq!(res.values("set-cookie").next(), Some("SRV=cb; Path=/x"));
    }
}
