//! Each serving thread's lane ([`haven_core::lanes`]): the thread
//! numbers its requests so that core, and the driver's mailboxes, keep
//! them in memory of that lane, which the other threads do not write.

use haven_core::lanes::{lane_of, per_lane, Padded};
use haven_core::proxy::StreamId;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    /// The lane of the thread's requests (0 on a thread that serves
    /// none of its own: the first, or a test's).
    static LANE: Cell<usize> = const { Cell::new(0) };
}

/// The calling thread serves the requests of `lane` from now on.
pub(crate) fn enter(lane: usize) {
    LANE.with(|l| l.set(lane));
}

/// The calling thread's lane among `count` (a count
/// [`haven_core::lanes::count_for`] gave).
pub(crate) fn current(count: usize) -> usize {
    lane_of(LANE.with(Cell::get) as u64, count)
}

/// Request ids, unique across frontends and threads, each thread's in
/// its own lane.
#[derive(Debug)]
pub(crate) struct RequestIds {
    /// Each lane's count of ids given.
    given: Box<[Padded<AtomicU64>]>,
}

impl RequestIds {
    /// Ids over the lanes of `threads` threads.
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            given: per_lane(threads),
        }
    }

    /// A new request id in the calling thread's lane.
    pub(crate) fn next(&self) -> StreamId {
        let lanes = self.given.len();
        let lane = current(lanes);
        let n = self.given[lane].0.fetch_add(1, Ordering::Relaxed);
        n * lanes as u64 + lane as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: ids over three threads' lanes (four) taken on a thread of
    // lane 2, then of lane 5 (past the count). Expected: each in the
    // thread's lane (5 counts as 1), none given twice.
    #[test]
    fn ids_are_unique_and_in_the_threads_lane() {
        let ids = RequestIds::new(3);
        let given = std::thread::scope(|s| {
            let on = |lane| {
                let ids = &ids;
                s.spawn(move || {
                    enter(lane);
                    (0..4).map(|_| ids.next()).collect::<Vec<_>>()
                })
            };
            let (two, five) = (on(2), on(5));
            [two.join().expect("lane 2"), five.join().expect("lane 5")]
        });
        assert_eq!(given[0], [2, 6, 10, 14]);
        assert_eq!(given[1], [1, 5, 9, 13]);
    }
}
