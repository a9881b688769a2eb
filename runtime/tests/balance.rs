//! Which server a request goes to, beyond the algorithm: against a running
//! haven and real servers on loopback.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::*;
use std::net::SocketAddr;

/// The servers that answered `n` requests sent on one keep-alive
/// connection, in order.
async fn answered_on_one_connection(fe: SocketAddr, n: usize) -> Vec<String> {
    let mut requests = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n - 1);
    requests.push_str("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let reply = send_raw(fe, requests.as_bytes()).await;
    reply
        .split("HTTP/1.1 ")
        .skip(1)
        .map(|r| r.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned())
        .collect()
}

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
