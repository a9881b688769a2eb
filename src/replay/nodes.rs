//! Whose line is it: the nodes (one keepalived.conf each), named as their
//! logs name them, and each log line given to its node.

use super::logs::Line;
use crate::cluster::Node;
use anyhow::{bail, Result};
use haven_core::config::keepalived::KeepalivedConfig;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A keepalived.conf as given: `NAME=FILE` or `FILE`, read.
pub(crate) struct Given {
    pub(crate) name: Option<String>,
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) cfg: KeepalivedConfig,
}

/// `NAME=VALUE` or `VALUE`: the name, if any, and the value.
pub(crate) fn split_named(spec: &str) -> (Option<String>, PathBuf) {
    match spec.split_once('=') {
        Some((name, value)) if !name.is_empty() && !name.contains('/') => {
            (Some(name.to_owned()), PathBuf::from(value))
        }
        _ => (None, PathBuf::from(spec)),
    }
}

/// Names the nodes: the name given, else the `router_id` or the file's
/// stem when the logs have lines of such a host, else the `router_id`,
/// else the stem.
pub(crate) fn name(given: Vec<Given>, hosts: &BTreeSet<String>) -> Result<Vec<Node>> {
    let mut nodes: Vec<Node> = Vec::new();
    for g in given {
        let stem = stem(&g.path);
        let router_id = g.cfg.global.router_id.clone();
        let candidates = [g.name.clone(), router_id.clone(), Some(stem.clone())];
        let name = g
            .name
            .clone()
            .or_else(|| {
                candidates
                    .iter()
                    .flatten()
                    .find(|c| hosts.contains(*c))
                    .cloned()
            })
            .or(router_id)
            .unwrap_or(stem);
        if nodes.iter().any(|n| n.name == name) {
            bail!("two keepalived.conf files make node '{name}': name them as NAME=FILE with -k");
        }
        nodes.push(Node::new(name, g.text, g.cfg));
    }
    Ok(nodes)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "node".to_owned(), |s| s.to_string_lossy().into_owned())
}

/// Every line with its node, in time order (a file's order among lines of
/// one time): a line's syslog host when it is a node's name, else the
/// host its file was given for (`HOST=FILE`), else none.
pub(crate) fn attribute(
    nodes: &[Node],
    logs: Vec<(Option<String>, Vec<Line>)>,
) -> Vec<(Option<usize>, Line)> {
    let index = |name: &str| nodes.iter().position(|n| n.name == name);
    let mut out: Vec<(Option<usize>, Line)> = logs
        .into_iter()
        .flat_map(|(file_host, lines)| {
            let file_node = file_host.as_deref().and_then(index);
            lines.into_iter().map(move |l| {
                let node = l.host.as_deref().and_then(index).or(file_node);
                (node, l)
            })
        })
        .collect();
    out.sort_by_key(|(_, l)| l.at);
    out
}
