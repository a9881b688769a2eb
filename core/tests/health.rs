//! Health-check timelines at exact virtual times (spec/haproxy.md §2):
//! core's `Checks` against fake servers that answer probes at once.

use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::health::{Checks, Output, Probe, ProbeEvent, Timer};
use haven_core::sched::Scheduler;
use haven_core::time::{Duration, Instant};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How a fake server answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    Refuse,
    Status(u16),
    Hang,
}

struct Bench {
    checks: Checks,
    sched: Scheduler<Timer>,
    rng: ChaCha8Rng,
    now: Instant,
    /// Answer per (backend, server).
    answers: Vec<((usize, usize), Answer)>,
    log: Vec<(Instant, String)>,
    probes: Vec<(Instant, usize)>,
    states: Vec<(Instant, usize, bool)>,
    /// What the agents answer.
    agent_line: Option<&'static str>,
    /// What the agents said, for the flow.
    said: Vec<haven_core::health::AgentSays>,
}

fn ms(v: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(v)
}

impl Bench {
    fn new(cfg: &str) -> Self {
        let parsed = parse(&[("t.cfg", cfg)], &ParseOptions::default());
        let cfg = parsed
            .config
            .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
        let mut b = Self {
            checks: Checks::new(&cfg),
            sched: Scheduler::new(),
            rng: ChaCha8Rng::seed_from_u64(7),
            now: Instant::ZERO,
            answers: Vec::new(),
            log: Vec::new(),
            probes: Vec::new(),
            states: Vec::new(),
            agent_line: None,
            said: Vec::new(),
        };
        b.checks.start(Instant::ZERO, &mut b.sched);
        b.drain();
        b
    }

    fn answer(&mut self, backend: usize, server: usize, a: Answer) {
        self.answers.retain(|(k, _)| *k != (backend, server));
        self.answers.push(((backend, server), a));
    }

    fn run_until(&mut self, t: Instant) {
        while let Some((at, timer)) = self.sched.pop_due(t) {
            self.now = at;
            self.checks
                .handle_timer(at, timer, &mut self.sched, &mut self.rng);
            self.drain();
        }
        self.now = t;
    }

    fn drain(&mut self) {
        while let Some(o) = self.checks.poll_output() {
            match o {
                Output::StartProbe {
                    id,
                    backend,
                    server,
                    probe,
                } => {
                    self.probes.push((self.now, id));
                    let a = self
                        .answers
                        .iter()
                        .find(|(k, _)| *k == (backend, server))
                        .map_or(Answer::Ok, |(_, a)| *a);
                    let events = match (a, &probe) {
                        (Answer::Refuse, _) => vec![ProbeEvent::ConnectFailed {
                            info: "Connection refused".into(),
                        }],
                        (Answer::Hang, _) => vec![ProbeEvent::Connected],
                        (_, Probe::Tcp) => vec![ProbeEvent::Connected],
                        (Answer::Ok, _) => vec![ProbeEvent::Connected, response(200, "OK")],
                        (Answer::Status(s), _) => {
                            vec![ProbeEvent::Connected, response(s, reason(s))]
                        }
                    };
                    for e in events {
                        self.checks
                            .handle_probe(self.now, id, e, &mut self.sched, &mut self.rng);
                    }
                }
                Output::ServerState { server, up, .. } => self.states.push((self.now, server, up)),
                Output::Log(r) => self.log.push((self.now, r.text())),
                Output::AbortProbe { .. } => {}
                Output::StartAgent { id, .. } => {
                    let line = self.agent_line.map(str::to_owned);
                    self.checks
                        .handle_agent(self.now, id, line, &mut self.sched);
                }
                Output::AgentSays { says, .. } => self.said.push(says),
            }
        }
    }
}

fn response(status: u16, reason: &str) -> ProbeEvent {
    ProbeEvent::Response {
        status,
        reason: reason.into(),
        body: String::new(),
    }
}

fn reason(s: u16) -> &'static str {
    match s {
        404 => "Not Found",
        500 => "Internal Server Error",
        302 => "Found",
        _ => "OK",
    }
}

const DEFAULTS: &str =
    "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n";

