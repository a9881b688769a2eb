//! HAProxy's `roundrobin`: the fast weighted round robin (FWRR) of
//! `lb_fwrr.c`, reproduced so that pick sequences match real haproxy byte
//! for byte (spec/haproxy.md §3.1), including servers going down and up
//! and weights changing while traffic flows.
//!
//! Each group (active, backup) keeps three ordered "trees": `curr` keyed by
//! next position, and `init` / `next` keyed by weight; equal keys keep
//! insertion order, as haproxy's ebtrees do.

use std::collections::BTreeMap;

/// Effective weight of the heaviest server (`SRV_EWGHT_MAX`).
pub(crate) const EWGHT_MAX: u32 = 4096;
/// Effective weight per user weight unit (`BE_WEIGHT_SCALE`).
pub(crate) const WEIGHT_SCALE: u32 = 16;
/// Positions per user weight unit in `curr` keys (`SRV_UWGHT_RANGE`).
const UWGHT_RANGE: u32 = 256;

/// Which tree a server sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    Curr,
    /// One of the two weight-keyed trees (index into `wtrees`).
    Weight(usize),
}

#[derive(Debug, Clone, Default)]
struct Slot {
    /// Committed effective weight (`cur_eweight`).
    eweight: u32,
    /// Next position, remainder, last position.
    npos: i64,
    rweight: i64,
    lpos: i64,
    tree: Option<(Tree, (u32, u64))>,
    usable: bool,
    backup: bool,
}

/// One group (active or backup servers).
#[derive(Debug, Clone, Default)]
struct Group {
    curr: BTreeMap<(u32, u64), usize>,
    wtrees: [BTreeMap<(u32, u64), usize>; 2],
    /// Index in `wtrees` of `init`; the other is `next`.
    init: usize,
    curr_pos: i64,
    curr_weight: i64,
    next_weight: i64,
}

/// FWRR state of one backend.
#[derive(Debug, Clone)]
pub struct Fwrr {
    slots: Vec<Slot>,
    act: Group,
    bck: Group,
    seq: u64,
    /// First usable backup in config order, unless `allbackups`.
    fbck: Option<usize>,
    allbackups: bool,
}

impl Fwrr {
    /// Builds the state for servers `(user weight, backup, usable)` in
    /// config order.
    pub fn new(servers: &[(u32, bool, bool)], allbackups: bool) -> Self {
        let slots: Vec<Slot> = servers
            .iter()
            .map(|(w, backup, usable)| Slot {
                eweight: w * WEIGHT_SCALE,
                usable: *usable && *w > 0,
                backup: *backup,
                ..Slot::default()
            })
            .collect();
        let mut f = Self {
            slots,
            act: Group::default(),
            bck: Group::default(),
            seq: 0,
            fbck: None,
            allbackups,
        };
        for backup in [false, true] {
            let total: i64 = f
                .slots
                .iter()
                .filter(|s| s.backup == backup && s.usable)
                .map(|s| i64::from(s.eweight))
                .sum();
            let g = f.group_mut(backup);
            g.curr_pos = total;
            g.curr_weight = total;
            g.next_weight = total;
            g.init = 0;
        }
        for i in 0..f.slots.len() {
            if f.slots[i].usable {
                let init = f.group(f.slots[i].backup).init;
                f.queue_by_weight(i, init);
            }
        }
        f.fbck = f.first_backup();
        f
    }

    fn group(&self, backup: bool) -> &Group {
        if backup {
            &self.bck
        } else {
            &self.act
        }
    }

    fn group_mut(&mut self, backup: bool) -> &mut Group {
        if backup {
            &mut self.bck
        } else {
            &mut self.act
        }
    }

