//! [`Vrrp`]: keepalived's VRRP process as one sans-IO value — instances,
//! tracked scripts and links, driven through one set of timers.

use super::instance::{Instance, Stats};
use super::mail::Mailer;
use super::packet::{self, RxConfig, RxPacket};
use super::script::{Health, Tracker};
use super::{Ctx, Output, State, Timer};
use crate::config::keepalived::{Compat, KeepalivedConfig, TrackScript, VrrpInstance, VrrpScript};
use crate::log::keepalived::{Record, ScriptEnd};
use crate::sched::Timers;
use crate::time::Instant;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

/// What the host looks like to the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// Primary address of each interface.
    pub interfaces: BTreeMap<String, IpAddr>,
    /// IPv6 link-local address of each interface (IPv6 instances send
    /// from it).
    pub links6: BTreeMap<String, IpAddr>,
    /// The host name (keepalived's default `router_id`).
    pub hostname: String,
}

/// Why a config cannot run on this host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The instance's interface has no address here and no source is set.
    #[error("({instance}) interface {interface} has no address on this host")]
    NoAddress {
        /// Instance name.
        instance: String,
        /// Its interface.
        interface: String,
    },
}

/// One tracked script of one instance, with its effective weight.
#[derive(Debug, Clone, Copy)]
struct Track {
    script: usize,
    /// Signed weight after `reverse`: >0 added while OK, <0 while KO, 0 = FAULT.
    weight: i32,
}

impl Track {
    /// `t` of a config whose scripts are `scripts`.
    fn of(t: &TrackScript, scripts: &[VrrpScript]) -> Self {
        let s = &scripts[t.script];
        let weight = t.weight.unwrap_or(s.weight);
        let reverse = t.reverse.unwrap_or(s.reverse);
        Self {
            script: t.script,
            weight: if reverse { -weight } else { weight },
        }
    }

    /// What it adds to the priority while its script is in `health`.
    fn adds(&self, health: Health) -> i32 {
        match (health, self.weight > 0) {
            (Health::Ok, true) | (Health::Ko, false) => self.weight,
            _ => 0,
        }
    }
}

/// The effective priority of `instance` (of `cfg`) while each tracked
/// script is in the health `health` gives it by index, as the daemon
/// computes it (tracked interfaces up).
pub fn priority_with(
    cfg: &KeepalivedConfig,
    instance: &VrrpInstance,
    health: impl Fn(usize) -> Health,
) -> u8 {
    let total = instance
        .track_scripts
        .iter()
        .map(|t| Track::of(t, &cfg.scripts))
        .map(|t| t.adds(health(t.script)))
        .sum();
    super::instance::clamp_priority(instance.priority, total)
}

/// A read-only view of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceView {
    /// Name.
    pub name: String,
    /// Its interface.
    pub iface: String,
    /// Its virtual router id.
    pub vrid: u8,
    /// Current state.
    pub state: State,
    /// Effective priority.
    pub priority: u8,
    /// Counters.
    pub stats: Stats,
}

