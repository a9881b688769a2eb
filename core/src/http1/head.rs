//! The request head: request line and headers.

use super::fields::{FieldChange, Fields};
use super::upgrade::{valid_websocket_key, Switch};

/// Most headers in one request, as haproxy's default `tune.http.maxhdr`.
pub const MAX_HEADERS: usize = 101;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Method token.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// Minor HTTP version: 0 or 1.
    pub minor: u8,
    /// Headers in order, names lower-cased (haproxy's HTX does the same).
    /// `Content-Length` is dropped when the body is chunked.
    pub headers: Fields,
    /// How the body is delimited.
    pub body: BodyFraming,
    /// True when the connection may serve another request afterwards:
    /// never after a head that gave both `Transfer-Encoding` and
    /// `Content-Length` (a smuggling attempt, as haproxy treats it).
    pub keep_alive: bool,
    /// True on `Expect: 100-continue`.
    pub expect_continue: bool,
}

/// Why a head is refused; answered with [`HeadError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The head does not fit in the buffer.
    #[error("request head larger than {0} bytes")]
    TooLarge(usize),
    /// More than [`MAX_HEADERS`] headers.
    #[error("more than {MAX_HEADERS} headers")]
    TooManyHeaders,
    /// The request line or a header is not HTTP/1.x syntax.
    #[error("malformed request head")]
    Malformed,
    /// `Content-Length` values are not one non-negative integer.
    #[error("invalid Content-Length")]
    BadLength,
    /// `Transfer-Encoding` does not end with one `chunked`.
    #[error("invalid Transfer-Encoding")]
    BadTransferEncoding,
    /// `Transfer-Encoding` ends in one `chunked` but names other codings
    /// before it, which haproxy does not decode.
    #[error("unsupported transfer coding")]
    UnsupportedCoding,
    /// A WebSocket handshake without a valid `Sec-WebSocket-Key`.
    #[error("invalid WebSocket key")]
    WebSocketKey,
}

impl HeadError {
    /// The status haproxy answers: 422 for a coding it cannot undo, 400
    /// for the rest.
    pub fn status(self) -> u16 {
        match self {
            Self::UnsupportedCoding => 422,
            _ => 400,
        }
    }
}

/// Parses the head at the start of `buf`. `Ok(None)`: not complete yet;
/// `Ok(Some((head, n)))`: the head took `n` bytes. A head that is not
/// complete within `max` bytes is refused.
pub fn parse_head(buf: &[u8], max: usize) -> Result<Option<(Head, usize)>, HeadError> {
    // Left uninitialised: a head fills only the slots it needs.
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) if n <= max => n,
        Ok(_) if buf.len() >= max => return Err(HeadError::TooLarge(max)),
        Ok(httparse::Status::Complete(_)) => return Err(HeadError::TooLarge(max)),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(_) => return Err(HeadError::Malformed),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed);
    };
    let mut headers = read_fields(req.headers, len);
    let body = framing(&headers)?;
    let mut both_framings = false;
    if body == BodyFraming::Chunked && headers.contains("content-length") {
        headers.rewrite(|name, _| match name {
            "content-length" => FieldChange::Drop,
            _ => FieldChange::Keep,
        });
        both_framings = true;
    }
    let has_token = |name: &str, token: &str| {
        values(&headers, name).any(|v| v.eq_ignore_ascii_case(token.as_bytes()))
    };
    let keep_alive = !both_framings
        && if minor == 0 {
            has_token("connection", "keep-alive")
        } else {
            !has_token("connection", "close")
        };
    let head = Head {
        method: method.to_owned(),
        target: target.to_owned(),
        minor,
        expect_continue: has_token("expect", "100-continue"),
        keep_alive,
        body,
        headers,
    };
    let websocket = head.switch() == Switch::Upgrade { websocket: true };
    if websocket && !valid_websocket_key(&head) {
        return Err(HeadError::WebSocketKey);
    }
    Ok(Some((head, len)))
}

/// The fields httparse found in a head of `len` bytes.
pub(super) fn read_fields(parsed: &[httparse::Header<'_>], len: usize) -> Fields {
    let mut fields = Fields::with_capacity(parsed.len(), len);
    for h in parsed {
        fields.push(h.name, h.value);
    }
    fields
}

/// The comma-separated elements of every `name` header, trimmed.
pub(super) fn values<'a>(headers: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
    headers.all(name).flat_map(elements)
}

/// The comma-separated elements of a field's value, trimmed.
pub(super) fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

