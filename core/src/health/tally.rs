//! What the stats count of one server's checks: failed checks while up
//! (`chkfail`), UP to DOWN transitions (`chkdown`), and time spent DOWN
//! (`downtime`).

use crate::time::{Duration, Instant};

/// The check counters of one server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckTally {
    /// Checks that failed while the server was up.
    pub failed: u64,
    /// Times the server went DOWN.
    pub downs: u64,
    /// Time spent DOWN, up to now.
    pub downtime: Duration,
    /// Since when the server is DOWN, if it is.
    down_since: Option<Instant>,
}

impl CheckTally {
    /// Counts a check result at `now`: `passed`, whether the server was
    /// up before it, and `flipped` as the counter reported it.
    pub(super) fn observe(
        &mut self,
        now: Instant,
        passed: bool,
        was_up: bool,
        flipped: Option<bool>,
    ) {
        if !passed && was_up {
            self.failed += 1;
        }
        match flipped {
            Some(false) => {
                self.downs += 1;
                self.down_since = Some(now);
            }
            Some(true) => {
                if let Some(since) = self.down_since.take() {
                    self.downtime = self.downtime + now.saturating_duration_since(since);
                }
            }
            None => {}
        }
    }

    /// The counters as of `now` (a server DOWN now adds its current spell).
    pub fn at(&self, now: Instant) -> Self {
        let mut t = *self;
        if let Some(since) = t.down_since {
            t.downtime = t.downtime + now.saturating_duration_since(since);
            t.down_since = Some(now);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_while_up_and_downtime_accumulates() {
        let t = |s| Instant::ZERO + Duration::from_secs(s);
        let mut tally = CheckTally::default();
        tally.observe(t(1), false, true, None);
        tally.observe(t(2), false, true, Some(false));
        tally.observe(t(3), false, false, None);
        assert_eq!((tally.failed, tally.downs), (2, 1));
        assert_eq!(tally.at(t(5)).downtime, Duration::from_secs(3));
        tally.observe(t(6), true, false, Some(true));
        assert_eq!(tally.at(t(100)).downtime, Duration::from_secs(4));
    }
}
