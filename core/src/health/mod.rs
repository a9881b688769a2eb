//! Health checks as HAProxy runs them (spec/haproxy.md §2): the health
//! counter with rise/fall, the inter / fastinter / downinter choice,
//! start-up spreading, `spread-checks` jitter, check timeouts, and the log
//! lines of state changes.
//!
//! Probes do I/O, so the driver runs them: [`Checks`] asks for one with
//! [`Output::StartProbe`], the driver reports what happened with
//! [`Checks::handle_probe`], and the deadlines are core's timers.

pub mod agent;
mod counter;
pub mod http_script;
pub mod script;
mod spop;
mod status;
mod tally;

pub use agent::{read_reply, AgentSays};
pub use counter::Counter;
pub use status::{CheckResult, CheckStatus};
pub use tally::CheckTally;

use crate::config::haproxy::{HaproxyConfig, Proxy};
use crate::log::haproxy::{Census, CheckReason, MaintCause, Record};
use crate::proxy::AdminAction;
use crate::sched::Timers;
use crate::time::{Duration, Instant};
use http_script::HttpProbe;
use rand_core::RngCore;
use script::{Script, Verdict};
use std::collections::VecDeque;

/// Threshold below which an interval does not dictate start spreading
/// (`SRV_CHK_INTER_THRES`).
const SPREAD_THRESHOLD: Duration = Duration::from_millis(1000);

/// Identifies a checked server: index into [`Checks`]'s list.
pub type CheckId = usize;

/// The health checks' named timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Time to start the next probe.
    Check(CheckId),
    /// The running probe's current deadline (connect, then response).
    ProbeDeadline(CheckId),
    /// The next check of agent `n`.
    Agent(usize),
}

/// What a probe looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Connect, then close.
    Tcp,
    /// Connect, then run the backend's HTTP check rules
    /// ([`http_script::HttpRun`]) and report their verdict.
    Http(Box<HttpProbe>),
    /// Connect, then run a tcp-check script ([`script::Run`]) and report
    /// its verdict.
    Script(Script),
}

impl Probe {
    /// Where and how the probe first connects. A plain connect sends
    /// nothing: its handshake's last ACK is held, so it resets before
    /// the server's application sees it, as haproxy's does.
    pub fn first_target(&self) -> script::Target {
        match self {
            Self::Tcp => script::Target {
                delayed_ack: true,
                ..script::Target::default()
            },
            Self::Http(http) => http.first_target(),
            Self::Script(script) => script.first_target(),
        }
    }
}

/// What the driver saw while probing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeEvent {
    /// The TCP connection is up.
    Connected,
    /// The connection failed (`info`: e.g. "Connection refused").
    ConnectFailed {
        /// Error text.
        info: String,
    },
    /// The TLS handshake of a check over TLS failed (`info`: "SSL
    /// handshake failure").
    HandshakeFailed {
        /// Error text.
        info: String,
    },
    /// A response arrived.
    Response {
        /// HTTP status.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// The body read (possibly cut).
        body: String,
    },
    /// Garbage, or the server closed without answering.
    Invalid,
    /// A tcp-check script came to its verdict.
    Verdict(Verdict),
    /// A tcp-check script waits at a step: ([`script::Run::whereabouts`]),
    /// the words a timeout there gets.
    Step(Option<String>),
}

