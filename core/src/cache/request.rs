//! What `http-request cache-use` reads of a request: its key, and
//! whether the cache may answer it or keep its response.

use super::headers::{first, has, starts_with_ignore_case, values, Pairs};
use super::vary::SecondaryKey;
use crate::http_date::parse_http_date;

/// A request as the cache sees it, taken when `cache-use` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRequest {
    /// The cache the rule names.
    pub cache: String,
    /// The rule's proxy is the stream's frontend (its lookups count
    /// there; else on the backend).
    pub on_frontend: bool,
    /// The primary key: the absolute URI (`https://` and the `Host`
    /// before a relative one). `None` without a `Host`.
    pub key: Option<String>,
    /// The request may not be answered from the cache, nor its response
    /// kept (not HTTP/1.1 GET or HEAD, `Authorization`, a
    /// `Cache-Control` asking for a fresh answer).
    pub ignore: bool,
    /// Its response may be kept (`no-store` says no).
    pub cacheable: bool,
    /// The method.
    pub method: String,
    /// The key of every header `process-vary` knows (`None`: too many
    /// encodings to trust), for a response that varies on them.
    pub secondary: Option<SecondaryKey>,
    /// Its conditions, for a `304 Not Modified` from the cache.
    pub conditions: Conditions,
}

/// A request's `If-None-Match` values and `If-Modified-Since` date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Every `If-None-Match` value, in order.
    pub none_match: Vec<String>,
    /// `If-Modified-Since`, in seconds since the epoch.
    pub modified_since: Option<i64>,
}

impl CacheRequest {
    /// What `cache-use` for cache `cache` reads of a request with
    /// `method`, `uri` and `headers` (`http11`: sent as HTTP/1.1).
    pub fn read(
        cache: &str,
        on_frontend: bool,
        (method, uri, headers): (&str, &str, Pairs<'_>),
        http11: bool,
    ) -> Self {
        let safe = matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE");
        let mut cacheable = safe;
        let mut ignore = !http11 || !matches!(method, "GET" | "HEAD");
        if cacheable || !ignore {
            let pragma =
                first(headers, "pragma").is_some_and(|v| v.eq_ignore_ascii_case("no-cache"));
            if has(headers, "authorization") {
                cacheable = false;
                ignore = true;
            }
            let mut cache_control = false;
            for v in values(headers, "cache-control") {
                cache_control = true;
                let fresh = ["max-age", "no-cache", "max-stale", "min-fresh"];
                if fresh.iter().any(|d| starts_with_ignore_case(v, d)) {
                    ignore = true;
                } else if starts_with_ignore_case(v, "no-store") {
                    cacheable = false;
                }
            }
            ignore |= !cache_control && pragma;
        }
        let key = if uri.starts_with('/') || uri == "*" {
            first(headers, "host").map(|host| format!("https://{host}{uri}"))
        } else {
            Some(uri.to_owned())
        };
        Self {
            cache: cache.to_owned(),
            on_frontend,
            key: key.filter(|_| !uri.is_empty()),
            ignore,
            cacheable,
            method: method.to_owned(),
            secondary: SecondaryKey::of_request(headers, u8::MAX),
            conditions: Conditions {
                none_match: values(headers, "if-none-match")
                    .map(str::to_owned)
                    .collect(),
                modified_since: first(headers, "if-modified-since").and_then(parse_http_date),
            },
        }
    }

    /// True when the cache is looked in for it.
    pub fn looks_up(&self) -> bool {
        self.key.is_some() && !self.ignore
    }
}

impl Conditions {
    /// True when a stored response with `etag` and `last_modified` is
    /// answered `304 Not Modified`: an `If-None-Match` matches it (or is
    /// `*`), or, without one, it is no newer than `If-Modified-Since`.
    pub fn not_modified(&self, etag: Option<&str>, last_modified: i64) -> bool {
        if !self.none_match.is_empty() {
            for v in &self.none_match {
                if v == "*" {
                    return true;
                }
                let Some(etag) = etag else { return false };
                if weak_match(etag, v) {
                    return true;
                }
            }
            return false;
        }
        self.modified_since
            .is_some_and(|since| last_modified <= since)
    }
}

/// The weak comparison of two entity tags (RFC 9110 §8.8.3.2).
fn weak_match(a: &str, b: &str) -> bool {
    let opaque = |t: &str| t.trim().strip_prefix("W/").unwrap_or(t.trim()).to_owned();
    let (a, b) = (opaque(a), opaque(b));
    a.len() >= 2 && a.starts_with('"') && a.ends_with('"') && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(method: &str, uri: &str, headers: Pairs<'_>) -> CacheRequest {
        CacheRequest::read("c", true, (method, uri, headers), true)
    }

    #[test]
    fn the_key_is_the_absolute_uri() {
        let r = read("GET", "/a?b", &[("Host", "example.com")]);
        assert_eq!(r.key.as_deref(), Some("https://example.com/a?b"));
        assert!(r.looks_up());
        let abs = read("GET", "http://x/y", &[]);
        assert_eq!(abs.key.as_deref(), Some("http://x/y"));
        assert_eq!(read("GET", "/", &[]).key, None);
    }

    #[test]
    fn requests_that_want_a_fresh_answer_skip_the_cache() {
        let host = ("host", "h");
        for h in [
            ("cache-control", "no-cache"),
            ("Cache-Control", "max-age=0"),
            ("pragma", "no-cache"),
            ("authorization", "Basic eDp5"),
        ] {
            assert!(!read("GET", "/", &[host, h]).looks_up(), "{h:?}");
        }
        let no_store = read("GET", "/", &[host, ("cache-control", "no-store")]);
        assert!(no_store.looks_up() && !no_store.cacheable);
        // Cache-Control present: Pragma is not read.
        let both = read(
            "GET",
            "/",
            &[
                host,
                ("pragma", "no-cache"),
                ("cache-control", "no-transform"),
            ],
        );
        assert!(both.looks_up());
        assert!(!read("POST", "/", &[host]).looks_up());
        let old = CacheRequest::read("c", true, ("GET", "/", &[host]), false);
        assert!(!old.looks_up());
    }

    #[test]
    fn conditions_answer_304_as_haproxy_does() {
        let c = |none_match: &[&str], since| Conditions {
            none_match: none_match.iter().map(|s| s.to_string()).collect(),
            modified_since: since,
        };
        assert!(c(&["\"x\"", "W/\"abc\""], None).not_modified(Some("\"abc\""), 0));
        assert!(c(&["*"], None).not_modified(None, 0));
        assert!(!c(&["\"x\""], Some(100)).not_modified(Some("\"abc\""), 50));
        assert!(c(&[], Some(100)).not_modified(None, 100));
        assert!(!c(&[], Some(100)).not_modified(None, 101));
    }
}
