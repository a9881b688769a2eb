//! Persistence by cookie against real sockets: the cookie haproxy inserts
//! brings a client back to its server while that server runs, whatever
//! its weight, and the client moves on when the server stops.

#[allow(dead_code)]
mod common;

use common::{config, free_port, send_raw, Backend, DEFAULTS};
use std::net::SocketAddr;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Sends a GET with `cookie` (when given); the response head and body.
async fn get_with_cookie(fe: SocketAddr, cookie: Option<&str>) -> (String, String) {
    let cookie = cookie.map_or_else(String::new, |c| format!("Cookie: {c}\r\n"));
    let request = format!("GET / HTTP/1.1\r\nHost: x\r\n{cookie}Connection: close\r\n\r\n");
    let reply = send_raw(fe, request.as_bytes()).await;
    let (head, body) = reply.split_once("\r\n\r\n").expect("a response");
    (head.to_owned(), body.to_owned())
}

/// One command on the stats socket at `sock`; its answer.
async fn ask(sock: &Path, line: &str) -> String {
    let mut s = UnixStream::connect(sock).await.expect("the stats socket");
    s.write_all(line.as_bytes()).await.expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

// Input: `cookie SRV insert indirect nocache` over servers a (cookie ca)
// and b (cookie cb); requests without the cookie, with SRV=cb, with
// SRV=cb after b's weight went to 0, and after b was disabled.
// Output: the first gets `Set-Cookie: SRV=ca; path=/`; SRV=cb reaches b
// with no new cookie, also at weight 0 (while new clients go to a); once
// b is disabled the client lands on a and is given a's cookie.
#[tokio::test]
async fn a_cookie_keeps_the_client_on_its_server_until_it_stops() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    cookie SRV insert indirect nocache\n    server a {} cookie ca\n    server b {} cookie cb\n",
        sock.display(),
        a.addr,
        b.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;

    let (head, body) = get_with_cookie(fe, None).await;
    assert_eq!(body, "a");
    assert!(head.contains("\r\nset-cookie: SRV=ca; path=/"), "{head}");

    for _ in 0..3 {
        let (head, body) = get_with_cookie(fe, Some("SRV=cb")).await;
        assert_eq!(body, "b", "the cookie names b");
        assert!(!head.contains("set-cookie"), "{head}");
    }

    assert_eq!(ask(&sock, "set weight be/b 0\n").await, "\n");
    let (_, body) = get_with_cookie(fe, Some("SRV=cb")).await;
    assert_eq!(body, "b", "persistence outlives a weight change");
    assert_eq!(
        get_with_cookie(fe, None).await.1,
        "a",
        "no new client for b"
    );

    assert_eq!(ask(&sock, "disable server be/b\n").await, "\n");
    let (head, body) = get_with_cookie(fe, Some("SRV=cb")).await;
    assert_eq!(body, "a", "a stopped server's clients move on");
    assert!(head.contains("\r\nset-cookie: SRV=ca; path=/"), "{head}");
    running.stop();
}

// Input: `stick on hdr(x-user)` over servers a and b in a `stick-table`
// of strings; requests as user u1 and u2 alternately, then u1 again after
// its server went to maintenance, then `show table be`.
// Output: each user keeps the server its first request got (roundrobin
// gave them different ones); once that server is in maintenance u1 lands
// on the other, which the table then keeps for it (server_id and
// server_key as haproxy prints them).
#[tokio::test]
async fn a_stick_table_keeps_each_key_on_its_server_until_it_stops() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    stick-table type string len 16 size 100 expire 1m\n    stick on hdr(x-user)\n    server a {}\n    server b {}\n",
        sock.display(),
        a.addr,
        b.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let as_user = |user: &'static str| async move {
        let request =
            format!("GET / HTTP/1.1\r\nHost: x\r\nx-user: {user}\r\nConnection: close\r\n\r\n");
        let reply = send_raw(fe, request.as_bytes()).await;
        reply
            .split_once("\r\n\r\n")
            .expect("a response")
            .1
            .to_owned()
    };
    let first = (as_user("u1").await, as_user("u2").await);
    assert_ne!(first.0, first.1, "roundrobin spreads the first requests");
    for _ in 0..3 {
        assert_eq!((as_user("u1").await, as_user("u2").await), first);
    }
    let (stopped, other) = (first.0.clone(), first.1.clone());
    let answer = ask(&sock, &format!("set server be/{stopped} state maint\n")).await;
    assert_eq!(answer.trim(), "", "{answer}");
    assert_eq!(as_user("u1").await, other, "the kept server is down");
    let table = ask(&sock, "show table be\n").await;
    let line = table
        .lines()
        .find(|l| l.contains("key=u1"))
        .expect("u1's entry");
    let id = if other == "a" { 1 } else { 2 };
    assert!(
        line.ends_with(&format!("server_id={id} server_key={other}")),
        "{table}"
    );
    running.stop();
}
