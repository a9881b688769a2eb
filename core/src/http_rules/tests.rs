use super::*;
use crate::config::haproxy::{parse, HaproxyConfig, ParseOptions};

fn config(rules: &str) -> HaproxyConfig {
    let text = format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\nfrontend fe\n bind :80\n{rules}\n default_backend be\nbackend be\n server s 127.0.0.1:8080\n"
    );
    let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
    parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics))
}

fn run(rules: &str, uri: &str, headers: &[(&str, &str)]) -> (Txn, Option<Answer>) {
    let cfg = config(rules);
    let fe = cfg.frontend("fe").expect("fe");
    let head = RequestHead {
        method: "GET",
        uri,
        headers: HeaderView::Pairs(headers),
        client: Some("10.0.0.1".parse().expect("valid")),
        payload: &[],
        around: Around::default(),
    };
    let mut txn = Txn::new(&head);
    let names = Names {
        frontend: "fe",
        ..Names::default()
    };
    let stop = txn.request_phase(fe, names);
    (txn, stop)
}

#[test]
fn a_deny_stops_the_rules_and_answers_403() {
    let (txn, stop) = run(
        " http-request deny if { path_beg /admin }\n http-request set-header x-after 1",
        "/admin/x",
        &[],
    );
    assert_eq!(
        stop,
        Some(Answer {
            status: 403,
            termination: "PR",
            reply: None,
            headers: Vec::new(),
        })
    );
    assert!(txn.edits.is_empty(), "no rule after the deny ran");
    let (txn, stop) = run(
        " http-request deny if { path_beg /admin }\n http-request set-header x-after 1",
        "/public",
        &[],
    );
    assert_eq!(stop, None);
    assert_eq!(txn.edits, [Edit::Set("x-after".into(), "1".into())]);
}

#[test]
fn headers_change_in_order_and_later_rules_see_them() {
    let (txn, _) = run(
        " http-request set-header x-a %[req.hdr(host),lower]\n http-request add-header x-b seen if { req.hdr(x-a) -m str example.com }\n http-request del-header x-drop\n http-request replace-value x-list ^a(.*) z\\1",
        "/",
        &[("Host", "Example.COM"), ("X-Drop", "1"), ("x-list", "a1, b, a2")],
    );
    assert_eq!(
        txn.edits,
        [
            Edit::Set("x-a".into(), "example.com".into()),
            Edit::Add("x-b".into(), "seen".into()),
            Edit::Del("x-drop".into()),
            Edit::Rewrite("x-list".into(), vec!["z1, b, z2".into()]),
        ]
    );
}

#[test]
fn the_request_line_changes_by_part() {
    let (txn, _) = run(
        " http-request set-path /new\n http-request set-query q=2\n http-request set-method POST",
        "/old?q=1",
        &[],
    );
    assert_eq!(
        (txn.method.as_str(), txn.uri.as_str()),
        ("POST", "/new?q=2")
    );
    let (txn, _) = run(
        " http-request replace-path /api/(.*) /v2/\\1",
        "/api/users?x",
        &[],
    );
    assert_eq!(txn.uri, "/v2/users?x");
}

#[test]
fn variables_addresses_and_returns() {
    let (txn, stop) = run(
        " http-request set-var(txn.p) path\n http-request set-src hdr(x-src)\n http-request return status 200 content-type text/plain lf-string \"%[var(txn.p)] from %[src]\" hdr x-empty \"%[req.hdr(none)]\" hdr x-v \"%[var(txn.p)]\"",
        "/p",
        &[("x-src", "192.0.2.7")],
    );
    assert_eq!(txn.client, Some("192.0.2.7".parse().expect("valid")));
    let Some(a) = stop else { panic!("{stop:?}") };
    assert_eq!((a.status, a.termination), (200, "LR"));
    let r = a.reply.expect("a written reply");
    assert_eq!(String::from_utf8_lossy(&r.body), "/p from 192.0.2.7");
    assert_eq!(
        r.headers,
        [
            ("content-type".to_owned(), "text/plain".to_owned()),
            ("x-v".to_owned(), "/p".to_owned())
        ],
        "a header whose value is empty is left out"
    );
}

