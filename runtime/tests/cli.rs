//! The runtime API's interactive mode and limits, and what the stats page
//! says of the process, against a running haven on loopback.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Reads from `s` until `end` ends what was read; all of it.
async fn read_until(s: &mut UnixStream, end: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !out.ends_with(end.as_bytes()) {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("an answer within 5 s");
    String::from_utf8(out).expect("text")
}

// Input: `stats timeout 300ms` and `stats maxconn 1`; a connection that
// says `prompt`, then two commands, then `quit`; a second connection
// opened while the first is alive; a third left idle.
// Output: haproxy's prompt after each answer; the second connection is
// answered only once the first has quit; the idle one is closed by the
// timeout.
#[tokio::test]
async fn prompt_mode_answers_line_after_line_within_the_limits() {
    let a = Backend::start("a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n    stats timeout 300ms\n    stats maxconn 1\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        sock.display(),
        a.addr,
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut first = UnixStream::connect(&sock).await.expect("connect");
    first.write_all(b"prompt\n").await.expect("send");
    assert_eq!(read_until(&mut first, "> ").await, "\n> ");
    first.write_all(b"set weight be/a 7\n").await.expect("send");
    assert_eq!(read_until(&mut first, "> ").await, "\n> ");
    // Over `stats maxconn`: not served while the first is open.
    let mut second = UnixStream::connect(&sock).await.expect("connect");
    second.write_all(b"get weight be/a\n").await.expect("send");
    first.write_all(b"get weight be/a\n").await.expect("send");
    assert_eq!(read_until(&mut first, "> ").await, "7 (initial 1)\n\n> ");
    first.write_all(b"quit\n").await.expect("send");
    assert_eq!(read_until(&mut first, "never").await, "");
    assert_eq!(read_until(&mut second, "never").await, "7 (initial 1)\n\n");
    let mut idle = UnixStream::connect(&sock).await.expect("connect");
    assert_eq!(read_until(&mut idle, "never").await, "", "closed when idle");
    running.stop();
}

// Input: global `node` and `description`, a stats page with `show-node`,
// `show-desc` and `show-legends`, a proxy with a `description`.
// Output: the page's title names the node and the description, the proxy
// shows its description and its legend.
#[tokio::test]
async fn the_stats_page_shows_node_description_and_legends() {
    let port = free_port();
    let text = format!(
        "global\n    node lb-east-1\n    description edge pair\n{DEFAULTS}listen stats\n    bind 127.0.0.1:{port}\n    description the stats page\n    stats enable\n    stats uri /\n    stats show-node\n    stats show-desc\n    stats show-legends\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (status, page) = get(running.listeners[0].1, "x", "/").await;
    assert_eq!(status, 200);
    let pid = std::process::id();
    assert!(
        page.contains(&format!(
            "<h2>Statistics Report for pid {pid} on lb-east-1: edge pair</h2>"
        )),
        "{page}"
    );
    assert!(
        page.contains("<p class=\"desc\">the stats page</p>"),
        "{page}"
    );
    assert!(
        page.contains("<p class=\"tips\">cap: proxy, mode: http, id: 1</p>"),
        "{page}"
    );
    running.stop();
}
