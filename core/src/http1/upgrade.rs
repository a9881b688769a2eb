//! Switching a connection to a tunnel: a request asking to change
//! protocols (`Connection: upgrade` with `Upgrade`, WebSocket among them)
//! and `CONNECT`, with the checks haproxy makes of a WebSocket handshake.

use super::head::values;
use super::{Head, ResponseHead};
use base64::Engine;

/// What a request asks of the connection beyond one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Nothing: one request, one answer.
    None,
    /// `Connection: upgrade` with an `Upgrade` header (HTTP/1.1): a 101
    /// answer turns the connection into a tunnel. `websocket` when the
    /// protocol named is WebSocket.
    Upgrade {
        /// `Upgrade: websocket`.
        websocket: bool,
    },
    /// `CONNECT`: a 2xx answer turns the connection into a tunnel.
    Connect,
}

impl Head {
    /// What this request asks of the connection.
    pub fn switch(&self) -> Switch {
        if self.method.eq_ignore_ascii_case("CONNECT") {
            return Switch::Connect;
        }
        let has = |name: &str, token: &[u8]| {
            values(&self.headers, name).any(|v| v.eq_ignore_ascii_case(token))
        };
        let upgrade = self.headers.contains("upgrade");
        if self.minor == 1 && upgrade && has("connection", b"upgrade") {
            Switch::Upgrade {
                websocket: has("upgrade", b"websocket"),
            }
        } else {
            Switch::None
        }
    }
}

/// True when a WebSocket handshake request carries a key haproxy takes:
/// 16 bytes in base64.
pub(super) fn valid_websocket_key(head: &Head) -> bool {
    head.headers.get("sec-websocket-key").is_some_and(|key| {
        base64::engine::general_purpose::STANDARD
            .decode(key.trim_ascii())
            .is_ok_and(|k| k.len() == 16)
    })
}

/// True when `response` ends a request's `switch` as a tunnel: 101 to an
/// upgrade, 2xx to a `CONNECT`.
pub fn opens_tunnel(switch: Switch, response: &ResponseHead) -> bool {
    match switch {
        Switch::None => false,
        Switch::Upgrade { .. } => response.code == 101,
        Switch::Connect => (200..300).contains(&response.code),
    }
}

/// True when a server's 101 to a WebSocket request is one haproxy passes
/// on: it names its `sec-websocket-accept`, which must be `expected` when
/// the key was the proxy's own (an HTTP/2 client's extended CONNECT);
/// between two HTTP/1 sides haproxy checks its presence, not its value.
pub fn accepts_websocket(response: &ResponseHead, expected: Option<&str>) -> bool {
    match (response.headers.get("sec-websocket-accept"), expected) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(got), Some(want)) => got.trim_ascii() == want.as_bytes(),
    }
}

/// A `sec-websocket-key` made of 16 random bytes (RFC 6455 §4.1).
pub fn websocket_key(nonce: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// The `sec-websocket-accept` a server answers to `key` (RFC 6455 §4.2.2).
pub fn websocket_accept(key: &str) -> String {
    use sha1::Digest;
    const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let digest = sha1::Sha1::digest(format!("{key}{GUID}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{parse_head, parse_response_head, HeadError};

    fn head(text: &str) -> Result<Head, HeadError> {
        parse_head(text.as_bytes(), 8192).map(|h| h.expect("complete").0)
    }

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn upgrades_need_the_connection_token_and_http_1_1() {
        let ws = format!("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {KEY}\r\n\r\n");
        assert_eq!(
            head(&ws).expect("valid").switch(),
            Switch::Upgrade { websocket: true }
        );
        let h2c = "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n";
        assert_eq!(
            head(h2c).expect("valid").switch(),
            Switch::Upgrade { websocket: false }
        );
        let no_token = "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(head(no_token).expect("valid").switch(), Switch::None);
        let old = "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n";
        assert_eq!(head(old).expect("valid").switch(), Switch::None);
        let connect = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
        assert_eq!(head(connect).expect("valid").switch(), Switch::Connect);
    }

    #[test]
    fn a_websocket_handshake_needs_a_sixteen_byte_key() {
        let ws = |key: &str| {
            head(&format!(
                "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n{key}\r\n"
            ))
        };
        assert!(ws(&format!("Sec-WebSocket-Key: {KEY}\r\n")).is_ok());
        for bad in [
            "",
            "Sec-WebSocket-Key: abc\r\n",
            "Sec-WebSocket-Key: !!\r\n",
        ] {
            assert_eq!(ws(bad), Err(HeadError::WebSocketKey), "{bad:?}");
        }
    }

    #[test]
    fn tunnels_open_on_101_to_an_upgrade_and_2xx_to_connect() {
        let answer = |text: &str| {
            parse_response_head(text.as_bytes(), false)
                .expect("valid")
                .expect("complete")
                .0
        };
        let switching = answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n");
        let ok = answer("HTTP/1.1 200 OK\r\n\r\n");
        let upgrade = Switch::Upgrade { websocket: true };
        assert!(opens_tunnel(upgrade, &switching));
        assert!(!opens_tunnel(upgrade, &ok));
        assert!(opens_tunnel(Switch::Connect, &ok));
        assert!(!opens_tunnel(Switch::None, &switching));
        assert!(accepts_websocket(&switching, None));
        assert!(!accepts_websocket(
            &answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
            None
        ));
        let accept = websocket_accept(KEY);
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455's example");
        assert!(
            !accepts_websocket(&switching, Some(&accept)),
            "a value of its own"
        );
        let right =
            format!("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
        assert!(accepts_websocket(&answer(&right), Some(&accept)));
    }
}
