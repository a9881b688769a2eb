//! keepalived's log lines (spec/vrrp-keepalived.md §5) in the 2.2 style
//! (`(HA_1) Entering MASTER STATE`) and the 1.x style
//! (`VRRP_Instance(HA_1) Entering MASTER STATE`).
//!
//! The state machine emits the records each version prints; this module
//! only words them.

use crate::config::keepalived::Compat;
use std::fmt;
use std::net::IpAddr;

/// Which keepalived process prints a line (its syslog ident).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Process {
    /// `Keepalived[pid]`: the parent.
    Parent,
    /// `Keepalived_vrrp[pid]`: the VRRP child.
    Vrrp,
    /// `Keepalived_healthcheckers[pid]`: the checker child.
    Healthcheckers,
}

impl Process {
    /// The syslog ident.
    pub fn ident(self) -> &'static str {
        match self {
            Self::Parent => "Keepalived",
            Self::Vrrp => "Keepalived_vrrp",
            Self::Healthcheckers => "Keepalived_healthcheckers",
        }
    }
}

/// How a tracked script ended, as keepalived reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptEnd {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Ran past its timeout.
    TimedOut,
}

/// One keepalived log line. Fields: `inst` the instance name, `from` the
/// advert's sender, `prio` its priority, `ours` our effective priority.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Start-up: the instance enters BACKUP.
    EnteringBackupInit { inst: String },
    /// Start-up: the instance enters FAULT.
    EnteringFaultInit { inst: String },
    /// The instance enters BACKUP.
    EnteringBackup { inst: String },
    /// The instance enters MASTER (VIPs about to be set).
    EnteringMaster { inst: String },
    /// The instance enters FAULT.
    EnteringFault { inst: String },
    /// 1.x: advert sent, MASTER internally, VIPs one interval later.
    TransitionToMaster { inst: String },
    /// 1.x: a preempting backup heard a lower priority.
    ForcingElection { inst: String },
    /// 2.x: a preempting backup discards a lower-priority advert.
    DiscardingLower {
        inst: String,
        prio: u8,
        from: IpAddr,
    },
    /// 2.x: the master hears a higher priority and steps down.
    MasterHeardHigher {
        inst: String,
        from: IpAddr,
        prio: u8,
        ours: u8,
    },
    /// 2.x: equal priority, higher address: the master steps down.
    MasterHeardSameHigherIp {
        inst: String,
        from: IpAddr,
        prio: u8,
    },
    /// 2.x: the master hears a lower priority and re-asserts itself.
    MasterHeardLower {
        inst: String,
        from: IpAddr,
        prio: u8,
        ours: u8,
    },
    /// 2.x: an advert from our own address at our priority.
    EqualPriorityOwnAddress { inst: String },
    /// 1.x: the master hears a higher priority.
    HigherPrioAdvert { inst: String },
    /// 1.x: the master hears a lower priority.
    LowerPrioAdvert { inst: String },
    /// (detail) a backup's down timer expired.
    ReceiveTimeout { inst: String },
    /// (detail) VIPs added.
    SettingVips { inst: String },
    /// (detail) VIPs removed.
    RemovingVips { inst: String },
    /// (detail) the first round of a GARP burst, once per address.
    SendingGarps {
        inst: String,
        iface: String,
        addr: IpAddr,
    },
    /// (detail) 2.x: one GARP frame.
    SentGarp { iface: String, addr: IpAddr },
    /// (detail) a backup heard priority 0.
    BackupHeardPrio0 { inst: String },
    /// (detail) the master heard priority 0.
    MasterHeardPrio0 { inst: String },
    /// A priority-0 advert was sent (detail in 2.x).
    SentPrio0 { inst: String },
    /// 2.x: the effective priority changed.
    PriorityChanged { inst: String, from: u8, to: u8 },
    /// A tracked script went OK.
    ScriptSucceeded { script: String },
    /// A tracked script went KO.
    ScriptFailed { script: String, end: ScriptEnd },
    /// 2.x: a script's exit status differs from its previous one.
    ScriptNowReturning { script: String, status: i32 },
    /// A received advert failed a check (its text).
    Rejected { text: String },
    /// SIGHUP: the VRRP process re-reads its config.
    Reloading,
    /// A tracked interface went down or up.
    Link { iface: String, up: bool },
    /// Checker process (1.x): an address appeared or disappeared.
    NetlinkAddress {
        addr: IpAddr,
        iface: String,
        added: bool,
    },
}

impl Record {
    /// The process that prints it.
    pub fn process(&self) -> Process {
        match self {
            Self::NetlinkAddress { .. } => Process::Healthcheckers,
            _ => Process::Vrrp,
        }
    }

