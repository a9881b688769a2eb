//! Which responses are compressed, and how their heads change, as
//! haproxy 2.6's compression filter decides: the algorithm is chosen from
//! the request's `Accept-Encoding` (the backend's `compression` lines,
//! else the frontend's), then the response must be a 200 to 203 with a
//! body, not already encoded, not `no-transform`, with one valid ETag at
//! most and a content type the lines allow. The bytes themselves are the
//! driver's to compress.

use crate::config::haproxy::{CompAlgo, Compression, Proxy};
use crate::http_rules::{Edit, ResponseDraft};
use crate::route::RequestHead;

/// The `compression` lines that apply to a stream: the backend's, else
/// the frontend's.
fn lines<'p>(fe: &'p Proxy, be: &'p Proxy) -> Option<&'p Compression> {
    be.compression.as_ref().or(fe.compression.as_ref())
}

/// The algorithm a request on `fe` to `be` gets its response compressed
/// with, if any, and the edits `compression offload` makes to it.
pub(super) fn for_request(
    fe: &Proxy,
    be: &Proxy,
    head: &RequestHead<'_>,
) -> (Option<CompAlgo>, Vec<Edit>) {
    let Some(comp) = lines(fe, be).filter(|c| !c.algos.is_empty()) else {
        return (None, Vec::new());
    };
    if head.method == "HEAD" || head.around.http10 || old_browser(head.values("user-agent").next())
    {
        return (None, Vec::new());
    }
    let algo = by_accept_encoding(comp, head).or_else(|| {
        comp.algos
            .iter()
            .copied()
            .find(|a| *a == CompAlgo::Identity)
    });
    let offload = [fe, be]
        .iter()
        .any(|p| p.compression.as_ref().is_some_and(|c| c.offload));
    let edits = match (algo, offload) {
        (Some(_), true) => vec![Edit::Del("accept-encoding".into())],
        _ => Vec::new(),
    };
    (algo, edits)
}

/// "Mozilla/4" agents but MSIE 6 SP2 and later, which haproxy never
/// compresses for.
fn old_browser(agent: Option<&str>) -> bool {
    let Some(ua) = agent.map(str::as_bytes) else {
        return false;
    };
    if ua.len() < 9 || &ua[..9] != b"Mozilla/4" {
        return false;
    }
    ua.len() < 31
        || &ua[25..30] != b"MSIE "
        || ua[30] < b'6'
        || (ua[30] == b'6' && (ua.len() < 54 || &ua[51..54] != b"SV1"))
}

/// The algorithm the `Accept-Encoding` values prefer (highest q, first
/// seen on ties), among `comp`'s.
fn by_accept_encoding(comp: &Compression, head: &RequestHead<'_>) -> Option<CompAlgo> {
    let values = head
        .values("accept-encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim);
    let mut best: Option<(u32, CompAlgo)> = None;
    for value in values {
        let token_len = value
            .find(|c: char| !is_token_char(c))
            .unwrap_or(value.len());
        let (token, params) = value.split_at(token_len);
        let q = qvalue(params);
        if best.is_some_and(|(best_q, _)| q <= best_q) || q == 0 {
            continue;
        }
        let matching = comp
            .algos
            .iter()
            .find(|a| token.starts_with('*') || token.eq_ignore_ascii_case(a.token()));
        if let Some(algo) = matching {
            best = Some((q, *algo));
        }
    }
    best.map(|(_, algo)| algo)
}

/// An HTTP token character.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The `q=` of a value's parameters (`;q=0.5`), in thousandths: 1000
/// without one.
fn qvalue(params: &str) -> u32 {
    let Some(q) = params
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("q="))
    else {
        return 1000;
    };
    let digits = q.as_bytes();
    let digit = |i: usize| {
        digits
            .get(i)
            .filter(|d| d.is_ascii_digit())
            .map(|d| u32::from(d - b'0'))
    };
    let Some(units) = digit(0) else {
        return 1000;
    };
    let mut value = units * 1000;
    if digits.get(1) == Some(&b'.') {
        for (at, weight) in [(2, 100), (3, 10), (4, 1)] {
            match digit(at) {
                Some(d) => value += d * weight,
                None => break,
            }
        }
    }
    value.min(1000)
}

/// The edits that compress `res` (as response rules left it) with
/// `algo`, on `fe` to `be`; `None` when it is not compressed.
pub(super) fn for_response(
    (fe, be): (&Proxy, &Proxy),
    algo: CompAlgo,
    res: &ResponseDraft,
) -> Option<Vec<Edit>> {
    let comp = lines(fe, be)?;
    let values = |name| res.values(name);
    let status = res.status;
    // A body ending at the server's close has no length to go by.
    let framed =
        values("content-length").next().is_some() || values("transfer-encoding").next().is_some();
    if !(200..=203).contains(&status) || !framed || values("content-encoding").next().is_some() {
        return None;
    }
    let no_transform = values("cache-control")
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"));
    let etags: Vec<&str> = values("etag").collect();
    if no_transform || etags.len() > 1 || etags.first().is_some_and(|e| !valid_etag(e)) {
        return None;
    }
    match values("content-type").next() {
        Some(t) if starts_with_ignore_case(t, "multipart") => return None,
        Some(t) if !comp.types.is_empty() => {
            comp.types.iter().find(|c| starts_with_ignore_case(t, c))?;
        }
        None if !comp.types.is_empty() => return None,
        _ => {}
    }
    // In the order haproxy 2.6.12 leaves them: the ETag weakened where it
    // stands, then chunks, `Vary` and the encoding at the end.
    let mut edits = vec![Edit::Del("content-length".into())];
    if let Some(strong) = etags.first().filter(|e| e.starts_with('"')) {
        edits.push(Edit::Rewrite("etag".into(), vec![format!("W/{strong}")]));
    }
    if values("transfer-encoding").next().is_none() {
        edits.push(Edit::Add("transfer-encoding".into(), "chunked".into()));
    }
    edits.push(Edit::Add("vary".into(), "Accept-Encoding".into()));
    if algo != CompAlgo::Identity {
        edits.push(Edit::Add("content-encoding".into(), algo.token().into()));
    }
    Some(edits)
}

