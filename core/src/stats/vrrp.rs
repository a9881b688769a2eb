//! The VRRP instances on the stats page and in the metrics: state,
//! effective priority, adverts sent, received and rejected by reason.
//! Metric names follow the keepalived exporters operators already scrape
//! (`keepalived_vrrp_state`, `keepalived_advertisements_*`).

use crate::vrrp::{InstanceView, State};
use std::fmt::Write;

/// The state as the exporters number it.
fn state_number(state: State) -> u8 {
    match state {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

fn labels(i: &InstanceView) -> String {
    format!(
        "iname=\"{}\",intf=\"{}\",vrid=\"{}\"",
        i.name, i.iface, i.vrid
    )
}

/// A metric family: name, type, help, and its value for an instance.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&InstanceView) -> u64,
);

/// The metric families of `instances` (nothing when there are none).
pub(super) fn vrrp_metrics(instances: &[InstanceView]) -> String {
    let mut out = String::new();
    if instances.is_empty() {
        return out;
    }
    let families: [Family; 5] = [
        (
            "keepalived_vrrp_state",
            "gauge",
            "State: 0 init, 1 backup, 2 master, 3 fault.",
            |i| state_number(i.state).into(),
        ),
        (
            "keepalived_vrrp_effective_priority",
            "gauge",
            "Priority with tracked scripts' weights.",
            |i| i.priority.into(),
        ),
        (
            "keepalived_advertisements_sent_total",
            "counter",
            "Adverts sent.",
            |i| i.stats.adverts_sent,
        ),
        (
            "keepalived_advertisements_received_total",
            "counter",
            "Valid adverts received.",
            |i| i.stats.adverts_received,
        ),
        (
            "keepalived_become_master_total",
            "counter",
            "Times the instance became MASTER.",
            |i| i.stats.became_master,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for i in instances {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(i), value(i));
        }
    }
    let name = "keepalived_packets_rejected_total";
    let _ = writeln!(
        out,
        "# HELP {name} Packets refused, by reason.\n# TYPE {name} counter"
    );
    for i in instances {
        for (reason, n) in &i.stats.rejected {
            let _ = writeln!(out, "{name}{{{},reason=\"{reason}\"}} {n}", labels(i));
        }
    }
    out
}

/// The VRRP table of the stats page (nothing when there are none).
pub(super) fn vrrp_table(instances: &[InstanceView]) -> String {
    if instances.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h2>VRRP</h2>\n<table border=\"1\"><tr><th>instance</th><th>interface</th><th>vrid</th><th>state</th><th>priority</th><th>sent</th><th>received</th><th>rejected</th></tr>\n");
    for i in instances {
        let rejected: u64 = i.stats.rejected.values().sum();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{rejected}</td></tr>",
            super::html::esc(&i.name),
            super::html::esc(&i.iface),
            i.vrid,
            i.state.as_str(),
            i.priority,
            i.stats.adverts_sent,
            i.stats.adverts_received,
        );
    }
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::Stats;

    #[test]
    fn instances_become_labelled_samples() {
        let mut stats = Stats {
            adverts_sent: 7,
            ..Stats::default()
        };
        stats.rejected.insert("auth", 2);
        let view = InstanceView {
            name: "HA_1".into(),
            iface: "eth0".into(),
            vrid: 80,
            state: State::Master,
            priority: 121,
            stats,
        };
        let text = vrrp_metrics(std::slice::from_ref(&view));
        for line in [
            "keepalived_vrrp_state{iname=\"HA_1\",intf=\"eth0\",vrid=\"80\"} 2",
            "keepalived_vrrp_effective_priority{iname=\"HA_1\",intf=\"eth0\",vrid=\"80\"} 121",
            "keepalived_advertisements_sent_total{iname=\"HA_1\",intf=\"eth0\",vrid=\"80\"} 7",
            "keepalived_packets_rejected_total{iname=\"HA_1\",intf=\"eth0\",vrid=\"80\",reason=\"auth\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        assert!(vrrp_table(&[view]).contains("<td>MASTER</td><td>121</td>"));
        assert_eq!(vrrp_metrics(&[]), "");
    }
}
