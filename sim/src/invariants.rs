//! What must hold in any run, whatever the faults (issue "chaos"): checked
//! after every step of a world that carries an [`Invariants`].
//!
//! - **One master.** Within one connected partition, at most one MASTER
//!   per VRID once `settle` (3 × advert_int + 1 s of skew, the longest of
//!   the cluster) has passed since the last change: a fault, a repair, or
//!   a state transition (a takeover rightly shows two masters while the
//!   new one's first advert is on the wire).
//! - **One VIP holder.** After that time a VIP answers from at most one
//!   host per partition, and from one when an instance of it there could
//!   be master (BACKUP or MASTER). A VIP left behind by a killed keepalived
//!   does not count: no daemon can remove it (keepalived clears it when it
//!   starts again).
//! - **Answers from running processes.** A request is answered only by a
//!   load balancer whose haproxy runs, and the one that took it.
//! - **Every request ends**: answered, failed with a status, or timed out.
//! - **Liveness.** While the network is whole (no partition, no loss, every
//!   link up), a load balancer is healthy (up, haproxy and keepalived
//!   running) and a backend serves (the others refusing or silent, which
//!   health checks see; a slow or erring backend stays in rotation by
//!   design), requests started `bound` after the last fault or repair
//!   succeed; `bound` sums what the configs imply (VRRP takeover, tracked
//!   scripts, health checks, a client's timeouts, the clients' ARP cache
//!   lifetime). Not checked for
//!   clusters with `nopreempt`, where a healthy node may rightly stay
//!   backup behind a broken master.
//!
//! Network loss suspends the first two: a lost advert can rightly make two
//! masters.

use crate::load::Loaded;
use crate::world::World;
use haven_core::time::{Duration, Instant};
use haven_core::vrrp::State;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// When it was seen (virtual time from the start).
    pub at: Instant,
    /// Which invariant.
    pub invariant: &'static str,
    /// What was seen.
    pub detail: String,
}

/// The checker a world carries.
#[derive(Debug)]
pub(crate) struct Invariants {
    settle: Duration,
    /// From a healthy start to requests that must succeed; `None`: liveness
    /// not checked.
    bound: Option<Duration>,
    last_change: Instant,
    /// Each host's instance states at the last step: a transition is a
    /// change too (a takeover has two masters for one advert's flight).
    last_states: Vec<Vec<State>>,
    /// Since when the network is whole and a load balancer and a backend
    /// are healthy.
    healthy_since: Option<Instant>,
    /// Closed healthy stretches.
    healthy: Vec<(Instant, Instant)>,
    /// Each (invariant, subject) is reported once.
    seen: BTreeSet<(&'static str, String)>,
    pub(crate) violations: Vec<Violation>,
    /// Steps observed.
    pub(crate) steps: u64,
}

impl Invariants {
    /// The checker for scenario `sc`.
    pub(crate) fn new(sc: &Loaded) -> Self {
        let instances = || {
            sc.hosts
                .iter()
                .filter_map(|h| h.keepalived.as_ref())
                .flat_map(|k| &k.instances)
        };
        let advert = instances()
            .map(|i| i.advert_int)
            .max()
            .unwrap_or(Duration::ZERO);
        let skew = Duration::from_secs(1);
        let takeover = advert * 4 + skew;
        let scripts = sc
            .hosts
            .iter()
            .filter_map(|h| h.keepalived.as_ref())
            .flat_map(|k| &k.scripts)
            .map(|s| {
                s.interval * u64::from(s.rise.max(s.fall) + 1) + s.timeout.unwrap_or(s.interval)
            })
            .max()
            .unwrap_or(Duration::ZERO);
        let checks = sc
            .hosts
            .iter()
            .filter_map(|h| h.haproxy.as_ref())
            .flat_map(|c| &c.proxies)
            .flat_map(|p| &p.servers)
            .filter(|s| s.check)
            .map(|s| {
                let slowest = s
                    .inter
                    .max(s.fastinter.unwrap_or(s.inter))
                    .max(s.downinter.unwrap_or(s.inter));
                slowest * u64::from(s.rise + s.fall)
            })
            .max()
            .unwrap_or(Duration::ZERO);
        let client = sc
            .clients
            .iter()
            .map(|c| c.timeout * u64::from(c.retries + 1))
            .max()
            .unwrap_or(Duration::ZERO);
        let nopreempt = instances().any(|i| i.nopreempt);
        Self {
            settle: advert * 3 + skew,
            // A split healed without a lower-priority advert reaching the
            // master that stays leaves clients' ARP entries on the host that
            // stepped down until they expire (keepalived alike).
            bound: (!nopreempt).then_some(
                takeover + scripts + checks + client + sc.arp_timeout + Duration::from_secs(1),
            ),
            last_change: Instant::ZERO,
            last_states: Vec::new(),
            healthy_since: None,
            healthy: Vec::new(),
            seen: BTreeSet::new(),
            violations: Vec::new(),
            steps: 0,
        }
    }