/// What the checks ask of their driver, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Start probing `id` (server `server` of backend `backend`).
    StartProbe {
        /// Which check.
        id: CheckId,
        /// Backend index in the config.
        backend: usize,
        /// Server index in the backend.
        server: usize,
        /// What to send.
        probe: Probe,
    },
    /// Give up the running probe of `id` (it timed out).
    AbortProbe {
        /// Which check.
        id: CheckId,
    },
    /// A server became usable (`up`) or not, for the balancer.
    ServerState {
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
        /// Usable now.
        up: bool,
    },
    /// A log line.
    Log(Record),
    /// Ask agent `id` (of server `server` of `backend`) at `addr:port`
    /// (the server's address when `None`), sending `send`, waiting up to
    /// `timeout` for its line.
    StartAgent {
        /// The agent.
        id: usize,
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
        /// `agent-addr`.
        addr: Option<std::net::IpAddr>,
        /// `agent-port`.
        port: u16,
        /// `agent-send`.
        send: Option<String>,
        /// How long the agent may take.
        timeout: Duration,
    },
    /// What an agent said of a server's weight, limit and administrative
    /// state, for the flow (health and logs are done here).
    AgentSays {
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
        /// What it said.
        says: AgentSays,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting { started: Instant },
    Waiting { started: Instant },
}

/// One checked server.
#[derive(Debug, Clone)]
struct Check {
    backend: usize,
    server: usize,
    backend_name: String,
    server_name: String,
    backup: bool,
    counter: Counter,
    inter: Duration,
    fastinter: Option<Duration>,
    downinter: Option<Duration>,
    probe: Probe,
    /// It shakes hands over TLS ([`Connected`](ProbeEvent::Connected)
    /// comes once the handshake is done).
    tls: bool,
    timeout_connect: Option<Duration>,
    timeout_check: Option<Duration>,
    log_health_checks: bool,
    phase: Phase,
    last: Option<CheckResult>,
    tally: CheckTally,
    /// Where a tcp-check script stands, for the words of its timeout.
    step: Option<String>,
}

/// Whether each server of each backend is usable, as the checks see it.
#[derive(Debug, Clone, Default)]
struct Roster {
    /// Per backend: per server (usable, backup, checked).
    backends: Vec<Vec<(bool, bool)>>,
    /// Per backend: its name and its servers' names, for log lines.
    names: Vec<(String, Vec<String>)>,
    /// Per backend: per server, why it is in maintenance.
    maint: Vec<Vec<Maint>>,
}

/// Why a server is in maintenance: forced (runtime API), for want of a
/// DNS answer, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Maint {
    forced: bool,
    dns: bool,
}

impl Maint {
    fn any(self) -> bool {
        self.forced || self.dns
    }
}

/// One server's agent check.
#[derive(Debug, Clone)]
struct Agent {
    backend: usize,
    server: usize,
    inter: Duration,
    port: u16,
    addr: Option<std::net::IpAddr>,
    send: Option<String>,
    timeout: Duration,
    log_health_checks: bool,
}

/// Every health check of one haproxy process.
#[derive(Debug)]
pub struct Checks {
    checks: Vec<Check>,
    agents: Vec<Agent>,
    roster: Roster,
    spread_pct: u32,
    max_spread: Option<Duration>,
    out: VecDeque<Output>,
}

