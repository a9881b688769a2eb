//! Real mode on loopback: in-process HTTP backends behind `haven_runtime`,
//! driven by raw HTTP/1.1 clients. Every wait polls with a deadline.

mod common;

use bytes::Bytes;
use common::{cli, config, first_read, free_port, get, listener, send_raw, Backend, DEFAULTS};
use haven_core::balance::{Balancer, PickKey};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// Input: roundrobin over weights 3:2:1, 12 sequential requests.
// Output: the servers answer in exactly the order core's balancer picks.
#[tokio::test]
async fn roundrobin_follows_cores_sequence() {
    let (a, b, c) = (
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    );
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    balance roundrobin\n    server a {} weight 3\n    server b {} weight 2\n    server c {} weight 1\n",
        a.addr, b.addr, c.addr
    );
    let cfg = config(&text);
    let mut balancer = Balancer::new(&cfg.proxies[1]);
    let key = PickKey {
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        uri: "/",
    };
    let expected: Vec<String> = (0..12)
        .map(|_| {
            let s = balancer.pick(key, None).expect("a server");
            balancer.release(s);
            ["a", "b", "c"][s].to_owned()
        })
        .collect();
    let running = haven_runtime::start(cfg).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut seen = Vec::new();
    for _ in 0..12 {
        let (status, body) = get(fe, "x", "/").await;
        assert_eq!(status, 200);
        seen.push(body);
    }
    assert_eq!(seen, expected);
    running.stop();
}

// Input: the book's section 14.3 haproxy.cfg with its addresses rewritten
// to loopback ports.
// Output: each Host reaches its pool; an unknown Host gets haproxy's 503.
#[tokio::test]
async fn host_acls_route_like_the_book() {
    let book = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/book-14.3/haproxy.cfg"
    ))
    .expect("the book's config");
    let (w, s, v) = (
        Backend::start("webapp1").await,
        Backend::start("webapp2").await,
        Backend::start("webapp3").await,
    );
    let port = free_port();
    let text = book
        .replace("bind *:80", &format!("bind 127.0.0.1:{port}"))
        .replace(
            "bind 0.0.0.0:9188",
            &format!("bind 127.0.0.1:{}", free_port()),
        )
        .replace("192.168.66.20:80", &w.addr.to_string())
        .replace("192.168.66.21:80", &s.addr.to_string())
        .replace("192.168.66.22:80", &v.addr.to_string());
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    for (host, server) in [
        ("www.zb.com", "webapp1"),
        ("static.zb.com", "webapp2"),
        ("video.zb.com", "webapp3"),
        ("WWW.ZB.COM", "webapp1"),
    ] {
        // The book's `option forwardfor` adds the client's address.
        let expected = format!("{server} xff=127.0.0.1");
        assert_eq!(get(fe, host, "/").await, (200, expected), "{host}");
    }
    let (status, body) = get(fe, "other.example", "/").await;
    assert_eq!(status, 503);
    assert_eq!(body, haven_core::proxy::error_body(503));
    running.stop();
}

// Input: two servers checked every 100 ms (fall 2), one killed mid-run.
// Output: no request fails (retries and redispatch cover the window) and,
// within a deadline, every request goes to the live server.
#[tokio::test]
async fn a_killed_server_goes_down_and_no_request_fails() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    balance roundrobin\n    server a {} check inter 100 fall 2 rise 2\n    server b {} check inter 100 fall 2 rise 2\n",
        a.addr, b.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    for _ in 0..4 {
        assert_eq!(get(fe, "x", "/").await.0, 200);
    }
    b.kill();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut only_a_streak = 0;
    while only_a_streak < 10 {
        assert!(tokio::time::Instant::now() < deadline, "b never went DOWN");
        let (status, body) = get(fe, "x", "/").await;
        assert_eq!(status, 200, "a request failed while a was up");
        only_a_streak = if body == "a" { only_a_streak + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop();
}

// Input: a request line that is not HTTP, a header far over the limit,
// conflicting Content-Lengths, bad chunking, each followed by a normal
// request on a new connection.
// Output: haproxy's 400 byte for byte and a close for each, and the next
// request is served.
#[tokio::test]
async fn malformed_and_oversized_requests_get_400_and_the_next_is_served() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "y".repeat(20_000)
    );
    let bad: [&[u8]; 4] = [
        b"GARBAGE\r\n\r\n",
        huge.as_bytes(),
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for request in bad {
        let reply = send_raw(fe, request).await;
        assert_eq!(reply, haven_core::proxy::error_response(400));
        assert_eq!(get(fe, "x", "/").await, (200, "a".to_owned()));
    }
    running.stop();
}

// Input: a chunked POST and a Content-Length POST pipelined on one
// keep-alive connection, then a GET with Connection: close.
// Output: three answers in order on the same connection, the bodies
// decoded and forwarded whole, then the close.
#[tokio::test]
async fn pipelined_requests_and_bodies_are_forwarded_in_order() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let reply = send_raw(
        fe,
        b"POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext\r\nde\r\n0\r\n\r\n\
          POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwxyz\
          GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let bodies: Vec<&str> = reply
        .split("HTTP/1.1 200 OK\r\n")
        .skip(1)
        .map(|r| r.split_once("\r\n\r\n").map_or("", |(_, b)| b))
        .collect();
    assert_eq!(bodies, ["a:abcde", "a:wxyz", "a"], "{reply}");
    assert!(reply.contains("connection: close\r\n"), "{reply}");
    running.stop();
}

