//! HTTP rules against real sockets: what `http-request`, `redirect` and
//! `http-response` rules decide reaches the client and the server.

#[allow(dead_code)]
mod common;

use common::{config, free_port, get, listener, send_raw, Backend, DEFAULTS};

// Input: `http-request deny if { path_beg /admin }` before a counting
// backend; a request for /admin, then one for /ok.
// Output: /admin gets haproxy's 403 page and no server connection is
// made for it; /ok is served.
#[tokio::test]
async fn a_deny_rule_stops_the_request_before_any_server() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request deny if {{ path_beg /admin }}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let (status, body) = get(fe, "x", "/admin/users").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("Request forbidden by administrative rules."),
        "{body}"
    );
    assert_eq!(a.connections.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(get(fe, "x", "/ok").await, (200, "a".to_owned()));
    running.stop();
}

// Input: a frontend that redirects /secure to https, sets a header from
// the Host and the path, rewrites the path, and sets a response header;
// its server is a second frontend of the same process that answers with
// `http-request return` what it received.
// Output: the redirect's Location; the server sees the new path and the
// header; the client sees the response header.
#[tokio::test]
async fn rules_rewrite_the_request_answer_and_redirect() {
    let (front, echo) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{front}\n    http-request redirect scheme https code 301 if {{ path_beg /secure }}\n    http-request set-header x-set \"%[req.hdr(host),lower]-%[path]\"\n    http-request set-path /rewritten\n    http-response set-header x-resp added\n    default_backend be\nbackend be\n    server e 127.0.0.1:{echo}\nfrontend echo\n    bind 127.0.0.1:{echo}\n    http-request return status 200 content-type text/plain lf-string \"%[path] %[req.hdr(x-set)]\"\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let reply = send_raw(
        fe,
        b"GET /a?q=1 HTTP/1.1\r\nHost: Example\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = reply.split_once("\r\n\r\n").expect("a response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("\r\nx-resp: added"), "{head}");
    assert_eq!(body, "/rewritten example-/a");
    let reply = send_raw(
        fe,
        b"GET /secure/x?y HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 301"), "{reply}");
    assert!(
        reply.contains("\r\nlocation: https://example/secure/x?y\r\n"),
        "{reply}"
    );
    running.stop();
}

// Input: a frontend tracking each client in a stick table storing
// `http_req_rate(10s)`, denying with 429 past 3 requests in the period;
// five requests in a row from one client.
// Output: the first three are served, the next two get haproxy's 429.
#[tokio::test]
async fn a_request_rate_past_the_limit_is_answered_429() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    stick-table type ip size 1k expire 30s store http_req_rate(10s)\n    http-request track-sc0 src\n    http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt 3 }}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(fe, "x", "/").await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(a.connections.load(std::sync::atomic::Ordering::SeqCst), 3);
    let (_, body) = get(fe, "x", "/").await;
    assert!(body.contains("<h1>429 Too Many Requests</h1>"), "{body}");
    running.stop();
}

