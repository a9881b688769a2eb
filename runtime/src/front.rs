//! One client connection, haproxy's HTTP/1.1 front side: reads each
//! request head with core's framing rules ([`haven_core::http1`]) within
//! `timeout http-request` / `http-keep-alive` / `client`, answers the bad
//! ones itself (400, 408, verbatim as haproxy), hands good ones to
//! [`serve`] (which moves the body and the answer), one after the other,
//! keeping the connection alive as HTTP/1.1 allows.

use crate::accept::Held;
use crate::alarms::{Alarm, Waited};
use crate::buffers;
use crate::client_io::ClientIo;
use crate::http2::{self, Prefixed};
use crate::levels::Tracking;
use crate::request::{serve, ReadRequest, Shared};
use crate::session::Session;
use crate::stream::Stream;
use crate::tls::TlsListener;
use crate::wire::Manner;
use bytes::{Buf, BytesMut};
use haven_core::config::haproxy::{Bind, BindProto};
use haven_core::http1::{parse_head, Head, Switch};
use haven_core::proxy_protocol::ProxyHeader;
use haven_core::route::Admission;
use haven_core::sample::{Scope, TlsSession};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

/// Largest request head: haproxy's default `tune.bufsize` (16384) less
/// `tune.maxrewrite` (1024).
const MAX_HEAD: usize = 15_360;

/// The timeouts of the client side.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClientTimeouts {
    /// `timeout http-request`: a whole head, from its first wait.
    pub(crate) http_request: Option<Duration>,
    /// `timeout http-keep-alive`: the wait for a next request.
    pub(crate) keep_alive: Option<Duration>,
    /// `timeout client`: any other wait on the client.
    pub(crate) client: Option<Duration>,
}

impl ClientTimeouts {
    /// How long a request head may take to come whole: the first of a
    /// connection, or (not `first`) one after another.
    fn head_wait(&self, first: bool) -> Option<Duration> {
        let between = if first { None } else { self.keep_alive };
        between.or(self.http_request).or(self.client)
    }
}

/// What a listener's `bind` line asks of each of its connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    /// `accept-proxy`: a PROXY header comes first.
    pub(crate) accept_proxy: bool,
    /// `proto`: the HTTP version spoken.
    pub(crate) proto: BindProto,
    /// Its place among its frontend's `bind` lines (the stats' listener).
    pub(crate) listener: usize,
}

impl Bound {
    /// What `bind`, its frontend's `listener`th, asks.
    pub(crate) fn of(bind: &Bind, listener: usize) -> Self {
        Self {
            accept_proxy: bind.accept_proxy,
            proto: bind.proto,
            listener,
        }
    }

    /// Whether a clear connection of frontend `shared` that opens with
    /// the HTTP/2 preface is served as HTTP/2.
    fn upgrades(self, shared: &Shared) -> bool {
        self.proto == BindProto::Auto && shared.h2_upgrade
    }
}