// Input: `timeout http-request 300ms`; a client that sends half a head
// and stalls (slowloris), one that connects and sends nothing, and one
// idle between two keep-alive requests.
// Output: 408 with haproxy's page for the first two, after the timeout;
// the idle keep-alive connection is closed without a word.
#[tokio::test]
async fn slow_heads_get_408_and_idle_keep_alive_closes_quietly() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}    timeout http-request 300ms\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let started = tokio::time::Instant::now();
    let slow = send_raw(fe, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow:").await;
    assert_eq!(slow, haven_core::proxy::error_response(408));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        send_raw(fe, b"").await,
        haven_core::proxy::error_response(408)
    );
    let idle = send_raw(fe, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(idle.starts_with("HTTP/1.1 200 OK\r\n"), "{idle}");
    assert!(
        idle.ends_with("\r\n\r\na"),
        "nothing after the answer: {idle}"
    );
    running.stop();
}

// Input: `option http-ignore-probes`, `timeout http-request 200ms`; a
// client that connects and sends nothing, one that sends half a head.
// Output: the first is closed without a word (no 408); the second still
// gets haproxy's 408.
#[tokio::test]
async fn ignore_probes_closes_silent_connections_quietly() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}    timeout http-request 200ms\nfrontend fe\n    bind 127.0.0.1:{port}\n    option http-ignore-probes\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    assert_eq!(send_raw(fe, b"").await, "");
    assert_eq!(
        send_raw(fe, b"GET / HTTP/1.1\r\n").await,
        haven_core::proxy::error_response(408)
    );
    running.stop();
}

// Input: the silent client of a frontend with `option http-ignore-probes`
// and `timeout http-request 200ms`, with `option nolinger` and without.
// Output: with it the connection ends with a reset (the client's read
// fails with ECONNRESET), as haproxy's SO_LINGER 0 makes it; without it,
// with a graceful close (the read gives end of file).
#[tokio::test]
async fn nolinger_ends_connections_with_a_reset() {
    use tokio::io::AsyncReadExt;
    let a = Backend::start("a").await;
    for nolinger in [true, false] {
        let port = free_port();
        let option = if nolinger {
            "    option nolinger\n"
        } else {
            ""
        };
        let text = format!(
            "{DEFAULTS}    timeout http-request 200ms\nfrontend fe\n    bind 127.0.0.1:{port}\n    option http-ignore-probes\n{option}    default_backend be\nbackend be\n    server a {}\n",
            a.addr
        );
        let running = haven_runtime::start(config(&text)).await.expect("starts");
        let fe = running.listeners[0].1;
        let mut client = tokio::net::TcpStream::connect(fe).await.expect("connects");
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), client.read(&mut byte))
            .await
            .expect("closed within the timeout");
        match nolinger {
            true => assert_eq!(
                read.map_err(|e| e.kind()),
                Err(std::io::ErrorKind::ConnectionReset)
            ),
            false => assert_eq!(read.map_err(|e| e.kind()), Ok(0)),
        }
        running.stop();
    }
}

