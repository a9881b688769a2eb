//! The anchor of `bench/sim.sh`: bench-lb's model written by hand as one
//! binary-heap event loop, with none of haven's machinery (no core, no
//! timers, no health checks, no outputs). Poisson clients at 1,000 req/s
//! → one LB (round robin) → 4 FIFO single-server backends with
//! exponential service of mean 2 ms; every hop 0.2 ms; 600 s.
//!
//! Run: `cargo run --release -p haven-sim --example hand_loop`. Prints the
//! requests, the logical events (6 per request), the wall time, the events
//! per second and the mean latency (which should agree with
//! `haven sim scenarios/bench-lb.toml`'s).

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

const RATE_PER_S: f64 = 1_000.0;
const SERVICE_NS: f64 = 2e6;
const HOP_NS: u64 = 200_000;
const BACKENDS: usize = 4;
const DURATION_NS: u64 = 600 * 1_000_000_000;

/// The six steps of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// A client sends (and the next arrival is drawn).
    Arrival,
    /// The request reaches the LB.
    AtLb { req: u32 },
    /// The request reaches its backend.
    AtBackend { req: u32, backend: u8 },
    /// The backend is done with it.
    Done { req: u32, backend: u8 },
    /// The answer reaches the LB.
    BackAtLb { req: u32 },
    /// The answer reaches the client.
    AtClient { req: u32 },
}

/// An exponential draw of mean `mean_ns`.
fn exponential(rng: &mut ChaCha8Rng, mean_ns: f64) -> u64 {
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-(1.0 - unit).ln() * mean_ns) as u64
}

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, at: u64, step: Step| {
        seq += 1;
        heap.push(Reverse((at, seq, step)));
    };
    let mut starts: Vec<u64> = Vec::new();
    let mut busy = [false; BACKENDS];
    let mut waiting: [VecDeque<u32>; BACKENDS] = Default::default();
    let (mut next_backend, mut done, mut latency_sum) = (0usize, 0u64, 0u64);
    let wall = Instant::now();
    push(&mut heap, 0, Step::Arrival);
    while let Some(Reverse((now, _, step))) = heap.pop() {
        if now > DURATION_NS {
            break;
        }
        match step {
            Step::Arrival => {
                let req = u32::try_from(starts.len()).expect("fewer than 2^32 requests");
                starts.push(now);
                push(
                    &mut heap,
                    now + exponential(&mut rng, 1e9 / RATE_PER_S),
                    step,
                );
                push(&mut heap, now + HOP_NS, Step::AtLb { req });
            }
            Step::AtLb { req } => {
                let backend = next_backend as u8;
                next_backend = (next_backend + 1) % BACKENDS;
                push(&mut heap, now + HOP_NS, Step::AtBackend { req, backend });
            }
            Step::AtBackend { req, backend } => {
                let b = usize::from(backend);
                if busy[b] {
                    waiting[b].push_back(req);
                } else {
                    busy[b] = true;
                    let at = now + exponential(&mut rng, SERVICE_NS);
                    push(&mut heap, at, Step::Done { req, backend });
                }
            }
            Step::Done { req, backend } => {
                push(&mut heap, now + HOP_NS, Step::BackAtLb { req });
                let b = usize::from(backend);
                match waiting[b].pop_front() {
                    Some(next) => {
                        let at = now + exponential(&mut rng, SERVICE_NS);
                        push(&mut heap, at, Step::Done { req: next, backend });
                    }
                    None => busy[b] = false,
                }
            }
            Step::BackAtLb { req } => push(&mut heap, now + HOP_NS, Step::AtClient { req }),
            Step::AtClient { req } => {
                done += 1;
                latency_sum += now - starts[req as usize];
            }
        }
    }
    let secs = wall.elapsed().as_secs_f64();
    let events = 6 * done;
    println!(
        "hand loop: {done} requests, {events} logical events in {secs:.3} s: {:.2} M events/s; mean latency {:.3} ms",
        events as f64 / secs / 1e6,
        latency_sum as f64 / done as f64 / 1e6
    );
}
