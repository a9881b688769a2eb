//! The server side of a request: connections to servers (pooled when the
//! backend keeps them alive), the request head written as HTTP/1.1, and
//! the response head read with core's framing rules. Bodies go through
//! [`crate::body`]; interim (1xx) answers are handed back as they come.

use crate::body::{self, Relayed};
use crate::buffers;
use crate::driver::Core;
use crate::http2::{H2Client, H2Upstream};
use crate::lanes;
use crate::locks;
use crate::server_io::ServerIo;
use crate::stream::Peer;
use crate::tls::ServerHandshake;
use crate::wire::put_decimal;
use bytes::{Buf, BytesMut};
use haven_core::config::haproxy::LocalEnd;
use haven_core::http1::{parse_response_head, BodyFraming, Head, ResponseHead, Switch};
use haven_core::http2::Limits;
use haven_core::lanes::{per_lane, Padded};
use haven_core::proxy::{ConnUse, Parking, PoolCount, ReusePolicy, ServerFailure};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;
use tokio::time::Instant;

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

/// How many idle connections of a server are looked at for a close at
/// each answer (all of them at each purge): looking at all each time
/// would cost a request as much as there are idle connections, hundreds
/// under HTTP/2 clients. Two at each answer go round the pool faster
/// than answers add to it (one each); a closed one a request meets
/// first is dropped there ([`Pool::take`]).
const CLOSES_LOOKED_FOR: usize = 2;

/// Keep-alive connections to servers: the idle ones, each with the
/// number of requests it carried, by server address, in the lane of the
/// thread that parked them (see [`crate::lanes`]: a thread parks in and
/// takes from its own, and only takes from another's when its own has
/// none); and each server's counts, which every lane shares.
#[derive(Debug)]
pub(crate) struct Pool {
    lanes: Box<[Padded<Lane>]>,
    /// Each server's counts, found here once by each lane.
    usage: Mutex<BTreeMap<Dest, Arc<Mutex<Usage>>>>,
    /// The HTTP/2 connection to each server that speaks it, shared by
    /// the requests to it, one stream each.
    h2: Mutex<BTreeMap<Dest, H2Client>>,
    /// What its HTTP/2 connections offer (`tune.h2.*`).
    h2_limits: Limits,
}

/// Where a pooled server connection goes: the server's address, and the
/// name its TLS handshake sent when the server's line computes one for
/// each request (`sni EXPR`); a connection serves only requests of its
/// own name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Dest {
    pub(crate) peer: Peer,
    /// (An `Arc<String>`, one pointer wide: a `Dest` is in every pooled
    /// connection's lease.)
    pub(crate) sni: Option<Arc<String>>,
}

impl Dest {
    /// The `Dest` of `peer` reached sending `sni`.
    pub(crate) fn of(peer: &Peer, sni: Option<&Arc<String>>) -> Self {
        Self {
            peer: peer.clone(),
            sni: sni.cloned(),
        }
    }
}

impl From<Peer> for Dest {
    fn from(peer: Peer) -> Self {
        Self { peer, sni: None }
    }
}

/// A server connection between two requests.
#[derive(Debug)]
struct IdleConn {
    stream: ServerIo,
    /// The requests it carried.
    uses: u32,
    /// The thread whose event loop watches it: the one it served on.
    thread: ThreadId,
}

/// One lane's idle connections, by server.
type Lane = Mutex<BTreeMap<Dest, Parked>>;

/// One server's counts, over every lane.
#[derive(Debug, Default)]
struct Usage {
    usage: ConnUse,
    /// Its idle connections, in all lanes.
    idle: usize,
    purged: Option<Instant>,
}

impl Usage {
    /// How its connections stand, for core's decisions.
    fn count(&self) -> PoolCount {
        self.usage.count(self.idle)
    }
}

/// One server's idle connections in one lane, and its counts.
#[derive(Debug)]
struct Parked {
    idle: Vec<IdleConn>,
    usage: Arc<Mutex<Usage>>,
}

/// Drops the idle connections of `idle` the server closed meanwhile
/// (they are not idle but gone), looking at the `most` oldest, and no
/// longer counts them in `usage`.
fn forget_closed(idle: &mut Vec<IdleConn>, usage: &mut Usage, most: usize) {
    let mut at = 0;
    for _ in 0..most.min(idle.len()) {
        if idle[at].stream.is_quiet() {
            at += 1;
        } else {
            idle.remove(at);
            usage.idle = usage.idle.saturating_sub(1);
        }
    }
}