    /// The cluster changed now (a state transition).
    fn changed(&mut self, now: Instant) {
        self.last_change = now;
    }

    /// A fault or repair happened now: the clock of every bound restarts.
    pub(crate) fn fault(&mut self, now: Instant) {
        self.changed(now);
        if let Some(since) = self.healthy_since {
            self.healthy.push((since, now));
            self.healthy_since = Some(now);
        }
    }

    fn report(&mut self, at: Instant, invariant: &'static str, subject: String, detail: String) {
        if self.seen.insert((invariant, subject)) {
            self.violations.push(Violation {
                at,
                invariant,
                detail,
            });
        }
    }

    /// Checks the world after a step.
    pub(crate) fn observe(&mut self, w: &World<'_>) {
        self.steps += 1;
        self.track_health(w);
        let states: Vec<Vec<State>> = w
            .hosts
            .iter()
            .map(|h| {
                h.node
                    .keepalived_instances()
                    .iter()
                    .map(|v| v.state)
                    .collect()
            })
            .collect();
        if states != self.last_states {
            self.last_states = states;
            self.changed(w.now);
        }
        if w.now < self.last_change + self.settle || w.segment.lossy() {
            return;
        }
        for (vrid, names) in partitions_by_vrid(w) {
            for (side, members) in names {
                let masters: Vec<&str> = members
                    .iter()
                    .filter(|(_, state, _)| *state == State::Master)
                    .map(|(h, _, _)| *h)
                    .collect();
                if masters.len() > 1 {
                    self.report(
                        w.now,
                        "one master",
                        format!("{vrid}/{side}"),
                        format!(
                            "VRID {vrid}: {} are all MASTER in one partition",
                            masters.join(", ")
                        ),
                    );
                }
            }
        }
        for (addr, side, holders, eligible) in vip_holders(w) {
            if holders.len() > 1 || (holders.is_empty() && eligible) {
                self.report(
                    w.now,
                    "one VIP holder",
                    format!("{addr}/{side}/{}", holders.len()),
                    format!(
                        "VIP {addr} answers from {} host(s) in one partition: [{}]",
                        holders.len(),
                        holders.join(", ")
                    ),
                );
            }
        }
    }

    /// A request was answered by load balancer `lb`, which took it while
    /// its haproxy was in `taken` (its start count then).
    pub(crate) fn answered(&mut self, w: &World<'_>, lb: usize, taken: u64) {
        let host = &w.hosts[lb];
        if !(host.up && host.haproxy_alive) || host.haproxy_starts != taken {
            let name = &w.sc.hosts[lb].name;
            self.report(
                w.now,
                "answers from running processes",
                name.clone(),
                format!("{name} answered a request its haproxy took before it stopped"),
            );
        }
    }

    fn track_health(&mut self, w: &World<'_>) {
        let whole = !w.segment.lossy()
            && !w.segment.partitioned()
            && w.hosts.iter().all(|h| !h.up || h.link);
        let lb = w
            .hosts
            .iter()
            .any(|h| h.up && h.link && h.haproxy_alive && h.keepalived_running());
        let healthy = whole && lb && w.traffic.backends_serve();
        match (healthy, self.healthy_since) {
            (true, None) => self.healthy_since = Some(w.now),
            (false, Some(since)) => {
                self.healthy.push((since, w.now));
                self.healthy_since = None;
            }
            _ => {}
        }
    }

