//! Chaos runs: a scenario's cluster under a random fault schedule drawn
//! from a seed (process kills, graceful stops, crashes and boots, links
//! down, partitions, loss bursts, backend failures and slowdowns, each
//! repaired after a while), its invariants ([`crate::invariants`])
//! checked after every step, and the run done twice to show that the same
//! seed gives the same outcome.

use crate::invariants::{Invariants, Violation};
use crate::load::{Action, BackendState, Loaded};
use crate::traffic::unit;
use crate::world::{stream_seed, World};
use haven_core::time::{Duration, Instant};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One chaos run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaosRun {
    /// Its seed.
    pub seed: u64,
    /// Faults injected (each with its repair).
    pub faults: usize,
    /// Steps at which the invariants were checked.
    pub steps: u64,
    /// What broke.
    pub violations: Vec<Violation>,
}

/// Runs scenario `sc`'s cluster under the fault schedule of `seed`.
pub fn run(sc: &Loaded, seed: u64) -> ChaosRun {
    let chaotic = schedule(sc, seed);
    let once = || World::new(&chaotic, seed).run_checked(Invariants::new(&chaotic));
    let (first, inv) = once();
    let (second, _) = once();
    let mut violations = inv.violations;
    if first.timeline_csv() != second.timeline_csv()
        || first.summary_json() != second.summary_json()
    {
        violations.push(Violation {
            at: Instant::ZERO,
            invariant: "same seed, same outcome",
            detail: "two runs of this seed differ".to_owned(),
        });
    }
    ChaosRun {
        seed,
        faults: chaotic.events.len() / 2,
        steps: inv.steps,
        violations,
    }
}

/// The shortest chaos run: long enough for a quiet tail in which the
/// cluster must serve again.
const MIN_DURATION: Duration = Duration::from_secs(300);

/// `sc` with its timeline and expectations replaced by a random schedule,
/// over at least [`MIN_DURATION`]: 3 to 10 faults after the first
/// election (10 s) and before 60 % of the run, each repaired 1 to 40 s
/// later and by 65 %; the rest is quiet.
pub fn schedule(sc: &Loaded, seed: u64) -> Loaded {
    let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, " chaos"));
    let mut out = sc.clone();
    out.events.clear();
    out.checks.clear();
    out.duration = sc.duration.max(MIN_DURATION);
    let end = out.duration.as_nanos() as f64 / 1e9;
    let first = 10.0;
    let count = 3 + (rng.next_u32() % 8) as usize;
    for _ in 0..count {
        let at = first + unit(&mut rng) * (end * 0.6 - first);
        let lasts = 1.0 + unit(&mut rng) * 39.0;
        let repair = (at + lasts).min(end * 0.65);
        let (host, fault, fix, what) = pick(sc, &mut rng);
        let label = |verb: &str| match host {
            Some(h) => format!("chaos: {verb} {what} on {}", sc.hosts[h].name),
            None => format!("chaos: {verb} {what}"),
        };
        out.events.push((seconds(at), host, fault, label("break")));
        out.events
            .push((seconds(repair), host, fix, label("repair")));
    }
    out.events.sort_by_key(|e| e.0);
    out
}

/// One fault and its repair: (host, fault, repair, what).
fn pick(sc: &Loaded, rng: &mut ChaCha8Rng) -> (Option<usize>, Action, Action, String) {
    let n = sc.hosts.len();
    let h = (rng.next_u32() as usize) % n.max(1);
    let kinds = if sc.backends.is_empty() { 7 } else { 8 };
    match rng.next_u32() % kinds {
        0 if sc.hosts[h].haproxy.is_some() => (
            Some(h),
            Action::KillHaproxy,
            Action::StartHaproxy,
            "haproxy (kill)".into(),
        ),
        1 if sc.hosts[h].keepalived.is_some() => (
            Some(h),
            Action::StopKeepalived,
            Action::StartKeepalived,
            "keepalived (stop)".into(),
        ),
        2 if sc.hosts[h].keepalived.is_some() => (
            Some(h),
            Action::KillKeepalived,
            Action::StartKeepalived,
            "keepalived (kill)".into(),
        ),
        3 => (
            Some(h),
            Action::Crash,
            Action::Boot,
            "the host (crash)".into(),
        ),
        4 => (
            Some(h),
            Action::Link(false),
            Action::Link(true),
            "the link".into(),
        ),
        5 if n > 1 => {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for i in 0..n {
                if i == h || rng.next_u32() % 2 == 0 {
                    a.push(i)
                } else {
                    b.push(i)
                }
            }
            if b.is_empty() {
                b.push(a.pop().expect("n > 1"));
            }
            (
                None,
                Action::Partition(vec![a, b]),
                Action::Heal,
                "the segment (partition)".into(),
            )
        }
        6 => {
            let p = 0.05 + unit(rng) * 0.45;
            (
                None,
                Action::Loss(p),
                Action::Loss(0.0),
                format!("the segment (loss {p:.2})"),
            )
        }
        7 => {
            let b = (rng.next_u32() as usize) % sc.backends.len();
            let state = match rng.next_u32() % 4 {
                0 => BackendState::Down,
                1 => BackendState::Blackhole,
                2 => BackendState::Slow(2.0 + unit(rng) * 18.0),
                _ => BackendState::Error(0.2 + unit(rng) * 0.8),
            };
            let name = sc.backends[b].addr.to_string();
            (
                None,
                Action::Backend(b, state),
                Action::Backend(b, BackendState::Up),
                format!("backend {name}"),
            )
        }
        _ => (
            Some(h),
            Action::Crash,
            Action::Boot,
            "the host (crash)".into(),
        ),
    }
}

/// `s` seconds as a virtual-time duration.
fn seconds(s: f64) -> Duration {
    Duration::from_nanos((s * 1e9) as u64)
}
