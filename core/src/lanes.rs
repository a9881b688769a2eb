//! Requests kept apart by lane. A runtime serving on several threads
//! gives each thread a lane and numbers its requests so that
//! [`lane_of`] finds it again: what core keeps per request (the stream,
//! its timers) then sits in memory that thread alone writes, and two
//! threads taking turns at the one core do not pull each other's cache
//! lines back and forth. One lane (the simulator's) is one map and one
//! timer queue, as before lanes.

use rustc_hash::FxHashMap;

/// How many lanes `threads` serving threads use: the power of two at or
/// above (at least one), so that [`lane_of`] is a mask, not a division.
pub fn count_for(threads: usize) -> usize {
    threads.max(1).next_power_of_two()
}

/// The lane of request `id` among `count` lanes, a count
/// [`count_for`] gave: its low bits.
pub fn lane_of(id: u64, count: usize) -> usize {
    debug_assert!(count.is_power_of_two(), "{count} lanes");
    // The mask keeps the bits below `count`: the cast loses nothing.
    (id & (count as u64).saturating_sub(1)) as usize
}

/// A value of each lane of `threads` threads ([`count_for`]), each on
/// cache lines of its own.
pub fn per_lane<T: Default>(threads: usize) -> Box<[Padded<T>]> {
    (0..count_for(threads)).map(|_| Padded::default()).collect()
}

/// A value alone on its cache lines (128 bytes: two lines, as adjacent
/// lines are fetched in pairs), so that what one thread writes never
/// shares a line with what another does.
#[derive(Debug, Clone, Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

/// Values by request id, each in its request's lane.
#[derive(Debug, Clone)]
pub struct ByLane<V> {
    lanes: Box<[Padded<FxHashMap<u64, V>>]>,
}

impl<V> Default for ByLane<V> {
    /// Empty, in one lane.
    fn default() -> Self {
        Self::new(1)
    }
}

impl<V> ByLane<V> {
    /// Empty, over the lanes of `threads` threads ([`count_for`]).
    pub fn new(threads: usize) -> Self {
        Self {
            lanes: per_lane(threads),
        }
    }

    fn lane(&self, id: u64) -> &FxHashMap<u64, V> {
        &self.lanes[lane_of(id, self.lanes.len())].0
    }

    fn lane_mut(&mut self, id: u64) -> &mut FxHashMap<u64, V> {
        let lane = lane_of(id, self.lanes.len());
        &mut self.lanes[lane].0
    }

    /// Request `id`'s value.
    pub fn get(&self, id: &u64) -> Option<&V> {
        self.lane(*id).get(id)
    }

    /// Request `id`'s value, to change.
    pub fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        self.lane_mut(*id).get_mut(id)
    }

    /// Keeps `value` for request `id`; the value it had, if any.
    pub fn insert(&mut self, id: u64, value: V) -> Option<V> {
        self.lane_mut(id).insert(id, value)
    }

    /// Takes request `id`'s value out.
    pub fn remove(&mut self, id: &u64) -> Option<V> {
        self.lane_mut(*id).remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: ids 0..12 kept over three threads' lanes (four), some taken
    // out again. Expected: each found where it was kept (and only
    // there), and the lanes' memory on lines of its own.
    #[test]
    fn keeps_each_id_in_its_lane() {
        let mut by = ByLane::new(3);
        assert_eq!(by.lanes.len(), 4);
        for id in 0..12u64 {
            assert_eq!(by.insert(id, id * 10), None);
        }
        assert_eq!(by.lanes[1].0.len(), 3);
        assert!(by.lanes[1].0.keys().all(|id| id % 4 == 1));
        assert_eq!(by.remove(&4), Some(40));
        assert_eq!(by.get(&4), None);
        *by.get_mut(&5).expect("kept") += 1;
        assert_eq!(by.get(&5), Some(&51));
        assert_eq!((count_for(0), count_for(1), count_for(5)), (1, 1, 8));
        assert_eq!(lane_of(7, 1), 0);
        assert_eq!(lane_of(13, 8), 5);
        assert_eq!(std::mem::align_of::<Padded<u8>>(), 128);
    }
}
