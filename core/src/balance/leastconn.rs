//! HAProxy's `leastconn` (`lb_fwlc.c`, spec/haproxy.md §3.3): servers
//! ordered by `(inflight + 1) * 4096 / eweight` (0 when idle); equal keys
//! in the order they were (re)inserted, so idle servers take turns.

use super::fwrr::{EWGHT_MAX, WEIGHT_SCALE};
use std::collections::BTreeMap;

/// Leastconn order of one group.
#[derive(Debug, Clone, Default)]
pub struct Fwlc {
    tree: BTreeMap<(u64, u64), usize>,
    /// Each queued server's node key.
    keys: BTreeMap<usize, (u64, u64)>,
    seq: u64,
}

impl Fwlc {
    /// (Re)inserts server `i` with `inflight` connections and user weight
    /// `uweight`; it goes after servers with the same key.
    pub fn reposition(&mut self, i: usize, inflight: u32, uweight: u32) {
        self.remove(i);
        let eweight = u64::from(uweight * WEIGHT_SCALE).max(1);
        let key = if inflight == 0 {
            0
        } else {
            (u64::from(inflight) + 1) * u64::from(EWGHT_MAX) / eweight
        };
        self.seq += 1;
        self.tree.insert((key, self.seq), i);
        self.keys.insert(i, (key, self.seq));
    }

    /// True when server `i` is queued.
    pub fn contains(&self, i: usize) -> bool {
        self.keys.contains_key(&i)
    }

    /// Takes server `i` out (down, or weight 0).
    pub fn remove(&mut self, i: usize) {
        if let Some(k) = self.keys.remove(&i) {
            self.tree.remove(&k);
        }
    }

    /// The least loaded server not `full`, preferring one that is not `avoid`.
    pub fn pick(&self, avoid: Option<usize>, full: &dyn Fn(usize) -> bool) -> Option<usize> {
        let mut avoided = None;
        for &i in self.tree.values() {
            if full(i) {
                continue;
            }
            if Some(i) != avoid {
                return Some(i);
            }
            avoided = Some(i);
        }
        avoided
    }
}
