//! A request's HTTP/2 header fields checked as haproxy 2.6 checks them
//! before it makes an HTTP/1 message of them: what RFC 9113 §8.3 calls
//! malformed resets the stream; a method, scheme or target that cannot
//! be written as HTTP/1 is kept and answered with a 400, as haproxy's
//! parser answers a bad HTTP/1 request.

use super::connection::Field;
use crate::http1::tchar;

/// A request as its fields give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `:method` (`GET` for an extended CONNECT, as haproxy makes it).
    pub method: String,
    /// `:scheme`, when given.
    pub scheme: Option<String>,
    /// `:authority`, when given.
    pub authority: Option<String>,
    /// `:path`, when given.
    pub path: Option<String>,
    /// `:protocol` of an extended CONNECT (RFC 8441).
    pub protocol: Option<String>,
    /// The regular fields, in order.
    pub fields: Vec<(String, Vec<u8>)>,
    /// The request cannot be written as HTTP/1 (a method that is not a
    /// token, a bad scheme, a target with spaces or controls): it is
    /// answered 400.
    pub invalid: bool,
}

/// The fields break RFC 9113 §8.3: the stream is reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Fields no HTTP/2 request may carry (RFC 9113 §8.2.2).
const CONNECTION_FIELDS: [&[u8]; 5] = [
    b"connection",
    b"proxy-connection",
    b"keep-alive",
    b"upgrade",
    b"transfer-encoding",
];

/// A value HTTP/1 can carry as it is: no NUL, CR or LF in it.
fn carried_value(value: &[u8]) -> bool {
    !value.iter().any(|b| matches!(b, 0 | b'\r' | b'\n'))
}

/// A regular field (not a pseudo-header) as RFC 9113 §8.2 wants it, one
/// HTTP/1 can carry: a lower-case token for a name, a value without NUL,
/// CR or LF, not a field of the connection alone.
pub(super) fn well_formed(name: &[u8], value: &[u8]) -> bool {
    let lower_token = |b: &u8| tchar(*b) && !b.is_ascii_uppercase();
    !name.is_empty()
        && name.iter().all(lower_token)
        && carried_value(value)
        && !CONNECTION_FIELDS.contains(&name)
        && !(name == b"te" && value != b"trailers")
}

/// Reads a request's `fields` as decoded from its header block (taken,
/// not copied).
pub fn read_request(fields: Vec<Field>) -> Result<Request, Malformed> {
    let mut request = Request {
        fields: Vec::with_capacity(fields.len()),
        ..Request::default()
    };
    let mut method = None;
    let mut regular = false;
    for (name, value) in fields {
        if !carried_value(&value) {
            return Err(Malformed);
        }
        if let Some(pseudo) = name.strip_prefix(b":") {
            if regular {
                return Err(Malformed);
            }
            let slot = match pseudo {
                b"method" => &mut method,
                b"scheme" => &mut request.scheme,
                b"authority" => &mut request.authority,
                b"path" => &mut request.path,
                b"protocol" => &mut request.protocol,
                _ => return Err(Malformed),
            };
            let value = String::from_utf8(value).map_err(|_| Malformed)?;
            if slot.replace(value).is_some() {
                return Err(Malformed);
            }
            continue;
        }
        regular = true;
        if !well_formed(&name, &value) {
            return Err(Malformed);
        }
        let name = String::from_utf8(name).map_err(|_| Malformed)?;
        request.fields.push((name, value));
    }
    request.method = method.ok_or(Malformed)?;
    line(&mut request)?;
    Ok(request)
}

