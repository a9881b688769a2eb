//! haven's real mode: drives `haven_core::node::Node` with the real clock
//! and real sockets. One [`driver`] owns the node (every balancing, health
//! and retry decision stays in core); listener, request and probe tasks
//! only move bytes and report what happened to it.

mod accept;
mod admin;
mod affinity;
mod alarms;
mod body;
mod buffers;
mod cache;
mod client_io;
mod clock;
mod compress;
mod delegate;
mod dns;
mod driver;
mod forward;
mod front;
pub mod fuzzing;
mod http2;
mod inherit;
mod lanes;
mod levels;
mod listen;
mod locks;
mod logger;
mod mailbox;
mod outbound;
mod pool;
mod pp;
mod probe;
mod request;
mod server_io;
mod session;
mod splice;
pub mod stderr;
mod stream;
mod tcp;
mod tls;
mod traffic_log;
mod tunnel;
mod vrrp;
mod wire;
mod workers;

pub use inherit::{inherited, Inherited};
pub use listen::{start, start_with, Running, StartError};
pub use logger::LogError;
pub use tls::{check_certificates, CertError};
pub use vrrp::{start_vrrp, VrrpError, VrrpLog, VrrpRunning};

/// This host's name (`localhost` when the system gives none).
fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}