// Input: a stats listen with `stats scope .` and `stats scope be`, and a
// frontend `fe` beside them; the CSV asked plainly, then with
// `;scope=fe`.
// Output: only the listen itself and `be` are shown (haproxy matches the
// names exactly, `.` being the stats proxy); `fe` never is, even when the
// page's search asks for it.
#[tokio::test]
async fn stats_scope_limits_the_proxies_shown() {
    let a = Backend::start("a").await;
    let (port, stats_port) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\nbackend other\n    server a {}\nlisten st\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n    stats scope .\n    stats scope be\n",
        a.addr, a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let st = listener(&running, "st");
    let proxies = |csv: &str| -> Vec<String> {
        let mut names: Vec<String> = csv
            .lines()
            .skip_while(|l| !l.starts_with("# pxname"))
            .skip(1)
            .filter_map(|l| l.split(',').next().map(str::to_owned))
            .collect();
        names.dedup();
        names
    };
    let all = send_raw(
        st,
        b"GET /stats;csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(proxies(&all), ["be", "st"], "{all}");
    let searched = send_raw(
        st,
        b"GET /stats;csv;scope=fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(proxies(&searched).is_empty(), "{searched}");
    running.stop();
}

// Input: two servers behind roundrobin, a stats listen with auth, 4
// requests, then the stats URI without and with credentials.
// Output: 401 with the realm; then a CSV in haproxy's layout whose rows
// match the config and the traffic (2 + 2 picks, backend weight 2, UP).
#[tokio::test]
async fn stats_csv_matches_the_model_and_needs_auth() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let (port, stats_port) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {} check inter 100\n    server b {} check inter 100 backup\n    server c {}\nbackend dead\n    server x 127.0.0.1:{closed} check inter 100\nlisten st\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n    stats auth admin:secret\n    stats realm Haproxy\\ Statistics\n",
        a.addr, b.addr, a.addr, closed = free_port()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (fe, st) = (listener(&running, "fe"), listener(&running, "st"));
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut sent = 0;
    for _ in 0..4 {
        let reply = send_raw(fe, request).await;
        assert!(reply.ends_with("\r\n\r\na"), "{reply}");
        sent += reply.len();
    }
    let denied = send_raw(
        st,
        b"GET /stats;csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(
        denied.contains("www-authenticate: Basic realm=\"Haproxy Statistics\""),
        "{denied}"
    );
    // admin:secret; wait until the dead server's first check has failed.
    let fetch = || {
        send_raw(
            st,
            b"GET /stats;csv HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nConnection: close\r\n\r\n",
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut csv = fetch().await;
    while !csv.contains("\ndead,x,")
        || !csv
            .lines()
            .any(|l| l.starts_with("dead,x,") && l.contains(",DOWN,"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "x never went DOWN: {csv}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        csv = fetch().await;
    }
    let body = csv.split_once("\r\n\r\n").map(|(_, b)| b).expect("a body");
    let mut lines = body.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(&header[..3], ["# pxname", "svname", "qcur"]);
    assert_eq!(
        header.len(),
        105,
        "103 columns, '-', and the trailing comma"
    );
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches("# ") == name)
            .expect(name)
    };
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        names,
        [
            ("fe", "FRONTEND"),
            ("be", "a"),
            ("be", "b"),
            ("be", "c"),
            ("be", "BACKEND"),
            ("dead", "x"),
            ("dead", "BACKEND"),
            ("st", "FRONTEND"),
            ("st", "BACKEND")
        ]
    );
    let cell = |row: usize, name: &str| rows[row][col(name)];
    assert!(
        rows.iter().all(|r| r.len() == 105 && r[104].is_empty()),
        "trailing commas"
    );
    assert_eq!(cell(0, "stot"), "4");
    assert_eq!(cell(0, "hrsp_2xx"), "4");
    assert_eq!(cell(0, "status"), "OPEN");
    assert_eq!(
        (cell(1, "status"), cell(1, "lbtot"), cell(1, "act")),
        ("UP", "2", "1")
    );
    assert_eq!(
        (cell(2, "bck"), cell(2, "lbtot"), cell(2, "check_rise")),
        ("1", "0", "2")
    );
    assert_eq!((cell(3, "status"), cell(3, "lbtot")), ("no check", "2"));
    assert_eq!(
        (cell(4, "stot"), cell(4, "lbtot"), cell(4, "weight")),
        ("4", "4", "2")
    );
    assert_eq!(
        (cell(4, "act"), cell(4, "bck"), cell(4, "status")),
        ("2", "1", "UP")
    );
    assert_eq!(cell(4, "type"), "1");
    // Bytes: what the client sent and received, counted on every row.
    assert_eq!(cell(0, "bin"), (4 * request.len()).to_string());
    assert_eq!(cell(0, "bout"), sent.to_string());
    assert_eq!(cell(4, "bout"), sent.to_string());
    let by_servers: usize = [1, 3]
        .iter()
        .map(|r| cell(*r, "bout").parse::<usize>().expect("a number"))
        .sum();
    assert_eq!(by_servers, sent);
    // The dead server: one failed check while up, one UP->DOWN.
    assert_eq!((cell(5, "chkfail"), cell(5, "chkdown")), ("1", "1"));
    running.stop();
}

/// A server with maxconn 1 answering after 300 ms; request A takes the
/// slot, request B queues and its client closes. Returns how many requests
/// reached the server once A is answered and B had time to be sent.
async fn queued_client_leaves(abortonclose: bool) -> usize {
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let counter = Arc::clone(&hits);
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let counter = Arc::clone(&counter);
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"slow"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let port = free_port();
    let option = if abortonclose {
        "    option abortonclose\n"
    } else {
        ""
    };
    let text = format!(
        "{DEFAULTS}    timeout queue 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n{option}    server s {addr} maxconn 1\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let first = tokio::spawn(async move { get(fe, "x", "/a").await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while hits.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut queued = TcpStream::connect(fe).await.expect("connect");
    queued
        .write_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(queued);
    assert_eq!(first.await.expect("A"), (200, "slow".to_owned()));
    // A queued B is dispatched as soon as A's slot frees: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while hits.load(Ordering::SeqCst) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop();
    server.abort();
    hits.load(Ordering::SeqCst)
}

// Input: the queued request's client leaves, with and without `option
// abortonclose`.
// Output: with it, the request never reaches the server; without it, haproxy
// still sends it (the request was read in full).
#[tokio::test]
async fn abortonclose_drops_a_queued_request_whose_client_left() {
    assert_eq!(queued_client_leaves(true).await, 1, "B reached the server");
    assert_eq!(
        queued_client_leaves(false).await,
        2,
        "B was dropped without abortonclose"
    );
}

// Input: stats sockets at level user, at the default level (operator)
// with `mode 600`, and at level admin; `show info` and `disable server`
// on each.
// Output: every level shows; only admin changes a server, the others get
// haproxy's "Permission denied"; the socket file has mode 600.
#[tokio::test]
async fn stats_socket_levels_and_modes_are_enforced() {
    use std::os::unix::fs::PermissionsExt;
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name);
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level user\n    stats socket {} mode 600\n    stats socket {} level admin expose-fd listeners\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        path("user.sock").display(),
        path("operator.sock").display(),
        path("admin.sock").display(),
        a.addr,
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    for name in ["user.sock", "operator.sock", "admin.sock"] {
        let info = cli(&path(name), "show info").await;
        assert!(info.starts_with("Name: haven\n"), "{name}: {info}");
    }
    for name in ["user.sock", "operator.sock"] {
        let denied = cli(&path(name), "disable server be/a; set weight be/a 5").await;
        assert_eq!(
            denied, "Permission denied\n\nPermission denied\n\n",
            "{name}"
        );
    }
    assert_eq!(cli(&path("admin.sock"), "disable server be/a").await, "\n");
    assert_eq!(get(running.listeners[0].1, "x", "/").await.0, 503);
    let mode = std::fs::metadata(path("operator.sock"))
        .expect("socket file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    running.stop();
}

// Input: `stats socket` in global, two requests, then `show info; show
// stat`, an unknown command, disable/enable server and set weight on the
// socket, as socat sends them.
// Output: process info, the same CSV as the stats page, haproxy's
// "Unknown command" answer; a disabled server gets no traffic and shows
// MAINT, comes back when enabled, shows its new weight; unknown names get
// haproxy's "No such ..." answers.
#[tokio::test]
async fn the_stats_socket_reports_and_controls_servers() {
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} mode 600 level admin\n    stats socket ipv4@127.0.0.1:{tcp_port} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        sock.display(),
        a.addr,
        tcp_port = free_port()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    for _ in 0..2 {
        assert_eq!(get(fe, "x", "/").await.0, 200);
    }
    let out = cli(&sock, "show info; show stat").await;
    assert!(out.starts_with("Name: haven\n"), "{out}");
    let tcp_port = text
        .split("ipv4@127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("the TCP socket's port");
    let mut tcp = TcpStream::connect(format!("127.0.0.1:{tcp_port}"))
        .await
        .expect("the TCP stats socket");
    tcp.write_all(b"show info\n").await.expect("send");
    let mut over_tcp = String::new();
    tcp.read_to_string(&mut over_tcp).await.expect("read");
    assert!(over_tcp.starts_with("Name: haven\n"), "{over_tcp}");
    assert!(out.contains("\n# pxname,svname,qcur,"), "{out}");
    let backend = out
        .lines()
        .find(|l| l.starts_with("be,BACKEND,"))
        .expect("a backend row");
    assert_eq!(backend.split(',').nth(7), Some("2"), "stot: {backend}");
    let out = cli(&sock, "clear counters").await;
    assert!(
        out.starts_with("Unknown command: 'clear counters'"),
        "{out}"
    );

    // Maintenance: no traffic while disabled, back when enabled.
    assert_eq!(cli(&sock, "disable server be/a").await, "\n");
    assert_eq!(get(fe, "x", "/").await.0, 503);
    let row = |out: String| {
        out.lines()
            .find(|l| l.starts_with("be,a,"))
            .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
            .expect("server a's row")
    };
    let a_row = row(cli(&sock, "show stat").await);
    assert_eq!((a_row[17].as_str(), a_row[18].as_str()), ("MAINT", "1"));
    assert_eq!(
        cli(&sock, "enable server be/a; set weight be/a 7").await,
        "\n\n",
        "each command answers its empty line"
    );
    assert_eq!(get(fe, "x", "/").await.0, 200);
    let a_row = row(cli(&sock, "show stat").await);
    assert_eq!((a_row[17].as_str(), a_row[18].as_str()), ("no check", "7"));
    assert_eq!(
        cli(&sock, "disable server be/zz").await,
        "No such server.\n\n"
    );
    assert_eq!(
        cli(&sock, "set weight nope/a 1").await,
        "No such backend.\n\n"
    );

    // Drain: no new traffic, shown as DRAIN with its weight kept; ready
    // again afterwards. A percentage is of the configured weight (1).
    assert_eq!(cli(&sock, "set server be/a state drain").await, "\n");
    assert_eq!(get(fe, "x", "/").await.0, 503);
    let a_row = row(cli(&sock, "show stat").await);
    assert_eq!((a_row[17].as_str(), a_row[18].as_str()), ("DRAIN", "7"));
    let state = cli(&sock, "show servers state be").await;
    let line: Vec<&str> = state
        .lines()
        .nth(2)
        .expect("a server line")
        .split(' ')
        .collect();
    assert_eq!(state.lines().next(), Some("1"));
    // be_id be_name srv_id srv_name srv_addr op admin uweight iweight
    assert_eq!(
        line[..9],
        ["3", "be", "1", "a", "127.0.0.1", "2", "8", "7", "1"]
    );
    assert_eq!(line.len(), 25, "{state}");
    assert_eq!(
        cli(&sock, "show servers state nope").await,
        "Can't find backend.\n\n"
    );
    assert_eq!(
        cli(&sock, "set server be/a state ready; set weight be/a 300%").await,
        "\n\n"
    );
    assert_eq!(get(fe, "x", "/").await.0, 200);
    assert_eq!(row(cli(&sock, "show stat").await)[18], "3");

    // A disabled frontend refuses connections and shows PAUSED.
    assert_eq!(cli(&sock, "disable frontend fe").await, "\n");
    assert!(
        TcpStream::connect(fe).await.is_err(),
        "connection accepted while paused"
    );
    let out = cli(&sock, "show stat; disable frontend fe").await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("fe,FRONTEND,") && l.split(',').nth(17) == Some("PAUSED")),
        "{out}"
    );
    assert!(
        out.ends_with("All sockets are already disabled.\n\n"),
        "{out}"
    );
    assert_eq!(cli(&sock, "enable frontend fe").await, "\n");
    assert_eq!(get(fe, "x", "/").await.0, 200);
    assert_eq!(
        cli(&sock, "enable frontend nope").await,
        "No such frontend.\n\n"
    );
    running.stop();
}

