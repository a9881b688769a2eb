//! haproxy's HTTP/2 front side: a client connection that agreed on `h2`
//! by ALPN, a `bind ... proto h2`, or a clear connection that opens with
//! the HTTP/2 preface (haproxy's implicit upgrade). Core's
//! [`Connection`] reads and writes the frames; this task moves its bytes
//! and ends it with a GOAWAY when it idles past its timeout or a drain
//! begins. Each stream is served as one HTTP/1.1 request by the same
//! exchange as an HTTP/1 client's ([`crate::request::serve`]), in a task
//! of its own, through a [`link::StreamLink`].
//!
//! To servers (`proto h2`, ALPN `h2`), [`H2Upstream`] does the reverse
//! on the same codec ([`client`]): one stream of a shared connection
//! carries one request written as HTTP/1.1.

mod answer;
mod framing;
mod link;
mod prefixed;
mod pump;
mod request;
mod stream;
mod upstream;

pub(crate) use prefixed::Prefixed;
use request::{incoming, Incoming};
pub(crate) use stream::H2Stream;
pub(crate) use upstream::H2Upstream;

use crate::driver::{Core, Event as DriverEvent};
use crate::request::Shared;
use crate::session::Session;
use bytes::BytesMut;
use haven_core::http2::{
    read_request, Connection, Counters, ErrorCode, Event, Field, Limits, Request,
};
use haven_core::stats::H2Owner;
pub(crate) use link::H2Client;
use link::{Link, StreamLink};
use pump::{Pump, Woke};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

/// The HTTP/2 connection preface a client sends first.
pub(crate) const PREFACE: &[u8] = haven_core::http2::frame::PREFACE;

/// Serves the HTTP/2 connection `io` from `client` (its connection-wide
/// state in `session`, which knows where the client connected to) until
/// it closes, the client idles past its timeout, or a drain ends it.
/// Boxed: inline, its state would be room every client connection's
/// task keeps, HTTP/1 ones and idle ones included.
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

/// A request a connection read, to be served by a task of its own.
pub(crate) struct Opened {
    /// Its stream.
    pub(crate) link: StreamLink,
    /// Its fields as decoded.
    pub(crate) fields: Vec<Field>,
    /// Its HEADERS ended the stream: no body.
    pub(crate) bodiless: bool,
}

/// [`serve`], unboxed.
async fn serve_inline<T>(
    io: T,
    shared: &Arc<Shared>,
    (client, mut session): (SocketAddr, Session),
    draining: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let idle = shared.timeouts.keep_alive.or(shared.timeouts.client);
    let timeouts = (shared.timeouts.client.or(idle), idle);
    let owner = H2Owner::Frontend(shared.frontend);
    shared.core.dispatch(DriverEvent::H2Opened(owner));
    let seen = drive(io, (shared.h2, timeouts), draining, |opened| {
        let peer = (client, session.for_stream());
        // Boxed whole: the task then holds a pointer, which tokio moves
        // as it spawns and ends the task, where it would move the state.
        tokio::spawn(Box::pin(stream(
            opened,
            Arc::clone(shared),
            peer,
            Instant::now(),
        )));
    })
    .await;
    shared.core.dispatch(DriverEvent::H2Closed(owner, seen));
}

/// Moves the bytes of the HTTP/2 connection `io` through core's
/// [`Connection`], handing each request it admits to `open`, until the
/// connection closes, fails, or ends with a GOAWAY: after `first` (the
/// wait for a first request) or `idle` (between requests) with no
/// stream open, or when a drain begins. Returns what it counted.
pub(crate) async fn drive<T>(
    io: T,
    (limits, (first, idle)): (Limits, (Option<Duration>, Option<Duration>)),
    mut draining: watch::Receiver<bool>,
    mut open: impl FnMut(Opened),
) -> Counters
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut pump = Pump::new(io, Link::new(Connection::server(limits)));
    let mut idle_until = first.map(|t| Instant::now() + t);
    if *draining.borrow() {
        pump.link.lock().conn.go_away(ErrorCode::NO_ERROR);
    }
    loop {
        let mut opened = Vec::new();
        pump.feed(|state, stream, fields, end| {
            state.open(stream);
            opened.push((stream, fields, end));
        });
        for (stream, fields, bodiless) in opened {
            idle_until = idle.map(|t| Instant::now() + t);
            let link = StreamLink::new(Arc::clone(&pump.link), stream);
            open(Opened {
                link,
                fields,
                bodiless,
            });
        }
        // After its GOAWAY, the connection ends with its last stream.
        let closing = pump.link.lock().conn.going_away();
        if !pump.flush().await || pump.over(closing) {
            break;
        }
        let timers = async {
            tokio::select! {
                () = sleep_until_some(idle_until), if !closing => Tick::Idle,
                _ = draining.changed(), if !closing => Tick::Drain,
                else => std::future::pending().await,
            }
        };
        match pump.wait(timers).await {
            Woke::Io => {}
            Woke::Closed => break,
            Woke::Other(tick) => {
                let mut state = pump.link.lock();
                if tick == Tick::Idle {
                    idle_until = idle.map(|t| Instant::now() + t);
                }
                if tick == Tick::Drain || state.conn.idle() {
                    state.conn.go_away(ErrorCode::NO_ERROR);
                }
            }
        }
    }
    let seen = pump.link.lock().conn.counters();
    seen
}

