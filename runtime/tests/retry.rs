//! Retries in real mode: a server that takes the request and closes
//! without a byte of answer, answers junk, or lets go of a pooled
//! connection and stops listening, in front of a good one.

#[allow(dead_code)]
mod common;

use common::{config, free_port, get, Backend, DEFAULTS};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A server that reads each request, then writes `answer` (maybe
/// nothing) and closes.
async fn bad_server(answer: &'static [u8]) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(answer).await;
            });
        }
    });
    (addr, task)
}

/// Statuses and bodies of `n` requests through a roundrobin backend of
/// the bad server then a good one, with `retry_on` lines.
async fn through(answer: &'static [u8], retry_on: &str, n: usize) -> Vec<(u16, String)> {
    let good = Backend::start("good").await;
    let (bad, task) = bad_server(answer).await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    balance roundrobin\n{retry_on}    server bad {bad}\n    server good {}\n",
        good.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(get(fe, "x", "/").await);
    }
    running.stop();
    task.abort();
    got
}

// Input: the bad server closes without answering; default retry-on.
// Output: every other request is haproxy's 502.
#[tokio::test]
async fn an_empty_response_is_a_502_by_default() {
    let got = through(b"", "", 4).await;
    let statuses: Vec<u16> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [502, 200, 502, 200]);
    assert!(got[0].1.contains("<h1>502 Bad Gateway</h1>"), "{got:?}");
}

// Input: the same, with retry-on conn-failure empty-response.
// Output: every request is answered by the good server.
#[tokio::test]
async fn retry_on_empty_response_sends_the_request_to_the_other_server() {
    let got = through(b"", "    retry-on conn-failure empty-response\n", 6).await;
    assert_eq!(got, vec![(200, "good".to_owned()); 6]);
}

// Input: the bad server answers junk; first without retry-on junk-response,
// then with it.
// Output: 502s; then every request answered by the good server.
#[tokio::test]
async fn junk_responses_are_retried_only_when_asked() {
    let junk = b"garbage\r\n\r\n";
    let statuses: Vec<u16> = through(junk, "", 4)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(statuses, [502, 200, 502, 200]);
    let got = through(junk, "    retry-on junk-response\n", 4).await;
    assert_eq!(got, vec![(200, "good".to_owned()); 4]);
}

/// A server that answers one request on one keep-alive connection, then
/// stops listening and closes that connection when the next request
/// comes on it.
async fn one_shot_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nonce")
            .await;
        drop(listener);
        let _ = stream.read(&mut buf).await;
    });
    (addr, task)
}

// Input: roundrobin {one-shot, good}, option redispatch: the third
// request goes to the one-shot server's pooled connection, which it
// closes, and its port refuses a new one.
// Output: the request is redispatched to the good server at once (it used
// to wait for timeout server and get a 504).
#[tokio::test]
async fn a_pooled_connection_let_go_by_a_server_that_stopped_is_redispatched() {
    let good = Backend::start("good").await;
    let (once, task) = one_shot_server().await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    balance roundrobin\n    server once {once}\n    server good {}\n",
        good.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(get(fe, "x", "/").await);
    }
    running.stop();
    task.abort();
    let want = [(200, "once"), (200, "good"), (200, "good")].map(|(s, b)| (s, b.to_owned()));
    assert_eq!(got, want);
}
