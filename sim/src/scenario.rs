//! Scenario files (TOML; schema in `scenarios/README.md`): the hosts and
//! their configs, the network, the fault timeline and the expectations.
//! Everything is read and checked before the world starts; a problem is
//! a [`ScenarioError`] naming the file, line and column.

use haven_core::time::Duration;
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::ops::Range;
use toml::Spanned;

/// A scenario as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in outputs.
    pub name: String,
    /// Seed of the world's RNG.
    #[serde(default = "one")]
    pub seed: u64,
    /// How much virtual time to run.
    pub duration: Spanned<String>,
    /// Wall-clock label of t = 0, `YYYY-MM-DD HH:MM:SS[.frac]`, for log timestamps.
    pub start: Spanned<String>,
    /// `1x` or `2x`: keepalived behaviour and log style (else each config's own).
    #[serde(default)]
    pub log_style: Option<Spanned<String>>,
    /// keepalived's `-D`: print detail lines (default true).
    #[serde(default = "yes")]
    pub log_detail: bool,
    /// haproxy's `option httplog` lines in the hosts' logs (default true).
    #[serde(default = "yes")]
    pub log_requests: bool,
    /// Network model.
    #[serde(default)]
    pub network: Network,
    /// The load-balancer hosts.
    #[serde(rename = "host", default)]
    pub hosts: Vec<Host>,
    /// The fault timeline.
    #[serde(rename = "event", default)]
    pub events: Vec<Event>,
    /// Models of tracked scripts that are not the built-in idioms.
    #[serde(rename = "script", default)]
    pub scripts: Vec<ScriptModel>,
    /// Assertions checked at the end.
    #[serde(rename = "expect", default)]
    pub expects: Vec<Expect>,
    /// Simulated web servers behind the load balancers.
    #[serde(rename = "backend", default)]
    pub backends: Vec<Backend>,
    /// Simulated users.
    #[serde(rename = "client", default)]
    pub clients: Vec<Client>,
    /// Fraction of requests written to `requests.csv` (default 1).
    #[serde(default = "one_f")]
    pub requests_sample: f64,
    /// How long each program takes from its start to doing anything.
    #[serde(default)]
    pub start_lag: StartLags,
}

/// Start lags per program (`[start_lag.haproxy]`, `[start_lag.keepalived]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartLags {
    /// haproxy's.
    #[serde(default)]
    pub haproxy: Option<Lag>,
    /// keepalived's.
    #[serde(default)]
    pub keepalived: Option<Lag>,
}

/// A start lag: its mean and distribution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lag {
    /// The mean.
    pub mean: Spanned<String>,
    /// `constant` (default), `exponential` or `lognormal`.
    #[serde(default)]
    pub distribution: Option<Spanned<String>>,
    /// Standard deviation for `lognormal`.
    #[serde(default)]
    pub stddev: Option<Spanned<String>>,
}

fn one_f() -> f64 {
    1.0
}

/// A simulated web server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// `ip:port`, as a `server` line of haproxy.cfg names it.
    pub address: Spanned<String>,
    /// Mean service time.
    pub service: Spanned<String>,
    /// `exponential` (default), `constant` or `lognormal`.
    #[serde(default)]
    pub distribution: Option<Spanned<String>>,
    /// Standard deviation for `lognormal`.
    #[serde(default)]
    pub stddev: Option<Spanned<String>>,
    /// Requests served at once; the rest wait FIFO (default 1).
    #[serde(default = "one_u32")]
    pub workers: u32,
    /// Status per exact path (default 200), e.g. `{ "/index.jsp" = 404 }`.
    #[serde(default)]
    pub status: std::collections::BTreeMap<String, u16>,
}

fn one_u32() -> u32 {
    1
}