// Input: one TCP-checked server (inter 2s, fastinter 300ms, downinter 3s,
// rise 2, fall 3, log-health-checks) refusing from 10 s, back at 17 s.
// Output: failures 300 ms apart, DOWN at 10.6 s, checks every 3 s while
// DOWN, UP after two passes 300 ms apart; the lines haproxy prints.
#[test]
fn inter_fastinter_downinter_timeline_with_log_health_checks() {
    let mut b = Bench::new(&format!(
        "{DEFAULTS}backend be\n  option log-health-checks\n  server s1 10.0.0.1:80 check inter 2s fastinter 300ms downinter 3s rise 2 fall 3\n"
    ));
    b.run_until(ms(9_999));
    b.answer(0, 0, Answer::Refuse);
    b.run_until(ms(17_000));
    b.answer(0, 0, Answer::Ok);
    b.run_until(ms(22_000));
    let times: Vec<u64> = b
        .probes
        .iter()
        .map(|(t, _)| t.as_nanos() / 1_000_000)
        .collect();
    assert_eq!(
        times,
        [0, 2000, 4000, 6000, 8000, 10000, 10300, 10600, 13600, 16600, 19600, 19900, 21900]
    );
    let lines: Vec<(u64, &str)> = b
        .log
        .iter()
        .map(|(t, l)| (t.as_nanos() / 1_000_000, l.as_str()))
        .collect();
    let refused =
        "reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms";
    assert_eq!(
        lines,
        [
            (0, "Health check for server be/s1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 3/3 UP."),
            (10000, &*format!("Health check for server be/s1 failed, {refused}, status: 2/3 UP.")),
            (10300, &*format!("Health check for server be/s1 failed, {refused}, status: 1/3 UP.")),
            (10600, &*format!("Health check for server be/s1 failed, {refused}, status: 0/2 DOWN.")),
            (10600, "Server be/s1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."),
            (10600, "backend be has no server available!"),
            (19600, "Health check for server be/s1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 1/2 DOWN."),
            (19900, "Health check for server be/s1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 3/3 UP."),
            (19900, "Server be/s1 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."),
        ]
    );
    assert_eq!(b.states, [(ms(10_600), 0, false), (ms(19_900), 0, true)]);
}

// Input: the book's server_www (httpchk GET /index.html, inter 2000, rise 2,
// fall 3) with two servers; webapp1 answers 404 from 5 s.
// Output: webapp1 was fully up, so three failures at the inter spacing
// (6, 8, 10 s), then DOWN in haproxy's words (reason, code and info of the
// last check).
#[test]
fn http_check_wrong_status_without_log_health_checks() {
    let mut b = Bench::new(&format!(
        "{DEFAULTS}backend server_www\n  option httpchk GET /index.html\n  server webapp1 10.0.0.1:80 weight 6 check inter 2000 rise 2 fall 3\n  server webapp2 10.0.0.2:80 weight 6 check inter 2000 rise 2 fall 3\n"
    ));
    b.run_until(ms(4_999));
    b.answer(0, 0, Answer::Status(404));
    b.run_until(ms(12_000));
    assert_eq!(
        b.log,
        [(ms(10_000), "Server server_www/webapp1 is DOWN, reason: Layer7 wrong status, code: 404, info: \"Not Found\", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".to_owned())]
    );
    // Start-up spreading: webapp2's first check is half an interval later.
    let first: Vec<(u64, usize)> = b
        .probes
        .iter()
        .take(2)
        .map(|(t, id)| (t.as_nanos() / 1_000_000, *id))
        .collect();
    assert_eq!(first, [(0, 0), (1000, 1)]);
}

// Input: a server that accepts but never answers; timeout check 1s,
// timeout connect 5s, inter 2s.
// Output: L7TOUT after the check timeout; at start-up one failure is DOWN.
#[test]
fn hanging_server_times_out_at_layer7() {
    let mut b = Bench::new(&format!(
        "{DEFAULTS}  timeout check 1s\nbackend be\n  option httpchk\n  server hang 10.0.0.1:80 check inter 2s\n"
    ));
    b.answer(0, 0, Answer::Hang);
    b.run_until(ms(1_500));
    assert_eq!(
        b.log,
        [
            (ms(1_000), "Server be/hang is DOWN, reason: Layer7 timeout, check duration: 1000ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".to_owned()),
            (ms(1_000), "backend be has no server available!".to_owned()),
        ]
    );
}

