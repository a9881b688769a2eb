//! VRRP as keepalived does it (spec/vrrp-keepalived.md): the packet codec
//! and receive checks, the per-instance state machine, tracked scripts,
//! and the daemon that ties instances and scripts to one scheduler.

mod checksum;
pub mod packet;
