//! Real mode streams bodies: raw servers on loopback that speak byte by
//! byte, so each test can see a body move while it is still being sent.
//! Every wait polls with a deadline; nothing sleeps to wait for state.

#[allow(dead_code)]
mod common;

use common::raw::{
    chunked, early_answering_server, haven, post_through_an_early_answer, raw_server, read_exactly,
    read_head, read_more, read_until, send_get, DEADLINE,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::timeout;

// Input: a server that sends the head and the first 64 kB of a 64 MB
// body, then waits until the client has seen those bytes before it sends
// the rest.
// Output: the first bytes reach the client while the server still holds
// back the rest (so haven did not wait for the whole body); all 64 MB
// arrive, framed by the server's Content-Length.
#[tokio::test]
async fn a_large_download_reaches_the_client_as_it_comes() {
    const SIZE: usize = 64 << 20;
    let (seen, seen_rx) = oneshot::channel::<()>();
    let server = raw_server(move |mut s| async move {
        read_head(&mut s).await;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n");
        s.write_all(head.as_bytes()).await.expect("head");
        let block = vec![b'x'; 65_536];
        s.write_all(&block).await.expect("first block");
        let _ = seen_rx.await;
        for _ in 1..SIZE / block.len() {
            if s.write_all(&block).await.is_err() {
                return;
            }
        }
    })
    .await;
    let (running, fe) = haven(server).await;
    let mut c = send_get(fe, "/big").await;
    let mut got = Vec::new();
    read_until(&mut c, b"xxxx", &mut got).await;
    let text = String::from_utf8_lossy(&got[..got.len().min(200)]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("content-length: {SIZE}\r\n")),
        "{text}"
    );
    let _ = seen.send(());
    let head_len = got.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    read_exactly(&mut c, head_len + SIZE, &mut got).await;
    assert_eq!(got.len(), head_len + SIZE);
    assert!(got[head_len..].iter().all(|b| *b == b'x'));
    running.stop();
}

// Input: a server answering with a chunked body, one chunk at a time,
// each only after the client has seen the last, then a trailer.
// Output: every chunk reaches the client on its own, chunked as sent;
// the trailer arrives too, and the connection serves the next request.
#[tokio::test]
async fn a_chunked_stream_arrives_chunk_by_chunk_with_its_trailer() {
    let (next_tx, mut next_rx) = tokio::sync::mpsc::channel::<()>(1);
    let server = raw_server(move |mut s| async move {
        read_head(&mut s).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n";
        s.write_all(head.as_bytes()).await.expect("head");
        for i in 0..3 {
            let event = format!("data: {i}\n\n");
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            s.write_all(chunk.as_bytes()).await.expect("chunk");
            if next_rx.recv().await.is_none() {
                return;
            }
        }
        s.write_all(b"0\r\nX-Sum: 3\r\n\r\n").await.expect("end");
        // The pooled connection stays open for the next request.
        let _ = read_head(&mut s).await;
    })
    .await;
    let (running, fe) = haven(server).await;
    let mut c = send_get(fe, "/events").await;
    let mut got = Vec::new();
    for i in 0..3 {
        read_until(&mut c, format!("data: {i}\n\n\r\n").as_bytes(), &mut got).await;
        next_tx.send(()).await.expect("server waits");
    }
    read_until(&mut c, b"0\r\nX-Sum: 3\r\n\r\n", &mut got).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
    assert!(!text.contains("content-length"), "{text}");
    assert!(
        text.ends_with("9\r\ndata: 2\n\n\r\n0\r\nX-Sum: 3\r\n\r\n"),
        "{text}"
    );
    assert!(!text.contains("connection: close"), "{text}");
    running.stop();
}

/// What a server read of a request body: its length and FNV-1a hash.
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

