//! Turns a [`Scenario`] into what the world runs: configs parsed, times
//! and addresses read, actions and expectations checked — every problem a
//! located [`ScenarioError`] before anything runs.

use crate::scenario::{address_field, duration_field, parse, Scenario, ScenarioError};
use haven_core::config::haproxy::{self, HaproxyConfig, ParseOptions};
use haven_core::config::keepalived::{self as kconf, Compat, KeepalivedConfig};
use haven_core::config::NoIncludes;
use haven_core::log::syslog::Civil;
use haven_core::time::Duration;
use std::net::Ipv4Addr;

/// What an event does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// haproxy dies.
    KillHaproxy,
    /// haproxy starts.
    StartHaproxy,
    /// keepalived stops gracefully.
    StopKeepalived,
    /// keepalived is killed (-9).
    KillKeepalived,
    /// keepalived starts.
    StartKeepalived,
    /// keepalived is stopped by a signal (SIGSTOP): a frozen process.
    FreezeKeepalived,
    /// A frozen keepalived resumes (SIGCONT).
    ThawKeepalived,
    /// The one-daemon haven is killed (-9): its proxy and its VRRP half
    /// at once.
    KillHaven,
    /// The host dies.
    Crash,
    /// The host boots (haproxy and keepalived start).
    Boot,
    /// The host's link goes down / up.
    Link(bool),
    /// The segment splits into these groups of hosts.
    Partition(Vec<Vec<usize>>),
    /// Frames are lost with this probability from now on (0: none).
    Loss(f64),
    /// A simulated backend changes behaviour.
    Backend(usize, BackendState),
    /// The segment is whole again.
    Heal,
    /// A runtime-API command to the host's haproxy.
    Api(crate::api::Api),
    /// The host's clock steps by this many µs (its log's times move).
    ClockStep(i64),
}

/// How a simulated backend behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BackendState {
    /// Serves normally.
    Up,
    /// Refuses connections.
    Down,
    /// Accepts nothing, answers nothing.
    Blackhole,
    /// Serves `k` times slower.
    Slow(f64),
    /// Answers 500 with this probability.
    Error(f64),
}

/// A loaded host.
#[derive(Debug, Clone)]
pub struct LoadedHost {
    /// Name.
    pub name: String,
    /// Address.
    pub ip: Ipv4Addr,
    /// Interface.
    pub interface: String,
    /// haproxy.cfg, parsed.
    pub haproxy: Option<HaproxyConfig>,
    /// keepalived.conf, parsed (compat already applied).
    pub keepalived: Option<KeepalivedConfig>,
    /// Process ids.
    pub pids: crate::scenario::Pids,
    /// Start time.
    pub start: Duration,
    /// Exit status and run time of tracked scripts by name; `None` exit = the
    /// built-in "is haproxy running" idiom.
    pub scripts: Vec<(String, Option<i32>, Duration)>,
    /// CPU time its proxy spends on one full TLS handshake and its
    /// request.
    pub tls_handshake: Duration,
}

/// A loaded expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `host` alone holds `instance`'s VIPs at `at`.
    VipOwner { instance: String, host: String },
    /// `instance` on `host` is in `state` at `at`.
    State {
        instance: String,
        host: String,
        state: String,
    },
    /// `host` logged `text` by `at`.
    Log { host: String, text: String },
    /// Never more than `limit` with two MASTERs of `instance`.
    TwoMasters { instance: String, limit: Duration },
    /// At most `max` requests failed.
    FailedRequests { max: u64 },
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Name.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Virtual time to run.
    pub duration: Duration,
    /// Unix seconds of t = 0, and the sub-second part.
    pub start: (i64, Duration),
    /// keepalived `-D`.
    pub log_detail: bool,
    /// haproxy `httplog` lines.
    pub log_requests: bool,
    /// One-way latency model.
    pub latency: crate::net::Latency,
    /// How long the segment's ARP cache keeps an entry.
    pub arp_timeout: Duration,
    /// Extra uniform jitter, up to.
    pub jitter: Duration,
    /// Frame loss probability.
    pub loss: f64,
    /// Hosts.
    pub hosts: Vec<LoadedHost>,
    /// Timeline, in time order (stable).
    pub events: Vec<(Duration, Option<usize>, Action, String)>,
    /// Expectations with their times.
    pub checks: Vec<(Duration, Check, String)>,
    /// Simulated backends.
    pub backends: Vec<crate::traffic::LoadedBackend>,
    /// Simulated clients.
    pub clients: Vec<crate::traffic::LoadedClient>,
    /// Fraction of requests written to `requests.csv`.
    pub requests_sample: f64,
    /// How long haproxy and keepalived take to start, when they do.
    pub start_lag: StartLag,
}

