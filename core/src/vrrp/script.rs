//! A tracked `vrrp_script`'s health: keepalived's rise/fall counter
//! (spec/vrrp-keepalived.md §2.7) in its 2.x and 1.x variants.
//!
//! The script itself runs in the driver; this only counts its results.

use crate::config::keepalived::{Compat, VrrpScript};
use crate::log::keepalived::{Record, ScriptEnd};
use crate::time::Duration;

/// Whether a script currently counts as passing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No result yet (2.x): neither adds nor subtracts.
    Init,
    /// Passing.
    Ok,
    /// Failing.
    Ko,
}

/// One tracked script's counters.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    /// Name, for log lines.
    pub(crate) name: String,
    /// The command line.
    pub(crate) command: String,
    /// Time between launches.
    pub(crate) interval: Duration,
    /// Longest a run may take.
    pub(crate) timeout: Duration,
    rise: i64,
    fall: i64,
    /// keepalived's `result`: 0..rise-1 failing, rise..rise+fall-1 passing.
    pub(crate) result: i64,
    /// 2.x: the last exit status, for "now returning".
    last_status: i32,
    /// Current health.
    pub(crate) health: Health,
    /// A run is in progress.
    pub(crate) running: bool,
}

impl Tracker {
    /// A tracker for `s` in its initial state.
    pub(crate) fn new(s: &VrrpScript, compat: Compat) -> Self {
        let (rise, fall) = (i64::from(s.rise), i64::from(s.fall));
        let health = match (s.init_fail, compat) {
            (true, _) | (false, Compat::V1_2) => Health::Ko,
            (false, Compat::V2_2) => Health::Init,
        };
        Self {
            name: s.name.clone(),
            command: s.script.clone(),
            interval: s.interval,
            timeout: s.timeout.unwrap_or(s.interval),
            rise,
            fall,
            result: if s.init_fail { 0 } else { rise - 1 },
            last_status: 0,
            health,
            running: false,
        }
    }

    /// Counts one run's end; returns the new health when it changed, and
    /// pushes the lines keepalived prints.
    pub(crate) fn observe(
        &mut self,
        end: ScriptEnd,
        compat: Compat,
        log: &mut Vec<Record>,
    ) -> Option<Health> {
        let success = end == ScriptEnd::Exited(0);
        if let (ScriptEnd::Exited(status), Compat::V2_2) = (end, compat) {
            if status != self.last_status {
                log.push(Record::ScriptNowReturning {
                    script: self.name.clone(),
                    status,
                });
                self.last_status = status;
            }
        }
        let full = self.rise + self.fall - 1;
        let before = self.health;
        if success {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else {
                if self.result < self.rise || self.health == Health::Init {
                    log.push(Record::ScriptSucceeded {
                        script: self.name.clone(),
                    });
                    self.health = Health::Ok;
                }
                self.result = full;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            // 1.x stays silent on a first failure from its initial state.
            let announce = match compat {
                Compat::V2_2 => self.result == self.rise || self.health == Health::Init,
                Compat::V1_2 => self.result >= self.rise,
            };
            if announce {
                log.push(Record::ScriptFailed {
                    script: self.name.clone(),
                    end,
                });
            }
            self.health = Health::Ko;
            self.result = 0;
        }
        (self.health != before).then_some(self.health)
    }

    /// Reload: the same script (same name and command) keeps its health,
    /// its counter placed as far from the rise / fall edge as before
    /// (keepalived's `clear_diff_script`); one that had not answered yet
    /// starts over.
    pub(crate) fn carry(&mut self, old: &Self) {
        if old.name != self.name || old.command != self.command || old.health == Health::Init {
            return;
        }
        let full = self.rise + self.fall - 1;
        self.result = if old.result < old.rise {
            (self.rise - (old.rise - old.result)).max(0)
        } else {
            (self.rise + (old.result - old.rise)).min(full)
        };
        self.health = old.health;
        self.last_status = old.last_status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(rise: u32, fall: u32) -> VrrpScript {
        VrrpScript {
            name: "chk".into(),
            script: "killall -0 haproxy".into(),
            interval: Duration::from_secs(2),
            timeout: None,
            weight: 21,
            reverse: false,
            rise,
            fall,
            user: None,
            init_fail: false,
            line: 1,
        }
    }

    fn run(t: &mut Tracker, ends: &[i32], compat: Compat) -> (Vec<Option<Health>>, Vec<String>) {
        let mut log = Vec::new();
        let changes = ends
            .iter()
            .map(|e| t.observe(ScriptEnd::Exited(*e), compat, &mut log))
            .collect();
        (changes, log.iter().map(|r| r.text(compat)).collect())
    }

    #[test]
    fn first_result_decides_then_rise_and_fall_count() {
        let mut t = Tracker::new(&script(2, 3), Compat::V2_2);
        let (changes, log) = run(&mut t, &[0, 1, 1, 1, 0, 0], Compat::V2_2);
        assert_eq!(
            changes,
            [
                Some(Health::Ok),
                None,
                None,
                Some(Health::Ko),
                None,
                Some(Health::Ok)
            ]
        );
        assert_eq!(
            log,
            [
                "VRRP_Script(chk) succeeded",
                "Script `chk` now returning 1",
                "VRRP_Script(chk) failed (exited with status 1)",
                "Script `chk` now returning 0",
                "VRRP_Script(chk) succeeded",
            ]
        );
    }

    #[test]
    fn v1_counts_initial_state_as_failing_and_is_silent_about_it() {
        let mut t = Tracker::new(&script(1, 1), Compat::V1_2);
        assert_eq!(t.health, Health::Ko);
        let (changes, log) = run(&mut t, &[1, 0, 1], Compat::V1_2);
        assert_eq!(changes, [None, Some(Health::Ok), Some(Health::Ko)]);
        assert_eq!(
            log,
            ["VRRP_Script(chk) succeeded", "VRRP_Script(chk) failed"]
        );
    }

    #[test]
    fn v2_first_failure_is_announced() {
        let mut t = Tracker::new(&script(1, 1), Compat::V2_2);
        let (changes, log) = run(&mut t, &[1], Compat::V2_2);
        assert_eq!(changes, [Some(Health::Ko)]);
        assert_eq!(
            log,
            [
                "Script `chk` now returning 1",
                "VRRP_Script(chk) failed (exited with status 1)"
            ]
        );
    }
}
