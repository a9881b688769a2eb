//! Checks keepalived makes once the whole file is read (vrrp.c:
//! vrrp_complete_instance and friends), with its messages.

use super::model::*;
use super::syntax::Token;
use super::values::Args;

/// Applies keepalived's end-of-config rules to `cfg`, reporting in `args`
/// at `instance_keys[i]` / `group_keys[g]` (the blocks' keywords).
pub(crate) fn validate(
    cfg: &mut KeepalivedConfig,
    instance_keys: &[Token],
    group_keys: &[Token],
    args: &mut Args<'_>,
) {
    for (i, key) in cfg.instances.iter_mut().zip(instance_keys) {
        complete_instance(i, key, args);
    }
    for (a_idx, a) in cfg.instances.iter().enumerate() {
        for (b, b_key) in cfg.instances.iter().zip(instance_keys).skip(a_idx + 1) {
            let family = |i: &VrrpInstance| i.vips.first().is_none_or(|v| v.addr.is_ipv4());
            if a.vrid == b.vrid
                && a.interface == b.interface
                && family(a) == family(b)
                && a.unicast_peers.is_empty() == b.unicast_peers.is_empty()
            {
                let fam = if family(a) { "IPv4" } else { "IPv6" };
                let msg = format!(
                    "{} and {} both use VRID {} with {fam} on interface {}",
                    a.name, b.name, a.vrid, a.interface
                );
                args.error(b_key, msg);
            }
        }
    }
    let names: Vec<String> = cfg.instances.iter().map(|i| i.name.clone()).collect();
    for (g, key) in cfg.sync_groups.iter_mut().zip(group_keys) {
        g.instances.retain(|m| {
            let known = names.contains(m);
            if !known {
                let msg = format!(
                    "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                    g.name
                );
                args.warn(key, msg);
            }
            known
        });
        if g.instances.len() < 2 {
            let msg = format!(
                "Sync group {} has only {} virtual router(s) - this probably isn't what you want",
                g.name,
                g.instances.len()
            );
            args.warn(key, msg);
        }
    }
}

/// Completes one instance as keepalived does; `key` is its block keyword.
fn complete_instance(i: &mut VrrpInstance, key: &Token, args: &mut Args<'_>) {
    let tag = format!("({})", i.name);
    if i.interface.is_empty() {
        args.error(key, format!("{tag} no interface specified"));
    }
    if i.vrid == 0 {
        args.error(key, format!("{tag} the virtual router id must be set"));
    }
    if i.priority == 0 {
        i.priority = if i.state == InitialState::Master {
            255
        } else {
            100
        };
    }
    if i.vips.is_empty() {
        args.warn(
            key,
            format!("{tag} No VIP specified; at least one is sensible"),
        );
    }
    if i.nopreempt && i.state == InitialState::Master {
        args.warn(
            key,
            format!("{tag} Warning - nopreempt will not work with initial state MASTER - clearing"),
        );
        i.nopreempt = false;
    }
    if i.nopreempt && i.priority == 255 {
        args.warn(
            key,
            format!("{tag} nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        i.nopreempt = false;
    }
    if i.preempt_delay.is_some() && (i.nopreempt || i.state == InitialState::Master) {
        args.warn(key, format!("{tag} preempt_delay will not work with initial state MASTER or nopreempt - clearing"));
        i.preempt_delay = None;
    }
    if i.vips.iter().any(|v| v.addr.is_ipv6()) && i.version == 2 {
        i.version = 3;
    }
    if i.version == 3 && i.auth.is_some() {
        args.warn(
            key,
            format!("{tag} VRRP version 3 does not support authentication. Ignoring."),
        );
        i.auth = None;
    }
    let us = i.advert_int.as_micros();
    if i.version == 2 && us % 1_000_000 != 0 {
        args.warn(
            key,
            format!(
                "{tag} VRRPv2 advertisement interval {}.{:06}s must be an integer. rounding",
                us / 1_000_000,
                us % 1_000_000
            ),
        );
        let rounded = ((us + 500_000) / 1_000_000).max(1);
        i.advert_int = crate::time::Duration::from_secs(rounded);
    }
    if i.version == 3 && us % 10_000 != 0 {
        let cs = (us + 5_000) / 10_000;
        i.advert_int = crate::time::Duration::from_micros(cs.max(1) * 10_000);
    }
}