// Input: `log 127.0.0.1:PORT local0` in global, `log global` and `option
// httplog` in defaults; a good request, a malformed one, and a server
// that dies under `check`.
// Output: RFC 3164 datagrams as haproxy sends them: `<134>` and the
// httplog line whose byte count is what the client received, `<134>` and
// `<BADREQ>` with `PR--`, then `<129>` for the server going DOWN.
#[tokio::test]
async fn logs_go_to_the_syslog_target_as_haproxy_sends_them() {
    let syslog = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    let a = Backend::start("a").await;
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let text = format!(
        "global\n    log {} local0\n    stats socket {}\n{DEFAULTS}    log global\n    option httplog\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {} check inter 100\n",
        syslog.local_addr().expect("addr"),
        sock.display(),
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let next = || async {
        let mut buf = vec![0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(5), syslog.recv(&mut buf))
            .await
            .expect("a datagram in time")
            .expect("recv");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let reply = send_raw(
        fe,
        b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let pid = std::process::id();
    let line = next().await;
    assert!(line.starts_with("<134>"), "{line}");
    assert!(
        line.contains(&format!(" haproxy[{pid}]: 127.0.0.1:")),
        "{line}"
    );
    let bytes = format!(" 200 {} - - ---- ", reply.len());
    assert!(
        line.contains(" fe be/a ") && line.contains(&bytes),
        "{line}"
    );
    assert!(line.ends_with(" \"GET /x HTTP/1.1\"\n"), "{line}");
    // The first connection is gone from the counts (its end reaches the
    // client a moment before): none current, one in all, and none in the
    // process (`CurrConns`, the log's `actconn`).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(cli(&sock, "show stat")
        .await
        .contains("fe,FRONTEND,,,0,1,,1,")
        && cli(&sock, "show info").await.contains("CurrConns: 0\n"))
    {
        assert!(tokio::time::Instant::now() < deadline, "still counted");
        tokio::task::yield_now().await;
    }
    send_raw(fe, b"NOT HTTP\r\n\r\n").await;
    let line = next().await;
    assert!(line.starts_with("<134>"), "{line}");
    assert!(
        line.contains(" fe fe/<NOSRV> -1/-1/-1/-1/")
            && line.ends_with(" 400 0 - - PR-- 1/1/0/0/0 0/0 \"<BADREQ>\"\n"),
        "{line}"
    );
    a.kill();
    let down = next().await;
    assert!(down.starts_with("<129>"), "{down}");
    assert!(
        down.contains(": Server be/a is DOWN, reason: Layer4 connection problem"),
        "{down}"
    );
    running.stop();
}

// Input: a metrics frontend on its own address with haproxy's
// `http-request use-service prometheus-exporter if { path /metrics }`,
// three requests through the traffic frontend, then GET /metrics.
// Output: a valid text exposition (every sample under its family's TYPE
// line) with haproxy's metric names and the traffic counted; other paths
// on the metrics frontend still go to its backend.
#[tokio::test]
async fn prometheus_metrics_use_haproxys_names() {
    let a = Backend::start("a").await;
    let (port, metrics_port) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nfrontend metrics\n    bind 127.0.0.1:{metrics_port}\n    http-request use-service prometheus-exporter if {{ path /metrics }}\n    default_backend be\nbackend be\n    server a {} check inter 100\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (fe, metrics) = (running.listeners[0].1, running.listeners[1].1);
    for _ in 0..3 {
        assert_eq!(get(fe, "x", "/").await, (200, "a".to_owned()));
    }
    assert_eq!(get(metrics, "x", "/other").await, (200, "a".to_owned()));
    let (status, body) = get(metrics, "x", "/metrics").await;
    assert_eq!(status, 200);
    let mut family = String::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            family = rest.split(' ').next().unwrap_or("").to_owned();
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            assert_eq!(name, family, "sample outside its family: {line}");
            let value = line.rsplit(' ').next().unwrap_or("");
            assert!(value == "NaN" || value.parse::<f64>().is_ok(), "{line}");
        }
    }
    for sample in [
        "haproxy_frontend_http_requests_total{proxy=\"fe\"} 3",
        "haproxy_frontend_status{proxy=\"fe\",state=\"UP\"} 1",
        "haproxy_backend_http_responses_total{proxy=\"be\",code=\"2xx\"} 4",
        "haproxy_backend_active_servers{proxy=\"be\"} 1",
        "haproxy_server_status{proxy=\"be\",server=\"a\",state=\"UP\"} 1",
        "haproxy_server_status{proxy=\"be\",server=\"a\",state=\"DOWN\"} 0",
        "haproxy_server_loadbalanced_total{proxy=\"be\",server=\"a\"} 4",
    ] {
        assert!(
            body.lines().any(|l| l == sample),
            "missing {sample}:\n{body}"
        );
    }
    running.stop();
}