/// Checks the pseudo-fields as a request line, as haproxy's
/// `h2_prepare_htx_reqline` does.
fn line(r: &mut Request) -> Result<(), Malformed> {
    let connect = r.method == "CONNECT";
    if connect && r.protocol.is_some() {
        // An extended CONNECT: all three, and it becomes a GET upgrade.
        if r.scheme.is_none() || r.path.is_none() || r.authority.is_none() {
            return Err(Malformed);
        }
        r.method = "GET".to_owned();
    } else if connect {
        if r.scheme.is_some() || r.path.is_some() || r.authority.is_none() {
            return Err(Malformed);
        }
    } else if r.scheme.is_none() || r.path.is_none() {
        return Err(Malformed);
    }
    if r.protocol.is_some() && !connect {
        return Err(Malformed);
    }
    if let Some(path) = &r.path {
        if path.is_empty() || !path.starts_with('/') && path != "*" {
            return Err(Malformed);
        }
    }
    if r.scheme.as_deref().is_some_and(|s| !valid_scheme(s)) {
        r.invalid = true;
    }
    if r.method.is_empty() {
        return Err(Malformed);
    }
    r.invalid |= !r.method.bytes().all(tchar);
    let target = [&r.scheme, &r.authority, &r.path];
    let lws_or_ctl = |b: u8| b == b' ' || b == b'\t' || b < 0x20 || b == 0x7f;
    r.invalid |= target
        .iter()
        .filter_map(|part| part.as_deref())
        .any(|part| part.bytes().any(lws_or_ctl));
    Ok(())
}

/// A scheme's syntax (RFC 3986 §3.1): a letter, then letters, digits,
/// `+`, `-` or `.`.
fn valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[(&str, &str)]) -> Vec<Field> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn get(extra: &[(&str, &str)]) -> Vec<Field> {
        let mut list = fields(&[(":method", "GET"), (":scheme", "http"), (":path", "/")]);
        list.extend(fields(extra));
        list
    }

    #[test]
    fn a_plain_request_reads_with_its_fields_in_order() {
        let r = read_request(get(&[("x-a", "1"), ("cookie", "c=1")])).expect("test input");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path.as_deref(), Some("/"));
        assert_eq!(r.fields[0], ("x-a".to_owned(), b"1".to_vec()));
        assert!(!r.invalid);
    }

    #[test]
    fn what_rfc_9113_calls_malformed_is_refused() {
        let cases: [&[(&str, &str)]; 9] = [
            &[(":method", "GET"), (":scheme", "http")],
            &[(":method", "GET"), (":scheme", "http"), (":path", "hello")],
            &[(":method", "GET"), (":scheme", "http"), (":path", "")],
            &[(":scheme", "http"), (":path", "/")],
            &[
                (":method", "GET"),
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
            ],
            &[
                (":method", "GET"),
                ("x", "1"),
                (":scheme", "http"),
                (":path", "/"),
            ],
            &[
                (":method", "CONNECT"),
                (":authority", "h:1"),
                (":path", "/"),
            ],
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                ("X-Up", "1"),
            ],
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                ("te", "gzip"),
            ],
        ];
        for case in cases {
            assert_eq!(read_request(fields(case)), Err(Malformed), "{case:?}");
        }
        let connection = get(&[("connection", "close")]);
        assert_eq!(read_request(connection), Err(Malformed));
        let newline = get(&[("x", "a\nb")]);
        assert_eq!(read_request(newline), Err(Malformed));
    }

    #[test]
    fn a_bad_scheme_or_method_is_kept_to_be_answered_400() {
        let scheme = [
            (":method", "GET"),
            (":scheme", "http://localhost/?"),
            (":path", "/"),
        ];
        assert!(read_request(fields(&scheme)).expect("test input").invalid);
        let method = [(":method", "GET?"), (":scheme", "http"), (":path", "/")];
        assert!(read_request(fields(&method)).expect("test input").invalid);
        let space = [(":method", "GET"), (":scheme", "http"), (":path", "/a b")];
        assert!(read_request(fields(&space)).expect("test input").invalid);
        let other = [(":method", "GET"), (":scheme", "coap+tcp"), (":path", "/")];
        assert!(!read_request(fields(&other)).expect("test input").invalid);
    }

    #[test]
    fn an_extended_connect_becomes_a_get_and_a_plain_one_takes_only_an_authority() {
        let ext = [
            (":method", "CONNECT"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "h"),
            (":protocol", "websocket"),
        ];
        let r = read_request(fields(&ext)).expect("test input");
        assert_eq!(
            (r.method.as_str(), r.protocol.as_deref()),
            ("GET", Some("websocket"))
        );
        let plain = [(":method", "CONNECT"), (":authority", "h:443")];
        assert_eq!(
            read_request(fields(&plain)).expect("test input").method,
            "CONNECT"
        );
        let stray = [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":protocol", "x"),
        ];
        assert_eq!(read_request(fields(&stray)), Err(Malformed));
    }
}
