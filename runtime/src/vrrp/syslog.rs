//! keepalived's syslog: each line as an RFC 3164 datagram to `/dev/log`,
//! with the process's ident (`Keepalived_vrrp[PID]:`) and the facility of
//! `-S` (`daemon` by default). Lines are dropped, never waited for, when
//! no syslog daemon listens or its queue is full.

use haven_core::log::syslog::{datagram, Civil};
use std::os::unix::net::UnixDatagram;

/// The local syslog socket.
const DEV_LOG: &str = "/dev/log";

/// keepalived logs its VRRP lines at LOG_INFO.
const INFO: u8 = 6;

/// A syslog sender for one facility.
#[derive(Debug)]
pub(crate) struct Syslog {
    socket: UnixDatagram,
    facility: u8,
    pid: u32,
}

impl Syslog {
    /// A sender for `facility`, or `None` when no socket can be made.
    pub(crate) fn new(facility: u8) -> Option<Self> {
        let socket = UnixDatagram::unbound().ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(Self {
            socket,
            facility,
            pid: std::process::id(),
        })
    }

    /// Sends `text` as process `ident` said it at `at`.
    pub(crate) fn send(&self, at: &Civil, ident: &str, text: &str) {
        let line = datagram(self.facility, INFO, at, ident, self.pid, text);
        let _ = self.socket.send_to(line.as_bytes(), DEV_LOG);
    }
}
