//! When things happened: the times, within what the lines allow, whose
//! run reproduces the real log best. Each phase of the run's start with a
//! coarse pass over the guesses, then coordinate descent over the guesses
//! of the best, twice over; among the times that do equally well, the
//! middle one.

use super::diff::{compare, Comparison};
use super::infer::{Act, Guess};
use super::logs::Line;
use super::scenario::Cluster;
use anyhow::Result;

use super::SECOND;

/// The times chosen: the run's start and end, and each guess's time
/// (wall-clock µs).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) at: Vec<i64>,
}

/// Rounds of the descent.
const ROUNDS: usize = 2;

/// Candidates per guess, at most.
const STEPS: i64 = 60;

/// Candidates per guess in the pass each phase of the start gets.
const COARSE: i64 = 12;

/// Finds the plan whose run matches `lines` best, and that comparison.
pub(crate) fn search(
    cluster: &Cluster,
    guesses: &[Guess],
    lines: &[(Option<usize>, Line)],
) -> Result<(Plan, Comparison, usize)> {
    let first_line = lines.iter().map(|(_, l)| l.at).min().unwrap_or(0);
    let last_line = lines.iter().map(|(_, l)| l.at).max().unwrap_or(0);
    let first = guesses.iter().map(|g| g.lo).fold(first_line, i64::min);
    let all_boot =
        (0..cluster.nodes.len()).all(|n| guesses.iter().any(|g| g.node == n && g.act == Act::Boot));
    // Without their starts in the logs, the nodes settle before the first
    // line: long enough for an election whatever the advert interval.
    let advert = cluster
        .nodes
        .iter()
        .flat_map(|n| &n.cfg.instances)
        .map(|i| i.advert_int.as_micros() as i64)
        .max()
        .unwrap_or(SECOND);
    let warm = if all_boot {
        SECOND
    } else {
        (10 * advert).max(20 * SECOND)
    };
    let base = (first - warm).div_euclid(SECOND) * SECOND;
    let mut plan = Plan {
        start: base,
        end: last_line + 10 * SECOND,
        at: guesses.iter().map(|g| (g.lo + g.hi) / 2).collect(),
    };
    let mut runs = 0;
    let mut evaluate = |plan: &Plan| -> Result<Comparison> {
        runs += 1;
        let text = cluster.toml(guesses, &plan.at, plan.start, plan.end);
        let rec = haven_sim::run(&cluster.load(&text)?, None);
        Ok(compare(&rec, lines, cluster.nodes.len()))
    };
    let phases: Vec<i64> = match all_boot {
        true => vec![base],
        false => (0..10).map(|k| base + k * SECOND / 10).collect(),
    };
    // The phase and the times go together (a script's runs, the adverts
    // follow the start): each phase gets a coarse pass over the guesses,
    // and the best pair is refined.
    let mut best: Option<((usize, usize, i64, i64), Plan)> = None;
    for &start in &phases {
        let mut p = Plan {
            start,
            ..plan.clone()
        };
        for (i, guess) in guesses.iter().enumerate() {
            p.at[i] = best_of(&steps(guess, COARSE), |t| {
                let mut q = p.clone();
                q.at[i] = t;
                evaluate(&q)
            })?;
        }
        let key = evaluate(&p)?.key();
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, p));
        }
    }
    if let Some((_, p)) = best {
        plan = p;
    }
    for _ in 0..ROUNDS {
        for (i, guess) in guesses.iter().enumerate() {
            let candidates = steps(guess, STEPS);
            let chosen = best_of(&candidates, |t| {
                let mut p = plan.clone();
                p.at[i] = t;
                evaluate(&p)
            })?;
            plan.at[i] = chosen;
        }
    }
    let best = evaluate(&plan)?;
    Ok((plan, best, runs))
}

/// The times tried for `g`: its span in at most `count` steps of 10 ms or
/// more.
fn steps(g: &Guess, count: i64) -> Vec<i64> {
    let span = g.hi - g.lo;
    if span <= 2_000 {
        return vec![g.lo];
    }
    let step = (span / count).max(10_000);
    (0..=span / step).map(|k| g.lo + k * step).collect()
}

/// The middle one of the `candidates` whose comparison is best.
fn best_of(candidates: &[i64], mut score: impl FnMut(i64) -> Result<Comparison>) -> Result<i64> {
    let mut best: Option<(_, Vec<i64>)> = None;
    for &c in candidates {
        let key = score(c)?.key();
        match &mut best {
            Some((k, all)) if *k == key => all.push(c),
            Some((k, _)) if *k > key => {}
            _ => best = Some((key, vec![c])),
        }
    }
    let (_, all) = best.expect("at least one candidate");
    Ok(all[all.len() / 2])
}
