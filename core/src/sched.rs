//! The one timer queue every node uses (STYLE.md §1).
//!
//! Timers are data: a key of the caller's choosing (an enum naming the
//! timer) and a deadline. Each key is armed at most once; re-arming moves
//! it. Due timers come out ordered by (deadline, arming sequence), so ties
//! are broken by the order in which they were armed — deterministically.
//!
//! A request arms and cancels timers far more often than they fire, so
//! arming is a heap push and cancelling only forgets the key: the heap
//! keeps the stale entry until it surfaces at the top or until stale
//! entries outnumber the armed ones, then the heap is rebuilt. The key map
//! is only looked up, never iterated, so its hash order cannot leak into
//! what the queue does.

use crate::time::Instant;
use rustc_hash::FxHashMap;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::hash::Hash;

/// Stale entries tolerated beyond the armed count before a rebuild.
const SLACK: usize = 64;

/// One arming in the heap, ordered by (deadline, arming sequence).
#[derive(Debug, Clone)]
struct Arming<K> {
    at: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Arming<K> {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}

impl<K> Eq for Arming<K> {}

impl<K> PartialOrd for Arming<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Arming<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A deterministic timer queue keyed by `K`.
#[derive(Debug, Clone)]
pub struct Scheduler<K: Hash + Eq + Clone> {
    /// Armings, earliest on top; some may be stale (cancelled or
    /// re-armed), but never the top one.
    heap: BinaryHeap<Reverse<Arming<K>>>,
    /// Each armed key's deadline and arming sequence.
    armed: FxHashMap<K, (Instant, u64)>,
    /// Sequence number of the next arming.
    next_seq: u64,
}

impl<K: Hash + Eq + Clone> Default for Scheduler<K> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            armed: FxHashMap::default(),
            next_seq: 0,
        }
    }
}

impl<K: Hash + Eq + Clone> Scheduler<K> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `key` to fire at `at`, replacing any earlier arming of it.
    pub fn arm(&mut self, key: K, at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let replaced = self.armed.insert(key.clone(), (at, seq)).is_some();
        self.heap.push(Reverse(Arming { at, seq, key }));
        if replaced {
            self.tidy();
        }
    }

    /// Disarms `key`; nothing happens when it is not armed.
    pub fn cancel(&mut self, key: &K) {
        if self.armed.remove(key).is_some() {
            self.tidy();
        }
    }

    /// When `key` fires, if armed.
    pub fn deadline(&self, key: &K) -> Option<Instant> {
        self.armed.get(key).map(|(at, _)| *at)
    }

    /// The earliest deadline of all armed timers.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(a)| a.at)
    }

    /// Removes and returns the first timer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        if self.heap.peek()?.0.at > now {
            return None;
        }
        let Reverse(Arming { at, key, .. }) = self.heap.pop()?;
        self.armed.remove(&key);
        self.tidy();
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

    /// Whether `a` is its key's current arming.
    fn is_live(armed: &FxHashMap<K, (Instant, u64)>, a: &Arming<K>) -> bool {
        armed.get(&a.key).is_some_and(|(_, seq)| *seq == a.seq)
    }

    /// Drops stale armings from the top, so the top is live; rebuilds the
    /// heap once stale armings outnumber live ones by [`SLACK`].
    fn tidy(&mut self) {
        let armed = &self.armed;
        if self.heap.len() > 2 * armed.len() + SLACK {
            self.heap.retain(|Reverse(a)| Self::is_live(armed, a));
        }
        while self
            .heap
            .peek()
            .is_some_and(|Reverse(a)| !Self::is_live(armed, a))
        {
            self.heap.pop();
        }
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

impl<K: Hash + Eq + Clone> Timers<K> for Scheduler<K> {
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
pub struct Scoped<'a, N: Hash + Eq + Clone, K> {
    /// The node's scheduler.
    pub sched: &'a mut Scheduler<N>,
    /// How a `K` becomes an `N`.
    pub wrap: fn(K) -> N,
}

impl<N: Hash + Eq + Clone, K> Timers<K> for Scoped<'_, N, K> {
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
    use std::collections::BTreeMap;

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
        /// Against a model (a sorted list of armed timers): arming,
        /// re-arming, cancelling and popping in any mix, with enough
        /// stale armings to force rebuilds, pops come in deadline order,
        /// ties in arming order, each timer once at its last deadline,
        /// and the next deadline is always the model's earliest.
        #[test]
        fn pops_follow_deadline_then_arming_order(
            ops in proptest::collection::vec((0u8..16, 0u64..64, 0u8..4), 1..600)
        ) {
            let mut s = Scheduler::new();
            let mut model: BTreeMap<u8, (u64, usize)> = BTreeMap::new();
            let earliest = |m: &BTreeMap<u8, (u64, usize)>| {
                m.iter().map(|(k, (ms, i))| (*ms, *i, *k)).min()
            };
            let mut now = 0;
            for (i, (key, ms, op)) in ops.iter().enumerate() {
                match op {
                    0 => {
                        s.cancel(key);
                        model.remove(key);
                    }
                    1 => {
                        now += 1;
                        let want = earliest(&model).filter(|(t, _, _)| *t <= now);
                        if let Some((_, _, k)) = want {
                            model.remove(&k);
                        }
                        prop_assert_eq!(s.pop_due(at(now)), want.map(|(t, _, k)| (at(t), k)));
                    }
                    _ => {
                        s.arm(*key, at(now + ms));
                        model.insert(*key, (now + ms, i));
                    }
                }
                prop_assert_eq!(s.next_deadline(), earliest(&model).map(|(t, _, _)| at(t)));
                prop_assert_eq!(s.len(), model.len());
                prop_assert_eq!(s.deadline(key), model.get(key).map(|(t, _)| at(*t)));
            }
            let mut expected: Vec<(u64, usize, u8)> = model.iter().map(|(k, (ms, i))| (*ms, *i, *k)).collect();
            expected.sort();
            let mut got = Vec::new();
            while let Some((t, k)) = s.pop_due(at(u64::from(u32::MAX))) {
                got.push((t, k));
            }
            let want: Vec<(Instant, u8)> = expected.iter().map(|(ms, _, k)| (at(*ms), *k)).collect();
            prop_assert_eq!(got, want);
        }

        /// Rebuilds keep the heap bounded: many cancelled armings leave
        /// at most the slack behind.
        #[test]
        fn cancelled_armings_do_not_pile_up(n in 1usize..2000) {
            let mut s = Scheduler::new();
            s.arm(u64::MAX, at(0));
            for k in 0..n as u64 {
                s.arm(k, at(1000 + k));
                s.cancel(&k);
            }
            prop_assert!(s.heap.len() <= 2 * s.len() + SLACK + 1);
        }
    }
}
