//! The PROXY protocol against real sockets: an `accept-proxy` listener
//! takes the client from the header, and a `send-proxy-v2` server gets a
//! header naming the client before the request.

#[allow(dead_code)]
mod common;

use common::{config, free_port, send_raw, DEFAULTS};
use haven_core::proxy_protocol::{encode_v1, parse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// Input: a frontend with `accept-proxy` answering `%[src]:%[src_port]`;
// a connection that starts with `PROXY TCP4 192.0.2.7 ...`, then one
// that starts with a request.
// Output: the answer names 192.0.2.7:4242; the connection without a
// header is closed with no answer.
#[tokio::test]
async fn an_accept_proxy_listener_takes_the_client_from_the_header() {
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} accept-proxy\n    http-request return status 200 content-type text/plain lf-string \"%[src]:%[src_port]\"\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut request = encode_v1(
        "192.0.2.7:4242".parse().expect("addr"),
        "198.51.100.1:80".parse().expect("addr"),
    );
    request.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let reply = send_raw(fe, &request).await;
    assert!(reply.ends_with("\r\n\r\n192.0.2.7:4242"), "{reply}");
    let bare = send_raw(fe, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(bare, "", "no header: closed without an answer");
    running.stop();
}

// Input: a backend whose server has `send-proxy-v2`; the server is a
// plain socket that reads the PROXY header with core's parser, then the
// request, and answers with the source the header names.
// Output: the server sees a valid v2 header naming the client's loopback
// address and the frontend's port, before the request line.
#[tokio::test]
async fn a_send_proxy_v2_server_gets_the_header_before_the_request() {
    let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server_addr = server.local_addr().expect("addr");
    let checker = tokio::spawn(async move {
        let (mut s, _) = server.accept().await.expect("a connection");
        let mut buf = Vec::new();
        let (header, len) = loop {
            let mut chunk = [0u8; 1024];
            let n = s.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before a header");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(found) = parse(&buf).expect("a valid PROXY header") {
                break found;
            }
        };
        // The v2 signature itself holds a blank line: look past it.
        while !buf[len..].windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 1024];
            let n = s.read(&mut chunk).await.expect("read");
            buf.extend_from_slice(&chunk[..n]);
        }
        let request_line = String::from_utf8_lossy(&buf[len..])
            .lines()
            .next()
            .map(str::to_owned);
        let body = format!("{:?}", header.source.map(|a| a.ip()));
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(answer.as_bytes()).await.expect("answer");
        (header, request_line)
    });
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s {server_addr} send-proxy-v2\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut client = TcpStream::connect(fe).await.expect("connect");
    let from = client.local_addr().expect("client addr");
    client
        .write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut reply = String::new();
    client.read_to_string(&mut reply).await.expect("read");
    assert!(reply.ends_with("Some(127.0.0.1)"), "{reply}");
    let (header, request_line) = checker.await.expect("checker");
    assert_eq!(header.source, Some(from));
    assert_eq!(header.destination, Some(fe));
    assert_eq!(request_line.as_deref(), Some("GET /x HTTP/1.1"));
    running.stop();
}