/// Simulated users sending requests to a VIP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// Name, in `requests.csv`.
    pub name: String,
    /// `VIP:port` they connect to.
    pub target: Spanned<String>,
    /// Open loop: Poisson arrivals at this many requests per second.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Replay: the requests of this haproxy access log (`option
    /// httplog`), each when it came after the log's first, with its
    /// method, path and captured Host.
    #[serde(default)]
    pub replay: Option<Spanned<String>>,
    /// Closed loop: this many users, each waiting `think` between requests.
    #[serde(default)]
    pub users: Option<u32>,
    /// Closed loop: mean think time.
    #[serde(default)]
    pub think: Option<Spanned<String>>,
    /// How the gaps between arrivals (open loop) or the think times
    /// (closed loop) vary: `exponential` (default: Poisson arrivals),
    /// `constant` (a fixed rate, as a probe's) or `lognormal`.
    #[serde(default)]
    pub distribution: Option<Spanned<String>>,
    /// Standard deviation for `lognormal` (default: the mean).
    #[serde(default)]
    pub stddev: Option<Spanned<String>>,
    /// Host-header mix: name → weight (default: no Host header).
    #[serde(default)]
    pub hosts: std::collections::BTreeMap<String, f64>,
    /// Request path (default `/`).
    #[serde(default = "slash")]
    pub path: String,
    /// Give up on a request after this long (default 5s).
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// When they start (default 0).
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    /// When they stop (default: the end).
    #[serde(default)]
    pub stop: Option<Spanned<String>>,
    /// Reuse connections (default true); false costs a TCP handshake
    /// (one extra round trip) per request.
    #[serde(default = "yes")]
    pub keepalive: bool,
    /// Times a failed request (no answer or 5xx) is sent again.
    #[serde(default)]
    pub retries: u32,
}

fn slash() -> String {
    "/".into()
}

fn one() -> u64 {
    1
}

fn yes() -> bool {
    true
}

/// The L2 segment joining the hosts.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// One-way latency (`100us`): the constant, or the mean of `distribution`.
    #[serde(default)]
    pub latency: Option<Spanned<String>>,
    /// `constant` (default), `normal` or `lognormal`.
    #[serde(default)]
    pub distribution: Option<Spanned<String>>,
    /// Standard deviation for `normal` / `lognormal`.
    #[serde(default)]
    pub stddev: Option<Spanned<String>>,
    /// How long the segment's ARP cache keeps an entry before asking again.
    #[serde(default)]
    pub arp_timeout: Option<Spanned<String>>,
    /// Extra uniformly drawn jitter added to each frame, up to this much.
    #[serde(default)]
    pub jitter: Option<Spanned<String>>,
    /// Probability a frame is lost (0..1).
    #[serde(default)]
    pub loss: f64,
}

/// One load-balancer host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Host name (syslog's host field).
    pub name: String,
    /// Its address on the segment.
    pub address: Spanned<String>,
    /// Interface name (default `eth0`).
    #[serde(default = "eth0")]
    pub interface: String,
    /// Path of its haproxy.cfg, relative to the scenario file.
    #[serde(default)]
    pub haproxy: Option<Spanned<String>>,
    /// Path of its keepalived.conf, relative to the scenario file.
    #[serde(default)]
    pub keepalived: Option<Spanned<String>>,
    /// Process ids for log lines.
    #[serde(default)]
    pub pids: Pids,
    /// When its processes start (default 0).
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    /// Which VRRP daemon it runs: `keepalived-1.2`, `keepalived-2.2`
    /// (2.2.7: a stopping master drops its VIPs at once) or `haven`
    /// (2.2's wording, make-before-break); default: as `log_style` says.
    #[serde(default)]
    pub implementation: Option<Spanned<String>>,
    /// CPU time its proxy spends on one full TLS handshake (with its
    /// request) on a `bind ... ssl` frontend; default: what
    /// `bench/proxy.sh tls-close` measured, 165 µs for haven and 302 µs
    /// for haproxy (by `implementation`).
    #[serde(default)]
    pub tls_handshake: Option<Spanned<String>>,
}

fn eth0() -> String {
    "eth0".into()
}

/// Process ids printed in log lines.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pids {
    /// `haproxy[pid]`.
    pub haproxy: u32,
    /// `Keepalived[pid]`.
    pub keepalived: u32,
    /// `Keepalived_vrrp[pid]`.
    pub vrrp: u32,
    /// `Keepalived_healthcheckers[pid]`.
    pub checker: u32,
}

