//! Request decisions (spec/haproxy.md §4) at exact virtual times: which
//! servers were tried, in order, the final status and termination state.

use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::proxy::{Flow, Outcome, Output, ServerFailure, StreamId, Timer};
use haven_core::route::RequestHead;
use haven_core::sample::HeaderView;
use haven_core::sched::Scheduler;
use haven_core::time::{Duration, Instant};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// How a fake server behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// Accepts and answers 200 after this many ms.
    Ok(u64),
    /// Refuses connections at once.
    Refuse,
    /// Accepts, never answers.
    Hang,
    /// Never completes the connection.
    Blackhole,
    /// Accepts, then fails the request after 1 ms.
    Fails(ServerFailure),
    /// Accepts and answers this status after 1 ms.
    Status(u16),
    /// An idle pooled connection, counted as connected at once, that the
    /// server had let go; its replacement is refused after 1 ms.
    LetGo,
}

struct Bench {
    flow: Flow,
    sched: Scheduler<Timer>,
    servers: Vec<Server>,
    /// Pending fake-server events: (time, seq) -> (stream, what).
    events: BTreeMap<(Instant, u64), (StreamId, Ev)>,
    seq: u64,
    now: Instant,
    connects: Vec<(Instant, StreamId, usize)>,
    done: BTreeMap<StreamId, (Instant, Outcome)>,
}

#[derive(Clone, Copy)]
enum Ev {
    Connected,
    Refused,
    Failed(ServerFailure),
    Response(u16),
    Done,
}

fn ms(v: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(v)
}

impl Bench {
    fn new(backend: &str, servers: Vec<Server>) -> Self {
        let text = format!(
            "defaults\n  mode http\n  retries 3\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend f\n  bind :80\n  default_backend b\nbackend b\n{backend}"
        );
        let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
        let cfg = parsed
            .config
            .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
        let flow = Flow::new(&cfg, 1);
        Self {
            flow,
            sched: Scheduler::new(),
            servers,
            events: BTreeMap::new(),
            seq: 0,
            now: Instant::ZERO,
            connects: Vec::new(),
            done: BTreeMap::new(),
        }
    }

    fn request(&mut self, id: StreamId, client: [u8; 4]) {
        let head = RequestHead {
            method: "GET",
            uri: "/",
            headers: HeaderView::Pairs(&[("Host", "x")]),
            client: None,
            payload: &[],
            around: Default::default(),
        };
        let now = self.now;
        self.flow.handle_request(
            now,
            id,
            0,
            &head,
            IpAddr::V4(Ipv4Addr::from(client)),
            &mut self.sched,
        );
        self.drain();
    }

    fn client_closes(&mut self, id: StreamId) {
        let now = self.now;
        self.flow.handle_client_closed(now, id, &mut self.sched);
        self.drain();
    }

    fn push(&mut self, at: Instant, id: StreamId, ev: Ev) {
        self.seq += 1;
        self.events.insert((at, self.seq), (id, ev));
    }

    fn drain(&mut self) {
        while let Some(o) = self.flow.poll_output() {
            match o {
                Output::Connect { id, server, .. } => {
                    self.connects.push((self.now, id, server));
                    match self.servers[server] {
                        Server::Refuse => self.push(self.now, id, Ev::Refused),
                        Server::Hang => self.push(self.now, id, Ev::Connected),
                        Server::Blackhole => {}
                        Server::Ok(d) => {
                            self.push(self.now, id, Ev::Connected);
                            self.push(self.now + Duration::from_millis(d), id, Ev::Response(200));
                        }
                        Server::Fails(failure) => {
                            self.push(self.now, id, Ev::Connected);
                            self.push(self.now + Duration::from_millis(1), id, Ev::Failed(failure));
                        }
                        Server::LetGo => {
                            self.push(self.now, id, Ev::Connected);
                            self.push(self.now + Duration::from_millis(1), id, Ev::Refused);
                        }
                        Server::Status(code) => {
                            self.push(self.now, id, Ev::Connected);
                            self.push(self.now + Duration::from_millis(1), id, Ev::Response(code));
                        }
                    }
                }
                Output::Finish {
                    id,
                    outcome,
                    generated,
                    ..
                } => {
                    if !generated && outcome.status != 0 {
                        self.push(self.now, id, Ev::Done);
                    }
                    self.done.insert(id, (self.now, outcome));
                }
                Output::Abort { id } => self.events.retain(|_, (s, _)| *s != id),
                // No test config has a stats page.
                Output::Stats { .. } => unreachable!("no stats page in these configs"),
            }
        }
    }