/// Closes idle connections beyond the need when `policy` says a purge is
/// due (haproxy purges on a timer; here the next answer does it), of
/// one lane's, `idle`: the oldest first.
fn purge(idle: &mut Vec<IdleConn>, usage: &mut Usage, now: Instant, policy: &ReusePolicy) {
    let start = *usage.purged.get_or_insert(now);
    let since = now.saturating_duration_since(start).as_nanos();
    let since = haven_core::time::Duration::from_nanos(u64::try_from(since).unwrap_or(u64::MAX));
    if !policy.purge_due(since) {
        return;
    }
    forget_closed(idle, usage, usize::MAX);
    let close = usage.usage.purge(usage.idle).min(idle.len());
    for conn in idle.drain(..close) {
        conn.stream.reset_on_close();
    }
    usage.idle -= close;
    usage.purged = Some(now);
}

/// A connection in use, counted as such by its server's counts until it
/// is dropped or parked.
#[derive(Debug)]
struct Lease {
    usage: Arc<Mutex<Usage>>,
    addr: Dest,
    /// Parked: no longer counted in use (the pool did it).
    released: bool,
}

impl Lease {
    /// The lease of a connection to `addr` already counted in `usage`.
    fn of(usage: Arc<Mutex<Usage>>, addr: Dest) -> Self {
        Self {
            usage,
            addr,
            released: false,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(mut usage) = locks::lock(&self.usage) {
            usage.usage.release();
        }
    }
}

/// What [`Pool::take`] found: the connection, the requests it carried,
/// its server's counts.
type Taken = (ServerIo, u32, Arc<Mutex<Usage>>);

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
    uses: u32,
    /// Some byte of an answer came.
    heard: bool,
    lease: Lease,
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
    /// An idle connection to `addr` that is still open, among those
    /// `allowed` (given how many requests each carried), counted in use,
    /// with its server's counts: one of this thread's lane first, else
    /// another lane's.
    fn take(&self, addr: &Dest, allowed: impl Fn(u32) -> bool) -> Option<Taken> {
        let count = self.lanes.len();
        let own = lanes::current(count);
        let others = (1..count).map(|i| (own + i) % count);
        std::iter::once(own)
            .chain(others)
            .find_map(|lane| self.take_in(lane, addr, &allowed))
    }

    /// [`Pool::take`] in `lane`: one this thread served on first (with
    /// `nbthread`, another thread's is moved to this one's event loop,
    /// two system calls, rather than have each of its events wake both
    /// threads).
    fn take_in(&self, lane: usize, addr: &Dest, allowed: &impl Fn(u32) -> bool) -> Option<Taken> {
        let here = std::thread::current().id();
        let mut servers = locks::lock(&self.lanes[lane].0).ok()?;
        let parked = servers.get_mut(addr)?;
        loop {
            let usable = |c: &IdleConn| allowed(c.uses);
            let at = parked
                .idle
                .iter()
                .rposition(|c| c.thread == here && usable(c));
            let at = at.or_else(|| parked.idle.iter().rposition(usable))?;
            let mut conn = parked.idle.remove(at);
            let mut usage = locks::lock(&parked.usage).ok()?;
            usage.idle = usage.idle.saturating_sub(1);
            if !conn.stream.is_quiet() {
                continue;
            }
            let stream = match conn.thread == here {
                true => conn.stream,
                false => match conn.stream.watched_here() {
                    Ok(stream) => stream,
                    Err(_) => continue,
                },
            };
            usage.usage.lease();
            return Some((stream, conn.uses, Arc::clone(&parked.usage)));
        }
    }

    /// Where `up` goes once its answer is through (`now`), when nothing
    /// of that answer is left in it: the pool (this thread's lane), the
    /// client session (returned, for it to keep), or closed, as `policy`
    /// says.
    pub(crate) fn park(
        &self,
        up: Upstream,
        (policy, now): (&ReusePolicy, Instant),
    ) -> Option<Upstream> {
        if !up.buf.is_empty() || up.stream.single_use() {
            return None;
        }
        let lane = lanes::current(self.lanes.len());
        let up = match self.park_in(lane, up, (policy, now), false) {
            ControlFlow::Break(kept) => return kept,
            ControlFlow::Continue(up) => up,
        };
        // Idle connections in other lanes stood in its way: the server may
        // have closed some, as one list would have shown at once.
        self.forget_closed_elsewhere(lane, &up.lease.addr);
        match self.park_in(lane, up, (policy, now), true) {
            ControlFlow::Break(kept) => kept,
            ControlFlow::Continue(up) => {
                up.close_hard();
                None
            }
        }
    }