    /// True for lines keepalived prints only with `-D` (`--log-detail`).
    pub fn is_detail(&self, compat: Compat) -> bool {
        match self {
            Self::ReceiveTimeout { .. }
            | Self::SettingVips { .. }
            | Self::RemovingVips { .. }
            | Self::SendingGarps { .. }
            | Self::SentGarp { .. }
            | Self::BackupHeardPrio0 { .. }
            | Self::MasterHeardPrio0 { .. }
            | Self::NetlinkAddress { .. } => true,
            Self::SentPrio0 { .. } => compat == Compat::V2_2,
            _ => false,
        }
    }

    /// The line's text (after the syslog prefix) in `compat`'s style.
    pub fn text(&self, compat: Compat) -> String {
        Formatted {
            record: self,
            compat,
        }
        .to_string()
    }
}

/// A record bound to a style, for `Display`.
struct Formatted<'a> {
    record: &'a Record,
    compat: Compat,
}

impl fmt::Display for Formatted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Record::*;
        let v1 = self.compat == Compat::V1_2;
        let tag = |inst: &str| {
            if v1 {
                format!("VRRP_Instance({inst})")
            } else {
                format!("({inst})")
            }
        };
        match self.record {
            EnteringBackupInit { inst } if v1 => write!(f, "{} Entering BACKUP STATE", tag(inst)),
            EnteringBackupInit { inst } => write!(f, "{} Entering BACKUP STATE (init)", tag(inst)),
            EnteringFaultInit { inst } if v1 => write!(f, "{} Now in FAULT state", tag(inst)),
            EnteringFaultInit { inst } => write!(f, "{} Entering FAULT STATE (init)", tag(inst)),
            EnteringBackup { inst } => write!(f, "{} Entering BACKUP STATE", tag(inst)),
            EnteringMaster { inst } => write!(f, "{} Entering MASTER STATE", tag(inst)),
            EnteringFault { inst } => write!(f, "{} Entering FAULT STATE", tag(inst)),
            TransitionToMaster { inst } => write!(f, "{} Transition to MASTER STATE", tag(inst)),
            ForcingElection { inst } => write!(f, "{} forcing a new MASTER election", tag(inst)),
            DiscardingLower { inst, prio, from } => {
                write!(f, "{} received lower priority ({prio}) advert from {from} - discarding", tag(inst))
            }
            MasterHeardHigher { inst, from, prio, ours } => {
                write!(f, "{} Master received advert from {from} with higher priority {prio}, ours {ours}", tag(inst))
            }
            MasterHeardSameHigherIp { inst, from, prio } => write!(
                f,
                "{} Master received advert from {from} with same priority {prio} but higher IP address than ours",
                tag(inst)
            ),
            MasterHeardLower { inst, from, prio, ours } => write!(
                f,
                "{} Received advert from {from} with lower priority {prio}, ours {ours}, forcing new election",
                tag(inst)
            ),
            EqualPriorityOwnAddress { inst } => write!(
                f,
                "{} WARNING - equal priority advert received from remote host with our IP address.",
                tag(inst)
            ),
            HigherPrioAdvert { inst } => write!(f, "{} Received higher prio advert", tag(inst)),
            LowerPrioAdvert { inst } => write!(f, "{} Received lower prio advert, forcing new election", tag(inst)),
            ReceiveTimeout { inst } => write!(f, "{} Receive advertisement timeout", tag(inst)),
            SettingVips { inst } if v1 => write!(f, "{} setting protocol VIPs.", tag(inst)),
            SettingVips { inst } => write!(f, "{} setting VIPs.", tag(inst)),
            RemovingVips { inst } if v1 => write!(f, "{} removing protocol VIPs.", tag(inst)),
            RemovingVips { inst } => write!(f, "{} removing VIPs.", tag(inst)),
            SendingGarps { inst, iface, addr } => {
                let what = if addr.is_ipv4() { "gratuitous ARPs" } else { "Unsolicited Neighbour Adverts" };
                let verb = if v1 { "Sending" } else { "Sending/queueing" };
                write!(f, "{} {verb} {what} on {iface} for {addr}", tag(inst))
            }
            SentGarp { iface, addr } if addr.is_ipv4() => write!(f, "Sending gratuitous ARP on {iface} for {addr}"),
            SentGarp { iface, addr } => write!(f, "Sending unsolicited Neighbour Advert on {iface} for {addr}"),
            BackupHeardPrio0 { inst } => write!(f, "{} Backup received priority 0 advertisement", tag(inst)),
            MasterHeardPrio0 { inst } => write!(f, "{} Master received priority 0 message", tag(inst)),
            SentPrio0 { inst } if v1 => write!(f, "{} sending 0 priority", tag(inst)),
            SentPrio0 { inst } => write!(f, "{} sent 0 priority", tag(inst)),
            PriorityChanged { inst, from, to } => {
                write!(f, "{} Changing effective priority from {from} to {to}", tag(inst))
            }
            ScriptSucceeded { script } => write!(f, "VRRP_Script({script}) succeeded"),
            ScriptFailed { script, .. } if v1 => write!(f, "VRRP_Script({script}) failed"),
            ScriptFailed { script, end: ScriptEnd::Exited(s) } => {
                write!(f, "VRRP_Script({script}) failed (exited with status {s})")
            }
            ScriptFailed { script, end: ScriptEnd::Signaled(s) } => {
                write!(f, "VRRP_Script({script}) failed (due to signal {s})")
            }
            ScriptFailed { script, end: ScriptEnd::TimedOut } if v1 => write!(f, "VRRP_Script({script}) timed out"),
            ScriptFailed { script, end: ScriptEnd::TimedOut } => write!(f, "VRRP_Script({script}) timed_out"),
            ScriptNowReturning { script, status } => write!(f, "Script `{script}` now returning {status}"),
            Rejected { text } => f.write_str(text),
            Reloading => f.write_str("Reloading"),
            Link { iface, up } if v1 => {
                write!(f, "Kernel is reporting: interface {iface} {}", if *up { "UP" } else { "DOWN" })
            }
            Link { iface, up } => write!(f, "Netlink reports {iface} {}", if *up { "up" } else { "down" }),
            NetlinkAddress { addr, iface, added } if v1 => {
                let _ = iface;
                write!(f, "Netlink reflector reports IP {addr} {}", if *added { "added" } else { "removed" })
            }
            NetlinkAddress { addr, iface, added } => {
                write!(f, "Netlink reflector reports IP {addr} {} {iface}", if *added { "added to" } else { "removed from" })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(r: &Record) -> (String, String) {
        (r.text(Compat::V2_2), r.text(Compat::V1_2))
    }

    #[test]
    fn instance_lines_in_both_styles() {
        let inst = "HA_1".to_owned();
        assert_eq!(
            both(&Record::EnteringBackupInit { inst: inst.clone() }),
            (
                "(HA_1) Entering BACKUP STATE (init)".into(),
                "VRRP_Instance(HA_1) Entering BACKUP STATE".into()
            )
        );
        assert_eq!(
            both(&Record::RemovingVips { inst: inst.clone() }),
            (
                "(HA_1) removing VIPs.".into(),
                "VRRP_Instance(HA_1) removing protocol VIPs.".into()
            )
        );
        let vip: IpAddr = "192.168.66.10".parse().expect("ip");
        assert_eq!(
            both(&Record::SendingGarps {
                inst: inst.clone(),
                iface: "eth0".into(),
                addr: vip
            }),
            (
                "(HA_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.66.10".into(),
                "VRRP_Instance(HA_1) Sending gratuitous ARPs on eth0 for 192.168.66.10".into()
            )
        );
        let from: IpAddr = "192.168.66.11".parse().expect("ip");
        assert_eq!(
            Record::DiscardingLower {
                inst,
                prio: 100,
                from
            }
            .text(Compat::V2_2),
            "(HA_1) received lower priority (100) advert from 192.168.66.11 - discarding"
        );
    }

    #[test]
    fn script_and_checker_lines() {
        let script = "check_haproxy".to_owned();
        let failed = Record::ScriptFailed {
            script: script.clone(),
            end: ScriptEnd::Exited(1),
        };
        assert_eq!(
            both(&failed),
            (
                "VRRP_Script(check_haproxy) failed (exited with status 1)".into(),
                "VRRP_Script(check_haproxy) failed".into()
            )
        );
        assert_eq!(
            Record::ScriptNowReturning { script, status: 1 }.text(Compat::V2_2),
            "Script `check_haproxy` now returning 1"
        );
        let added = Record::NetlinkAddress {
            addr: "192.168.66.10".parse().expect("ip"),
            iface: "eth0".into(),
            added: true,
        };
        assert_eq!(
            added.text(Compat::V1_2),
            "Netlink reflector reports IP 192.168.66.10 added"
        );
        assert_eq!(added.process().ident(), "Keepalived_healthcheckers");
        assert!(Record::SentPrio0 { inst: "X".into() }.is_detail(Compat::V2_2));
        assert!(!Record::SentPrio0 { inst: "X".into() }.is_detail(Compat::V1_2));
    }
}
