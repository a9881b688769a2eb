//! The resolved keepalived.conf model: VRRP instances, tracked scripts,
//! sync groups and global settings, validated as keepalived validates them.

use crate::time::Duration;
use serde::Serialize;
use std::net::IpAddr;

/// A whole keepalived.conf (with its includes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeepalivedConfig {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// `vrrp_script` blocks in config order.
    pub scripts: Vec<VrrpScript>,
    /// `vrrp_instance` blocks in config order.
    pub instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// Keywords read but not honoured, in file order.
    pub unsupported: Vec<crate::config::support::Unsupported>,
}

impl KeepalivedConfig {
    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }
    /// The script named `name`.
    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.scripts.iter().find(|s| s.name == name)
    }
}

/// Which keepalived's election behaviour to follow (spec §2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Compat {
    /// keepalived 1.x ("forcing a new MASTER election", extra advert_int).
    #[serde(rename = "1.2")]
    V1_2,
    /// keepalived 2.2 (the default).
    #[default]
    #[serde(rename = "2.2")]
    V2_2,
}

/// `global_defs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    /// `notification_email { ... }` recipients.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server ADDR [PORT]` (port 25 by default).
    pub smtp_server: Option<(IpAddr, u16)>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `router_id` (keepalived defaults it to the host name).
    pub router_id: Option<String>,
    /// `vrrp_version` (2 or 3; default 2).
    pub vrrp_version: u8,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<(String, Option<String>)>,
    /// `vrrp_garp_master_delay` (default 5 s).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh` (default off).
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// haven's own `keepalived_compat 1.2|2.2`.
    pub compat: Compat,
    /// On a graceful stop under 2.2, a master keeps its VIPs until the new
    /// master is heard (haven's make-before-break) instead of dropping
    /// them at once as keepalived 2.2.7 does. No keyword sets it: haven
    /// always hands over; the simulator clears it to model keepalived.
    pub handover_on_stop: bool,
    /// `smtp_alert`: mail alerts for every instance by default.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`: the same, for VRRP only (wins over `smtp_alert`).
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_helo_name` (the host name by default).
    pub smtp_helo_name: Option<String>,
    /// `no_email_faults`: FAULT is not mailed.
    pub no_email_faults: bool,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            router_id: None,
            vrrp_version: 2,
            enable_script_security: false,
            script_user: None,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: None,
            compat: Compat::V2_2,
            handover_on_stop: true,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_helo_name: None,
            no_email_faults: false,
        }
    }
}

/// `vrrp_script NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    /// Name.
    pub name: String,
    /// The command line.
    pub script: String,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Option<Duration>,
    /// `weight` −253..253 (default 0: FAULT while failing).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<String>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
    /// Line of the block.
    pub line: u32,
}

/// The `state` an instance starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// `state BACKUP` (also the default).
    #[default]
    Backup,
    /// `state MASTER`.
    Master,
}

impl InitialState {
    /// The keyword as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
        }
    }
}

/// `authentication { auth_type ...; auth_pass ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Auth {
    /// `PASS` or `AH`.
    pub kind: AuthType,
    /// The password, at most 8 bytes.
    pub pass: String,
}

/// VRRPv2 authentication type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple text password.
    Pass,
    /// IPsec AH.
    Ah,
}

/// One `virtual_ipaddress` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (32 / 128 when not given).
    pub prefix: u8,
    /// `dev IF` (the instance's interface when not given).
    pub dev: Option<String>,
    /// `label L`.
    pub label: Option<String>,
}

/// One `track_script` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackScript {
    /// The script's name.
    pub name: String,
    /// Index in [`KeepalivedConfig::scripts`].
    pub script: usize,
    /// `weight N` override.
    pub weight: Option<i32>,
    /// `reverse` / `noreverse` override.
    pub reverse: Option<bool>,
}

/// One `track_interface` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// `weight N` (0: FAULT while down).
    pub weight: i32,
}

/// `notify_*` programs and mail alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<String>,
    /// `notify_backup`.
    pub backup: Option<String>,
    /// `notify_fault`.
    pub fault: Option<String>,
    /// `notify_stop`.
    pub stop: Option<String>,
    /// `notify` (gets `INSTANCE name STATE prio` appended).
    pub any: Option<String>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
}

/// `vrrp_instance NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    /// Name.
    pub name: String,
    /// Line of the block.
    pub line: u32,
    /// `state`.
    pub state: InitialState,
    /// `interface`.
    pub interface: String,
    /// `virtual_router_id` 1..255.
    pub vrid: u8,
    /// `priority` 1..255 (default 100, 255 with `state MASTER`).
    pub priority: u8,
    /// `advert_int` (default 1 s).
    pub advert_int: Duration,
    /// `version` (else the global `vrrp_version`).
    pub version: u8,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Option<Duration>,
    /// `authentication`.
    pub auth: Option<Auth>,
    /// `virtual_ipaddress`.
    pub vips: Vec<Vip>,
    /// `track_script`.
    pub track_scripts: Vec<TrackScript>,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackInterface>,
    /// Notify programs and mail.
    pub notify: Notify,
    /// `unicast_src_ip` / `mcast_src_ip`.
    pub src_ip: Option<IpAddr>,
    /// `unicast_peer`: unicast mode when not empty.
    pub unicast_peers: Vec<IpAddr>,
    /// `garp_master_delay` (else the global one).
    pub garp_master_delay: Duration,
    /// `garp_master_repeat` (else the global one).
    pub garp_master_repeat: u32,
    /// `garp_master_refresh` (else the global one).
    pub garp_master_refresh: Option<Duration>,
}

/// `vrrp_sync_group NAME { group { ... } ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncGroup {
    /// Name.
    pub name: String,
    /// Member instance names (each exists).
    pub instances: Vec<String>,
    /// Group notify programs.
    pub notify: Notify,
}