    /// [`Pool::park`] in `lane`; `Continue` with the connection, not
    /// closed, when it would be closed for idle connections in other
    /// lanes and not `last`.
    fn park_in(
        &self,
        lane: usize,
        mut up: Upstream,
        (policy, now): (&ReusePolicy, Instant),
        last: bool,
    ) -> ControlFlow<Option<Upstream>, Upstream> {
        let Ok(mut servers) = locks::lock(&self.lanes[lane].0) else {
            return ControlFlow::Break(None);
        };
        let Parked { idle, usage } =
            servers
                .entry(up.lease.addr.clone())
                .or_insert_with(|| Parked {
                    idle: Vec::new(),
                    usage: Arc::clone(&up.lease.usage),
                });
        let Ok(mut usage) = locks::lock(usage) else {
            return ControlFlow::Break(None);
        };
        forget_closed(idle, &mut usage, CLOSES_LOOKED_FOR);
        purge(idle, &mut usage, now, policy);
        match policy.after_answer(usage.count()) {
            Parking::Close if !last && usage.idle > idle.len() => ControlFlow::Continue(up),
            Parking::Close => {
                // Its lease ends as it closes, once the locks are let go.
                drop(usage);
                drop(servers);
                up.close_hard();
                ControlFlow::Break(None)
            }
            Parking::Session => ControlFlow::Break(Some(up)),
            Parking::Pool => {
                // No longer in use: its lease ends here, under the lock.
                usage.usage.release();
                usage.idle += 1;
                up.lease.released = true;
                let Upstream {
                    stream, uses, buf, ..
                } = up;
                buffers::give(buf);
                idle.push(IdleConn {
                    stream,
                    uses,
                    thread: std::thread::current().id(),
                });
                ControlFlow::Break(None)
            }
        }
    }

    /// Forgets the idle connections to `addr` the server closed, in the
    /// lanes but `lane`, looking at the oldest few of each.
    fn forget_closed_elsewhere(&self, lane: usize, addr: &Dest) {
        let count = self.lanes.len();
        for other in (1..count).map(|i| (lane + i) % count) {
            let Ok(mut servers) = locks::lock(&self.lanes[other].0) else {
                continue;
            };
            if let Some(Parked { idle, usage }) = servers.get_mut(addr) {
                if let Ok(mut usage) = locks::lock(usage) {
                    forget_closed(idle, &mut usage, CLOSES_LOOKED_FOR);
                }
            }
        }
    }

    /// An open connection to `addr` a request may take (`first`: its
    /// session's first): the session's own connection (`own`), else an
    /// idle one, when `policy` allows and it shows no sign of closing. A
    /// request whose body streams takes one too, as in haproxy: should
    /// the server have let it go, that request fails (a 502).
    /// Taken at once: no wait, no new connection.
    pub(crate) fn idle(
        &self,
        addr: &Dest,
        (policy, first): (&ReusePolicy, bool),
        own: Option<Upstream>,
    ) -> Option<Upstream> {
        let reusable = !policy.close;
        let own = own.and_then(|up| match reusable && up.lease.addr == *addr {
            true => Some(up),
            false => {
                up.close_hard();
                None
            }
        });
        let kept = own.and_then(|mut up| up.stream.is_quiet().then_some(up));
        if let Some(mut up) = kept {
            up.pooled = true;
            up.uses += 1;
            up.heard = false;
            return Some(up);
        }
        let (stream, uses, usage) = reusable
            .then(|| self.take(addr, |uses| policy.may_take(first, uses >= 2)))
            .flatten()?;
        Some(Upstream::new(stream, uses, Lease::of(usage, addr.clone())))
    }

    /// The counts of the server at `addr`, which every lane shares.
    fn usage_of(&self, addr: &Dest) -> Arc<Mutex<Usage>> {
        match locks::lock(&self.usage) {
            Ok(mut servers) => Arc::clone(servers.entry(addr.clone()).or_default()),
            Err(_) => Arc::default(),
        }
    }

