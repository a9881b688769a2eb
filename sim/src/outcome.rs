//! One run reduced to the figures a parameter sweep compares (a row of
//! `sweep.csv`).

use crate::record::Recorder;
use haven_core::time::Duration;

/// What one run of a sweep measured. Times are from the first fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// First fault to the first log line it caused.
    pub detection: Option<Duration>,
    /// First fault to the next VIP move.
    pub vip_move: Option<Duration>,
    /// Client-visible downtime summed over faults (first to last failed
    /// request after each).
    pub client_downtime: Duration,
    /// Failed requests in the whole run.
    pub failed_requests: u64,
    /// 99th percentile latency of answered requests (ms).
    pub p99_ms: Option<f64>,
    /// Time with two or more MASTERs of one instance, summed over instances.
    pub two_masters: Duration,
    /// Every expectation of the scenario held.
    pub passed: bool,
}

impl Recorder {
    /// The run's [`Outcome`]; call after the run finished.
    pub fn outcome(&self) -> Outcome {
        let first = self.failovers.first();
        let since = |t: Option<haven_core::time::Instant>| {
            first.and_then(|f| Some(t?.saturating_duration_since(f.at)))
        };
        let two_masters = self
            .instances()
            .into_iter()
            .flat_map(|i| self.split_stretches(i, self.end))
            .fold(Duration::ZERO, |sum, (a, b)| {
                sum + b.saturating_duration_since(a)
            });
        Outcome {
            detection: since(first.and_then(|f| f.detected)),
            vip_move: since(first.and_then(|f| f.vip_moved)),
            client_downtime: self
                .failovers
                .iter()
                .filter_map(|f| f.client_downtime)
                .fold(Duration::ZERO, |sum, d| sum + d),
            failed_requests: self.latency.as_ref().map_or(0, |l| l.failed),
            p99_ms: self
                .latency
                .as_ref()
                .filter(|l| l.requests > l.failed)
                .map(|l| l.p99_ms),
            two_masters,
            passed: self.all_passed(),
        }
    }
}
