//! Per-request decisions as HAProxy makes them (spec/haproxy.md §4):
//! routing, server choice, `maxconn` queues and `timeout queue`, connect
//! retries, `retry-on` and `option redispatch`, `abortonclose`, connect / server
//! timeouts, and the termination state of each request, including one
//! whose body or tunnel was cut short ([`DataEnd`]).
//!
//! Driving contract: the driver reports what happens to a request
//! (`handle_request`, `handle_connected`, `handle_connect_failed`,
//! `handle_server_failed`, `handle_response`, `handle_done`,
//! `handle_client_closed`, `handle_body_timeout`; for a streamed body `handle_body_streaming`,
//! `handle_request_sent`, `handle_client_aborted`) and fires
//! [`Timer`]s; it performs the [`Output`]s in order.

mod admin;
mod body_wait;
mod caching;
mod compress;
mod data;
mod dynamic;
mod errors;
mod flow;
mod forwardfor;
mod persist;
mod proc_vars;
mod retry;
mod reuse;
mod rules;
mod sticking;

pub use admin::{AdminAction, WeightChange};
pub use data::DataEnd;
pub use errors::{closes_connection, error_body, error_response, reason as error_reason};
pub use flow::{Applet, Flow, Forward, Outcome, Output, StreamId, Timer};
pub use forwardfor::adds_forwarded_for;
pub use persist::CookieFlags;
pub use retry::ServerFailure;
pub use reuse::{ConnUse, Parking, PoolCount, ReusePolicy, POOL_PURGE_DELAY};
pub use rules::Rewrite;
