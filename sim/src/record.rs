//! What a run produces: syslog lines per host, `timeline.csv`, the
//! failover summary and the expectations' verdicts.

use crate::load::{Check, Loaded};
use haven_core::log::syslog::{syslog_line, Civil};
use haven_core::time::{Duration, Instant};
use serde::Serialize;
use std::net::IpAddr;

/// One row of `timeline.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    at: Instant,
    host: String,
    kind: &'static str,
    instance: String,
    detail: String,
}

impl TimelineRow {
    /// A row.
    pub fn new(at: Instant, host: &str, kind: &'static str, instance: &str, detail: &str) -> Self {
        Self {
            at,
            host: host.into(),
            kind,
            instance: instance.into(),
            detail: detail.into(),
        }
    }
}

/// One failover as the stdout summary and `summary.json` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failover {
    /// The fault.
    pub fault: String,
    /// When it was injected (s).
    pub at: String,
    /// First log line it caused (s).
    pub detected: Option<String>,
    /// When a VIP was next added, and where.
    pub vip_moved: Option<String>,
    /// The host that took the VIP.
    pub new_owner: Option<String>,
    /// When the segment's ARP cache pointed at the new owner.
    pub arp_converged: Option<String>,
}

/// One expectation's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// What was expected, and when.
    pub expect: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen instead.
    pub seen: String,
}

/// Collects a run's outputs.
#[derive(Debug)]
pub struct Recorder {
    name: String,
    seed: u64,
    start: (i64, Duration),
    hosts: Vec<String>,
    logs: Vec<Vec<(Instant, String, String)>>,
    rows: Vec<TimelineRow>,
    states: Vec<(Instant, String, String, String)>,
    vips: Vec<(Instant, String, String, bool)>,
    arps: Vec<(Instant, IpAddr, String)>,
    faults: Vec<(Instant, String)>,
    checks: Vec<(Duration, Check, String)>,
    /// Failovers found, after `finish`.
    pub failovers: Vec<Failover>,
    /// Expectations' verdicts, after `finish`.
    pub verdicts: Vec<Verdict>,
}

/// `12.345678`: seconds with microseconds.
fn secs(t: Instant) -> String {
    t.to_string()
}

impl Recorder {
    /// An empty record for `sc`.
    pub fn new(sc: &Loaded) -> Self {
        Self {
            name: sc.name.clone(),
            seed: sc.seed,
            start: sc.start,
            hosts: sc.hosts.iter().map(|h| h.name.clone()).collect(),
            logs: vec![Vec::new(); sc.hosts.len()],
            rows: Vec::new(),
            states: Vec::new(),
            vips: Vec::new(),
            arps: Vec::new(),
            faults: Vec::new(),
            checks: sc.checks.clone(),
            failovers: Vec::new(),
            verdicts: Vec::new(),
        }
    }

    fn host_index(&self, host: &str) -> usize {
        self.hosts.iter().position(|h| h == host).unwrap_or(0)
    }

    /// A log line of `file_host`'s syslog file.
    pub fn log(
        &mut self,
        at: Instant,
        syslog_host: &str,
        file_host: &str,
        ident: &str,
        pid: u32,
        text: &str,
    ) {
        let wall = self.start.0 + ((self.start.1 + at.since_origin()).as_secs()) as i64;
        let line = syslog_line(&Civil::from_unix(wall), syslog_host, ident, pid, text);
        let i = self.host_index(file_host);
        self.logs[i].push((at, line, text.to_owned()));
    }

    /// A timeline row.
    pub fn row(&mut self, row: TimelineRow) {
        self.rows.push(row);
    }

    /// An injected fault.
    pub fn fault(&mut self, at: Instant, label: &str) {
        self.faults.push((at, label.to_owned()));
    }

    /// An instance changed state (from its notifications).
    pub fn state(&mut self, at: Instant, host: &str, inst: &str, state: &str, priority: u8) {
        self.rows.push(TimelineRow::new(
            at,
            host,
            "state",
            inst,
            &format!("{state} {priority}"),
        ));
        self.states
            .push((at, host.into(), inst.into(), state.into()));
    }

    /// VIPs added to or removed from a host.
    pub fn vip(&mut self, at: Instant, host: &str, inst: String, added: bool) {
        self.rows.push(TimelineRow::new(
            at,
            host,
            if added { "vip_add" } else { "vip_remove" },
            &inst,
            "",
        ));
        self.vips.push((at, host.into(), inst, added));
    }

    /// The segment learned from a GARP that `addr` is at `host`.
    pub fn arp(&mut self, at: Instant, addr: IpAddr, host: &str) {
        let current = self
            .arps
            .iter()
            .rev()
            .find(|(_, a, _)| *a == addr)
            .map(|(_, _, h)| h.as_str());
        if current != Some(host) {
            self.rows
                .push(TimelineRow::new(at, host, "arp", "", &addr.to_string()));
        }
        self.arps.push((at, addr, host.into()));
    }

