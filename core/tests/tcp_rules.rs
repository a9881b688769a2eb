//! `tcp-request content` rules on the bytes a `mode tcp` client sent so
//! far, as haproxy's reg-test `checks/tcp-checks-socks4.vtc` uses them to
//! recognise a SOCKS4 request: `req.payload` samples through `hex` and
//! `hex2i`, matched as an integer, an address or bytes; a rule waits while
//! the bytes are not there yet.

use haven_core::config::haproxy::{parse, HaproxyConfig, ParseOptions, TcpLayer};
use haven_core::route::{admit, Admission, RequestHead};

fn config(cond: &str) -> HaproxyConfig {
    let text = format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten socks\n  bind :1\n  tcp-request inspect-delay 500ms\n  tcp-request content accept if {cond}\n  tcp-request content reject\n  server srv 127.0.0.1:2\n");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    let cfg = parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
    assert!(cfg.unsupported.is_empty(), "{:?}", cfg.unsupported);
    cfg
}

/// What the rules say of `payload` (`last`: no more will come).
fn verdict(cfg: &HaproxyConfig, payload: &[u8], last: bool) -> Admission {
    let head = RequestHead::connection("10.0.0.1".parse().expect("ip"), payload);
    admit(&cfg.proxies[0], TcpLayer::Content, &head, last)
}

/// A SOCKS4 CONNECT to 127.0.0.1:12345 as haproxy sends it.
const REQUEST: &[u8] = b"\x04\x01\x30\x39\x7f\x00\x00\x01HAProxy\x00";

// Input: the request whole, cut short, and at the end of the wait.
// Output: accepted whole; a wait while the port's bytes are missing; a
// refusal once no more bytes will come or when they differ.
#[test]
fn payload_samples_wait_for_their_bytes() {
    let port = config("{ req.payload(2,2),hex,hex2i eq 12345 }");
    assert_eq!(verdict(&port, REQUEST, false), Admission::Accept);
    assert_eq!(verdict(&port, &REQUEST[..3], false), Admission::Wait);
    assert_eq!(verdict(&port, &REQUEST[..3], true), Admission::Reject);
    let mut other = REQUEST.to_vec();
    other[3] = 0x3a;
    assert_eq!(
        verdict(&port, &other, false),
        Admission::Wait,
        "more bytes might still come"
    );
    assert_eq!(verdict(&port, &other, true), Admission::Reject);
}

// Input: the address bytes as an integer matched with `-m ip`, the user
// id with `-m bin`, a payload to its end (length 0).
// Output: each matches as haproxy casts and compares them.
#[test]
fn payload_samples_match_as_addresses_and_bytes() {
    let ip = config("{ req.payload(4,4),hex,hex2i -m ip 127.0.0.1 }");
    assert_eq!(verdict(&ip, REQUEST, true), Admission::Accept);
    let user = config("{ req.payload(8,8) -m bin 484150726F787900 }");
    assert_eq!(verdict(&user, REQUEST, true), Admission::Accept);
    let rest = config("{ req.payload(8,0),hex -m beg 48415072 }");
    assert_eq!(verdict(&rest, REQUEST, true), Admission::Accept);
    assert_eq!(verdict(&rest, b"\x04\x01", true), Admission::Reject);
}
