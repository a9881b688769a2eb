//! Server connection reuse as haproxy decides it (`http-reuse`,
//! `pool-max-conn`, `option http-server-close`, `dispatch`): which idle
//! connection a request may take, and where its connection goes once the
//! answer is through.

use crate::config::haproxy::{HttpConnMode, HttpReuse, Proxy, Server};
use crate::time::Duration;

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
    /// How often idle connections beyond the need close
    /// (`pool-purge-delay`; zero: none is kept idle).
    pub purge_delay: Duration,
    /// Idle connections kept beyond the need (`pool-low-conn`).
    pub low_idle: usize,
}

impl ReusePolicy {
    /// Every connection closed after its answer.
    pub const CLOSE: Self = Self {
        close: true,
        private: false,
        mode: HttpReuse::Safe,
        pool_max: None,
        purge_delay: POOL_PURGE_DELAY,
        low_idle: 0,
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
            purge_delay: server.map_or(POOL_PURGE_DELAY, |s| s.pool_purge_delay),
            low_idle: server.map_or(0, |s| s.pool_low_conn as usize),
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

    /// Where a connection whose answer is through goes, given how its
    /// server's connections stand (`count`). As haproxy keeps one: always
    /// when none is idle, else only while the server's connections, used
    /// and idle, stay within the most it needed lately and `pool-low-conn`
    /// more (so clients that close their connections do not pile up idle
    /// ones). A zero `pool-purge-delay` keeps none.
    pub fn after_answer(&self, count: PoolCount) -> Parking {
        let need = count.used.max(count.need) + self.low_idle;
        let within_need = count.used + count.idle <= need;
        if self.close {
            Parking::Close
        } else if self.private {
            Parking::Session
        } else if self.purge_delay.is_zero() || self.pool_max.is_some_and(|max| count.idle >= max) {
            Parking::Close
        } else if count.idle == 0 || within_need {
            Parking::Pool
        } else {
            Parking::Close
        }
    }

    /// True when a purge of idle connections is due, `since` the last
    /// one (see [`PoolCount::purge`]).
    pub fn purge_due(&self, since: Duration) -> bool {
        since >= self.purge_delay
    }
}

/// How often idle connections beyond the need are closed (haproxy's
/// default `pool-purge-delay`).
pub const POOL_PURGE_DELAY: Duration = Duration::from_secs(5);

/// A server's connections as its pool counts them (haproxy's
/// `curr_used_conns`, `curr_idle_conns` and `est_need_conns`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCount {
    /// Connections carrying a request (one through with its answer
    /// included).
    pub used: usize,
    /// Idle connections in the pool.
    pub idle: usize,
    /// How many the server needs, estimated at the last purge.
    pub need: usize,
}

/// How many connections to one server are in use, and how many it
/// needs, as haproxy tracks them (`curr_used_conns`, `max_used_conns`,
/// `est_need_conns`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnUse {
    /// Connections carrying a request.
    pub used: usize,
    /// The most in use at once since the last purge.
    pub max_used: usize,
    /// The estimated need: raised by every use, moved by purges.
    pub need: usize,
}

impl ConnUse {
    /// One more connection in use; the most used and the need follow.
    pub fn lease(&mut self) {
        self.used += 1;
        self.max_used = self.max_used.max(self.used);
        self.need = self.need.max(self.used);
    }

    /// One connection no longer in use.
    pub fn release(&mut self) {
        self.used = self.used.saturating_sub(1);
    }

    /// The server's connections with `idle` ones in its pool.
    pub fn count(&self, idle: usize) -> PoolCount {
        PoolCount {
            used: self.used,
            idle,
            need: self.need,
        }
    }

