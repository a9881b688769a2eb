//! Server connection reuse as haproxy decides it (`http-reuse`,
//! `pool-max-conn`, `option http-server-close`, `dispatch`): which idle
//! connection a request may take, and where its connection goes once the
//! answer is through.

use crate::config::haproxy::{HttpConnMode, HttpReuse, Proxy, Server};

/// How the connections to one server of a backend are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReusePolicy {
    /// No connection outlives its answer (`option http-server-close`,
    /// `httpclose`).
    pub close: bool,
    /// Connections stay with the client session that opened them
    /// (`http-reuse never`, a `dispatch` backend).
    pub private: bool,
    /// `http-reuse`.
    pub mode: HttpReuse,
    /// Idle connections kept for the server (`pool-max-conn`; `None`: no
    /// limit).
    pub pool_max: Option<usize>,
}

impl ReusePolicy {
    /// Every connection closed after its answer.
    pub const CLOSE: Self = Self {
        close: true,
        private: false,
        mode: HttpReuse::Safe,
        pool_max: None,
    };

    /// The policy of `server` in `backend` (a dispatch address has none).
    pub fn of(backend: &Proxy, server: Option<&Server>) -> Self {
        // A PROXY header names one client: its connection is that
        // client's alone.
        // So does a connection leaving from the client's own address.
        let from_client = server
            .and_then(|s| s.source.as_ref())
            .or(backend.source.as_ref())
            .is_some_and(|s| s.per_client());
        // And one to a client's original destination (`option transparent`).
        let private = backend.http_reuse == HttpReuse::Never
            || backend.options.transparent && backend.servers.is_empty()
            || server.is_none_or(|s| s.send_proxy.is_some())
            || from_client;
        Self {
            // A PROXY header with the request's unique id serves that
            // request only.
            close: backend.options.http_conn != HttpConnMode::KeepAlive
                || server.is_some_and(|s| s.proxy_v2_unique_id),
            private,
            mode: backend.http_reuse,
            pool_max: server
                .and_then(|s| s.pool_max_conn)
                .and_then(|n| usize::try_from(n).ok()),
        }
    }

    /// Whether a request may take an idle connection of the shared pool:
    /// `first` for the first request of its client session, `proven` for
    /// a connection that has already carried more than one request.
    pub fn may_take(&self, first: bool, proven: bool) -> bool {
        if self.close || self.private {
            return false;
        }
        match self.mode {
            HttpReuse::Never => false,
            HttpReuse::Safe => !first,
            HttpReuse::Aggressive => !first || proven,
            HttpReuse::Always => true,
        }
    }

    /// Where a connection whose answer is through goes, when the pool
    /// already holds `idle` connections to its server.
    pub fn after_answer(&self, idle: usize) -> Parking {
        if self.close {
            Parking::Close
        } else if self.private {
            Parking::Session
        } else if self.pool_max.is_some_and(|max| idle >= max) {
            Parking::Close
        } else {
            Parking::Pool
        }
    }
}

/// What becomes of a server connection after its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parking {
    /// It is closed.
    Close,
    /// It waits for its client session's next request only.
    Session,
    /// It waits in the server's pool for any request allowed to take it.
    Pool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: HttpReuse) -> ReusePolicy {
        ReusePolicy {
            close: false,
            private: mode == HttpReuse::Never,
            mode,
            pool_max: Some(1),
        }
    }

    #[test]
    fn first_requests_take_idle_connections_by_mode() {
        let takes = |mode, first, proven| policy(mode).may_take(first, proven);
        assert!(!takes(HttpReuse::Never, false, true));
        assert!(!takes(HttpReuse::Safe, true, true));
        assert!(takes(HttpReuse::Safe, false, false));
        assert!(!takes(HttpReuse::Aggressive, true, false));
        assert!(takes(HttpReuse::Aggressive, true, true));
        assert!(takes(HttpReuse::Always, true, false));
    }

    #[test]
    fn connections_park_by_mode_and_pool_room() {
        assert_eq!(policy(HttpReuse::Never).after_answer(5), Parking::Session);
        assert_eq!(policy(HttpReuse::Safe).after_answer(0), Parking::Pool);
        assert_eq!(policy(HttpReuse::Safe).after_answer(1), Parking::Close);
        let closing = ReusePolicy {
            close: true,
            ..policy(HttpReuse::Always)
        };
        assert_eq!(closing.after_answer(0), Parking::Close);
        assert!(!closing.may_take(false, true));
    }
}
