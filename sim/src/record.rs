//! What a run produces: syslog lines per host, `timeline.csv`, the
//! failover summary and the expectations' verdicts.

use crate::load::{Check, Loaded};
use crate::requests_csv::RequestLog;
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

/// One request, as `requests.csv` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// When the client sent it.
    pub start: Instant,
    /// Client group.
    pub client: String,
    /// Host header.
    pub host: String,
    /// The load balancer that took it.
    pub lb: Option<String>,
    /// Frontend.
    pub frontend: Option<String>,
    /// Backend.
    pub backend: Option<String>,
    /// Last server tried.
    pub server: Option<String>,
    /// Connection attempts.
    pub tries: u32,
    /// Status the client got (0: none).
    pub status: u16,
    /// Termination state (haproxy's, or `timeout` / `refused` client-side).
    pub termination: String,
    /// Time to the answer (or to giving up).
    pub latency: Duration,
}

impl RequestRow {
    /// A request that got no usable answer.
    pub fn failed(&self) -> bool {
        self.status == 0 || self.status >= 500
    }
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Requests counted.
    pub requests: u64,
    /// Failed requests (no answer or 5xx).
    pub failed: u64,
    /// Mean latency of the successful ones.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

/// One failover as the stdout summary and `summary.json` report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failover {
    /// The fault.
    pub fault: String,
    /// When it was injected (s).
    #[serde(serialize_with = "seconds")]
    pub at: Instant,
    /// First log line it caused (s).
    #[serde(serialize_with = "opt_seconds")]
    pub detected: Option<Instant>,
    /// When a VIP was next added, and where.
    #[serde(serialize_with = "opt_seconds")]
    pub vip_moved: Option<Instant>,
    /// The host that took the VIP.
    pub new_owner: Option<String>,
    /// When the segment's ARP cache pointed at the new owner.
    #[serde(serialize_with = "opt_seconds")]
    pub arp_converged: Option<Instant>,
    /// Failed requests sent after the fault and before the next one.
    pub failed_requests: u64,
    /// First to last failed request (s), as clients felt it.
    #[serde(serialize_with = "opt_seconds")]
    pub client_downtime: Option<Duration>,
    /// Latency of the requests sent after the fault and before the next one.
    pub latency: Option<LatencyStats>,
}

/// A time or a span as a number of seconds, to the microsecond
/// (`12.345678`).
trait Seconds {
    fn seconds(&self) -> f64;
}

impl Seconds for Instant {
    fn seconds(&self) -> f64 {
        self.since_origin().seconds()
    }
}

impl Seconds for Duration {
    fn seconds(&self) -> f64 {
        self.as_micros() as f64 / 1e6
    }
}

/// Serializes a time or a span as its number of seconds.
fn seconds<T: Seconds, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(v.seconds())
}

/// [`seconds`], or `null`.
fn opt_seconds<T: Seconds, S: serde::Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => seconds(v, s),
        None => s.serialize_none(),
    }
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

/// How long before a fault the adverts and GARPs sent are in the timeline.
const WIRE_BEFORE: Duration = Duration::from_secs(1);

/// How long after a fault they are.
const WIRE_AFTER: Duration = Duration::from_secs(30);

/// Collects a run's outputs.
#[derive(Debug)]
pub struct Recorder {
    name: String,
    seed: u64,
    start: (i64, Duration),
    hosts: Vec<String>,
    /// Per host: (when, its clock's wall time in µs, line, message).
    logs: Vec<Vec<(Instant, i64, String, String)>>,
    /// Per host: how far its clock is off (µs), after clock steps.
    clock_offsets: Vec<i64>,
    /// Adverts and GARPs of the last [`WIRE_BEFORE`], for the next fault.
    wire_recent: std::collections::VecDeque<TimelineRow>,
    /// Adverts and GARPs go to the timeline until then.
    wire_until: Option<Instant>,
    rows: Vec<TimelineRow>,
    states: Vec<(Instant, String, String, String)>,
    vips: Vec<(Instant, String, String, bool)>,
    arps: Vec<(Instant, IpAddr, String)>,
    faults: Vec<(Instant, String)>,
    /// When the run ended, after `finish`.
    pub(crate) end: Instant,
    checks: Vec<(Duration, Check, String)>,
    /// Requests kept for `requests.csv` (every `sample_every`-th).
    sampled: RequestLog,
    sample_every: u64,
    /// Latency statistics, streamed: memory stays flat however long the run.
    lat: LatencyHistogram,
    /// Send times of failed requests (for client-visible downtime).
    failed_starts: Vec<Instant>,
    /// Latency per window: before the first fault, then from each fault on.
    windows: Vec<(Instant, LatencyHistogram)>,
    /// Latency before the first fault, after `finish`.
    pub baseline: Option<LatencyStats>,
    /// Latency over the whole run, after `finish`.
    pub latency: Option<LatencyStats>,
    /// Failovers found, after `finish`.
    pub failovers: Vec<Failover>,
    /// Expectations' verdicts, after `finish`.
    pub verdicts: Vec<Verdict>,
}

