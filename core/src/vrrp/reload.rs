//! [`Vrrp::reload`]: keepalived's SIGHUP. The new config replaces the old
//! one while every instance that is the same router again (same VRID,
//! family, interface) keeps its state: a MASTER stays MASTER and keeps
//! its VIPs, with no log line, notification or gratuitous ARP but for the
//! VIPs the new config adds. Instances that are gone resign; new ones
//! start as at start-up. Scripts that did not change keep their health.

use super::daemon::{HostInfo, SetupError, Vrrp};
use super::{Ctx, Output, State, Timer};
use crate::config::keepalived::KeepalivedConfig;
use crate::log::keepalived::Record;
use crate::sched::Timers;
use crate::time::Instant;

impl Vrrp {
    /// Re-reads the config as keepalived does on SIGHUP. The outputs up
    /// to [`Output::Reconfigured`] index the old config (instances that
    /// resign, VIPs that go), the ones after it the new. On an error
    /// nothing changes. A daemon that is not running only takes the
    /// config (but not while a stopped master still hands its VIPs over).
    pub fn reload(
        &mut self,
        now: Instant,
        cfg: &KeepalivedConfig,
        host: &HostInfo,
        timers: &mut dyn Timers<Timer>,
    ) -> Result<(), SetupError> {
        let mut new = Self::new(cfg, host)?;
        if !self.running {
            if !self.is_active() {
                *self = new;
            }
            return Ok(());
        }
        self.out.push_back(Output::Log(Record::Reloading));
        for s in &mut new.scripts {
            if let Some(old) = self.scripts.iter().find(|o| o.name == s.name) {
                s.carry(old);
            }
        }
        new.links_down = std::mem::take(&mut self.links_down);
        // For each new instance, the old one it continues, if it keeps
        // its state.
        let resumes: Vec<Option<usize>> = (0..new.instances.len())
            .map(|n| {
                let (fault, pending) = new.faults(n);
                self.instances
                    .iter()
                    .position(|o| o.same_router(&new.instances[n]))
                    .filter(|&o| {
                        matches!(self.instances[o].state, State::Master | State::Backup)
                            && !fault
                            && !pending
                    })
            })
            .collect();
        self.retire_old(now, &new, &resumes, timers);
        self.out.push_back(Output::Reconfigured);
        new.out = std::mem::take(&mut self.out);
        new.running = true;
        for (n, resumed) in resumes.iter().enumerate() {
            let (fault, pending) = new.faults(n);
            let total = new.adjustment(n);
            let mut ctx = Ctx {
                now,
                timers: &mut *timers,
                out: &mut new.out,
                compat: new.compat,
            };
            match resumed {
                Some(o) => new.instances[n].resume(&mut ctx, &self.instances[*o], total),
                None => new.instances[n].start(&mut ctx, fault, pending),
            }
        }
        new.launch_scripts(now, timers);
        *self = new;
        Ok(())
    }

    /// The old config's half of a reload: scripts killed, timers
    /// cancelled, instances that do not continue resigned, stale VIPs of
    /// those that do removed.
    fn retire_old(
        &mut self,
        now: Instant,
        new: &Self,
        resumes: &[Option<usize>],
        timers: &mut dyn Timers<Timer>,
    ) {
        for idx in 0..self.scripts.len() {
            timers.cancel(Timer::Script(idx));
            timers.cancel(Timer::ScriptTimeout(idx));
            if std::mem::take(&mut self.scripts[idx].running) {
                self.out.push_back(Output::KillScript { script: idx });
            }
        }
        for o in 0..self.instances.len() {
            let mut ctx = Ctx {
                now,
                timers: &mut *timers,
                out: &mut self.out,
                compat: self.compat,
            };
            let inst = &mut self.instances[o];
            match resumes.iter().position(|r| *r == Some(o)) {
                Some(n) => inst.drop_stale_vips(&mut ctx, &new.instances[n].vips),
                None => {
                    let deleted = !new.instances.iter().any(|n| n.same_router(inst));
                    inst.retire(&mut ctx, deleted);
                }
            }
        }
    }
}
