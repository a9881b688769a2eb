//! `global_defs`: mail alerts, router id, VRRP defaults, script security,
//! and haven's `keepalived_compat`.

use super::model::*;
use super::parse::block;
use super::syntax::Node;
use super::values::Args;
use crate::config::not_supported;
use crate::config::Severity;

/// `global_defs` keywords keepalived knows that haven does not act on yet.
const UNSUPPORTED: &[&str] = &[
    "vrrp_skip_check_adv_addr",
    "vrrp_strict",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "lvs_id",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_iptables",
    "max_auto_priority",
    "default_interface",
    "checker_log_all_failures",
    "dynamic_interfaces",
    "vrrp_no_swap",
    "vrrp_notify_fifo",
    "notify_fifo",
    "smtp_alert_checker",
    "lvs_timeouts",
    "lvs_sync_daemon",
    "lvs_flush",
    "enable_traps",
    "snmp_socket",
    "enable_snmp_vrrp",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_check_unicast_src",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_startup_delay",
    "vrrp_priority",
    "checker_priority",
    "bfd_priority",
    "checker_no_swap",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "umask",
    "nftables",
    "vrrp_min_garp",
    "process_names",
    "linkbeat_use_polling",
    "router_id_to_instance",
    "script_user_allow_root",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs",
    "lvs_notify_fifo",
    "vrrp_garp_extra_if",
    "notify_fifo_script",
    "vrrp_notify_fifo_script",
    "instance",
    "dynamic_interfaces",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "enable_dbus",
];

/// Reads `global_defs { ... }` into `g`.
pub(crate) fn global_defs(node: &Node, g: &mut GlobalDefs, args: &mut Args<'_>) {
    let Some(body) = block(node, args) else {
        return;
    };
    for n in body {
        let kw = n.key.text.as_str();
        match kw {
            "notification_email" => {
                let emails: Vec<String> = n
                    .block
                    .iter()
                    .flatten()
                    .flat_map(|m| std::iter::once(&m.key).chain(&m.args))
                    .map(|t| t.text.clone())
                    .collect();
                if emails.is_empty() {
                    args.warn(
                        n.end_or_key(),
                        "Warning - empty notification_email block".into(),
                    );
                }
                g.notification_email = emails;
            }
            "notification_email_from" => {
                g.notification_email_from = args.get(n, 0).map(|t| t.text.clone())
            }
            "smtp_server" => smtp_server(n, g, args),
            "smtp_connect_timeout" => {
                if let Some(v) = args.int(n, 0, 1, i64::from(u32::MAX)) {
                    g.smtp_connect_timeout = crate::time::Duration::from_secs(v as u64);
                }
            }
            "router_id" => g.router_id = args.get(n, 0).map(|t| t.text.clone()),
            "smtp_alert" => g.smtp_alert = args.flag(n),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = args.flag(n),
            "smtp_helo_name" => g.smtp_helo_name = args.get(n, 0).map(|t| t.text.clone()),
            "no_email_faults" => g.no_email_faults = true,
            "vrrp_version" => {
                if let Some(v) = args.int(n, 0, 2, 3) {
                    g.vrrp_version = v as u8;
                }
            }
            "enable_script_security" => g.enable_script_security = true,
            "script_user" => {
                if let Some(user) = args.get(n, 0) {
                    g.script_user =
                        Some((user.text.clone(), n.args.get(1).map(|t| t.text.clone())));
                }
            }
            "vrrp_garp_master_delay" => {
                if let Some(v) = args.int(n, 0, 0, i64::from(u32::MAX)) {
                    g.vrrp_garp_master_delay = crate::time::Duration::from_secs(v as u64);
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = args.int(n, 0, 1, i64::from(u32::MAX)) {
                    g.vrrp_garp_master_repeat = v as u32;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = args.int(n, 0, 0, i64::from(u32::MAX)) {
                    g.vrrp_garp_master_refresh =
                        (v > 0).then(|| crate::time::Duration::from_secs(v as u64));
                }
            }
            "keepalived_compat" => match args.get(n, 0).map(|t| t.text.as_str()) {
                Some("1.2" | "1.x" | "1") => g.compat = Compat::V1_2,
                Some("2.2" | "2.x" | "2") => g.compat = Compat::V2_2,
                Some(other) => {
                    let msg = format!("keepalived_compat '{other}' not known - expects 1.2 or 2.2");
                    args.error(&n.args[0], msg);
                }
                None => {}
            },
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                if args
                    .seconds_or(n, 0, 1, 4_294_967_295, Severity::Warning)
                    .is_none()
                {
                    if let Some(v) = n.args.first() {
                        args.warn(v, format!("{kw} '{}' is invalid", v.text));
                    }
                }
            }
            _ if UNSUPPORTED.contains(&kw) => args.warn(&n.key, not_supported(kw)),
            _ => args.error(&n.key, format!("unknown keyword '{kw}' in global_defs")),
        }
    }
}

/// `smtp_server ADDR [PORT]`.
fn smtp_server(n: &Node, g: &mut GlobalDefs, args: &mut Args<'_>) {
    let Some(addr) = args.get(n, 0) else { return };
    let port = match n.args.get(1) {
        None => Some(25),
        Some(p) => p.text.parse::<u16>().ok().filter(|p| *p > 0),
    };
    match (addr.text.parse(), port) {
        (Ok(ip), Some(port)) => g.smtp_server = Some((ip, port)),
        _ => {
            let port = n.args.get(1).map_or("25", |t| t.text.as_str());
            args.error(addr, format!("Invalid smtp server {} {port}", addr.text));
        }
    }
}
