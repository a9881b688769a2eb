//! A frontend's traffic lines: its `log-format` when it has one, else
//! haproxy's httplog or tcplog line.

use crate::request::Shared;
use haven_core::log::access_format::{self, LineFacts};
use haven_core::log::haproxy::{HttpLog, TcpLog};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::SystemTime;

impl Shared {
    /// `line` as this frontend writes it: through its `log-format`, with
    /// the `facts` such a format may read, else as an httplog line (a
    /// tcplog line for a connection, `tcp`). Counts the line.
    pub(crate) fn traffic_line(
        &self,
        line: HttpLog,
        tcp: bool,
        facts: impl FnOnce() -> LineFacts,
    ) -> String {
        let count = self.log_count.fetch_add(1, Ordering::Relaxed);
        match &self.log_format {
            Some(format) => {
                let facts = LineFacts {
                    tcp,
                    log_counter: count,
                    hostname: host_name().to_owned(),
                    pid: std::process::id(),
                    ..facts()
                };
                access_format::render(format, &line, &facts)
            }
            None if tcp => TcpLog(line).to_string(),
            None => line.to_string(),
        }
    }
}

/// This host's name, read once.
fn host_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(crate::hostname)
}

/// `at` in seconds since the Unix epoch.
pub(crate) fn unix_secs(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
