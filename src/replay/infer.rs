//! From what the nodes logged to what happened to them: each process start,
//! stop and death the lines imply, with the span of time it may have come
//! in, and what the lines cannot tell.

use super::logs::Line;
use crate::cluster::Node;
use haven_core::config::keepalived::VrrpScript;
use haven_core::vrrp::is_haproxy_idiom;
use std::net::Ipv4Addr;

use super::SECOND;

/// How long keepalived may take from its first line to its first state.
const START_LAG: i64 = 200_000;

/// What the replay makes happen on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// The node's programs start (the scenario host's `start`).
    Boot,
    /// A timeline action (`kill haproxy`, `stop keepalived`, ...).
    Action(&'static str),
}

/// Something the lines imply, between `lo` and `hi` (wall-clock µs).
#[derive(Debug, Clone)]
pub(crate) struct Guess {
    pub(crate) node: usize,
    pub(crate) act: Act,
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    /// The line that tells, and how.
    pub(crate) why: String,
}

/// What the lines say, as far as the replay reads them.
#[derive(Debug, PartialEq, Eq)]
enum Says<'a> {
    KeepalivedStarting,
    KeepalivedStopping,
    /// systemd saw keepalived's main process killed.
    KeepalivedKilled,
    HaproxyStarted,
    /// haproxy stopped or was killed (systemd's lines).
    HaproxyStopped,
    /// A tracked script's result: failed (false) or succeeded, and whether
    /// this is its first run with that result (2.x's "now returning").
    Script(&'a str, bool, bool),
    Master,
    /// The instance is BACKUP (or FAULT).
    Backup,
    /// The instance left MASTER: a higher priority was heard.
    HeardHigher,
    /// A backup with preempt heard a lower priority from the master (1.x
    /// forces an election, 2.x discards the advert).
    Forcing,
    /// A backup heard nothing for the master-down interval.
    Timeout,
    /// A stopping master's priority 0 was heard.
    Prio0,
    Other,
}

/// The names Debian's and Red Hat's units give keepalived, as systemd's
/// lines say them.
const KEEPALIVED_UNITS: [&str; 2] = [
    "Keepalive Daemon (LVS and VRRP)",
    "LVS and VRRP High Availability Monitor",
];

/// Reads a line's message: the programs' own, and systemd's about their
/// units (a journal has both).
fn says(text: &str) -> Says<'_> {
    let unit = |verb: &str| {
        KEEPALIVED_UNITS
            .iter()
            .any(|u| text.starts_with(&format!("{verb} {u}")))
    };
    if text.starts_with("Starting Keepalived") || unit("Started") {
        return Says::KeepalivedStarting;
    }
    if text == "Stopping" || text.starts_with("Stopping Keepalived") || unit("Stopping") {
        return Says::KeepalivedStopping;
    }
    if text.starts_with("keepalived.service: Main process exited, code=killed") {
        return Says::KeepalivedKilled;
    }
    let started = text.starts_with("Proxy ") && text.ends_with(" started.");
    if started || text == "Started HAProxy Load Balancer." {
        return Says::HaproxyStarted;
    }
    if text.starts_with("Stopping HAProxy Load Balancer")
        || text.starts_with("haproxy.service: Main process exited, code=killed")
    {
        return Says::HaproxyStopped;
    }
    if let Some(rest) = text.strip_prefix("VRRP_Script(") {
        if let Some((name, outcome)) = rest.split_once(") ") {
            return Says::Script(name, outcome == "succeeded", false);
        }
    }
    if let Some(rest) = text.strip_prefix("Script `") {
        if let Some((name, status)) = rest.split_once("` now returning ") {
            return Says::Script(name, status == "0", true);
        }
    }
    let Some(message) = instance_message(text) else {
        return Says::Other;
    };
    match message {
        "Entering MASTER STATE" | "Transition to MASTER STATE" => Says::Master,
        "Received higher prio advert" => Says::HeardHigher,
        "Receive advertisement timeout" => Says::Timeout,
        "Backup received priority 0 advertisement" => Says::Prio0,
        m if m.starts_with("Entering BACKUP STATE") || m.starts_with("Entering FAULT STATE") => {
            Says::Backup
        }
        m if m.starts_with("Master received advert from") && m.contains("higher") => {
            Says::HeardHigher
        }
        m if m.contains("forcing a new MASTER election") || m.contains("forcing new election") => {
            Says::Forcing
        }
        // 2.x: a backup with preempt lets the master's lower adverts go by
        // until its timer runs out.
        m if m.starts_with("received lower priority") && m.ends_with("- discarding") => {
            Says::Forcing
        }
        _ => Says::Other,
    }
}

