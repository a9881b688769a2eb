//! The real log against the simulated one: each real line the simulator
//! writes paired with the simulated line of the same node and text
//! nearest in time, the time error of each pair, and what only one side
//! has.

use super::logs::Line;
use haven_sim::Recorder;
use std::fmt::Write as _;

use super::SECOND;

/// How far apart a real line and its simulated twin may be.
const REACH: i64 = 30 * SECOND;

/// The comparison of a run with the real lines.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    /// Real lines compared.
    pub(crate) real: usize,
    /// Real lines with a simulated twin, and of them those in the same
    /// second (or within a second, for logs with fractions).
    pub(crate) matched: usize,
    pub(crate) in_second: usize,
    /// Simulated lines in the real lines' span that no real line has.
    pub(crate) extra: usize,
    /// Sum of the time errors of the pairs (µs; against the middle of the
    /// second for whole-second logs).
    pub(crate) error: i64,
    rows: Vec<Row>,
}

/// One row of the printed diff.
#[derive(Debug)]
struct Row {
    at: i64,
    node: usize,
    real: Option<(i64, bool)>,
    sim: Option<i64>,
    text: String,
    place: String,
}

impl Comparison {
    /// Better than `other`: more lines to the second, then more pairs, then
    /// fewer extras, then a smaller error.
    pub(crate) fn key(&self) -> (usize, usize, i64, i64) {
        (
            self.in_second,
            self.matched,
            -(self.extra as i64),
            -self.error,
        )
    }

    /// True when every real line was reproduced to the second.
    pub(crate) fn exact(&self) -> bool {
        self.in_second == self.real
    }

    /// The real lines of `node` whose text ends with `text`, each with
    /// its simulated twin's time: (real time, simulated time).
    pub(crate) fn pairs(&self, node: usize, text: &str) -> Vec<(i64, Option<i64>)> {
        self.rows
            .iter()
            .filter(|r| r.node == node && r.text.ends_with(text))
            .filter_map(|r| Some((r.real?.0, r.sim)))
            .collect()
    }

    /// The diff, a line per row: `=` to the second, `~` paired further
    /// off, `-` real only, `+` simulated only.
    pub(crate) fn render(&self, names: &[String]) -> String {
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let mut out = String::new();
        for r in &self.rows {
            let real = r
                .real
                .map_or_else(|| " ".repeat(15), |(t, precise)| clock(t, precise));
            let sim = r.sim.map_or_else(|| " ".repeat(15), |t| clock(t, true));
            let (mark, error) = match (r.real, r.sim) {
                (Some((real, precise)), Some(sim)) => {
                    let e = sim - real;
                    let mark = if within(real, precise, sim) { '=' } else { '~' };
                    let error = match precise {
                        true => format!("{:+.3}s", e as f64 / 1e6),
                        false => format!("{:+}s", sim.div_euclid(SECOND) - real.div_euclid(SECOND)),
                    };
                    (mark, error)
                }
                (Some(_), None) => ('-', String::new()),
                _ => ('+', String::new()),
            };
            let _ = writeln!(
                out,
                "{mark} {real} {sim} {error:>8}  {:<width$}  {}{}",
                names[r.node],
                r.text,
                if r.place.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", r.place)
                }
            );
        }
        out
    }
}

/// `20:57:54` or `20:57:54.108312`.
fn clock(at: i64, precise: bool) -> String {
    let stamp = super::stamp(at);
    match precise {
        true => stamp,
        false => format!("{:<15}", &stamp[..8]),
    }
}

/// True when simulated time `sim` is real time `real` to the second.
fn within(real: i64, precise: bool, sim: i64) -> bool {
    match precise {
        true => (sim - real).abs() < SECOND,
        false => sim.div_euclid(SECOND) == real.div_euclid(SECOND),
    }
}

/// True when a real line's program `real` may be the simulated `sim`: the
/// same, or keepalived's console log as a journal keeps it (`keepalived`,
/// one name for all its processes).
fn same_program(real: &str, sim: &str) -> bool {
    real == sim || (real == "keepalived" && sim.starts_with("Keepalived"))
}

/// True for a message the simulator writes (keepalived's state, script,
/// VIP and ARP lines; haproxy's server and proxy lines): the others
/// (start-up chatter, access logs) are not compared.
pub(crate) fn modelled(text: &str) -> bool {
    if super::infer::instance_message(text).is_some() {
        return true;
    }
    let keepalived = [
        "VRRP_Script(",
        "Script `",
        "Netlink reflector reports",
        "Netlink reports",
        "Kernel is reporting",
        "Sending gratuitous ARP on",
        "Sending unsolicited Neighbour Advert",
    ];
    let haproxy = (text.starts_with("Proxy ") && text.ends_with(" started."))
        || (text.starts_with("Server ") && (text.contains(" is DOWN") || text.contains(" is UP")))
        || text.ends_with(" has no server available!");
    haproxy || keepalived.iter().any(|k| text.starts_with(k))
}

/// Compares run `rec` with the real `lines` (each with its node; nodes in
/// scenario order).
pub(crate) fn compare(rec: &Recorder, lines: &[(Option<usize>, Line)], nodes: usize) -> Comparison {
    let mut c = Comparison::default();
    for n in 0..nodes {
        let real: Vec<&Line> = lines
            .iter()
            .filter(|(node, l)| *node == Some(n) && modelled(&l.text))
            .map(|(_, l)| l)
            .collect();
        let sim: Vec<(i64, &str, &str)> = rec.logged(n).filter(|(_, _, t)| modelled(t)).collect();
        let mut used = vec![false; sim.len()];
        for r in &real {
            c.real += 1;
            let twin = sim
                .iter()
                .enumerate()
                .filter(|(k, (at, ident, text))| {
                    !used[*k]
                        && *text == r.text
                        && (at - r.at).abs() <= REACH
                        && r.ident.as_deref().is_none_or(|i| same_program(i, ident))
                })
                .min_by_key(|(_, (at, ..))| (at - r.at).abs());
            let sim_at = twin.map(|(k, (at, ..))| {
                used[k] = true;
                *at
            });
            if let Some(at) = sim_at {
                c.matched += 1;
                c.in_second += usize::from(within(r.at, r.precise, at));
                let aim = if r.precise { r.at } else { r.at + SECOND / 2 };
                c.error += (at - aim).abs();
            }
            c.rows.push(Row {
                at: r.at,
                node: n,
                real: Some((r.at, r.precise)),
                sim: sim_at,
                text: r.text.clone(),
                place: if sim_at.is_some() {
                    String::new()
                } else {
                    r.place.clone()
                },
            });
        }
        let (Some(first), Some(last)) = (real.first(), real.last()) else {
            continue;
        };
        let end = last.at + if last.precise { 0 } else { SECOND };
        for (k, (at, _, text)) in sim.iter().enumerate() {
            if !used[k] && *at >= first.at && *at < end {
                c.extra += 1;
                c.rows.push(Row {
                    at: *at,
                    node: n,
                    real: None,
                    sim: Some(*at),
                    text: (*text).to_owned(),
                    place: String::new(),
                });
            }
        }
    }
    c.rows.sort_by_key(|r| (r.at, r.node));
    c
}
