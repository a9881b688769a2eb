//! The process's TLS connections, to clients and to servers, as haproxy
//! counts its "SSL endpoints" (`show info`'s `CurrSslConns` and
//! `CumSslConns`, the exporter's `haproxy_process_current_ssl_connections`
//! and `haproxy_process_ssl_connections_total`), and its rates of TLS
//! connections and of full handshakes (`SslRate`, `SslFrontendKeyRate`,
//! `SslBackendKeyRate`, `SslFrontendSessionReuse_pct`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// TLS connections open now.
static OPEN: AtomicU64 = AtomicU64::new(0);

/// TLS connections since start.
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// One TLS connection, counted open until dropped.
#[derive(Debug)]
pub(crate) struct Counted(());

impl Counted {
    /// Counts a connection whose handshake just succeeded.
    pub(crate) fn new() -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        TOTAL.fetch_add(1, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// TLS connections open now, and since start.
pub(crate) fn tls_connections() -> (u64, u64) {
    (OPEN.load(Ordering::Relaxed), TOTAL.load(Ordering::Relaxed))
}

/// Events over the last second, as haproxy's frequency counters count
/// them: this second's events, and the last second's weighted by the
/// part of it still within a second of now.
#[derive(Debug)]
struct Rate(Mutex<Periods>);

/// A rate's counts.
#[derive(Debug, Clone, Copy)]
struct Periods {
    /// The current period: seconds since [`ORIGIN`].
    period: u64,
    /// Its events.
    curr: u64,
    /// The previous period's events.
    prev: u64,
    /// The most events a period had.
    max: u64,
}

/// Where the periods of every rate start.
static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since [`ORIGIN`].
fn elapsed_ms() -> u64 {
    ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as u64
}

impl Rate {
    const fn new() -> Self {
        Self(Mutex::new(Periods {
            period: 0,
            curr: 0,
            prev: 0,
            max: 0,
        }))
    }

    /// The counts, locked.
    fn lock(&self) -> std::sync::MutexGuard<'_, Periods> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one event.
    fn count(&self) {
        self.count_at(elapsed_ms());
    }

    fn count_at(&self, ms: u64) {
        let mut p = self.lock();
        let now = ms / 1000;
        (p.curr, p.prev) = match now.saturating_sub(p.period) {
            0 => (p.curr + 1, p.prev),
            1 => (1, p.curr),
            _ => (1, 0),
        };
        p.period = now.max(p.period);
        p.max = p.max.max(p.curr);
    }

    /// Events per second now, and the most a second had.
    fn read(&self) -> (f64, u64) {
        self.read_at(elapsed_ms())
    }

    fn read_at(&self, ms: u64) -> (f64, u64) {
        let p = *self.lock();
        // The part of the last second still within a second of now.
        let left = 1000 - ms % 1000;
        let (curr, past) = match (ms / 1000).saturating_sub(p.period) {
            0 => (p.curr, p.prev),
            1 => (0, p.curr),
            _ => (0, 0),
        };
        (curr as f64 + past as f64 * left as f64 / 1000.0, p.max)
    }
}

/// TLS connections accepted on listeners (haproxy's `SslRate`).
static SESSIONS: Rate = Rate::new();
/// Full handshakes with clients (`SslFrontendKeyRate`).
static FRONTEND_KEYS: Rate = Rate::new();
/// Full handshakes with servers (`SslBackendKeyRate`).
static BACKEND_KEYS: Rate = Rate::new();

/// A TLS listener accepted a connection.
pub(crate) fn accepted() {
    SESSIONS.count();
}

/// A handshake with a client (`frontend`) or a server went through;
/// a full one unless it `resumed` a session.
pub(crate) fn shaken(frontend: bool, resumed: bool) {
    match (frontend, resumed) {
        (_, true) => {}
        (true, false) => FRONTEND_KEYS.count(),
        (false, false) => BACKEND_KEYS.count(),
    }
}

/// `show info`'s TLS rate lines, as haproxy writes them.
pub(crate) fn rate_lines() -> String {
    let (sessions, max_sessions) = SESSIONS.read();
    let (fe_keys, fe_max) = FRONTEND_KEYS.read();
    let (be_keys, be_max) = BACKEND_KEYS.read();
    let reuse = match fe_keys < sessions {
        true => 100.0 * (1.0 - fe_keys / sessions),
        false => 0.0,
    };
    format!(
        "SslRate: {}\nSslRateLimit: 0\nMaxSslRate: {max_sessions}\nSslFrontendKeyRate: {}\nSslFrontendMaxKeyRate: {fe_max}\nSslFrontendSessionReuse_pct: {}\nSslBackendKeyRate: {}\nSslBackendMaxKeyRate: {be_max}\n",
        sessions as u32, fe_keys as u32, reuse as u32, be_keys as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: 84 events in one second, 4 of them in the second after,
    // read at several times.
    // Output: haproxy's rates: this second's count plus the last
    // second's in proportion to what is left of it; none past two
    // seconds; the most a second had.
    #[test]
    fn a_rate_counts_the_last_second_as_haproxy_does() {
        let rate = Rate::new();
        for i in 0..84 {
            rate.count_at(1_000 + i);
        }
        assert_eq!(rate.read_at(1_500), (84.0, 84));
        assert_eq!(rate.read_at(2_250), (63.0, 84));
        for i in 0..4 {
            rate.count_at(2_500 + i);
        }
        assert_eq!(rate.read_at(2_500), (4.0 + 42.0, 84));
        assert_eq!(rate.read_at(3_000), (4.0, 84));
        assert_eq!(rate.read_at(4_100), (0.0, 84));
    }
}