/// `text` begins with `prefix`, in any case.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// A strong (`"x"`) or weak (`W/"x"`) entity tag.
fn valid_etag(value: &str) -> bool {
    let quoted = value.strip_prefix("W/").unwrap_or(value);
    quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::{parse, ParseOptions};
    use crate::http_rules::Room;
    use crate::sample::HeaderView;

    fn proxies(lines: &str) -> Vec<Proxy> {
        let text = format!("defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nlisten li\n  bind :80\n{lines}  server s 127.0.0.1:81\n");
        let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
        parsed.config.expect("valid").proxies
    }

    fn request(headers: &[(&str, &str)]) -> RequestHead<'static> {
        let headers: &'static [(&'static str, &'static str)] = Box::leak(
            headers
                .iter()
                .map(|(n, v)| (&*String::from(*n).leak(), &*String::from(*v).leak()))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        RequestHead {
            method: "GET",
            uri: "/",
            headers: HeaderView::Pairs(headers),
            ..RequestHead::connection([127, 0, 0, 1].into(), b"")
        }
    }

    #[test]
    fn the_highest_q_wins_and_the_last_configured_answers_a_star() {
        let p = proxies("  compression algo gzip deflate\n");
        let choose = |ae: &str| for_request(&p[0], &p[0], &request(&[("Accept-Encoding", ae)])).0;
        assert_eq!(choose("gzip, deflate"), Some(CompAlgo::Gzip));
        assert_eq!(choose("gzip;q=0.5, deflate"), Some(CompAlgo::Deflate));
        assert_eq!(choose("*"), Some(CompAlgo::Deflate));
        assert_eq!(choose("br"), None);
        assert_eq!(choose("gzip;q=0"), None);
        let old = request(&[
            ("Accept-Encoding", "gzip"),
            ("User-Agent", "Mozilla/4.0 (compatible)"),
        ]);
        assert_eq!(for_request(&p[0], &p[0], &old).0, None, "an old browser");
    }

    #[test]
    fn offload_drops_accept_encoding_and_identity_needs_no_header() {
        let p = proxies("  compression algo identity gzip\n  compression offload\n");
        let (algo, edits) = for_request(&p[0], &p[0], &request(&[("Accept-Encoding", "gzip")]));
        assert_eq!(algo, Some(CompAlgo::Gzip));
        assert_eq!(edits, [Edit::Del("accept-encoding".into())]);
        assert_eq!(
            for_request(&p[0], &p[0], &request(&[])).0,
            Some(CompAlgo::Identity)
        );
    }

    #[test]
    fn a_response_is_compressed_as_haproxy_rewrites_its_head() {
        let p = proxies("  compression algo gzip\n  compression type text/html text/plain\n");
        let plan = |status, pairs: &[(&str, &str)]| {
            let head = pairs.iter().copied().collect();
            let res = ResponseDraft::received(status, head, Room::default());
            for_response((&p[0], &p[0]), CompAlgo::Gzip, &res)
        };
        let html = [
            ("content-type", "text/HTML; charset=utf-8"),
            ("content-length", "900"),
            ("etag", "\"v1\""),
        ];
        assert_eq!(
            plan(200, &html),
            Some(vec![
                Edit::Del("content-length".into()),
                Edit::Rewrite("etag".into(), vec!["W/\"v1\"".into()]),
                Edit::Add("transfer-encoding".into(), "chunked".into()),
                Edit::Add("vary".into(), "Accept-Encoding".into()),
                Edit::Add("content-encoding".into(), "gzip".into()),
            ])
        );
        assert_eq!(plan(404, &html), None, "only 200 to 203");
        assert_eq!(
            plan(200, &[("content-type", "image/png")]),
            None,
            "not a listed type"
        );
        assert_eq!(plan(200, &[]), None, "no type when types are listed");
        assert_eq!(
            plan(
                200,
                &[("content-type", "text/plain"), ("content-encoding", "br")]
            ),
            None
        );
        assert_eq!(
            plan(
                200,
                &[
                    ("content-type", "text/plain"),
                    ("cache-control", "public, no-transform")
                ]
            ),
            None
        );
        assert_eq!(
            plan(200, &[("content-type", "text/plain"), ("etag", "v1")]),
            None,
            "a malformed ETag"
        );
    }
}