impl Checks {
    /// The checks of every `check` server of `cfg`, in config order.
    pub fn new(cfg: &HaproxyConfig) -> Self {
        let mut checks = Vec::new();
        let mut agents = Vec::new();
        let mut roster = Roster::default();
        for (b, px) in cfg.proxies.iter().enumerate() {
            roster
                .backends
                .push(px.servers.iter().map(|s| (!s.disabled, s.backup)).collect());
            let names = px.servers.iter().map(|s| s.name.clone()).collect();
            roster.names.push((px.name.clone(), names));
            roster.maint.push(vec![Maint::default(); px.servers.len()]);
            if !px.kind.is_backend() {
                continue;
            }
            for (i, s) in px.servers.iter().enumerate().filter(|(_, s)| !s.disabled) {
                let (true, Some(port)) = (s.agent.enabled, s.agent.port) else {
                    continue;
                };
                let inter = s.agent.inter.unwrap_or(s.inter);
                agents.push(Agent {
                    backend: b,
                    server: i,
                    inter,
                    port,
                    addr: s.agent.addr,
                    send: s.agent.send.clone(),
                    timeout: px.timeouts.check.unwrap_or(inter),
                    log_health_checks: px.options.log_health_checks,
                });
            }
            for (i, s) in px
                .servers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.check && !s.disabled)
            {
                checks.push(Check {
                    backend: b,
                    server: i,
                    backend_name: px.name.clone(),
                    server_name: s.name.clone(),
                    backup: s.backup,
                    counter: Counter::new(s.rise, s.fall),
                    inter: s.inter,
                    fastinter: s.fastinter,
                    downinter: s.downinter,
                    probe: probe_of(px, &s.name),
                    tls: s.checks_over_tls(),
                    timeout_connect: px.timeouts.connect,
                    timeout_check: px.timeouts.check,
                    log_health_checks: px.options.log_health_checks,
                    phase: Phase::Idle,
                    last: None,
                    tally: CheckTally::default(),
                    step: None,
                });
            }
        }
        Self {
            checks,
            agents,
            roster,
            spread_pct: cfg.global.spread_checks,
            max_spread: cfg.global.max_spread_checks,
            out: VecDeque::new(),
        }
    }

    /// Number of checked servers.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// True when no server is checked.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Schedules every first check, spread over the smallest interval of at
    /// least one second (haproxy's `start_checks`).
    pub fn start(&mut self, now: Instant, timers: &mut dyn Timers<Timer>) {
        let nbcheck = self.checks.len() as u64;
        let mininter = self
            .checks
            .iter()
            .map(|c| c.interval())
            .filter(|i| *i >= SPREAD_THRESHOLD)
            .min()
            .unwrap_or(Duration::ZERO);
        for (pos, c) in self.checks.iter().enumerate() {
            let mut m = mininter.max(c.interval());
            if let Some(cap) = self.max_spread.filter(|cap| m > *cap) {
                m = cap;
            }
            let offset_ms = m.as_millis() * pos as u64 / nbcheck;
            timers.arm(Timer::Check(pos), now + Duration::from_millis(offset_ms));
        }
        for n in 0..self.agents.len() {
            timers.arm(Timer::Agent(n), now);
        }
    }

    /// A timer of ours fired.
    pub fn handle_timer(
        &mut self,
        now: Instant,
        timer: Timer,
        timers: &mut dyn Timers<Timer>,
        rng: &mut dyn RngCore,
    ) {
        match timer {
            Timer::Check(id) => self.launch(now, id, timers),
            Timer::Agent(n) => {
                let Some(a) = self.agents.get(n) else { return };
                self.out.push_back(Output::StartAgent {
                    id: n,
                    backend: a.backend,
                    server: a.server,
                    addr: a.addr,
                    port: a.port,
                    send: a.send.clone(),
                    timeout: a.timeout,
                });
                timers.arm(Timer::Agent(n), now + a.inter);
            }
            Timer::ProbeDeadline(id) => {
                let status = match self.checks[id].phase {
                    Phase::Connecting { started } => Some((started, CheckStatus::L4Tout)),
                    Phase::Waiting { started } => Some((started, CheckStatus::L7Tout)),
                    Phase::Idle => None,
                };
                if let Some((started, status)) = status {
                    self.out.push_back(Output::AbortProbe { id });
                    let info = self.checks[id]
                        .step
                        .take()
                        .filter(|_| status == CheckStatus::L7Tout);
                    let result = CheckResult {
                        status,
                        code: None,
                        info,
                        duration_ms: ms_since(now, started),
                    };
                    self.finish(now, id, result, timers, rng);
                }
            }
        }
    }

    /// What the driver saw while probing `id`.
    pub fn handle_probe(
        &mut self,
        now: Instant,
        id: CheckId,
        event: ProbeEvent,
        timers: &mut dyn Timers<Timer>,
        rng: &mut dyn RngCore,
    ) {
        let Some(c) = self.checks.get_mut(id) else {
            return;
        };
        if let ProbeEvent::Step(words) = event {
            c.step = words;
            return;
        }
        let result = match (c.phase, event) {
            (Phase::Connecting { started }, ProbeEvent::Connected) => {
                if c.probe == Probe::Tcp {
                    CheckResult {
                        status: match c.tls {
                            true => CheckStatus::L6Ok,
                            false => CheckStatus::L4Ok,
                        },
                        code: None,
                        info: None,
                        duration_ms: ms_since(now, started),
                    }
                } else {
                    c.phase = Phase::Waiting { started };
                    let deadline = match c.timeout_check {
                        Some(t) => now + t,
                        None => started + c.interval(),
                    };
                    timers.arm(Timer::ProbeDeadline(id), deadline);
                    return;
                }
            }
            (Phase::Connecting { started }, ProbeEvent::ConnectFailed { info }) => CheckResult {
                status: CheckStatus::L4Con,
                code: None,
                info: Some(info),
                duration_ms: ms_since(now, started),
            },
            (Phase::Connecting { started }, ProbeEvent::HandshakeFailed { info }) => CheckResult {
                status: CheckStatus::L6Rsp,
                code: None,
                info: Some(info),
                duration_ms: ms_since(now, started),
            },
            (
                Phase::Waiting { started },
                ProbeEvent::Response {
                    status,
                    reason,
                    body,
                },
            ) => {
                let Probe::Http(http) = &c.probe else { return };
                let answer = format!(
                    "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let v = http.judge(answer.as_bytes());
                CheckResult {
                    status: v.status,
                    code: v.code,
                    info: v.info,
                    duration_ms: ms_since(now, started),
                }
            }
            (Phase::Waiting { started }, ProbeEvent::Verdict(v)) => CheckResult {
                status: v.status,
                // A layer-7 verdict without a protocol code logs `code: 0`.
                code: v.code.or(Some(0)),
                info: v.info,
                duration_ms: ms_since(now, started),
            },
            (Phase::Waiting { started }, ProbeEvent::Invalid) => CheckResult {
                status: CheckStatus::L7Rsp,
                code: None,
                info: None,
                duration_ms: ms_since(now, started),
            },
            _ => return,
        };
        timers.cancel(Timer::ProbeDeadline(id));
        self.finish(now, id, result, timers, rng);
    }

    /// The next output, in the order produced.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The counter and last result of check `id` (stats).
    pub fn state(&self, id: CheckId) -> (&Counter, Option<&CheckResult>) {
        (&self.checks[id].counter, self.checks[id].last.as_ref())
    }

    /// How check `id` sees its server, as `http-check send-state` tells
    /// it: `UP`, `UP 1/3` (going down), `DOWN`, `DOWN 1/2` (going up).
    pub fn health_words(&self, id: CheckId) -> String {
        self.checks[id].counter.stats_status()
    }

    /// The failure and downtime counters of check `id` as of `now`.
    pub fn tally(&self, id: CheckId, now: Instant) -> CheckTally {
        self.checks[id].tally.at(now)
    }

    /// The check of server `server` of backend `backend`, if it is checked.
    pub fn id_of(&self, backend: usize, server: usize) -> Option<CheckId> {
        self.checks
            .iter()
            .position(|c| c.backend == backend && c.server == server)
    }

    fn launch(&mut self, now: Instant, id: CheckId, timers: &mut dyn Timers<Timer>) {
        let c = &mut self.checks[id];
        c.phase = Phase::Connecting { started: now };
        c.step = None;
        let interval = c.interval();
        let connect = c.timeout_connect.map_or(interval, |t| t.min(interval));
        timers.arm(Timer::ProbeDeadline(id), now + connect);
        self.out.push_back(Output::StartProbe {
            id,
            backend: c.backend,
            server: c.server,
            probe: c.probe.clone(),
        });
    }

    fn finish(
        &mut self,
        now: Instant,
        id: CheckId,
        result: CheckResult,
        timers: &mut dyn Timers<Timer>,
        rng: &mut dyn RngCore,
    ) {
        let c = &mut self.checks[id];
        c.phase = Phase::Idle;
        let passed = result.status.passed();
        let before = c.counter.clone();
        let flipped = c.counter.observe(passed);
        c.tally.observe(now, passed, before.is_up(), flipped);
        let reason = CheckReason {
            description: result.status.description(),
            code: result.code.filter(|_| result.status.is_l7_with_code()),
            info: result.info.clone(),
            duration_ms: result.duration_ms,
        };
        // haproxy logs a check that moved the health counter or whose
        // status differs from the last one (the first always does).
        let new_status = c.last.as_ref().map(|l| l.status) != Some(result.status);
        if c.log_health_checks && (c.counter != before || new_status) {
            self.out.push_back(Output::Log(Record::HealthCheck {
                agent: false,
                backend: c.backend_name.clone(),
                server: c.server_name.clone(),
                backup: c.backup,
                passed,
                reason: reason.clone(),
                status: c.counter.display(),
            }));
        }
        c.last = Some(result);
        let interval = c.interval();
        let (backend, server) = (c.backend, c.server);
        let logged_reason = (!c.log_health_checks).then_some(reason);
        if let Some(up) = flipped {
            self.transition(backend, server, up, logged_reason);
        }
        let next = self.next_interval(interval, rng);
        timers.arm(Timer::Check(id), now + next);
    }

    /// The wait before the next check: the interval, moved by up to
    /// ±`spread-checks`% drawn uniformly from `rng`.
    fn next_interval(&self, interval: Duration, rng: &mut dyn RngCore) -> Duration {
        if self.spread_pct == 0 {
            return interval;
        }
        let rv = interval.as_millis() * u64::from(self.spread_pct) / 100;
        let cut = (2 * rv) * u64::from(rng.next_u32()) / u64::from(u32::MAX);
        (interval + Duration::from_millis(rv)).saturating_sub(Duration::from_millis(cut))
    }

    /// A server named `name` joins `backend` at run time, in forced
    /// maintenance and unchecked (haproxy leaves a dynamic server's check
    /// off until `enable health`).
    pub fn add_server(&mut self, backend: usize, name: &str, backup: bool) {
        let (Some(servers), Some((_, names)), Some(maint)) = (
            self.roster.backends.get_mut(backend),
            self.roster.names.get_mut(backend),
            self.roster.maint.get_mut(backend),
        ) else {
            return;
        };
        servers.push((true, backup));
        names.push(name.to_owned());
        maint.push(Maint {
            forced: true,
            dns: false,
        });
    }

    /// Server `server` of `backend` enters (`on`) or leaves forced
    /// maintenance (runtime API): haproxy runs no check on it meanwhile,
    /// logs both moves, and a server leaving it with checks is UP again
    /// until a check says otherwise.
    pub fn set_maint(
        &mut self,
        now: Instant,
        backend: usize,
        server: usize,
        on: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        self.maintain(now, (backend, server), MaintCause::Forced, on, timers);
    }

    /// Server `server` of `backend` enters (`on`) or leaves maintenance
    /// for want of a DNS answer (`cause` says why, or for which name it
    /// came back): as forced maintenance, with haproxy's DNS wording; a
    /// server in both kinds stays in until both end.
    pub fn set_dns_maint(
        &mut self,
        now: Instant,
        (backend, server): (usize, usize),
        cause: MaintCause,
        timers: &mut dyn Timers<Timer>,
    ) {
        let on = matches!(cause, MaintCause::DnsLost(_));
        self.maintain(now, (backend, server), cause, on, timers);
    }

    /// Agent `n` answered `reply` (`None`: no line came): its weight,
    /// limit and administrative words go to the flow, its maintenance and
    /// health words take effect here, logged as haproxy logs them.
    pub fn handle_agent(
        &mut self,
        now: Instant,
        n: usize,
        reply: Option<String>,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(a) = self.agents.get(n).cloned() else {
            return;
        };
        let Some(reply) = reply else {
            return;
        };
        let says = read_reply(&reply);
        let at = (a.backend, a.server);
        match says.admin {
            Some(AdminAction::Maint) => self.maintain(now, at, MaintCause::Forced, true, timers),
            Some(AdminAction::Ready) => self.maintain(now, at, MaintCause::Forced, false, timers),
            _ => {}
        }
        if let Some((up, word)) = &says.health {
            let reason = CheckReason {
                description: if *up {
                    "Layer7 check passed"
                } else {
                    "Layer7 wrong status"
                },
                code: Some(0),
                info: Some(format!("via agent : {word}")),
                duration_ms: 0,
            };
            self.agent_health(at, *up, &reason);
            if a.log_health_checks {
                let (backend, servers) = &self.roster.names[a.backend];
                let record = Record::HealthCheck {
                    agent: true,
                    backend: backend.clone(),
                    server: servers[a.server].clone(),
                    backup: self.roster.backends[a.backend][a.server].1,
                    passed: *up,
                    reason,
                    status: if *up { "1/1 UP" } else { "0/1 DOWN" }.to_owned(),
                };
                self.out.push_back(Output::Log(record));
            }
        }
        self.out.push_back(Output::AgentSays {
            backend: a.backend,
            server: a.server,
            says,
        });
    }

    /// An agent says server `at` is up or down: a change is logged as a
    /// check's, unless the server is in maintenance (then it only counts).
    fn agent_health(&mut self, (backend, server): (usize, usize), up: bool, reason: &CheckReason) {
        if self.roster.backends[backend][server].0 == up {
            return;
        }
        if self.roster.maint[backend][server].any() {
            self.roster.backends[backend][server].0 = up;
            self.out.push_back(Output::ServerState {
                backend,
                server,
                up,
            });
            return;
        }
        self.transition(backend, server, up, Some(reason.clone()));
    }

    /// Server `server` of `backend` starts without an address (`init-addr
    /// none`): in maintenance, unchecked, and unlogged, as in haproxy.
    pub fn start_unresolved(
        &mut self,
        (backend, server): (usize, usize),
        timers: &mut dyn Timers<Timer>,
    ) {
        if let Some(m) = self
            .roster
            .maint
            .get_mut(backend)
            .and_then(|m| m.get_mut(server))
        {
            m.dns = true;
        }
        if let Some(id) = self.check_of(backend, server) {
            timers.cancel(Timer::Check(id));
        }
    }

    /// The check of server `server` of `backend`, if it is checked.
    fn check_of(&self, backend: usize, server: usize) -> Option<CheckId> {
        self.checks
            .iter()
            .position(|c| c.backend == backend && c.server == server)
    }

    fn maintain(
        &mut self,
        now: Instant,
        (backend, server): (usize, usize),
        cause: MaintCause,
        on: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(current) = self.roster.maint.get(backend).and_then(|m| m.get(server)) else {
            return;
        };
        let mut next = *current;
        match cause {
            MaintCause::Forced => next.forced = on,
            _ => next.dns = on,
        }
        if next.any() == current.any() {
            self.roster.maint[backend][server] = next;
            return;
        }
        let had_any = self.roster.usable_count(backend) > 0;
        self.roster.maint[backend][server] = next;
        if let Some(id) = self.check_of(backend, server) {
            timers.cancel(Timer::Check(id));
            timers.cancel(Timer::ProbeDeadline(id));
            let c = &mut self.checks[id];
            if c.phase != Phase::Idle {
                self.out.push_back(Output::AbortProbe { id });
            }
            c.phase = Phase::Idle;
            if !on {
                let (rise, fall, _) = c.counter.values();
                c.counter = Counter::new(rise, fall);
                self.roster.backends[backend][server].0 = true;
                self.out.push_back(Output::ServerState {
                    backend,
                    server,
                    up: true,
                });
                timers.arm(Timer::Check(id), now + c.interval());
            }
        }
        let (active, backup) = self.roster.counts(backend);
        let (name, servers) = &self.roster.names[backend];
        let back_by_dns = matches!(cause, MaintCause::DnsBack(_));
        let record = Record::Maintenance {
            backend: name.clone(),
            server: servers[server].clone(),
            backup: self.roster.backends[backend][server].1,
            entering: on,
            cause,
            census: Census {
                active,
                backup,
                running_on_backup: active == 0 && backup > 0,
                ..Census::default()
            },
        };
        let name = name.clone();
        let ready = Record::DnsReady {
            backend: name.clone(),
            server: servers[server].clone(),
            backup: self.roster.backends[backend][server].1,
        };
        self.out.push_back(Output::Log(record));
        if back_by_dns {
            self.out.push_back(Output::Log(ready));
        }
        if on && had_any && active + backup == 0 {
            self.out
                .push_back(Output::Log(Record::NoServerAvailable { backend: name }));
        }
    }

    fn transition(&mut self, backend: usize, server: usize, up: bool, reason: Option<CheckReason>) {
        let had_any = self.roster.usable_count(backend) > 0;
        self.roster.backends[backend][server].0 = up;
        let (active, backup) = self.roster.counts(backend);
        let census = Census {
            active,
            backup,
            running_on_backup: active == 0 && backup > 0,
            ..Census::default()
        };
        let (name, servers) = &self.roster.names[backend];
        let (b, s) = (name.clone(), servers[server].clone());
        let bk = self.roster.backends[backend][server].1;
        self.out.push_back(Output::ServerState {
            backend,
            server,
            up,
        });
        let rec = if up {
            Record::ServerUp {
                backend: b.clone(),
                server: s,
                backup: bk,
                reason,
                census,
            }
        } else {
            Record::ServerDown {
                backend: b.clone(),
                server: s,
                backup: bk,
                reason,
                census,
            }
        };
        self.out.push_back(Output::Log(rec));
        if !up && had_any && active + backup == 0 {
            self.out
                .push_back(Output::Log(Record::NoServerAvailable { backend: b }));
        }
    }
}

