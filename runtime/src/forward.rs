//! The server side of a request: connections to servers (kept between
//! requests by [`crate::pool`] when the backend keeps them alive), the
//! request head written as HTTP/1.1, and the response head read with
//! core's framing rules. Bodies go through [`crate::body`]; interim (1xx)
//! answers are handed back as they come.

use crate::body::{self, Relayed};
use crate::buffers;
use crate::driver::Core;
use crate::pool::Lease;
use crate::server_io::ServerIo;
use crate::stream::Peer;
use crate::tls::ServerHandshake;
use crate::wire::put_decimal;
use bytes::{Buf, BytesMut};
use haven_core::config::haproxy::LocalEnd;
use haven_core::http1::{parse_response_head, BodyFraming, Head, ResponseHead, Switch};
use haven_core::proxy::ServerFailure;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    out.extend_from_slice(head.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(head.target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // A request to switch protocols keeps the headers that ask for it.
    let upgrading = matches!(head.switch(), Switch::Upgrade { .. });
    let kept = head.headers.iter().filter(|(name, _)| {
        let asks_upgrade = upgrading && matches!(*name, "connection" | "upgrade");
        asks_upgrade || !NOT_FORWARDED.contains(name)
    });
    for (name, value) in kept {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let trailers = head
        .headers
        .all("te")
        .flat_map(|v| v.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"trailers"));
    if trailers {
        out.extend_from_slice(b"te: trailers\r\n");
    }
    match head.body {
        BodyFraming::Empty => {}
        BodyFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            put_decimal(&mut out, n);
            out.extend_from_slice(b"\r\n");
        }
        BodyFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// One connection to a server for one request.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub(crate) stream: ServerIo,
    /// What was read from it and not yet forwarded.
    pub(crate) buf: BytesMut,
    /// Taken from the pool: it may turn out closed by the server.
    pub(crate) pooled: bool,
    /// Requests it carried, this one included.
    pub(crate) uses: u32,
    /// Some byte of an answer came.
    pub(crate) heard: bool,
    /// How its server's counts count it.
    pub(crate) lease: Lease,
}

/// What a server said first.
#[derive(Debug)]
pub(crate) enum Heard {
    /// An interim answer (1xx but 101): its bytes as sent, for the client.
    Interim(BytesMut),
    /// The final response head.
    Final(ResponseHead),
}

/// How a new connection to a server is made.
#[derive(Debug, Default)]
pub(crate) struct Opening {
    /// What it starts with (a PROXY header).
    pub(crate) greeting: Option<Vec<u8>>,
    /// Where it leaves from (`source`).
    pub(crate) local: Option<LocalEnd>,
    /// The SOCKS4 proxy it goes through (`socks4`).
    pub(crate) socks4: Option<SocketAddr>,
    /// Its TLS handshake (`ssl`).
    pub(crate) tls: Option<Arc<ServerHandshake>>,
    /// It speaks HTTP/2 (`proto h2`).
    pub(crate) h2: bool,
    /// Where an HTTP/2 connection made for it counts: core, and the
    /// backend whose row it is.
    pub(crate) h2_stats: Option<(Arc<Core>, usize)>,
    /// `option nolinger`: it ends with a reset.
    pub(crate) nolinger: bool,
    /// `option tcp-smart-connect`: the handshake's last ACK leaves with
    /// the first bytes sent.
    pub(crate) delayed_ack: bool,
}

/// A new connection to `addr`, made as `opening` says.
pub(crate) async fn connect(
    (peer, sni): (&Peer, Option<&Arc<String>>),
    opening: &Opening,
) -> Result<ServerIo, ConnectFailed> {
    let leaving = (opening.local.as_ref(), opening.delayed_ack);
    let mut stream = crate::outbound::connect_via(peer, leaving, opening.socks4)
        .await
        .map_err(|_| ConnectFailed)?;
    stream.set_nodelay();
    if opening.nolinger {
        crate::outbound::no_linger(&stream);
    }
    if let Some(bytes) = &opening.greeting {
        body::write(&mut stream, bytes, None)
            .await
            .map_err(|_| ConnectFailed)?;
    }
    match &opening.tls {
        None => Ok(ServerIo::Clear(stream)),
        Some(tls) => {
            let tls = tls
                .connect(stream, peer.inet(), sni.map(|s| s.as_str()))
                .await
                .map_err(|_| ConnectFailed)?;
            Ok(ServerIo::tls(tls))
        }
    }
}

impl Upstream {
    /// Closes it with a reset ([`ServerIo::reset_on_close`]); its lease
    /// ends.
    pub(crate) fn close_hard(self) {
        self.stream.reset_on_close();
    }

    /// `stream`, idle until now, for its next request after `uses`
    /// others, counted in use by `lease` (which knows where it goes).
    pub(crate) fn new(stream: ServerIo, uses: u32, lease: Lease) -> Self {
        Self {
            stream,
            buf: BytesMut::new(),
            pooled: true,
            uses: uses + 1,
            heard: false,
            lease,
        }
    }

    /// A fresh connection to the same server, made as `opening` says, in
    /// place of a pooled one the server had let go.
    pub(crate) async fn replace(&mut self, opening: &Opening) -> Result<(), ConnectFailed> {
        self.stream = connect(
            (&self.lease.addr.peer, self.lease.addr.sni.as_ref()),
            opening,
        )
        .await?;
        self.buf.clear();
        self.pooled = false;
        self.uses = 1;
        Ok(())
    }

    /// Notes that some byte of an answer came (read by the caller into
    /// [`Self::buf`]).
    pub(crate) fn heard(&mut self) {
        self.heard = true;
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
            // Usually empty on the first pass: the answer is still to come.
            let parsed = match self.buf.is_empty() {
                true => Ok(None),
                false => parse_response_head(&self.buf, head_request),
            };
            match parsed {
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
            buffers::room(&mut self.buf);
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
