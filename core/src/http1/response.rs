//! A server's response head: status, headers, how the body is delimited,
//! and whether the connection may carry another request.

use super::fields::Fields;
use super::head::{elements, read_fields, transfer_codings};

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub code: u16,
    /// Reason phrase as sent.
    pub reason: String,
    /// Headers in order, names lower-cased.
    pub headers: Fields,
    /// How the body is delimited.
    pub body: ResponseFraming,
    /// True when the connection may serve another request.
    pub keep_alive: bool,
    /// Its framing calls for closing the client connection after it too:
    /// `Transfer-Encoding` in an HTTP/1.0 answer, or beside a
    /// `Content-Length` (RFC 9112 §6.1, as haproxy).
    pub suspect_framing: bool,
}

/// Why a response head is refused (the server's answer is broken: 502).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid response head")]
pub struct ResponseError;

/// Parses the response head at the start of `buf`, answering a request
/// that was (`head_request`) a HEAD. `Ok(None)`: incomplete.
pub fn parse_response_head(
    buf: &[u8],
    head_request: bool,
) -> Result<Option<(ResponseHead, usize)>, ResponseError> {
    // Left uninitialised, as a request's: an answer fills only the slots
    // it needs.
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; super::MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ResponseError),
    };
    let (Some(code), Some(minor)) = (resp.code, resp.version) else {
        return Err(ResponseError);
    };
    let headers = read_fields(resp.headers, len);
    let facts = Facts::of(&headers);
    let keep_alive = if minor == 0 {
        facts.keep_alive
    } else {
        !facts.close
    };
    let chunked = transfer_codings(&headers)
        .map_err(|_| ResponseError)?
        .is_some();
    let suspect_framing = chunked && (minor == 0 || facts.has_length);
    let length = facts.length;
    let body = if head_request || matches!(code, 100..=199 | 204 | 304) {
        ResponseFraming::Empty
    } else if chunked {
        ResponseFraming::Chunked
    } else if let Some(n) = length {
        ResponseFraming::Length(n)
    } else {
        ResponseFraming::UntilClose
    };
    Ok(Some((
        ResponseHead {
            code,
            reason: resp.reason.unwrap_or("").to_owned(),
            headers,
            body,
            keep_alive: keep_alive && !suspect_framing,
            suspect_framing,
        },
        len,
    )))
}

/// What an answer's `connection` and `content-length` fields say, read
/// in one pass over its fields (every answer is read so).
#[derive(Debug, Default)]
struct Facts {
    /// A `connection` field holds `close`.
    close: bool,
    /// A `connection` field holds `keep-alive`.
    keep_alive: bool,
    /// A `content-length` field is there.
    has_length: bool,
    /// The first element of the first one, when it is a number.
    length: Option<u64>,
}

impl Facts {
    fn of(headers: &Fields) -> Self {
        let mut facts = Self::default();
        for (name, value) in headers.iter() {
            match name {
                "connection" => {
                    for token in elements(value) {
                        facts.close |= token.eq_ignore_ascii_case(b"close");
                        facts.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                    }
                }
                "content-length" if !facts.has_length => {
                    facts.has_length = true;
                    let first = elements(value).next();
                    facts.length = first.and_then(|v| std::str::from_utf8(v).ok()?.parse().ok());
                }
                _ => {}
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, head: bool) -> ResponseHead {
        parse_response_head(text.as_bytes(), head)
            .expect("valid")
            .expect("complete")
            .0
    }

    #[test]
    fn framing_follows_the_method_status_and_headers() {
        let r = parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false);
        assert_eq!(
            (r.code, r.body, r.keep_alive),
            (200, ResponseFraming::Length(3), true)
        );
        assert_eq!(
            parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", true).body,
            ResponseFraming::Empty
        );
        assert_eq!(
            parse("HTTP/1.1 204 No Content\r\n\r\n", false).body,
            ResponseFraming::Empty
        );
        let both = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n",
            false,
        );
        assert_eq!(
            (both.body, both.keep_alive, both.suspect_framing),
            (ResponseFraming::Chunked, false, true)
        );
        let old_chunked = parse(
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
        );
        assert_eq!(
            (old_chunked.body, old_chunked.suspect_framing),
            (ResponseFraming::Chunked, true)
        );
        let old = parse("HTTP/1.0 200 OK\r\n\r\n", false);
        assert_eq!(
            (old.body, old.keep_alive),
            (ResponseFraming::UntilClose, false)
        );
        assert!(
            !parse(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                false
            )
            .keep_alive
        );
        assert_eq!(parse("HTTP/1.1 599 Odd\r\n\r\n", false).reason, "Odd");
    }

    #[test]
    fn transfer_codings_must_end_in_one_chunked() {
        for bad in [
            "chunked, chunked",
            "chunked, gzip, chunked",
            "chunked, gzip",
            "gzip",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {bad}\r\n\r\n");
            assert_eq!(
                parse_response_head(text.as_bytes(), false),
                Err(ResponseError),
                "{bad}"
            );
        }
    }

    #[test]
    fn garbage_and_partial_heads() {
        assert_eq!(
            parse_response_head(b"NOT HTTP\r\n\r\n", false),
            Err(ResponseError)
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nX:", false),
            Ok(None)
        );
    }

    #[test]
    fn heads_of_many_fields_parse_up_to_the_limit() {
        let head = |fields: usize| format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: 1\r\n".repeat(fields));
        let all = parse(&head(crate::http1::MAX_HEADERS), false);
        assert_eq!(all.headers.all("x").count(), crate::http1::MAX_HEADERS);
        assert_eq!(
            parse_response_head(head(crate::http1::MAX_HEADERS + 1).as_bytes(), false),
            Err(ResponseError)
        );
    }
}