    fn run_until(&mut self, t: Instant) {
        loop {
            let ev = self
                .events
                .keys()
                .next()
                .copied()
                .filter(|(at, _)| *at <= t);
            let tm = self.sched.next_deadline().filter(|at| *at <= t);
            match (ev, tm) {
                (Some((at, seq)), tm) if tm.is_none_or(|tm| at <= tm) => {
                    self.now = at;
                    let (id, e) = self.events.remove(&(at, seq)).expect("present");
                    match e {
                        Ev::Connected => self.flow.handle_connected(at, id, &mut self.sched),
                        Ev::Refused => self.flow.handle_connect_failed(at, id, &mut self.sched),
                        Ev::Failed(f) => self.flow.handle_server_failed(at, id, f, &mut self.sched),
                        Ev::Response(code) => self.flow.handle_response(
                            at,
                            id,
                            (code, Default::default(), 0),
                            &mut self.sched,
                        ),
                        Ev::Done => self.flow.handle_done(at, id, &mut self.sched),
                    }
                }
                (_, Some(_)) => {
                    let (at, timer) = self.sched.pop_due(t).expect("due");
                    self.now = at;
                    self.flow.handle_timer(at, timer, &mut self.sched);
                }
                (None, None) => break,
                (Some(_), None) => unreachable!("handled above"),
            }
            self.drain();
        }
        self.now = t;
    }

    fn outcome(&self, id: StreamId) -> (Instant, &Outcome) {
        let (t, o) = self
            .done
            .get(&id)
            .unwrap_or_else(|| panic!("request {id} not finished"));
        (*t, o)
    }
}

const DEAD: Server = Server::Refuse;
const OK: Server = Server::Ok(1);