/// The body framing, with RFC 9112 §6.3's rules: chunked wins over a
/// length, every length must agree, a transfer coding must end in
/// `chunked`, and haproxy decodes no other.
fn framing(headers: &Fields) -> Result<BodyFraming, HeadError> {
    if let Some(only_chunked) = transfer_codings(headers)? {
        return if only_chunked {
            Ok(BodyFraming::Chunked)
        } else {
            Err(HeadError::UnsupportedCoding)
        };
    }
    let mut length = None;
    for v in values(headers, "content-length") {
        let n = std::str::from_utf8(v)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(HeadError::BadLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(HeadError::BadLength);
        }
        length = Some(n);
    }
    Ok(length.map_or(BodyFraming::Empty, BodyFraming::Length))
}

/// The `Transfer-Encoding` of a message: `None` without one, `Some(true)`
/// for `chunked` alone, `Some(false)` for other codings then `chunked`;
/// an error unless it ends in exactly one `chunked`.
pub(super) fn transfer_codings(headers: &Fields) -> Result<Option<bool>, HeadError> {
    let codings: Vec<&[u8]> = values(headers, "transfer-encoding").collect();
    if codings.is_empty() {
        return Ok(None);
    }
    let chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
    let last_only = codings.iter().filter(|c| chunked(c)).count() == 1
        && codings.last().is_some_and(|c| chunked(c));
    if !last_only {
        return Err(HeadError::BadTransferEncoding);
    }
    Ok(Some(codings.len() == 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<(Head, usize)>, HeadError> {
        parse_head(text.as_bytes(), 15_360)
    }

    fn head(text: &str) -> Head {
        parse(text).expect("valid").expect("complete").0
    }

    #[test]
    fn a_simple_get_keeps_the_connection_alive() {
        let text = "GET /a?b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\nrest";
        let (h, n) = parse(text).expect("valid").expect("complete");
        assert_eq!(n, text.len() - 4);
        assert_eq!(
            (h.method.as_str(), h.target.as_str(), h.minor),
            ("GET", "/a?b", 1)
        );
        assert_eq!(h.headers.iter().nth(1), Some(("x-a", &b"1"[..])));
        assert!(h.keep_alive);
        assert_eq!(h.body, BodyFraming::Empty);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_tokens() {
        assert!(!head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn partial_heads_wait_and_oversized_heads_are_refused() {
        assert_eq!(parse("GET / HTTP/1.1\r\nHost:"), Ok(None));
        let big = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(20_000));
        assert_eq!(parse(&big), Err(HeadError::TooLarge(15_360)));
        let whole = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        assert_eq!(parse(&whole), Err(HeadError::TooLarge(15_360)));
    }

    #[test]
    fn malformed_heads_and_too_many_headers_are_refused() {
        assert_eq!(parse("GARBAGE\r\n\r\n"), Err(HeadError::Malformed));
        assert_eq!(parse("GET / HTTP/2.0\r\n\r\n"), Err(HeadError::Malformed));
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: 1\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(parse(&many), Err(HeadError::TooManyHeaders));
    }

    #[test]
    fn lengths_must_agree() {
        let cl = |v: &str| parse(&format!("POST / HTTP/1.1\r\nContent-Length: {v}\r\n\r\n"));
        assert_eq!(
            cl("12").expect("valid").expect("complete").0.body,
            BodyFraming::Length(12)
        );
        assert_eq!(
            cl("12, 12").expect("valid").expect("complete").0.body,
            BodyFraming::Length(12)
        );
        for bad in ["12, 13", "-1", "+5", "1x", ""] {
            assert_eq!(cl(bad), Err(HeadError::BadLength), "{bad}");
        }
        let twice = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(parse(twice), Err(HeadError::BadLength));
    }

    #[test]
    fn chunked_wins_over_a_length_which_is_dropped() {
        let h = head("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(h.body, BodyFraming::Chunked);
        assert!(h.headers.iter().all(|(n, _)| n != "content-length"));
        assert!(!h.keep_alive, "both framings close the connection after");
        assert!(head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").keep_alive);
    }

    #[test]
    fn transfer_codings_must_end_in_one_chunked() {
        let te = |v: &str, version: &str| {
            parse(&format!(
                "POST / {version}\r\nTransfer-Encoding: {v}\r\n\r\n"
            ))
        };
        assert_eq!(
            te("gzip, chunked", "HTTP/1.1"),
            Err(HeadError::UnsupportedCoding)
        );
        assert_eq!(HeadError::UnsupportedCoding.status(), 422);
        for bad in ["chunked, gzip", "chunked, chunked", "identity", "xchunked"] {
            assert_eq!(
                te(bad, "HTTP/1.1"),
                Err(HeadError::BadTransferEncoding),
                "{bad}"
            );
        }
        // haproxy 2.6 decodes chunked HTTP/1.0 requests too.
        assert_eq!(
            te("chunked", "HTTP/1.0")
                .expect("valid")
                .expect("complete")
                .0
                .body,
            BodyFraming::Chunked
        );
    }

    #[test]
    fn expect_continue_is_seen() {
        assert!(
            head("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
                .expect_continue
        );
    }
}
