//! `mode tcp` configs as haproxy 2.6.12 reads them: the check rulesets,
//! `tcp-request` rules, the errors of bad `tcp-check` lines and the
//! warnings `haproxy -c` prints for HTTP options on a TCP proxy (its
//! words, each checked against `haproxy -c`).

use haven_core::config::haproxy::{
    parse, Criterion, ParseOptions, TcpAction, TcpCheck, TcpCheckRule, TcpLayer, TcpPattern,
};
use haven_core::config::Diagnostics;

fn read(
    text: &str,
) -> (
    Option<haven_core::config::haproxy::HaproxyConfig>,
    Diagnostics,
) {
    let parsed = parse(&[("t.cfg", text)], &ParseOptions::default());
    (parsed.config, parsed.diagnostics)
}

/// Each diagnostic as `line: message`.
fn lines_and_words(diags: &Diagnostics) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect()
}

const DEFAULTS: &str =
    "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n";

#[test]
fn check_options_choose_a_ruleset_and_the_last_one_wins() {
    let text = format!(
        "{DEFAULTS}backend db\n  option httpchk GET /\n  option mysql-check user root\n  server a 127.0.0.1:3306 check\nbackend pg\n  option pgsql-check user app\n  server a 127.0.0.1:5432 check\nbackend own\n  option tcp-check\n  tcp-check connect port 8080\n  tcp-check send PING\\r\\n\n  tcp-check expect !string ERR\n  tcp-check send-binary 0a0b\n  tcp-check expect rbinary ^0A\n  server a 127.0.0.1:80 check\n"
    );
    let (cfg, diags) = read(&text);
    assert!(diags.errors().next().is_none(), "{diags:?}");
    let cfg = cfg.expect("valid");
    let db = &cfg.proxies[0];
    assert_eq!(db.http_check, None, "mysql-check came last");
    assert_eq!(
        db.tcp_check,
        Some(TcpCheck::Mysql {
            user: Some("root".into()),
            pre41: false
        })
    );
    assert_eq!(
        cfg.proxies[1].tcp_check,
        Some(TcpCheck::Pgsql { user: "app".into() })
    );
    let own = &cfg.proxies[2];
    assert_eq!(own.tcp_check, Some(TcpCheck::Rules));
    assert_eq!(own.tcp_check_rules.len(), 5);
    assert!(matches!(
        own.tcp_check_rules[0],
        TcpCheckRule::Connect {
            port: Some(8080),
            ..
        }
    ));
    assert!(
        matches!(&own.tcp_check_rules[1], TcpCheckRule::Send { data, .. } if data == b"PING\r\n")
    );
    assert!(
        matches!(&own.tcp_check_rules[2], TcpCheckRule::Expect(e) if e.negate && e.pattern == TcpPattern::String(b"ERR".to_vec()))
    );
    assert!(
        matches!(&own.tcp_check_rules[3], TcpCheckRule::Send { data, .. } if data == &[0x0a, 0x0b])
    );
}

#[test]
fn bad_tcp_check_lines_say_where_and_what() {
    for (line, expected) in [
        (
            "tcp-check expect stringz x",
            "'tcp-check expect' : 'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf''[!]rbinary', '[!]binary-lf' or comment but got 'stringz' as argument..",
        ),
        (
            "tcp-check send-binary 0g",
            "'tcp-check send-binary' : '0g' invalid binary string (an hex digit is expected (found 'g')).",
        ),
        (
            "tcp-check send-binary 0a0",
            "'tcp-check send-binary' : '0a0' invalid binary string (an even number of hex digit is expected).",
        ),
        (
            "tcp-check expect binary 0g",
            "'tcp-check expect' : invalid binary string (an hex digit is expected (found 'g')).",
        ),
        (
            "tcp-check expect",
            "'tcp-check expect' : expects at least a matching pattern as arguments.",
        ),
        (
            "tcp-check foo",
            "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got 'foo'",
        ),
        (
            "tcp-check send",
            "'tcp-check send' : 'string' expects a send as argument.",
        ),
        (
            "tcp-check connect port 0",
            "'tcp-check connect' : expects a valid TCP port (from range 1 to 65535) or a sample expression, got 0..",
        ),
        (
            "dispatch foo",
            "'dispatch' : missing port specification in 'foo'",
        ),
        (
            "dispatch",
            "'dispatch' : '' resolves to an empty address (environment variable missing?)",
        ),
        (
            "option pgsql-check",
            "'option pgsql-check' expects 'user <username>' as argument.",
        ),
    ] {
        let text = format!("{DEFAULTS}backend b\n  {line}\n  server a 127.0.0.1:1\n");
        let (_, diags) = read(&text);
        let e = diags.errors().next().expect("an error");
        assert_eq!((e.line, e.message.as_str()), (7, expected), "{line}");
    }
}

