//! Requests kept in several lanes (one per serving thread) are decided
//! exactly as in one: the same servers in the same order, the same queue,
//! the same timeouts firing at the same instants.

use haven_core::config::haproxy::{parse, ParseOptions};
use haven_core::node::Node;
use haven_core::proxy::{Output, StreamId};
use haven_core::route::RequestHead;
use haven_core::time::{Duration, Instant};
use haven_core::vrrp::HostInfo;
use rand_chacha::rand_core::SeedableRng;

/// Two servers taking one request each; the others wait in the queue,
/// connections that never come up time out and are retried.
const CFG: &str = "defaults\n  mode http\n  retries 1\n  timeout connect 1s\n  timeout queue 3s\n  timeout client 5s\n  timeout server 2s\nfrontend fe\n  bind :80\n  default_backend be\nbackend be\n  balance roundrobin\n  server a 10.0.0.1:80 maxconn 1\n  server b 10.0.0.2:80 maxconn 1\n";

const REQUESTS: u64 = 12;

/// A started node of `lanes` lanes.
fn node(lanes: usize) -> Node {
    let parsed = parse(&[("t.cfg", CFG)], &ParseOptions::default());
    let cfg = parsed
        .config
        .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
    let mut node = Node::new(Some(cfg), None, HostInfo::default())
        .expect("node")
        .with_lanes(lanes);
    node.start_haproxy(Instant::ZERO);
    node
}

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

/// Request `id` arrives at `at` (a GET of `/`).
fn request(node: &mut Node, id: StreamId, at: Instant) {
    let client = "192.0.2.1".parse().expect("ip");
    let head = RequestHead {
        method: "GET",
        uri: "/",
        ..RequestHead::connection(client, &[])
    };
    let (flow, mut t) = node.flow().expect("haproxy");
    flow.handle_request(at, id, 0, &head, client, &mut t);
}

/// Every output of the same traffic through a node of `lanes` lanes,
/// with the instant it came.
fn outputs(lanes: usize) -> Vec<(Instant, Output)> {
    let mut node = node(lanes);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut seen = Vec::new();
    // Request `id` comes at `id` ms; the connection of every third one
    // is up 10 ms later, and its exchange over 50 ms after that.
    for id in 0..REQUESTS {
        request(&mut node, id, ms(id));
    }
    let mut events: Vec<(Instant, StreamId, bool)> = (0..REQUESTS)
        .filter(|id| id % 3 == 0)
        .flat_map(|id| [(ms(id + 10), id, false), (ms(id + 60), id, true)])
        .collect();
    events.sort();
    let drain = |node: &mut Node, at: Instant, seen: &mut Vec<(Instant, Output)>| {
        let (flow, _) = node.flow().expect("haproxy");
        seen.extend(std::iter::from_fn(|| flow.poll_output()).map(|o| (at, o)));
    };
    drain(&mut node, ms(REQUESTS), &mut seen);
    for (at, id, done) in events {
        while let Some(due) = node.poll_timeout().filter(|&d| d <= at) {
            node.handle_timeout(due, &mut rng);
            drain(&mut node, due, &mut seen);
        }
        let (flow, mut t) = node.flow().expect("haproxy");
        match done {
            false => flow.handle_connected(at, id, &mut t),
            true => flow.handle_done(at, id, &mut t),
        }
        drain(&mut node, at, &mut seen);
    }
    while let Some(due) = node.poll_timeout().filter(|&d| d <= ms(60_000)) {
        node.handle_timeout(due, &mut rng);
        drain(&mut node, due, &mut seen);
    }
    seen
}

// Input: twelve requests, two servers of maxconn 1, some connections
// never up, over one lane and over three. Expected: the very same
// outputs at the same instants; and the traffic does what it is meant
// to (queued requests reach a server when another's is done, timeouts
// fire), so that the comparison means something. (Timers due at the
// very same instant in different lanes fire lane by lane, not in the
// order they were armed: hence requests a millisecond apart.)
#[test]
fn three_lanes_decide_as_one() {
    let one = outputs(1);
    let three = outputs(3);
    assert_eq!(one, three);
    let connects = one
        .iter()
        .filter(|(_, o)| matches!(o, Output::Connect { .. }))
        .count();
    assert!(connects > 2, "queued requests were served: {one:?}");
    let timed_out = one.iter().any(|(_, o)| {
        matches!(o, Output::Finish { outcome, .. } if outcome.termination.starts_with('s'))
    });
    assert!(timed_out, "some timed out: {one:?}");
    let ended = one
        .iter()
        .filter(|(_, o)| matches!(o, Output::Finish { .. }))
        .count();
    let carried = (0..REQUESTS).filter(|id| id % 3 == 0).count();
    assert_eq!(
        ended,
        REQUESTS as usize - carried,
        "every other request timed out"
    );
}

// Input: with one lane and with two, the caller's alarm set, then a
// request whose connect timeout (1 s) falls after it, then one whose
// timeout falls before the next alarm. Expected: the alarm is late only
// in the second case, whichever lane the request is in.
#[test]
fn the_alarm_is_late_when_a_request_times_out_before_it() {
    for lanes in [1, 2] {
        let mut node = node(lanes);
        node.set_alarm(node.poll_timeout());
        assert!(!node.alarm_late(), "{lanes} lanes: nothing armed");
        node.set_alarm(Some(ms(500)));
        request(&mut node, 1, ms(0));
        assert!(!node.alarm_late(), "{lanes} lanes: due after the alarm");
        node.set_alarm(Some(ms(2_000)));
        request(&mut node, 3, ms(10));
        assert!(node.alarm_late(), "{lanes} lanes: due before the alarm");
        node.set_alarm(node.poll_timeout());
        assert_eq!(node.poll_timeout(), Some(ms(1_000)));
        assert!(!node.alarm_late(), "{lanes} lanes: the alarm moved");
    }
}
