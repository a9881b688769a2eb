//! The L2 segment: one-way latency with uniform jitter, random loss, and
//! partitions. Every random draw comes from the segment's own stream.

use haven_core::time::Duration;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;

/// The segment joining the hosts.
pub(crate) struct Segment {
    latency: Duration,
    jitter: Duration,
    loss: f64,
    rng: ChaCha8Rng,
    /// When split: each host's group.
    groups: Option<Vec<Vec<usize>>>,
}

impl Segment {
    /// A whole segment.
    pub(crate) fn new(latency: Duration, jitter: Duration, loss: f64, rng: ChaCha8Rng) -> Self {
        Self {
            latency,
            jitter,
            loss,
            rng,
            groups: None,
        }
    }

    /// The base one-way latency.
    pub(crate) fn latency(&self) -> Duration {
        self.latency
    }

    /// Splits the segment.
    pub(crate) fn partition(&mut self, groups: Vec<Vec<usize>>) {
        self.groups = Some(groups);
    }

    /// Joins it again.
    pub(crate) fn heal(&mut self) {
        self.groups = None;
    }

    /// The delay of a frame from `from` to `to`, or `None` when it is lost
    /// or the two are on different sides of a partition. Fault rules apply
    /// in order: partition, then loss, then latency.
    pub(crate) fn deliver(&mut self, from: usize, to: usize) -> Option<Duration> {
        if let Some(groups) = &self.groups {
            let side = |h: usize| groups.iter().position(|g| g.contains(&h));
            if side(from) != side(to) {
                return None;
            }
        }
        if self.loss > 0.0 {
            let draw = f64::from(self.rng.next_u32()) / f64::from(u32::MAX);
            if draw < self.loss {
                return None;
            }
        }
        let jitter = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.rng.next_u64() % (self.jitter.as_nanos() + 1))
        };
        Some(self.latency + jitter)
    }
}