    fn first_backup(&self) -> Option<usize> {
        if self.allbackups {
            return None;
        }
        self.slots.iter().position(|s| s.backup && s.usable)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn dequeue(&mut self, i: usize) {
        if let Some((tree, key)) = self.slots[i].tree.take() {
            let g = self.group_mut(self.slots[i].backup);
            match tree {
                Tree::Curr => g.curr.remove(&key),
                Tree::Weight(t) => g.wtrees[t].remove(&key),
            };
        }
    }

    fn queue_by_weight(&mut self, i: usize, tree: usize) {
        self.dequeue(i);
        let key = (
            EWGHT_MAX - self.slots[i].eweight.min(EWGHT_MAX),
            self.next_seq(),
        );
        self.group_mut(self.slots[i].backup).wtrees[tree].insert(key, i);
        self.slots[i].tree = Some((Tree::Weight(tree), key));
    }

    /// haproxy's `fwrr_queue_srv`: into `curr` at its position, or `next`.
    fn queue(&mut self, i: usize) {
        self.dequeue(i);
        let backup = self.slots[i].backup;
        if !self.slots[i].usable {
            return;
        }
        let (curr_weight, next_weight, next_tree) = {
            let g = self.group(backup);
            (g.curr_weight, g.next_weight, 1 - g.init)
        };
        let s = &self.slots[i];
        if s.eweight == 0 || s.npos >= 2 * curr_weight || s.npos >= curr_weight + next_weight {
            self.slots[i].npos -= curr_weight;
            self.queue_by_weight(i, next_tree);
        } else {
            let key0 = (i64::from(UWGHT_RANGE) * s.npos
                + (i64::from(EWGHT_MAX) + s.rweight - i64::from(s.eweight))
                    / i64::from(WEIGHT_SCALE))
            .clamp(0, i64::from(u32::MAX)) as u32;
            let key = (key0, self.next_seq());
            self.group_mut(backup).curr.insert(key, i);
            self.slots[i].tree = Some((Tree::Curr, key));
        }
    }

    /// haproxy's `fwrr_get_srv`: reset a server's position by its tree.
    fn get_srv(&mut self, i: usize) {
        let backup = self.slots[i].backup;
        let (init, curr_weight, curr_pos) = {
            let g = self.group(backup);
            (g.init, g.curr_weight, g.curr_pos)
        };
        let s = &mut self.slots[i];
        match s.tree {
            Some((Tree::Weight(t), _)) if t == init => {
                s.npos = 0;
                s.rweight = 0;
            }
            Some((Tree::Weight(_), _)) => s.npos += curr_weight,
            None => s.npos = curr_pos,
            Some((Tree::Curr, _)) => {}
        }
    }

    fn candidate_in_group(&mut self, backup: bool) -> Option<usize> {
        let g = self.group(backup);
        let s1 = g.curr.values().next().copied();
        if let Some(i) = s1 {
            if self.slots[i].eweight > 0 && self.slots[i].npos <= g.curr_pos {
                return Some(i);
            }
        }
        if let Some(&i) = g.wtrees[g.init].values().next() {
            if self.slots[i].eweight > 0 {
                self.slots[i].npos = 0;
                self.slots[i].rweight = 0;
                return Some(i);
            }
        }
        s1
    }

    fn update_position(&mut self, backup: bool, i: usize) {
        let (curr_pos, next_weight) = {
            let g = self.group(backup);
            (g.curr_pos, g.next_weight)
        };
        let s = &mut self.slots[i];
        let ew = i64::from(s.eweight);
        if ew == 0 {
            return;
        }
        if s.npos == 0 {
            s.npos = curr_pos;
        }
        s.lpos = s.npos;
        s.npos += next_weight / ew;
        s.rweight += next_weight % ew;
        if s.rweight >= ew {
            s.rweight -= ew;
            s.npos += 1;
        }
    }

    /// Picks the next server, skipping those `full(i)` says are saturated
    /// and, when possible, `avoid` (haproxy's `fwrr_get_next_server`).
    pub fn pick(&mut self, avoid: Option<usize>, full: &dyn Fn(usize) -> bool) -> Option<usize> {
        let has_active = self.slots.iter().any(|s| !s.backup && s.usable);
        let backup = if has_active {
            false
        } else if let Some(b) = self.fbck {
            return Some(b);
        } else if self.slots.iter().any(|s| s.backup && s.usable) {
            true
        } else {
            return None;
        };
        let mut switched = false;
        let mut avoided = None;
        let mut saturated = Vec::new();
        let chosen = loop {
            {
                let g = self.group_mut(backup);
                if g.curr_weight == 0 {
                    g.curr_pos = g.next_weight;
                    g.curr_weight = g.next_weight;
                }
            }
            let srv = loop {
                if let Some(s) = self.candidate_in_group(backup) {
                    break Some(s);
                }
                if switched {
                    break None;
                }
                switched = true;
                let g = self.group_mut(backup);
                g.init = 1 - g.init;
                g.curr_weight = g.next_weight;
                g.curr_pos = g.curr_weight;
            };
            let Some(srv) = srv else {
                if let Some(a) = avoided {
                    self.queue(a);
                    break Some(a);
                }
                break None;
            };
            self.update_position(backup, srv);
            self.dequeue(srv);
            self.group_mut(backup).curr_pos += 1;
            if !full(srv) {
                if Some(srv) != avoid || avoided.is_some() {
                    self.queue(srv);
                    break Some(srv);
                }
                avoided = Some(srv);
            }
            saturated.push(srv);
        };
        for s in saturated.into_iter().filter(|s| Some(*s) != chosen) {
            if switched {
                let init = self.group(backup).init;
                self.queue_by_weight(s, init);
            } else {
                self.queue(s);
            }
        }
        chosen
    }

    /// A server added at run time, not usable yet (it starts in
    /// maintenance); its index is the next one.
    pub fn add(&mut self, uweight: u32, backup: bool) {
        self.slots.push(Slot {
            eweight: uweight * WEIGHT_SCALE,
            backup,
            ..Slot::default()
        });
    }

    /// A server became usable or unusable (health, maintenance).
    pub fn set_usable(&mut self, i: usize, usable: bool) {
        let usable = usable && self.slots[i].eweight > 0;
        if self.slots[i].usable == usable {
            return;
        }
        let backup = self.slots[i].backup;
        let ew = i64::from(self.slots[i].eweight);
        if usable {
            self.group_mut(backup).next_weight += ew;
            self.slots[i].usable = true;
            self.get_srv(i);
            let g = self.group(backup);
            self.slots[i].npos = g.curr_pos + (g.next_weight + g.curr_weight - g.curr_pos) / ew;
            self.queue(i);
        } else {
            self.group_mut(backup).next_weight -= ew;
            self.slots[i].usable = false;
            self.dequeue(i);
        }
        self.fbck = self.first_backup();
    }

    /// A server's user weight changed (`set weight`, slowstart).
    pub fn set_weight(&mut self, i: usize, uweight: u32) {
        let new_ew = uweight * WEIGHT_SCALE;
        let old_ew = self.slots[i].eweight;
        let was = self.slots[i].usable;
        if !was {
            self.slots[i].eweight = new_ew;
            return;
        }
        if new_ew == 0 {
            self.set_usable(i, false);
            self.slots[i].eweight = 0;
            return;
        }
        let backup = self.slots[i].backup;
        {
            let g = self.group_mut(backup);
            g.next_weight = g.next_weight - i64::from(old_ew) + i64::from(new_ew);
        }
        let init = self.group(backup).init;
        match self.slots[i].tree {
            Some((Tree::Weight(t), _)) if t == init => {
                self.slots[i].eweight = new_ew;
                self.queue_by_weight(i, init);
            }
            None => {
                self.get_srv(i);
                self.slots[i].eweight = new_ew;
                let g = self.group(backup);
                self.slots[i].npos =
                    g.curr_pos + (g.next_weight + g.curr_weight - g.curr_pos) / i64::from(new_ew);
                self.queue(i);
            }
            Some(_) => {
                self.get_srv(i);
                self.slots[i].eweight = new_ew;
                let g = self.group(backup);
                let (curr_pos, next_weight) = (g.curr_pos, g.next_weight);
                let prev_next = self.slots[i].npos;
                let step = next_weight / i64::from(new_ew);
                let s = &mut self.slots[i];
                s.npos = (s.lpos + step).min(prev_next);
                s.rweight = 0;
                if s.npos < curr_pos + 2 {
                    s.npos = curr_pos + step;
                }
                self.queue(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` picks with weights `w` (all usable, active), 1-based as the spec writes them.
    fn seq(w: &[u32], n: usize) -> String {
        let servers: Vec<(u32, bool, bool)> = w.iter().map(|w| (*w, false, true)).collect();
        let mut f = Fwrr::new(&servers, false);
        (0..n)
            .map(|_| {
                f.pick(None, &|_| false)
                    .map_or('-', |i| char::from(b'1' + i as u8))
            })
            .collect()
    }

    #[test]
    fn sequences_measured_on_real_haproxy() {
        for (w, expected) in [
            (&[1, 1, 1][..], "123123123"),
            (&[6, 6], "12121212"),
            (&[3, 1], "11121112"),
            (&[1, 3], "22212221"),
            (&[2, 1], "112112"),
            (&[5, 3, 2], "12131212131213121213"),
            (&[1, 2, 3], "323132323132"),
            (&[4, 3, 2, 1], "1213214123"),
            (&[2, 2, 1], "1212312123"),
            (&[7, 5], "112121211212"),
            (&[10, 7, 3], "12121312121312121123"),
            (&[3, 0, 1], "11131113"),
            // A first cycle is not exact: 15/7/12 of 34 (haproxy 2.6.12 too).
            (
                &[14, 8, 12],
                "13131231231132131231312312311321312313123123113213123131231231132131",
            ),
        ] {
            assert_eq!(seq(w, expected.len()), expected, "weights {w:?}");
        }
    }

    /// Measured on haproxy 2.6.12 (`nbthread 1`, weights 5:3:2): 13 picks,
    /// `disable server b/s2`, 10 picks, `enable server b/s2`, 20 picks,
    /// `set weight b/s1 1`, 20 picks, `set weight b/s3 6`, 20 picks.
    #[test]
    fn down_up_and_weight_changes_mid_stream() {
        let mut f = Fwrr::new(
            &[(5, false, true), (3, false, true), (2, false, true)],
            false,
        );
        let picks = |f: &mut Fwrr, n: usize| -> String {
            (0..n)
                .map(|_| {
                    f.pick(None, &|_| false)
                        .map_or('-', |i| char::from(b'1' + i as u8))
                })
                .collect()
        };
        assert_eq!(picks(&mut f, 13), "1213121213121");
        f.set_usable(1, false);
        assert_eq!(picks(&mut f, 10), "3113111311");
        f.set_usable(1, true);
        assert_eq!(picks(&mut f, 20), "31211321123121132112");
        f.set_weight(0, 1);
        assert_eq!(picks(&mut f, 20), "32322132322132322132");
        f.set_weight(2, 6);
        assert_eq!(picks(&mut f, 20), "32331233323233123332");
    }

    #[test]
    fn heavy_imbalance_100_to_1() {
        let s = seq(&[100, 1], 202);
        let twos: Vec<usize> = s
            .char_indices()
            .filter(|(_, c)| *c == '2')
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(twos, [101, 202]);
    }
}
