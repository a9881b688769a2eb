//! An HTTP/2 request turned into the HTTP/1.1 head the exchange serves,
//! as haproxy 2.6 turns one into its internal message: the target in
//! absolute form when `:authority` is given (rules and logs see
//! `https://host/path`, the server gets `/path`), `host` taken from
//! `:authority` and put first, cookies merged into one field, a default
//! port dropped, a body without `content-length` sent on chunked.

use super::stream::Upload;
use crate::request::ReadRequest;
use crate::wire::Manner;
use haven_core::http1::{websocket_key, BodyFraming, Fields, Head};
use haven_core::http2::{Malformed, Request};
use tokio::time::Instant;

/// A request read from an HTTP/2 stream.
pub(crate) struct Incoming {
    /// The request as the exchange takes it.
    pub(crate) read: ReadRequest,
    /// How its body goes to the reader.
    pub(crate) upload: Upload,
}

/// Reads `request`, whose HEADERS frame ended the stream when
/// `bodiless`, received at `accepted`; its request line is kept for the
/// log when `httplog`. An extended CONNECT (RFC 8441, `:protocol`)
/// becomes the HTTP/1.1 upgrade haproxy makes of it: a GET with
/// `upgrade` and `connection: upgrade`, and for WebSocket a key made of
/// `nonce()` when the client gave none.
pub(crate) fn incoming(
    request: &Request,
    bodiless: bool,
    (accepted, httplog): (Instant, bool),
    nonce: impl FnOnce() -> [u8; 16],
) -> Result<Incoming, Malformed> {
    let protocol = request.protocol.as_deref();
    let connect = request.method == "CONNECT";
    let method = request.method.clone();
    let scheme = request.scheme.as_deref();
    let authority = request
        .authority
        .as_deref()
        .map(|a| without_default_port(a, scheme));
    let path = request.path.as_deref().unwrap_or("/");
    let (target, absolute) = match (connect, &authority) {
        (true, Some(authority)) => (authority.clone(), None),
        (true, None) => return Err(Malformed),
        (false, Some(authority)) => {
            let shown_path = if path == "*" { "" } else { path };
            let scheme = scheme.unwrap_or("https");
            let mut absolute =
                String::with_capacity(scheme.len() + 3 + authority.len() + shown_path.len());
            for part in [scheme, "://", authority, shown_path] {
                absolute.push_str(part);
            }
            (path.to_owned(), Some(absolute))
        }
        (false, None) => (path.to_owned(), None),
    };
    let mut headers = Fields::with_capacity(request.fields.len() + 1, 256);
    if let Some(authority) = &authority {
        headers.push("host", authority.as_bytes());
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    let mut length: Option<u64> = None;
    for (name, value) in &request.fields {
        let value = value.as_slice();
        match name.as_str() {
            "host" if authority.is_some() => continue,
            "cookie" => {
                cookies.push(value);
                continue;
            }
            "content-length" => {
                let n = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or(Malformed)?;
                if length.is_some_and(|l| l != n) {
                    return Err(Malformed);
                }
                if length.replace(n).is_some() {
                    continue;
                }
            }
            _ => {}
        }
        headers.push(name, value);
    }
    if !cookies.is_empty() {
        headers.push("cookie", &cookies.join(&b"; "[..]));
    }
    let mut own_websocket_key = None;
    if let Some(protocol) = protocol {
        headers.push("upgrade", protocol.as_bytes());
        headers.push("connection", b"upgrade");
        let websocket = protocol.eq_ignore_ascii_case("websocket");
        if websocket && !headers.contains("sec-websocket-key") {
            let key = websocket_key(nonce());
            headers.push("sec-websocket-key", key.as_bytes());
            own_websocket_key = Some(key);
        }
    }
    let (body, upload) = match length {
        _ if connect || protocol.is_some() => (BodyFraming::Empty, Upload::Raw),
        Some(0) => (BodyFraming::Empty, Upload::Raw),
        Some(n) => (BodyFraming::Length(n), Upload::Raw),
        None if bodiless => (BodyFraming::Empty, Upload::Raw),
        None => (BodyFraming::Chunked, Upload::Chunked),
    };
    let expect_continue = headers
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    let shown = absolute.as_deref().unwrap_or(&target);
    let request_line = match httplog {
        true => format!("{method} {shown} HTTP/2.0"),
        false => String::new(),
    };
    let head_len = (shown.len()
        + method.len()
        + 11
        + headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
        + 2) as u64;
    let head = Head {
        method,
        target,
        minor: 1,
        headers,
        body,
        keep_alive: true,
        expect_continue,
    };
    let manner = Manner {
        head: head.method == "HEAD",
        http10: false,
        keep_alive: true,
        switch: head.switch(),
    };
    Ok(Incoming {
        read: ReadRequest {
            head,
            manner,
            request_line,
            accepted,
            head_len,
            target_as_sent: absolute,
            own_websocket_key,
        },
        upload,
    })
}

/// `authority` without the port `scheme` implies (`:80` for http,
/// `:443` for https), as haproxy normalizes it.
fn without_default_port(authority: &str, scheme: Option<&str>) -> String {
    let default = match scheme {
        Some(s) if s.eq_ignore_ascii_case("http") => ":80",
        Some(s) if s.eq_ignore_ascii_case("https") => ":443",
        _ => return authority.to_owned(),
    };
    let trimmed = authority
        .strip_suffix(default)
        .or_else(|| authority.strip_suffix(':'))
        .unwrap_or(authority);
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_core::http1::Switch;

    fn request(fields: &[(&str, &str)]) -> Request {
        let fields: Vec<_> = fields
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        haven_core::http2::read_request(fields).expect("well-formed")
    }

    fn read(fields: &[(&str, &str)], bodiless: bool) -> Incoming {
        let at = (Instant::now(), true);
        incoming(&request(fields), bodiless, at, || [7; 16]).expect("a valid request")
    }

    #[test]
    fn an_h2_request_is_seen_in_absolute_form_and_sent_in_origin_form() {
        let got = read(
            &[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "example.com:443"),
                (":path", "/a?b=c"),
                ("cookie", "x=1"),
                ("user-agent", "t"),
                ("cookie", "y=2"),
            ],
            true,
        );
        assert_eq!(got.read.head.target, "/a?b=c");
        assert_eq!(
            got.read.target_as_sent.as_deref(),
            Some("https://example.com/a?b=c")
        );
        assert_eq!(
            got.read.request_line,
            "GET https://example.com/a?b=c HTTP/2.0"
        );
        let fields: Vec<(&str, &[u8])> = got.read.head.headers.iter().collect();
        assert_eq!(
            fields,
            [
                ("host", &b"example.com"[..]),
                ("user-agent", b"t"),
                ("cookie", b"x=1; y=2"),
            ]
        );
        assert_eq!(got.read.head.body, BodyFraming::Empty);
    }

    // Input: an extended CONNECT (RFC 8441) for WebSocket. Output:
    // haproxy's HTTP/1.1 upgrade: a GET of the path with `upgrade`,
    // `connection: upgrade` and a key of its own, no body.
    #[test]
    fn an_extended_connect_becomes_an_upgrade_with_a_key_of_its_own() {
        let got = read(
            &[
                (":method", "CONNECT"),
                (":scheme", "http"),
                (":authority", "example.com"),
                (":path", "/chat"),
                (":protocol", "websocket"),
            ],
            false,
        );
        let head = &got.read.head;
        assert_eq!(
            (head.method.as_str(), head.target.as_str()),
            ("GET", "/chat")
        );
        let key = websocket_key([7; 16]);
        assert_eq!(got.read.own_websocket_key.as_deref(), Some(key.as_str()));
        let fields: Vec<(&str, &[u8])> = head.headers.iter().collect();
        assert_eq!(
            fields,
            [
                ("host", &b"example.com"[..]),
                ("upgrade", b"websocket"),
                ("connection", b"upgrade"),
                ("sec-websocket-key", key.as_bytes()),
            ]
        );
        assert_eq!(head.body, BodyFraming::Empty);
        assert_eq!(got.read.manner.switch, Switch::Upgrade { websocket: true });
    }

    #[test]
    fn a_body_without_length_goes_chunked_and_one_with_length_as_is() {
        let post = [
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "h"),
            (":path", "/up"),
        ];
        let chunked = read(&post, false);
        assert_eq!(chunked.read.head.body, BodyFraming::Chunked);
        assert_eq!(chunked.upload, Upload::Chunked);
        let sized = read(&[&post[..], &[("content-length", "5")]].concat(), false);
        assert_eq!(sized.read.head.body, BodyFraming::Length(5));
        assert_eq!(sized.upload, Upload::Raw);
        let twice = [
            &post[..],
            &[("content-length", "5"), ("content-length", "6")],
        ]
        .concat();
        let at = (Instant::now(), false);
        assert!(incoming(&request(&twice), false, at, || [7; 16]).is_err());
    }
}
