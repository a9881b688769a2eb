//! HAProxy's health counter (spec/haproxy.md §2.1): `health` in
//! `0..rise+fall`, UP at `rise` or more; a transition fills the counter
//! in the new direction.

/// rise/fall hysteresis of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    rise: u32,
    fall: u32,
    health: u32,
}

impl Counter {
    /// A server starting UP, one failure away from DOWN (`health = rise`).
    pub fn new(rise: u32, fall: u32) -> Self {
        let rise = rise.max(1);
        Self {
            rise,
            fall: fall.max(1),
            health: rise,
        }
    }

    /// True while the server is usable.
    pub fn is_up(&self) -> bool {
        self.health >= self.rise
    }

    /// Full up: `health == rise + fall - 1`.
    pub fn is_full_up(&self) -> bool {
        self.health == self.rise + self.fall - 1
    }

    /// Full down: `health == 0`.
    pub fn is_full_down(&self) -> bool {
        self.health == 0
    }

    /// Counts one check; returns `Some(up)` when the server flipped.
    pub fn observe(&mut self, passed: bool) -> Option<bool> {
        let was_up = self.is_up();
        let full = self.rise + self.fall - 1;
        if passed {
            if self.health < full {
                self.health += 1;
                if self.health >= self.rise {
                    self.health = full;
                }
            }
        } else if self.health > 0 {
            self.health -= 1;
            if self.health < self.rise {
                self.health = 0;
            }
        }
        (self.is_up() != was_up).then_some(self.is_up())
    }

    /// `(rise, fall, health)`, as the stats CSV shows them.
    pub fn values(&self) -> (u32, u32, u32) {
        (self.rise, self.fall, self.health)
    }

    /// The stats `status` column: `UP`, `UP 1/3` (going down), `DOWN`,
    /// `DOWN 1/2` (going up).
    pub fn stats_status(&self) -> String {
        if self.is_full_up() {
            "UP".into()
        } else if self.is_full_down() {
            "DOWN".into()
        } else if self.is_up() {
            format!("UP {}/{}", self.health - self.rise + 1, self.fall)
        } else {
            format!("DOWN {}/{}", self.health, self.rise)
        }
    }

    /// `3/3 UP`, `1/2 DOWN`: the form logs and stats use.
    pub fn display(&self) -> String {
        if self.is_up() {
            format!("{}/{} UP", self.health - self.rise + 1, self.fall)
        } else {
            format!("{}/{} DOWN", self.health, self.rise)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_walk_rise_2_fall_3() {
        let mut c = Counter::new(2, 3);
        assert_eq!(c.display(), "1/3 UP");
        assert_eq!(c.observe(true), None);
        let mut seen = vec![c.display()];
        for (pass, flip) in [
            (false, None),
            (false, None),
            (false, Some(false)),
            (true, None),
            (true, Some(true)),
        ] {
            assert_eq!(c.observe(pass), flip);
            seen.push(c.display());
        }
        assert_eq!(
            seen,
            ["3/3 UP", "2/3 UP", "1/3 UP", "0/2 DOWN", "1/2 DOWN", "3/3 UP"]
        );
        let mut fresh = Counter::new(2, 3);
        assert_eq!(
            fresh.observe(false),
            Some(false),
            "one failure at start puts it DOWN"
        );
    }

    proptest! {
        /// From full up it takes exactly `fall` failures to go DOWN, and from
        /// full down exactly `rise` successes to come UP.
        #[test]
        fn hysteresis(rise in 1u32..6, fall in 1u32..6) {
            let mut c = Counter::new(rise, fall);
            c.observe(true);
            prop_assert!(c.is_full_up() || fall == 1);
            let downs: Vec<bool> = (0..fall).map(|_| c.observe(false).is_some()).collect();
            prop_assert_eq!(downs.iter().filter(|d| **d).count(), 1);
            prop_assert!(downs[downs.len() - 1]);
            let ups: Vec<bool> = (0..rise).map(|_| c.observe(true).is_some()).collect();
            prop_assert!(ups[ups.len() - 1]);
            prop_assert_eq!(ups.iter().filter(|u| **u).count(), 1);
        }
    }
}