// Input: `option forwardfor` plain, with `if-none`, and with `except
// 127.0.0.0/8`, for a loopback client with and without its own header.
// Output: the client's address is added, kept as sent, or left out.
#[tokio::test]
async fn forwardfor_adds_the_client_address_as_configured() {
    let a = Backend::start("a").await;
    let serve = |option: &'static str| {
        let port = free_port();
        let text = format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    option {option}\n    default_backend be\nbackend be\n    server a {}\n",
            a.addr
        );
        async move { haven_runtime::start(config(&text)).await.expect("starts") }
    };
    let with_header = |fe: SocketAddr| async move {
        let raw =
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n";
        let reply = send_raw(fe, raw).await;
        reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
    };
    let plain = serve("forwardfor").await;
    let fe = plain.listeners[0].1;
    assert_eq!(get(fe, "x", "/").await.1, "a xff=127.0.0.1");
    assert_eq!(
        with_header(fe).await.as_deref(),
        Some("a xff=1.2.3.4, 127.0.0.1")
    );
    plain.stop();
    let if_none = serve("forwardfor if-none").await;
    assert_eq!(
        with_header(if_none.listeners[0].1).await.as_deref(),
        Some("a xff=1.2.3.4")
    );
    if_none.stop();
    let except = serve("forwardfor except 127.0.0.0/8").await;
    assert_eq!(get(except.listeners[0].1, "x", "/").await.1, "a");
    except.stop();
}

