//! Real mode turns a connection into a tunnel when the server switches
//! protocols (101 to an `Upgrade`) or accepts a `CONNECT`: raw peers on
//! loopback check that bytes flow both ways, that the handshake is
//! checked as haproxy checks it, and what the log says of the tunnel.

#[allow(dead_code)]
mod common;

use common::raw::{haven, raw_server, read_head, read_until, Syslog};
use common::{config, free_port, DEFAULTS};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A WebSocket handshake request for `path`.
fn handshake(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {KEY}\r\n\r\n")
}

/// A server that answers one handshake with `answer`, then echoes every
/// byte until the client closes; the request head it read goes to `seen`.
async fn echo_server(
    answer: &'static str,
    seen: tokio::sync::oneshot::Sender<String>,
) -> SocketAddr {
    raw_server(move |mut s| async move {
        let (head, rest) = read_head(&mut s).await;
        let _ = seen.send(head);
        s.write_all(answer.as_bytes()).await.expect("answer");
        s.write_all(&rest).await.expect("echo");
        let mut chunk = [0u8; 4096];
        while let Ok(n) = s.read(&mut chunk).await {
            if n == 0 || s.write_all(&chunk[..n]).await.is_err() {
                break;
            }
        }
    })
    .await
}

const SWITCHING: &str = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

// Input: a WebSocket handshake through haven to a server that answers
// 101, then echoes; the client sends two messages, then closes its side.
// Output: the server saw `connection` and `upgrade` as sent; the client
// gets the 101 with them, then each message echoed back after it was
// sent, and the close passed on both ways ends the connection.
#[tokio::test]
async fn a_websocket_echoes_both_ways_after_101() {
    let (seen_tx, seen) = tokio::sync::oneshot::channel();
    let server = echo_server(SWITCHING, seen_tx).await;
    let (running, fe) = haven(server).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(handshake("/chat").as_bytes())
        .await
        .expect("send");
    let mut got = Vec::new();
    read_until(&mut c, b"\r\n\r\n", &mut got).await;
    let head = String::from_utf8_lossy(&got).into_owned();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(head.contains("connection: Upgrade\r\n"), "{head}");
    assert!(head.contains("upgrade: websocket\r\n"), "{head}");
    let request = seen.await.expect("the server read the handshake");
    assert!(request.contains("connection: Upgrade\r\n"), "{request}");
    assert!(request.contains("upgrade: websocket\r\n"), "{request}");
    for message in ["hello", "world"] {
        c.write_all(message.as_bytes()).await.expect("send");
        let mut echo = Vec::new();
        read_until(&mut c, message.as_bytes(), &mut echo).await;
        assert_eq!(echo, message.as_bytes());
    }
    c.shutdown().await.expect("close our side");
    let mut rest = Vec::new();
    let end = timeout(Duration::from_secs(5), c.read_to_end(&mut rest)).await;
    assert!(matches!(end, Ok(Ok(0))), "closed after the tunnel: {end:?}");
    running.stop();
}

// Input: a handshake without `Sec-WebSocket-Key`; then one to a server
// whose 101 lacks `Sec-WebSocket-Accept`.
// Output: 400 for the first (haproxy refuses it as it reads it), 502 for
// the second.
#[tokio::test]
async fn websocket_handshakes_are_checked_as_haproxy_checks_them() {
    let (seen_tx, _seen) = tokio::sync::oneshot::channel();
    let server = echo_server(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        seen_tx,
    )
    .await;
    let (running, fe) = haven(server).await;
    let no_key = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    let reply = common::send_raw(fe, no_key.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
    let closing = handshake("/").replace("Connection: Upgrade", "Connection: Upgrade, close");
    let reply = common::send_raw(fe, closing.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 502 "), "{reply}");
    running.stop();
}

// Input: `CONNECT example.com:443` through haven to a server that plays
// a forward proxy: 200, then echo.
// Output: the server sees the authority form untouched; bytes flow both
// ways after the 200.
#[tokio::test]
async fn connect_opens_a_tunnel_after_2xx() {
    let (seen_tx, seen) = tokio::sync::oneshot::channel();
    let server = echo_server("HTTP/1.1 200 Connection established\r\n\r\n", seen_tx).await;
    let (running, fe) = haven(server).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        .await
        .expect("send");
    let mut got = Vec::new();
    read_until(&mut c, b"\r\n\r\n", &mut got).await;
    let head = String::from_utf8_lossy(&got).into_owned();
    assert!(
        head.starts_with("HTTP/1.1 200 Connection established\r\n"),
        "{head}"
    );
    let request = seen.await.expect("the server read the request");
    assert!(
        request.starts_with("CONNECT example.com:443 HTTP/1.1\r\n"),
        "{request}"
    );
    c.write_all(b"\x16\x03\x01 not really tls")
        .await
        .expect("send");
    let mut echo = Vec::new();
    read_until(&mut c, b"not really tls", &mut echo).await;
    assert_eq!(echo, b"\x16\x03\x01 not really tls");
    running.stop();
}

// Input: `timeout tunnel 300ms` (with `timeout client`/`server` 5 s) and
// `option httplog`; one tunnel closed by the client after a message, one
// left quiet.
// Output: the closed one logs status 101, the bytes the client received
// (head and echo) and `----`; the quiet one is cut by `timeout tunnel`,
// long before `timeout client`, and logs `cD--`.
#[tokio::test]
async fn tunnels_end_on_close_or_timeout_tunnel_and_are_logged() {
    let syslog = Syslog::new().await;
    let (first_tx, _first) = tokio::sync::oneshot::channel();
    let first = echo_server(SWITCHING, first_tx).await;
    let (second_tx, _second) = tokio::sync::oneshot::channel();
    let second = echo_server(SWITCHING, second_tx).await;
    let port = free_port();
    let text = format!(
        "{}{DEFAULTS}    log global\n    option httplog\n    timeout tunnel 300ms\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    balance roundrobin\n    server a {first}\n    server b {second}\n",
        syslog.global,
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let next = || syslog.next();

    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(handshake("/closed").as_bytes())
        .await
        .expect("send");
    let mut got = Vec::new();
    read_until(&mut c, b"\r\n\r\n", &mut got).await;
    c.write_all(b"ping").await.expect("send");
    read_until(&mut c, b"ping", &mut got).await;
    c.shutdown().await.expect("close");
    let mut rest = Vec::new();
    let _ = timeout(Duration::from_secs(5), c.read_to_end(&mut rest)).await;
    let line = next().await;
    let bytes = format!(" 101 {} - - ---- ", got.len());
    assert!(
        line.contains(" fe be/a ") && line.contains(&bytes),
        "{line}"
    );
    assert!(line.ends_with(" \"GET /closed HTTP/1.1\"\n"), "{line}");

    let started = std::time::Instant::now();
    let mut quiet = TcpStream::connect(fe).await.expect("connect");
    quiet
        .write_all(handshake("/quiet").as_bytes())
        .await
        .expect("send");
    let mut got = Vec::new();
    read_until(&mut quiet, b"\r\n\r\n", &mut got).await;
    let mut rest = Vec::new();
    let end = timeout(Duration::from_secs(4), quiet.read_to_end(&mut rest)).await;
    assert!(end.is_ok(), "timeout tunnel closed the quiet tunnel");
    assert!(started.elapsed() < Duration::from_secs(4));
    let line = next().await;
    assert!(
        line.contains(" fe be/b ") && line.contains(" 101 ") && line.contains(" cD-- "),
        "{line}"
    );
    running.stop();
}
