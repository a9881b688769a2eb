//! `compression`: answers compressed as haproxy 2.6 compresses them,
//! against a server on loopback: the head rewritten as haproxy rewrites
//! it, the body gzip in chunks whatever the server's framing, left alone
//! when the client does not ask or the type is not listed, and counted in
//! the stats.

#[allow(dead_code)]
mod common;

use common::raw::{chunked, read_answer, read_head, DEADLINE};
use common::{cli, config, free_port, DEFAULTS};
use flate2::read::GzDecoder;
use std::io::Read;
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The page every answer carries: 100 kB of repeated text.
fn page() -> Vec<u8> {
    b"<p>haven compresses what haproxy compresses.</p>\n"
        .iter()
        .copied()
        .cycle()
        .take(100_000)
        .collect()
}

/// A keep-alive server: `/chunked` answers the page in chunks, `/png` as
/// an image, anything else with a Content-Length and a strong ETag.
async fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                loop {
                    let mut probe = [0u8; 1];
                    if s.peek(&mut probe).await.map_or(true, |n| n == 0) {
                        return;
                    }
                    let (head, _) = read_head(&mut s).await;
                    let body = page();
                    let answer = if head.starts_with("GET /chunked") {
                        let mut out =
                            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                        chunked(&body, 7_000, &mut out);
                        out
                    } else {
                        let kind = if head.starts_with("GET /png") {
                            "image/png"
                        } else {
                            "text/html"
                        };
                        let mut out = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\netag: \"v1\"\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        out.extend_from_slice(&body);
                        out
                    };
                    if s.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .expect("valid gzip");
    plain
}

// Input: `compression algo gzip` and `compression type text/html`; on one
// keep-alive connection: the page asked with `Accept-Encoding: gzip`,
// the same from a chunked server answer, an image, and the page asked
// with no Accept-Encoding.
// Output: the two pages come gzip, in chunks, with haproxy's head (no
// Content-Length, a weak ETag, Vary, Content-Encoding last) and inflate
// to the page; the image and the page nobody asked compressed come as
// sent; the stats count 2 compressed answers and the bytes in and out.
#[tokio::test]
async fn pages_come_gzip_in_chunks_and_the_rest_as_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}listen li\n    bind 127.0.0.1:{}\n    compression algo gzip\n    compression type text/html\n    server s {}\n",
        sock.display(),
        free_port(),
        server().await
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut c = TcpStream::connect(running.listeners[0].1)
        .await
        .expect("connect");
    let ask = |path: &str, gzip: bool| {
        let accept = if gzip {
            "Accept-Encoding: gzip, deflate\r\n"
        } else {
            ""
        };
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{accept}\r\n")
    };
    c.write_all(ask("/", true).as_bytes()).await.expect("send");
    let (head, body) = read_answer(&mut c, false).await;
    assert!(!head.contains("content-length"), "{head}");
    assert!(
        head.ends_with("etag: w/\"v1\"\r\ntransfer-encoding: chunked\r\nvary: accept-encoding\r\ncontent-encoding: gzip"),
        "{head}"
    );
    assert!(body.len() < 10_000, "{} bytes", body.len());
    assert!(gunzip(&body) == page());

    c.write_all(ask("/chunked", true).as_bytes())
        .await
        .expect("send");
    let (head, body) = read_answer(&mut c, false).await;
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(gunzip(&body) == page());

    c.write_all(ask("/png", true).as_bytes())
        .await
        .expect("send");
    let (head, body) = read_answer(&mut c, false).await;
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(body == page());

    c.write_all(ask("/", false).as_bytes()).await.expect("send");
    let (head, body) = read_answer(&mut c, false).await;
    assert!(
        head.contains("etag: \"v1\"") && !head.contains("vary"),
        "{head}"
    );
    assert!(body == page());

    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let csv = cli(&sock, "show stat").await;
        let frontend: Vec<&str> = csv
            .lines()
            .find(|l| l.starts_with("li,FRONTEND,"))
            .expect("the frontend's row")
            .split(',')
            .collect();
        // comp_in, comp_out, comp_byp, comp_rsp
        if frontend[51..55].join(",").ends_with(",0,2") {
            let comp_in: u64 = frontend[51].parse().expect("comp_in");
            assert_eq!(comp_in, 2 * page().len() as u64);
            assert!(frontend[52].parse::<u64>().expect("comp_out") < 20_000);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{csv}");
    }
    running.stop();
}
