//! Raw loopback peers for real-mode tests that watch bytes move: a
//! server that hands its one connection to the test, readers with a
//! deadline, a keep-alive client that names who answered, and haven in
//! front of one server.

use super::{config, free_port, send_raw, DEFAULTS};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// A server that takes one connection and hands it to `serve`.
pub(crate) async fn raw_server<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            serve(stream).await;
        }
    });
    addr
}

/// Reads a request head (up to its blank line) from `s`; the bytes past
/// it come back too.
pub(crate) async fn read_head(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return (String::from_utf8_lossy(&buf).into_owned(), rest);
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed before the head's end");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads from `s` until `want` bytes came (or the end), never past them
/// (a pipelined request behind stays unread); what came.
pub(crate) async fn read_exactly(s: &mut TcpStream, want: usize, have: &mut Vec<u8>) {
    let mut chunk = vec![0u8; 65_536];
    while have.len() < want {
        let room = chunk.len().min(want - have.len());
        let n = timeout(DEADLINE, s.read(&mut chunk[..room]))
            .await
            .expect("in time")
            .expect("read");
        if n == 0 {
            return;
        }
        have.extend_from_slice(&chunk[..n]);
    }
}

/// Reads from `s` until `marker` appears; what came.
pub(crate) async fn read_until(
    s: &mut (impl tokio::io::AsyncRead + Unpin),
    marker: &[u8],
    have: &mut Vec<u8>,
) {
    let mut chunk = [0u8; 4096];
    while !have.windows(marker.len()).any(|w| w == marker) {
        let n = timeout(DEADLINE, s.read(&mut chunk))
            .await
            .expect("in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before {:?}: {:?}",
            String::from_utf8_lossy(marker),
            String::from_utf8_lossy(have)
        );
        have.extend_from_slice(&chunk[..n]);
    }
}

/// Reads what `s` has next (at least a byte) onto `into`, within the
/// deadline.
pub(crate) async fn read_more(s: &mut TcpStream, into: &mut Vec<u8>) {
    let mut chunk = [0u8; 65_536];
    let n = timeout(DEADLINE, s.read(&mut chunk))
        .await
        .expect("in time")
        .expect("read");
    assert!(n > 0, "closed mid-message");
    into.extend_from_slice(&chunk[..n]);
}

/// A server that answers `ok` as soon as it has a POST's head, then
/// reads its `size`-byte body (sent on the channel it returns) and
/// answers one more request with `next`.
pub(crate) async fn early_answering_server(
    size: usize,
) -> (SocketAddr, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    let (got_tx, got) = tokio::sync::oneshot::channel();
    let server = raw_server(move |mut s| async move {
        let (_, rest) = read_head(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .expect("early answer");
        let mut body = rest;
        read_exactly(&mut s, size, &mut body).await;
        let _ = got_tx.send(body);
        read_head(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
            .await
            .expect("next answer");
    })
    .await;
    (server, got)
}

/// POSTs `body` through `fe` while reading the early answer; once the
/// server has the whole body (`got` says so), sends the next request on
/// the same connection and reads its answer. What the server read.
pub(crate) async fn post_through_an_early_answer(
    fe: SocketAddr,
    body: &[u8],
    got: tokio::sync::oneshot::Receiver<Vec<u8>>,
) -> Vec<u8> {
    let mut c = TcpStream::connect(fe).await.expect("connect");
    let head = format!(
        "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (mut rd, mut wr) = c.split();
    let send = async {
        wr.write_all(head.as_bytes()).await.expect("head");
        wr.write_all(body).await.expect("the whole body");
    };
    let mut answer = Vec::new();
    tokio::join!(send, read_until(&mut rd, b"\r\n\r\nok", &mut answer));
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let read = timeout(DEADLINE, got)
        .await
        .expect("in time")
        .expect("the body");
    c.write_all(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("next request");
    read_until(&mut c, b"next", &mut Vec::new()).await;
    read
}

/// `data` framed as HTTP/1.1 chunks of at most `size` bytes, then the
/// last chunk, appended to `out`.
pub(crate) fn chunked(data: &[u8], size: usize, out: &mut Vec<u8>) {
    for part in data.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
}

/// The data of a whole chunked body.
pub(crate) fn dechunk(mut wire: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let eol = wire
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("size line");
        let size = usize::from_str_radix(std::str::from_utf8(&wire[..eol]).expect("hex"), 16)
            .expect("size");
        if size == 0 {
            return data;
        }
        data.extend_from_slice(&wire[eol + 2..eol + 2 + size]);
        wire = &wire[eol + 4 + size..];
    }
}

/// A client connection to `fe` that has sent `GET path`.
pub(crate) async fn send_get(fe: SocketAddr, path: &str) -> TcpStream {
    let mut c = TcpStream::connect(fe).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    c.write_all(request.as_bytes()).await.expect("send");
    c
}

/// haven in front of the one server at `server`.
pub(crate) async fn haven(server: SocketAddr) -> (haven_runtime::Running, SocketAddr) {
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s {server}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    (running, fe)
}

/// A syslog target on loopback, and the `global` lines that log to it.
pub(crate) struct Syslog {
    socket: tokio::net::UdpSocket,
    /// `global` and its `log` line, to start a config with.
    pub(crate) global: String,
}

impl Syslog {
    pub(crate) async fn new() -> Self {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("udp");
        let global = format!(
            "global\n    log {} local0\n",
            socket.local_addr().expect("addr")
        );
        Self { socket, global }
    }

    /// The next datagram, within the deadline.
    pub(crate) async fn next(&self) -> String {
        let mut buf = vec![0u8; 2048];
        let n = timeout(DEADLINE, self.socket.recv(&mut buf))
            .await
            .expect("a datagram in time")
            .expect("recv");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Datagrams until one holds each of `wanted`; all that came.
    pub(crate) async fn until(&self, wanted: &[&str]) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        while !wanted.iter().all(|w| lines.iter().any(|l| l.contains(w))) {
            lines.push(self.next().await);
        }
        lines
    }
}

/// The servers that answered `n` requests sent on one keep-alive
/// connection, in order.
pub(crate) async fn answered_on_one_connection(fe: SocketAddr, n: usize) -> Vec<String> {
    let mut requests = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n - 1);
    requests.push_str("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let reply = send_raw(fe, requests.as_bytes()).await;
    reply
        .split("HTTP/1.1 ")
        .skip(1)
        .map(|r| r.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned())
        .collect()
}

/// One answer on `c` to a request that was (`head_request`) a HEAD: its
/// head (lower case) and its body, de-chunked.
pub(crate) async fn read_answer(c: &mut TcpStream, head_request: bool) -> (String, Vec<u8>) {
    let mut wire = Vec::new();
    let end = loop {
        if let Some(end) = wire.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        read_more(c, &mut wire).await;
    };
    let head = String::from_utf8_lossy(&wire[..end]).to_ascii_lowercase();
    let mut rest = wire.split_off(end + 4);
    if head_request {
        return (head, rest);
    }
    if head.contains("transfer-encoding: chunked") {
        while !rest.ends_with(b"0\r\n\r\n") {
            read_more(c, &mut rest).await;
        }
        return (head, dechunk(&rest));
    }
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a length");
    while rest.len() < len {
        read_more(c, &mut rest).await;
    }
    (head, rest)
}
