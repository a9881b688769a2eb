//! `haven reload --simulate`: before the signal, the standard faults run
//! on the new configs with the peers', and each figure is printed beside
//! the previous configs' when they are given, so a deploy sees what the
//! change does before it is made.

use crate::simulate::{assess, finish, Assessment, Simulation, TABLE_HEAD};
use crate::ReloadArgs;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Simulates the new configs (and the previous ones, if given) and prints
/// the figures; true when the new configs show no problem.
pub(crate) fn passes(args: &ReloadArgs) -> Result<bool> {
    let node = args.keepalived.clone().into_iter();
    let new: Vec<PathBuf> = node.chain(args.peer.iter().cloned()).collect();
    let Some(after) = assess(&Simulation {
        haproxy: &args.haproxy,
        keepalived: &new,
        load: args.load.per_second,
    })?
    else {
        return Ok(false);
    };
    let before = match &args.previous_keepalived {
        Some(previous) => {
            let old: Vec<PathBuf> = std::iter::once(previous.clone())
                .chain(args.peer.iter().cloned())
                .collect();
            let haproxy = match args.previous_file.is_empty() {
                true => &args.haproxy,
                false => &args.previous_file,
            };
            assess(&Simulation {
                haproxy,
                keepalived: &old,
                load: args.load.per_second,
            })?
        }
        None => None,
    };
    let code = finish(table(&after, before.as_ref()), &after.findings);
    Ok(code == std::process::ExitCode::SUCCESS)
}

/// The new configs' figures, each after the previous configs' (`was →
/// now`) when there are some.
fn table(after: &Assessment, before: Option<&Assessment>) -> String {
    let mut out = after.header.clone();
    let (f, m, t, d, n) = TABLE_HEAD;
    let _ = writeln!(out, "{f:<34} {m:>20} {t:>18} {d:>20} {n:>12}");
    for (label, now) in &after.rows {
        let was = before.and_then(|b| b.rows.iter().find(|(l, _)| l == label).map(|(_, f)| f));
        let pair = |old: Option<String>, new: String| match old {
            Some(old) if old != new => format!("{old} \u{2192} {new}"),
            _ => new,
        };
        let _ = writeln!(
            out,
            "{label:<34} {:>20} {:>18} {:>20} {:>12}",
            pair(was.map(|w| w.moved.clone()), now.moved.clone()),
            pair(was.map(|w| w.to.clone()), now.to.clone()),
            pair(was.map(|w| w.downtime.clone()), now.downtime.clone()),
            pair(was.map(|w| w.failed.to_string()), now.failed.to_string()),
        );
    }
    if let Some(b) = before {
        for f in b.findings.iter().filter(|f| !after.findings.contains(f)) {
            let _ = writeln!(out, "fixed by the change: {f}");
        }
    }
    out
}
