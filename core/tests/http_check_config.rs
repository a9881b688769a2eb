//! How `option httpchk` and `http-check send` combine across `defaults`
//! and backends, as haproxy 2.6 reads them (its reg-test
//! `checks/http-check-send.vtc` in config form).

use haven_core::config::haproxy::{parse, HttpCheck, ParseOptions};

const TEXT: &str = "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n  option httpchk GET /status HTTP/1.1\\r\\nHdr:\\ must-be-removed\n  http-check send hdr Host my-www-host hdr X-test true body test\nbackend own_option\n  option httpchk\n  server s 127.0.0.1:1 check\nbackend inherits\n  server s 127.0.0.1:2 check\nbackend own_send\n  http-check send hdr Host other-www-host body other\n  server s 127.0.0.1:3 check\n";

fn checks() -> Vec<HttpCheck> {
    let parsed = parse(&[("t.cfg", TEXT)], &ParseOptions::default());
    let cfg = parsed.config.expect("valid");
    cfg.proxies
        .iter()
        .map(|p| p.http_check.clone().expect("an HTTP check"))
        .collect()
}

fn line(c: &HttpCheck) -> (&str, &str, &str) {
    (&c.method, &c.uri, &c.version)
}

// Input: defaults with `option httpchk GET /status HTTP/1.1\r\nHdr: ...`
// and `http-check send hdr ... body ...`; a backend with its own bare
// `option httpchk`, one with nothing, one with its own `http-check send`.
// Output: the smuggled header is dropped everywhere; the own option
// drops the inherited send rules; the silent backend inherits all; the
// own send starts from OPTIONS / HTTP/1.0 with only its own headers.
#[test]
fn own_lines_replace_what_defaults_said() {
    let c = checks();
    assert_eq!(line(&c[0]), ("OPTIONS", "/", "HTTP/1.0"));
    assert!(c[0].headers.is_empty() && c[0].body.is_none());
    assert_eq!(line(&c[1]), ("GET", "/status", "HTTP/1.1"));
    assert_eq!(c[1].headers.len(), 2);
    assert_eq!(c[1].body.as_deref(), Some("test"));
    assert_eq!(line(&c[2]), ("OPTIONS", "/", "HTTP/1.0"));
    assert_eq!(
        c[2].headers,
        [("Host".to_owned(), "other-www-host".to_owned())]
    );
    assert_eq!(c[2].body.as_deref(), Some("other"));
}
