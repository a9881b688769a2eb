//! The L2 segment: a chain of fault rules evaluated in install order
//! (partitions, loss), then the latency model. Every random draw comes
//! from the segment's own stream.

use haven_core::time::Duration;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;

/// How long a frame takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Always the same.
    Constant(Duration),
    /// Normal around `mean` (never below zero).
    Normal { mean: Duration, stddev: Duration },
    /// Log-normal with this mean and standard deviation.
    LogNormal { mean: Duration, stddev: Duration },
}

/// A fault rule on the segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    /// Frames cross only within a group.
    Partition(Vec<Vec<usize>>),
    /// Each frame is lost with this probability.
    Loss(f64),
}

/// The segment joining the hosts.
pub(crate) struct Segment {
    latency: Latency,
    jitter: Duration,
    rules: Vec<Rule>,
    rng: ChaCha8Rng,
}

impl Segment {
    /// A whole segment with a standing loss rate.
    pub(crate) fn new(latency: Latency, jitter: Duration, loss: f64, rng: ChaCha8Rng) -> Self {
        let rules = if loss > 0.0 {
            vec![Rule::Loss(loss)]
        } else {
            Vec::new()
        };
        Self {
            latency,
            jitter,
            rules,
            rng,
        }
    }

    /// Installs a rule after the others (a new loss rate replaces the old).
    pub(crate) fn install(&mut self, rule: Rule) {
        if matches!(rule, Rule::Loss(_)) {
            self.rules.retain(|r| !matches!(r, Rule::Loss(_)));
        }
        if rule != Rule::Loss(0.0) {
            self.rules.push(rule);
        }
    }

    /// Removes every partition.
    pub(crate) fn heal(&mut self) {
        self.rules.retain(|r| !matches!(r, Rule::Partition(_)));
    }

    /// The delay of a frame from `from` to `to`, or `None` when a rule
    /// drops it. Rules run in install order; the first drop wins.
    pub(crate) fn deliver(&mut self, from: usize, to: usize) -> Option<Duration> {
        for rule in &self.rules {
            match rule {
                Rule::Partition(groups) => {
                    let side = |h: usize| groups.iter().position(|g| g.contains(&h));
                    if side(from) != side(to) {
                        return None;
                    }
                }
                Rule::Loss(p) => {
                    if unit(&mut self.rng) < *p {
                        return None;
                    }
                }
            }
        }
        Some(self.sample())
    }

    /// Whether frames are being lost.
    pub(crate) fn lossy(&self) -> bool {
        self.rules.iter().any(|r| matches!(r, Rule::Loss(_)))
    }

    /// Whether the segment is split.
    pub(crate) fn partitioned(&self) -> bool {
        self.rules.iter().any(|r| matches!(r, Rule::Partition(_)))
    }

    /// Which side of the last partition host `h` is on (0 when whole, or
    /// for a host no group names).
    pub(crate) fn side(&self, h: usize) -> usize {
        self.rules
            .iter()
            .rev()
            .find_map(|r| match r {
                Rule::Partition(groups) => {
                    groups.iter().position(|g| g.contains(&h)).map(|i| i + 1)
                }
                Rule::Loss(_) => None,
            })
            .unwrap_or(0)
    }

    /// One latency draw plus jitter.
    pub(crate) fn sample(&mut self) -> Duration {
        let base = match self.latency {
            Latency::Constant(d) => d,
            Latency::Normal { mean, stddev } => {
                let ns =
                    mean.as_nanos() as f64 + stddev.as_nanos() as f64 * gaussian(&mut self.rng);
                Duration::from_nanos(ns.max(0.0) as u64)
            }
            Latency::LogNormal { mean, stddev } => {
                let (m, s) = (mean.as_nanos() as f64, stddev.as_nanos() as f64);
                if m <= 0.0 {
                    return Duration::ZERO;
                }
                let sigma2 = (1.0 + (s * s) / (m * m)).ln();
                let mu = m.ln() - sigma2 / 2.0;
                let ns = (mu + sigma2.sqrt() * gaussian(&mut self.rng)).exp();
                Duration::from_nanos(ns as u64)
            }
        };
        if self.jitter.is_zero() {
            base
        } else {
            base + Duration::from_nanos(self.rng.next_u64() % (self.jitter.as_nanos() + 1))
        }
    }
}

/// Uniform in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = unit(rng).max(f64::MIN_POSITIVE);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn mean_of(latency: Latency) -> f64 {
        let mut seg = Segment::new(latency, Duration::ZERO, 0.0, ChaCha8Rng::seed_from_u64(3));
        (0..20_000)
            .map(|_| seg.sample().as_nanos() as f64)
            .sum::<f64>()
            / 20_000.0
    }

    #[test]
    fn distributions_have_their_mean() {
        let mean = Duration::from_micros(500);
        let sd = Duration::from_micros(100);
        for l in [
            Latency::Constant(mean),
            Latency::Normal { mean, stddev: sd },
            Latency::LogNormal { mean, stddev: sd },
        ] {
            let m = mean_of(l);
            assert!((m - 500_000.0).abs() < 5_000.0, "{l:?}: {m}");
        }
    }

    #[test]
    fn rules_run_in_order() {
        let mut seg = Segment::new(
            Latency::Constant(Duration::ZERO),
            Duration::ZERO,
            0.0,
            ChaCha8Rng::seed_from_u64(1),
        );
        seg.install(Rule::Partition(vec![vec![0], vec![1, 2]]));
        assert_eq!(seg.deliver(0, 1), None);
        assert_eq!(seg.deliver(1, 2), Some(Duration::ZERO));
        seg.install(Rule::Loss(1.0));
        assert_eq!(seg.deliver(1, 2), None);
        seg.heal();
        seg.install(Rule::Loss(0.0));
        assert_eq!(seg.deliver(0, 1), Some(Duration::ZERO));
    }
}
