//! The process's TLS connections, to clients and to servers, as haproxy
//! counts its "SSL endpoints" (`show info`'s `CurrSslConns` and
//! `CumSslConns`, the exporter's `haproxy_process_current_ssl_connections`
//! and `haproxy_process_ssl_connections_total`).

use std::sync::atomic::{AtomicU64, Ordering};

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
