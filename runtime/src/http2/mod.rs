//! haproxy's HTTP/2 front side: a client connection that agreed on `h2`
//! by ALPN, a `bind ... proto h2`, or a clear connection that opens with
//! the HTTP/2 preface (haproxy's implicit upgrade). Each stream is
//! served as one HTTP/1.1 request by the same exchange as an HTTP/1
//! client's ([`crate::request::serve`]), in a task of its own; this task
//! drives the connection (frames, HPACK, flow control, and the h2
//! crate's guards against reset floods, CONTINUATION floods and oversized
//! header lists) and ends it with a GOAWAY when it idles past its
//! timeout or a drain begins.
//!
//! To servers (`proto h2`, ALPN `h2`), [`H2Upstream`] does the reverse:
//! one stream of a shared connection carries one request written as
//! HTTP/1.1.

mod answer;
mod framing;
mod prefixed;
mod request;
mod stream;
mod upstream;

pub(crate) use prefixed::Prefixed;
pub(crate) use request::incoming;
pub(crate) use stream::H2Stream;
pub(crate) use upstream::H2Upstream;

use crate::request::Shared;
use crate::session::Session;
use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, timeout, Instant};

/// The HTTP/2 connection preface a client sends first.
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// haproxy's `tune.h2.max-concurrent-streams` default.
const MAX_CONCURRENT_STREAMS: u32 = 100;

/// Streams refused for want of a slot (see [`InFlight`]) before the
/// connection is ended with `ENHANCE_YOUR_CALM`.
const REFUSALS_TOLERATED: u32 = 10;

/// The most a stream's head may take once decoded: haproxy's buffer.
const MAX_HEADER_LIST: u32 = crate::body::BUFSIZE as u32;

/// Serves the HTTP/2 connection `io` from `client` (its connection-wide
/// state in `session`, which knows where the client connected to) until
/// it closes, the client idles past its timeout, or a drain ends it.
/// Boxed: inline, its 3.5 kB state would be room every client
/// connection's task keeps, HTTP/1 ones and idle ones included.
pub(crate) fn serve<'a, T>(
    io: T,
    shared: &'a Arc<Shared>,
    client: (SocketAddr, Session),
    draining: watch::Receiver<bool>,
) -> Pin<Box<impl Future<Output = ()> + Send + 'a>>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'a,
{
    Box::pin(serve_inline(io, shared, client, draining))
}

/// [`serve`], unboxed.
async fn serve_inline<T>(
    io: T,
    shared: &Arc<Shared>,
    (client, mut session): (SocketAddr, Session),
    mut draining: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let handshake = h2::server::Builder::new()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(MAX_HEADER_LIST)
        .max_send_buffer_size(crate::body::BUFSIZE)
        .enable_connect_protocol()
        .handshake::<_, Bytes>(io);
    let handshake = match shared.timeouts.client {
        Some(limit) => timeout(limit, handshake).await.ok(),
        None => Some(handshake.await),
    };
    let Some(Ok(mut connection)) = handshake else {
        return;
    };
    let idle = shared.timeouts.keep_alive.or(shared.timeouts.client);
    let mut idle_until = idle.map(|t| Instant::now() + t);
    let mut closing = false;
    let mut in_flight = InFlight::new();
    if *draining.borrow() {
        connection.graceful_shutdown();
        closing = true;
    }
    loop {
        let idle_wait = async {
            match idle_until {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            next = connection.accept() => match next {
                Some(Ok((request, mut respond))) => {
                    let accepted = Instant::now();
                    idle_until = idle.map(|t| accepted + t);
                    let Some(slot) = in_flight.admit() else {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                        if in_flight.refused > REFUSALS_TOLERATED {
                            connection.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
                            closing = true;
                        }
                        continue;
                    };
                    let seed = session.for_stream();
                    let peer = (client, seed, slot);
                    tokio::spawn(stream(request, respond, Arc::clone(shared), peer, accepted));
                }
                Some(Err(_)) | None => break,
            },
            () = idle_wait, if !closing => {
                idle_until = idle.map(|t| Instant::now() + t);
                if !connection.has_streams() {
                    connection.graceful_shutdown();
                    closing = true;
                }
            }
            _ = draining.changed(), if !closing => {
                connection.graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// The requests of one connection still being served. A stream the
/// client resets is closed for HTTP/2 at once, but its request may still
/// be on its way to a server: without a bound, a client that opens and
/// resets streams without end (the "rapid reset" attack) would have
/// haven send requests without end. So a connection serves at most
/// [`MAX_CONCURRENT_STREAMS`] requests at a time, refuses streams beyond
/// (`REFUSED_STREAM`, which a client may retry), and ends with
/// `ENHANCE_YOUR_CALM` a client that keeps pushing.
struct InFlight {
    slots: Arc<Semaphore>,
    /// Streams refused so far.
    refused: u32,
}

impl InFlight {
    fn new() -> Self {
        Self {
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_STREAMS as usize)),
            refused: 0,
        }
    }

    /// A slot for a new stream's request, held while it is served; `None`
    /// (and counted) when all are taken.
    fn admit(&mut self) -> Option<OwnedSemaphorePermit> {
        let slot = Arc::clone(&self.slots).try_acquire_owned().ok();
        self.refused += u32::from(slot.is_none());
        slot
    }
}

/// Opens HTTP/2 on `io`, a new connection to a server, and drives it in
/// a task of its own: the handle that opens its streams.
pub(crate) async fn client<T>(io: T) -> std::io::Result<h2::client::SendRequest<Bytes>>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, connection) = h2::client::Builder::new()
        .max_send_buffer_size(crate::body::BUFSIZE)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(send)
}

/// Serves one stream's request to its end, holding `slot` (its place
/// among the connection's requests in flight) meanwhile.
async fn stream(
    request: http::Request<h2::RecvStream>,
    respond: h2::server::SendResponse<Bytes>,
    shared: Arc<Shared>,
    (client, mut session, slot): (SocketAddr, Session, OwnedSemaphorePermit),
    accepted: Instant,
) {
    let (parts, body) = request.into_parts();
    let at = (accepted, shared.httplog);
    let incoming = request::incoming(&parts, body.is_end_stream(), at, rand::random);
    let Ok(incoming) = incoming else {
        let mut respond = respond;
        respond.send_reset(h2::Reason::PROTOCOL_ERROR);
        return;
    };
    let manner = incoming.read.manner;
    // A CONNECT, or an extended CONNECT's upgrade.
    let tunnel = manner.switch != haven_core::http1::Switch::None;
    let local = session.known_destination();
    let mut io = H2Stream::new(
        (body, incoming.upload),
        respond,
        (manner.head, tunnel),
        local,
    );
    let mut buf = BytesMut::new();
    // Boxed at once: the task's own state stays small to spawn.
    let read = incoming.read;
    Box::pin(crate::request::serve(
        (&mut io, &mut buf),
        read,
        &shared,
        client,
        &mut session,
    ))
    .await;
    io.finish();
    drop(slot);
}
