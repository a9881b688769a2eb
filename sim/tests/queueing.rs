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
