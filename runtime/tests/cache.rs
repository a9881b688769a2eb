//! `cache` sections with `http-request cache-use` and `http-response
//! cache-store`, against a server on loopback that counts what it is
//! asked: hits never reach it, come with an `Age`, go through
//! compression and HEAD as a server's answer would, and show in `show
//! cache` and the stats; what is too large, or dropped by a POST, goes
//! to the server again.

#[allow(dead_code)]
mod common;

use common::raw::{chunked, read_answer, read_head, read_more, DEADLINE};
use common::{cli, config, free_port, DEFAULTS};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Requests the server saw, by request line.
type Seen = Arc<Mutex<BTreeMap<String, usize>>>;

/// A page of `len` bytes that says which answer of its path it is.
fn page(nth: usize, len: usize) -> Vec<u8> {
    let mut p = format!("answer {nth}\n").into_bytes();
    p.resize(len, b'.');
    p
}

/// A keep-alive server: `/big` answers 20 kB, `/chunked` 2 kB in
/// chunks, anything else 2 kB with a length; all cacheable for a
/// minute. It counts each request line.
async fn server(seen: Seen) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                loop {
                    let mut probe = [0u8; 1];
                    if s.peek(&mut probe).await.map_or(true, |n| n == 0) {
                        return;
                    }
                    let (head, body) = read_head(&mut s).await;
                    let line = head.lines().next().unwrap_or("").to_owned();
                    if let Some(len) = head.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    }) {
                        let len: usize = len.trim().parse().expect("a length");
                        let mut body = body;
                        while body.len() < len {
                            read_more(&mut s, &mut body).await;
                        }
                    }
                    let nth = {
                        let mut seen = seen.lock().expect("lock");
                        let n = seen.entry(line.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    let size = if line.contains("/big") { 20_000 } else { 2_000 };
                    let body = page(nth, size);
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncache-control: max-age=60\r\n";
                    let answer = if line.contains("/chunked") {
                        let mut out =
                            format!("{head}transfer-encoding: chunked\r\n\r\n").into_bytes();
                        chunked(&body, 700, &mut out);
                        out
                    } else {
                        let mut out =
                            format!("{head}content-length: {}\r\n\r\n", body.len()).into_bytes();
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

/// How many times the server saw `line`.
fn times(seen: &Seen, line: &str) -> usize {
    seen.lock().expect("lock").get(line).copied().unwrap_or(0)
}

/// The value of `column` in the CSV row starting `row`.
fn stat(csv: &str, row: &str, column: &str) -> String {
    let names: Vec<&str> = csv
        .lines()
        .next()
        .expect("a header")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let at = names.iter().position(|n| *n == column).expect("the column");
    let line = csv.lines().find(|l| l.starts_with(row)).expect("the row");
    line.split(',').nth(at).expect("the cell").to_owned()
}

// Input: a cache of 1 MB (objects up to 10 kB) used and filled by a
// frontend with `compression algo gzip`; on one keep-alive connection:
// GET /page, GET /page with Accept-Encoding: gzip, HEAD /page, GET
// /chunked twice, GET /big twice, then POST /page and GET /page.
// Output: /page reaches the server once before the POST: the later GET
// is its first answer gzipped, with an Age; the HEAD has the length and
// no body; /chunked comes back chunked from the cache; /big (over the
// object size) reaches the server twice; the POST drops /page, so the
// last GET is the server's second answer. `show cache` lists the kept
// URIs; the frontend counts 8 lookups (HEAD and GETs) and 3 hits.
#[tokio::test]
async fn hits_never_reach_the_server_and_go_through_compression() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let seen = Seen::default();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{}\n    compression algo gzip\n    compression type text/html\n    http-request cache-use c\n    http-response cache-store c\n    default_backend be\nbackend be\n    server s {}\ncache c\n    total-max-size 1\n    max-object-size 10000\n",
        sock.display(),
        free_port(),
        server(Arc::clone(&seen)).await
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut c = TcpStream::connect(running.listeners[0].1)
        .await
        .expect("connect");
    let mut ask = async |request: &str, head_request: bool| {
        c.write_all(request.as_bytes()).await.expect("send");
        read_answer(&mut c, head_request).await
    };
    let get = |path: &str, extra: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");

    let (head, body) = ask(&get("/page", ""), false).await;
    assert!(!head.contains("\r\nage:"), "a miss has no age: {head}");
    assert_eq!(body, page(1, 2_000));

    let (head, body) = ask(&get("/page", "Accept-Encoding: gzip\r\n"), false).await;
    assert!(head.contains("\r\nage: 0"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let mut plain = Vec::new();
    GzDecoder::new(&body[..])
        .read_to_end(&mut plain)
        .expect("valid gzip");
    assert_eq!(plain, page(1, 2_000), "the kept answer, compressed");

    let (head, body) = ask("HEAD /page HTTP/1.1\r\nHost: x\r\n\r\n", true).await;
    assert!(
        head.contains("content-length: 2000") && head.contains("age:"),
        "{head}"
    );
    assert!(body.is_empty());

    for _ in 0..2 {
        let (head, body) = ask(&get("/chunked", ""), false).await;
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        assert_eq!(body, page(1, 2_000));
    }
    for nth in 1..=2 {
        let (_, body) = ask(&get("/big", ""), false).await;
        assert_eq!(body, page(nth, 20_000), "too big to keep");
    }
    assert_eq!(times(&seen, "GET /page HTTP/1.1"), 1);
    assert_eq!(times(&seen, "GET /chunked HTTP/1.1"), 1);

    let shown = cli(&sock, "show cache").await;
    assert!(shown.contains("uri:https://x/page "), "{shown}");
    assert!(shown.contains("uri:https://x/chunked "), "{shown}");
    assert!(!shown.contains("/big"), "{shown}");

    let post = "POST /page HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
    let (_, body) = ask(post, false).await;
    assert_eq!(body, page(1, 2_000));
    let (head, body) = ask(&get("/page", ""), false).await;
    assert!(!head.contains("\r\nage:"), "{head}");
    assert_eq!(body, page(2, 2_000), "the POST dropped the kept page");

    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let csv = cli(&sock, "show stat").await;
        let counts = (
            stat(&csv, "fe,FRONTEND,", "cache_lookups"),
            stat(&csv, "fe,FRONTEND,", "cache_hits"),
        );
        if counts == ("8".to_owned(), "3".to_owned()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counts:?}");
        tokio::task::yield_now().await;
    }
    running.stop();
}
