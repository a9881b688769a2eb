//! The simulator against queueing theory: round robin over k identical
//! exponential servers fed by Poisson arrivals makes each server an
//! E_k/M/1 queue, whose mean and p99 sojourn are known in closed form.
//! Network hops add 4 × 0.2 ms.

#![allow(clippy::disallowed_methods)]

use haven_sim::{load, run};
use std::path::Path;

fn latency(name: &str) -> (f64, f64, u64) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let text = std::fs::read_to_string(dir.join(name)).expect("scenario");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let sc = load(name, &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    let l = run(&sc, None).latency.expect("traffic ran");
    (l.mean_ms, l.p99_ms, l.failed)
}

fn within(value: f64, expected: f64, tolerance: f64) -> bool {
    (value - expected).abs() <= expected * tolerance
}

// Input: bench-lb (1,000 req/s, 4 backends, exp(2 ms), 600 s).
// Output: mean 3.665 ms ± 2 %, p99 13.99 ms ± 5 %, nothing failed.
#[test]
fn four_backends_are_e4_m_1_queues() {
    let (mean, p99, failed) = latency("bench-lb.toml");
    assert!(within(mean, 3.665, 0.02), "mean {mean}");
    assert!(within(p99, 13.99, 0.05), "p99 {p99}");
    assert_eq!(failed, 0);
}

// Input: bench-lb-40 (10,000 req/s, 40 backends, 120 s).
// Output: mean 3.344 ms ± 2 %, p99 12.52 ms ± 5 %.
#[test]
fn forty_backends_are_e40_m_1_queues() {
    let (mean, p99, failed) = latency("bench-lb-40.toml");
    assert!(within(mean, 3.344, 0.02), "mean {mean}");
    assert!(within(p99, 12.52, 0.05), "p99 {p99}");
    assert_eq!(failed, 0);
}

/// The latency figures of one load balancer in front of one backend of
/// constant 5 ms service, every hop 0.2 ms, for 60 s, under the client
/// group `client` (TOML); and the requests sent.
fn one_backend(client: &str) -> (f64, f64, f64, u64) {
    let config = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\nfrontend web\n    bind *:80\n    default_backend pool\nbackend pool\n    server b1 10.1.0.1:80\n";
    let text = format!(
        "name = \"d-d-1\"\nseed = 1\nstart = \"2026-01-01 00:00:00\"\nduration = \"60s\"\n\n[network]\nlatency = \"200us\"\n\n[[host]]\nname = \"lb\"\naddress = \"10.0.0.1\"\nhaproxy = \"lb.cfg\"\n\n[[backend]]\naddress = \"10.1.0.1:80\"\nservice = \"5ms\"\ndistribution = \"constant\"\n\n[[client]]\nname = \"c\"\ntarget = \"10.0.0.1:80\"\n{client}"
    );
    let read = |_: &str| Ok(config.to_owned());
    let sc = load("d-d-1.toml", &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    let l = run(&sc, None).latency.expect("traffic ran");
    (l.mean_ms, l.p99_ms, l.max_ms, l.requests)
}

// Input: a fixed-rate client (`distribution = "constant"`) at 100 req/s,
// and a Poisson one at the same rate, before a backend of constant 5 ms.
// Output: fixed arrivals 10 ms apart never queue: every request takes
// exactly 5.8 ms (4 hops of 0.2 ms and the service), 6,000 in 60 s;
// Poisson arrivals sometimes come closer than 5 ms and wait.
#[test]
fn fixed_rate_clients_never_queue_behind_a_constant_server() {
    let (mean, p99, max, requests) = one_backend("rate = 100\ndistribution = \"constant\"\n");
    assert_eq!((mean, p99, max), (5.8, 5.8, 5.8));
    assert!(requests.abs_diff(6_000) <= 1, "{requests} requests");
    let (_, _, max, _) = one_backend("rate = 100\n");
    assert!(max > 6.0, "Poisson arrivals queue: max {max} ms");
}

// Input: one closed-loop user with a constant think time of 14.2 ms.
// Output: a request every 14.2 + 5.8 = 20 ms: 3,000 in 60 s.
#[test]
fn constant_think_times_pace_a_user_exactly() {
    let (_, _, max, requests) =
        one_backend("users = 1\nthink = \"14.2ms\"\ndistribution = \"constant\"\n");
    assert_eq!(max, 5.8);
    assert!(requests.abs_diff(3_000) <= 1, "{requests} requests");
}
