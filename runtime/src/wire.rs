//! Writing a response to the client as haproxy's HTX does: lower-case
//! header names, the connection's own headers replaced by ours. A
//! server's answer keeps the framing it was sent with ([`stream_head`]);
//! haproxy's own pages and the stats are written whole ([`encode`]).

use crate::body::Cursor;
use crate::forward::canonical_reason;
use bytes::BufMut;
use bytes::Bytes;
use haven_core::config::haproxy::{CompAlgo, ErrorPage};
use haven_core::http1::{opens_tunnel, ResponseFraming, ResponseHead, Switch};
use haven_core::proxy::{closes_connection, error_body, error_reason};
use std::io::Write;

/// A whole answer of haven's own: a generated page, the stats.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Status code, 100 to 999.
    pub(crate) status: u16,
    /// The reason phrase when it is not the status's usual one.
    pub(crate) reason: Option<String>,
    /// Headers in order, names lower-cased.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
}

impl Answer {
    /// The first value of header `name` (lower-case).
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// How a server's body goes on to the client.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// No body (HEAD, 1xx, 204, 304, or an empty one).
    Nothing,
    /// As the server framed it.
    AsSent(Cursor),
    /// Chunked by the server, for a client that cannot read chunks: the
    /// data alone, and the connection closes to end it.
    Dechunked,
    /// The server switched protocols (or accepted a `CONNECT`): bytes
    /// flow both ways until both sides close.
    Tunnel,
    /// Compressed with this algorithm, from the body the server framed
    /// so, into chunks.
    Compressed(CompAlgo, ResponseFraming),
}

/// A server's response head ready for the client, and how its body follows.
#[derive(Debug)]
pub(crate) struct Streamed {
    /// Status line and headers.
    pub(crate) head: Vec<u8>,
    pub(crate) delivery: Delivery,
    /// True when the client connection closes after the answer.
    pub(crate) close: bool,
}

/// The head of a server's answer `head` to a request made in `manner`,
/// its framing kept as sent: `Content-Length` stays, chunked stays
/// chunked (trailers and all), an answer delimited by the server's close
/// closes the client connection too, as haproxy does.
///
/// An answer that opens a tunnel keeps the server's `connection` and
/// `upgrade` headers as sent, and the connection ends with the tunnel.
pub(crate) fn stream_head(head: &ResponseHead, manner: Manner) -> Streamed {
    if opens_tunnel(manner.switch, head) {
        return tunnel_head(head);
    }
    let dechunk = head.body == ResponseFraming::Chunked && manner.http10;
    let until_close = head.body == ResponseFraming::UntilClose;
    let close = !manner.keep_alive
        || closes_connection(head.code)
        || dechunk
        || until_close
        || head.suspect_framing;
    let mut out = Vec::with_capacity(512);
    status_line(&mut out, head);
    for (name, value) in head.headers.iter() {
        if kept_field(head, manner, name) {
            header(&mut out, name, value);
        }
    }
    connection_line(&mut out, close, manner);
    out.extend_from_slice(b"\r\n");
    let delivery = match head.body {
        ResponseFraming::Empty | ResponseFraming::Length(0) => Delivery::Nothing,
        ResponseFraming::Chunked if dechunk => Delivery::Dechunked,
        framing => Delivery::AsSent(Cursor::response(framing)),
    };
    Streamed {
        head: out,
        delivery,
        close,
    }
}

/// Whether the field `name` of a server's answer `head` goes on to a
/// client that asked in `manner`: all but the connection's own, the
/// framing fields kept as the body is sent.
pub(crate) fn kept_field(head: &ResponseHead, manner: Manner, name: &str) -> bool {
    let dechunk = head.body == ResponseFraming::Chunked && manner.http10;
    let bodiless = matches!(head.code, 100..=199 | 204 | 304);
    let framing_kept = match name {
        "content-length" => head.body != ResponseFraming::Chunked && (manner.head || !bodiless),
        "transfer-encoding" => head.body == ResponseFraming::Chunked && !dechunk,
        _ => false,
    };
    framing_kept || !connection_header(name)
}

/// The head of an answer that opens a tunnel: no body framing, the
/// server's `connection` and `upgrade` headers kept.
fn tunnel_head(head: &ResponseHead) -> Streamed {
    let mut out = Vec::with_capacity(512);
    status_line(&mut out, head);
    for (name, value) in head.headers.iter() {
        if matches!(name, "connection" | "upgrade") || !connection_header(name) {
            header(&mut out, name, value);
        }
    }
    out.extend_from_slice(b"\r\n");
    Streamed {
        head: out,
        delivery: Delivery::Tunnel,
        close: true,
    }
}