/// Why reading a request stopped.
enum Stop {
    /// The connection ends without a word (closed, idle timeout, drain).
    Quiet,
    /// haproxy answers this status and closes; the log line's
    /// termination state goes with it.
    Refuse(u16, &'static str),
    /// The head is malformed: haproxy answers this status, logs `PR--`,
    /// and keeps the bytes for `show errors`.
    Malformed(u16),
    /// The client closed before its request was whole (its first, or a
    /// started one): nothing to answer, logged as a 400 `CR--`.
    Left,
    /// The connection opened with the HTTP/2 preface (read into the
    /// buffer): it speaks HTTP/2 from there.
    Http2,
}

/// Serves `stream` from `client` until it closes, holding `held` (its
/// share of `maxconn` and of its thread's load, its slot in its thread's
/// table of connections) meanwhile.
/// (A function returning its work, not an async fn: an async fn keeps
/// each argument for the connection's whole life, and every idle
/// connection holds that state. Its greeting is boxed here, with what
/// only the greeting needs, and gone once the connection serves.)
pub(crate) fn connection(
    stream: Stream,
    shared: Arc<Shared>,
    (client, bound): (SocketAddr, Bound),
    draining: watch::Receiver<bool>,
    held: Held,
) -> impl Future<Output = ()> + Send {
    let open = shared.open_connection();
    let h2 = bound.proto == BindProto::H2;
    let upgrades = bound.upgrades(&shared);
    let greeting = Box::pin(async move {
        let greeted = greet(stream, &shared, (client, bound)).await;
        greeted.map(|greeted| (greeted, draining))
    });
    async move {
        let Some((
            Greeted {
                stream,
                buf,
                client,
                session,
                tracking,
            },
            draining,
        )) = greeting.await
        else {
            return;
        };
        let shared = open.shared();
        if h2 {
            let stream = Prefixed::new(buf, stream);
            http2::serve(stream, shared, (client, session), draining).await;
        } else {
            let client = (client, session);
            let idle = (draining, held.alarm(), upgrades);
            requests(stream, buf, shared, client, idle).await;
        }
        drop(held);
        drop(tracking);
    }
}

/// A clear client connection its levels let in, ready for requests.
pub(crate) struct Greeted {
    pub(crate) stream: Stream,
    /// What came after the PROXY header, if one came.
    pub(crate) buf: BytesMut,
    /// The client, as the PROXY header or the rules name it.
    pub(crate) client: SocketAddr,
    pub(crate) session: Session,
    pub(crate) tracking: Tracking,
}

/// Lets `stream` from `client` in through its `bound` listener: the
/// `tcp-request connection` rules, the PROXY header, the session rules;
/// `None` when it goes no further.
pub(crate) async fn greet(
    mut stream: Stream,
    shared: &Shared,
    (client, bound): (SocketAddr, Bound),
) -> Option<Greeted> {
    let mut buf = BytesMut::new();
    let mut session = Session::on(bound.listener);
    let conn = admitted(&stream, shared, client)?;
    let mut tracking = Tracking::new(&shared.core, &conn.tracked);
    let opened = opening(
        &mut stream,
        Some(&mut buf),
        (shared, client, bound.accept_proxy),
    );
    let (_, header) = opened.await?;
    let entered = (&mut session, &mut tracking);
    let client = enter_session(&stream, shared, (conn, header), entered)?;
    if bound.proto == BindProto::H2 {
        session.destination(&stream);
    }
    Some(Greeted {
        stream,
        buf,
        client,
        session,
        tracking,
    })
}

/// Serves the TLS connection `stream` from `client` as [`connection`]
/// does a clear one, after its handshake on the listener `tls`.
#[allow(clippy::manual_async_fn)] // as `connection`
pub(crate) fn tls_connection(
    stream: Stream,
    shared: Arc<Shared>,
    (client, bound): (SocketAddr, Bound),
    (draining, tls): (watch::Receiver<bool>, Arc<TlsBind>),
    held: Held,
) -> impl Future<Output = ()> + Send {
    async move {
        let _open = shared.open_connection();
        let accepted = Instant::now();
        // Boxed: the handshake's state is gone once the connection serves.
        let greeted = Box::pin(greet_tls(stream, &shared, (client, bound, accepted), &tls));
        let Some(TlsGreeted {
            stream,
            client,
            mut session,
            tracking,
            h2,
            counted,
        }) = greeted.await
        else {
            return;
        };
        if shared.tcp {
            let at = (client, session.known_destination(), accepted);
            let read = (BytesMut::new(), std::mem::take(&mut session.vars));
            // Boxed, being rare and big: every connection's task is as big
            // as its biggest wait.
            let serve = crate::tcp::serve(stream, read, &shared, at, (true, bound));
            if let Some(to_http) = Box::pin(serve).await {
                let idle = (draining, held.alarm());
                Box::pin(switched(to_http, &shared, (client, session), idle)).await;
            }
        } else if h2 {
            http2::serve(stream, &shared, (client, session), draining).await;
        } else {
            let upgrades = (draining, held.alarm(), bound.upgrades(&shared));
            let client = (client, session);
            requests(stream, BytesMut::new(), &shared, client, upgrades).await;
        }
        drop(held);
        drop(tracking);
        drop(counted);
    }
}

/// Serves as HTTP the `mode tcp` connection its content rules
/// `switched` (`switch-mode http`), from the bytes they read: as HTTP/2
/// when the rule says `proto h2` or (without `proto`) the bytes open
/// with its preface; as HTTP/1.1 else. Its first request keeps the
/// variables the rules set, which do not run on it again.
pub(crate) async fn switched<S: ClientIo>(
    switched: crate::tcp::Switched<S>,
    shared: &Arc<Shared>,
    (client, mut session): (SocketAddr, Session),
    (draining, alarm): (watch::Receiver<bool>, &Alarm),
) {
    let crate::tcp::Switched {
        stream,
        payload,
        proto,
        vars,
    } = switched;
    let upgrades = proto == BindProto::Auto && shared.h2_upgrade;
    if proto == BindProto::H2 || upgrades && payload.starts_with(http2::PREFACE) {
        // Its streams are new: they share the session's variables only.
        session.vars = vars.of_scope(Scope::Sess);
        session.destination(&stream);
        let stream = Prefixed::new(payload, stream);
        return http2::serve(stream, shared, (client, session), draining).await;
    }
    // Its first request is the stream the rules ran on.
    session.vars = vars;
    session.switched = true;
    requests(
        stream,
        payload,
        shared,
        (client, session),
        (draining, alarm, upgrades),
    )
    .await;
}

/// Runs the session rules over the connection level `conn` of `stream`,
/// seen through its PROXY `header`; what they leave goes to `session`
/// and `tracking`. The client its requests come from; `None` when the
/// rules refuse it (a `silent-drop` then leaves without a word).
fn enter_session(
    stream: &impl ClientIo,
    shared: &Shared,
    (conn, header): (haven_core::route::Level, Option<Box<ProxyHeader>>),
    (session, tracking): (&mut Session, &mut Tracking),
) -> Option<SocketAddr> {
    let level = match shared.session_level(conn, header.as_deref()) {
        Ok(level) => level,
        Err(refused) => {
            self::refused(stream, refused);
            return None;
        }
    };
    let client = session.enter(level)?;
    tracking.update(&session.tracked);
    session.proxied = header;
    Some(client)
}

/// A TLS client connection through its handshake and its levels, ready
/// to serve.
struct TlsGreeted {
    stream: tokio_rustls::server::TlsStream<Stream>,
    /// The client, as the PROXY header or the rules name it.
    client: SocketAddr,
    session: Session,
    tracking: Tracking,
    /// It speaks HTTP/2 (`proto h2`, or ALPN chose it).
    h2: bool,
    counted: crate::tls::Counted,
}

/// Lets `stream` from `client` in through its `bound` TLS listener `tls`
/// as [`greet`] does a clear one, with the handshake between the PROXY
/// header and the session rules; a failed handshake is logged, from the
/// connection `accepted` then. `None` when it goes no further.
async fn greet_tls(
    mut stream: Stream,
    shared: &Shared,
    (client, bound, accepted): (SocketAddr, Bound, Instant),
    tls: &TlsBind,
) -> Option<TlsGreeted> {
    let mut session = Session::on(bound.listener);
    let conn = admitted(&stream, shared, client)?;
    let mut tracking = Tracking::new(&shared.core, &conn.tracked);
    let opened = opening(&mut stream, None, (shared, client, bound.accept_proxy));
    let (proxied_client, header) = opened.await?;
    crate::tls::accepted();
    let (stream, agreed) = match tls.listener.accept(stream, shared.timeouts.client).await {
        Ok(handshake) => handshake,
        Err(failed) => {
            shared.log_handshake_failed(proxied_client, accepted, &tls.label, failed);
            return None;
        }
    };
    crate::tls::shaken(true, agreed.resumed);
    let counted = crate::tls::Counted::new();
    // Session rules run once the handshake is through.
    let entered = (&mut session, &mut tracking);
    let client = enter_session(&stream, shared, (conn, header), entered)?;
    let h2 = bound.proto == BindProto::H2 || agreed.alpn.as_deref() == Some("h2");
    session.tls = Some(Arc::new(agreed));
    if h2 || shared.tcp {
        session.destination(&stream);
    }
    Some(TlsGreeted {
        stream,
        client,
        session,
        tracking,
        h2,
        counted,
    })
}

/// The connection level of `stream` from `client` after the frontend's
/// `tcp-request connection` rules; `None` when they reject it (the
/// connection then closes with a reset, as haproxy's).
pub(crate) fn admitted(
    stream: &Stream,
    shared: &Shared,
    client: SocketAddr,
) -> Option<haven_core::route::Level> {
    let level = shared.connection_level(client, stream.local_addr());
    if level.is_none() {
        crate::outbound::no_linger(stream);
    }
    level
}

/// A connection its `tcp-request session` rules refused (`how`): a
/// `silent-drop` leaves without a word to the client.
pub(crate) fn refused(stream: &impl ClientIo, how: Admission) {
    if how == Admission::SilentDrop {
        stream.silence();
    }
}

/// A TLS listener with the name its log lines give it.
#[derive(Debug)]
pub(crate) struct TlsBind {
    /// Its certificates.
    pub(crate) listener: Arc<TlsListener>,
    /// Its `name`, else its number in the frontend.
    pub(crate) label: String,
}

/// Reads the PROXY header an `accept_proxy` listener's connection starts
/// with: the client it names (else `client`) and the header; `None` when
/// none came. What follows the header is read into `buf`, or, with none
/// (a TLS handshake follows), left in the socket.
pub(crate) async fn opening(
    stream: &mut Stream,
    buf: Option<&mut BytesMut>,
    (shared, client, accept_proxy): (&Shared, SocketAddr, bool),
) -> Option<(SocketAddr, Option<Box<ProxyHeader>>)> {
    if !accept_proxy {
        return Some((client, None));
    }
    let timeout = shared.timeouts.client;
    let header = match buf {
        Some(buf) => crate::pp::read_header(stream, buf, timeout).await?,
        None => crate::pp::read_header_alone(stream, timeout).await?,
    };
    Some((header.source.unwrap_or(client), Some(Box::new(header))))
}

/// Reads and serves the requests of a connection, one after the other,
/// until it closes; or, when it `upgrades` and opens with the HTTP/2
/// preface, serves it as HTTP/2. (Not an async fn, as [`connection`]:
/// every idle connection holds this state.)
#[allow(clippy::manual_async_fn)] // the state an async fn would keep twice
fn requests<'a, S: ClientIo + 'a>(
    mut stream: S,
    mut buf: BytesMut,
    shared: &'a Arc<Shared>,
    (client, mut session): (SocketAddr, Session),
    (draining, alarm, upgrades): (watch::Receiver<bool>, &'a Alarm, bool),
) -> impl Future<Output = ()> + Send + 'a {
    async move {
        let mut first = true;
        let ending = loop {
            let started = session.ended.take().unwrap_or_else(Instant::now);
            let until = shared.timeouts.head_wait(first).map(|t| started + t);
            let at = (first, first && upgrades);
            let head = read_head(&mut stream, &mut buf, until, (alarm, &draining), at).await;
            first = false;
            // In a block of its own, with no wait in it: what was read is
            // gone from the task's state while the request is served.
            let mut request = {
                let read =
                    head.and_then(|(head, len)| request_of(head, len, started, shared.httplog));
                match read {
                    Ok(request) => request,
                    Err(Stop::Http2) => break Ending::Http2,
                    Err(stop) => {
                        if let Stop::Malformed(_) = stop {
                            shared.keep_bad_message(client, None, &buf);
                        }
                        let from = (client, started, session.tls.as_ref());
                        let Some(page) = refuse(shared, stop, from, buf.is_empty()) else {
                            break Ending::Closed;
                        };
                        // The page takes the place of what was read.
                        buf.clear();
                        buf.extend_from_slice(&page);
                        break Ending::Answer;
                    }
                }
            };
            request.manner.keep_alive &= !*draining.borrow();
            // Boxed: the task of an idle connection holds only what reading
            // the next head needs.
            let exchange = serve(
                (&mut stream, &mut buf),
                request,
                shared,
                client,
                &mut session,
            );
            if !Box::pin(exchange).await {
                break Ending::Closed;
            }
        };
        match ending {
            Ending::Http2 => {
                session.destination(&stream);
                let stream = Prefixed::new(buf, stream);
                return http2::serve(stream, shared, (client, session), draining).await;
            }
            Ending::Answer => {
                let _ = stream.write_all(&buf).await;
            }
            Ending::Closed => {}
        }
        buffers::give(buf);
        if let Some(own) = session.own.take() {
            own.up.close_hard();
        }
        stream.close().await;
    }
}

/// How a connection's requests ended (nothing more: whatever it holds
/// stays in the connection's task for the connection's whole life).
enum Ending {
    /// It opened with the HTTP/2 preface: it goes on as HTTP/2.
    Http2,
    /// Reading a request stopped: haproxy's page for it, in the buffer,
    /// goes to the client.
    Answer,
    /// Nothing more goes to the client.
    Closed,
}

/// What haproxy does when reading a request head stopped (the client
/// from `client`, waited on since `started`, sent nothing when `silent`):
/// logs the refusal unless it is not to be (a probe, `dontlognull`) and
/// answers it with the page returned, if any.
fn refuse(
    shared: &Shared,
    stop: Stop,
    (client, started, tls): (SocketAddr, Instant, Option<&Arc<TlsSession>>),
    silent: bool,
) -> Option<Vec<u8>> {
    let (status, termination) = match stop {
        Stop::Quiet | Stop::Http2 => return None,
        Stop::Refuse(..) | Stop::Malformed(_) | Stop::Left if shared.ignore_probes && silent => {
            return None
        }
        Stop::Refuse(status, termination) => (status, termination),
        Stop::Malformed(status) => (status, "PR--"),
        Stop::Left => (400, "CR--"),
    };
    if !(shared.dontlognull && silent) {
        shared.log_refused((client, tls), (started, None), status, termination);
    }
    matches!(stop, Stop::Refuse(..) | Stop::Malformed(_)).then(|| shared.refusal(status))
}

/// Reads one request head (the connection's `first`, where an HTTP/2
/// preface is looked for when `preface`). A connection idle between
/// requests closes quietly on its timeout or on drain; a head that does
/// not come whole in time gets 408, a bad one 400.
#[allow(clippy::manual_async_fn)] // as `connection`
fn read_head<'a, S: ClientIo>(
    stream: &'a mut S,
    buf: &'a mut BytesMut,
    until: Option<Instant>,
    (alarm, draining): (&'a Alarm, &'a watch::Receiver<bool>),
    (first, preface): (bool, bool),
) -> impl Future<Output = Result<(Head, usize), Stop>> + Send + 'a {
    async move {
        loop {
            let seen = buf.len().min(http2::PREFACE.len());
            let maybe_h2 = preface && buf[..seen] == http2::PREFACE[..seen];
            if maybe_h2 && seen == http2::PREFACE.len() {
                return Err(Stop::Http2);
            }
            match parse_head(buf, MAX_HEAD) {
                _ if maybe_h2 => {}
                Ok(Some((head, len))) => {
                    buf.advance(len);
                    return Ok((head, len));
                }
                Ok(None) => {}
                Err(e) => return Err(Stop::Malformed(e.status())),
            }
            let idle = buf.is_empty();
            // A drain closes connections idle between requests; one just
            // accepted is owed its first answer.
            let closes_on_drain = idle && !first;
            if closes_on_drain && *draining.borrow() {
                return Err(Stop::Quiet);
            }
            if idle {
                // Nothing buffered: hold no buffer while the client is quiet.
                buffers::give(std::mem::take(buf));
                // A socket error shows in the read that follows.
                let readable = std::pin::pin!(std::future::poll_fn(|cx| stream.poll_readable(cx)));
                if let Err(waited) = alarm.bound(until, closes_on_drain, readable).await {
                    return Err(stopped_waiting(waited, closes_on_drain));
                }
                *buf = buffers::take();
            }
            let read_buf = std::pin::pin!(stream.read_buf(buf));
            let read = alarm.bound(until, false, read_buf).await;
            match read.map(|n| matches!(n, Ok(n) if n > 0)) {
                Ok(true) => {}
                Ok(false) if first || !buf.is_empty() => return Err(Stop::Left),
                Ok(false) => return Err(Stop::Quiet),
                Err(waited) => return Err(stopped_waiting(waited, closes_on_drain)),
            }
        }
    }
}