    /// Closes the run: failovers and expectations.
    pub fn finish(&mut self, end: Instant) {
        let faults = self.faults.clone();
        for (at, label) in faults {
            let detected = self
                .logs
                .iter()
                .flatten()
                .filter(|(t, ..)| *t >= at)
                .map(|(t, ..)| *t)
                .min();
            let moved = self
                .vips
                .iter()
                .find(|(t, _, _, add)| *t >= at && *add)
                .cloned();
            let arp = moved.as_ref().and_then(|(t, h, _, _)| {
                self.arps
                    .iter()
                    .find(|(ta, _, ha)| ta >= t && ha == h)
                    .map(|(ta, _, _)| *ta)
            });
            self.failovers.push(Failover {
                fault: label,
                at: secs(at),
                detected: detected.map(secs),
                vip_moved: moved.as_ref().map(|(t, ..)| secs(*t)),
                new_owner: moved.map(|(_, h, _, _)| h),
                arp_converged: arp.map(secs),
            });
        }
        let checks = self.checks.clone();
        for (at, check, label) in checks {
            let t = Instant::ZERO + at;
            let (passed, seen) = self.evaluate(&check, t.min(end));
            self.verdicts.push(Verdict {
                expect: format!("at {}: {label}", secs(t)),
                passed,
                seen,
            });
        }
    }

    fn evaluate(&self, check: &Check, t: Instant) -> (bool, String) {
        match check {
            Check::VipOwner { instance, host } => {
                let owners = self.owners(instance, t);
                (owners == [host.clone()], format!("held by {owners:?}"))
            }
            Check::State {
                instance,
                host,
                state,
            } => {
                let last = self
                    .states
                    .iter()
                    .rev()
                    .find(|(at, h, i, _)| *at <= t && h == host && i == instance);
                let seen = last.map_or("INIT".to_owned(), |(.., s)| s.clone());
                (seen == *state, seen)
            }
            Check::Log { host, text } => {
                let i = self.host_index(host);
                let hit = self.logs[i]
                    .iter()
                    .any(|(at, _, txt)| *at <= t && txt == text);
                (
                    hit,
                    if hit {
                        "logged".into()
                    } else {
                        "not logged".into()
                    },
                )
            }
            Check::TwoMasters { instance, limit } => {
                let longest = self.longest_split(instance, t);
                (longest <= *limit, format!("longest {longest}"))
            }
        }
    }

    /// Hosts holding `instance`'s VIPs at `t`.
    fn owners(&self, instance: &str, t: Instant) -> Vec<String> {
        let mut held: Vec<String> = Vec::new();
        for (_, h, _, add) in self
            .vips
            .iter()
            .filter(|(at, _, i, _)| *at <= t && i == instance)
        {
            held.retain(|x| x != h);
            if *add {
                held.push(h.clone());
            }
        }
        held.sort();
        held
    }

    /// Longest stretch up to `t` with two or more MASTERs of `instance`.
    fn longest_split(&self, instance: &str, t: Instant) -> Duration {
        let mut masters: Vec<String> = Vec::new();
        let (mut since, mut longest) = (None, Duration::ZERO);
        for (at, h, _, s) in self
            .states
            .iter()
            .filter(|(at, _, i, _)| *at <= t && i == instance)
        {
            masters.retain(|x| x != h);
            if s == "MASTER" {
                masters.push(h.clone());
            }
            match (masters.len() >= 2, since) {
                (true, None) => since = Some(*at),
                (false, Some(s0)) => {
                    longest = longest.max(at.saturating_duration_since(s0));
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(s0) = since {
            longest = longest.max(t.saturating_duration_since(s0));
        }
        longest
    }

    /// Each host's syslog file: (host, contents).
    pub fn syslog_files(&self) -> Vec<(String, String)> {
        self.hosts
            .iter()
            .zip(&self.logs)
            .map(|(h, lines)| {
                (
                    h.clone(),
                    lines.iter().map(|(_, l, _)| format!("{l}\n")).collect(),
                )
            })
            .collect()
    }

    /// `timeline.csv`.
    pub fn timeline_csv(&self) -> String {
        let mut rows = self.rows.clone();
        rows.sort_by_key(|r| r.at);
        let mut out = String::from("time,host,event,instance,detail\n");
        for r in rows {
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                secs(r.at),
                r.host,
                r.kind,
                r.instance,
                r.detail
            ));
        }
        out
    }

    /// `summary.json`.
    pub fn summary_json(&self) -> String {
        let v = serde_json::json!({
            "scenario": self.name,
            "seed": self.seed,
            "failovers": self.failovers,
            "expectations": self.verdicts,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// The short human summary for stdout.
    pub fn summary_text(&self) -> String {
        let mut out = format!("scenario {} (seed {})\n", self.name, self.seed);
        for f in &self.failovers {
            out.push_str(&format!(
                "  {} at {}s: detected {}, VIP moved {}{}, ARP converged {}\n",
                f.fault,
                f.at,
                f.detected
                    .as_deref()
                    .map_or("-".into(), |t| format!("{t}s")),
                f.vip_moved
                    .as_deref()
                    .map_or("-".into(), |t| format!("{t}s")),
                f.new_owner
                    .as_deref()
                    .map_or(String::new(), |h| format!(" to {h}")),
                f.arp_converged
                    .as_deref()
                    .map_or("-".into(), |t| format!("{t}s")),
            ));
        }
        for v in &self.verdicts {
            out.push_str(&format!(
                "  [{}] {} ({})\n",
                if v.passed { "ok" } else { "FAILED" },
                v.expect,
                v.seen
            ));
        }
        out
    }

    /// True when every expectation held.
    pub fn all_passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}
