//! What `http-response cache-store` reads of a response: whether it may
//! be kept, for how long, and what a later conditional request is
//! compared with.

use super::headers::{first, starts_with_ignore_case, values, Pairs};
use super::vary::{signature, SecondaryKey};
use super::CacheRequest;
use crate::http_date::parse_http_date;

/// The most an `Age` is taken as, in seconds.
const MAX_AGE_HEADER: i64 = 2_147_483_648;

/// A response the cache will keep, as read when `cache-store` ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storable {
    /// Seconds it stays fresh in this cache.
    pub max_age: u32,
    /// Its `Age` when it came (the header is not kept).
    pub age: u32,
    /// `Last-Modified` (else `Date`, else now), seconds since the epoch.
    pub last_modified: i64,
    /// Its last `ETag`.
    pub etag: Option<String>,
    /// The headers its variants are told apart by (0: none), and this
    /// variant's key.
    pub vary: (u8, Option<SecondaryKey>),
    /// Its headers as kept (without `Age`).
    pub headers: Vec<(String, String)>,
}

/// Why a response is not kept (for tests and traces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// Not an HTTP/1.1 GET with a key, or the request asked not to.
    Request,
    /// Not a 200.
    Status,
    /// Its `Content-Length` is over the cache's object size.
    TooBig,
    /// It varies on a header haproxy does not know, or the cache does
    /// not process `Vary`.
    Vary,
    /// Its headers forbid it, or it has neither an expiry nor a
    /// validator.
    Uncacheable,
    /// Its `Age` is not a positive number, or is past its max age.
    Age,
    /// Its head is larger than a buffer's room.
    HeadTooBig,
}

/// The settings of the cache a response is read for.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// `max-age`.
    pub max_age: u32,
    /// `max-object-size`.
    pub max_object: u64,
    /// `process-vary`.
    pub process_vary: bool,
    /// The most a response head may take (haproxy's buffer less its
    /// room for rewrites).
    pub max_head: usize,
}

/// Reads a response with `status` and `headers` to a request `req` for
/// a cache with `limits`, at `unix_now`.
pub fn read_response(
    req: &CacheRequest,
    (status, headers): (u16, Pairs<'_>),
    limits: CacheLimits,
    unix_now: i64,
) -> Result<Storable, NotStored> {
    if req.ignore || req.method != "GET" || req.key.is_none() {
        return Err(NotStored::Request);
    }
    if status != 200 {
        return Err(NotStored::Status);
    }
    let head_size: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum();
    let length = first(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n + head_size as u64 > limits.max_object) {
        return Err(NotStored::TooBig);
    }
    let sig = match limits.process_vary {
        true => signature(headers).ok_or(NotStored::Vary)?,
        false if first(headers, "vary").is_some() => return Err(NotStored::Vary),
        false => 0,
    };
    let secondary = match sig {
        0 => None,
        _ => Some(req.secondary.ok_or(NotStored::Vary)?.reduced(sig)),
    };
    if !req.cacheable || !cacheable(headers) {
        return Err(NotStored::Uncacheable);
    }
    let (max_age, explicit) = max_age(headers, limits.max_age, unix_now);
    let mut age = 0;
    if let Some(v) = first(headers, "age") {
        let n = v
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(NotStored::Age)?;
        let n = n.min(MAX_AGE_HEADER);
        if n > explicit {
            return Err(NotStored::Age);
        }
        age = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if head_size > limits.max_head {
        return Err(NotStored::HeadTooBig);
    }
    let secondary = match secondary {
        Some(key) => Some(key.with_response_encoding(headers).ok_or(NotStored::Vary)?),
        None => None,
    };
    let date = |name| first(headers, name).and_then(parse_http_date);
    Ok(Storable {
        max_age,
        age,
        last_modified: date("last-modified")
            .or_else(|| date("date"))
            .unwrap_or(unix_now),
        etag: headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case("etag"))
            .map(|(_, v)| v.trim().to_owned()),
        vary: (sig, secondary),
        headers: headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("age"))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    })
}

/// True when a response's headers let a shared cache keep it: no
/// `private`, `no-cache` or `no-store` (nor `Pragma: no-cache`), and an
/// expiry or a validator (RFC 9111 §3).
fn cacheable(headers: Pairs<'_>) -> bool {
    if first(headers, "pragma").is_some_and(|v| v.eq_ignore_ascii_case("no-cache")) {
        return false;
    }
    let (mut allowed, mut fresh) = (true, false);
    for v in values(headers, "cache-control") {
        let refuses = ["private", "no-cache", "no-store", "max-age=0", "s-maxage=0"];
        if v.eq_ignore_ascii_case("public") {
            allowed = true;
        } else if refuses.iter().any(|r| v.eq_ignore_ascii_case(r))
            || starts_with_ignore_case(v, "no-cache=\"set-cookie")
        {
            allowed = false;
        } else if starts_with_ignore_case(v, "s-maxage") || starts_with_ignore_case(v, "max-age") {
            fresh = true;
        }
    }
    let dated = || first(headers, "expires").is_some();
    let validated =
        || first(headers, "etag").is_some() || first(headers, "last-modified").is_some();
    allowed && (fresh || dated() || validated())
}

