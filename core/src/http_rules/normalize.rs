//! `http-request normalize-uri`: haproxy 2.6's URI normalizers, each on
//! the part of the target it works on (the path, the query, or both).

use crate::config::haproxy::Normalizer;

/// A `%` not followed by two hexadecimal digits, under `strict`: the
/// request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Invalid;

/// The path and query `pq` (starting at `/`) after `normalizer`.
pub(super) fn normalize(normalizer: Normalizer, pq: &str) -> Result<String, Invalid> {
    let (path, query) = match pq.find('?') {
        Some(i) => (&pq[..i], &pq[i..]),
        None => (pq, ""),
    };
    Ok(match normalizer {
        Normalizer::MergeSlashes => merge_slashes(path) + query,
        Normalizer::StripDot => strip_dot(path) + query,
        Normalizer::StripDotdot { full } => strip_dotdot(path, full) + query,
        Normalizer::SortQuery if query.is_empty() => pq.to_owned(),
        Normalizer::SortQuery => format!("{path}{}", sort_query(query)),
        Normalizer::PercentUpper { strict } => {
            percent(pq, strict, |_, hex| hex.to_ascii_uppercase())?
        }
        Normalizer::PercentDecode { strict } => {
            percent(pq, strict, |c, hex| match unreserved(c) {
                true => (c as char).to_string(),
                false => hex.to_owned(),
            })?
        }
        Normalizer::FragmentStrip => pq.split('#').next().unwrap_or("").to_owned(),
        Normalizer::FragmentEncode => pq.replace('#', "%23"),
    })
}

/// `//` and longer runs of slashes become one.
fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// `.` segments go.
fn strip_dot(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = String::with_capacity(path.len());
    for (i, segment) in segments.iter().enumerate() {
        if *segment == "." {
            continue;
        }
        out.push_str(segment);
        if i + 1 < segments.len() {
            out.push('/');
        }
    }
    out
}

/// Each `..` segment takes the segment before it away; those left over
/// stay in front (`/../`), unless `full`.
fn strip_dotdot(path: &str, full: bool) -> String {
    let bytes = path.as_bytes();
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut up = 0;
    let mut offset = bytes.len() as isize - 1;
    if bytes.ends_with(b"/..") {
        up += 1;
        offset -= 2;
    }
    let at = |i: isize| bytes[i as usize];
    while offset >= 0 {
        let o = offset as usize;
        if offset >= 3 && &bytes[o - 3..=o] == b"/../" {
            up += 1;
            offset -= 3;
            continue;
        }
        if up > 0 {
            offset -= 1;
            if offset >= 0 {
                up -= 1;
                while offset >= 0 && at(offset) != b'/' {
                    offset -= 1;
                }
            }
        } else {
            let end = o + 1;
            offset -= 1;
            while offset >= 0 && at(offset) != b'/' {
                offset -= 1;
            }
            kept.push(&bytes[(offset + 1) as usize..end]);
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if up > 0 {
        if !full {
            for _ in 0..up {
                out.extend_from_slice(b"/..");
            }
        }
        out.push(b'/');
    }
    for part in kept.iter().rev() {
        out.extend_from_slice(part);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The parameters of `query` (with its `?`) sorted by name, those of
/// one name in their order.
fn sort_query(query: &str) -> String {
    let mut params: Vec<&str> = query[1..].split('&').collect();
    params.sort_by_key(|p| p.split('=').next().unwrap_or(""));
    format!("?{}", params.join("&"))
}

/// Each `%XX` of `text` as `with` writes it (given the byte it encodes
/// and its three characters); a `%` without two hex digits stays, or,
/// under `strict`, makes the request invalid.
fn percent(text: &str, strict: bool, with: impl Fn(u8, &str) -> String) -> Result<String, Invalid> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let encoded = rest
            .get(i..i + 3)
            .filter(|e| e[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        match encoded {
            Some(e) => {
                let byte = u8::from_str_radix(&e[1..], 16).map_err(|_| Invalid)?;
                out.push_str(&with(byte, e));
                rest = &rest[i + 3..];
            }
            None if strict => return Err(Invalid),
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// RFC 3986's unreserved characters.
fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(normalizer: Normalizer, pq: &str) -> String {
        normalize(normalizer, pq).expect("valid")
    }

    #[test]
    fn paths_normalize_as_haproxy_normalizes_them() {
        assert_eq!(
            n(Normalizer::MergeSlashes, "///foo///bar///?a=//"),
            "/foo/bar/?a=//"
        );
        assert_eq!(n(Normalizer::StripDot, "/./a/./b/."), "/a/b/");
        let dotdot = |full, pq| n(Normalizer::StripDotdot { full }, pq);
        assert_eq!(dotdot(false, "/foo/.."), "/");
        assert_eq!(dotdot(false, "/foo/bar/../"), "/foo/");
        assert_eq!(dotdot(false, "/foo/../../bar/"), "/../bar/");
        assert_eq!(dotdot(true, "/foo/../../bar/"), "/bar/");
        assert_eq!(dotdot(false, "/foo//../../bar/"), "/bar/");
        assert_eq!(dotdot(false, "/foo/../?bar=/foo/../"), "/?bar=/foo/../");
    }

    #[test]
    fn queries_sort_by_name_keeping_the_order_of_equal_names() {
        assert_eq!(
            n(Normalizer::SortQuery, "/?a=5&b=3&a=1&a=2&b=4"),
            "/?a=5&a=1&a=2&b=3&b=4"
        );
        assert_eq!(
            n(Normalizer::SortQuery, "/?aaaa=&a=&aa=&aaa="),
            "/?a=&aa=&aaa=&aaaa="
        );
        assert_eq!(n(Normalizer::SortQuery, "/?"), "/?");
    }

    #[test]
    fn percent_encodings_are_uppercased_or_decoded() {
        assert_eq!(
            n(Normalizer::PercentUpper { strict: false }, "/%aa?a=%zz"),
            "/%AA?a=%zz"
        );
        assert_eq!(
            normalize(Normalizer::PercentUpper { strict: true }, "/%zz"),
            Err(Invalid)
        );
        let decode = Normalizer::PercentDecode { strict: false };
        assert_eq!(n(decode, "/%61%2F%7e"), "/a%2F~");
        assert_eq!(n(Normalizer::FragmentEncode, "/a#b"), "/a%23b");
        assert_eq!(n(Normalizer::FragmentStrip, "/a?b#c"), "/a?b");
    }
}
