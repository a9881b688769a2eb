use super::*;
use crate::config::haproxy::{CaptureSlot, CaptureSlots};
use crate::log::haproxy::TcpLog;
use crate::log::syslog::Civil;
use crate::sample::{Captured, ParseError, Value, VarName};

/// haproxy 2.6's own default formats (`option httplog`, `tcplog`).
const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/// The request haproxy 2.6.12 logged on loopback for the lines below:
/// `GET /a/b?x=1` with Host captured, answered 404 by a server.
fn logged() -> HttpLog {
    let slots = CaptureSlots {
        request: vec![CaptureSlot {
            header: Some("host".into()),
            len: 20,
        }],
        response: Vec::new(),
    };
    let mut captured = Captured::for_slots(&slots);
    captured.set(true, 0, "127.0.0.1:18080");
    HttpLog {
        client: "127.0.0.1:47054".parse().expect("addr"),
        accept: (
            Civil::from_unix(Civil::to_unix(2026, 12, 6, 5, 49, 20)),
            162,
        ),
        frontend: "fe".into(),
        backend: "be".into(),
        server: Some("s1".into()),
        timers: [Some(0), Some(0), Some(0), Some(12), Some(12)],
        status: 404,
        bytes: 500,
        termination: "----".into(),
        conns: [1, 1, 0, 0],
        retries: 0,
        redispatched: false,
        queues: [0, 0],
        captured: Some(Box::new(captured)),
        request: "GET /a/b?x=1 HTTP/1.1".into(),
        https: None,
    }
}

fn facts() -> LineFacts {
    let mut vars = Vars::default();
    let v = VarName::parse("txn.v").expect("name");
    vars.set(&v, Value::Str("hello".into()));
    LineFacts {
        bytes_in: 98,
        frontend_addr: Some("127.0.0.1:18080".parse().expect("addr")),
        backend_source: Some("127.0.0.1:51000".parse().expect("addr")),
        server_addr: Some("127.0.0.1:18090".parse().expect("addr")),
        hostname: "vm".into(),
        vars: Some(vars),
        ..LineFacts::default()
    }
}

fn line(format: &str) -> String {
    let f = Format::parse_log(format, None, true).expect("valid");
    render(&f, &logged(), &facts())
}

#[test]
fn every_field_prints_as_haproxy_printed_it() {
    let format = "%ci %{+Q}r  [%t] %{+Q}b %{+X}cp %ST %B %U %[var(txn.v)] %[capture.req.hdr(0)] %{+Q}[src] %HM %HU %HP %HQ %HV %HPO %Tt %Ta %Tq %Th %Ti %TR %Td %Tu %fi:%fp %si:%sp %bi %ts %tsc %rt %lc %ID %sslv %sslc %ft %H %hr %CC";
    assert_eq!(
        line(format),
        "127.0.0.1 \"GET /a/b?x=1 HTTP/1.1\" [06/Dec/2026:05:49:20.162] \"be\" B7CE 404 500 98 hello 127.0.0.1:18080 \"127.0.0.1\" GET /a/b?x=1 /a/b ?x=1 HTTP/1.1 /a/b 12 12 0 0 0 0 0 12 127.0.0.1:18080 127.0.0.1:18090 127.0.0.1 -- ---- 0 0 - - - fe vm {127.0.0.1:18080} -"
    );
}

#[test]
fn flags_quote_mark_and_escape_as_haproxy_does() {
    let format = "%ci%{+Q}[var(txn.nope)]x%[var(txn.nope)]y%{-M}[var(txn.nope)]z %{+Q}b  %{+Q}ST %{+Q}Tt %{+X}ST %{+Q}ci %{+E}b end";
    assert_eq!(
        line(format),
        "127.0.0.1\"\"x-yz \"be\" 404 12 404 \"127.0.0.1\" be end"
    );
    // `%o` sets the flags of every field after it.
    assert_eq!(line("%{+Q}o %b %{-Q}f"), "\"be\" fe");
}

#[test]
fn the_default_formats_read_as_the_built_in_lines() {
    let mut l = logged();
    assert_eq!(line(HTTPLOG), l.to_string());
    l.captured = None;
    let f = Format::parse_log(HTTPLOG, None, true).expect("valid");
    assert_eq!(render(&f, &l, &facts()), l.to_string());
    l.termination = "SC".into();
    l.timers = [None, Some(1), None, None, Some(3)];
    let tcp = LineFacts {
        tcp: true,
        ..facts()
    };
    let f = Format::parse_log(TCPLOG, None, false).expect("valid");
    assert_eq!(render(&f, &l, &tcp), TcpLog(l).to_string());
}

#[test]
fn what_a_log_line_cannot_show_is_refused_in_haproxys_words() {
    let err = |text: &str, http: bool| match Format::parse_log(text, None, http) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{text} was accepted"),
    };
    assert_eq!(
        err("%ci %r", false),
        "format variable 'r' is reserved for HTTP mode"
    );
    assert_eq!(
        Format::parse_log("%zz", None, true),
        Err(ParseError::UnknownAlias("zz".into()))
    );
    assert_eq!(
        err("%[req.hdr(host)]", true),
        "sample fetch <req.hdr(host)]> may not be reliably used here because it needs 'HTTP request headers' which is not available here"
    );
    assert_eq!(
        err("%{+Q}", true),
        "parse argument modifier without variable name near '%{+Q}'"
    );
    // Rules keep to the request's own variables.
    assert_eq!(
        Format::parse("%Tt"),
        Err(ParseError::UnknownAlias("Tt".into()))
    );
}

// Input: frontends whose `log-format` prints `%U`, `%Tt` and `srv_id`.
// Output: `check` names each field haven prints differently, at its line.
#[test]
fn fields_haven_prints_differently_are_named() {
    use crate::config::haproxy::{parse, ParseOptions};
    let text = "global\n  log 127.0.0.1 local0\ndefaults\n  mode http\n  log global\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nfrontend f\n  bind :80\n  log-format \"%ci %U %Tt %[srv_id]\"\n";
    let parsed = parse(&[("t.cfg", text)], &ParseOptions::default());
    let notes: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("not supported"))
        .map(|d| {
            format!(
                "{}: {}",
                d.line,
                d.message.split(" parsed").next().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        notes,
        [
            "11: 'log-format %U in mode http'",
            "11: 'log-format %Ti'",
            "11: 'log-format sample fetch sc_*, src_* or srv_id'"
        ]
    );
}