/// How long each program takes from its start to doing anything: none
/// by default.
#[derive(Debug, Clone, Default)]
pub struct StartLag {
    /// haproxy's.
    pub haproxy: Option<crate::traffic::Dist>,
    /// keepalived's.
    pub keepalived: Option<crate::traffic::Dist>,
}

/// Loads scenario `text` (file `file`); `read(path)` returns the text of a
/// config path as written in the scenario (the caller resolves it).
pub fn load(
    file: &str,
    text: &str,
    read: &dyn Fn(&str) -> Result<String, String>,
    style: Option<Compat>,
) -> Result<Loaded, ScenarioError> {
    let s: Scenario = parse(file, text)?;
    let err =
        |span: std::ops::Range<usize>, msg: String| ScenarioError::at(file, text, Some(span), msg);
    let duration = duration_field(file, text, &s.duration)?;
    let start = parse_start(s.start.get_ref()).ok_or_else(|| {
        err(
            s.start.span(),
            format!(
                "'{}' is not a start time (expected YYYY-MM-DD HH:MM:SS[.frac])",
                s.start.get_ref()
            ),
        )
    })?;
    let style = match (&s.log_style, style) {
        (_, Some(c)) => Some(c),
        (None, None) => None,
        (Some(v), None) => Some(match v.get_ref().as_str() {
            "1x" => Compat::V1_2,
            "2x" => Compat::V2_2,
            other => {
                return Err(err(
                    v.span(),
                    format!("log_style '{other}' must be 1x or 2x"),
                ))
            }
        }),
    };
    let mut hosts = Vec::new();
    for h in &s.hosts {
        if hosts.iter().any(|x: &LoadedHost| x.name == h.name) {
            return Err(err(
                h.address.span(),
                format!("host '{}' declared twice", h.name),
            ));
        }
        let ip = address_field(file, text, &h.address)?;
        let haproxy = match &h.haproxy {
            None => None,
            Some(p) => {
                let body = read(p.get_ref()).map_err(|e| err(p.span(), e))?;
                let parsed = haproxy::parse(&[(p.get_ref(), &body)], &ParseOptions::default());
                match parsed.config {
                    Some(c) => Some(c),
                    None => {
                        let first = parsed
                            .diagnostics
                            .errors()
                            .next()
                            .map(|d| d.to_string())
                            .unwrap_or_default();
                        return Err(err(p.span(), format!("haproxy config has errors: {first}")));
                    }
                }
            }
        };
        let keepalived = match &h.keepalived {
            None => None,
            Some(p) => {
                let body = read(p.get_ref()).map_err(|e| err(p.span(), e))?;
                let parsed = kconf::parse(p.get_ref(), &body, &NoIncludes);
                match parsed.config {
                    Some(mut c) => {
                        if let Some(style) = style {
                            c.global.compat = style;
                        }
                        if let Some(name) = &h.implementation {
                            implement(&mut c, name.get_ref()).map_err(|e| err(name.span(), e))?;
                        }
                        Some(c)
                    }
                    None => {
                        let first = parsed
                            .diagnostics
                            .errors()
                            .next()
                            .map(|d| d.to_string())
                            .unwrap_or_default();
                        return Err(err(
                            p.span(),
                            format!("keepalived config has errors: {first}"),
                        ));
                    }
                }
            }
        };
        let mut scripts = Vec::new();
        for sc in keepalived.iter().flat_map(|k| &k.scripts) {
            let model = s
                .scripts
                .iter()
                .find(|m| m.host == h.name && m.name == sc.name);
            let runtime = match model.and_then(|m| m.runtime.as_ref()) {
                Some(r) => duration_field(file, text, r)?,
                None => Duration::from_millis(1),
            };
            let exit = match model {
                Some(m) => Some(m.exit),
                None if haven_core::vrrp::is_haproxy_idiom(&sc.script) => None,
                None => {
                    let span = h.keepalived.as_ref().map_or(0..0, |k| k.span());
                    return Err(err(
                        span,
                        format!(
                            "vrrp_script {} of host {} runs '{}', which the simulator cannot guess: add a [[script]] model (host, name, exit, runtime)",
                            sc.name, h.name, sc.script
                        ),
                    ));
                }
            };
            scripts.push((sc.name.clone(), exit, runtime));
        }
        let start = match &h.start {
            Some(v) => duration_field(file, text, v)?,
            None => Duration::ZERO,
        };
        let haven = h
            .implementation
            .as_ref()
            .is_some_and(|i| i.get_ref() == "haven");
        let tls_handshake = match &h.tls_handshake {
            Some(v) => duration_field(file, text, v)?,
            // bench/proxy.sh tls-close, CPU per request (2 cores, ECDSA
            // P-256, TLS 1.3).
            None if haven => Duration::from_micros(165),
            None => Duration::from_micros(302),
        };
        hosts.push(LoadedHost {
            name: h.name.clone(),
            ip,
            interface: h.interface.clone(),
            haproxy,
            keepalived,
            pids: h.pids,
            start,
            scripts,
            tls_handshake,
        });
    }
    let host_index = |name: &toml::Spanned<String>| {
        hosts
            .iter()
            .position(|h| h.name == *name.get_ref())
            .ok_or_else(|| err(name.span(), format!("no host named '{}'", name.get_ref())))
    };
    let mut backends = Vec::new();
    for b in &s.backends {
        backends.push(crate::traffic::load_backend(file, text, b)?);
    }
    let mut clients = Vec::new();
    for c in &s.clients {
        clients.push(crate::traffic::load_client(file, text, c, read)?);
    }
    let mut events = Vec::new();
    for e in &s.events {
        let at = duration_field(file, text, &e.at)?;
        let act = e.action.get_ref().trim();
        let action = match act {
            "kill haproxy" => Action::KillHaproxy,
            "start haproxy" => Action::StartHaproxy,
            "stop keepalived" => Action::StopKeepalived,
            "kill keepalived" => Action::KillKeepalived,
            "start keepalived" => Action::StartKeepalived,
            "freeze keepalived" => Action::FreezeKeepalived,
            "thaw keepalived" => Action::ThawKeepalived,
            "kill haven" => Action::KillHaven,
            "crash" => Action::Crash,
            "boot" => Action::Boot,
            "link down" => Action::Link(false),
            "link up" => Action::Link(true),
            "heal" => Action::Heal,
            b if b.starts_with("backend ") => {
                let state = match b["backend ".len()..].trim().split_once(' ').unwrap_or((b["backend ".len()..].trim(), "")) {
                    ("up", "") => Some(BackendState::Up),
                    ("down", "") => Some(BackendState::Down),
                    ("blackhole", "") => Some(BackendState::Blackhole),
                    ("slow", k) => k.parse().ok().filter(|k: &f64| *k > 0.0).map(BackendState::Slow),
                    ("error", p) => p.parse().ok().filter(|p: &f64| (0.0..=1.0).contains(p)).map(BackendState::Error),
                    _ => None,
                }
                .ok_or_else(|| err(e.action.span(), format!("'{b}': expected backend up, down, blackhole, slow K or error P")))?;
                let Some(addr) = &e.host else {
                    return Err(err(e.action.span(), format!("'{b}' needs host = the backend's address")));
                };
                let idx = backends.iter().position(|x: &crate::traffic::LoadedBackend| x.addr.to_string() == *addr.get_ref()).ok_or_else(|| {
                    err(addr.span(), format!("no [[backend]] with address '{}'", addr.get_ref()))
                })?;
                Action::Backend(idx, state)
            }
            a if a.starts_with("api ") => {
                let Some(h) = &e.host else {
                    return Err(err(e.action.span(), format!("action '{a}' needs a host")));
                };
                let cfg = hosts[host_index(h)?].haproxy.as_ref().ok_or_else(|| {
                    err(h.span(), format!("host '{}' runs no haproxy", h.get_ref()))
                })?;
                Action::Api(crate::api::parse(&a["api ".len()..], cfg).map_err(|m| err(e.action.span(), m))?)
            }
            c if c.starts_with("clock step ") => {
                let step = c["clock step ".len()..].trim();
                let (sign, magnitude) = match step.strip_prefix('-') {
                    Some(m) => (-1, m),
                    None => (1, step.strip_prefix('+').unwrap_or(step)),
                };
                let d = crate::scenario::parse_duration(magnitude).ok_or_else(|| {
                    err(e.action.span(), format!("'{c}': expected clock step +TIME or -TIME"))
                })?;
                Action::ClockStep(sign * d.as_micros() as i64)
            }
            l if l.starts_with("loss ") => {
                let p: f64 = l["loss ".len()..].trim().parse().ok().filter(|p: &f64| (0.0..=1.0).contains(p)).ok_or_else(|| {
                    err(e.action.span(), format!("'{l}': loss takes a probability between 0 and 1"))
                })?;
                Action::Loss(p)
            }
            p if p.starts_with("partition ") => {
                let mut groups = Vec::new();
                for g in p["partition ".len()..].split('|') {
                    let mut members = Vec::new();
                    for n in g.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        let idx = hosts.iter().position(|h| h.name == n).ok_or_else(|| {
                            err(e.action.span(), format!("no host named '{n}' in partition"))
                        })?;
                        members.push(idx);
                    }
                    groups.push(members);
                }
                Action::Partition(groups)
            }
            other => {
                return Err(err(
                    e.action.span(),
                    format!("unknown action '{other}' (expected kill haproxy, start haproxy, stop keepalived, kill keepalived, start keepalived, freeze keepalived, thaw keepalived, kill haven, crash, boot, link down, link up, partition A|B, heal, loss P, backend up|down|blackhole|slow K|error P, api COMMAND, clock step +T|-T)"),
                ))
            }
        };
        let host = match (&e.host, &action) {
            (_, Action::Partition(_) | Action::Heal | Action::Loss(_) | Action::Backend(..)) => {
                None
            }
            (Some(h), _) => Some(host_index(h)?),
            (None, _) => return Err(err(e.action.span(), format!("action '{act}' needs a host"))),
        };
        events.push((at, host, action, act.to_owned()));
    }
    events.sort_by_key(|(at, ..)| *at);
    let mut checks = Vec::new();
    for x in &s.expects {
        let at = duration_field(file, text, &x.at)?;
        let span = x.at.span();
        let need_instance = || {
            x.instance
                .clone()
                .ok_or_else(|| err(span.clone(), "this expectation needs `instance`".into()))
        };
        let known = |h: &str| hosts.iter().any(|l| l.name == h);
        let (check, label) = if let Some(h) = &x.vip_owner {
            if !known(h) {
                return Err(err(span, format!("no host named '{h}'")));
            }
            let i = need_instance()?;
            (
                Check::VipOwner {
                    instance: i.clone(),
                    host: h.clone(),
                },
                format!("VIP of {i} on {h}"),
            )
        } else if let Some(st) = &x.state {
            let (h, state) = st
                .split_once('=')
                .ok_or_else(|| err(span.clone(), format!("state '{st}' must be HOST=STATE")))?;
            if !known(h) {
                return Err(err(span, format!("no host named '{h}'")));
            }
            let i = need_instance()?;
            (
                Check::State {
                    instance: i.clone(),
                    host: h.into(),
                    state: state.into(),
                },
                format!("{i} on {h} is {state}"),
            )
        } else if let Some(l) = &x.log {
            let (h, line) = l
                .split_once(": ")
                .ok_or_else(|| err(span.clone(), format!("log '{l}' must be 'HOST: text'")))?;
            if !known(h) {
                return Err(err(span, format!("no host named '{h}'")));
            }
            (
                Check::Log {
                    host: h.into(),
                    text: line.into(),
                },
                format!("{h} logged \"{line}\""),
            )
        } else if let Some(d) = &x.two_masters_at_most {
            let limit = duration_field(file, text, d)?;
            let i = need_instance()?;
            (
                Check::TwoMasters {
                    instance: i.clone(),
                    limit,
                },
                format!("two MASTERs of {i} for at most {}", d.get_ref()),
            )
        } else if let Some(max) = x.failed_requests_at_most {
            (
                Check::FailedRequests { max },
                format!("at most {max} failed requests"),
            )
        } else {
            return Err(err(
                span,
                "an [[expect]] needs vip_owner, state, log, two_masters_at_most or failed_requests_at_most".into(),
            ));
        };
        checks.push((at, check, label));
    }
    Ok(Loaded {
        name: s.name.clone(),
        seed: s.seed,
        duration,
        start,
        log_detail: s.log_detail,
        log_requests: s.log_requests,
        latency: latency_model(file, text, &s.network)?,
        arp_timeout: match &s.network.arp_timeout {
            Some(v) => duration_field(file, text, v)?,
            None => Duration::from_secs(60),
        },
        jitter: match &s.network.jitter {
            Some(v) => duration_field(file, text, v)?,
            None => Duration::ZERO,
        },
        loss: s.network.loss.clamp(0.0, 1.0),
        hosts,
        events,
        checks,
        backends,
        clients,
        requests_sample: s.requests_sample.clamp(0.0, 1.0),
        start_lag: StartLag {
            haproxy: s
                .start_lag
                .haproxy
                .as_ref()
                .map(|l| crate::traffic::load_lag(file, text, l))
                .transpose()?,
            keepalived: s
                .start_lag
                .keepalived
                .as_ref()
                .map(|l| crate::traffic::load_lag(file, text, l))
                .transpose()?,
        },
    })
}

