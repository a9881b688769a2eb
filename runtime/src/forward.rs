//! Sending a request to a server over a pooled HTTP/1.1 connection, in
//! the request's own task: the request goes out in one write, the answer
//! is read with `httparse` and core's chunked decoder. A connection from
//! the pool counts as connected at once; one that turns out closed before
//! any byte of an answer is replaced by a fresh one, as haproxy does with
//! idle connections.

use bytes::{Buf, Bytes, BytesMut};
use haven_core::http1::{parse_response_head, ChunkedDecoder, Head, ResponseFraming, ResponseHead};
use haven_core::proxy::ServerFailure;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head read.
const MAX_HEAD: usize = 65_536;

/// Headers that belong to one connection, not to the message; with
/// `expect` (the body is read already) and `content-length` (written from
/// the body), never forwarded as the client sent them.
const NOT_FORWARDED: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
];

/// Idle keep-alive connections to servers.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<BTreeMap<SocketAddr, Vec<TcpStream>>>,
}

/// A server's whole answer, or one of ours.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Status code, 100 to 999.
    pub(crate) status: u16,
    /// The reason phrase when it is not the status's usual one.
    pub(crate) reason: Option<String>,
    /// Headers in order, names lower-cased.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
}

impl Answer {
    /// The first value of header `name` (lower-case).
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// The usual reason phrase of `status`, if it has one.
pub(crate) fn canonical_reason(status: u16) -> Option<&'static str> {
    hyper::StatusCode::from_u16(status).ok()?.canonical_reason()
}

/// Why a forward failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForwardError {
    /// No connection could be made.
    Connect,
    /// The server failed the request it was sent.
    Server(ServerFailure),
}

/// A request ready for the wire.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// Head and body, HTTP/1.1.
    bytes: Bytes,
    /// A `HEAD` request: the answer has no body.
    head: bool,
}

