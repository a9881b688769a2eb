//! Writing a response to the client as haproxy's HTX does: lower-case
//! header names, the length recomputed from the whole body, the
//! connection's own headers replaced by ours.

use crate::forward::{canonical_reason, Answer};
use bytes::Bytes;
use haven_core::proxy::{closes_connection, error_body, error_reason};
use std::io::Write;

/// A response ready for the socket.
#[derive(Debug)]
pub(crate) struct Wire {
    /// Status line, headers and body.
    pub(crate) bytes: Vec<u8>,
    /// True when the connection closes after it.
    pub(crate) close: bool,
}

/// How the request that is answered was made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Manner {
    /// A `HEAD` request: the body is left out, the length kept.
    pub(crate) head: bool,
    /// The client speaks HTTP/1.0.
    pub(crate) http10: bool,
    /// The client asked to keep the connection, and we are not draining.
    pub(crate) keep_alive: bool,
}

/// haproxy's own response for `status` (503, 504, 400...).
pub(crate) fn generated(status: u16) -> Answer {
    Answer {
        status,
        reason: Some(error_reason(status).to_owned()),
        headers: vec![
            ("cache-control".to_owned(), b"no-cache".to_vec()),
            ("content-type".to_owned(), b"text/html".to_vec()),
        ],
        body: Bytes::from_static(error_body(status).as_bytes()),
    }
}

/// Headers written from the connection's state, never copied.
fn connection_header(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "content-length"
    )
}

/// Encodes `answer` for a request made in `manner`.
pub(crate) fn encode(answer: &Answer, manner: Manner) -> Wire {
    let status = answer.status;
    let close = !manner.keep_alive || closes_connection(status);
    let mut out = Vec::with_capacity(256 + answer.body.len());
    let reason = answer
        .reason
        .as_deref()
        .unwrap_or_else(|| canonical_reason(status).unwrap_or(""));
    let _ = write!(out, "HTTP/1.1 {status} {reason}\r\n");
    let bodiless = matches!(status, 100..=199 | 204 | 304);
    if manner.head {
        if let Some(v) = answer.header("content-length") {
            header(&mut out, "content-length", v);
        }
    } else if !bodiless {
        let _ = write!(out, "content-length: {}\r\n", answer.body.len());
    }
    for (name, value) in &answer.headers {
        if !connection_header(name) {
            header(&mut out, name, value);
        }
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if manner.http10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !manner.head && !bodiless {
        out.extend_from_slice(&answer.body);
    }
    Wire { bytes: out, close }
}

fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_core::proxy::error_response;

    const KEEP: Manner = Manner {
        head: false,
        http10: false,
        keep_alive: true,
    };

    #[test]
    fn generated_pages_are_byte_for_byte_haproxys() {
        for status in [502, 503, 504] {
            let wire = encode(&generated(status), KEEP);
            assert_eq!(
                String::from_utf8(wire.bytes).expect("utf-8"),
                error_response(status)
            );
            assert!(!wire.close);
        }
    }

    #[test]
    fn head_answers_keep_the_length_and_drop_the_body() {
        let mut a = generated(503);
        a.headers
            .push(("content-length".to_owned(), b"99".to_vec()));
        a.body = Bytes::new();
        let manner = Manner { head: true, ..KEEP };
        let text = String::from_utf8(encode(&a, manner).bytes).expect("utf-8");
        assert!(text.contains("content-length: 99\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn http10_keep_alive_is_announced_and_close_is_written() {
        let manner = Manner {
            http10: true,
            ..KEEP
        };
        let text = String::from_utf8(encode(&generated(503), manner).bytes).expect("utf-8");
        assert!(text.contains("connection: keep-alive\r\n"));
        let manner = Manner {
            keep_alive: false,
            ..KEEP
        };
        let wire = encode(&generated(503), manner);
        assert!(wire.close);
        assert!(String::from_utf8(wire.bytes)
            .expect("utf-8")
            .contains("connection: close\r\n"));
    }
}