// Input: `timeout tarpit 300ms` and `http-request tarpit deny_status 429
// hdr x-held yes` for /slow, logged with `option httplog`; a request for
// /slow, then one for /ok.
// Output: /slow is answered 429 with the header and no body, no sooner
// than 300 ms, no server connection made, logged `PT--` with the hold as
// its queue time and no request time; /ok is served.
#[tokio::test]
async fn a_tarpit_holds_the_request_then_answers_without_a_server() {
    let syslog = common::raw::Syslog::new().await;
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{}defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout tarpit 300ms\nfrontend fe\n    bind 127.0.0.1:{port}\n    http-request tarpit deny_status 429 hdr x-held yes if {{ path /slow }}\n    default_backend be\nbackend be\n    server a {}\n",
        syslog.global, a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let asked = std::time::Instant::now();
    let reply = send_raw(
        fe,
        b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(asked.elapsed() >= std::time::Duration::from_millis(300));
    assert!(
        reply.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("x-held: yes\r\n") && reply.ends_with("\r\n\r\n"),
        "{reply}"
    );
    assert_eq!(a.connections.load(std::sync::atomic::Ordering::SeqCst), 0);
    let line = syslog.next().await;
    let timers = line
        .split(' ')
        .find(|w| w.starts_with("-1/"))
        .expect("the timers");
    let held: u64 = timers
        .split('/')
        .nth(1)
        .and_then(|t| t.parse().ok())
        .expect("Tw");
    assert!(
        held >= 300 && line.contains(" 429 ") && line.contains(" PT-- "),
        "{line}"
    );
    assert_eq!(get(fe, "x", "/ok").await, (200, "a".to_owned()));
    running.stop();
}

// Input: a userlist with a plain and a SHA-512-crypt password, and
// `http-request auth realm Admin unless { http_auth(admins) }`; requests
// without credentials, with wrong ones and with each user's.
// Output: 401 with `www-authenticate: Basic realm="Admin"` and no server
// connection for the first two; the users are served.
#[tokio::test]
async fn http_auth_asks_for_credentials_a_userlist_accepts() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "userlist admins\n    user scott insecure-password elgato\n    user tiger password $6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request auth realm Admin unless {{ http_auth(admins) }}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    // Base64 of the `user:password` pairs.
    let ask = |credentials: Option<&str>| {
        let auth =
            credentials.map_or_else(String::new, |c| format!("Authorization: Basic {c}\r\n"));
        format!("GET / HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n")
    };
    for refused in [None, Some("c2NvdHQ6bm9wZQ==")] {
        let reply = send_raw(fe, ask(refused).as_bytes()).await;
        assert!(
            reply.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
            "{reply}"
        );
        assert!(
            reply.contains("\r\nwww-authenticate: Basic realm=\"Admin\"\r\n"),
            "{reply}"
        );
    }
    assert_eq!(a.connections.load(std::sync::atomic::Ordering::SeqCst), 0);
    for user in ["c2NvdHQ6ZWxnYXRv", "dGlnZXI6c2VjcmV0"] {
        let reply = send_raw(fe, ask(Some(user)).as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{user}: {reply}");
    }
    running.stop();
}

// Input: `http-request reject if { path /no }` before a counting backend;
// a request for /no, then one for /ok.
// Output: /no gets nothing at all (the connection closes) and no server
// connection; /ok is served.
#[tokio::test]
async fn a_reject_rule_closes_without_an_answer() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request reject if {{ path /no }}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let reply = send_raw(fe, b"GET /no HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(reply, "");
    assert_eq!(a.connections.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(get(fe, "x", "/ok").await, (200, "a".to_owned()));
    running.stop();
}

// Input: a backend whose `http-request wait-for-body time 200ms` applies
// to POSTs, behind a frontend without rules, with `timeout client 30s`;
// a POST that sends half its body and stops, then one that sends it all.
// Output: as in haproxy, the first gets a 408 logged `cR--` with its
// request line (the rule's time, not the client timeout, ended the
// wait); the second is served.
#[tokio::test]
async fn a_backend_wait_for_body_answers_408_when_the_body_stalls() {
    let syslog = common::raw::Syslog::new().await;
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{}defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 30s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    http-request wait-for-body time 200ms if {{ method POST }}\n    server a {}\n",
        syslog.global, a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let mut stalled = tokio::net::TcpStream::connect(fe).await.expect("connect");
    let half = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234";
    tokio::io::AsyncWriteExt::write_all(&mut stalled, half)
        .await
        .expect("send");
    let mut answer = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut stalled, &mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("an answer before the client timeout")
        .expect("read");
    assert_eq!(
        String::from_utf8_lossy(&answer),
        haven_core::proxy::error_response(408)
    );
    let line = syslog.next().await;
    assert!(
        line.contains(" 408 ")
            && line.contains(" cR-- ")
            && line.ends_with("\"POST /up HTTP/1.1\"\n"),
        "{line}"
    );
    let whole = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789";
    let reply = send_raw(fe, whole).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    running.stop();
}

// Input: a rule that answers /b with `%[var(proc.last)]`, then one that
// stores each request's path in `proc.last`; a request for /a, then one
// for /b.
// Output: /b sees the path /a's request stored: `proc.*` variables are
// the process's, not the transaction's.
#[tokio::test]
async fn process_variables_outlive_the_request_that_set_them() {
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request return status 200 content-type text/plain lf-string \"last=%[var(proc.last)]\" if {{ path /b }}\n    http-request set-var(proc.last) path\n    http-request return status 200 content-type text/plain string ok\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    assert_eq!(get(fe, "x", "/a").await, (200, "ok".to_owned()));
    assert_eq!(get(fe, "x", "/b").await, (200, "last=/a".to_owned()));
    running.stop();
}

// Input: `http-request set-log-level silent` for /health and
// `http-response set-log-level err` for answers of 404 path /missing,
// logged with `option httplog` to local0; requests for /health, /missing,
// then /ok.
// Output: /health leaves no line; /missing's line comes at priority
// local0.err (131); /ok's at local0.info (134), after it.
#[tokio::test]
async fn set_log_level_silences_or_raises_a_request_log_line() {
    let syslog = common::raw::Syslog::new().await;
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{}defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    http-request set-log-level silent if {{ path /health }}\n    http-response set-log-level err if {{ path /missing }}\n    default_backend be\nbackend be\n    server a {}\n",
        syslog.global, a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    for path in ["/health", "/missing", "/ok"] {
        assert_eq!(get(fe, "x", path).await.0, 200);
    }
    // Two lines, in either order: with a thread per CPU, the line of
    // /missing may come after that of /ok.
    let mut lines = [syslog.next().await, syslog.next().await];
    lines.sort_by_key(|l| l.contains("GET /ok"));
    let [missing, ok] = lines;
    assert!(
        missing.starts_with("<131>") && missing.contains("GET /missing"),
        "{missing}"
    );
    assert!(ok.starts_with("<134>") && ok.contains("GET /ok"), "{ok}");
    running.stop();
}

// Input: `timeout server 30s` and `http-request set-timeout server 200ms`
// for /quick, before a server that reads requests and never answers; a
// request for /quick.
// Output: haproxy's 504 comes after the rule's 200 ms, long before the
// backend's 30 s.
#[tokio::test]
async fn set_timeout_shortens_the_wait_for_the_server() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let port = free_port();
    let text = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    http-request set-timeout server 200ms if {{ path /quick }}\n    server s {addr}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let asked = std::time::Instant::now();
    let reply = send_raw(
        fe,
        b"GET /quick HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let waited = asked.elapsed();
    assert!(reply.starts_with("HTTP/1.1 504"), "{reply}");
    assert!(
        waited >= std::time::Duration::from_millis(200)
            && waited < std::time::Duration::from_secs(10),
        "{waited:?}"
    );
    running.stop();
}

// Input: two `early-hint link ...` rules; a request in HTTP/1.1, then one
// in HTTP/1.0.
// Output: the first answer starts with one `103 Early Hints` per rule, in
// order, then the server's 200; the HTTP/1.0 client gets the 200 alone.
#[tokio::test]
async fn early_hints_go_before_the_answer_to_http11_clients() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request early-hint link \"</a.css>; rel=preload\"\n    http-request early-hint link \"</b.js>; rel=preload\"\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let reply = send_raw(
        fe,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let hints = "HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </b.js>; rel=preload\r\n\r\n";
    assert!(reply.starts_with(hints), "{reply}");
    assert!(reply[hints.len()..].starts_with("HTTP/1.1 200"), "{reply}");
    let old = send_raw(fe, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").await;
    assert!(
        old.starts_with("HTTP/1.1 200") || old.starts_with("HTTP/1.0 200"),
        "{old}"
    );
    running.stop();
}

// Input: `tcp-request connection track-sc0 src` into a table storing
// `conn_cur` and `conn_rate(10s)`, and `tcp-request connection reject if
// { sc_conn_rate(0) gt 3 }`; five connections in a row, each with one
// request, then `show table fe`.
// Output: the first three are served; the fourth and fifth are closed
// unanswered; once all closed, the entry of 127.0.0.1 counts no current
// connection and a rate of 5.
#[tokio::test]
async fn connections_tracked_at_accept_are_refused_past_the_rate() {
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    stick-table type ip size 1k expire 30s store conn_cur,conn_rate(10s)\n    tcp-request connection track-sc0 src\n    tcp-request connection reject if {{ sc_conn_rate(0) gt 3 }}\n    default_backend be\nbackend be\n    server a {}\n",
        sock.display(),
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let mut served = Vec::new();
    for _ in 0..5 {
        let ask = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        // A refused connection is reset: connect, send or read fails.
        let first = common::first_read(fe, ask).await;
        served.push(first.is_ok_and(|n| n > 0));
    }
    assert_eq!(served, [true, true, true, false, false]);
    let deadline = tokio::time::Instant::now() + common::raw::DEADLINE;
    loop {
        let table = common::cli(&sock, "show table fe").await;
        if table.contains("key=127.0.0.1 ") && table.contains(" conn_rate(10000)=5 conn_cur=0")
            || table.contains(" conn_cur=0 conn_rate(10000)=5")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{table}");
        tokio::task::yield_now().await;
    }
    running.stop();
}

// Input: `tcp-request connection track-sc0 src` into a table storing
// `gpt0`, `tcp-request connection reject if { sc0_get_gpt0 gt 0 }`, and
// `http-request sc-set-gpt0(0) 1 if { path /ban }`; a request, a request
// to /ban, then another connection.
// Output: the first two are served (the tag is set after the second is
// let in); the third connection is closed unanswered, and `show table`
// shows the tag, as haproxy 2.6.12 does.
#[tokio::test]
async fn a_tag_set_by_a_rule_refuses_the_clients_next_connections() {
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    stick-table type ip size 1k expire 30s store gpt0,http_req_cnt\n    tcp-request connection track-sc0 src\n    tcp-request connection reject if {{ sc0_get_gpt0 gt 0 }}\n    http-request sc-set-gpt0(0) 1 if {{ path /ban }}\n    default_backend be\nbackend be\n    server a {}\n",
        sock.display(),
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let mut served = Vec::new();
    for path in ["/", "/ban", "/"] {
        let ask = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let first = common::first_read(fe, ask.as_bytes()).await;
        served.push(first.is_ok_and(|n| n > 0));
    }
    assert_eq!(served, [true, true, false]);
    let table = common::cli(&sock, "show table fe").await;
    assert!(table.contains(" gpt0=1 http_req_cnt=2"), "{table}");
    running.stop();
}

// Input: `http-request silent-drop if { path /drop }` and `http-request
// reject if { path /reject }`; one connection asks /drop, then another
// /reject, each waiting until haven has closed its side (`CurrConns`
// back to 0).
// Output: the rejected client reads the end of the connection (polled:
// on a busy host the FIN can reach the socket after the counter moved);
// the dropped one, closed before it, reads nothing at all (no FIN, no
// reset reached it), as with haproxy 2.6.12.
#[tokio::test]
async fn a_silent_drop_leaves_the_client_without_a_word() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request silent-drop if {{ path /drop }}\n    http-request reject if {{ path /reject }}\n    http-request return status 200\n",
        sock.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let mut clients = Vec::new();
    for (n, path) in ["/drop", "/reject"].into_iter().enumerate() {
        let mut c = tokio::net::TcpStream::connect(fe).await.expect("connect");
        let ask = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut c, ask.as_bytes())
            .await
            .expect("send");
        // The frontend's sessions: none current, n + 1 in all.
        let closed = format!("fe,FRONTEND,,,0,1,,{},", n + 1);
        let deadline = tokio::time::Instant::now() + common::raw::DEADLINE;
        while !common::cli(&sock, "show stat").await.contains(&closed) {
            assert!(tokio::time::Instant::now() < deadline, "{path} still open");
            tokio::task::yield_now().await;
        }
        // Asked of the socket itself: tokio's `try_read` answers
        // WouldBlock until its reactor has seen the socket readable.
        clients.push(c.into_std().expect("std socket"));
    }
    let heard = |c: &mut std::net::TcpStream| {
        let mut byte = [0u8; 1];
        match std::io::Read::read(c, &mut byte) {
            Ok(0) => "end".to_owned(),
            Ok(_) => "bytes".to_owned(),
            Err(e) => format!("{:?}", e.kind()),
        }
    };
    let deadline = std::time::Instant::now() + common::raw::DEADLINE;
    let rejected = loop {
        let read = heard(&mut clients[1]);
        if read != "WouldBlock" || std::time::Instant::now() > deadline {
            break read;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!([heard(&mut clients[0]), rejected], ["WouldBlock", "end"]);
    running.stop();
}
