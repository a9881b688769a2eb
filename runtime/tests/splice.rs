//! Splicing (`option splice-request|splice-response|splice-auto`): bodies
//! and tunnels moved by `splice()` arrive intact and in order, a server
//! answering before the request's end leaves no byte behind in the pipe,
//! `nosplice` turns it off, and `show stat typed` counts the spliced
//! bytes on each side as haproxy's HTTP/1 module does.

#[allow(dead_code)]
mod common;

use common::raw::{
    early_answering_server, post_through_an_early_answer, raw_server, read_exactly, read_head,
    read_until, DEADLINE,
};
use common::{cli, config, free_port, DEFAULTS};
use std::net::SocketAddr;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const SIZE: usize = 3_000_000;

/// A body of `len` bytes whose every position differs from its
/// neighbours' (a byte lost, repeated or swapped shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// haven with a stats socket in `dir`, `global` lines and `proxy` lines
/// in front of `server` (mode as `DEFAULTS`, unless `proxy` says).
async fn haven(
    dir: &Path,
    (global, proxy): (&str, &str),
    server: SocketAddr,
) -> (haven_runtime::Running, SocketAddr) {
    let sock = dir.join("admin.sock");
    let text = format!(
        "global\n    stats socket {} level admin\n{global}{DEFAULTS}listen li\n    bind 127.0.0.1:{}\n{proxy}    server s {server}\n",
        sock.display(),
        free_port()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    (running, fe)
}

/// The frontend's and the backend's spliced bytes in and out, from `show
/// stat typed`, once the frontend counts `sent` bytes sent to clients
/// (the counters move when a stream ends, just after its last byte).
async fn spliced(dir: &Path, sent: u64) -> [[u64; 2]; 2] {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let typed = cli(&dir.join("admin.sock"), "show stat typed").await;
        let value = |row: char, field: &str| -> u64 {
            let line = typed
                .lines()
                .find(|l| l.starts_with(row) && l.contains(&format!(".{field}.1:MCP:u64:")))
                .unwrap_or_else(|| panic!("{row} {field} in {typed}"));
            line.rsplit(':')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a number")
        };
        if value('F', "bout") >= sent {
            let fields = ["h1_spliced_bytes_in", "h1_spliced_bytes_out"];
            return ['F', 'B'].map(|row| fields.map(|f| value(row, f)));
        }
        assert!(tokio::time::Instant::now() < deadline, "{typed}");
    }
}

/// A server that reads one request with a `SIZE` body, checks it is
/// `pattern(SIZE)`, and answers with that same body.
async fn mirror_server() -> SocketAddr {
    raw_server(|mut s| async move {
        let (_, mut body) = read_head(&mut s).await;
        read_exactly(&mut s, SIZE, &mut body).await;
        let status = if body == pattern(SIZE) { 200 } else { 500 };
        let head = format!("HTTP/1.1 {status} OK\r\nContent-Length: {SIZE}\r\n\r\n");
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(&pattern(SIZE)).await;
    })
    .await
}

// Input: `option splice-request` and `splice-response`; a 3 MB upload
// to a server that checks it and answers the same 3 MB.
// Output: the server saw every byte in order (200) and the client gets
// them back; the typed stats count what went by splice(): at most one
// buffer's worth, read with each head, was copied.
#[tokio::test]
async fn spliced_bodies_arrive_intact_and_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = "    option splice-request\n    option splice-response\n";
    let (running, fe) = haven(dir.path(), ("", options), mirror_server().await).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    let head = format!("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n");
    let (mut rd, mut wr) = c.split();
    let send = async {
        wr.write_all(head.as_bytes()).await.expect("head");
        wr.write_all(&pattern(SIZE)).await.expect("body");
    };
    let mut answer = Vec::new();
    let read = read_until(&mut rd, b"\r\n\r\n", &mut answer);
    tokio::join!(send, read);
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "the server saw the body intact"
    );
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head")
        + 4;
    let mut body = answer.split_off(at);
    while body.len() < SIZE {
        let mut chunk = vec![0; 65_536];
        let n = timeout(DEADLINE, c.read(&mut chunk))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "closed after {} bytes", body.len());
        body.extend_from_slice(&chunk[..n]);
    }
    assert!(body == pattern(SIZE), "the answer arrives intact");
    let [[fe_in, fe_out], [be_in, be_out]] = spliced(dir.path(), SIZE as u64).await;
    let most_copied = 16_384;
    assert!(
        fe_in + most_copied >= SIZE as u64 && fe_in <= SIZE as u64,
        "{fe_in}"
    );
    assert!(
        be_in + most_copied >= SIZE as u64 && be_in <= SIZE as u64,
        "{be_in}"
    );
    assert_eq!(
        (fe_in, fe_out),
        (be_out, be_in),
        "what one side takes in, the other sends"
    );
    running.stop();
}

// Input: `option splice-request`; a server that answers as soon as it
// has the head, then reads the 3 MB body and answers a second request.
// Output: the whole body reaches it in order while the answer goes back
// (the pipe's bytes were not lost when the early answer won), and the
// connection serves the next request.
#[tokio::test]
async fn an_early_answer_leaves_no_spliced_byte_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, got) = early_answering_server(SIZE).await;
    let options = "    option splice-request\n";
    let (running, fe) = haven(dir.path(), ("", options), server).await;
    let body = post_through_an_early_answer(fe, &pattern(SIZE), got).await;
    assert!(body == pattern(SIZE), "every byte, in order");
    let [[fe_in, _], _] = spliced(dir.path(), 2).await;
    assert!(fe_in > 0, "the body was spliced");
    running.stop();
}

/// A server that echoes one connection's bytes until it closes its side.
async fn echo_server() -> SocketAddr {
    raw_server(|mut s| async move {
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
        let _ = w.shutdown().await;
    })
    .await
}

/// Sends `pattern(SIZE)` through `fe` and closes its side: what came back.
async fn echo_through(fe: SocketAddr) -> Vec<u8> {
    let c = TcpStream::connect(fe).await.expect("connect");
    let (mut r, mut w) = c.into_split();
    let writer = tokio::spawn(async move {
        w.write_all(&pattern(SIZE)).await.expect("send");
        w.shutdown().await.expect("close our side");
    });
    let mut back = Vec::with_capacity(SIZE);
    timeout(DEADLINE, r.read_to_end(&mut back))
        .await
        .expect("in time")
        .expect("read");
    writer.await.expect("writer");
    back
}

// Input: a `mode tcp` listen with `option splice-auto` before an echo
// server, 3 MB sent and the client's side closed; then the same with
// `nosplice` in global.
// Output: every byte comes back in order both times; with splicing both
// ways went by splice(), and under `nosplice` none did.
#[tokio::test]
async fn a_spliced_tunnel_echoes_intact_and_nosplice_turns_it_off() {
    for (global, spliced_ways) in [("", true), ("    nosplice\n", false)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let proxy = "    mode tcp\n    option splice-auto\n";
        let (running, fe) = haven(dir.path(), (global, proxy), echo_server().await).await;
        assert!(echo_through(fe).await == pattern(SIZE), "echoed intact");
        let [[fe_in, fe_out], [be_in, be_out]] = spliced(dir.path(), SIZE as u64).await;
        let expected = if spliced_ways { SIZE as u64 } else { 0 };
        assert_eq!([fe_in, fe_out, be_in, be_out], [expected; 4], "{global}");
        running.stop();
    }
}
