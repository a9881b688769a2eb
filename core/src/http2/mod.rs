//! HTTP/2 as haproxy speaks it to clients, sans-IO: frames
//! ([`frame`]), the server side of a connection ([`Connection`]), and a
//! request's fields checked before they become an HTTP/1 message
//! ([`read_request`]). The runtime moves the bytes and serves each
//! stream's request as it serves an HTTP/1 one.

pub mod frame;

mod connection;
mod request;

pub use connection::{Connection, Event, Field, Limits};
pub use frame::ErrorCode;
pub use request::{read_request, Malformed, Request};
