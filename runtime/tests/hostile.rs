//! Hostile clients beside well-behaved ones, on loopback: slowloris,
//! malformed, oversized and smuggling requests, bad chunking, an oversized
//! body and a flood of idle connections beyond `maxconn`. Each gets
//! haproxy's answer (400, 408, 413) or waits its turn, while the
//! well-behaved clients keep succeeding.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::{config, free_port, send_raw, Backend, DEFAULTS};
use haven_core::proxy::error_response;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A slowloris: a head trickled one header every 100 ms, never finished.
async fn slowloris(addr: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return String::new();
    };
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
    let mut reply = Vec::new();
    for i in 0..40 {
        tokio::select! {
            n = tokio::io::AsyncReadExt::read_to_end(&mut s, &mut reply) => {
                let _ = n;
                break;
            }
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                if s.write_all(format!("X-Trickle-{i}: y\r\n").as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// A well-behaved client: GETs on fresh connections until `until`;
/// (successes, latencies).
async fn polite(addr: SocketAddr, until: Instant) -> (usize, Vec<Duration>) {
    let mut ok = 0;
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let reply = send_raw(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        latencies.push(started.elapsed());
        ok += usize::from(reply.starts_with("HTTP/1.1 200 OK\r\n"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (ok, latencies)
}

// Input: a frontend with `maxconn 40` and `timeout http-request 500ms`;
// four clients sending GETs for 3 s while 10 slowloris connections, 60
// idle connections, and one each of a malformed request line, a 20 kB
// request line, two Content-Lengths, a bad chunk size and a 2 MB body
// arrive.
// Output: every slowloris and idle connection gets 408; the malformed,
// oversized, smuggling and bad-chunk requests get 400; the big body
// streams to the server (no limit of haven's own) and is answered 200;
// every well-behaved request succeeds, with a p99 under 2 s (the flood
// can hold them in the backlog for about one `timeout http-request`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_haproxys_answers_and_polite_ones_are_served() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}    timeout http-request 500ms\nfrontend fe\n    bind 127.0.0.1:{port}\n    maxconn 40\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let until = Instant::now() + Duration::from_secs(3);
    let polite_clients: Vec<_> = (0..4).map(|_| tokio::spawn(polite(fe, until))).collect();

    let slow: Vec<_> = (0..10).map(|_| tokio::spawn(slowloris(fe))).collect();
    let idle: Vec<_> = (0..60).map(|_| tokio::spawn(send_raw(fe, b""))).collect();
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000));
    let bad: Vec<(u16, Vec<u8>)> = vec![
        (400, b"GARBAGE\r\n\r\n".to_vec()),
        (400, long_line.into_bytes()),
        (
            400,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
        ),
        (
            400,
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
    ];
    let big = tokio::spawn(async move {
        let mut big =
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n"
                .to_vec();
        big.resize(big.len() + 2_000_000, b'x');
        send_raw(fe, &big).await
    });
    let bad: Vec<_> = bad
        .into_iter()
        .map(|(status, bytes)| tokio::spawn(async move { (status, send_raw(fe, &bytes).await) }))
        .collect();

    for s in slow {
        assert_eq!(s.await.expect("slowloris"), error_response(408));
    }
    for i in idle {
        assert_eq!(i.await.expect("idle"), error_response(408));
    }
    for b in bad {
        let (status, reply) = b.await.expect("bad request");
        assert_eq!(reply, error_response(status), "expected {status}");
    }
    let big = big.await.expect("big body");
    assert!(
        big.starts_with("HTTP/1.1 200 "),
        "a 2 MB body streams to the server: {big}"
    );
    let mut sent = 0;
    let mut ok = 0;
    let mut latencies = Vec::new();
    for c in polite_clients {
        let (good, lat) = c.await.expect("polite client");
        ok += good;
        sent += lat.len();
        latencies.extend(lat);
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    assert!(sent >= 8, "only {sent} polite requests");
    assert_eq!(ok, sent, "{} of {sent} polite requests failed", sent - ok);
    assert!(p99 < Duration::from_secs(2), "polite p99 {p99:?}");
    running.stop();
}

// Input: a frontend with `maxconn 2`; two idle connections hold both
// slots; a third client sends a GET; then one idle connection leaves.
// Output: the third is not answered while the slots are held (it waits
// in the kernel's backlog, as with haproxy), and is served once one frees.
#[tokio::test]
async fn maxconn_holds_newcomers_until_a_slot_frees() {
    let a = Backend::start("a").await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    maxconn 2\n    default_backend be\nbackend be\n    server a {}\n",
        a.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let first = TcpStream::connect(fe).await.expect("connect");
    let _second = TcpStream::connect(fe).await.expect("connect");
    let third = tokio::spawn(send_raw(
        fe,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "answered beyond maxconn");
    drop(first);
    let reply = third.await.expect("third client");
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    running.stop();
}