    /// A new connection to `peer` (its TLS handshake sending `sni`),
    /// made as `opening` says, counted in use. (Borrowed, not a `Dest`:
    /// what lives across its waits takes room in every request's task.)
    pub(crate) async fn open(
        &self,
        (peer, sni): (&Peer, Option<&Arc<String>>),
        opening: &Opening,
    ) -> Result<Upstream, ConnectFailed> {
        let shared = match opening.h2 {
            true => self.shared_h2(&Dest::of(peer, sni)),
            false => None,
        };
        let stream = match shared {
            Some(connection) => ServerIo::H2(Box::new(H2Upstream::new(connection))),
            None => {
                let stream = connect((peer, sni), opening).await?;
                self.over_h2(&Dest::of(peer, sni), stream, opening)?
            }
        };
        let addr = Dest::of(peer, sni);
        let usage = self.usage_of(&addr);
        if let Ok(mut usage) = locks::lock(&usage) {
            usage.usage.lease();
        }
        let mut up = Upstream::new(stream, 0, Lease::of(usage, addr));
        up.pooled = false;
        Ok(up)
    }
}

impl Pool {
    /// A pool for `threads` serving threads, whose HTTP/2 connections
    /// offer `limits`.
    pub(crate) fn new(threads: usize, limits: Limits) -> Self {
        Self {
            lanes: per_lane(threads),
            usage: Mutex::default(),
            h2: Mutex::default(),
            h2_limits: limits,
        }
    }

    /// The open HTTP/2 connection to `addr`, if there is one.
    fn shared_h2(&self, addr: &Dest) -> Option<H2Client> {
        let mut connections = self.h2.lock().ok()?;
        let connection = connections.get(addr)?.clone();
        // One the server closed, ended or that failed is forgotten.
        if !connection.usable() {
            connections.remove(addr);
            return None;
        }
        Some(connection)
    }

