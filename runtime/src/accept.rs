//! Accepting connections. Each `bind` address has one socket, so one
//! queue of newcomers, and every serving thread accepts from its own copy
//! of it: at `maxconn` a thread takes a slot before it accepts, so
//! whichever thread holds a free slot takes the next newcomer, and none
//! waits in a queue no free thread looks at. Whoever accepts, the thread
//! serving the fewest connections serves it (`Threads::hand_over`).

use crate::alarms::Alarm;
use crate::front::{connection, tls_connection, Bound, TlsBind};
use crate::request::Shared;
use crate::stream::Stream;
use crate::workers::{Load, Threads};
use haven_core::config::haproxy::UnixAddr;
use socket2::{Domain, SockRef, Socket, Type};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, OwnedSemaphorePermit};

/// A `bind` address's socket as every thread sees it: `None` while its
/// frontend is disabled.
pub(crate) type SharedSocket = watch::Receiver<Option<Arc<Listener>>>;

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    /// On a TCP address.
    Tcp(std::net::TcpListener),
    /// On a unix socket.
    Unix(std::os::unix::net::UnixListener),
}

/// A [`Listener`] as one thread's event loop watches it.
enum Watched {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Where a `bind` listens.
#[derive(Debug, Clone)]
pub(crate) enum BindAt {
    /// A TCP address; its connections hold their ACKs for the answer
    /// when `delayed_ack` (smart accept).
    Tcp { addr: SocketAddr, delayed_ack: bool },
    /// A unix socket, its file given `mode` when set.
    Unix { addr: UnixAddr, mode: Option<u32> },
}

impl std::fmt::Display for BindAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp { addr, .. } => addr.fmt(f),
            Self::Unix { addr, .. } => addr.fmt(f),
        }
    }
}

impl BindAt {
    /// A new socket listening there.
    pub(crate) fn listen(&self) -> std::io::Result<Listener> {
        match self {
            Self::Tcp { addr, delayed_ack } => listen_on(*addr, *delayed_ack).map(Listener::Tcp),
            Self::Unix { addr, mode } => listen_unix(addr, *mode).map(Listener::Unix),
        }
    }
}

impl Listener {
    /// The same socket, watched by the calling thread's event loop.
    fn watched(&self) -> std::io::Result<Watched> {
        Ok(match self {
            Self::Tcp(l) => Watched::Tcp(TcpListener::from_std(l.try_clone()?)?),
            Self::Unix(l) => Watched::Unix(UnixListener::from_std(l.try_clone()?)?),
        })
    }

    /// Refuses new connections at once.
    fn shut(&self) {
        let _ = match self {
            Self::Tcp(l) => SockRef::from(l).shutdown(std::net::Shutdown::Read),
            Self::Unix(l) => SockRef::from(l).shutdown(std::net::Shutdown::Read),
        };
    }
}

impl Watched {
    /// The next connection and its client: over a unix socket, a client
    /// has no IP address (unspecified, as a PROXY header may name it).
    async fn accept(&self) -> std::io::Result<(Stream, SocketAddr)> {
        match self {
            Self::Tcp(l) => l.accept().await.map(|(s, a)| (Stream::Tcp(s), a)),
            Self::Unix(l) => {
                let (stream, _) = l.accept().await?;
                let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
                Ok((Stream::Unix(stream), nowhere))
            }
        }
    }
}

/// A `bind` address's one socket, shared by every thread's accept loop;
/// `disable frontend` closes it and `enable frontend` binds the address
/// again.
#[derive(Debug)]
pub(crate) struct BindSocket {
    at: BindAt,
    socket: watch::Sender<Option<Arc<Listener>>>,
}

impl BindSocket {
    /// `socket`, listening `at` its address.
    pub(crate) fn new(socket: Listener, at: BindAt) -> Self {
        Self {
            at,
            socket: watch::Sender::new(Some(Arc::new(socket))),
        }
    }

    /// The socket as an accept loop follows it.
    pub(crate) fn subscribe(&self) -> SharedSocket {
        self.socket.subscribe()
    }

    /// Stops listening at once, so new connections are refused before
    /// any loop has let its copy go; every loop then drops its copy.
    pub(crate) fn pause(&self) {
        if let Some(socket) = self.socket.send_replace(None) {
            socket.shut();
        }
    }

    /// Listens again (a new socket on the same address) if paused.
    pub(crate) fn resume(&self) -> std::io::Result<()> {
        if self.socket.borrow().is_none() {
            let socket = self.at.listen()?;
            self.socket.send_replace(Some(Arc::new(socket)));
        }
        Ok(())
    }

    /// Where it listens.
    pub(crate) fn at(&self) -> &BindAt {
        &self.at
    }
}

/// What an accepted connection holds until it ends: its slots of
/// `maxconn`, its place in its thread's load, and its slot in its
/// thread's table of connections.
#[derive(Debug)]
pub(crate) struct Held {
    _slots: Permits,
    _load: Load,
    alarm: Alarm,
}

/// A connection's slots of `maxconn`: most often one (the process's),
/// held without an allocation of its own.
#[derive(Debug)]
enum Permits {
    One { _held: OwnedSemaphorePermit },
    Several { _held: Vec<OwnedSemaphorePermit> },
}

impl From<Vec<OwnedSemaphorePermit>> for Permits {
    fn from(mut permits: Vec<OwnedSemaphorePermit>) -> Self {
        match (permits.len(), permits.pop()) {
            (1, Some(one)) => Self::One { _held: one },
            (_, last) => {
                permits.extend(last);
                Self::Several { _held: permits }
            }
        }
    }
}