/// keepalived's VRRP process.
#[derive(Debug)]
pub struct Vrrp {
    pub(super) compat: Compat,
    /// A master hands its VIPs over on a graceful stop (2.2 mode).
    handover_on_stop: bool,
    pub(super) instances: Vec<Instance>,
    tracks: Vec<Vec<Track>>,
    /// Tracked interfaces of each instance: (name, weight).
    track_ifaces: Vec<Vec<(String, i32)>>,
    pub(super) scripts: Vec<Tracker>,
    /// Interfaces reported down.
    pub(super) links_down: Vec<String>,
    pub(super) out: VecDeque<Output>,
    pub(super) running: bool,
    /// When a refused packet was last logged, per instance and reason.
    rejects_logged: BTreeMap<(usize, &'static str), Instant>,
}

/// A refused packet is logged at most this often per instance and reason
/// (a flood of forged adverts must not flood the log); all are counted.
const REJECT_LOG_EVERY: crate::time::Duration = crate::time::Duration::from_secs(1);

/// Whether instance `i` mails its state changes: `smtp_alert` on it, else
/// the global `smtp_alert_vrrp`, else `smtp_alert`; and somewhere to send.
fn mails(cfg: &KeepalivedConfig, i: &VrrpInstance) -> bool {
    let g = &cfg.global;
    let on = i
        .notify
        .smtp_alert
        .or(g.smtp_alert_vrrp)
        .or(g.smtp_alert)
        .unwrap_or(false);
    on && g.smtp_server.is_some() && !g.notification_email.is_empty()
}

impl Vrrp {
    /// Builds the daemon for `cfg` on `host`.
    pub fn new(cfg: &KeepalivedConfig, host: &HostInfo) -> Result<Self, SetupError> {
        let compat = cfg.global.compat;
        let mut instances = Vec::new();
        let mut tracks = Vec::new();
        let mut track_ifaces = Vec::new();
        for (idx, i) in cfg.instances.iter().enumerate() {
            let ipv6 = i.vips.first().is_some_and(|v| v.addr.is_ipv6());
            let addresses = if ipv6 { &host.links6 } else { &host.interfaces };
            let src = i
                .src_ip
                .or_else(|| addresses.get(&i.interface).copied())
                .ok_or_else(|| SetupError::NoAddress {
                    instance: i.name.clone(),
                    interface: i.interface.clone(),
                })?;
            let mailer = mails(cfg, i).then(|| {
                let router_id = cfg
                    .global
                    .router_id
                    .clone()
                    .unwrap_or_else(|| host.hostname.clone());
                Mailer::new(router_id, cfg.global.no_email_faults)
            });
            instances.push(Instance::new(idx, i, src, mailer));
            tracks.push(
                i.track_scripts
                    .iter()
                    .map(|t| Track::of(t, &cfg.scripts))
                    .collect(),
            );
            let mut ifaces: Vec<(String, i32)> = i
                .track_interfaces
                .iter()
                .map(|t| (t.name.clone(), t.weight))
                .collect();
            if !ifaces.iter().any(|(n, _)| *n == i.interface) {
                ifaces.push((i.interface.clone(), 0));
            }
            track_ifaces.push(ifaces);
        }
        Ok(Self {
            compat,
            handover_on_stop: cfg.global.handover_on_stop,
            instances,
            tracks,
            track_ifaces,
            scripts: cfg
                .scripts
                .iter()
                .map(|s| Tracker::new(s, compat))
                .collect(),
            links_down: Vec::new(),
            out: VecDeque::new(),
            running: false,
            rejects_logged: BTreeMap::new(),
        })
    }

    /// Which election behaviour this daemon follows.
    pub fn compat(&self) -> Compat {
        self.compat
    }

    /// Starts every instance and launches the tracked scripts (spec §2.3).
    pub fn start(&mut self, now: Instant, timers: &mut dyn Timers<Timer>) {
        self.running = true;
        for s in &mut self.scripts {
            s.running = false;
        }
        for idx in 0..self.instances.len() {
            let (fault, pending) = self.faults(idx);
            let mut ctx = Ctx {
                now,
                timers: &mut *timers,
                out: &mut self.out,
                compat: self.compat,
            };
            self.instances[idx].start(&mut ctx, fault, pending);
        }
        self.launch_scripts(now, timers);
    }

    /// Launches every tracked script an instance uses, now.
    pub(super) fn launch_scripts(&mut self, now: Instant, timers: &mut dyn Timers<Timer>) {
        for idx in (0..self.scripts.len()).filter(|i| self.script_used(*i)) {
            timers.arm(Timer::Script(idx), now);
        }
    }

    /// Graceful stop (SIGTERM): masters resign with priority 0. In 2.2
    /// mode a master keeps its VIPs until the new master is heard
    /// (make-before-break; see [`Vrrp::is_active`]) unless the config
    /// says not to (`handover_on_stop`, keepalived 2.2.7's way); in 1.2
    /// mode, which replays keepalived 1.x exactly, it drops them at once.
    pub fn stop(&mut self, now: Instant, timers: &mut dyn Timers<Timer>) {
        if !self.running {
            return;
        }
        self.running = false;
        let handover = self.compat == Compat::V2_2 && self.handover_on_stop;
        for inst in &mut self.instances {
            let mut ctx = Ctx {
                now,
                timers: &mut *timers,
                out: &mut self.out,
                compat: self.compat,
            };
            inst.stop(&mut ctx, handover);
        }
        for idx in 0..self.scripts.len() {
            timers.cancel(Timer::Script(idx));
            timers.cancel(Timer::ScriptTimeout(idx));
            if std::mem::take(&mut self.scripts[idx].running) {
                self.out.push_back(Output::KillScript { script: idx });
            }
        }
    }

    /// True between `start` and `stop`.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// True while running, or stopped but still handing a VIP over.
    pub fn is_active(&self) -> bool {
        self.running || self.instances.iter().any(|i| i.handing_over)
    }