    /// The purge every `pool-purge-delay`, as haproxy's, of a pool of
    /// `idle`: half (rounded up) of the connections beyond both the need
    /// and the most used since the last purge go; the need moves half
    /// way to that most, never below it, and the most used starts again
    /// from those in use. How many idle connections to close.
    pub fn purge(&mut self, idle: usize) -> usize {
        let exceed = (self.used + idle).saturating_sub(self.max_used.max(self.need));
        let close = (exceed / 2 + exceed % 2).min(idle);
        self.need = ((self.need + self.max_used) / 2).max(self.max_used);
        self.max_used = self.used;
        close
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
            purge_delay: POOL_PURGE_DELAY,
            low_idle: 0,
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

    fn idle(idle: usize) -> PoolCount {
        PoolCount {
            used: 1,
            idle,
            need: 10,
        }
    }

    #[test]
    fn connections_park_by_mode_and_pool_room() {
        assert_eq!(
            policy(HttpReuse::Never).after_answer(idle(5)),
            Parking::Session
        );
        assert_eq!(policy(HttpReuse::Safe).after_answer(idle(0)), Parking::Pool);
        assert_eq!(
            policy(HttpReuse::Safe).after_answer(idle(1)),
            Parking::Close
        );
        let closing = ReusePolicy {
            close: true,
            ..policy(HttpReuse::Always)
        };
        assert_eq!(closing.after_answer(idle(0)), Parking::Close);
        assert!(!closing.may_take(false, true));
    }

    #[test]
    fn idle_connections_stay_within_the_need() {
        let unbounded = ReusePolicy {
            pool_max: None,
            ..policy(HttpReuse::Safe)
        };
        let park = |used, idle, need| unbounded.after_answer(PoolCount { used, idle, need });
        // 50 requests at once, each on a new connection (clients that
        // close theirs): the pool keeps one, not fifty.
        assert_eq!(park(50, 0, 50), Parking::Pool);
        assert_eq!(park(50, 1, 50), Parking::Close);
        // A server that needed 10 lately keeps up to 10 in all.
        assert_eq!(park(4, 6, 10), Parking::Pool);
        assert_eq!(park(4, 7, 10), Parking::Close);
        // `pool-low-conn 2` keeps two more; `pool-purge-delay 0` none.
        let low = ReusePolicy {
            low_idle: 2,
            ..unbounded
        };
        let count = PoolCount {
            used: 4,
            idle: 8,
            need: 10,
        };
        assert_eq!(low.after_answer(count), Parking::Pool);
        let none = ReusePolicy {
            purge_delay: Duration::ZERO,
            ..unbounded
        };
        assert_eq!(none.after_answer(PoolCount::default()), Parking::Close);
    }

    #[test]
    fn every_use_raises_the_need() {
        let mut usage = ConnUse::default();
        for _ in 0..3 {
            usage.lease();
        }
        usage.release();
        // Three were in use at once: three idle may stay before any purge.
        assert_eq!(usage.count(1).need, 3);
        let policy = ReusePolicy {
            pool_max: None,
            ..policy(HttpReuse::Safe)
        };
        assert_eq!(policy.after_answer(usage.count(1)), Parking::Pool);
        assert_eq!(policy.after_answer(usage.count(2)), Parking::Close);
    }

    #[test]
    fn purges_close_half_the_excess_and_move_the_need() {
        let usage = ConnUse {
            used: 0,
            max_used: 2,
            need: 2,
        };
        let purge = |mut usage: ConnUse| (usage.purge(9), usage.need, usage.max_used);
        assert_eq!(purge(usage), (4, 2, 0), "7 beyond: 4 go");
        let busier = ConnUse {
            max_used: 8,
            ..usage
        };
        assert_eq!(purge(busier), (1, 8, 0), "the need rises to what was used");
        let lower = ConnUse { need: 8, ..usage };
        assert_eq!(purge(lower), (1, 5, 0), "and falls half way");
        let policy = policy(HttpReuse::Safe);
        assert!(!policy.purge_due(Duration::from_millis(4_999)));
        assert!(policy.purge_due(POOL_PURGE_DELAY));
    }
}