impl Default for Pids {
    fn default() -> Self {
        Self {
            haproxy: 1000,
            keepalived: 2000,
            vrrp: 2002,
            checker: 2001,
        }
    }
}

/// A fault or operator action at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When.
    pub at: Spanned<String>,
    /// On which host (not needed for `heal`).
    #[serde(default)]
    pub host: Option<Spanned<String>>,
    /// What: `kill haproxy`, `start haproxy`, `stop keepalived`,
    /// `kill keepalived`, `start keepalived`, `crash`, `boot`, `link down`,
    /// `link up`, `partition`, `heal`.
    pub action: Spanned<String>,
}

/// How a non-idiom tracked script behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptModel {
    /// Host whose script it is.
    pub host: String,
    /// Script name (`vrrp_script NAME`).
    pub name: String,
    /// Exit status.
    #[serde(default)]
    pub exit: i32,
    /// How long a run takes.
    #[serde(default)]
    pub runtime: Option<Spanned<String>>,
}

/// One assertion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// When it must hold (or the deadline, for `log`).
    pub at: Spanned<String>,
    /// The host that holds the instance's VIPs at `at`.
    #[serde(default)]
    pub vip_owner: Option<String>,
    /// The instance (for `vip_owner` and `state`).
    #[serde(default)]
    pub instance: Option<String>,
    /// `HOST=STATE` the instance is in at `at` (`backup-haproxy=MASTER`).
    #[serde(default)]
    pub state: Option<String>,
    /// `HOST: text` a log line present by `at`.
    #[serde(default)]
    pub log: Option<String>,
    /// Longest time two hosts may be MASTER of the instance at once.
    #[serde(default)]
    pub two_masters_at_most: Option<Spanned<String>>,
    /// Most requests (sent by `at`) that may fail.
    #[serde(default)]
    pub failed_requests_at_most: Option<u64>,
}

/// Why a scenario cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct ScenarioError {
    /// The scenario file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl ScenarioError {
    /// An error at byte `span` of `text`.
    pub fn at(
        file: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, col) = span.map_or((0, 0), |s| line_col(text, s.start));
        Self {
            file: file.to_owned(),
            line,
            col,
            message: message.into(),
        }
    }
}

/// 1-based line and column of byte `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses scenario `text` from file `file`.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    toml::from_str::<Scenario>(text)
        .map_err(|e| ScenarioError::at(file, text, e.span(), e.message().to_owned()))
}

/// Reads a time: `2s`, `1.5s`, `100ms`, `250us`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 9 {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_ns: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let scale: u64 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" => 1_000,
        "ns" => 1,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    let ns = whole
        .checked_mul(scale)?
        .checked_add(frac_ns.checked_mul(scale)? / 1_000_000_000)?;
    Some(Duration::from_nanos(ns))
}

/// A spanned time field, or a located error.
pub fn duration_field(
    file: &str,
    text: &str,
    v: &Spanned<String>,
) -> Result<Duration, ScenarioError> {
    parse_duration(v.get_ref()).ok_or_else(|| {
        ScenarioError::at(
            file,
            text,
            Some(v.span()),
            format!(
                "'{}' is not a time (expected e.g. 2s, 1.5s, 100ms, 250us)",
                v.get_ref()
            ),
        )
    })
}

/// A spanned IPv4 address, or a located error.
pub fn address_field(
    file: &str,
    text: &str,
    v: &Spanned<String>,
) -> Result<Ipv4Addr, ScenarioError> {
    v.get_ref().parse().map_err(|_| {
        ScenarioError::at(
            file,
            text,
            Some(v.span()),
            format!("'{}' is not an IPv4 address", v.get_ref()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("100us"), Some(Duration::from_micros(100)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("19.5"), Some(Duration::from_millis(19_500)));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn typos_are_located() {
        let text = "name = \"x\"\nduration = \"10s\"\nstart = \"2015-04-04 20:00:00\"\n[[host]]\nname = \"a\"\naddres = \"1.2.3.4\"\n";
        let e = parse("s.toml", text).expect_err("unknown field");
        assert_eq!((e.line, e.col), (6, 1), "{e}");
        assert!(e.message.contains("unknown field `addres`"), "{e}");
    }
}
