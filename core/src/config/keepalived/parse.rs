//! The top level of keepalived.conf: which blocks exist, and the
//! `vrrp_script` and `vrrp_sync_group` blocks.

use super::model::*;
use super::syntax::{build_tree, tokenize, Node};
use super::values::{command, Args};
use super::{global, instance, validate};
use crate::config::support::{KEEPALIVED_SYNC_GROUP, KEEPALIVED_TOP};
use crate::config::{Diagnostics, Parsed, SourceLoader};
use crate::time::Duration;

/// Parses `text` (file `name`), following includes through `loader`.
pub fn parse(name: &str, text: &str, loader: &dyn SourceLoader) -> Parsed<KeepalivedConfig> {
    let mut diags = Diagnostics::default();
    let lines = tokenize(name, text, loader, &mut diags);
    let tree = build_tree(lines, &mut diags);
    let mut cfg = KeepalivedConfig {
        global: GlobalDefs::default(),
        scripts: Vec::new(),
        instances: Vec::new(),
        sync_groups: Vec::new(),
        unsupported: Vec::new(),
    };
    let mut args = Args {
        diags: &mut diags,
        unsupported: Vec::new(),
    };
    // Scripts first: instances refer to them wherever they are declared.
    for node in tree.iter().filter(|n| n.key.text == "vrrp_script") {
        if let Some(s) = vrrp_script(node, &mut args) {
            if cfg.scripts.iter().any(|x| x.name == s.name) {
                args.error(&node.key, format!("vrrp script {} already defined", s.name));
            } else {
                cfg.scripts.push(s);
            }
        }
    }
    let mut instance_nodes = Vec::new();
    let mut group_keys = Vec::new();
    for node in &tree {
        match node.key.text.as_str() {
            "global_defs" => global::global_defs(node, &mut cfg.global, &mut args),
            "vrrp_script" => {}
            "vrrp_instance" => instance_nodes.push(node),
            "vrrp_sync_group" => {
                if let Some(g) = sync_group(node, &mut args) {
                    cfg.sync_groups.push(g);
                    group_keys.push(node.key.clone());
                }
            }
            kw if Args::lists(KEEPALIVED_TOP, kw) => {
                args.unsupported(&node.key, KEEPALIVED_TOP, kw);
            }
            kw => args.error(&node.key, format!("unknown keyword '{kw}'")),
        }
    }
    let mut instance_keys = Vec::new();
    for node in instance_nodes {
        if let Some(i) = instance::vrrp_instance(node, &cfg.global, &cfg.scripts, &mut args) {
            if cfg.instances.iter().any(|x| x.name == i.name) {
                args.error(
                    &node.key,
                    format!("vrrp instance {} already defined", i.name),
                );
            } else {
                cfg.instances.push(i);
                instance_keys.push(node.key.clone());
            }
        }
    }
    validate::validate(&mut cfg, &instance_keys, &group_keys, &mut args);
    cfg.unsupported = args.unsupported;
    let config = (!diags.has_errors()).then_some(cfg);
    Parsed {
        config,
        diagnostics: diags,
    }
}

/// The block of `node`, or an error saying one was expected.
pub(crate) fn block<'n>(node: &'n Node, args: &mut Args<'_>) -> Option<&'n [Node]> {
    match &node.block {
        Some(b) => Some(b),
        None => {
            args.error(
                &node.key,
                format!("'{}' expects a {{ ... }} block", node.key.text),
            );
            None
        }
    }
}

fn vrrp_script(node: &Node, args: &mut Args<'_>) -> Option<VrrpScript> {
    let name = args.get(node, 0)?.text.clone();
    let body = block(node, args)?;
    let mut s = VrrpScript {
        name,
        script: String::new(),
        interval: Duration::from_secs(1),
        timeout: None,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
        line: node.key.line,
    };
    for n in body {
        match n.key.text.as_str() {
            "script" => s.script = command(n).unwrap_or_default(),
            "interval" => s.interval = args.seconds(n, 0, 1, 4_294_967_295)?,
            "timeout" => s.timeout = Some(args.seconds(n, 0, 1, 4_294_967_295)?),
            "weight" => {
                match args.int(n, 0, -253, 253) {
                    Some(w) => s.weight = w as i32,
                    None => {
                        let v = n.args.first().map(|t| t.text.clone()).unwrap_or_default();
                        args.error(
                            &n.key,
                            format!("vrrp_script {} weight {v} must be in [-253, 253]", s.name),
                        );
                    }
                }
                s.reverse = n.args.get(1).is_some_and(|t| t.text == "reverse");
            }
            "rise" => s.rise = args.int(n, 0, 1, i64::from(u32::MAX))? as u32,
            "fall" => s.fall = args.int(n, 0, 1, i64::from(u32::MAX))? as u32,
            "user" => s.user = args.get(n, 0).map(|t| t.text.clone()),
            "init_fail" => s.init_fail = true,
            kw => args.error(
                &n.key,
                format!("unknown keyword '{kw}' in vrrp_script {}", s.name),
            ),
        }
    }
    if s.script.is_empty() {
        args.error(
            node.end_or_key(),
            format!("No script set for vrrp_script {} - removing", s.name),
        );
        return None;
    }
    Some(s)
}

fn sync_group(node: &Node, args: &mut Args<'_>) -> Option<SyncGroup> {
    let name = args.get(node, 0)?.text.clone();
    let body = block(node, args)?;
    let mut g = SyncGroup {
        name,
        instances: Vec::new(),
        notify: Notify::default(),
    };
    for n in body {
        match n.key.text.as_str() {
            "group" => {
                for m in block(n, args).unwrap_or_default() {
                    g.instances.push(m.key.text.clone());
                    g.instances.extend(m.args.iter().map(|t| t.text.clone()));
                }
            }
            _ if notify_keyword(&mut g.notify, n, args) => {}
            "global_tracking"
            | "sync_group_tracking_weight"
            | "track_interface"
            | "track_script"
            | "track_file"
            | "track_process"
            | "track_bfd"
            | "notify_priority_changes" => {
                args.unsupported(&n.key, KEEPALIVED_SYNC_GROUP, &n.key.text);
            }
            kw => args.error(
                &n.key,
                format!("unknown keyword '{kw}' in vrrp_sync_group {}", g.name),
            ),
        }
    }
    Some(g)
}

/// Reads a `notify_*` / `notify` / `smtp_alert` line into `notify`;
/// false when `n` is none of them.
pub(crate) fn notify_keyword(notify: &mut Notify, n: &Node, args: &mut Args<'_>) -> bool {
    match n.key.text.as_str() {
        "notify_master" => notify.master = command(n),
        "notify_backup" => notify.backup = command(n),
        "notify_fault" => notify.fault = command(n),
        "notify_stop" => notify.stop = command(n),
        "notify" => notify.any = command(n),
        "smtp_alert" => notify.smtp_alert = args.flag(n),
        _ => return false,
    }
    true
}