#[test]
fn tcp_request_rules_keep_their_order_and_conditions() {
    let text = format!(
        "{DEFAULTS}frontend tls\n  bind :443\n  tcp-request connection reject if {{ src 10.0.0.0/8 }}\n  tcp-request inspect-delay 5s\n  tcp-request content accept if {{ req_ssl_hello_type 1 }}\n  use_backend db if {{ req.ssl_sni -i db.example.com }}\n  default_backend web\nbackend db\n  server a 127.0.0.1:1\nbackend web\n  server a 127.0.0.1:2\n"
    );
    let (cfg, diags) = read(&text);
    assert!(
        diags.iter().all(|d| !d.message.contains("not supported")),
        "{diags:?}"
    );
    let fe = &cfg.expect("valid").proxies[0];
    assert_eq!(fe.inspect_delay.map(|d| d.as_millis()), Some(5000));
    let layers: Vec<(TcpLayer, &TcpAction)> = fe
        .tcp_request
        .iter()
        .map(|r| (r.layer, &r.action))
        .collect();
    assert_eq!(
        layers,
        [
            (TcpLayer::Connection, &TcpAction::Reject),
            (TcpLayer::Content, &TcpAction::Accept)
        ]
    );
    let criteria: Vec<&Criterion> = fe
        .acls
        .iter()
        .flat_map(|a| a.patterns.iter().map(|p| &p.criterion))
        .collect();
    assert!(criteria.contains(&&Criterion::Src));
    assert!(criteria.contains(&&Criterion::SslHelloType));
}

#[test]
fn http_options_on_a_tcp_frontend_are_named_as_haproxy_does() {
    let text = "defaults\n  mode tcp\n  option httplog\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten fe\n  bind 127.0.0.1:18422\n  option forwardfor\n  server s1 127.0.0.1:18423\n";
    let (cfg, diags) = read(text);
    let warnings = lines_and_words(&diags);
    assert_eq!(
        warnings,
        [
            "3: 'option httplog' not usable with proxy 'fe' (needs 'mode http'). Falling back to 'option tcplog'.",
            "0: log format ignored for proxy 'fe' since it has no log address.",
            "0: 'option forwardfor' ignored for proxy 'fe' as it requires HTTP mode."
        ]
    );
    let fe = &cfg.expect("valid").proxies[0];
    assert!(fe.options.tcplog && !fe.options.httplog && fe.options.forwardfor.is_none());
}

#[test]
fn what_is_read_but_not_run_is_named() {
    let text = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend fe\n  bind :80\n  tcp-request content reject if { src 10.0.0.0/8 }\n  default_backend be\nbackend be\n  option tcp-check\n  tcp-check expect string OK on-error \"%[res.payload(0,0)]\"\n  server s 127.0.0.1:1 check\nfrontend ft\n  mode tcp\n  bind :81\n  tcp-request content set-src src\n  default_backend bt\nbackend bt\n  mode tcp\n  server s 127.0.0.1:1\n";
    let (cfg, diags) = read(text);
    assert!(cfg.is_some());
    let notes: Vec<String> = diags
        .iter()
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect();
    // Content rules run on each request of an HTTP frontend; in `mode
    // tcp` all but set-src and set-dst are.
    assert!(!notes.iter().any(|n| n.starts_with("8: ")), "{notes:?}");
    assert!(
        notes.contains(
            &"17: 'tcp-request content set-src|set-dst in mode tcp' parsed, not supported yet: the rule is not applied."
                .to_owned()
        ),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("12: 'tcp-check expect on-error log-format'")),
        "{notes:?}"
    );
}