    /// End of the run at `end`: requests that never ended (`pending`: their
    /// start times) and failures inside healthy stretches (`failed`).
    pub(crate) fn finish(
        &mut self,
        end: Instant,
        sc: &Loaded,
        pending: &[Instant],
        failed: &[Instant],
    ) {
        if let Some(since) = self.healthy_since.take() {
            self.healthy.push((since, end));
        }
        let patience = sc
            .clients
            .iter()
            .map(|c| c.timeout * u64::from(c.retries + 1))
            .max()
            .unwrap_or(Duration::ZERO);
        if let Some(start) = pending
            .iter()
            .find(|s| **s + patience + Duration::from_secs(1) < end)
        {
            self.report(
                end,
                "every request ends",
                String::new(),
                format!("a request sent at {start} never ended"),
            );
        }
        let Some(bound) = self.bound else { return };
        for &start in failed {
            let inside = self
                .healthy
                .iter()
                .any(|&(from, to)| start >= from + bound && start + patience <= to);
            if inside {
                let stretch = self
                    .healthy
                    .iter()
                    .find(|&&(from, to)| start >= from && start <= to)
                    .map(|&(from, _)| from);
                self.report(
                    start,
                    "liveness",
                    String::new(),
                    format!(
                        "a request sent at {start} failed although the cluster had been healthy since {} (bound {bound})",
                        stretch.unwrap_or(start)
                    ),
                );
            }
        }
    }
}

/// Per VRID, per partition side: the running instances (host, state).
type Sides<'w> = std::collections::BTreeMap<usize, Vec<(&'w str, State, usize)>>;

fn partitions_by_vrid<'w>(w: &'w World<'_>) -> std::collections::BTreeMap<u8, Sides<'w>> {
    let mut out: std::collections::BTreeMap<u8, Sides<'w>> = std::collections::BTreeMap::new();
    for (h, host) in w.hosts.iter().enumerate() {
        if !(host.up && host.link && host.keepalived_running()) {
            continue;
        }
        let Some(cfg) = w.sc.hosts[h].keepalived.as_ref() else {
            continue;
        };
        let states = host.node.keepalived_instances();
        for (i, inst) in cfg.instances.iter().enumerate() {
            let state = states.get(i).map_or(State::Init, |v| v.state);
            out.entry(inst.vrid)
                .or_default()
                .entry(w.segment.side(h))
                .or_default()
                .push((w.sc.hosts[h].name.as_str(), state, i));
        }
    }
    out
}

/// Per VIP and partition side: the hosts answering for it, and whether an
/// instance there could hold it.
fn vip_holders(w: &World<'_>) -> Vec<(IpAddr, usize, Vec<String>, bool)> {
    let mut out: Vec<(IpAddr, usize, Vec<String>, bool)> = Vec::new();
    for (h, host) in w.hosts.iter().enumerate() {
        let Some(cfg) = w.sc.hosts[h].keepalived.as_ref() else {
            continue;
        };
        if !(host.up && host.link) {
            continue;
        }
        let side = w.segment.side(h);
        let states = host.node.keepalived_instances();
        for (i, inst) in cfg.instances.iter().enumerate() {
            // A killed keepalived's leftover VIP is beyond any daemon's
            // reach (keepalived clears it at its next start).
            let holds = host.vips.get(&i) == Some(&true) && host.keepalived_running();
            let eligible = host.keepalived_running()
                && matches!(
                    states.get(i).map(|v| v.state),
                    Some(State::Backup | State::Master)
                );
            for vip in &inst.vips {
                let entry = match out
                    .iter_mut()
                    .find(|(a, s, ..)| *a == vip.addr && *s == side)
                {
                    Some(e) => e,
                    None => {
                        out.push((vip.addr, side, Vec::new(), false));
                        out.last_mut().expect("just pushed")
                    }
                };
                if holds && !entry.2.contains(&w.sc.hosts[h].name) {
                    entry.2.push(w.sc.hosts[h].name.clone());
                }
                entry.3 |= eligible;
            }
        }
    }
    out
}