// Input: roundrobin {dead, ok}, retries 3, option redispatch.
// Output: dead then ok at once (immediate redispatch), 200, retries "+1".
#[test]
fn roundrobin_redispatches_at_once() {
    let mut b = Bench::new(
        "  option redispatch\n  server dead 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![DEAD, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    let (t, o) = b.outcome(1);
    assert_eq!(
        (
            o.status,
            o.termination,
            o.tried.clone(),
            o.retries,
            o.redispatched
        ),
        (200, "--", vec![0, 1], 1, true)
    );
    assert_eq!(t, ms(1));
}

// Input: leastconn, same servers: the same immediate redispatch.
#[test]
fn leastconn_redispatches_at_once() {
    let mut b = Bench::new("  balance leastconn\n  option redispatch\n  server dead 10.0.0.1:80\n  server ok 10.0.0.2:80\n", vec![DEAD, OK]);
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(b.outcome(1).1.tried, [0, 1]);
}

// Input: roundrobin {dead, ok}, retries 2, no redispatch.
// Output: three attempts on dead, 1 s apart, 503 SC at 2.0 s; the next
// request goes to ok.
#[test]
fn without_redispatch_retries_the_same_server_after_the_turnaround() {
    let mut b = Bench::new(
        "  retries 2\n  server dead 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![DEAD, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(5_000));
    let (t, o) = b.outcome(1);
    assert_eq!(
        (
            o.status,
            o.termination,
            o.tried.clone(),
            o.retries,
            o.redispatched
        ),
        (503, "SC", vec![0, 0, 0], 2, false)
    );
    assert_eq!(t, ms(2_000));
    let times: Vec<Instant> = b.connects.iter().map(|c| c.0).collect();
    assert_eq!(times, [ms(0), ms(1_000), ms(2_000)]);
    b.request(2, [127, 0, 0, 1]);
    b.run_until(ms(6_000));
    assert_eq!(b.outcome(2).1.tried, [1]);
}

// Input: one refused server, retries 3.
// Output: 503 after 3.0 s, retries 3.
#[test]
fn single_dead_server_uses_every_retry() {
    let mut b = Bench::new(
        "  option redispatch\n  server dead 10.0.0.1:80\n",
        vec![DEAD],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(10_000));
    let (t, o) = b.outcome(1);
    assert_eq!(
        (t, o.status, o.termination, o.retries, o.tried.len()),
        (ms(3_000), 503, "SC", 3, 4)
    );
}

// Input: balance source; 127.0.0.1 hashes to the dead server; redispatch.
// Output: map-based hashing ignores the server to avoid: four attempts on
// it, the last a redispatch without delay: 503 after 2 s.
#[test]
fn map_based_source_redispatches_to_the_same_server() {
    let mut b = Bench::new(
        "  balance source\n  option redispatch\n  server s1 10.0.0.1:80\n  server s2 10.0.0.2:80\n  server dead 10.0.0.3:80\n",
        vec![OK, OK, DEAD],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(10_000));
    let (t, o) = b.outcome(1);
    assert_eq!(
        (t, o.status, o.tried.clone(), o.retries, o.redispatched),
        (ms(2_000), 503, vec![2, 2, 2, 2], 3, true)
    );
}

// Input: maxconn 1 and timeout queue 1s; the server takes 1.5 s per request.
// Output: the second request waits in the queue and gets 503 sQ at 1 s;
// a third sent after the first ends is served at once.
#[test]
fn maxconn_queue_times_out_with_sq() {
    let mut b = Bench::new(
        "  timeout queue 1s\n  server slow 10.0.0.1:80 maxconn 1\n",
        vec![Server::Ok(1_500)],
    );
    b.request(1, [127, 0, 0, 1]);
    b.request(2, [127, 0, 0, 2]);
    b.run_until(ms(1_600));
    let (t2, o2) = b.outcome(2);
    assert_eq!(
        (t2, o2.status, o2.termination, o2.tried.len()),
        (ms(1_000), 503, "sQ", 0)
    );
    assert_eq!(o2.queued_for, Some(Duration::from_secs(1)));
    assert_eq!(b.outcome(1).1.status, 200);
    b.request(3, [127, 0, 0, 3]);
    b.run_until(ms(4_000));
    assert_eq!(b.outcome(3).1.tried, [0]);
}

// Input: maxconn 1; the first request ends at 0.5 s, before the queue timeout.
// Output: the queued request is served when the slot frees, Tw = 500 ms.
#[test]
fn queued_request_gets_the_freed_slot() {
    let mut b = Bench::new(
        "  timeout queue 1s\n  server s 10.0.0.1:80 maxconn 1\n",
        vec![Server::Ok(500)],
    );
    b.request(1, [127, 0, 0, 1]);
    b.request(2, [127, 0, 0, 2]);
    b.run_until(ms(2_000));
    let (t, o) = b.outcome(2);
    assert_eq!(
        (t, o.status, o.queued_for),
        (ms(1_000), 200, Some(Duration::from_millis(500)))
    );
}

// Input: abortonclose, a dead server and retries 10; the client leaves
// at 0.5 s, in the pause before a retry.
// Output: aborted as a connection attempt (CC, as haproxy logs it), not
// as queued, with the one server tried.
#[test]
fn abortonclose_in_the_retry_pause_is_a_connect_abort() {
    let mut b = Bench::new(
        "  option abortonclose
  retries 10
  server dead 10.0.0.1:80
",
        vec![DEAD],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(500));
    b.client_closes(1);
    b.run_until(ms(3_000));
    let o = b.outcome(1).1.clone();
    assert_eq!((o.status, o.termination, o.tried), (0, "CC", vec![0]));
}

// Input: abortonclose, a server that accepts and never answers; the
// client leaves at 0.5 s.
// Output: the request ends at once, logged 400 `CH` as haproxy does, and
// the server's slot frees up.
#[test]
fn abortonclose_while_waiting_for_the_answer_is_400_ch() {
    let mut b = Bench::new(
        "  option abortonclose
  server hang 10.0.0.1:80
",
        vec![Server::Hang],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(500));
    b.client_closes(1);
    let (t, o) = b.outcome(1);
    assert_eq!((t, o.status, o.termination), (ms(500), 400, "CH"));
}

// Input: abortonclose; the queued client leaves at 0.2 s.
// Output: aborted in the queue (CQ), never connected. Without
// abortonclose the request is still served.
#[test]
fn abortonclose_drops_a_queued_request() {
    for (opt, expect_served) in [("  option abortonclose\n", false), ("", true)] {
        let mut b = Bench::new(
            &format!("{opt}  server s 10.0.0.1:80 maxconn 1\n"),
            vec![Server::Ok(500)],
        );
        b.request(1, [127, 0, 0, 1]);
        b.request(2, [127, 0, 0, 2]);
        b.run_until(ms(200));
        b.client_closes(2);
        b.run_until(ms(3_000));
        let o = b.outcome(2).1.clone();
        let connected = b.connects.iter().any(|c| c.1 == 2);
        assert_eq!(connected, expect_served, "{opt}");
        if !expect_served {
            assert_eq!((o.status, o.termination), (0, "CQ"));
        } else {
            assert_eq!(o.status, 200);
        }
    }
}

// Input: a server that accepts and never answers; timeout server 30s.
// Output: 504 sH at 30 s.
#[test]
fn server_timeout_is_504_sh() {
    let mut b = Bench::new("  server hang 10.0.0.1:80\n", vec![Server::Hang]);
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(40_000));
    let (t, o) = b.outcome(1);
    assert_eq!((t, o.status, o.termination), (ms(30_000), 504, "sH"));
}

// Input: every server DOWN.
// Output: 503 SC at once, no server tried.
#[test]
fn no_server_is_503_sc() {
    let mut b = Bench::new("  server a 10.0.0.1:80\n", vec![OK]);
    let now = b.now;
    b.flow.handle_server_state(now, 1, 0, false, &mut b.sched);
    b.request(1, [127, 0, 0, 1]);
    let (t, o) = b.outcome(1);
    assert_eq!(
        (t, o.status, o.termination, o.tried.len()),
        (ms(0), 503, "SC", 0)
    );
}

// Input: a server that never completes the connection; timeout connect 5s,
// retries 3, no redispatch.
// Output: four attempts, each cut at 5 s and followed by the 1 s
// turn-around: 503 with termination `sC` at 23 s.
#[test]
fn connect_timeouts_end_with_sc_lowercase() {
    let mut b = Bench::new("  server bh 10.0.0.1:80\n", vec![Server::Blackhole]);
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(60_000));
    let (t, o) = b.outcome(1);
    assert_eq!(
        (t, o.status, o.termination, o.tried.len()),
        (ms(23_000), 503, "sC", 4)
    );
}