/// A server that reads one request with a body framed as the client sent
/// it (Content-Length or chunked, de-chunked here) and answers its length
/// and hash.
async fn hashing_server() -> SocketAddr {
    raw_server(|mut s| async move {
        let (head, mut rest) = read_head(&mut s).await;
        let lower = head.to_ascii_lowercase();
        let mut data = Vec::new();
        if let Some(len) = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
        {
            let len: usize = len.trim().parse().expect("length");
            let mut all = std::mem::take(&mut rest);
            read_exactly(&mut s, len, &mut all).await;
            data = all;
        } else {
            assert!(lower.contains("transfer-encoding: chunked"), "{head}");
            let mut wire = rest;
            let mut pos = 0;
            loop {
                while !wire[pos..].windows(2).any(|w| w == b"\r\n") {
                    read_more(&mut s, &mut wire).await;
                }
                let eol = pos
                    + wire[pos..]
                        .windows(2)
                        .position(|w| w == b"\r\n")
                        .expect("eol");
                let size =
                    usize::from_str_radix(std::str::from_utf8(&wire[pos..eol]).expect("hex"), 16)
                        .expect("size");
                pos = eol + 2;
                if size == 0 {
                    break;
                }
                while wire.len() < pos + size + 2 {
                    read_more(&mut s, &mut wire).await;
                }
                data.extend_from_slice(&wire[pos..pos + size]);
                pos += size + 2;
            }
        }
        let answer = format!("{}:{:x}", data.len(), fnv(&data, FNV0));
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await
}

/// Sends `head` then `body` (already framed) and reads the answer's body.
async fn upload(fe: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut c = TcpStream::connect(fe).await.expect("connect");
    let writer = {
        let (mut rd, mut wr) = c.split();
        let send = async {
            wr.write_all(head.as_bytes()).await.expect("head");
            wr.write_all(body).await.expect("body");
        };
        let mut got = Vec::new();
        let read = async {
            let _ = timeout(DEADLINE, rd.read_to_end(&mut got)).await;
        };
        tokio::join!(send, read);
        got
    };
    let text = String::from_utf8_lossy(&writer).into_owned();
    text.split_once("\r\n\r\n")
        .map_or(text.clone(), |(_, b)| b.to_owned())
}

// Input: uploads of 1 MiB + 1 and 50 MB with Content-Length, and 50 MB
// chunked in 100 kB chunks, each to a server that hashes what it reads.
// Output: the server reads every byte, as sent (no limit of haven's own).
#[tokio::test]
async fn uploads_of_any_size_reach_the_server_intact() {
    let sizes = [(1 << 20) + 1, 50_000_000];
    for size in sizes {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let (running, fe) = haven(hashing_server().await).await;
        let head = format!(
            "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        );
        let answer = upload(fe, &head, &data).await;
        assert_eq!(answer, format!("{size}:{:x}", fnv(&data, FNV0)));
        running.stop();
    }
    let data: Vec<u8> = (0..50_000_000u32).map(|i| (i % 253) as u8).collect();
    let mut framed = Vec::with_capacity(data.len() + 10_000);
    chunked(&data, 100_000, &mut framed);
    let (running, fe) = haven(hashing_server().await).await;
    let head =
        "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let answer = upload(fe, head, &framed).await;
    assert_eq!(answer, format!("{}:{:x}", data.len(), fnv(&data, FNV0)));
    running.stop();
}

// Input: a server answering 103 Early Hints, then 200.
// Output: the client reads the 103 (with its Link header) before the 200.
#[tokio::test]
async fn interim_answers_are_forwarded_before_the_final_one() {
    let server = raw_server(|mut s| async move {
        read_head(&mut s).await;
        let reply = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let (running, fe) = haven(server).await;
    let mut c = send_get(fe, "/").await;
    let mut got = Vec::new();
    read_until(&mut c, b"ok", &mut got).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(
        text.starts_with(
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"
        ),
        "{text}"
    );
    running.stop();
}

// Input: a server that announces 1000 bytes, sends 500 and closes.
// Output: the client gets the head and the 500 bytes, then the
// connection closes: truncated, as the server left it.
#[tokio::test]
async fn a_truncated_answer_arrives_truncated() {
    let server = raw_server(|mut s| async move {
        read_head(&mut s).await;
        let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
        reply.extend_from_slice(&[b'y'; 500]);
        let _ = s.write_all(&reply).await;
    })
    .await;
    let (running, fe) = haven(server).await;
    let mut c = send_get(fe, "/").await;
    let mut got = Vec::new();
    let _ = timeout(DEADLINE, c.read_to_end(&mut got))
        .await
        .expect("closed in time");
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.contains("content-length: 1000"), "{head}");
    assert_eq!(body.len(), 500);
    running.stop();
}

// Input: a server writing an endless body; the client reads 1 MB of it
// and leaves.
// Output: the server's writes fail soon after (haven closed its side at
// once rather than reading on).
#[tokio::test]
async fn a_client_leaving_mid_download_closes_the_server_side() {
    let (closed_tx, closed_rx) = oneshot::channel::<u64>();
    let server = raw_server(move |mut s| async move {
        read_head(&mut s).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n";
        s.write_all(head.as_bytes()).await.expect("head");
        let block = vec![b'z'; 65_536];
        let mut sent = 0u64;
        while s.write_all(&block).await.is_ok() {
            sent += block.len() as u64;
        }
        let _ = closed_tx.send(sent);
    })
    .await;
    let (running, fe) = haven(server).await;
    let mut c = send_get(fe, "/").await;
    let mut got = Vec::new();
    read_exactly(&mut c, 1 << 20, &mut got).await;
    drop(c);
    let sent = timeout(DEADLINE, closed_rx)
        .await
        .expect("the server side is closed")
        .expect("server reports");
    assert!(sent < 1 << 30, "the server wrote {sent} bytes");
    running.stop();
}

// Input: a server writing a 256 MB body to a client that reads nothing.
// Output: the server is held back: what it wrote stays within the socket
// buffers and haven's one bounded buffer, far below the body's size.
#[tokio::test]
async fn a_slow_reader_holds_the_server_back() {
    let (wrote_tx, mut wrote_rx) = tokio::sync::watch::channel(0u64);
    let server = raw_server(move |mut s| async move {
        read_head(&mut s).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 268435456\r\n\r\n";
        s.write_all(head.as_bytes()).await.expect("head");
        let block = vec![b'w'; 65_536];
        let mut sent = 0u64;
        while s.write_all(&block).await.is_ok() {
            sent += block.len() as u64;
            wrote_tx.send_replace(sent);
        }
    })
    .await;
    let (running, fe) = haven(server).await;
    let c = send_get(fe, "/").await;
    // Wait until the server stops making progress: no new write for a
    // while means it is blocked on a full socket.
    loop {
        let stalled = timeout(Duration::from_millis(500), wrote_rx.changed()).await;
        if stalled.is_err() {
            break;
        }
        assert!(*wrote_rx.borrow() < 64 << 20, "the server is not held back");
    }
    let wrote = *wrote_rx.borrow();
    assert!(wrote < 64 << 20, "the server wrote {wrote} bytes");
    drop(c);
    running.stop();
}

// Input: a server that answers 200 as soon as it reads a POST's head,
// then reads the 5 MB body to its end and answers the next request.
// Output: the client gets the 200 while still sending, its whole body
// goes on to the server (no reset), and the connection serves the next
// request.
#[tokio::test]
async fn an_early_answer_lets_the_rest_of_the_body_through() {
    const SIZE: usize = 5_000_000;
    let (server, got) = early_answering_server(SIZE).await;
    let (running, fe) = haven(server).await;
    let body = post_through_an_early_answer(fe, &vec![b'u'; SIZE], got).await;
    assert_eq!(body.len(), SIZE);
    running.stop();
}