// Input: a `mode tcp` frontend whose default backend is `mode http`
// (haproxy turns its connections into HTTP streams), alone, with
// `option tcplog`, and with a `use_backend` rule.
// Output: served as HTTP with nothing to say, `option tcplog` or not
// (its requests are logged as tcplog lines); with a rule, named as
// changing traffic, at the frontend's line.
#[test]
fn a_tcp_frontend_to_an_http_backend_is_upgraded() {
    let named = |extra: &str| {
        let text = format!("{DEFAULTS}frontend f\n  mode tcp\n  bind :80\n{extra}  default_backend be\nbackend be\n  mode http\n  server a 127.0.0.1:1\n");
        let cfg = read(&text).0.expect("valid");
        let upgraded = cfg.proxies[0].http_upgrade;
        let named: Vec<(u32, String, haven_core::config::support::Impact)> = cfg
            .unsupported
            .iter()
            .map(|u| (u.line, u.what.clone(), u.gap.impact))
            .collect();
        (upgraded, named)
    };
    use haven_core::config::support::Impact::Traffic;
    assert_eq!(named(""), (true, Vec::new()));
    assert_eq!(named("  option tcplog\n"), (true, Vec::new()));
    assert_eq!(
        named("  use_backend be if { src 10.0.0.0/8 }\n"),
        (
            false,
            vec![(
                6,
                "mode tcp frontend to mode http backend".to_owned(),
                Traffic
            )]
        )
    );
}

// Input: `option tcp-smart-connect` and `tcp-smart-accept` on the side
// each applies to, then each on the other side; a frontend in TCP mode
// with neither; in HTTP mode, one that says `no option tcp-smart-accept`
// and one with neither.
// Output: read as haproxy 2.6.12 reads them (its warnings for the wrong
// side, checked against `haproxy -c`); smart accept is on by default in
// HTTP mode only, and off when refused.
#[test]
fn smart_accept_and_connect_are_read_on_their_sides() {
    let text = format!(
        "{DEFAULTS}frontend fe\n  bind 127.0.0.1:9\n  option tcp-smart-accept\n  option tcp-smart-connect\n  default_backend be\nbackend be\n  option tcp-smart-connect\n  option tcp-smart-accept\n  server a 127.0.0.1:80\nfrontend plain\n  bind 127.0.0.1:10\n  default_backend be\nlisten web\n  mode http\n  no option tcp-smart-accept\n  bind 127.0.0.1:11\n  server s 127.0.0.1:81\nlisten site\n  mode http\n  bind 127.0.0.1:12\n  server s 127.0.0.1:82\n"
    );
    let (cfg, diags) = read(&text);
    let warnings = lines_and_words(&diags);
    assert_eq!(
        warnings,
        [
            "9: 'tcp-smart-connect' ignored because frontend 'fe' has no backend capability.",
            "13: 'tcp-smart-accept' ignored because backend 'be' has no frontend capability.",
        ]
    );
    let cfg = cfg.expect("valid");
    let accepts = |i: usize| {
        let p = &cfg.proxies[i];
        p.options.delays_accept_ack(p.mode, &p.binds[0])
    };
    assert!(accepts(0) && !accepts(2) && !accepts(3) && accepts(4));
    assert!(cfg.proxies[1].options.tcp_smart_connect);
    assert!(!cfg.proxies[0].options.tcp_smart_connect);
}

// Input: `switch-mode` lines haproxy refuses, each in a `mode tcp`
// frontend; a `bind ... proto none` in `mode http`; and the valid forms.
// Output: haproxy 2.6.12's words for each (checked with `haproxy -c`),
// and no error for `switch-mode http`, `proto h1`, `proto h2`, nor for
// `proto none` in `mode tcp`.
#[test]
fn switch_mode_lines_are_refused_in_haproxys_words() {
    let frontend = |mode: &str, bind: &str, rule: &str| {
        format!("{DEFAULTS}frontend f\n  mode {mode}\n  bind :80{bind}\n  tcp-request content {rule}\n  default_backend b\nbackend b\n  mode http\n  server s 127.0.0.1:1\n")
    };
    let refused = [
        ("switch-mode", "9: 'tcp-request switch-mode' expects a mode as argument."),
        ("switch-mode tcp", "9: 'tcp-request switch-mode' expects a valid mode (got 'tcp')."),
        ("switch-mode http proto", "9: 'tcp-request switch-mode': 'proto' expects a protocol as argument."),
        ("switch-mode http proto foo", "9: 'tcp-request switch-mode': 'proto' expects a valid MUX protocol, if specified (got 'foo')"),
        ("switch-mode http extra", "9: 'tcp-request content switch-mode' only accepts 'if' or 'unless', in frontend 'f' (got 'extra')"),
        ("switch-mode http proto none", "0: Proxy 'f': MUX protocol 'none' is not compatible with the selected mode."),
    ];
    for (rule, said) in refused {
        let (cfg, diags) = read(&frontend("tcp", "", rule));
        assert!(cfg.is_none(), "{rule}");
        assert_eq!(lines_and_words(&diags), [said], "{rule}");
    }
    let (_, diags) = read(&frontend("http", " proto none", "accept"));
    assert_eq!(
        lines_and_words(&diags),
        ["0: frontend 'f' : MUX protocol 'none' is not usable for 'bind :80' at [t.cfg:8]."]
    );
    for rule in [
        "switch-mode http",
        "switch-mode http proto h1",
        "switch-mode http proto h2",
    ] {
        let (cfg, diags) = read(&frontend("tcp", " proto none", rule));
        assert!(diags.errors().next().is_none(), "{rule}: {diags:?}");
        let cfg = cfg.expect("valid");
        assert!(cfg.unsupported.is_empty(), "{rule}: {:?}", cfg.unsupported);
        let action = &cfg.proxies[0].tcp_request[0].action;
        assert!(matches!(action, TcpAction::SwitchToHttp(_)), "{rule}");
    }
}