impl Outgoing {
    /// The client's request `head` (its target already in origin form)
    /// and `body` as one HTTP/1.1 message, its connection headers left
    /// out and `extra` added.
    pub(crate) fn new(head: &Head, extra: Option<(&str, &str)>, body: &[u8]) -> Self {
        let mut out = Vec::with_capacity(256 + body.len());
        let _ = write!(out, "{} {} HTTP/1.1\r\n", head.method, head.target);
        let kept = head
            .headers
            .iter()
            .filter(|(name, _)| !NOT_FORWARDED.contains(&name.as_str()))
            .map(|(name, value)| (name.as_str(), value.as_slice()));
        for (name, value) in kept.chain(extra.map(|(n, v)| (n, v.as_bytes()))) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() {
            let _ = write!(out, "content-length: {}\r\n", body.len());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        Self {
            bytes: Bytes::from(out),
            head: head.method == "HEAD",
        }
    }
}

/// How an exchange on one connection ended badly.
enum Failure {
    /// Closed before any byte of an answer: nothing was processed.
    Unanswered,
    /// An answer that is not HTTP.
    Junk,
    /// Broken half-way.
    Broken,
}

impl Pool {
    /// An idle connection to `addr` that is still open.
    fn take(&self, addr: SocketAddr) -> Option<TcpStream> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(&addr)?;
        while let Some(s) = list.pop() {
            // Open and quiet: reading would block.
            let mut probe = [0u8; 1];
            if matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                return Some(s);
            }
        }
        None
    }

    fn park(&self, addr: SocketAddr, stream: TcpStream) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.entry(addr).or_default().push(stream);
        }
    }

    /// Sends `req` to `addr`; `connected` runs once a connection is there.
    /// With `reuse` false the connection is a new one, closed after the
    /// response (`http-server-close`, `httpclose`).
    pub(crate) async fn forward(
        &self,
        addr: SocketAddr,
        req: Outgoing,
        reuse: bool,
        connected: impl FnOnce(),
    ) -> Result<Answer, ForwardError> {
        let mut connected = Some(connected);
        let mut pooled = if reuse { self.take(addr) } else { None };
        loop {
            let from_pool = pooled.is_some();
            let mut stream = match pooled.take() {
                Some(s) => s,
                None => connect(addr).await?,
            };
            if let Some(c) = connected.take() {
                c();
            }
            match exchange(&mut stream, &req).await {
                Ok((answer, keep)) => {
                    if reuse && keep {
                        self.park(addr, stream);
                    }
                    return Ok(answer);
                }
                Err(Failure::Unanswered) if from_pool => {}
                Err(Failure::Unanswered) => return Err(ForwardError::Server(ServerFailure::Empty)),
                Err(Failure::Junk) => return Err(ForwardError::Server(ServerFailure::Junk)),
                Err(Failure::Broken) => return Err(ForwardError::Server(ServerFailure::Broken)),
            }
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, ForwardError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|_| ForwardError::Connect)?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Reads more into `buf`; false at the end of the stream.
async fn fill(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<bool, Failure> {
    stream
        .read_buf(buf)
        .await
        .map(|n| n > 0)
        .map_err(|_| Failure::Broken)
}

/// Sends `req` and reads the whole answer; true when the connection may
/// serve another request.
async fn exchange(stream: &mut TcpStream, req: &Outgoing) -> Result<(Answer, bool), Failure> {
    if stream.write_all(&req.bytes).await.is_err() {
        return Err(Failure::Unanswered);
    }
    let mut buf = BytesMut::with_capacity(4096);
    let head = loop {
        match parse_response_head(&buf, req.head) {
            Ok(Some((head, len))) => {
                buf.advance(len);
                // 1xx answers are interim: read on.
                if (100..200).contains(&head.code) {
                    continue;
                }
                break head;
            }
            Ok(None) => {}
            Err(_) => return Err(Failure::Junk),
        }
        if buf.len() >= MAX_HEAD {
            return Err(Failure::Junk);
        }
        // Closed or reset before any byte of an answer: unanswered (a
        // pooled connection the server just let go is replaced).
        match fill(stream, &mut buf).await {
            Ok(true) => {}
            Ok(false) | Err(_) if buf.is_empty() => return Err(Failure::Unanswered),
            Ok(false) | Err(_) => return Err(Failure::Broken),
        }
    };
    let mut keep = head.keep_alive;
    let framing = head.body;
    let answer = answer_of(head)?;
    let body = match framing {
        ResponseFraming::Empty => Bytes::new(),
        ResponseFraming::Length(n) => {
            let n = usize::try_from(n).map_err(|_| Failure::Broken)?;
            while buf.len() < n {
                if !fill(stream, &mut buf).await? {
                    return Err(Failure::Broken);
                }
            }
            buf.split_to(n).freeze()
        }
        ResponseFraming::Chunked => {
            let mut decoder = ChunkedDecoder::default();
            let mut out = Vec::new();
            loop {
                let used = decoder.feed(&buf, &mut out).map_err(|_| Failure::Broken)?;
                buf.advance(used);
                if decoder.is_done() {
                    break;
                }
                if !fill(stream, &mut buf).await? {
                    return Err(Failure::Broken);
                }
            }
            Bytes::from(out)
        }
        ResponseFraming::UntilClose => {
            keep = false;
            while fill(stream, &mut buf).await? {}
            buf.split().freeze()
        }
    };
    keep &= buf.is_empty();
    Ok((Answer { body, ..answer }, keep))
}

/// The answer (without body) of a response head; `Err` when its status
/// is not three digits.
fn answer_of(head: ResponseHead) -> Result<Answer, Failure> {
    if !(100..=999).contains(&head.code) {
        return Err(Failure::Junk);
    }
    let reason = Some(head.reason).filter(|r| Some(r.as_str()) != canonical_reason(head.code));
    Ok(Answer {
        status: head.code,
        reason,
        headers: head.headers,
        body: Bytes::new(),
    })
}