/// The status, termination, servers tried, retries and redispatch flag
/// of request `id`, and when it ended.
fn summary(b: &Bench, id: StreamId) -> (u16, &'static str, Vec<usize>, u32, bool, Instant) {
    let (t, o) = b.outcome(id);
    (
        o.status,
        o.termination,
        o.tried.clone(),
        o.retries,
        o.redispatched,
        t,
    )
}

const EMPTY: Server = Server::Fails(ServerFailure::Empty);

// Input: roundrobin {closes without answering, ok}, option redispatch,
// retry-on conn-failure empty-response.
// Output: sent again at once to ok: 200 at 2 ms, "+1".
#[test]
fn retry_on_empty_response_sends_the_request_again_elsewhere() {
    let mut b = Bench::new(
        "  option redispatch\n  retry-on conn-failure empty-response\n  server empty 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![EMPTY, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(summary(&b, 1), (200, "--", vec![0, 1], 1, true, ms(2)));
}

// Input: the same servers and retry-on, but the request's body was too
// large to keep and part of it went to the first server.
// Output: no resend: 502 SH after the one server, as haproxy retries only
// a request it still holds whole.
#[test]
fn an_unreplayable_request_is_not_retried() {
    let mut b = Bench::new(
        "  option redispatch\n  retry-on conn-failure empty-response\n  server empty 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![EMPTY, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.flow.handle_body_streaming(1, &mut b.sched);
    b.run_until(ms(100));
    assert_eq!(summary(&b, 1), (502, "SH", vec![0], 0, false, ms(1)));
}

// Input: the same servers with the default retry-on (conn-failure).
// Output: the empty answer is final: 502 SH after the one server.
#[test]
fn an_empty_response_is_a_502_without_retry_on() {
    let mut b = Bench::new(
        "  option redispatch\n  server empty 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![EMPTY, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(summary(&b, 1), (502, "SH", vec![0], 0, false, ms(1)));
}

// Input: a server that answers junk; first without, then with
// retry-on junk-response.
// Output: 502 PH; then sent to the other server.
#[test]
fn junk_is_a_502_ph_unless_retry_on_names_it() {
    let junk = Server::Fails(ServerFailure::Junk);
    let mut b = Bench::new(
        "  option redispatch\n  server junk 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![junk, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(summary(&b, 1), (502, "PH", vec![0], 0, false, ms(1)));
    let mut b = Bench::new(
        "  option redispatch\n  retry-on junk-response\n  server junk 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![junk, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(summary(&b, 1), (200, "--", vec![0, 1], 1, true, ms(2)));
}

// Input: one server answering 503, retry-on 503, retries 3, no
// redispatch.
// Output: sent four times to it with no turn-around delay; its last 503
// goes to the client.
#[test]
fn retry_on_status_resends_to_the_same_server_at_once() {
    let mut b = Bench::new(
        "  retry-on 503\n  server busy 10.0.0.1:80\n",
        vec![Server::Status(503)],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(
        summary(&b, 1),
        (503, "--", vec![0, 0, 0, 0], 3, false, ms(4))
    );
}

// Input: {hangs, ok}, timeout server 30s, retry-on response-timeout,
// option redispatch.
// Output: at 30 s the request goes to ok: 200 at 30.001 s.
#[test]
fn retry_on_response_timeout_resends_after_timeout_server() {
    let mut b = Bench::new(
        "  option redispatch\n  retry-on response-timeout\n  server slow 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![Server::Hang, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(40_000));
    assert_eq!(summary(&b, 1), (200, "--", vec![0, 1], 1, true, ms(30_001)));
}

// Input: {dead, ok}, option redispatch, retry-on none.
// Output: no retry at all: 503 SC after the refusal.
#[test]
fn retry_on_none_gives_up_at_the_first_refusal() {
    let mut b = Bench::new(
        "  option redispatch\n  retry-on none\n  server dead 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![DEAD, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(summary(&b, 1), (503, "SC", vec![0], 0, false, ms(0)));
}

// Input: retry-on all-retryable-errors with the default retries (3 here)
// in front of one server that closes without answering.
// Output: four attempts, then 502 SH.
#[test]
fn all_retryable_errors_includes_empty_responses() {
    let mut b = Bench::new(
        "  retry-on all-retryable-errors\n  server empty 10.0.0.1:80\n",
        vec![EMPTY],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(100));
    assert_eq!(
        summary(&b, 1),
        (502, "SH", vec![0, 0, 0, 0], 3, false, ms(4))
    );
}

// Input: {a server whose pooled connection was let go and whose port now
// refuses, ok}, option redispatch.
// Output: the refusal after "connected" is a failed connection: the
// request goes to ok at once (it used to wait for timeout server).
#[test]
fn a_refused_replacement_for_a_pooled_connection_is_retried() {
    let mut b = Bench::new(
        "  option redispatch\n  server gone 10.0.0.1:80\n  server ok 10.0.0.2:80\n",
        vec![Server::LetGo, OK],
    );
    b.request(1, [127, 0, 0, 1]);
    b.run_until(ms(40_000));
    assert_eq!(summary(&b, 1), (200, "--", vec![0, 1], 1, true, ms(2)));
}