/// Why reading a head stopped when a wait ended early (`between`: the
/// wait for a next request, when nothing of it came yet).
fn stopped_waiting(waited: Waited, between: bool) -> Stop {
    match waited {
        Waited::Drain => Stop::Quiet,
        Waited::Late if between => Stop::Quiet,
        Waited::Late => Stop::Refuse(408, "cR--"),
    }
}

/// The request to serve: `head`, which took `len` bytes on the wire after
/// a wait that began at `accepted`; its request line is kept for the log
/// when `httplog`.
fn request_of(
    mut head: Head,
    len: usize,
    accepted: Instant,
    httplog: bool,
) -> Result<ReadRequest, Stop> {
    let request_line = match httplog {
        true => format!("{} {} HTTP/1.{}", head.method, head.target, head.minor),
        false => String::new(),
    };
    let switch = head.switch();
    let mut target_as_sent = None;
    if switch != Switch::Connect {
        let origin = origin_form(&head.target).map_err(|()| Stop::Refuse(400, "PR--"))?;
        if let Some(origin) = origin {
            target_as_sent = Some(std::mem::replace(&mut head.target, origin));
        }
    }
    let manner = Manner {
        head: head.method == "HEAD",
        http10: head.minor == 0,
        keep_alive: head.keep_alive,
        switch,
    };
    Ok(ReadRequest {
        head,
        manner,
        request_line,
        accepted,
        head_len: len as u64,
        target_as_sent,
        own_websocket_key: None,
    })
}