// Input: three requests on one client connection with the default
// keep-alive, with `option http-server-close`, and two pipelined requests
// with `option httpclose`.
// Output: keep-alive reuses one server connection; http-server-close opens
// one per request; httpclose answers the first request with `connection:
// close` and ends the client connection there.
#[tokio::test]
async fn connection_modes_follow_httpclose_and_http_server_close() {
    let three = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (option, server_connections, answers) in [
        ("", 1, 3),
        ("    option http-server-close\n", 3, 3),
        ("    option httpclose\n", 1, 1),
    ] {
        let a = Backend::start("a").await;
        let port = free_port();
        let text = format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n{option}    default_backend be\nbackend be\n    server a {}\n",
            a.addr
        );
        let running = haven_runtime::start(config(&text)).await.expect("starts");
        let reply = send_raw(running.listeners[0].1, three).await;
        assert_eq!(
            reply.matches("HTTP/1.1 200 OK").count(),
            answers,
            "{option}: {reply}"
        );
        assert!(
            reply.ends_with("connection: close\r\n\r\na") || answers == 3,
            "{reply}"
        );
        assert_eq!(
            a.connections.load(Ordering::SeqCst),
            server_connections,
            "{option}"
        );
        running.stop();
    }
}

/// What a server read after its one answer: the end (`Ok(0)`), more
/// bytes, or how the connection broke.
type NextRead = Result<usize, std::io::ErrorKind>;

/// A server that reads one request head, answers a one-byte 200 and
/// reads again: what that read gave (within the deadline) comes on the
/// receiver.
async fn server_reading_after_its_answer() -> (SocketAddr, tokio::sync::oneshot::Receiver<NextRead>)
{
    let (heard, next_read) = tokio::sync::oneshot::channel();
    let server = common::raw::raw_server(|mut s| async move {
        common::raw::read_head(&mut s).await;
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na";
        s.write_all(answer).await.expect("answer");
        let mut more = [0u8; 64];
        let read = tokio::time::timeout(common::raw::DEADLINE, s.read(&mut more)).await;
        if let Ok(read) = read {
            let _ = heard.send(read.map_err(|e| e.kind()));
        }
    })
    .await;
    (server, next_read)
}

// Input: one request through haven with `option http-server-close`, then
// one with `http-reuse never` from a client that closes after it; each
// time the server answers and waits for the next request.
// Output: haven closes the server connection it no longer wants with a
// reset, as haproxy does, so no TIME-WAIT holds a local port on the
// proxy: the server's next read fails with ECONNRESET, not an end.
#[tokio::test]
async fn unwanted_server_connections_close_with_a_reset() {
    for option in ["option http-server-close", "http-reuse never"] {
        let (server, next_read) = server_reading_after_its_answer().await;
        let port = free_port();
        let text = format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    {option}\n    server s {server}\n"
        );
        let running = haven_runtime::start(config(&text)).await.expect("starts");
        let reply = send_raw(
            running.listeners[0].1,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        let read = next_read.await.ok();
        let reset = Err(std::io::ErrorKind::ConnectionReset);
        assert_eq!(read, Some(reset), "{option}");
        running.stop();
    }
}

// Input: an HTTP check (`option httpchk`), then the same with `http-check
// connect linger`; the server answers the check and waits for more.
// Output: as haproxy's, the check's connection ends with a reset, and
// with `linger` with a graceful close (the server reads an end).
#[tokio::test]
async fn a_check_resets_its_connection_unless_told_to_linger() {
    let linger = "\n    http-check connect linger\n    http-check send meth GET uri /";
    let reset = Err(std::io::ErrorKind::ConnectionReset);
    for (rules, expected) in [("", reset), (linger, Ok(0))] {
        let (server, next_read) = server_reading_after_its_answer().await;
        let port = free_port();
        let text = format!(
            "{DEFAULTS}listen fe\n    bind 127.0.0.1:{port}\n    option httpchk{rules}\n    server s {server} check inter 60s\n"
        );
        let running = haven_runtime::start(config(&text)).await.expect("starts");
        assert_eq!(next_read.await.ok(), Some(expected), "{rules}");
        running.stop();
    }
}

/// Connections a test server accepted, and those still open.
#[derive(Clone, Default)]
struct ConnCount {
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
}

