//! The one timer queue every node uses (STYLE.md §1).
//!
//! Timers are data: a key of the caller's choosing (an enum naming the
//! timer) and a deadline. Each key is armed at most once; re-arming moves
//! it. Due timers come out ordered by (deadline, arming sequence), so ties
//! are broken by the order in which they were armed — deterministically.

use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet};

/// A deterministic timer queue keyed by `K`.
#[derive(Debug, Clone)]
pub struct Scheduler<K: Ord + Clone> {
    /// Armed timers in firing order.
    queue: BTreeSet<(Instant, u64, K)>,
    /// Each armed key's position in `queue`.
    armed: BTreeMap<K, (Instant, u64)>,
    /// Sequence number of the next arming.
    next_seq: u64,
}

impl<K: Ord + Clone> Default for Scheduler<K> {
    fn default() -> Self {
        Self {
            queue: BTreeSet::new(),
            armed: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<K: Ord + Clone> Scheduler<K> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `key` to fire at `at`, replacing any earlier arming of it.
    pub fn arm(&mut self, key: K, at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some((old_at, old_seq)) = self.armed.insert(key.clone(), (at, seq)) {
            self.queue.remove(&(old_at, old_seq, key.clone()));
        }
        self.queue.insert((at, seq, key));
    }

    /// Disarms `key`; nothing happens when it is not armed.
    pub fn cancel(&mut self, key: &K) {
        if let Some((at, seq)) = self.armed.remove(key) {
            self.queue.remove(&(at, seq, key.clone()));
        }
    }

    /// When `key` fires, if armed.
    pub fn deadline(&self, key: &K) -> Option<Instant> {
        self.armed.get(key).map(|(at, _)| *at)
    }

    /// The earliest deadline of all armed timers.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _, _)| *at)
    }

    /// Removes and returns the first timer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        let (at, _, _) = self.queue.first()?;
        if *at > now {
            return None;
        }
        let (at, _, key) = self.queue.pop_first()?;
        self.armed.remove(&key);
        Some((at, key))
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.armed.len()
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }
}

/// Anything that can arm and cancel timers keyed by `K`: a [`Scheduler`]
/// of its own, or a [`Scoped`] view into a node's scheduler whose keys
/// wrap `K`. State machines take `&mut dyn Timers<K>`, so the same code
/// runs alone in a test and inside a node.
pub trait Timers<K> {
    /// Arms `key` at `at`, replacing an earlier arming.
    fn arm(&mut self, key: K, at: Instant);
    /// Disarms `key`.
    fn cancel(&mut self, key: K);
    /// When `key` fires, if armed.
    fn deadline(&self, key: K) -> Option<Instant>;
}

impl<K: Ord + Clone> Timers<K> for Scheduler<K> {
    fn arm(&mut self, key: K, at: Instant) {
        Self::arm(self, key, at);
    }
    fn cancel(&mut self, key: K) {
        Self::cancel(self, &key);
    }
    fn deadline(&self, key: K) -> Option<Instant> {
        Self::deadline(self, &key)
    }
}

/// A view of a scheduler keyed by `N` as timers keyed by `K`, through
/// `wrap` (e.g. `NodeTimer::Vrrp`).
pub struct Scoped<'a, N: Ord + Clone, K> {
    /// The node's scheduler.
    pub sched: &'a mut Scheduler<N>,
    /// How a `K` becomes an `N`.
    pub wrap: fn(K) -> N,
}

impl<N: Ord + Clone, K> Timers<K> for Scoped<'_, N, K> {
    fn arm(&mut self, key: K, at: Instant) {
        self.sched.arm((self.wrap)(key), at);
    }
    fn cancel(&mut self, key: K) {
        self.sched.cancel(&(self.wrap)(key));
    }
    fn deadline(&self, key: K) -> Option<Instant> {
        self.sched.deadline(&(self.wrap)(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use proptest::prelude::*;

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn rearming_moves_a_timer_and_cancel_removes_it() {
        let mut s = Scheduler::new();
        s.arm("a", at(10));
        s.arm("b", at(5));
        s.arm("a", at(1));
        assert_eq!(s.next_deadline(), Some(at(1)));
        s.cancel(&"a");
        assert_eq!(s.deadline(&"a"), None);
        assert_eq!(s.pop_due(at(4)), None, "too early does nothing");
        assert_eq!(s.pop_due(at(5)), Some((at(5), "b")));
        assert!(s.is_empty());
    }

    proptest! {
        /// Pops come in deadline order, ties in arming order, and a
        /// cancelled or re-armed timer fires once at its last deadline.
        #[test]
        fn pops_follow_deadline_then_arming_order(
            ops in proptest::collection::vec((0u8..16, 0u64..8, any::<bool>()), 1..64)
        ) {
            let mut s = Scheduler::new();
            let mut model: BTreeMap<u8, (u64, usize)> = BTreeMap::new();
            for (i, (key, ms, cancel)) in ops.iter().enumerate() {
                if *cancel {
                    s.cancel(key);
                    model.remove(key);
                } else {
                    s.arm(*key, at(*ms));
                    model.insert(*key, (*ms, i));
                }
            }
            let mut expected: Vec<(u64, usize, u8)> = model.iter().map(|(k, (ms, i))| (*ms, *i, *k)).collect();
            expected.sort();
            let mut got = Vec::new();
            while let Some((t, k)) = s.pop_due(at(100)) {
                got.push((t, k));
            }
            let want: Vec<(Instant, u8)> = expected.iter().map(|(ms, _, k)| (at(*ms), *k)).collect();
            prop_assert_eq!(got, want);
        }
    }
}