/// `VRRP_Instance(NAME) message` (1.x) or `(NAME) message` (2.x): the
/// message.
pub(crate) fn instance_message(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("VRRP_Instance").unwrap_or(text);
    let (_, message) = rest.strip_prefix('(')?.split_once(") ")?;
    Some(message)
}

/// What the lines imply: the guesses, in time order, and what could not
/// be told.
pub(crate) struct Inferred {
    pub(crate) guesses: Vec<Guess>,
    pub(crate) notes: Vec<String>,
}

/// Each node's state as the lines tell it so far.
#[derive(Clone)]
struct Seen {
    haproxy_up: bool,
    keepalived_seen: bool,
    /// Whether a state line was seen, and whether it is MASTER.
    known: bool,
    master: bool,
    /// When its keepalived last started, stopped or died (µs).
    last_change: Option<i64>,
    /// The last keepalived start or stop guessed, and when: systemd's line
    /// and keepalived's own say the same thing.
    last_act: Option<(bool, i64)>,
}

/// Infers what happened from `lines` (time order, with their node).
/// Lines without a node are used where only one node fits ("Proxy started"
/// on the one node whose haproxy is down) and noted otherwise.
pub(crate) fn infer(nodes: &[Node], lines: &mut [(Option<usize>, Line)]) -> Inferred {
    let mut seen = vec![
        Seen {
            haproxy_up: true,
            keepalived_seen: false,
            known: false,
            master: false,
            last_change: None,
            last_act: None,
        };
        nodes.len()
    ];
    let mut guesses: Vec<Guess> = Vec::new();
    let mut notes = Vec::new();
    // When a backup last heard why it takes over (forcing, priority 0).
    let mut explained: Vec<Option<i64>> = vec![None; nodes.len()];
    for (node, line) in lines.iter_mut() {
        let said = says(&line.text);
        let at = line.at;
        let res = if line.precise { 1_000 } else { SECOND };
        if node.is_none() && said == Says::HaproxyStarted {
            let down: Vec<usize> = (0..nodes.len()).filter(|&n| !seen[n].haproxy_up).collect();
            if let [only] = down[..] {
                *node = Some(only);
            }
        }
        let Some(n) = *node else {
            // Access lines are the users' traffic, whoever logged them.
            if !super::diff::modelled(&line.text) {
                continue;
            }
            notes.push(format!(
                "{}: no node logs as '{}': the line is not compared",
                line.place,
                line.host.as_deref().unwrap_or("-")
            ));
            continue;
        };
        let advert = advert_int(&nodes[n]);
        // A backup heard why it takes over (a forced election, priority 0)
        // lately.
        let heard = explained[n].is_some_and(|t| at - t <= 2 * advert + SECOND);
        // The line's own second (or instant): when what it says happened.
        let now = (at, at + res);
        let mut guess = |act, (lo, hi): (i64, i64), why: String| {
            guesses.push(Guess {
                node: n,
                act,
                lo,
                hi,
                why: format!("{}: {why}", line.place),
            });
        };
        // A second line for a start or stop just guessed: the same event.
        let starts = match said {
            Says::KeepalivedStarting => Some(true),
            Says::KeepalivedStopping => Some(false),
            _ => None,
        };
        if let Some(starting) = starts {
            let same = seen[n]
                .last_act
                .is_some_and(|(s, t)| s == starting && at - t <= 2 * SECOND);
            seen[n].last_act = Some((starting, at));
            if same {
                continue;
            }
        }
        match said {
            Says::KeepalivedStarting => {
                let act = match seen[n].keepalived_seen {
                    true => Act::Action("start keepalived"),
                    false => Act::Boot,
                };
                // It logs this line first, then reads its config.
                guess(
                    act,
                    (at, at + res.max(START_LAG)),
                    "keepalived starts".into(),
                );
                seen[n].keepalived_seen = true;
                seen[n].last_change = Some(at);
            }
            Says::KeepalivedStopping => {
                guess(
                    Act::Action("stop keepalived"),
                    now,
                    "keepalived stops".into(),
                );
                seen[n].keepalived_seen = true;
                seen[n].master = false;
                seen[n].last_change = Some(at);
            }
            Says::KeepalivedKilled => {
                let why = "systemd saw keepalived killed".into();
                guess(Act::Action("kill keepalived"), now, why);
                seen[n].master = false;
                seen[n].last_change = Some(at);
            }
            Says::HaproxyStopped if seen[n].haproxy_up => {
                let why = "haproxy stops or is killed (systemd)".into();
                guess(Act::Action("kill haproxy"), now, why);
                seen[n].haproxy_up = false;
            }
            Says::HaproxyStarted if !seen[n].haproxy_up => {
                guess(Act::Action("start haproxy"), now, "haproxy starts".into());
                seen[n].haproxy_up = true;
            }
            Says::Script(name, ok, first) => {
                seen[n].keepalived_seen = true;
                let Some(script) = nodes[n].cfg.scripts.iter().find(|s| s.name == name) else {
                    continue;
                };
                if !is_haproxy_idiom(&script.script) {
                    notes.push(format!(
                        "{}: vrrp_script {name} on {} {}: what made it is not inferred (the scenario's script always succeeds)",
                        line.place,
                        nodes[n].name,
                        if ok { "succeeded" } else { "failed" }
                    ));
                    continue;
                }
                if ok == seen[n].haproxy_up {
                    continue;
                }
                let runs = if ok { script.rise } else { script.fall }.max(1);
                let span = script_span(script, at, res, if first { 1 } else { runs });
                let (act, what) = match ok {
                    true => ("start haproxy", "haproxy is back"),
                    false => ("kill haproxy", "haproxy died"),
                };
                guess(
                    Act::Action(act),
                    span,
                    format!("{what}: its script {name} says so"),
                );
                seen[n].haproxy_up = ok;
            }
            Says::Master => {
                let takeover = !seen[n].master;
                seen[n].master = true;
                seen[n].known = true;
                // Taken from a MASTER seen, or (in a log that starts mid-way)
                // not in the election that follows a start.
                let from_master = (0..nodes.len()).any(|m| m != n && seen[m].master);
                let fresh = seen[n].last_change.is_some_and(|t| at - t < 10 * advert);
                if takeover && (from_master || !fresh) && !heard {
                    silent_master(nodes, &mut seen, n, at, res, &mut guesses, line);
                }
            }
            Says::Timeout => {
                if !heard {
                    silent_master(nodes, &mut seen, n, at, res, &mut guesses, line);
                }
                explained[n] = Some(at);
            }
            Says::Prio0 => explained[n] = Some(at),
            Says::Backup => {
                seen[n].known = true;
                seen[n].master = false;
            }
            // Only a MASTER logs this.
            Says::HeardHigher => {
                seen[n].known = true;
                lost_priority(nodes, &mut seen, n, at, res, &mut guesses, line);
            }
            Says::Forcing => {
                explained[n] = Some(at);
                if let Some(m) = other_master(&seen, n) {
                    lost_priority(nodes, &mut seen, m, at, res, &mut guesses, line);
                }
            }
            Says::HaproxyStarted | Says::HaproxyStopped | Says::Other => {}
        }
    }
    guesses.sort_by_key(|g| g.lo);
    Inferred { guesses, notes }
}