/// A server answering each request with a one-byte 200 once `ready()`
/// is done, counting its connections.
async fn one_byte_server<R, F>(ready: R) -> (SocketAddr, ConnCount)
where
    R: Fn() -> F + Clone + Send + 'static,
    F: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = listener.local_addr().expect("addr");
    let count = ConnCount::default();
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (count, ready) = (counted.clone(), ready.clone());
            count.accepted.fetch_add(1, Ordering::SeqCst);
            count.open.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                    ready().await;
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na";
                    if stream.write_all(answer).await.is_err() {
                        break;
                    }
                }
                count.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (server, count)
}

// Input: 20 clients one after the other, each closing its connection
// after its one request (`Connection: close`), so none may take an idle
// server connection (`http-reuse safe`).
// Output: as haproxy, the pool keeps one idle connection to the server,
// not one per client: at most two are open at the server at the end
// (they used to pile up, one per client, until the ports ran out).
#[tokio::test]
async fn clients_that_close_do_not_pile_up_idle_server_connections() {
    let (server, count) = one_byte_server(|| async {}).await;
    let (running, fe) = common::raw::haven(server).await;
    for _ in 0..20 {
        let reply = send_raw(
            fe,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    }
    let open = || count.open.load(Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while open() > 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(open() <= 2, "{} server connections left open", open());
    running.stop();
}

// Input: three keep-alive clients sending three rounds of requests at
// once, to a server that answers a round only when all three of its
// requests are in.
// Output: the three server connections opened by the first round carry
// the next rounds: three were needed at once, so three stay idle between
// rounds (haproxy raises a server's estimated need with every use; the
// pool used to keep one idle connection until its first purge and close
// the others, so every round opened new ones).
#[tokio::test]
async fn keep_alive_clients_reuse_the_connections_they_needed() {
    let round = Arc::new(tokio::sync::Barrier::new(3));
    let (server, count) = one_byte_server(move || {
        let round = Arc::clone(&round);
        async move {
            round.wait().await;
        }
    })
    .await;
    let (running, front) = common::raw::haven(server).await;
    let connect = || async move { TcpStream::connect(front).await.expect("connect") };
    let mut clients = [connect().await, connect().await, connect().await];
    for _ in 0..3 {
        let [a, b, c] = &mut clients;
        let round = async {
            tokio::join!(
                ask_keeping_alive(a),
                ask_keeping_alive(b),
                ask_keeping_alive(c)
            )
        };
        tokio::time::timeout(Duration::from_secs(5), round)
            .await
            .expect("a round answered in time");
    }
    assert_eq!(
        count.accepted.load(Ordering::SeqCst),
        3,
        "server connections opened"
    );
    running.stop();
}

/// Sends a GET on `client`, keeping it open, and reads its one-byte
/// answer whole.
async fn ask_keeping_alive(client: &mut TcpStream) {
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while !reply.ends_with(b"\r\n\r\na") {
        let n = client.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&buf[..n]);
    }
    assert!(reply.starts_with(b"HTTP/1.1 200 OK"), "{reply:?}");
}

// Input: an HTTP frontend with `tcp-request connection reject if { src
// 127.0.0.0/8 }`.
// Output: every loopback client is reset at accept, before any request
// reaches the backend.
#[tokio::test]
async fn tcp_request_connection_rules_apply_to_http_frontends() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    tcp-request connection reject if {{ src 127.0.0.0/8 }}\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let read = first_read(running.listeners[0].1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "reset: {read:?}"
    );
    let reached = a.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reached, 0, "nothing reached the backend");
    running.stop();
}

/// Waits until haven has taken every connection off the accept queue of
/// its listener at `fe`.
async fn accepted(fe: SocketAddr) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while accept_queue(fe.port()) != Some(0) {
        assert!(tokio::time::Instant::now() < deadline, "never accepted");
        tokio::task::yield_now().await;
    }
}

/// How many connections wait in the accept queue of the loopback listener
/// on `port` (`rx_queue` of a LISTEN row in /proc/net/tcp).
fn accept_queue(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let local_port = cols.get(1)?.rsplit(':').next()?;
        let listening = cols.get(3) == Some(&"0A");
        let queued = cols.get(4)?.split(':').nth(1)?;
        (listening && u16::from_str_radix(local_port, 16).ok()? == port)
            .then(|| u64::from_str_radix(queued, 16).ok())
            .flatten()
    })
}

// Input: a client connection accepted but silent; a drain starts; then
// the client sends its request.
// Output: the drain waits for it; it is answered 200 (a soft stop owes
// every accepted connection its first answer); the drain then ends.
#[tokio::test]
async fn drain_answers_a_connection_accepted_before_it() {
    let a = Backend::start("a").await;
    let (running, fe) = common::raw::haven(a.addr).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    accepted(fe).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let drain = tokio::spawn(running.drain());
    while TcpStream::connect(fe).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still listening");
        tokio::task::yield_now().await;
    }
    // One thread runs every task here: yielding lets the drain and the
    // connection's task act before the request comes.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!drain.is_finished(), "the drain waits for the connection");
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut reply)).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .expect("the drain ends once the connection closed")
        .expect("drain task");
}

