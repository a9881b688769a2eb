//! The levels of a client connection: its `tcp-request connection`
//! rules run at accept, on the socket's addresses; its `tcp-request
//! session` rules once a PROXY header (and a TLS handshake) went by, on
//! the header's addresses or the connection level's. What they leave is
//! what each request starts with; `fc_src` / `fc_dst` keep the
//! connection level's.

use crate::driver::Core;
use crate::request::Shared;
use crate::session::Session;
use haven_core::config::haproxy::TcpLayer;
use haven_core::proxy_protocol::ProxyHeader;
use haven_core::route::{Admission, Level};
use haven_core::stick::Tracked;
use std::net::SocketAddr;
use std::sync::Arc;

impl Shared {
    /// The connection level of a connection from `client` to `local`,
    /// after the frontend's `tcp-request connection` rules; `None` when
    /// they reject it.
    pub(crate) fn connection_level(
        &self,
        client: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Option<Level> {
        let mut level = Level {
            src: Some(client),
            dst: local,
            ..Level::default()
        };
        let admitted = !self.connection_rules
            || self
                .core
                .run_level(self.frontend, TcpLayer::Connection, &mut level)
                == Admission::Accept;
        if !admitted {
            drop(Tracking::new(&self.core, &level.tracked));
        }
        admitted.then_some(level)
    }

    /// The session level on top of `conn`, seen through the PROXY
    /// `header` when there is one, after the frontend's `tcp-request
    /// session` rules; how they refuse the connection when they do.
    pub(crate) fn session_level(
        &self,
        conn: Level,
        header: Option<&ProxyHeader>,
    ) -> Result<Level, Admission> {
        let mut level = Level {
            src: header.and_then(|h| h.source).or(conn.src),
            dst: header.and_then(|h| h.destination).or(conn.dst),
            conn: Some((conn.src, conn.dst)),
            vars: conn.vars,
            tracked: conn.tracked,
        };
        // A rejected session's entries go with its connection's guard.
        let admission = match self.session_rules {
            true => self
                .core
                .run_level(self.frontend, TcpLayer::Session, &mut level),
            false => Admission::Accept,
        };
        match admission {
            Admission::Accept => Ok(level),
            refused => Err(refused),
        }
    }
}

impl Session {
    /// Takes on what the session `level` left (its destination, the
    /// connection's addresses, its variables): the client address its
    /// requests come from.
    pub(crate) fn enter(&mut self, level: Level) -> Option<SocketAddr> {
        self.set_destination(level.dst);
        self.set_conn(level.conn, (level.src, level.dst));
        self.vars = level.vars;
        self.tracked = TrackedSlots::of(&level.tracked);
        level.src
    }
}

/// The stick table entries (`track-sc0..2`) a connection's levels track:
/// boxed, and only when there are some, since every connection holds
/// them while it lasts.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrackedSlots(Option<Box<[Option<Tracked>; 3]>>);

impl TrackedSlots {
    /// The entries of `tracked`.
    pub(crate) fn of(tracked: &[Option<Tracked>; 3]) -> Self {
        let any = tracked.iter().any(Option::is_some);
        Self(any.then(|| Box::new(tracked.clone())))
    }

    /// The slots, when one holds an entry.
    pub(crate) fn get(&self) -> Option<&[Option<Tracked>; 3]> {
        self.0.as_deref()
    }
}

/// The stick table entries a client connection's levels track, released
/// (one connection less each) when it closes.
pub(crate) struct Tracking {
    core: Arc<Core>,
    tracked: TrackedSlots,
}

impl Tracking {
    /// The entries `tracked`, released through `core` when dropped.
    pub(crate) fn new(core: &Arc<Core>, tracked: &[Option<Tracked>; 3]) -> Self {
        Self {
            core: Arc::clone(core),
            tracked: TrackedSlots::of(tracked),
        }
    }

    /// The session level tracks `tracked` (those of the connection level
    /// among them).
    pub(crate) fn update(&mut self, tracked: &TrackedSlots) {
        self.tracked = tracked.clone();
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        if let Some(tracked) = self.tracked.get() {
            self.core.release_session(tracked);
        }
    }
}
