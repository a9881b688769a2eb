//! The HTTP/2 module's cells of a backend's `show stat typed` row: its
//! connections to `proto h2` servers, counted as a frontend counts its
//! clients'.

use crate::common::raw::DEADLINE;
use crate::common::{config, free_port, DEFAULTS};
use bytes::Bytes;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// An HTTP/2 server that answers `streams` requests on its first
/// connection, then closes it once told on `close`.
async fn closing_h2_server(streams: usize) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (close, closing) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut connection) = h2::server::handshake(tcp).await else {
            return;
        };
        for _ in 0..streams {
            let Some(Ok((_, mut respond))) = connection.accept().await else {
                return;
            };
            if let Ok(mut body) = respond.send_response(http::Response::new(()), false) {
                let _ = body.send_data(Bytes::from_static(b"ok"), true);
            }
        }
        // The connection is polled (its answers flushed) until told.
        tokio::select! {
            _ = connection.accept() => {}
            _ = closing => {}
        }
    });
    (addr, close)
}

/// The value of `counter` on the `kind` line (`F` or `B`) of `show stat
/// typed`.
fn typed_counter(typed: &str, kind: &str, counter: &str) -> Option<u64> {
    let needle = format!(".{counter}.1:");
    let line = typed
        .lines()
        .find(|l| l.starts_with(&format!("{kind}.")) && l.contains(&needle))?;
    line.rsplit(':').next()?.parse().ok()
}

/// `show stat typed` on `sock` once `done` holds for it, or at the
/// deadline.
async fn typed_once(sock: &std::path::Path, done: impl Fn(&str) -> bool) -> String {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let typed = crate::common::cli(sock, "show stat typed").await;
        if done(&typed) || tokio::time::Instant::now() > until {
            return typed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

// Input: a backend whose server has `proto h2`, and three HTTP/1.1
// requests through haven, which go as streams of one connection; then
// the server closes it.
// Output: while it is open, the backend's row counts one HTTP/2
// connection open and one in all (the frontend's, none: its client spoke
// HTTP/1.1); once it ended, none open, and the three answers' HEADERS
// and the server's SETTINGS among the frames received.
#[tokio::test]
async fn a_backends_row_counts_its_http2_server_connections() {
    let (server, close) = closing_h2_server(3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s {server} proto h2\n",
        sock.display()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    for n in 0..3 {
        let (status, _) = crate::common::get(fe, "a.test", &format!("/{n}")).await;
        assert_eq!(status, 200);
    }
    let open = typed_once(&sock, |t| {
        typed_counter(t, "B", "h2_open_connections") == Some(1)
    })
    .await;
    let _ = close.send(());
    let ended = typed_once(&sock, |t| {
        typed_counter(t, "B", "h2_open_connections") == Some(0)
    })
    .await;
    running.stop();
    let backend = |typed: &str, name| typed_counter(typed, "B", name);
    assert_eq!(backend(&open, "h2_open_connections"), Some(1), "{open}");
    assert_eq!(backend(&open, "h2_total_connections"), Some(1));
    assert_eq!(typed_counter(&open, "F", "h2_total_connections"), Some(0));
    assert_eq!(backend(&ended, "h2_open_connections"), Some(0), "{ended}");
    assert_eq!(backend(&ended, "h2_total_connections"), Some(1));
    assert_eq!(backend(&ended, "h2_headers_rcvd"), Some(3));
    assert_eq!(
        backend(&ended, "h2_settings_rcvd").map(|n| n >= 1),
        Some(true)
    );
    assert_eq!(backend(&ended, "h2_detected_conn_protocol_errors"), Some(0));
}
