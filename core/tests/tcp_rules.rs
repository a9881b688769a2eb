//! `tcp-request content` rules on the bytes a `mode tcp` client sent so
//! far, as haproxy's reg-test `checks/tcp-checks-socks4.vtc` uses them to
//! recognise a SOCKS4 request: `req.payload` samples through `hex` and
//! `hex2i`, matched as an integer, an address or bytes; a rule waits while
//! the bytes are not there yet. And as `connection/tcp_to_http_upgrade.vtc`
//! uses them: `HTTP` recognising a request, `switch-mode http`, and the
//! variables they set.

use haven_core::config::haproxy::{parse, BindProto, HaproxyConfig, ParseOptions, TcpLayer};
use haven_core::route::{admit, Admission, RequestHead};
use haven_core::sample::{Value, VarName, Vars};

fn config(cond: &str) -> HaproxyConfig {
    rules(&format!(
        "tcp-request content accept if {cond}\n  tcp-request content reject"
    ))
}

/// A `mode tcp` listener with content rules `lines`.
fn rules(lines: &str) -> HaproxyConfig {
    let text = format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten socks\n  bind :1\n  tcp-request inspect-delay 500ms\n  {lines}\n  server srv 127.0.0.1:2\n");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    let cfg = parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
    assert!(cfg.unsupported.is_empty(), "{:?}", cfg.unsupported);
    cfg
}

/// What the rules say of `payload` (`last`: no more will come).
fn verdict(cfg: &HaproxyConfig, payload: &[u8], last: bool) -> Admission {
    verdict_with(cfg, payload, last, &mut Vars::default())
}

/// [`verdict`], the rules setting `vars`.
fn verdict_with(cfg: &HaproxyConfig, payload: &[u8], last: bool, vars: &mut Vars) -> Admission {
    let head = RequestHead::connection("10.0.0.1".parse().expect("ip"), payload);
    admit(&cfg.proxies[0], TcpLayer::Content, &head, last, vars)
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

// Input: `HTTP` on a whole request head, on part of one, on the HTTP/2
// preface and part of it, and on bytes that are not HTTP.
// Output: as haproxy's `req.proto_http`: a head whole (and the preface,
// whose first line reads as a request) matches; a part waits for more
// bytes, and fails once none will come; other bytes fail at once.
#[test]
fn http_recognises_a_request_head_or_waits_for_it() {
    let http = config("HTTP");
    let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(verdict(&http, head, false), Admission::Accept);
    assert_eq!(verdict(&http, &head[..20], false), Admission::Wait);
    assert_eq!(verdict(&http, &head[..20], true), Admission::Reject);
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    assert_eq!(verdict(&http, preface, false), Admission::Accept);
    assert_eq!(verdict(&http, &preface[..9], false), Admission::Wait);
    assert_eq!(
        verdict(&http, b"\x16\x03\x01\x00", false),
        Admission::Reject
    );
    assert_eq!(verdict(&http, b"hello\r\n", false), Admission::Reject);
}

// Input: `set-var` recording `internal.strm.is_htx` through `iif`, then
// `switch-mode http [proto h2] if HTTP`, then `reject`; a request head.
// Output: the switch, with the version named, and the variable set as
// the connection was (TCP) when the rule ran.
#[test]
fn switch_mode_turns_the_connection_to_http_with_its_variables() {
    let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let mode = VarName::parse("req.mode").expect("name");
    for (proto, named) in [("", BindProto::Auto), (" proto h2", BindProto::H2)] {
        let cfg = rules(&format!("tcp-request content set-var(req.mode) internal.strm.is_htx,iif(http,tcp)\n  tcp-request content switch-mode http{proto} if HTTP\n  tcp-request content reject"));
        let mut vars = Vars::default();
        let said = verdict_with(&cfg, head, false, &mut vars);
        assert_eq!(said, Admission::SwitchToHttp(named));
        assert_eq!(vars.get(&mode), Some(&Value::string("tcp".to_owned())));
        let mut vars = Vars::default();
        assert_eq!(
            verdict_with(&cfg, b"hello\r\n", false, &mut vars),
            Admission::Reject
        );
    }
}
