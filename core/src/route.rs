//! Request routing as HAProxy does it (spec/haproxy.md §1.5): ACLs over the
//! request head, `use_backend ... if|unless` in order, then
//! `default_backend`; no match means 503.

use crate::config::haproxy::{AclPattern, Condition, Criterion, Proxy};

/// The parts of a request routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// Method (`GET`).
    pub method: &'a str,
    /// Request URI as sent: path and query (`/a/b?x=1`).
    pub uri: &'a str,
    /// Headers in order, names as sent.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> RequestHead<'a> {
    /// The path: the URI up to `?`.
    pub fn path(&self) -> &'a str {
        self.uri.split('?').next().unwrap_or(self.uri)
    }

    /// Values of header `name` (any case); every header when `name` is empty.
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| name.is_empty() || n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// The backend (index in the config's proxies) `frontend` sends `req` to,
/// or `None` when no rule matches and there is no default backend.
pub fn route(frontend: &Proxy, req: &RequestHead<'_>) -> Option<usize> {
    frontend
        .switching_rules
        .iter()
        .find(|r| r.cond.as_ref().is_none_or(|c| condition(frontend, c, req)))
        .map(|r| r.backend.index)
        .or(frontend.default_backend.as_ref().map(|b| b.index))
}

/// Evaluates an `if` / `unless` condition of `proxy`.
pub fn condition(proxy: &Proxy, cond: &Condition, req: &RequestHead<'_>) -> bool {
    let any = cond.any_of.iter().any(|all| {
        all.iter().all(|t| {
            let hit = proxy
                .acls
                .get(t.acl)
                .is_some_and(|acl| acl.patterns.iter().any(|p| pattern(p, req)));
            hit != t.negate
        })
    });
    any != cond.unless
}

/// One ACL line: any value matching is a hit. Comparisons allocate
/// nothing: `-i` folds ASCII case on the fly.
fn pattern(p: &AclPattern, req: &RequestHead<'_>) -> bool {
    let ci = p.ignore_case;
    let test = |subject: &str| -> bool {
        p.values.iter().any(|v| {
            let (s, v) = (subject.as_bytes(), v.as_bytes());
            match &p.criterion {
                Criterion::Hdr(_) | Criterion::Path | Criterion::Method => {
                    s.len() == v.len() && eq(s, v, ci)
                }
                Criterion::HdrBeg(_) | Criterion::PathBeg | Criterion::UrlBeg => {
                    s.len() >= v.len() && eq(&s[..v.len()], v, ci)
                }
                Criterion::HdrEnd(_) | Criterion::PathEnd => {
                    s.len() >= v.len() && eq(&s[s.len() - v.len()..], v, ci)
                }
                Criterion::HdrSub(_) | Criterion::PathSub => find(s, v, ci, 0).is_some(),
                Criterion::HdrDom(_) => domain_match(s, v, ci),
                Criterion::Unsupported(_) => false,
            }
        })
    };
    match &p.criterion {
        Criterion::Hdr(h)
        | Criterion::HdrBeg(h)
        | Criterion::HdrEnd(h)
        | Criterion::HdrSub(h)
        | Criterion::HdrDom(h) => req.values(h).any(test),
        Criterion::Path | Criterion::PathBeg | Criterion::PathEnd | Criterion::PathSub => {
            test(req.path())
        }
        Criterion::UrlBeg => test(req.uri),
        Criterion::Method => test(req.method),
        Criterion::Unsupported(_) => false,
    }
}

fn eq(a: &[u8], b: &[u8], ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// First position at or after `from` where `needle` occurs in `hay`.
fn find(hay: &[u8], needle: &[u8], ci: bool, from: usize) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| eq(&hay[i..i + needle.len()], needle, ci))
}

/// `hdr_dom`: `pattern` occurs in `subject` bounded on both sides by the
/// string's edge or one of `.` `:` `/` `?`.
fn domain_match(subject: &[u8], pattern: &[u8], ci: bool) -> bool {
    let delim = |c: &u8| matches!(c, b'.' | b':' | b'/' | b'?');
    let start = pattern
        .iter()
        .position(|c| !delim(c))
        .unwrap_or(pattern.len());
    let end = pattern
        .iter()
        .rposition(|c| !delim(c))
        .map_or(start, |e| e + 1);
    let pattern = &pattern[start..end];
    let mut from = 0;
    while let Some(at) = find(subject, pattern, ci, from) {
        let before = at.checked_sub(1).map(|i| subject[i]);
        let after = subject.get(at + pattern.len());
        if before.is_none_or(|c| delim(&c)) && after.is_none_or(delim) {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::domain_match;

    #[test]
    fn hdr_dom_boundaries() {
        for (subject, hit) in [
            ("example.com", true),
            ("www.example.com", true),
            ("example.com:8080", true),
            ("example.com.evil.org", true),
            ("notexample.com", false),
            ("example.community", false),
        ] {
            assert_eq!(
                domain_match(subject.as_bytes(), b"example.com", false),
                hit,
                "{subject}"
            );
        }
        assert!(domain_match(b"WWW.Example.COM:80", b"example.com", true));
        assert!(!domain_match(b"WWW.Example.COM:80", b"example.com", false));
        for odd in [&b""[..], b".", b"a"] {
            let _ = domain_match(odd, b".", true);
        }
    }
}
