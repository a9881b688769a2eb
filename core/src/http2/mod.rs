//! HTTP/2 as haproxy speaks it, sans-IO: frames ([`frame`]), a
//! connection on either side ([`Connection`]), and a request's fields
//! checked before they become an HTTP/1 message ([`read_request`]). The
//! runtime moves the bytes and serves each stream's request as it serves
//! an HTTP/1 one, or sends one as a stream to a server.

pub mod frame;

mod connection;
mod hpack;
mod request;

pub use connection::{Connection, Counters, Event, Field, Limits, Role};
pub use frame::ErrorCode;
pub use request::{read_request, Malformed, Request};