// Input: a keep-alive client served once, then idle; a drain starts.
// Output: haven closes the idle connection at once (no answer is owed
// it) and the drain ends; the client reads the end of the stream.
#[tokio::test]
async fn drain_closes_idle_keep_alive_connections() {
    let a = Backend::start("a").await;
    let (running, fe) = common::raw::haven(a.addr).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).await.expect("an answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    let drain = tokio::spawn(running.drain());
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    end.await.expect("the idle connection is closed");
    tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .expect("the drain ends")
        .expect("drain task");
}

// Input: `hard-stop-after 200ms`; a request to a server that never
// answers (`timeout server 30s`); a drain starts.
// Output: the drain does not wait for the answer: once the 200 ms are
// over it closes the connection (the client reads its end) and ends,
// saying connections had to be closed.
#[tokio::test]
async fn hard_stop_after_cuts_what_a_drain_still_waits_for() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            kept.push(s);
        }
    });
    let text = format!(
        "global\n    hard-stop-after 200ms\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\nfrontend fe\n    bind 127.0.0.1:{}\n    default_backend be\nbackend be\n    server s {server}\n",
        free_port()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    accepted(fe).await;
    let drain = tokio::spawn(running.drain());
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut rest));
    assert!(read.await.is_ok(), "the connection is closed");
    let drained = tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .expect("the drain ends")
        .expect("drain task");
    assert!(!drained, "the connection had to be cut");
    held.abort();
}

// Input: `errorfile 503` in defaults (an HTTP/1.0 page without a length,
// as Debian ships) and `errorfile 503` in one backend (HTTP/1.1, with a
// length and `Connection: close`); a request to each backend, neither of
// which has a server.
// Output: each gets its page as haproxy 2.6 sends it (bytes captured from
// haproxy 2.6.12): status line as written, names lower-cased, the file's
// `Connection` header replaced, then the connection closes.
#[tokio::test]
async fn errorfile_pages_replace_haproxys_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("503.http");
    std::fs::write(&plain, "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<h1>busy</h1>\n").expect("write");
    let own = dir.path().join("own.http");
    std::fs::write(&own, "HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\nX-Custom: Yes\r\n\r\nbusy\n").expect("write");
    let port = free_port();
    let text = format!(
        "{DEFAULTS}    errorfile 503 {}\nfrontend fe\n    bind 127.0.0.1:{port}\n    use_backend own if {{ path_beg /own }}\n    default_backend plain\nbackend plain\nbackend own\n    errorfile 503 {}\n",
        plain.display(),
        own.display()
    );
    let opts = haven_core::config::haproxy::ParseOptions {
        files: Some(|path| std::fs::read(path)),
        ..Default::default()
    };
    let parsed = haven_core::config::haproxy::parse(&[("t.cfg", &text)], &opts);
    let cfg = parsed.config.expect("valid");
    let running = haven_runtime::start(cfg).await.expect("starts");
    let fe = running.listeners[0].1;
    let ask = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        send_raw(fe, ask("/").as_bytes()).await,
        "HTTP/1.0 503 Service Unavailable\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<h1>busy</h1>\n"
    );
    assert_eq!(
        send_raw(fe, ask("/own").as_bytes()).await,
        "HTTP/1.1 503 Busy\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nx-custom: Yes\r\nconnection: close\r\n\r\nbusy\n"
    );
    running.stop();
}

// Input: one client connection left open and idle; a second that makes a
// request, on a logged frontend.
// Output: the request's line counts both connections, as haproxy's
// `actconn/feconn` do, and no other request on the backend or server
// (`beconn/srv_conn` once it let go): `2/2/0/0/0`.
#[tokio::test]
async fn log_lines_count_open_connections() {
    let syslog = common::raw::Syslog::new().await;
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{}{DEFAULTS}    log global\n    option httplog\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        syslog.global, a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let idle = TcpStream::connect(fe).await.expect("connect");
    accepted(fe).await;
    let (status, _) = get(fe, "x", "/").await;
    assert_eq!(status, 200);
    let line = syslog.next().await;
    assert!(
        line.contains(" 200 ") && line.contains(" ---- 2/2/0/0/0 0/0 "),
        "{line}"
    );
    drop(idle);
    running.stop();
}

// Input: servers without a port: `127.0.0.2` behind a frontend on port
// P, and `127.0.0.3:+1` behind one on port Q; backends listen on
// 127.0.0.2:P and 127.0.0.3:Q+1.
// Output: each request reaches the port its client reached (shifted by
// the offset), as haproxy connects.
#[tokio::test]
async fn a_server_without_a_port_takes_the_one_the_client_reached() {
    let (p, q) = (free_port(), free_port());
    let same = Backend::start_on("same", &format!("127.0.0.2:{p}")).await;
    let shifted = Backend::start_on("shifted", &format!("127.0.0.3:{}", q + 1)).await;
    let text = format!(
        "{DEFAULTS}frontend p\n    bind 127.0.0.1:{p}\n    default_backend same\nfrontend q\n    bind 127.0.0.1:{q}\n    default_backend shifted\nbackend same\n    server s 127.0.0.2\nbackend shifted\n    server s 127.0.0.3:+1\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    assert_eq!(
        get(listener(&running, "p"), "x", "/").await,
        (200, "same".to_owned())
    );
    assert_eq!(
        get(listener(&running, "q"), "x", "/").await,
        (200, "shifted".to_owned())
    );
    assert_eq!((same.addr.port(), shifted.addr.port()), (p, q + 1));
    running.stop();
}
