//! What lasts across the requests of one client connection: how many it
//! carried, the session's variables (`sess.`), and the server connection
//! it keeps for itself (`http-reuse never`, `dispatch`).

use crate::client_io::ClientIo;
use crate::forward::Upstream;
use crate::levels::TrackedSlots;
use haven_core::proxy_protocol::ProxyHeader;
use haven_core::sample::{Scope, TlsSession, Vars};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// A connection's client address and the address it reached.
pub(crate) type Addresses = (Option<SocketAddr>, Option<SocketAddr>);

/// A server connection a client session keeps for itself, idle between
/// its requests.
#[derive(Debug)]
pub(crate) struct PrivateConn {
    /// The connection.
    pub(crate) up: Upstream,
    /// Its server: backend and server index.
    pub(crate) target: (usize, usize),
}

/// One client connection's state between its requests.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Requests read on it so far.
    pub(crate) requests: u64,
    /// Its variables, as the last request's rules left them.
    pub(crate) vars: Vars,
    /// An HTTP/2 connection's variables, which its streams share
    /// (haproxy's `sess.` scope is the connection's), with what this
    /// stream's started from (boxed, as what follows: an HTTP/1
    /// connection has none, and every idle connection holds its session).
    shared_vars: Option<Box<(Arc<Mutex<Vars>>, Vars)>>,
    /// Its private server connection, idle between requests.
    pub(crate) own: Option<Box<PrivateConn>>,
    /// The PROXY protocol header it began with (`accept-proxy`).
    pub(crate) proxied: Option<Box<ProxyHeader>>,
    /// What its TLS handshake agreed on (clear text: `None`).
    pub(crate) tls: Option<Arc<TlsSession>>,
    /// The connection level's addresses (`fc_src`, `fc_dst`) when they
    /// are not the session's (a PROXY header or a rule changed those):
    /// boxed, being rare, as every idle connection holds its session.
    conn: Option<Box<Addresses>>,
    /// The address its client reached, once read.
    destination: Option<SocketAddr>,
    /// When its last exchange ended: the wait for the next request
    /// begins there (one clock read less per request).
    pub(crate) ended: Option<Instant>,
    /// The listener it came in on: its `bind`'s place in the frontend.
    pub(crate) listener: usize,
    /// Its `tcp-request content` rules switched it from `mode tcp` to
    /// HTTP on the bytes of its first request.
    pub(crate) switched: bool,
    /// The stick table entries its levels track (`tcp-request connection|
    /// session track-sc*`); each of its requests tracks them too.
    pub(crate) tracked: TrackedSlots,
}

impl Session {
    /// A new connection's session, on its frontend's `listener`th
    /// `bind`.
    pub(crate) fn on(listener: usize) -> Self {
        Self {
            listener,
            ..Self::default()
        }
    }

    /// The address the client reached: the PROXY header's destination
    /// when there is one, else the socket's own address (read once per
    /// connection, not once per request).
    pub(crate) fn destination(&mut self, stream: &impl ClientIo) -> Option<SocketAddr> {
        if self.destination.is_none() {
            self.destination = self
                .proxied
                .as_ref()
                .and_then(|h| h.destination)
                .or_else(|| stream.local_addr());
        }
        self.destination
    }

    /// The address the client reached, as the connection's rules left
    /// it (`None`: read it from the socket when asked).
    pub(crate) fn set_destination(&mut self, destination: Option<SocketAddr>) {
        self.destination = destination;
    }

    /// Takes the connection level's addresses, `conn`, beside the
    /// session's own, `session`.
    pub(crate) fn set_conn(&mut self, conn: Option<Addresses>, session: Addresses) {
        self.conn = conn.filter(|c| *c != session).map(Box::new);
    }

    /// The connection level's addresses (`fc_src`, `fc_dst`), the
    /// session's client being `client` and its destination `local`.
    pub(crate) fn conn(&self, client: SocketAddr, local: Option<SocketAddr>) -> Option<Addresses> {
        Some(
            self.conn
                .as_deref()
                .copied()
                .unwrap_or((Some(client), local)),
        )
    }

    /// The address the client reached, as far as it was read.
    pub(crate) fn known_destination(&self) -> Option<SocketAddr> {
        self.destination
    }

    /// The session of the next HTTP/2 stream of this connection: its
    /// TLS, PROXY header and destination, the requests before it (so
    /// only the first stream's is the connection's first), and the
    /// variables its streams set so far, which it shares with them
    /// ([`Session::keep_vars`]).
    pub(crate) fn for_stream(&mut self) -> Self {
        self.requests += 1;
        let shared = match self.shared_vars.as_deref() {
            Some((shared, _)) => Arc::clone(shared),
            None => {
                let shared = Arc::new(Mutex::new(std::mem::take(&mut self.vars)));
                let kept = (Arc::clone(&shared), Vars::default());
                self.shared_vars = Some(Box::new(kept));
                shared
            }
        };
        let vars = lock(&shared).clone();
        Self {
            requests: self.requests - 1,
            shared_vars: Some(Box::new((shared, vars.clone()))),
            vars,
            proxied: self.proxied.clone(),
            tls: self.tls.clone(),
            conn: self.conn.clone(),
            destination: self.destination,
            listener: self.listener,
            tracked: self.tracked.clone(),
            ..Self::default()
        }
    }

    /// Takes the variables a request's rules left, `vars`; a stream of an
    /// HTTP/2 connection makes its changes in what the connection's
    /// streams share too.
    pub(crate) fn keep_vars(&mut self, vars: Vars) {
        if let Some((shared, start)) = self.shared_vars.as_deref() {
            let sess = |v: &Vars| v.of_scope(Scope::Sess);
            lock(shared).merge_changes(&sess(start), &sess(&vars));
        }
        self.vars = vars;
    }

    /// Counts a new request; true when it is the connection's first.
    pub(crate) fn begin_request(&mut self) -> bool {
        self.requests += 1;
        self.requests == 1
    }
}

/// `vars`, locked (variables poisoned by a panic are still variables).
fn lock(vars: &Mutex<Vars>) -> MutexGuard<'_, Vars> {
    vars.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