/// The segment's latency model.
fn latency_model(
    file: &str,
    text: &str,
    n: &crate::scenario::Network,
) -> Result<crate::net::Latency, ScenarioError> {
    use crate::net::Latency;
    let mean = match &n.latency {
        Some(v) => duration_field(file, text, v)?,
        None => Duration::from_micros(100),
    };
    let stddev = match &n.stddev {
        Some(v) => duration_field(file, text, v)?,
        None => Duration::ZERO,
    };
    Ok(
        match n
            .distribution
            .as_ref()
            .map(|d| (d.get_ref().as_str(), d.span()))
        {
            None | Some(("constant", _)) => Latency::Constant(mean),
            Some(("normal", _)) => Latency::Normal { mean, stddev },
            Some(("lognormal", _)) => Latency::LogNormal { mean, stddev },
            Some((other, span)) => {
                return Err(ScenarioError::at(
                    file,
                    text,
                    Some(span),
                    format!("distribution '{other}' must be constant, normal or lognormal"),
                ))
            }
        },
    )
}

/// `YYYY-MM-DD HH:MM:SS[.frac]` → (Unix seconds, fraction).
fn parse_start(s: &str) -> Option<(i64, Duration)> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let frac = if frac.is_empty() {
        Duration::ZERO
    } else {
        crate::scenario::parse_duration(&format!("0.{frac}"))?
    };
    Some((Civil::to_unix(y, mo as u32, da as u32, h, mi, se), frac))
}

/// Makes `cfg` run as the VRRP daemon `name` runs: `keepalived-1.2`,
/// `keepalived-2.2` (2.2.7's wording; a stopping master drops its VIPs at
/// once) or `haven` (2.2's wording; a stopping master hands them over).
pub(crate) fn implement(cfg: &mut KeepalivedConfig, name: &str) -> Result<(), String> {
    let (compat, handover) = match name {
        "keepalived-1.2" => (Compat::V1_2, false),
        "keepalived-2.2" => (Compat::V2_2, false),
        "haven" => (Compat::V2_2, true),
        other => {
            return Err(format!(
                "implementation '{other}' must be keepalived-1.2, keepalived-2.2 or haven"
            ))
        }
    };
    cfg.global.compat = compat;
    cfg.global.handover_on_stop = handover;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_labels() {
        assert_eq!(
            parse_start("2015-04-04 20:57:31.5").map(|(_, f)| f),
            Some(Duration::from_millis(500))
        );
        assert!(parse_start("2015-13-04 20:57:31").is_none());
    }
}