    /// A timer of ours fired.
    pub fn handle_timer(&mut self, now: Instant, timer: Timer, timers: &mut dyn Timers<Timer>) {
        if !self.running {
            if let Timer::MasterDown(i) = timer {
                let mut ctx = Ctx {
                    now,
                    timers,
                    out: &mut self.out,
                    compat: self.compat,
                };
                self.instances[i].end_handover(&mut ctx);
            }
            return;
        }
        match timer {
            Timer::Script(i) => return self.launch_script(now, i, timers),
            Timer::ScriptTimeout(i) => {
                if std::mem::take(&mut self.scripts[i].running) {
                    self.out.push_back(Output::KillScript { script: i });
                    self.script_done(now, i, ScriptEnd::TimedOut, timers);
                }
                return;
            }
            _ => {}
        }
        let total = match timer {
            Timer::PriorityPoll(i) => self.adjustment(i),
            _ => 0,
        };
        let mut ctx = Ctx {
            now,
            timers,
            out: &mut self.out,
            compat: self.compat,
        };
        match timer {
            Timer::MasterDown(i) => self.instances[i].on_master_down(&mut ctx),
            Timer::Advert(i) => self.instances[i].on_advert_timer(&mut ctx),
            Timer::GarpDelayed(i) => self.instances[i].on_garp_delayed(&mut ctx),
            Timer::PriorityPoll(i) => self.instances[i].on_priority_poll(&mut ctx, total),
            Timer::Script(_) | Timer::ScriptTimeout(_) => {}
        }
    }

    /// A VRRP packet arrived on `iface`: find its instance by VRID, check
    /// it as keepalived does, and act on it.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        iface: &str,
        pkt: &RxPacket<'_>,
        timers: &mut dyn Timers<Timer>,
    ) {
        if !self.is_active() {
            return;
        }
        let vrid = packet::vrid(pkt);
        let family_v4 = pkt.src.is_ipv4();
        let Some(idx) = self
            .instances
            .iter()
            .position(|i| i.vrid == vrid && i.iface == iface && i.src.is_ipv4() == family_v4)
        else {
            return;
        };
        let inst = &self.instances[idx];
        let cfg = RxConfig {
            iname: inst.name.clone(),
            version: inst.version,
            auth_type: inst.auth_type,
            auth_data: inst.auth_data,
            adver_int_secs: inst.adver_int_secs(),
            vips: inst.vips.clone(),
            unicast: !inst.peers.is_empty(),
            peers: inst.peers.clone(),
            // Always, where keepalived needs `check_unicast_src`: a forged
            // advert from a host that is no peer never moves an election.
            check_unicast_src: true,
        };
        let mut ctx = Ctx {
            now,
            timers,
            out: &mut self.out,
            compat: self.compat,
        };
        match packet::check(pkt, &cfg, true) {
            // Stopped: only a handover listens, for the new master.
            Ok(adv) if !self.running => {
                if adv.priority > 0 {
                    self.instances[idx].heard_new_master(&mut ctx);
                }
            }
            Ok(adv) => self.instances[idx].on_advert(&mut ctx, &adv, pkt.src),
            Err(_) if !self.running => {}
            Err(e) => {
                let key = (idx, e.reason());
                let quiet = self
                    .rejects_logged
                    .get(&key)
                    .is_some_and(|at| now < *at + REJECT_LOG_EVERY);
                if !quiet {
                    self.rejects_logged.insert(key, now);
                    ctx.log(Record::Rejected {
                        text: e.to_string(),
                    });
                }
                self.instances[idx].on_rejected(&mut ctx, e.reason());
            }
        }
    }

    /// A tracked script run finished (ignored when it already timed out).
    pub fn handle_script_result(
        &mut self,
        now: Instant,
        script: usize,
        end: ScriptEnd,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self.scripts.get_mut(script) else {
            return;
        };
        if !self.running || !std::mem::take(&mut s.running) {
            return;
        }
        timers.cancel(Timer::ScriptTimeout(script));
        self.script_done(now, script, end, timers);
    }

    /// An interface went down or up.
    pub fn handle_link(
        &mut self,
        now: Instant,
        iface: &str,
        up: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        let was_down = self.links_down.iter().any(|i| i == iface);
        if was_down != up || !self.running {
            return;
        }
        if up {
            self.links_down.retain(|i| i != iface);
        } else {
            self.links_down.push(iface.to_owned());
        }
        self.out.push_back(Output::Log(Record::Link {
            iface: iface.to_owned(),
            up,
        }));
        let affected: Vec<usize> = (0..self.instances.len())
            .filter(|i| self.track_ifaces[*i].iter().any(|(n, _)| n == iface))
            .collect();
        self.reevaluate(now, &affected, timers);
    }

    /// The next output, in the order produced.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Every instance, in config order.
    pub fn instances(&self) -> Vec<InstanceView> {
        self.instances
            .iter()
            .map(|i| InstanceView {
                name: i.name.clone(),
                iface: i.iface.clone(),
                vrid: i.vrid,
                state: i.state,
                priority: i.eff_prio,
                stats: i.stats.clone(),
            })
            .collect()
    }

    /// Health of every tracked script, in config order.
    pub fn script_health(&self) -> Vec<(String, Health)> {
        self.scripts
            .iter()
            .map(|s| (s.name.clone(), s.health))
            .collect()
    }