#[test]
fn redirects_build_the_location() {
    let loc = |rule: &str, uri: &str| {
        let (_, stop) = run(rule, uri, &[("host", "example.com")]);
        match stop {
            Some(a) => {
                let r = a.reply.expect("reply");
                (r.status, r.headers[0].1.clone())
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        loc(" http-request redirect scheme https code 301", "/a?b"),
        (301, "https://example.com/a?b".into())
    );
    assert_eq!(
        loc(
            " http-request redirect prefix /v2 drop-query append-slash",
            "/a?b"
        ),
        (302, "/v2/a/".into())
    );
    assert_eq!(
        loc(" redirect location /moved", "/x"),
        (302, "/moved".into())
    );
}

#[test]
fn maps_and_pattern_files_are_read_through_the_callers_reader() {
    fn read(path: &str) -> std::io::Result<Vec<u8>> {
        match path {
            "hosts.map" => Ok(b"# host to backend\nexample.com be_a\n".to_vec()),
            "bad.lst" => Ok(b"10.0.0.0/8\n\n# comment\n".to_vec()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        }
    }
    let text = "defaults\n mode http\nfrontend fe\n bind :80\n acl bad src -f bad.lst\n http-request deny if bad\n http-request set-header x-be %[req.hdr(host),lower,map(hosts.map,none)]\n default_backend be\nbackend be\n server s 127.0.0.1:8080\n";
    let opts = ParseOptions {
        files: Some(read),
        ..ParseOptions::default()
    };
    let parsed = parse(&[("t.cfg", text)], &opts);
    let cfg = parsed.config.expect("parses");
    let fe = cfg.frontend("fe").expect("fe");
    let run = |client: &str, host: &str| {
        let headers = [("host", host)];
        let head = RequestHead {
            method: "GET",
            uri: "/",
            headers: HeaderView::Pairs(&headers),
            client: Some(client.parse().expect("ip")),
            payload: &[],
            around: Around::default(),
        };
        let mut txn = Txn::new(&head);
        let stop = txn.request_phase(fe, Names::default());
        (stop.map(|a| a.status), txn.edits)
    };
    assert_eq!(
        run("10.1.1.1", "x").0,
        Some(403),
        "the pattern file's network"
    );
    assert_eq!(
        run("192.0.2.1", "Example.COM"),
        (None, vec![Edit::Set("x-be".into(), "be_a".into())])
    );
    assert_eq!(
        run("192.0.2.1", "other").1,
        vec![Edit::Set("x-be".into(), "none".into())],
        "the map's default"
    );
    let missing = parse(&[("t.cfg", &text.replace("hosts.map", "nope.map"))], &opts);
    assert!(missing.config.is_none(), "a missing map file is an error");
}

// Input: rules that ban the client (`add-acl`), remember a value per key
// (`set-map`) and forget it (`del-map`), with an ACL and a converter
// reading the same files. Output: later requests see each edit.
#[test]
fn rules_edit_the_pattern_files_later_requests_read() {
    fn read(path: &str) -> std::io::Result<Vec<u8>> {
        match path {
            "m.map" => Ok(b"k1 v1\n".to_vec()),
            "deny.lst" => Ok(b"192.0.2.9\n".to_vec()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        }
    }
    let text = "defaults\n mode http\nfrontend fe\n bind :80\n acl banned src -f deny.lst\n http-request add-acl(deny.lst) %[src] if { path /ban }\n http-request deny if banned\n http-request set-map(m.map) %[req.hdr(x-k)] %[req.hdr(x-v)] if { path /set }\n http-request del-map(m.map) %[req.hdr(x-k)] if { path /del }\n http-request set-header x-v %[req.hdr(x-k),map(m.map,none)]\n default_backend be\nbackend be\n server s 127.0.0.1:8080\n";
    let opts = ParseOptions {
        files: Some(read),
        ..ParseOptions::default()
    };
    let cfg = parse(&[("t.cfg", text)], &opts).config.expect("parses");
    let fe = cfg.frontend("fe").expect("fe");
    let run = |client: &str, path: &str, headers: &[(&str, &str)]| {
        let head = RequestHead {
            method: "GET",
            uri: path,
            headers: HeaderView::Pairs(headers),
            client: Some(client.parse().expect("ip")),
            payload: &[],
            around: Around::default(),
        };
        let mut txn = Txn::new(&head);
        match txn.request_phase(fe, Names::default()) {
            Some(a) => format!("{}", a.status),
            _ => format!("{:?}", txn.edits),
        }
    };
    let value = |v: &str| format!("{:?}", [Edit::Set("x-v".into(), v.into())]);
    assert_eq!(run("10.0.0.1", "/", &[("x-k", "k2")]), value("none"));
    assert_eq!(
        run("10.0.0.1", "/set", &[("x-k", "k2"), ("x-v", "two")]),
        value("two")
    );
    assert_eq!(
        run("10.0.0.1", "/set", &[("x-k", "k1"), ("x-v", "one")]),
        value("one")
    );
    assert_eq!(run("10.0.0.1", "/del", &[("x-k", "k2")]), value("none"));
    assert_eq!(run("10.0.0.1", "/", &[("x-k", "k1")]), value("one"));
    assert_eq!(
        run("10.0.0.1", "/ban", &[]),
        "403",
        "banned by its own request"
    );
    assert_eq!(run("10.0.0.1", "/", &[]), "403");
    assert_eq!(run("10.0.0.2", "/", &[("x-k", "k1")]), value("one"));
}

// Input: a request with a header named `x-my_hdr`, under each setting
// of `option http-restrict-req-hdr-names`, after a rule that adds one.
// Output: preserve leaves it, delete removes it (and the one the rule
// added), reject answers 403 as a deny does.
#[test]
fn odd_header_names_are_kept_removed_or_refused() {
    let odd = [("x-my_hdr", "on"), ("x-fine", "1")];
    let rule = " http-request add-header x_added 1\n";
    let (txn, stop) = run(rule, "/", &odd);
    assert_eq!(stop, None);
    assert_eq!(txn.edits, [Edit::Add("x_added".into(), "1".into())]);
    let delete = format!("{rule} option http-restrict-req-hdr-names delete");
    let (txn, stop) = run(&delete, "/", &odd);
    assert_eq!(stop, None);
    assert_eq!(
        txn.edits,
        [
            Edit::Add("x_added".into(), "1".into()),
            Edit::Del("x-my_hdr".into()),
            Edit::Del("x_added".into()),
        ]
    );
    let (_, stop) = run(" option http-restrict-req-hdr-names reject", "/", &odd);
    assert_eq!(stop.map(|a| (a.status, a.termination)), Some((403, "PR")));
    let (_, stop) = run(" option http-restrict-req-hdr-names reject", "/", &odd[1..]);
    assert_eq!(stop, None);
}
