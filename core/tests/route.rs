//! Routing through parsed configs: ACL criteria, `-i`, `hdr_dom`
//! boundaries, Host with a port, `!`, `||`, and the fallbacks.

use haven_core::config::haproxy::{parse, HaproxyConfig, ParseOptions};
use haven_core::route::{route, RequestHead};
use haven_core::sample::HeaderView;

fn config(text: &str) -> HaproxyConfig {
    let parsed = parse(&[("t.cfg", text)], &ParseOptions::default());
    parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics))
}

/// The backend name `frontend` picks for `method uri` with `headers`.
fn pick(cfg: &HaproxyConfig, method: &str, uri: &str, headers: &[(&str, &str)]) -> Option<String> {
    let fe = cfg
        .frontend("f")
        .or_else(|| cfg.frontend("www"))
        .expect("frontend");
    let req = RequestHead {
        method,
        uri,
        headers: HeaderView::Pairs(headers),
        client: None,
        payload: &[],
        around: Default::default(),
    };
    route(&cfg.proxies, fe, &req).map(|i| cfg.proxies[i].name.clone())
}

const BOOK: &str = include_str!("../../scenarios/book-14.3/haproxy.cfg");

#[test]
fn book_sites_by_host_case_insensitive_with_port() {
    let cfg = config(BOOK);
    let host = |h: &str| pick(&cfg, "GET", "/", &[("Host", h)]);
    assert_eq!(host("www.zb.com").as_deref(), Some("server_www"));
    assert_eq!(host("WWW.ZB.COM").as_deref(), Some("server_www"), "-i");
    assert_eq!(
        host("www.zb.com:80").as_deref(),
        Some("server_www"),
        "port bounded by ':'"
    );
    assert_eq!(host("static.zb.com").as_deref(), Some("server_static"));
    assert_eq!(host("video.zb.com").as_deref(), Some("server_video"));
    assert_eq!(
        host("img.zb.com"),
        None,
        "no match, no default_backend: 503"
    );
    assert_eq!(
        pick(&cfg, "GET", "/", &[("host", "www.zb.com")]).as_deref(),
        Some("server_www"),
        "header name any case"
    );
    assert_eq!(pick(&cfg, "GET", "/", &[]), None, "no Host at all");
}

fn rules() -> HaproxyConfig {
    config(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n\
         frontend f\n  bind :80\n\
         \x20 acl exact hdr(host) example.com\n\
         \x20 acl dom hdr_dom(host) example.com\n\
         \x20 acl api path_beg /api\n\
         \x20 acl img path_end .jpg\n\
         \x20 acl q url_beg /q?\n\
         \x20 acl post method POST\n\
         \x20 acl exactpath path /exact\n\
         \x20 use_backend be_exact if exact\n\
         \x20 use_backend be_q if q\n\
         \x20 use_backend be_post_api if post api\n\
         \x20 use_backend be_img_or_exactpath if img || exactpath\n\
         \x20 use_backend be_not_api if dom !api\n\
         \x20 use_backend be_anon if { hdr_beg(host) -i api. }\n\
         \x20 default_backend be_default\n\
         backend be_exact\nbackend be_q\nbackend be_post_api\nbackend be_img_or_exactpath\nbackend be_not_api\nbackend be_anon\nbackend be_default\n",
    )
}

#[test]
fn criteria_negation_or_and_default() {
    let cfg = rules();
    let r = |m: &str, u: &str, h: &str| pick(&cfg, m, u, &[("Host", h)]);
    assert_eq!(r("GET", "/", "example.com").as_deref(), Some("be_exact"));
    assert_eq!(
        r("GET", "/", "EXAMPLE.com").as_deref(),
        Some("be_default"),
        "case-sensitive without -i"
    );
    assert_eq!(
        r("GET", "/", "example.com:8080").as_deref(),
        Some("be_not_api"),
        "hdr() includes the port; hdr_dom does not care"
    );
    assert_eq!(
        r("GET", "/", "example.com.evil.org").as_deref(),
        Some("be_not_api"),
        "hdr_dom matches on dot boundaries"
    );
    assert_eq!(
        r("GET", "/", "notexample.com").as_deref(),
        Some("be_default")
    );
    assert_eq!(
        r("GET", "/api/x", "www.example.com").as_deref(),
        Some("be_default"),
        "!api fails"
    );
    assert_eq!(
        r("POST", "/api/x", "x").as_deref(),
        Some("be_post_api"),
        "implicit AND"
    );
    assert_eq!(r("GET", "/api/x", "x").as_deref(), Some("be_default"));
    assert_eq!(
        r("GET", "/a/b.jpg", "x").as_deref(),
        Some("be_img_or_exactpath")
    );
    assert_eq!(
        r("GET", "/a/b.JPG", "x").as_deref(),
        Some("be_default"),
        "path_end is case-sensitive"
    );
    assert_eq!(
        r("GET", "/exact?x=1", "x").as_deref(),
        Some("be_img_or_exactpath"),
        "path excludes the query"
    );
    assert_eq!(r("GET", "/exact/", "x").as_deref(), Some("be_default"));
    assert_eq!(
        r("GET", "/q?x=1", "x").as_deref(),
        Some("be_q"),
        "url_beg includes the query"
    );
    assert_eq!(
        r("GET", "/", "API.example.org").as_deref(),
        Some("be_anon"),
        "anonymous ACL with -i"
    );
}

#[test]
fn unless_inverts() {
    let cfg = config(
        "frontend f\n  mode http\n  bind :80\n  timeout client 1s\n  acl internal hdr_end(host) .internal\n  use_backend public unless internal\n  default_backend private\nbackend public\n  mode http\n  timeout connect 1s\n  timeout server 1s\nbackend private\n  mode http\n  timeout connect 1s\n  timeout server 1s\n",
    );
    assert_eq!(
        pick(&cfg, "GET", "/", &[("Host", "a.example.com")]).as_deref(),
        Some("public")
    );
    assert_eq!(
        pick(&cfg, "GET", "/", &[("Host", "db.internal")]).as_deref(),
        Some("private")
    );
}

// Input: rules on haproxy's predefined ACLs TRUE, FALSE, METH_POST and
// METH_GET (which also matches HEAD); `HTTP_URL_ABS`, which haven does not
// evaluate.
// Output: each routes as haproxy's definition says; the unevaluated one
// never matches and is named among the config's unsupported keywords.
#[test]
fn predefined_acls_route_as_haproxy_defines_them() {
    let cfg = config("defaults\n    mode http\nfrontend f\n    bind :80\n    use_backend never if FALSE\n    use_backend abs if HTTP_URL_ABS\n    use_backend post if METH_POST\n    use_backend get if METH_GET\n    use_backend any if TRUE\nbackend never\nbackend abs\nbackend post\nbackend get\nbackend any\n");
    let by = |method: &str| pick(&cfg, method, "/", &[]);
    assert_eq!(by("POST").as_deref(), Some("post"));
    assert_eq!(by("HEAD").as_deref(), Some("get"));
    assert_eq!(by("DELETE").as_deref(), Some("any"));
    let named: Vec<&str> = cfg.unsupported.iter().map(|u| u.what.as_str()).collect();
    assert_eq!(named, ["acl predefined HTTP_URL_ABS"]);
}