    // ----- internals -----

    pub(super) fn script_used(&self, script: usize) -> bool {
        self.tracks.iter().flatten().any(|t| t.script == script)
    }

    fn launch_script(&mut self, now: Instant, i: usize, timers: &mut dyn Timers<Timer>) {
        let s = &mut self.scripts[i];
        timers.arm(Timer::Script(i), now + s.interval);
        if s.running {
            return;
        }
        s.running = true;
        timers.arm(Timer::ScriptTimeout(i), now + s.timeout);
        self.out.push_back(Output::RunScript {
            script: i,
            command: s.command.clone(),
            timeout: s.timeout,
        });
    }

    fn script_done(
        &mut self,
        now: Instant,
        script: usize,
        end: ScriptEnd,
        timers: &mut dyn Timers<Timer>,
    ) {
        let mut log = Vec::new();
        let changed = self.scripts[script].observe(end, self.compat, &mut log);
        self.out.extend(log.into_iter().map(Output::Log));
        if changed.is_none() {
            return;
        }
        let affected: Vec<usize> = (0..self.instances.len())
            .filter(|i| self.tracks[*i].iter().any(|t| t.script == script))
            .collect();
        self.reevaluate(now, &affected, timers);
    }

    /// Applies tracker changes to `affected` instances: FAULT in or out for
    /// weight-0 trackers, priority for weighted ones (2.x at once; 1.x at
    /// its next priority poll).
    fn reevaluate(&mut self, now: Instant, affected: &[usize], timers: &mut dyn Timers<Timer>) {
        for &idx in affected {
            let (fault, pending) = self.faults(idx);
            let total = self.adjustment(idx);
            let mut ctx = Ctx {
                now,
                timers: &mut *timers,
                out: &mut self.out,
                compat: self.compat,
            };
            let inst = &mut self.instances[idx];
            if fault && (inst.state != State::Fault || inst.silent_fault) {
                inst.enter_fault(&mut ctx);
            } else if !fault && !pending && inst.state == State::Fault {
                inst.leave_fault(&mut ctx);
            }
            if self.compat == Compat::V2_2 {
                inst.set_adjustment(&mut ctx, total);
            }
        }
    }

    /// (a weight-0 tracker fails, a weight-0 script has not answered yet).
    pub(super) fn faults(&self, idx: usize) -> (bool, bool) {
        let mut fault = false;
        let mut pending = false;
        for t in self.tracks[idx].iter().filter(|t| t.weight == 0) {
            match self.scripts[t.script].health {
                Health::Ko => fault = true,
                Health::Init => pending = true,
                Health::Ok => {}
            }
        }
        fault |= self.track_ifaces[idx]
            .iter()
            .any(|(n, w)| *w == 0 && self.links_down.contains(n));
        (fault, pending && self.compat == Compat::V2_2)
    }

    /// Sum of the weighted trackers' adjustments for instance `idx`.
    pub(super) fn adjustment(&self, idx: usize) -> i32 {
        let scripts = self.tracks[idx]
            .iter()
            .map(|t| t.adds(self.scripts[t.script].health));
        let ifaces = self.track_ifaces[idx]
            .iter()
            .filter(|(_, w)| *w != 0)
            .map(|(n, w)| {
                let down = self.links_down.contains(n);
                match (down, *w > 0) {
                    (false, true) | (true, false) => *w,
                    _ => 0,
                }
            });
        scripts.chain(ifaces).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::priority_with;
    use crate::config::keepalived::parse;
    use crate::config::NoIncludes;
    use crate::vrrp::Health;

    #[test]
    fn priorities_add_weights_as_the_scripts_answer() {
        let text = "vrrp_script up {\n script \"killall -0 haproxy\"\n weight 21\n}\nvrrp_script down {\n script \"/bin/true\"\n weight -30\n}\nvrrp_script flipped {\n script \"/bin/true\"\n weight 5\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n track_script {\n  up\n  down\n  flipped reverse\n }\n virtual_ipaddress {\n  10.9.0.100/24\n }\n}\n";
        let cfg = parse("k.conf", text, &NoIncludes).config.expect("valid");
        let i = &cfg.instances[0];
        let with = |up, down, flipped| {
            let health = [up, down, flipped];
            priority_with(&cfg, i, |s| health[s])
        };
        use Health::{Ko, Ok};
        assert_eq!(with(Ok, Ok, Ok), 121);
        // A negative weight counts while its script fails, and `reverse`
        // makes a positive weight one.
        assert_eq!(with(Ko, Ko, Ok), 70);
        assert_eq!(with(Ok, Ok, Ko), 116);
        assert_eq!(with(Health::Init, Ok, Ok), 100);
    }
}