    /// `stream`, a new connection to `addr`, as requests use it: the
    /// first stream of an HTTP/2 connection when `opening` asks for
    /// HTTP/2 or the server chose it by ALPN (the connection is then
    /// shared), else itself.
    fn over_h2(
        &self,
        addr: &Dest,
        stream: ServerIo,
        opening: &Opening,
    ) -> Result<ServerIo, ConnectFailed> {
        if !(opening.h2 || stream.chose_h2()) {
            return Ok(stream);
        }
        let counted = opening.h2_stats.clone();
        let connection = crate::http2::client(stream, self.h2_limits, counted);
        if let Ok(mut connections) = self.h2.lock() {
            connections.insert(addr.clone(), connection.clone());
        }
        Ok(ServerIo::H2(Box::new(H2Upstream::new(connection))))
    }
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
async fn connect(
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
    fn new(stream: ServerIo, uses: u32, lease: Lease) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::Stream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;

    /// Opens a connection to `addr` and leaves it idle in `pool`, in
    /// lane `lane`, served on the calling thread: its local address.
    async fn park_new(pool: &Pool, addr: SocketAddr, lane: usize) -> SocketAddr {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let local = stream.local_addr().expect("local address");
        let dest = Dest::from(Peer::Inet(addr));
        let usage = pool.usage_of(&dest);
        usage.lock().expect("counts").idle += 1;
        let mut servers = pool.lanes[lane].0.lock().expect("pool");
        servers
            .entry(dest)
            .or_insert_with(|| Parked {
                idle: Vec::new(),
                usage,
            })
            .idle
            .push(IdleConn {
                stream: ServerIo::Clear(Stream::Tcp(stream)),
                uses: 1,
                thread: std::thread::current().id(),
            });
        local
    }

    // Input: two idle connections to a server, the newer parked by
    // another thread whose event loop still runs.
    // Output: this thread takes its own first (the newer would be taken
    // by age alone); then the other thread's, which, moved to this
    // thread's event loop, carries bytes both ways.
    #[tokio::test]
    async fn a_thread_takes_the_idle_connections_it_served_on_first() {
        let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let pool = Arc::new(Pool::new(1, Limits::default()));
        let mine = park_new(&pool, addr, 0).await;
        let (parked, theirs) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let other = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let _ = parked.send(park_new(&pool, addr, 0).await);
                    let _ = stopped.await;
                });
            })
        };
        let theirs = theirs.await.expect("the other thread parked");
        let (first, _, _) = pool
            .take(&Dest::from(Peer::Inet(addr)), |_| true)
            .expect("an idle connection");
        assert_eq!(first.local_addr(), Some(mine));
        let (second, _, _) = pool
            .take(&Dest::from(Peer::Inet(addr)), |_| true)
            .expect("the other one");
        assert_eq!(second.local_addr(), Some(theirs));
        let ServerIo::Clear(mut moved) = second else {
            panic!("a clear connection stays clear");
        };
        let (mut peer, _) = loop {
            let (peer, from) = server.accept().await.expect("accept");
            if from == theirs {
                break (peer, from);
            }
        };
        moved.write_all(b"ping").await.expect("write");
        let mut got = [0; 4];
        peer.read_exact(&mut got).await.expect("read");
        peer.write_all(b"pong").await.expect("answer");
        let read = tokio::time::timeout(Duration::from_secs(5), moved.read_exact(&mut got));
        read.await.expect("woken in time").expect("read");
        assert_eq!(&got, b"pong");
        drop(stop);
        other.join().expect("the other thread");
    }

    // Input: a pool of two lanes, a connection parked in the other lane,
    // then one in this thread's (lane 0). Output: this lane's is taken
    // first, then the other lane's; each counted in use and no longer
    // idle in the server's counts, which both lanes share.
    #[tokio::test]
    async fn a_lane_takes_its_own_idle_connections_first_then_anothers() {
        let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let pool = Pool::new(2, Limits::default());
        let theirs = park_new(&pool, addr, 1).await;
        let mine = park_new(&pool, addr, 0).await;
        let dest = Dest::from(Peer::Inet(addr));
        let counts = pool.usage_of(&dest);
        assert_eq!(counts.lock().expect("counts").count().idle, 2);
        let (first, _, _) = pool.take(&dest, |_| true).expect("an idle one");
        assert_eq!(first.local_addr(), Some(mine));
        let (second, _, shared) = pool.take(&dest, |_| true).expect("another");
        assert_eq!(second.local_addr(), Some(theirs));
        assert!(Arc::ptr_eq(&shared, &counts), "one server, one count");
        let count = counts.lock().expect("counts").count();
        assert_eq!((count.used, count.idle), (2, 0));
        assert!(pool.take(&dest, |_| true).is_none());
    }

    // Input: a pool of two lanes; an idle connection in the other lane,
    // which the server has closed; then this lane parks the connection
    // of an answer, the server's only one in use. Output: the closed one
    // is forgotten, not counted against the need, and the answered one
    // goes idle in this lane (one list would have shown the closed one
    // at once; counted, it would have had the answered one closed).
    #[tokio::test]
    async fn a_connection_closed_in_another_lane_does_not_close_a_parked_one() {
        let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let pool = Pool::new(2, Limits::default());
        let dest = Dest::from(Peer::Inet(addr));
        let counts = pool.usage_of(&dest);
        let closed = TcpStream::connect(addr).await.expect("connect");
        drop(server.accept().await.expect("accept"));
        closed.readable().await.expect("the close is seen");
        counts.lock().expect("counts").idle += 1;
        pool.lanes[1].0.lock().expect("lane").insert(
            dest.clone(),
            Parked {
                idle: vec![IdleConn {
                    stream: ServerIo::Clear(Stream::Tcp(closed)),
                    uses: 1,
                    thread: std::thread::current().id(),
                }],
                usage: Arc::clone(&counts),
            },
        );
        let answered = TcpStream::connect(addr).await.expect("connect");
        counts.lock().expect("counts").usage.lease();
        let stream = ServerIo::Clear(Stream::Tcp(answered));
        let up = Upstream::new(stream, 0, Lease::of(Arc::clone(&counts), dest.clone()));
        let policy = ReusePolicy {
            close: false,
            private: false,
            mode: haven_core::config::haproxy::HttpReuse::Safe,
            pool_max: None,
            purge_delay: haven_core::proxy::POOL_PURGE_DELAY,
            low_idle: 0,
        };
        assert!(pool.park(up, (&policy, Instant::now())).is_none());
        let count = counts.lock().expect("counts").count();
        assert_eq!((count.used, count.idle), (0, 1), "parked, not closed");
        let idle_in = |lane: usize| {
            let servers = pool.lanes[lane].0.lock().expect("lane");
            servers.get(&dest).map_or(0, |p| p.idle.len())
        };
        assert_eq!((idle_in(0), idle_in(1)), (1, 0));
    }
}
