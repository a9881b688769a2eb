//! `global_defs`: mail alerts, router id, VRRP defaults, script security,
//! and haven's `keepalived_compat`.

use super::model::*;
use super::parse::block;
use super::syntax::Node;
use super::values::Args;
use crate::config::support::KEEPALIVED_GLOBAL;
use crate::config::Severity;

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
            _ if Args::lists(KEEPALIVED_GLOBAL, kw) => {
                args.unsupported(&n.key, KEEPALIVED_GLOBAL, kw)
            }
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
