//! haven's sans-IO core.
//!
//! Everything that decides lives here: the config parsers and the resolved
//! model they produce, and (in later modules) VRRP, health checks, balancing
//! and timers. The contract every module keeps:
//!
//! * no I/O: parsers take `&str` plus a source name, includes are fetched
//!   through a [`config::SourceLoader`] the caller supplies;
//! * no wall clock, no OS randomness, no threads, no environment variables
//!   (the caller passes them in, see [`config::haproxy::ParseOptions`]);
//! * no panics on user input: every problem becomes a
//!   [`config::Diagnostic`] with file, line and column.

pub mod balance;
pub mod cache;
pub mod config;
pub mod dns;
pub mod health;
pub mod http1;
pub mod http2;
pub mod http_date;
pub mod http_rules;
pub mod lanes;
pub mod log;
pub mod node;
pub mod proxy;
pub mod proxy_protocol;
pub mod route;
pub mod sample;
pub mod sched;
pub mod stats;
pub mod stick;
pub mod time;
pub mod vrrp;
