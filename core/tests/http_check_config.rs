//! How `option httpchk` and the `http-check` rules combine across
//! `defaults` and backends, as haproxy 2.6 builds the ruleset (its
//! reg-tests `checks/http-check-send.vtc` and `checks/http-check.vtc` in
//! config form).

use haven_core::config::haproxy::{
    parse, HttpCheck, HttpCheckRule, HttpMatch, HttpSend, ParseOptions,
};

const DEFAULTS: &str =
    "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n";

fn checks(text: &str) -> Vec<HttpCheck> {
    let text = format!("{DEFAULTS}{text}");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    let cfg = parsed.config.expect("valid");
    cfg.proxies
        .iter()
        .map(|p| p.http_check.clone().expect("an HTTP check"))
        .collect()
}

fn errors(text: &str) -> String {
    let text = format!("{DEFAULTS}{text}");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    assert!(parsed.config.is_none(), "refused");
    format!("{:?}", parsed.diagnostics)
}

/// The first request of a ruleset.
fn send(c: &HttpCheck) -> &HttpSend {
    c.first_send().expect("a request")
}

fn line(c: &HttpCheck) -> (&str, &str, &str) {
    let s = send(c);
    (s.method(), s.fixed_uri().expect("fixed"), s.version())
}

fn headers(c: &HttpCheck) -> Vec<(&str, &str)> {
    send(c)
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.fixed().expect("fixed")))
        .collect()
}

fn body(c: &HttpCheck) -> Option<&str> {
    send(c).body.as_ref().and_then(|b| b.fixed())
}

// Input: defaults with `option httpchk GET /status HTTP/1.1\r\nHdr: ...`
// and `http-check send hdr ... body ...`; a backend with its own bare
// `option httpchk`, one with nothing, one with its own `http-check send`.
// Output: the own option drops the inherited rules; the silent backend
// inherits all, the headers of `http-check send` replacing the one hidden
// in the option; the own send starts from OPTIONS / HTTP/1.0 with only
// its own headers.
#[test]
fn own_lines_replace_what_defaults_said() {
    let c = checks("  option httpchk GET /status HTTP/1.1\\r\\nHdr:\\ must-be-removed\n  http-check send hdr Host my-www-host hdr X-test true body test\nbackend own_option\n  option httpchk\n  server s 127.0.0.1:1 check\nbackend inherits\n  server s 127.0.0.1:2 check\nbackend own_send\n  http-check send hdr Host other-www-host body other\n  server s 127.0.0.1:3 check\n");
    assert_eq!(line(&c[0]), ("OPTIONS", "/", "HTTP/1.0"));
    assert!(headers(&c[0]).is_empty() && body(&c[0]).is_none());
    assert_eq!(line(&c[1]), ("GET", "/status", "HTTP/1.1"));
    assert_eq!(
        headers(&c[1]),
        [("Host", "my-www-host"), ("X-test", "true")]
    );
    assert_eq!(body(&c[1]), Some("test"));
    assert_eq!(line(&c[2]), ("OPTIONS", "/", "HTTP/1.0"));
    assert_eq!(headers(&c[2]), [("Host", "other-www-host")]);
    assert_eq!(body(&c[2]), Some("other"));
}

// Input: the classic `option httpchk GET /check HTTP/1.1\r\nHost:\ www`.
// Output: the hidden Host header is sent, as haproxy still sends it.
#[test]
fn a_header_hidden_after_the_version_is_sent() {
    let c = checks("backend b\n  option httpchk GET /check HTTP/1.1\\r\\nHost:\\ www.example.com\n  server s 127.0.0.1:1 check\n");
    assert_eq!(line(&c[0]), ("GET", "/check", "HTTP/1.1"));
    assert_eq!(headers(&c[0]), [("Host", "www.example.com")]);
}

// Input: a ruleset ending on a send; one with connect/send/expect twice.
// Output: the first gets the implicit `expect status 200-399`; the second
// keeps its rules in order, the option's request merged into the first
// send.
#[test]
fn rulesets_end_and_merge_as_haproxy_builds_them() {
    let c = checks("backend b\n  option httpchk\n  server s 127.0.0.1:1 check\nbackend multi\n  option httpchk\n  http-check connect port 81\n  http-check send meth GET uri /one\n  http-check expect status 200\n  http-check connect port 82\n  http-check set-var(check.x) str(two)\n  http-check send uri-lf /%[var(check.x)]\n  http-check expect hdr name -m beg x- value -m sub ok\n  server s 127.0.0.1:1 check\n");
    assert!(matches!(
        c[0].rules.last(),
        Some(HttpCheckRule::Expect(e)) if e.matcher == HttpMatch::Status(vec![(200, 399)])
    ));
    let kinds: Vec<&str> = c[1]
        .rules
        .iter()
        .map(|r| match r {
            HttpCheckRule::Connect { .. } => "connect",
            HttpCheckRule::Send(_) => "send",
            HttpCheckRule::Expect(_) => "expect",
            HttpCheckRule::SetVar(..) => "set-var",
            HttpCheckRule::UnsetVar(_) => "unset-var",
        })
        .collect();
    assert_eq!(
        kinds,
        ["connect", "send", "expect", "connect", "set-var", "send", "expect"]
    );
    assert_eq!(line(&c[1]), ("GET", "/one", "HTTP/1.0"));
}

// Input: a send without its connect, an expect after a connect.
// Output: haproxy's refusals, naming the step.
#[test]
fn rules_out_of_order_are_refused() {
    let e = errors("backend b\n  option httpchk\n  http-check send uri /a\n  http-check expect status 200\n  http-check send uri /b\n  server s 127.0.0.1:1 check\n");
    assert!(
        e.contains("unable to add http-check send rule at step 3 (missing connect rule)"),
        "{e}"
    );
    let e = errors("backend b\n  option httpchk\n  http-check send uri /a\n  http-check expect status 200\n  http-check connect\n  http-check expect status 200\n  server s 127.0.0.1:1 check\n");
    assert!(e.contains("(missing send rule)"), "{e}");
    let e = errors("backend b\n  option httpchk\n  http-check expect hdr value x\n  server s 127.0.0.1:1 check\n");
    assert!(e.contains("expects at the name keyword"), "{e}");
}

// Input: an expect naming a timeout status, which haven does not apply.
// Output: the keyword is named as not honoured, with what differs.
#[test]
fn a_timeout_status_is_named_not_honoured() {
    let text = format!("{DEFAULTS}backend b\n  option httpchk\n  http-check expect status 200 tout-status L4TOUT\n  server s 127.0.0.1:1 check\n");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    let cfg = parsed.config.expect("valid");
    let what: Vec<&str> = cfg.unsupported.iter().map(|u| u.what.as_str()).collect();
    assert_eq!(what, ["http-check expect tout-status"]);
    assert!(cfg.unsupported[0].gap.differs.contains("L7TOUT"));
}

// Input: a standalone `http-check comment` and an expect with `min-recv`.
// Output: both named as not honoured; the body wait as a traffic gap.
#[test]
fn comments_and_min_recv_are_named_not_honoured() {
    let text = format!("{DEFAULTS}backend b\n  option httpchk\n  http-check comment why\n  http-check send uri /\n  http-check expect min-recv 10 string ok\n  server s 127.0.0.1:1 check\n");
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    let cfg = parsed.config.expect("valid");
    let what: Vec<&str> = cfg.unsupported.iter().map(|u| u.what.as_str()).collect();
    assert_eq!(what, ["http-check comment", "http-check expect min-recv"]);
    assert_eq!(
        cfg.unsupported[1].gap.impact,
        haven_core::config::support::Impact::Traffic
    );
}