/// `12.345678`: seconds with microseconds.
fn secs(t: Instant) -> String {
    t.to_string()
}

/// Seconds as people write them: `19`, `19.5`, `26.609775`.
fn short_secs(t: Instant) -> String {
    let text = secs(t);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Recorder {
    /// An empty record for `sc` run with `seed`.
    pub fn new(sc: &Loaded, seed: u64) -> Self {
        Self {
            name: sc.name.clone(),
            seed,
            start: sc.start,
            hosts: sc.hosts.iter().map(|h| h.name.clone()).collect(),
            logs: vec![Vec::new(); sc.hosts.len()],
            clock_offsets: vec![0; sc.hosts.len()],
            wire_recent: std::collections::VecDeque::new(),
            wire_until: None,
            rows: Vec::new(),
            states: Vec::new(),
            vips: Vec::new(),
            arps: Vec::new(),
            faults: Vec::new(),
            checks: sc.checks.clone(),
            sampled: RequestLog::default(),
            sample_every: if sc.requests_sample > 0.0 {
                (1.0 / sc.requests_sample).round().max(1.0) as u64
            } else {
                u64::MAX
            },
            lat: LatencyHistogram::default(),
            windows: vec![(Instant::ZERO, LatencyHistogram::default())],
            baseline: None,
            failed_starts: Vec::new(),
            latency: None,
            failovers: Vec::new(),
            end: Instant::ZERO,
            verdicts: Vec::new(),
        }
    }

    fn host_index(&self, host: &str) -> usize {
        self.hosts.iter().position(|h| h == host).unwrap_or(0)
    }

    /// The wall-clock date of `at` and its milliseconds.
    pub fn wall(&self, at: Instant) -> (Civil, u32) {
        let since = self.start.1 + at.since_origin();
        let secs = self.start.0 + since.as_secs() as i64;
        (
            Civil::from_unix(secs),
            ((since.as_nanos() / 1_000_000) % 1000) as u32,
        )
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
        let i = self.host_index(file_host);
        let since = (self.start.1 + at.since_origin()).as_micros() as i64;
        let wall = self.start.0 * 1_000_000 + since + self.clock_offsets[i];
        let civil = Civil::from_unix(wall.div_euclid(1_000_000));
        let line = syslog_line(&civil, syslog_host, ident, pid, text);
        self.logs[i].push((at, wall, line, text.to_owned()));
    }

    /// Host `host`'s clock steps by `delta` µs (`ntpdate`, a hand): its
    /// log's times move; what it does does not.
    pub fn step_clock(&mut self, host: &str, delta: i64) {
        let i = self.host_index(host);
        self.clock_offsets[i] += delta;
    }

    /// A finished request; `row` builds its CSV row, only for sampled ones.
    pub fn request(
        &mut self,
        start: Instant,
        latency: Duration,
        failed: bool,
        row: impl FnOnce() -> RequestRow,
    ) {
        if self.lat.count % self.sample_every == 0 {
            self.sampled.push(row());
        }
        self.lat.add(latency, failed);
        if let Some((_, w)) = self
            .windows
            .iter_mut()
            .rev()
            .find(|(from, _)| *from <= start)
        {
            w.add(latency, failed);
        }
        if failed {
            self.failed_starts.push(start);
        }
    }

    /// Start times of the requests that failed.
    pub(crate) fn failed_starts(&self) -> &[Instant] {
        &self.failed_starts
    }

    /// A timeline row.
    pub fn row(&mut self, row: TimelineRow) {
        self.rows.push(row);
    }

    /// A VRRP advert or a gratuitous ARP sent (`advert` / `garp` rows):
    /// kept in the timeline from [`WIRE_BEFORE`] before each fault to
    /// [`WIRE_AFTER`] after it, the failover panels' window, so that long
    /// runs stay small.
    pub fn wire(&mut self, row: TimelineRow) {
        if self.wire_until.is_some_and(|until| row.at <= until) {
            self.rows.push(row);
            return;
        }
        while self
            .wire_recent
            .front()
            .is_some_and(|r| r.at + WIRE_BEFORE < row.at)
        {
            self.wire_recent.pop_front();
        }
        self.wire_recent.push_back(row);
    }

    /// An injected fault.
    pub fn fault(&mut self, at: Instant, label: &str) {
        let recent = std::mem::take(&mut self.wire_recent);
        let since = at.saturating_duration_since(Instant::ZERO + WIRE_BEFORE);
        self.rows
            .extend(recent.into_iter().filter(|r| r.at >= Instant::ZERO + since));
        self.wire_until = Some(at + WIRE_AFTER);
        self.faults.push((at, label.to_owned()));
        // Per-fault latency windows for the first faults only (each holds a
        // half-megabyte histogram); later requests count in the last one.
        if self.windows.len() <= MAX_WINDOWS {
            self.windows.push((at, LatencyHistogram::default()));
        }
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
        self.end = end;
        self.failed_starts.sort();
        self.latency = self.lat.stats();
        self.baseline = self.windows.first().and_then(|(_, w)| w.stats());
        let faults = self.faults.clone();
        for (n, (at, label)) in faults.iter().cloned().enumerate() {
            let until = faults.get(n + 1).map_or(end, |(t, _)| *t);
            let failed: Vec<Instant> = self
                .failed_starts
                .iter()
                .copied()
                .filter(|t| *t >= at && *t < until)
                .collect();
            let client_downtime = match (failed.first(), failed.last()) {
                (Some(a), Some(b)) => Some(b.saturating_duration_since(*a)),
                _ => None,
            };
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
                at,
                detected,
                vip_moved: moved.as_ref().map(|(t, ..)| *t),
                new_owner: moved.map(|(_, h, _, _)| h),
                arp_converged: arp,
                failed_requests: failed.len() as u64,
                client_downtime,
                latency: self.windows.get(n + 1).and_then(|(_, w)| w.stats()),
            });
        }
        let checks = self.checks.clone();
        for (at, check, label) in checks {
            let t = Instant::ZERO + at;
            let (passed, seen) = self.evaluate(&check, t.min(end));
            self.verdicts.push(Verdict {
                expect: format!("at {}s: {label}", short_secs(t)),
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
                    .any(|(at, _, _, txt)| *at <= t && txt == text);
                (
                    hit,
                    if hit {
                        "logged".into()
                    } else {
                        "not logged".into()
                    },
                )
            }
            Check::FailedRequests { max } => {
                let failed = self.failed_starts.iter().filter(|s| **s <= t).count() as u64;
                (failed <= *max, format!("{failed} failed"))
            }
            Check::TwoMasters { instance, limit } => {
                let longest = self.longest_split(instance, t);
                (longest <= *limit, format!("longest {longest}"))
            }
        }
    }

    /// Hosts holding `instance`'s VIPs at `t`.
    pub fn owners(&self, instance: &str, t: Instant) -> Vec<String> {
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
        self.split_stretches(instance, t)
            .into_iter()
            .map(|(a, b)| b.saturating_duration_since(a))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Stretches up to `t` with two or more MASTERs of `instance`.
    pub(crate) fn split_stretches(&self, instance: &str, t: Instant) -> Vec<(Instant, Instant)> {
        let mut masters: Vec<&str> = Vec::new();
        let (mut since, mut out) = (None, Vec::new());
        for (at, h, _, s) in self
            .states
            .iter()
            .filter(|(at, _, i, _)| *at <= t && i == instance)
        {
            masters.retain(|x| x != h);
            if s == "MASTER" {
                masters.push(h);
            }
            match (masters.len() >= 2, since) {
                (true, None) => since = Some(*at),
                (false, Some(s0)) => {
                    out.push((s0, *at));
                    since = None;
                }
                _ => {}
            }
        }
        out.extend(since.map(|s0| (s0, t)));
        out
    }

    /// The VRRP instances that changed state, in order of first change.
    pub(crate) fn instances(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (.., inst, _) in &self.states {
            if !out.contains(&inst.as_str()) {
                out.push(inst);
            }
        }
        out
    }

    /// What host `h` (in scenario order) logged: each line's wall-clock
    /// time in microseconds since the epoch, its program and its message.
    pub fn logged(&self, h: usize) -> impl Iterator<Item = (i64, &str, &str)> + '_ {
        self.logs[h].iter().map(|(_, wall, line, text)| {
            // `... host ident[pid]: text`
            let head = &line[..line.len() - text.len() - 2];
            let program = head.rsplit(' ').next().unwrap_or_default();
            let ident = program.split('[').next().unwrap_or_default();
            (*wall, ident, text.as_str())
        })
    }

    /// Each host's syslog file: (host, contents).
    pub fn syslog_files(&self) -> Vec<(String, String)> {
        self.hosts
            .iter()
            .zip(&self.logs)
            .map(|(h, lines)| {
                (
                    h.clone(),
                    lines.iter().map(|(_, _, l, _)| format!("{l}\n")).collect(),
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

    /// `requests.csv` (every request, or the configured sample of them,
    /// chosen by request number so runs stay comparable), from memory.
    pub fn requests_csv(&self) -> String {
        self.sampled.csv()
    }

    /// From now on, `requests.csv` goes to `out` as the run goes instead
    /// of memory.
    pub(crate) fn stream_requests(&mut self, out: Box<dyn std::io::Write>) {
        self.sampled.stream_to(out);
    }

    /// True when `requests.csv` is streamed, not kept in memory.
    pub fn requests_streamed(&self) -> bool {
        self.sampled.streamed()
    }

    /// True when streamed rows are waiting to be written.
    pub(crate) fn requests_want_flush(&self) -> bool {
        self.sampled.wants_flush()
    }

    /// Writes the streamed rows of requests that started at or before
    /// `oldest`, the start of the oldest request still in flight.
    pub(crate) fn flush_requests(&mut self, oldest: Instant) {
        self.sampled.flush(oldest);
    }

    /// Writes the rest of a streamed `requests.csv`; its first write error.
    pub fn close_requests(&mut self) -> std::io::Result<()> {
        self.sampled.close()
    }

    /// True when the run had traffic.
    pub fn has_requests(&self) -> bool {
        self.lat.count > 0
    }

    /// `summary.json`.
    pub fn summary_json(&self) -> String {
        let v = serde_json::json!({
            "scenario": self.name,
            "seed": self.seed,
            "duration": self.end.seconds(),
            "start_unix": self.start.0 as f64 + self.start.1.as_micros() as f64 / 1e6,
            "two_masters": self.outcome().two_masters.seconds(),
            "latency": self.latency,
            "latency_before_faults": self.baseline,
            "failovers": self.failovers,
            "expectations": self.verdicts,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// The short human summary for stdout.
    pub fn summary_text(&self) -> String {
        let mut out = format!("scenario {} (seed {})\n", self.name, self.seed);
        if let Some(l) = &self.latency {
            out.push_str(&format!(
                "  {} requests, {} failed; latency mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms\n",
                l.requests, l.failed, l.mean_ms, l.p50_ms, l.p99_ms, l.max_ms
            ));
        }
        let when = |t: Option<Instant>| t.map_or("-".into(), |t| format!("{}s", short_secs(t)));
        for f in &self.failovers {
            let felt = match (&f.client_downtime, self.lat.count == 0) {
                (_, true) => String::new(),
                (Some(d), false) => format!("; {} failed requests over {d}", f.failed_requests),
                (None, false) => "; no failed request".into(),
            };
            let felt = match &f.latency {
                Some(l) => format!(
                    "{felt}; p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                    l.p50_ms, l.p99_ms, l.max_ms
                ),
                None => felt,
            };
            out.push_str(&format!(
                "  {} at {}s: detected {}, VIP moved {}{}, ARP converged {}{felt}\n",
                f.fault,
                short_secs(f.at),
                when(f.detected),
                when(f.vip_moved),
                f.new_owner
                    .as_deref()
                    .map_or(String::new(), |h| format!(" to {h}")),
                when(f.arp_converged),
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

/// Latency of successful requests in log-linear buckets (1 µs wide up to
/// 10 ms, 10 µs to 100 ms, 100 µs to 1 s, 1 ms to 100 s; slower ones
/// kept exactly), plus counts: bounded memory, exact mean.
#[derive(Debug, Clone)]
struct LatencyHistogram {
    buckets: Vec<u32>,
    slow: Vec<u64>,
    count: u64,
    failed: u64,
    sum_ns: u128,
    max_ns: u64,
}

/// Faults that get a latency window of their own.
const MAX_WINDOWS: usize = 64;

/// (first bucket, first µs, bucket width µs) of each range.
const RANGES: [(u64, u64, u64); 4] = [
    (0, 0, 1),
    (10_000, 10_000, 10),
    (19_000, 100_000, 100),
    (28_000, 1_000_000, 1_000),
];
const BUCKETS: usize = 127_000;

fn bucket(ns: u64) -> Option<usize> {
    let us = ns / 1_000;
    let (first, start, width) = RANGES
        .iter()
        .rev()
        .find(|(_, start, _)| us >= *start)
        .copied()?;
    let i = first + (us - start) / width;
    (i < BUCKETS as u64).then_some(i as usize)
}

/// Upper edge of bucket `i`, in ns.
fn edge(i: usize) -> u64 {
    let i = i as u64;
    let (first, start, width) = RANGES
        .iter()
        .rev()
        .find(|(first, _, _)| i >= *first)
        .copied()
        .unwrap_or(RANGES[0]);
    (start + (i - first + 1) * width) * 1_000
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: vec![0; BUCKETS],
            slow: Vec::new(),
            count: 0,
            failed: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }
}

impl LatencyHistogram {
    fn add(&mut self, latency: Duration, failed: bool) {
        self.count += 1;
        if failed {
            self.failed += 1;
            return;
        }
        let ns = latency.as_nanos();
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
        match bucket(ns) {
            Some(b) => self.buckets[b] += 1,
            None => self.slow.push(ns),
        }
    }

    /// The latency (ns, bucket upper edge) below which a fraction `p` of
    /// successful requests fall.
    fn percentile(&self, p: f64) -> u64 {
        let ok = self.count - self.failed;
        let rank = ((ok as f64 * p).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += u64::from(*b);
            if seen >= rank {
                return edge(i).min(self.max_ns);
            }
        }
        let mut slow = self.slow.clone();
        slow.sort_unstable();
        slow.get((rank - seen).saturating_sub(1) as usize)
            .copied()
            .unwrap_or(self.max_ns)
    }

    fn stats(&self) -> Option<LatencyStats> {
        if self.count == 0 {
            return None;
        }
        let ok = self.count - self.failed;
        let ms = |ns: u64| ns as f64 / 1e6;
        Some(LatencyStats {
            requests: self.count,
            failed: self.failed,
            // To the nanosecond, as the other figures.
            mean_ms: if ok == 0 {
                0.0
            } else {
                ms((self.sum_ns / u128::from(ok)) as u64)
            },
            p50_ms: if ok == 0 {
                0.0
            } else {
                ms(self.percentile(0.50))
            },
            p99_ms: if ok == 0 {
                0.0
            } else {
                ms(self.percentile(0.99))
            },
            max_ms: ms(self.max_ns),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_and_percentiles() {
        for us in [
            0u64, 1, 9_999, 10_000, 10_009, 99_999, 100_000, 999_999, 1_000_000, 99_999_999,
        ] {
            let b = bucket(us * 1_000).expect("in range");
            assert!(
                edge(b) > us * 1_000 && edge(b) <= (us + us / 100 + 1) * 1_000,
                "{us}: {}",
                edge(b)
            );
        }
        assert_eq!(bucket(100_000_000_000), None);
        let mut h = LatencyHistogram::default();
        for ms in 1..=100u64 {
            h.add(Duration::from_millis(ms), false);
        }
        h.add(Duration::from_secs(1), true);
        let st = h.stats().expect("stats");
        assert_eq!((st.requests, st.failed), (101, 1));
        assert!(
            (st.p50_ms - 50.0).abs() < 0.02 && (st.p99_ms - 99.0).abs() < 0.02,
            "{st:?}"
        );
        assert!((st.mean_ms - 50.5).abs() < 1e-9);
    }
}