/// `HTTP/1.1 <code> <reason>`: the server's reason, or the usual one.
fn status_line(out: &mut Vec<u8>, head: &ResponseHead) {
    let reason = if head.reason.is_empty() {
        canonical_reason(head.code).unwrap_or("")
    } else {
        head.reason.as_str()
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    put_decimal(out, head.code.into());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal to `out` (without the formatting machinery: a
/// status and a length go out on every answer).
pub(crate) fn put_decimal(out: &mut impl BufMut, n: u64) {
    put_digits::<10>(out, n);
}

/// Appends `n` in lower-case hexadecimal to `out` (a chunk's size).
pub(crate) fn put_hex(out: &mut impl BufMut, n: u64) {
    put_digits::<16>(out, n);
}

/// Appends `n`'s digits in `BASE` (at most 16) to `out`. (A constant
/// base: the divisions become multiplications.)
fn put_digits<const BASE: u64>(out: &mut impl BufMut, mut n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = DIGITS[(n % BASE) as usize];
        n /= BASE;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[at..]);
}

/// The `connection` header the client's manner and our `close` call for.
fn connection_line(out: &mut Vec<u8>, close: bool, manner: Manner) {
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if manner.http10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
}

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
    /// What the request asks of the connection beyond one exchange.
    pub(crate) switch: Switch,
}

impl Manner {
    /// A request answered before it was read: the connection closes.
    pub(crate) const CLOSING: Self = Self {
        head: false,
        http10: false,
        keep_alive: false,
        switch: Switch::None,
    };
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

/// A response an HTTP rule wrote (`return`, `redirect`...).
pub(crate) fn written(reply: haven_core::http_rules::Rendered) -> Answer {
    Answer {
        status: reply.status,
        reason: None,
        headers: reply
            .headers
            .into_iter()
            .map(|(n, v)| (n, v.into_bytes()))
            .collect(),
        body: Bytes::from(reply.body),
    }
}

/// Headers written from the connection's state, never copied.
fn connection_header(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "content-length"
    )
}

/// Encodes an `errorfile` page for a request made in `manner`, as haproxy
/// sends one: its status line as written, its headers, then the
/// connection header the exchange calls for (none after HTTP/1.0, which
/// closes anyway); nothing for an empty file.
pub(crate) fn encode_page(page: &ErrorPage, manner: Manner) -> Wire {
    if page.is_silent() {
        return Wire {
            bytes: Vec::new(),
            close: true,
        };
    }
    let close = page.closes || !manner.keep_alive || closes_connection(page.status);
    let mut out = Vec::with_capacity(256 + page.body.len());
    out.extend_from_slice(page.status_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &page.headers {
        header(&mut out, name, value.as_bytes());
    }
    if !page.http10() {
        connection_line(&mut out, close, manner);
    }
    out.extend_from_slice(b"\r\n");
    if !manner.head {
        out.extend_from_slice(&page.body);
    }
    Wire { bytes: out, close }
}

/// One `103 Early Hints` per header of `hints`, as haproxy sends them.
pub(crate) fn early_hints(hints: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in hints {
        out.extend_from_slice(b"HTTP/1.1 103 Early Hints\r\n");
        header(&mut out, name, value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
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
    connection_line(&mut out, close, manner);
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

    #[test]
    fn numbers_are_written_in_decimal_and_hexadecimal() {
        for n in [0, 7, 200, 65_535, u64::MAX] {
            let mut out = Vec::new();
            put_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
            let mut out = Vec::new();
            put_hex(&mut out, n);
            assert_eq!(out, format!("{n:x}").into_bytes());
        }
    }

    const KEEP: Manner = Manner {
        head: false,
        http10: false,
        keep_alive: true,
        switch: Switch::None,
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

    fn server_head(text: &str) -> haven_core::http1::ResponseHead {
        haven_core::http1::parse_response_head(text.as_bytes(), false)
            .expect("valid")
            .expect("complete")
            .0
    }

    #[test]
    fn a_servers_framing_is_kept_as_sent() {
        let chunked = server_head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
        );
        let out = stream_head(&chunked, KEEP);
        let text = String::from_utf8(out.head).expect("utf-8");
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\nx-a: 1\r\nconnection: close\r\n\r\n",
            "both framings: the length goes, the client connection closes after"
        );
        assert!(matches!(out.delivery, Delivery::AsSent(Cursor::Chunked(_))));
        assert!(out.close);

        let sized = stream_head(
            &server_head("HTTP/1.1 404 Gone Fishing\r\nContent-Length: 3\r\n\r\n"),
            KEEP,
        );
        let text = String::from_utf8(sized.head).expect("utf-8");
        assert_eq!(
            text,
            "HTTP/1.1 404 Gone Fishing\r\ncontent-length: 3\r\n\r\n"
        );

        let until_close = stream_head(&server_head("HTTP/1.0 200 OK\r\n\r\n"), KEEP);
        assert!(
            until_close.close,
            "an answer ended by a close closes the client too"
        );
        assert!(matches!(
            until_close.delivery,
            Delivery::AsSent(Cursor::UntilClose)
        ));
    }

    #[test]
    fn an_http10_client_gets_chunks_undone_and_a_close() {
        let chunked = server_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let manner = Manner {
            http10: true,
            ..KEEP
        };
        let out = stream_head(&chunked, manner);
        let text = String::from_utf8(out.head).expect("utf-8");
        assert_eq!(text, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        assert!(matches!(out.delivery, Delivery::Dechunked));
        assert!(out.close);
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