/// What a connection's timers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tick {
    /// Its idle timeout passed.
    Idle,
    /// A drain began.
    Drain,
}

/// Waits until `at`, forever when there is none.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Opens HTTP/2 on `io`, a new connection to a server, and drives it in
/// a task of its own (until the server closes it, or no request uses
/// it): the handle that opens its streams. With `counted` (core and a
/// backend), the connection counts in the backend's HTTP/2 cells.
pub(crate) fn client<T>(io: T, limits: Limits, counted: Option<(Arc<Core>, usize)>) -> H2Client
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let link = Link::new(Connection::client(limits));
    let client = H2Client::new(Arc::clone(&link));
    let counted = counted.map(|(core, backend)| (core, H2Owner::Backend(backend)));
    if let Some((core, owner)) = &counted {
        core.dispatch(DriverEvent::H2Opened(*owner));
    }
    tokio::spawn(async move {
        let mut pump = Pump::new(io, link);
        loop {
            pump.feed(|state, stream, fields, end| {
                state.deliver(Event::Head {
                    stream,
                    fields,
                    end,
                });
            });
            // Only this task holds the link: nothing can use it any more.
            let unused = Arc::strong_count(&pump.link) == 1;
            if !pump.flush().await || pump.over(unused) {
                break;
            }
            if let Woke::Closed = pump.wait(std::future::pending::<()>()).await {
                break;
            }
        }
        if let Some((core, owner)) = counted {
            let seen = pump.link.lock().conn.counters();
            core.dispatch(DriverEvent::H2Closed(owner, seen));
        }
    });
    client
}

/// Serves one stream's request to its end (it counts among the
/// connection's requests in flight until its link is dropped).
async fn stream(
    mut opened: Opened,
    shared: Arc<Shared>,
    (client, mut session): (SocketAddr, Session),
    accepted: Instant,
) {
    let at = (accepted, shared.httplog);
    let Some((request, incoming)) = read(&mut opened, at) else {
        return;
    };
    let manner = incoming.read.manner;
    // A CONNECT, or an extended CONNECT's upgrade.
    let tunnel = manner.switch != haven_core::http1::Switch::None;
    let local = session.known_destination();
    let upload = (incoming.upload, opened.bodiless);
    let mut io = H2Stream::new(opened.link, upload, (manner.head, tunnel), local);
    if request.invalid {
        // What haproxy's parser refuses: its 400, as to an HTTP/1 client.
        let tls = session.tls.as_ref();
        shared.log_refused((client, tls), (accepted, None), 400, "PR--");
        let _ = io.write_all(&shared.refusal(400)).await;
        io.finish();
        return;
    }
    // Small: a request without a body reads nothing here, yet the
    // exchange reads on while it waits for the server (to see the client
    // leave), and an empty buffer would take 16 kB for that.
    let mut buf = BytesMut::with_capacity(64);
    let read = incoming.read;
    crate::request::serve((&mut io, &mut buf), read, &shared, client, &mut session).await;
    io.finish();
}

/// The request `opened` carries, checked and read as the exchange
/// takes it (received `at`), or `None` when it is malformed: its stream
/// is reset then.
pub(crate) fn read(opened: &mut Opened, at: (Instant, bool)) -> Option<(Request, Incoming)> {
    let read = read_request(std::mem::take(&mut opened.fields)).and_then(|request| {
        let incoming = incoming(&request, opened.bodiless, at, rand::random)?;
        Ok((request, incoming))
    });
    if read.is_err() {
        opened.link.reset(ErrorCode::PROTOCOL_ERROR);
    }
    read.ok()
}