/// The target as it goes to a server, its path and query (`/` when it
/// has none), when that is not `target` itself; `Err` when it is not a
/// URI.
fn origin_form(target: &str) -> Result<Option<String>, ()> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/-._~%?=&+,;:@!$'()*".contains(&b);
    if target.starts_with('/') && target.bytes().all(plain) {
        return Ok(None);
    }
    let uri = hyper::Uri::try_from(target).map_err(drop)?;
    let origin = uri.path_and_query().map_or("/", |p| p.as_str());
    Ok((origin != target).then(|| origin.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::{connection, origin_form};

    /// The size of what `_f` returns.
    fn size_returned<F, A, B, C, D, E, R>(_f: &F) -> usize
    where
        F: FnOnce(A, B, C, D, E) -> R,
    {
        std::mem::size_of::<R>()
    }

    // An idle connection's task is tokio's cell around the future
    // `connection` returns: 32 bytes of header, 16 of scheduler and id, 8
    // of stage and 48 of trailer, in a multiple of 128 bytes. With a
    // future of 536 bytes or less, it takes 640 (bench/idle.sh: haven's
    // RSS per idle connection is then below haproxy's); 8 more, and 768.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_idle_connection_task_fits_in_640_bytes() {
        let size = size_returned(&connection);
        assert!(
            size <= 536,
            "an idle connection's future takes {size} bytes"
        );
    }

    #[test]
    fn targets_go_to_servers_in_origin_form() {
        assert_eq!(origin_form("/a/b?c=d&e"), Ok(None));
        assert_eq!(
            origin_form("http://example.com/x?y"),
            Ok(Some("/x?y".into()))
        );
        assert_eq!(origin_form("http://example.com"), Ok(Some("/".into())));
        assert_eq!(origin_form("/{a}"), Ok(None));
        assert_eq!(origin_form("/a b"), Err(()));
        assert_eq!(origin_form("http://[::1/"), Err(()));
    }
}
