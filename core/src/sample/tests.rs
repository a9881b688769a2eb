use super::*;
use crate::route::RequestHead;

fn with<T>(headers: &[(&str, &str)], vars: &Vars, f: impl FnOnce(&RequestHead<'_>) -> T) -> T {
    let req = RequestHead {
        method: "GET",
        uri: "/a/b.png?x=1&y=two",
        headers: HeaderView::Pairs(headers),
        client: Some("10.1.2.3".parse().expect("valid")),
        payload: b"",
        around: Around {
            src_port: Some(40000),
            dst: Some("192.168.0.1:80".parse().expect("valid")),
            vars: Some(vars),
            frontend: "fe",
            backend: "be",
            ..Around::default()
        },
    };
    f(&req)
}

fn eval(text: &str) -> Option<String> {
    let mut vars = Vars::default();
    vars.set(&VarName::parse("txn.n").expect("valid"), Value::Int(5));
    let headers = [("Host", "Example.com"), ("X-L", "a, b"), ("x-l", "c")];
    let expr = Expr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    with(&headers, &vars, |req| {
        expr.eval(req).map(|v| v.to_text().into_owned())
    })
}

#[test]
fn fetches_read_the_request_and_around_it() {
    assert_eq!(eval("path").as_deref(), Some("/a/b.png"));
    assert_eq!(eval("query").as_deref(), Some("x=1&y=two"));
    assert_eq!(eval("url_param(y)").as_deref(), Some("two"));
    assert_eq!(eval("hdr(host)").as_deref(), Some("Example.com"));
    assert_eq!(eval("hdr(x-l)").as_deref(), Some("c"), "the last value");
    assert_eq!(eval("hdr(x-l,1)").as_deref(), Some("a"));
    assert_eq!(eval("fhdr(x-l,1)").as_deref(), Some("a, b"));
    assert_eq!(eval("hdr(x-l,-2)").as_deref(), Some("b"));
    assert_eq!(eval("hdr(x-l,-4)"), None, "before the first");
    assert_eq!(eval("hdr(x-l,4)"), None, "past the last");
    assert_eq!(eval("fhdr(x-l)").as_deref(), Some("c"));
    assert_eq!(eval("fhdr(x-l,-2)").as_deref(), Some("a, b"));
    assert_eq!(eval("hdr_cnt(x-l)").as_deref(), Some("3"));
    assert_eq!(eval("req.fhdr_cnt(x-l)").as_deref(), Some("2"));
    assert_eq!(eval("req.hdr(absent)"), None);
    assert_eq!(eval("src").as_deref(), Some("10.1.2.3"));
    assert_eq!(eval("dst_port").as_deref(), Some("80"));
    assert_eq!(eval("var(txn.n)").as_deref(), Some("5"));
    assert_eq!(eval("var(txn.none,dflt)").as_deref(), Some("dflt"));
    assert_eq!(eval("base").as_deref(), Some("Example.com/a/b.png"));
    assert_eq!(eval("be_name").as_deref(), Some("be"));
}

#[test]
fn converters_chain() {
    assert_eq!(eval("hdr(host),lower").as_deref(), Some("example.com"));
    assert_eq!(eval("var(txn.n),add(3),mul(txn.n)").as_deref(), Some("40"));
    assert_eq!(eval("src,ipmask(16)").as_deref(), Some("10.1.0.0"));
    assert_eq!(eval("str(a:b:c),field(2,:)").as_deref(), Some("b"));
    assert_eq!(eval("str(hello),base64").as_deref(), Some("aGVsbG8="));
    assert_eq!(eval("str(aGVsbG8=),b64dec").as_deref(), Some("hello"));
    assert_eq!(eval("path,regsub(^/a/,/z/)").as_deref(), Some("/z/b.png"));
    // haproxy appends the three parts after the input.
    assert_eq!(eval("str(x),concat(<,txn.n,>)").as_deref(), Some("x<5>"));
    assert_eq!(eval("int(3),sub(txn.none)"), None, "an absent operand");
}

#[test]
fn bad_expressions_say_why() {
    assert_eq!(
        Expr::parse("nosuch(1)"),
        Err(ParseError::UnknownFetch("nosuch".into()))
    );
    assert_eq!(
        Expr::parse("path,nosuch"),
        Err(ParseError::UnknownConverter("nosuch".into()))
    );
    assert!(matches!(Expr::parse("var(bad)"), Err(ParseError::Bad(_))));
    assert!(matches!(Expr::parse("hdr()"), Err(ParseError::Bad(_))));
    assert!(matches!(
        Expr::parse("str(x),add(q)"),
        Err(ParseError::Bad(_))
    ));
}

#[test]
fn formats_mix_text_samples_and_aliases() {
    let vars = Vars::default();
    let f = Format::parse("%ci:%cp %[hdr(host),lower] 100%% %[req.hdr(none)]|").expect("valid");
    let text = with(&[("host", "A")], &vars, |req| f.render(req));
    assert_eq!(text, "10.1.2.3:40000 a 100% |");
    assert_eq!(
        Format::parse("plain").expect("valid").fixed(),
        Some("plain")
    );
    assert!(Format::parse("%[path").is_err());
    assert_eq!(
        Format::parse("%zz"),
        Err(ParseError::UnknownAlias("zz".into()))
    );
}

#[test]
fn acl_matching_sees_every_occurrence() {
    let vars = Vars::default();
    let expr = Expr::parse("hdr(x-l)").expect("valid");
    let values = vec!["b".to_owned()];
    let hit = with(&[("x-l", "a, b"), ("x-l", "c")], &vars, |req| {
        expr.any(req, &mut |v| Match::Str.hit(v, &values, false))
    });
    assert!(hit, "a middle occurrence matches in an ACL");
}

// Input: `sha1` of `abc`, and of a WebSocket key with RFC 6455's GUID.
// Output: the digest, and the accept value RFC 6455 §1.3 gives.
#[test]
fn sha1_digests_and_websocket_accepts() {
    let abc = eval("str(abc),sha1,hex");
    assert_eq!(
        abc.as_deref(),
        Some("A9993E364706816ABA3E25717850C26C9CD0D89D")
    );
    let accept =
        "str(dGhlIHNhbXBsZSBub25jZQ==),concat(258EAFA5-E914-47DA-95CA-C5AB0DC85B11,,),sha1,base64";
    assert_eq!(
        eval(accept).as_deref(),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
}

// Input: `sha2` at each size, on `abc`, shown as hex and base64.
// Output: the digests haproxy 2.6.12 gives (checked on loopback with an
// `http-request return` of the same expressions); an unknown size is
// refused in haproxy's words.
#[test]
fn sha2_digests_as_haproxy_computes_them() {
    let cases = [
        (
            "str(abc),sha2,hex",
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        ),
        (
            "str(abc),sha2(224),hex",
            "23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7",
        ),
        (
            "str(abc),sha2(384),base64",
            "ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn",
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr).as_deref(), Some(want), "{expr}");
    }
    let err = Expr::parse("str(abc),sha2(100)").expect_err("100 bits");
    assert_eq!(
        err.to_string(),
        "invalid args in converter 'sha2' : Unsupported number of bits: '100'"
    );
}
