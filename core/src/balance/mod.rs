//! Load balancing as HAProxy does it (spec/haproxy.md §3).

pub mod fwrr;
pub mod hash;
pub mod map;
