//! Every log line haven prints, as typed records with one formatter each
//! (STYLE.md §4): the text is byte-for-byte the real program's, so log
//! tooling keeps working and a replay can be diffed against a real log.

pub mod access_format;
pub mod haproxy;
pub mod keepalived;
pub mod syslog;