impl Check {
    /// haproxy's `srv_getinter`: `inter` when fully up, `downinter` when
    /// fully down, `fastinter` in between (start-up included).
    fn interval(&self) -> Duration {
        if self.counter.is_full_up() {
            self.inter
        } else if self.counter.is_full_down() {
            self.downinter.unwrap_or(self.inter)
        } else {
            self.fastinter.unwrap_or(self.inter)
        }
    }
}

impl Roster {
    /// Servers that take traffic: up and not in maintenance; active, backup.
    fn counts(&self, backend: usize) -> (u32, u32) {
        let servers = self.backends[backend].iter().zip(&self.maint[backend]);
        let usable = servers.filter(|((up, _), maint)| *up && !maint.any());
        let (backup, active): (Vec<_>, Vec<_>) = usable.partition(|((_, backup), _)| *backup);
        (active.len() as u32, backup.len() as u32)
    }

    fn usable_count(&self, backend: usize) -> u32 {
        let (a, b) = self.counts(backend);
        a + b
    }
}

/// What a check of server `server` of `px` does: HTTP, a tcp-check
/// script, or a plain connect.
fn probe_of(px: &Proxy, server: &str) -> Probe {
    if let Some(h) = &px.http_check {
        return Probe::Http(Box::new(HttpProbe {
            rules: h.rules.clone(),
            backend: px.name.clone(),
            server: server.to_owned(),
            send_state: px.options.http_check_send_state,
            state: None,
        }));
    }
    px.tcp_check
        .as_ref()
        .and_then(|c| Script::of(c, &px.tcp_check_rules))
        .map_or(Probe::Tcp, Probe::Script)
}

fn ms_since(now: Instant, started: Instant) -> u64 {
    now.saturating_duration_since(started).as_millis()
}
