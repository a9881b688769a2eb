//! keepalived's mail alert on a state change (spec §4): which changes
//! are mailed (`smtp_alert`, a state other than the last one mailed,
//! `no_email_faults`) and the text. The body also carries the line the
//! book's `mail_notify.py` sent, so that helper is not needed.

use super::NotifyState;
use std::net::IpAddr;

/// One alert to mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `Subject:`.
    pub subject: String,
    /// The text.
    pub body: String,
}

/// An instance's mail settings and what it last mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mailer {
    /// `router_id` (the host name by default).
    router_id: String,
    /// `no_email_faults`.
    no_faults: bool,
    last: Option<NotifyState>,
}

impl Mailer {
    pub(crate) fn new(router_id: String, no_faults: bool) -> Self {
        Self {
            router_id,
            no_faults,
            last: None,
        }
    }

    /// The alert for instance `iname` (on host address `host`) entering
    /// `state`, unless that state was the last one mailed or is a fault
    /// under `no_email_faults`.
    pub(crate) fn alert(&mut self, iname: &str, state: NotifyState, host: IpAddr) -> Option<Alert> {
        if self.last == Some(state) || (self.no_faults && state == NotifyState::Fault) {
            return None;
        }
        self.last = Some(state);
        let (what, line, word) = match state {
            NotifyState::Master => ("Entering MASTER state", "is now owning VRRP VIPs", "master"),
            NotifyState::Backup => (
                "Entering BACKUP state",
                "is no longer owning VRRP VIPs",
                "backup",
            ),
            NotifyState::Fault => (
                "Entering FAULT state",
                "is no longer owning VRRP VIPs",
                "fault",
            ),
            NotifyState::Stop => ("Stopping", "stopping", "stop"),
        };
        Some(Alert {
            subject: format!("[{}] VRRP Instance {iname} - {what}", self.router_id),
            body: format!(
                "=> VRRP Instance {line} <=\r\n\r\n{host} {word}状态被激活，请确认HAProxy服务运行状态！\r\n"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_new_state_is_mailed_once() {
        let host = "192.168.66.12".parse().expect("ip");
        let mut m = Mailer::new("backup-haproxy".into(), true);
        let a = m.alert("HA_1", NotifyState::Master, host).expect("mailed");
        assert_eq!(
            a.subject,
            "[backup-haproxy] VRRP Instance HA_1 - Entering MASTER state"
        );
        assert_eq!(
            a.body,
            "=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n192.168.66.12 master状态被激活，请确认HAProxy服务运行状态！\r\n"
        );
        assert_eq!(m.alert("HA_1", NotifyState::Master, host), None);
        assert_eq!(
            m.alert("HA_1", NotifyState::Fault, host),
            None,
            "no_email_faults"
        );
        assert!(m.alert("HA_1", NotifyState::Backup, host).is_some());
    }
}
