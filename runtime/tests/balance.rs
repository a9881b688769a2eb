//! Which server a request goes to, beyond the algorithm: against a running
//! haven and real servers on loopback.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::raw::answered_on_one_connection;
use common::*;
use std::net::SocketAddr;

// Input: a roundrobin backend of two servers with `http-reuse never`
// (each client session keeps its server connection), with and without
// `option prefer-last-server`, and with it under `balance source`; two
// clients sending four requests each on one connection.
// Output: as haproxy 2.6 does on loopback — without the option, each
// request is balanced afresh (a b a b); with it, each client stays on the
// server of its first request (a a a a, then b b b b); a hash-based
// algorithm ignores the option.
#[tokio::test]
async fn prefer_last_server_keeps_a_session_on_its_server() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let run = |extra: &'static str| {
        let port = free_port();
        let text = format!(
            "{DEFAULTS}listen f\n    bind 127.0.0.1:{port}\n    http-reuse never\n{extra}    server a {}\n    server b {}\n",
            a.addr, b.addr
        );
        async move {
            let running = haven_runtime::start(config(&text)).await.expect("starts");
            let fe = running.listeners[0].1;
            let first = answered_on_one_connection(fe, 4).await;
            let second = answered_on_one_connection(fe, 4).await;
            running.stop();
            [first.join(" "), second.join(" ")]
        }
    };
    assert_eq!(run("").await, ["a b a b", "a b a b"]);
    assert_eq!(
        run("    option prefer-last-server\n").await,
        ["a a a a", "b b b b"]
    );
    let hashed = run("    option prefer-last-server\n    balance source\n").await;
    assert_eq!(hashed[0], hashed[1], "one source, one server");
}

/// A server answering every request with 200 and the address the
/// connection came from.
async fn peer_echo() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, peer)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let body = peer.ip().to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

// Input: a backend with `source 127.0.0.3`, one with `source 0.0.0.0
// usesrc clientip`, and a server line with its own `source 127.0.0.4`
// (over its backend's); a client connecting from 127.0.0.9.
// Output: the server sees each connection come from the address the
// line names, and with `usesrc clientip` from the client's own address.
#[tokio::test]
async fn source_chooses_where_server_connections_come_from() {
    let server = peer_echo().await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    use_backend plain if {{ path /plain }}\n    use_backend own if {{ path /own }}\n    default_backend transparent\nbackend plain\n    source 127.0.0.3\n    server s {server}\nbackend own\n    source 127.0.0.3\n    server s {server} source 127.0.0.4\nbackend transparent\n    source 0.0.0.0 usesrc clientip\n    server s {server}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let from_client = |path: &'static str| async move {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.9:0".parse().expect("addr"))
            .expect("bind");
        let mut s = socket.connect(fe).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(request.as_bytes()).await.expect("send");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        out.split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned())
    };
    assert_eq!(from_client("/plain").await, "127.0.0.3");
    assert_eq!(from_client("/own").await, "127.0.0.4");
    assert_eq!(from_client("/other").await, "127.0.0.9");
    running.stop();
}

/// An agent on loopback answering every connection with the line `reply`
/// holds (changeable); its port.
async fn agent(reply: std::sync::Arc<std::sync::Mutex<&'static str>>) -> u16 {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let line = format!("{}\n", *reply.lock().expect("reply"));
            let _ = s.write_all(line.as_bytes()).await;
        }
    });
    port
}

// Input: two servers; `a` has `agent-check` with `agent-inter 50ms`; its
// agent says `down`, then `up 50%`.
// Output: while down, every request goes to `b`; once up again at half
// weight, `a` serves again, with weight 50 (of 100) in the stats.
#[tokio::test]
async fn an_agent_sets_a_servers_health_and_weight() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let reply = std::sync::Arc::new(std::sync::Mutex::new("down"));
    let port = agent(std::sync::Arc::clone(&reply)).await;
    let fe = free_port();
    let text = format!(
        "{DEFAULTS}listen f\n    bind 127.0.0.1:{fe}\n    server a {} weight 100 agent-check agent-port {port} agent-inter 50ms\n    server b {} weight 100\n    stats enable\n    stats uri /stats\n",
        a.addr, b.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let until = |what: &'static str, want: fn(&str) -> bool| async move {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let (_, csv) = get(fe, "x", "/stats;csv").await;
            let row = csv
                .lines()
                .find(|l| l.starts_with("f,a,"))
                .unwrap_or("")
                .to_owned();
            if want(&row) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {row}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    until("a down", |row| row.contains(",DOWN (agent),")).await;
    for _ in 0..4 {
        assert_eq!(get(fe, "x", "/").await, (200, "b".to_owned()));
    }
    *reply.lock().expect("reply") = "up 50%";
    until("a up at 50", |row| row.contains(",no check,50,")).await;
    let answers: Vec<String> = six_answers(fe).await;
    assert!(answers.iter().any(|s| s == "a"), "{answers:?}");
    running.stop();
}

/// The servers that answered six requests in a row.
async fn six_answers(fe: SocketAddr) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(get(fe, "x", "/").await.1);
    }
    out
}

// Input: a listen section with `option transparent`, no server, and
// `http-request set-dst-port` pointing at a second frontend that answers
// with the path it got.
// Output: the request reaches the address its client connected to, with
// the port the rule set.
#[tokio::test]
async fn option_transparent_sends_to_the_clients_destination() {
    let (sender, receiver) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}listen sender\n    bind 127.0.0.1:{sender}\n    option transparent\n    http-request set-dst-port int({receiver})\nfrontend receiver\n    bind 127.0.0.1:{receiver}\n    http-request return status 200 content-type text/plain lf-string \"got %[path]\"\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "sender");
    assert_eq!(get(fe, "x", "/there").await, (200, "got /there".to_owned()));
    running.stop();
}