/// How long a response stays in a cache whose `max-age` is `limit`, and
/// how long it says it stays fresh (its `s-maxage`, `max-age` or
/// `Expires`; 0 when it says nothing), in seconds.
fn max_age(headers: Pairs<'_>, limit: u32, unix_now: i64) -> (u32, i64) {
    let (mut shared, mut private) = (None, None);
    for v in values(headers, "cache-control") {
        for (name, slot) in [("s-maxage", &mut shared), ("max-age", &mut private)] {
            if let Some(n) = directive(v, name) {
                // A value that is not a number: the response is stale.
                *slot = Some(n.unwrap_or(-1));
            }
        }
    }
    let expires = match (shared, private) {
        (None, None) => first(headers, "expires")
            .map(|v| parse_http_date(v).map_or(0, |at| (at - unix_now).max(0))),
        _ => None,
    };
    let explicit = [shared, private]
        .into_iter()
        .flatten()
        .find(|n| *n != 0)
        .or(expires.filter(|n| *n >= 0));
    match explicit {
        Some(n) if n < 0 => (0, 0),
        Some(n) => (n.min(i64::from(limit)) as u32, n),
        None => (limit, 0),
    }
}

/// The number `name=N` (or `name="N"`) gives, when `value` is that
/// directive: `Some(None)` when it is not a number.
fn directive(value: &str, name: &str) -> Option<Option<i64>> {
    if !starts_with_ignore_case(value, name) {
        return None;
    }
    let rest = value[name.len()..].strip_prefix('=')?;
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some(rest[..digits].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CacheLimits = CacheLimits {
        max_age: 20,
        max_object: 3072,
        process_vary: false,
        max_head: 15_360,
    };

    fn get() -> CacheRequest {
        CacheRequest::read("c", true, ("GET", "/", &[("host", "h")]), true)
    }

    fn read(headers: Pairs<'_>) -> Result<Storable, NotStored> {
        read_response(&get(), (200, headers), LIMITS, 1_000)
    }

    #[test]
    fn an_expiry_or_a_validator_makes_a_response_storable() {
        assert_eq!(
            read(&[("cache-control", "max-age=5")]).map(|s| s.max_age),
            Ok(5)
        );
        assert_eq!(
            read(&[("cache-control", "s-maxage=50")]).map(|s| s.max_age),
            Ok(20)
        );
        let tag = read(&[("etag", "\"e\"")]).expect("a validator");
        assert_eq!((tag.max_age, tag.etag.as_deref()), (20, Some("\"e\"")));
        assert_eq!(read(&[]), Err(NotStored::Uncacheable));
        assert_eq!(
            read(&[("cache-control", "max-age=5"), ("cache-control", "private")]),
            Err(NotStored::Uncacheable)
        );
        let expires = read(&[("expires", "Thu, 01 Jan 1970 00:16:45 GMT")]).expect("dated");
        assert_eq!(expires.max_age, 5);
    }

    #[test]
    fn an_age_must_be_positive_and_within_the_max_age() {
        let cc = ("cache-control", "max-age=5");
        assert_eq!(read(&[cc, ("age", "abc")]), Err(NotStored::Age));
        assert_eq!(read(&[cc, ("age", "10")]), Err(NotStored::Age));
        let good = read(&[("cache-control", "max-age=500"), ("age", "100")]).expect("kept");
        assert_eq!((good.age, good.max_age), (100, 20));
        assert!(good.headers.iter().all(|(n, _)| n != "age"));
    }

    #[test]
    fn big_vary_and_non_200_responses_are_not_kept() {
        let cc = ("cache-control", "max-age=5");
        assert_eq!(
            read(&[cc, ("content-length", "4000")]),
            Err(NotStored::TooBig)
        );
        assert_eq!(
            read(&[cc, ("vary", "accept-encoding")]),
            Err(NotStored::Vary)
        );
        let vary = CacheLimits {
            process_vary: true,
            ..LIMITS
        };
        let kept = read_response(&get(), (200, &[cc, ("vary", "accept-encoding")]), vary, 0);
        assert_eq!(kept.map(|s| s.vary.0), Ok(1));
        assert_eq!(
            read_response(&get(), (404, &[cc]), LIMITS, 0),
            Err(NotStored::Status)
        );
    }
}
