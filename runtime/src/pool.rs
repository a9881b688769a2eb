//! Keep-alive connections to servers between requests: the idle ones,
//! by server and by lane (see [`crate::lanes`]), each server's counts of
//! those in use and idle (what `http-reuse`, `pool-max-conn` and the
//! purge decide from, in core), and the HTTP/2 connection shared by the
//! requests to a server that speaks it.

use crate::buffers;
use crate::forward::{connect, ConnectFailed, Opening, Upstream};
use crate::http2::{H2Client, H2Upstream};
use crate::lanes;
use crate::locks;
use crate::server_io::ServerIo;
use crate::stream::Peer;
use haven_core::http2::Limits;
use haven_core::lanes::{per_lane, Padded};
use haven_core::proxy::{ConnUse, Parking, PoolCount, ReusePolicy};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use tokio::time::Instant;

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
pub(crate) struct Lease {
    usage: Arc<Mutex<Usage>>,
    /// Where the connection goes.
    pub(crate) addr: Dest,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::Stream;
    use std::net::SocketAddr;
    use std::time::Duration;
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
