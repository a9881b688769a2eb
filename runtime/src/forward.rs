//! The server side of a request: connections to servers (pooled when the
//! backend keeps them alive), the request head written as HTTP/1.1, and
//! the response head read with core's framing rules. Bodies go through
//! [`crate::body`]; interim (1xx) answers are handed back as they come.

use crate::body::{self, Relayed};
use bytes::{Buf, BytesMut};
use haven_core::http1::{parse_response_head, BodyFraming, Head, ResponseHead, Switch};
use haven_core::proxy::ServerFailure;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;

/// Largest response head read: what the buffer holds less the room kept
/// for rewrites, as haproxy (a larger one is a 502).
const MAX_HEAD: usize = body::BUFSIZE - body::MAXREWRITE;

/// Headers that belong to one connection, not to the message, with
/// `expect` (haven answers `100 Continue` itself) and the body's framing
/// (written from how the body is really sent): never copied as the client
/// sent them.
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

/// The usual reason phrase of `status`, if it has one.
pub(crate) fn canonical_reason(status: u16) -> Option<&'static str> {
    hyper::StatusCode::from_u16(status).ok()?.canonical_reason()
}

/// No connection to the server could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectFailed;

/// The request head as it goes to a server: HTTP/1.1, the client's
/// connection headers left out (but `te: trailers`, which haproxy keeps
/// when the client offered trailers plainly, and `connection` and
/// `upgrade` as sent on a request to switch protocols),
/// and the body's framing as the client sent it.
pub(crate) fn request_head(head: &Head) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let _ = write!(out, "{} {} HTTP/1.1\r\n", head.method, head.target);
    // A request to switch protocols keeps the headers that ask for it.
    let upgrading = matches!(head.switch(), Switch::Upgrade { .. });
    let kept = head
        .headers
        .iter()
        .filter(|(name, _)| {
            let asks_upgrade = upgrading && matches!(name.as_str(), "connection" | "upgrade");
            asks_upgrade || !NOT_FORWARDED.contains(&name.as_str())
        })
        .map(|(name, value)| (name.as_str(), value.as_slice()));
    for (name, value) in kept {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let trailers = head
        .headers
        .iter()
        .filter(|(name, _)| name == "te")
        .flat_map(|(_, v)| v.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"trailers"));
    if trailers {
        out.extend_from_slice(b"te: trailers\r\n");
    }
    match head.body {
        BodyFraming::Empty => {}
        BodyFraming::Length(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        BodyFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// One connection to a server for one request.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub(crate) stream: TcpStream,
    /// What was read from it and not yet forwarded.
    pub(crate) buf: BytesMut,
    addr: SocketAddr,
    /// Taken from the pool: it may turn out closed by the server.
    pub(crate) pooled: bool,
    /// Some byte of an answer came.
    heard: bool,
}

/// What a server said first.
#[derive(Debug)]
pub(crate) enum Heard {
    /// An interim answer (1xx but 101): its bytes as sent, for the client.
    Interim(BytesMut),
    /// The final response head.
    Final(ResponseHead),
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

    /// Keeps `up` for another request when nothing of the last answer
    /// is left in it.
    pub(crate) fn park(&self, up: Upstream) {
        if !up.buf.is_empty() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.entry(up.addr).or_default().push(up.stream);
        }
    }

    /// A connection to `addr`: an idle one when `reuse` allows, else a
    /// new one.
    pub(crate) async fn open(
        &self,
        addr: SocketAddr,
        reuse: bool,
    ) -> Result<Upstream, ConnectFailed> {
        let pooled = if reuse { self.take(addr) } else { None };
        let (stream, pooled) = match pooled {
            Some(s) => (s, true),
            None => (connect(addr).await?, false),
        };
        Ok(Upstream {
            stream,
            buf: BytesMut::new(),
            addr,
            pooled,
            heard: false,
        })
    }
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, ConnectFailed> {
    let stream = TcpStream::connect(addr).await.map_err(|_| ConnectFailed)?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl Upstream {
    /// A fresh connection to the same server, in place of a pooled one the
    /// server had let go.
    pub(crate) async fn replace(&mut self) -> Result<(), ConnectFailed> {
        self.stream = connect(self.addr).await?;
        self.buf.clear();
        self.pooled = false;
        Ok(())
    }

    /// Writes `bytes` to the server; a failure is an unanswered request.
    pub(crate) async fn send(
        &mut self,
        bytes: &[u8],
        idle: Option<Duration>,
    ) -> Result<(), ServerFailure> {
        body::write(&mut self.stream, bytes, idle)
            .await
            .map_err(|_| ServerFailure::Empty)
    }

    /// Reads the next response head (an interim one, or the final one),
    /// answering a request that was (`head_request`) a HEAD.
    pub(crate) async fn hear(&mut self, head_request: bool) -> Result<Heard, ServerFailure> {
        loop {
            match parse_response_head(&self.buf, head_request) {
                Ok(Some((head, len))) => {
                    if !(100..=999).contains(&head.code) {
                        return Err(ServerFailure::Junk);
                    }
                    if (100..200).contains(&head.code) && head.code != 101 {
                        return Ok(Heard::Interim(self.buf.split_to(len)));
                    }
                    self.buf.advance(len);
                    return Ok(Heard::Final(head));
                }
                Ok(None) => {}
                Err(_) => return Err(ServerFailure::Junk),
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(ServerFailure::Junk);
            }
            self.buf.reserve(4096);
            // Closed or reset before any byte of an answer: unanswered (a
            // pooled connection the server just let go is replaced).
            match body::read(&mut self.stream, &mut self.buf, None).await {
                Ok(true) => self.heard = true,
                Ok(false) | Err(Relayed::SenderClosed) if !self.heard => {
                    return Err(ServerFailure::Empty)
                }
                _ => return Err(ServerFailure::Broken),
            }
        }
    }
}