/// The MASTER other than `n`: the one known, else the only other node when
/// its state is not known yet (a log that starts mid-way).
fn other_master(seen: &[Seen], n: usize) -> Option<usize> {
    let others = || (0..seen.len()).filter(move |&m| m != n);
    others().find(|&m| seen[m].master).or_else(|| {
        let mut unknown = others().filter(|&m| !seen[m].known);
        match (unknown.next(), unknown.next(), others().count()) {
            (Some(m), None, 1) => Some(m),
            _ => None,
        }
    })
}

/// The nodes' addresses the lines give: in a cluster of two, an advert
/// `from` an address on one node names the other's.
pub(crate) fn addresses(nodes: &[Node], lines: &[(Option<usize>, Line)]) -> Vec<Option<Ipv4Addr>> {
    let mut found = vec![None; nodes.len()];
    if nodes.len() != 2 {
        return found;
    }
    for (node, line) in lines {
        let (Some(n), Some(message)) = (node, instance_message(&line.text)) else {
            continue;
        };
        let Some((_, rest)) = message.split_once(" from ") else {
            continue;
        };
        let word = rest.split_whitespace().next().unwrap_or_default();
        if let Ok(addr) = word.parse::<Ipv4Addr>() {
            found[1 - n].get_or_insert(addr);
        }
    }
    found
}

/// When a script that says so after `runs` runs in a row at `at` saw the
/// change first: `runs` intervals before, give or take one.
fn script_span(script: &VrrpScript, at: i64, res: i64, runs: u32) -> (i64, i64) {
    let interval = script.interval.as_micros() as i64;
    let hi = at - interval * i64::from(runs - 1);
    (hi - interval - res, hi + res)
}

/// The first instance's advert interval on `node` (µs; 1 s without one).
fn advert_int(node: &Node) -> i64 {
    node.cfg
        .instances
        .first()
        .map_or(SECOND, |i| i.advert_int.as_micros() as i64)
}

