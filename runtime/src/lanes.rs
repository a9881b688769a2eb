//! Each serving thread's lane ([`haven_core::lanes`]): the thread
//! numbers its requests so that core, and the driver's mailboxes, keep
//! them in memory of that lane, which the other threads do not write.

use haven_core::lanes::Padded;
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

/// Request ids, unique across frontends and threads, each thread's in
/// its own lane.
#[derive(Debug)]
pub(crate) struct RequestIds {
    /// Each lane's count of ids given.
    given: Box<[Padded<AtomicU64>]>,
}

impl RequestIds {
    /// Ids over `lanes` lanes.
    pub(crate) fn new(lanes: usize) -> Self {
        Self {
            given: (0..lanes.max(1)).map(|_| Padded::default()).collect(),
        }
    }

    /// A new request id in the calling thread's lane.
    pub(crate) fn next(&self) -> StreamId {
        let lanes = self.given.len();
        let lane = LANE.with(Cell::get) % lanes;
        let n = self.given[lane].0.fetch_add(1, Ordering::Relaxed);
        n * lanes as u64 + lane as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: ids over three lanes taken on a thread of lane 2, then of
    // lane 4 (past the count). Expected: each in the thread's lane (4
    // counts as 1), none given twice.
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
            let (two, four) = (on(2), on(4));
            [two.join().expect("lane 2"), four.join().expect("lane 4")]
        });
        assert_eq!(given[0], [2, 5, 8, 11]);
        assert_eq!(given[1], [1, 4, 7, 10]);
    }
}