// Input: active server a and backup b; a is refused.
// Output: "Running on backup." in the DOWN line; no "no server available".
#[test]
fn backup_takes_over_in_the_log_line() {
    let mut b = Bench::new(&format!(
        "{DEFAULTS}backend bk\n  server a 10.0.0.1:80 check\n  server b 10.0.0.2:80 check backup\n"
    ));
    b.answer(0, 0, Answer::Refuse);
    b.run_until(ms(100));
    assert_eq!(
        b.log,
        [(ms(0), "Server bk/a is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.".to_owned())]
    );
}

// Input: spread-checks 10 with a seeded RNG.
// Output: every gap between checks within ±10% of inter, not all equal,
// and the same seed gives the same schedule.
#[test]
fn spread_checks_jitter_is_bounded_and_seeded() {
    let cfg = format!(
        "global\n  spread-checks 10\n{DEFAULTS}backend be\n  server s 10.0.0.1:80 check inter 2s\n"
    );
    let run = || {
        let mut b = Bench::new(&cfg);
        b.run_until(ms(60_000));
        b.probes
            .iter()
            .map(|(t, _)| t.as_nanos())
            .collect::<Vec<u64>>()
    };
    let a = run();
    assert_eq!(a, run(), "deterministic for a seed");
    let gaps: Vec<u64> = a.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
    assert!(gaps.iter().all(|g| (1800..=2200).contains(g)), "{gaps:?}");
    assert!(gaps.iter().any(|g| *g != gaps[0]), "{gaps:?}");
}

// Input: one checked server (inter 200ms) put in maintenance at 1 s
// (`disable server`), taken out at 3 s (`enable server`), refusing
// connections meanwhile.
// Output: haproxy's two lines (going DOWN for maintenance, then no
// server available), no check at all while in maintenance, then UP/READY
// (leaving forced maintenance) and checks again from 3.2 s.
#[test]
fn maintenance_suspends_checks_and_is_logged() {
    let mut b = Bench::new(&format!(
        "{DEFAULTS}backend be\n  server s1 10.0.0.1:80 check inter 200ms rise 1 fall 1\n"
    ));
    b.run_until(ms(1_000));
    let before = b.probes.len();
    b.answer(0, 0, Answer::Refuse);
    b.checks.set_maint(ms(1_000), 0, 0, true, &mut b.sched);
    b.drain();
    b.run_until(ms(3_000));
    assert_eq!(b.probes.len(), before, "no check in maintenance");
    b.answer(0, 0, Answer::Ok);
    b.checks.set_maint(ms(3_000), 0, 0, false, &mut b.sched);
    b.drain();
    b.run_until(ms(3_300));
    assert!(b.probes.iter().any(|(t, _)| *t == ms(3_200)));
    let lines: Vec<&str> = b.log.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "Server be/s1 is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
            "backend be has no server available!",
            "Server be/s1 is UP/READY (leaving forced maintenance).",
        ]
    );
}

// Input: a server with an agent check only (`agent-inter 100ms`,
// `option log-health-checks`), whose agent answers `75%,maxconn:30,maint,
// down`, as in haproxy's agent-check reg-test.
// Output: haproxy 2.6.12's lines in its order (maintenance, no server
// left, the agent check's own line), the server down, and the weight and
// limit handed to the flow.
#[test]
fn an_agent_line_sets_maintenance_health_weight_and_limit() {
    let mut b = Bench::new("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nbackend be1\n  option log-health-checks\n  server srv 127.0.0.1:80 weight 100 agent-check agent-port 9 agent-inter 100ms\n");
    b.agent_line = Some("75%,maxconn:30,maint,down\n");
    b.run_until(ms(0));
    let lines: Vec<&str> = b.log.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "Server be1/srv is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
            "backend be1 has no server available!",
            "Agent check for server be1/srv failed, reason: Layer7 wrong status, code: 0, info: \"via agent : down\", check duration: 0ms, status: 0/1 DOWN.",
        ]
    );
    assert_eq!(b.states, [(ms(0), 0, false)]);
    assert_eq!(b.said[0].weight, Some(75));
    assert_eq!(b.said[0].maxconn, Some(30));
    b.run_until(ms(250));
    assert_eq!(b.said.len(), 3, "every agent-inter");
}