/// Master `m`'s priority fell at `at` (it heard a higher one, or a backup
/// forced an election): with an "is haproxy running" script tracked and
/// haproxy thought alive, haproxy died in the scripts' runs before.
fn lost_priority(
    nodes: &[Node],
    seen: &mut [Seen],
    m: usize,
    at: i64,
    res: i64,
    guesses: &mut Vec<Guess>,
    line: &Line,
) {
    seen[m].master = false;
    seen[m].known = true;
    if !seen[m].haproxy_up {
        return;
    }
    let Some(script) = nodes[m]
        .cfg
        .scripts
        .iter()
        .find(|s| is_haproxy_idiom(&s.script))
    else {
        return;
    };
    let (lo, hi) = script_span(script, at, res, script.fall.max(1));
    guesses.push(Guess {
        node: m,
        act: Act::Action("kill haproxy"),
        lo: lo - advert_int(&nodes[m]),
        hi,
        why: format!(
            "{}: {}'s priority fell while it was MASTER: haproxy died (its script {} failed)",
            line.place, nodes[m].name, script.name
        ),
    });
    seen[m].haproxy_up = false;
}

/// Backup `n` took over at `at` with nothing heard that explains it: the
/// master went silent a master-down interval before.
fn silent_master(
    nodes: &[Node],
    seen: &mut [Seen],
    n: usize,
    at: i64,
    res: i64,
    guesses: &mut Vec<Guess>,
    line: &Line,
) {
    let Some(m) = other_master(seen, n) else {
        return;
    };
    let recent = seen[m]
        .last_change
        .is_some_and(|t| at - t < 5 * advert_int(&nodes[m]));
    seen[m].master = false;
    if recent {
        return;
    }
    let advert = advert_int(&nodes[n]);
    guesses.push(Guess {
        node: m,
        act: Act::Action("kill keepalived"),
        lo: at - 4 * advert - SECOND - res,
        hi: at - 3 * advert + res,
        why: format!(
            "{}: {} took over from {} with nothing heard: {}'s adverts stopped (keepalived killed, the host crashed or its link went down: the logs cannot tell; replayed as keepalived killed)",
            line.place, nodes[n].name, nodes[m].name, nodes[m].name
        ),
    });
    seen[m].last_change = Some(at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_both_generations_read_alike() {
        assert_eq!(
            says("VRRP_Instance(HA_1) Received higher prio advert"),
            Says::HeardHigher
        );
        assert_eq!(
            says("(HA_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100"),
            Says::HeardHigher
        );
        assert_eq!(
            says("VRRP_Instance(HA_1) forcing a new MASTER election"),
            Says::Forcing
        );
        assert_eq!(
            says("(HA_1) Received advert from 10.0.0.1 with lower priority 100, ours 111, forcing new election"),
            Says::Forcing
        );
        assert_eq!(says("(HA_1) Entering MASTER STATE"), Says::Master);
        assert_eq!(
            says("(HA_1) received lower priority (100) advert from 10.77.0.11 - discarding"),
            Says::Forcing
        );
        assert_eq!(
            says("Script `chk` now returning 1"),
            Says::Script("chk", false, true)
        );
        assert_eq!(
            says("VRRP_Script(chk) failed (exited with status 1)"),
            Says::Script("chk", false, false)
        );
        assert_eq!(
            says("VRRP_Script(chk) succeeded"),
            Says::Script("chk", true, false)
        );
        assert_eq!(
            says("Starting Keepalived v2.2.7 (01/16,2022)"),
            Says::KeepalivedStarting
        );
        assert_eq!(says("Proxy www started."), Says::HaproxyStarted);
        assert_eq!(says("(HA_1) Entering BACKUP STATE (init)"), Says::Backup);
        // systemd's lines about the units, in a journal.
        assert_eq!(says("Started HAProxy Load Balancer."), Says::HaproxyStarted);
        assert_eq!(
            says("haproxy.service: Main process exited, code=killed, status=9/KILL"),
            Says::HaproxyStopped
        );
        assert_eq!(
            says("Started Keepalive Daemon (LVS and VRRP)."),
            Says::KeepalivedStarting
        );
        assert_eq!(
            says("Stopping LVS and VRRP High Availability Monitor..."),
            Says::KeepalivedStopping
        );
        assert_eq!(
            says("keepalived.service: Main process exited, code=killed, status=9/KILL"),
            Says::KeepalivedKilled
        );
        assert_eq!(says("(HA_1) removing VIPs."), Says::Other);
    }
}
