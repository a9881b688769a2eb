//! keepalived's statistics dump (SIGUSR2, `/tmp/keepalived.stats`): per
//! instance, adverts, mastership and refused packets by kind, in its
//! layout.

use super::InstanceView;
use std::fmt::Write;

/// The dump of `instances`, byte for byte in keepalived 2.2.7's layout.
pub fn stats_dump(instances: &[InstanceView]) -> String {
    let mut out = String::new();
    for i in instances {
        let s = &i.stats;
        let n = |reason: &str| s.rejected.get(reason).copied().unwrap_or(0);
        let _ = write!(
            out,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            i.name,
            s.adverts_received,
            s.adverts_sent,
            s.became_master,
            s.released_master,
            n("packet_length"),
            n("ip_ttl"),
            n("invalid_type"),
            n("interval_mismatch"),
            n("address_list"),
            n("invalid_auth_type"),
            n("auth_type_mismatch"),
            n("auth_failure"),
            s.priority_zero_received,
            s.priority_zero_sent,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::{State, Stats};

    #[test]
    fn the_layout_is_keepalived_s() {
        let view = InstanceView {
            name: "VI_1".into(),
            iface: "eth0".into(),
            vrid: 51,
            state: State::Backup,
            priority: 100,
            stats: Stats::default(),
        };
        // keepalived 2.2.7's file for a fresh BACKUP instance.
        assert_eq!(
            stats_dump(&[view]),
            "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 0\n  Became master: 0\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  Priority Zero:\n    Received: 0\n    Sent: 0\n"
        );
    }
}