impl Held {
    /// Its slot in its thread's table: its waits' deadlines.
    pub(crate) fn alarm(&self) -> &Alarm {
        &self.alarm
    }
}

/// Accepts connections from `socket` on serving thread `thread` (the
/// calling one) and hands each to the thread serving the fewest, where
/// [`connection`] (or its TLS or `mode tcp` form) serves it; they close
/// after their current request once `draining` turns true; each has a
/// slot in its thread's table of connections ([`crate::alarms::Alarms`]).
pub(crate) async fn accept(
    (mut socket, bound, tls): (SharedSocket, Bound, Option<Arc<TlsBind>>),
    shared: Arc<Shared>,
    draining: watch::Receiver<bool>,
    (threads, thread): (Arc<Threads>, usize),
) {
    loop {
        let copy = socket.borrow_and_update().as_ref().map(|s| s.watched());
        let Some(Ok(open)) = copy else {
            if socket.changed().await.is_err() {
                return;
            }
            continue;
        };
        loop {
            // At `maxconn`, accept nothing more (the kernel's backlog
            // holds newcomers) until a connection closes, as haproxy does.
            let mut slots = Vec::new();
            for s in &shared.slots {
                if let Ok(permit) = Arc::clone(s).acquire_owned().await {
                    slots.push(permit);
                }
            }
            tokio::select! {
                taken = open.accept() => {
                    // TCP_NODELAY comes from the listening socket.
                    let Ok((stream, client)) = taken else { continue };
                    if shared.nolinger {
                        crate::outbound::no_linger(&stream);
                    }
                    let Ok((to, stream, load)) = threads.hand_over(thread, stream) else {
                        continue;
                    };
                    let alarms = threads.alarms(to);
                    let alarm = alarms.alarm();
                    let key = alarm.key();
                    let _slots = Permits::from(slots);
                    let held = Held { _slots, _load: load, alarm };
                    let shared = Arc::clone(&shared);
                    // The TLS and `mode tcp` tasks' states are large (a
                    // TLS stream, a tunnel's buffers): boxed, the task
                    // holds a pointer, which tokio moves as it spawns and
                    // ends it, where it would move the state.
                    if let Some(tls) = &tls {
                        let tls = (draining.clone(), Arc::clone(tls));
                        let serve = tls_connection(stream, shared, (client, bound), tls, held);
                        let task = threads.spawn(to, Box::pin(serve));
                        alarms.registered(key, task.abort_handle());
                    } else if shared.tcp {
                        let client = (client, bound);
                        let draining = draining.clone();
                        let serve = crate::tcp::connection(stream, shared, client, draining, held);
                        let task = threads.spawn(to, Box::pin(serve));
                        alarms.registered(key, task.abort_handle());
                    } else {
                        let client = (client, bound);
                        let serve = connection(stream, shared, client, draining.clone(), held);
                        alarms.registered(key, threads.spawn(to, serve).abort_handle());
                    }
                }
                changed = socket.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// A listening unix socket at `addr`, its file (made anew: one left by
/// an earlier run is removed) given `mode` when set.
fn listen_unix(
    addr: &UnixAddr,
    mode: Option<u32>,
) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::net::{SocketAddr as UnixSocketAddr, UnixListener};
    let listener = match addr {
        UnixAddr::Path(path) => {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let listener = UnixListener::bind(path)?;
            if let Some(mode) = mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
            listener
        }
        UnixAddr::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            UnixListener::bind_addr(&UnixSocketAddr::from_abstract_name(name)?)?
        }
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A listening socket on `addr` with SO_REUSEADDR and SO_REUSEPORT, so a
/// reload can bind the same address while the old one drains; with
/// `delayed_ack`, see [`options_for_accepted`].
pub(crate) fn listen_on(
    addr: SocketAddr,
    delayed_ack: bool,
) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    // After listen(), which clears a socket's ACK mode.
    options_for_accepted(&socket, delayed_ack);
    Ok(socket.into())
}

/// Sets on a listening socket what the connections it accepts inherit,
/// one system call less per connection than setting it on each (best
/// effort): TCP_NODELAY; with `delayed_ack`, TCP_QUICKACK off, so the ACK
/// of a request leaves with its answer (haproxy's `tcp-smart-accept`,
/// also set on the listener). Call it once the socket listens.
pub(crate) fn options_for_accepted(listener: &Socket, delayed_ack: bool) {
    let _ = listener.set_tcp_nodelay(true);
    if delayed_ack {
        let _ = listener.set_tcp_quickack(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a connection accepted from a socket made by `listen_on`,
    // with and without delayed ACKs.
    // Output: it has TCP_NODELAY, and TCP_QUICKACK off when asked, set
    // only on the listening socket.
    #[test]
    fn accepted_connections_inherit_the_listeners_options() {
        for delayed_ack in [false, true] {
            let any = "127.0.0.1:0".parse().expect("addr");
            let listener = listen_on(any, delayed_ack).expect("listen");
            let addr = listener.local_addr().expect("bound");
            let _client = std::net::TcpStream::connect(addr).expect("connect");
            listener.set_nonblocking(false).expect("blocking");
            let (accepted, _) = listener.accept().expect("accept");
            assert!(accepted.nodelay().expect("read TCP_NODELAY"));
            let quickack = SockRef::from(&accepted).tcp_quickack().expect("read");
            assert_eq!(quickack, !delayed_ack);
        }
    }
}
