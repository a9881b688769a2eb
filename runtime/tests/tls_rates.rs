//! The process's TLS rates in `show info`, and the sessions to servers
//! they count (a test binary of its own: the rates are the process's).

#[allow(dead_code)]
mod common;

use common::pki::Pki;
use common::{config, free_port, DEFAULTS};

// Input: a clear frontend whose server (`option httpclose`: a new
// server connection per request) is a TLS frontend of the same process,
// which answers whether its handshake resumed; the clear side adds the
// `ssl_bc*` fetches to the answer; three requests, then `show info`.
// Output: the first handshake is full on both sides, the next ones
// resume the session (`ssl_bc_is_resumed`, `ssl_fc_is_resumed`);
// `show info` gives haproxy's TLS rate lines, the frontend's session
// reuse among them.
#[tokio::test]
async fn server_sessions_are_resumed_and_their_rates_shown() {
    let pki = Pki::serving_a_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let (front, tls) = (free_port(), free_port());
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{front}\n    option httpclose\n    http-response set-header x-bc \"%[ssl_bc]/%[ssl_bc_is_resumed]/%[ssl_bc_protocol]\"\n    default_backend b\nbackend b\n    server s 127.0.0.1:{tls} ssl verify none sni str(a.test)\nfrontend tls\n    bind 127.0.0.1:{tls} ssl crt {}\n    http-request return status 200 content-type text/plain lf-string \"resumed=%[ssl_fc_is_resumed]\"\n",
        sock.display(),
        pki.path("a.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = common::listener(&running, "fe");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let reply = common::send_raw(fe, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let bc = reply
            .lines()
            .find_map(|l| l.strip_prefix("x-bc: "))
            .unwrap_or("none")
            .to_owned();
        let body = reply.rsplit("\r\n").next().unwrap_or_default().to_owned();
        seen.push(format!("{bc} {body}"));
    }
    assert_eq!(
        seen,
        [
            "1/0/TLSv1.3 resumed=0",
            "1/1/TLSv1.3 resumed=1",
            "1/1/TLSv1.3 resumed=1"
        ]
    );
    let info = common::cli(&sock, "show info").await;
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {info}"))
    };
    // Three sessions, the first a full handshake, within about a
    // second: the exact figures depend on where the second turns (two
    // thirds reused when it does not).
    assert!((1..=3).contains(&field("SslRate")), "{info}");
    assert!((1..=3).contains(&field("MaxSslRate")), "{info}");
    assert!(
        (66..100).contains(&field("SslFrontendSessionReuse_pct")),
        "{info}"
    );
    assert_eq!(field("SslFrontendMaxKeyRate"), 1, "{info}");
    assert_eq!(field("SslBackendMaxKeyRate"), 1, "{info}");
    running.stop();
}
