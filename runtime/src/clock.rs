//! The runtime's clock: core's [`Instant`] counts nanoseconds from the
//! moment the process started, as the simulator's counts from zero.

use haven_core::time::Instant;
use std::time::SystemTime;

/// The wall clock in whole seconds since the epoch (0 before it).
pub(crate) fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Converts between the monotonic clock, core's time and dates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: tokio::time::Instant,
    /// The date at `origin`: log dates are reckoned from it.
    date: SystemTime,
}

impl Clock {
    /// A clock whose zero is now.
    pub(crate) fn start() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            date: SystemTime::now(),
        }
    }

    /// The date at core's instant zero.
    pub(crate) fn origin_date(&self) -> SystemTime {
        self.date
    }

    /// The date of monotonic moment `t`.
    pub(crate) fn date(&self, t: tokio::time::Instant) -> SystemTime {
        match t.checked_duration_since(self.origin) {
            Some(after) => self.date + after,
            None => self.date - self.origin.duration_since(t),
        }
    }

    /// Now, on core's clock.
    pub(crate) fn now(&self) -> Instant {
        self.at(tokio::time::Instant::now())
    }

    /// The monotonic clock's `t` on core's clock.
    pub(crate) fn at(&self, t: tokio::time::Instant) -> Instant {
        let ns = t.saturating_duration_since(self.origin).as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Core's `at` on the monotonic clock.
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.origin + std::time::Duration::from_nanos(at.as_nanos())
    }
}
