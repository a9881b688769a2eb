//! The process's TLS connection counts, as the Prometheus exporter shows
//! them (a test binary of its own: the counts are the process's).

#[allow(dead_code)]
mod common;

use common::pki::{handshake, Pki};
use common::raw::DEADLINE;
use common::{config, free_port, get, DEFAULTS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `haproxy_process_{name}`'s value in the exposition `metrics`.
fn metric(metrics: &str, name: &str) -> Option<u64> {
    let wanted = format!("haproxy_process_{name} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .and_then(|v| v.trim().parse().ok())
}

// Input: a TLS frontend answering from a rule and a clear one serving the
// exporter; a TLS client that makes one request and stays, then leaves.
// Output: while it stays, one TLS connection is open and one was made;
// once it left, none is open and the total stays one.
#[tokio::test]
async fn tls_connections_are_counted_open_and_in_total() {
    let pki = Pki::serving_a_test();
    let (tls_port, metrics_port) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{tls_port} ssl crt {}\n    http-request return status 200\nfrontend metrics\n    bind 127.0.0.1:{metrics_port}\n    http-request use-service prometheus-exporter\n",
        pki.path("a.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (fe, exporter) = (running.listeners[0].1, running.listeners[1].1);
    let mut tls = handshake(fe, "a.test", &[]).await.expect("handshake");
    tls.write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        .await
        .expect("request");
    let mut answer = [0u8; 64];
    let n = tls.read(&mut answer).await.expect("answer");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    let (_, open) = get(exporter, "m", "/metrics").await;
    let while_open = (
        metric(&open, "current_ssl_connections"),
        metric(&open, "ssl_connections_total"),
    );
    drop(tls);
    let until = tokio::time::Instant::now() + DEADLINE;
    let closed = loop {
        let (_, now) = get(exporter, "m", "/metrics").await;
        if metric(&now, "current_ssl_connections") == Some(0) {
            break now;
        }
        assert!(tokio::time::Instant::now() < until, "still open: {now}");
        tokio::task::yield_now().await;
    };
    running.stop();
    assert_eq!(while_open, (Some(1), Some(1)));
    assert_eq!(metric(&closed, "ssl_connections_total"), Some(1));
    assert!(closed.contains("# TYPE haproxy_process_ssl_connections_total counter"));
}
