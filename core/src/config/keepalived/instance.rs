//! `vrrp_instance NAME { ... }`: every keyword of the VRRP instance, with
//! keepalived's per-keyword checks. Cross-instance checks are in
//! `validate`.

use super::model::*;
use super::parse::{block, notify_keyword};
use super::syntax::Node;
use super::values::Args;
use crate::config::support::KEEPALIVED_INSTANCE;
use crate::time::Duration;
use std::net::IpAddr;

/// The highest `advert_int` VRRPv2 can carry, in µs (255 s).
const MAX_ADVERT_US: u64 = 255_000_000;

/// Reads one `vrrp_instance`; `None` when it cannot run.
pub(crate) fn vrrp_instance(
    node: &Node,
    global: &GlobalDefs,
    scripts: &[VrrpScript],
    args: &mut Args<'_>,
) -> Option<VrrpInstance> {
    let name = args.get(node, 0)?.text.clone();
    let body = block(node, args)?;
    let mut i = VrrpInstance {
        name,
        line: node.key.line,
        state: InitialState::Backup,
        interface: String::new(),
        vrid: 0,
        priority: 0,
        advert_int: Duration::from_secs(1),
        version: global.vrrp_version,
        nopreempt: false,
        preempt_delay: None,
        auth: None,
        vips: Vec::new(),
        track_scripts: Vec::new(),
        track_interfaces: Vec::new(),
        notify: Notify::default(),
        src_ip: None,
        unicast_peers: Vec::new(),
        garp_master_delay: global.vrrp_garp_master_delay,
        garp_master_repeat: global.vrrp_garp_master_repeat,
        garp_master_refresh: global.vrrp_garp_master_refresh,
    };
    let tag = format!("({})", i.name);
    let mut ok = true;
    for n in body {
        let kw = n.key.text.as_str();
        match kw {
            "state" => match args.get(n, 0).map(|t| t.text.as_str()) {
                Some("MASTER") => i.state = InitialState::Master,
                Some("BACKUP") => i.state = InitialState::Backup,
                Some(other) => args.warn(
                    &n.args[0],
                    format!("{tag} unknown state '{other}', defaulting to BACKUP"),
                ),
                None => ok = false,
            },
            "interface" => match args.get(n, 0) {
                Some(t) => i.interface = t.text.clone(),
                None => ok = false,
            },
            "virtual_router_id" => match n.args.first().map(|t| t.text.parse::<u8>()) {
                Some(Ok(v)) if v >= 1 => i.vrid = v,
                Some(_) => {
                    let v = &n.args[0];
                    args.error(
                        v,
                        format!(
                            "{tag}: VRID '{}' not valid - must be between 1 & 255",
                            v.text
                        ),
                    );
                    ok = false;
                }
                None => ok = args.get(n, 0).is_some(),
            },
            "priority" => match n.args.first().map(|t| t.text.parse::<u8>()) {
                Some(Ok(v)) if v >= 1 => i.priority = v,
                Some(_) => {
                    args.error(
                        &n.args[0],
                        format!("{tag} Priority not valid! must be between 1 & 255"),
                    );
                    ok = false;
                }
                None => ok = args.get(n, 0).is_some(),
            },
            "advert_int" => match args.seconds(n, 0, 1, MAX_ADVERT_US) {
                Some(d) => i.advert_int = d,
                None => ok = false,
            },
            "version" => match args.int(n, 0, 2, 3) {
                Some(v) => i.version = v as u8,
                None => ok = false,
            },
            "nopreempt" => i.nopreempt = true,
            "preempt" => i.nopreempt = false,
            "preempt_delay" => i.preempt_delay = args.seconds(n, 0, 0, 1_000_000_000),
            "authentication" => i.auth = authentication(n, &tag, args),
            "virtual_ipaddress" => {
                for v in block(n, args).unwrap_or_default() {
                    match vip(v, args) {
                        Some(vip) => i.vips.push(vip),
                        None => ok = false,
                    }
                }
            }
            "track_script" => {
                for t in block(n, args).unwrap_or_default() {
                    match track_script(t, scripts, &tag, args) {
                        Some(ts) => i.track_scripts.push(ts),
                        None => ok = false,
                    }
                }
            }
            "track_interface" => {
                for t in block(n, args).unwrap_or_default() {
                    let weight = weight_arg(t, args).unwrap_or(0);
                    i.track_interfaces.push(TrackInterface {
                        name: t.key.text.clone(),
                        weight,
                    });
                }
            }
            _ if notify_keyword(&mut i.notify, n, args) => {}
            "unicast_src_ip" | "mcast_src_ip" => i.src_ip = args.ip(n, 0),
            "unicast_peer" => {
                for p in block(n, args).unwrap_or_default() {
                    match p.key.text.parse::<IpAddr>() {
                        Ok(ip) => i.unicast_peers.push(ip),
                        Err(_) => {
                            args.error(
                                &p.key,
                                format!("{tag} invalid unicast_peer address '{}'", p.key.text),
                            );
                            ok = false;
                        }
                    }
                }
            }
            "garp_master_delay" => {
                if let Some(v) = args.int(n, 0, 0, i64::from(u32::MAX)) {
                    i.garp_master_delay = Duration::from_secs(v as u64);
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = args.int(n, 0, 1, i64::from(u32::MAX)) {
                    i.garp_master_repeat = v as u32;
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = args.int(n, 0, 0, i64::from(u32::MAX)) {
                    i.garp_master_refresh = (v > 0).then(|| Duration::from_secs(v as u64));
                }
            }
            _ if Args::lists(KEEPALIVED_INSTANCE, kw) => {
                args.unsupported(&n.key, KEEPALIVED_INSTANCE, kw)
            }
            _ => {
                args.error(
                    &n.key,
                    format!("unknown keyword '{kw}' in vrrp_instance {}", i.name),
                );
                ok = false;
            }
        }
    }
    ok.then_some(i)
}

/// `authentication { auth_type PASS|AH; auth_pass SECRET }`.
fn authentication(node: &Node, tag: &str, args: &mut Args<'_>) -> Option<Auth> {
    let mut kind = None;
    let mut pass = String::new();
    for n in block(node, args).unwrap_or_default() {
        match n.key.text.as_str() {
            "auth_type" => match args.get(n, 0).map(|t| t.text.as_str()) {
                Some("PASS") => kind = Some(AuthType::Pass),
                Some("AH") => kind = Some(AuthType::Ah),
                Some(other) => args.error(
                    &n.args[0],
                    format!("{tag} unknown authentication type '{other}'"),
                ),
                None => {}
            },
            "auth_pass" => {
                if let Some(t) = args.get(n, 0) {
                    pass = t.text.clone();
                    if pass.len() > 8 {
                        args.warn(t, "Truncating auth_pass to 8 characters".into());
                        let mut end = 8;
                        while !pass.is_char_boundary(end) {
                            end -= 1;
                        }
                        pass.truncate(end);
                    }
                }
            }
            kw => args.error(&n.key, format!("unknown keyword '{kw}' in authentication")),
        }
    }
    Some(Auth { kind: kind?, pass })
}

/// One `virtual_ipaddress` line: `ADDR[/PREFIX] [dev IF] [label L] ...`.
fn vip(n: &Node, args: &mut Args<'_>) -> Option<Vip> {
    let text = &n.key.text;
    let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
    let Ok(addr) = addr.parse::<IpAddr>() else {
        args.error(
            &n.key,
            format!("VRRP parsed invalid IP {text}. skipping IP..."),
        );
        return None;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        "" => max,
        p => match p.parse::<u8>() {
            Ok(v) if v <= max => v,
            _ => {
                args.error(
                    &n.key,
                    format!("VRRP parsed invalid IP {text}. skipping IP..."),
                );
                return None;
            }
        },
    };
    let mut v = Vip {
        addr,
        prefix,
        dev: None,
        label: None,
    };
    let mut it = n.args.iter();
    while let Some(t) = it.next() {
        let value = it.clone().next().map(|t| t.text.clone());
        match t.text.as_str() {
            "dev" => v.dev = value,
            "label" => v.label = value,
            "brd" | "broadcast" | "scope" | "metric" | "preferred_lft" | "valid_lft" | "peer" => {}
            "no_track" | "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin" => continue,
            other => {
                args.unsupported(
                    t,
                    KEEPALIVED_INSTANCE,
                    &format!("virtual_ipaddress {other}"),
                );
                continue;
            }
        }
        it.next();
    }
    Some(v)
}

/// `weight N` after a tracked item's name, if present.
fn weight_arg(n: &Node, args: &mut Args<'_>) -> Option<i32> {
    let pos = n.args.iter().position(|t| t.text == "weight")?;
    args.int(n, pos + 1, -253, 253).map(|w| w as i32)
}

/// One `track_script` entry, resolved against the declared scripts.
fn track_script(
    n: &Node,
    scripts: &[VrrpScript],
    tag: &str,
    args: &mut Args<'_>,
) -> Option<TrackScript> {
    let name = n.key.text.clone();
    let Some(script) = scripts.iter().position(|s| s.name == name) else {
        args.error(
            &n.key,
            format!("{tag} track script {name} not found, ignoring..."),
        );
        return None;
    };
    let reverse = n.args.iter().find_map(|t| match t.text.as_str() {
        "reverse" => Some(true),
        "noreverse" => Some(false),
        _ => None,
    });
    Some(TrackScript {
        name,
        script,
        weight: weight_arg(n, args),
        reverse,
    })
}