// Input: a `mode tcp` frontend to a `mode http` backend whose content
// rules switch HTTP connections (`switch-mode http if HTTP`), then
// refuse the rest; the same without the refusal; the first with
// `option tcplog`.
// Output: nothing to note for the first, nor the third: every
// connection let through is HTTP (and logged as a tcplog line); the
// second lets other connections reach the backend as TCP (haproxy would
// still make them HTTP), which is named.
#[test]
fn a_switch_to_http_is_noted_where_connections_could_stay_tcp() {
    let frontend = |rules: &str, option: &str| {
        format!("{DEFAULTS}frontend f\n  bind :80\n{option}  tcp-request inspect-delay 1s\n  tcp-request content switch-mode http if HTTP\n{rules}  default_backend b\nbackend b\n  mode http\n  server s 127.0.0.1:1\n")
    };
    let noted = |text: String| {
        let (cfg, diags) = read(&text);
        assert!(diags.errors().next().is_none(), "{diags:?}");
        let cfg = cfg.expect("valid");
        let what: Vec<String> = cfg.unsupported.iter().map(|u| u.what.clone()).collect();
        what
    };
    let none: [&str; 0] = [];
    assert_eq!(noted(frontend("  tcp-request content reject\n", "")), none);
    assert_eq!(
        noted(frontend("", "")),
        ["mode tcp frontend to mode http backend"]
    );
    let logged = frontend("  tcp-request content reject\n", "  option tcplog\n");
    assert_eq!(noted(logged), none);
}

// Input: checked servers without a port: one alone, one beside a
// `port`, one under `option tcp-check` whose first rule connects to a
// port, one whose first rule sends; and one unchecked.
// Output: haproxy 2.6.12's alerts for the first and the fourth (its
// words, `haproxy -c`), none for the others.
#[test]
fn a_checked_server_needs_a_port_to_check() {
    let text = format!(
        "{DEFAULTS}listen a\n  bind :80\n  server s1 127.0.0.1 check\n  server s2 127.0.0.1 check port 81\n  server s3 127.0.0.1\nbackend b\n  option tcp-check\n  tcp-check connect port 82\n  server s4 127.0.0.1 check\nbackend c\n  option tcp-check\n  tcp-check send PING\\r\\n\n  server s5 127.0.0.1:+1 check\n"
    );
    let (cfg, diags) = read(&text);
    assert!(cfg.is_none());
    let errors: Vec<String> = diags.errors().map(|d| d.message.clone()).collect();
    assert_eq!(
        errors,
        [
            "config: proxy 'a': server 's1' has neither service port nor check port.",
            "config: backend 'c': server 's5' has neither service port nor check port nor tcp_check rule 'connect' with port information.",
        ]
    );
}

// Input: a fixed port, none, `+1000` and `-444`, for a client that
// reached port 443.
// Output: the fixed port; the client's; shifted; none (below 0).
#[test]
fn a_server_connection_goes_to_its_port_else_the_clients_shifted() {
    use haven_core::config::haproxy::ServerPort;
    assert_eq!(ServerPort::Fixed(81).toward(443), Some(81));
    assert_eq!(ServerPort::Same.toward(443), Some(443));
    assert_eq!(ServerPort::Offset(1000).toward(443), Some(1443));
    assert_eq!(ServerPort::Offset(-444).toward(443), None);
}
