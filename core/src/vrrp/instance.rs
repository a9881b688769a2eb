//! One `vrrp_instance`: keepalived's state machine (spec/vrrp-keepalived.md
//! §2) with its 2.2 and 1.x election behaviours.
//!
//! The instance owns no timers and does no I/O: every method gets a
//! [`Ctx`] carrying `now`, the node's timers and the output queue. All
//! state changes go through `enter_*` methods that log, notify and re-arm.

use super::mail::Mailer;
use super::packet::{auth_type, Advert, Version, MCAST_V4, MCAST_V6};
use super::timers::{master_down, skew, PRIO_OWNER};
use super::{Ctx, NotifyState, Output, State, Timer};
use crate::config::keepalived::{AuthType, Compat, InitialState, VrrpInstance};
use crate::log::keepalived::Record;
use crate::time::{Duration, Instant};
use std::net::IpAddr;

/// Counters of one instance (`/metrics`, stats page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Adverts sent (priority 0 included).
    pub adverts_sent: u64,
    /// Valid adverts received.
    pub adverts_received: u64,
    /// Adverts refused, by reason.
    pub rejected: std::collections::BTreeMap<&'static str, u64>,
    /// Times this instance became MASTER.
    pub became_master: u64,
    /// Times it gave the VIPs up (leaving MASTER).
    pub released_master: u64,
    /// Priority-0 adverts received.
    pub priority_zero_received: u64,
    /// Priority-0 adverts sent.
    pub priority_zero_sent: u64,
}

/// How long a stopping master keeps its VIPs once the new master is heard.
pub(crate) const HANDOVER_LINGER: Duration = Duration::from_millis(200);

/// One VRRP instance's configuration and state.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) idx: usize,
    pub(crate) name: String,
    pub(crate) iface: String,
    pub(crate) vrid: u8,
    pub(crate) base_prio: u8,
    pub(crate) eff_prio: u8,
    pub(crate) version: Version,
    adver_int: Duration,
    master_adver_int: Duration,
    nopreempt: bool,
    preempt_delay: Option<Duration>,
    preempt_time: Option<Instant>,
    init_master: bool,
    pub(crate) auth_type: u8,
    pub(crate) auth_data: [u8; 8],
    pub(crate) vips: Vec<IpAddr>,
    /// Our own address: advert source and tie-breaker.
    pub(crate) src: IpAddr,
    pub(crate) peers: Vec<IpAddr>,
    garp_delay: Duration,
    garp_repeat: u32,
    garp_refresh: Option<Duration>,
    garp_refresh_at: Option<Instant>,
    pub(crate) state: State,
    /// keepalived's `ms_down_timer`: the BACKUP wait last armed; priority
    /// changes shift the deadline by how much it changes.
    ms_down: Duration,
    /// 1.x `wantstate == GOTO_MASTER`: a forced election is under way.
    want_master: bool,
    /// In FAULT at start-up, waiting for a weight-0 script's first answer;
    /// not announced yet.
    pub(crate) silent_fault: bool,
    vips_set: bool,
    /// Stopped with priority 0 but still holding the VIPs until another
    /// router's advert is heard (haven's make-before-break stop).
    pub(crate) handing_over: bool,
    /// The new master was heard; the VIPs go when the linger ends.
    lingering: bool,
    /// Mail alerts, when on.
    mailer: Option<Mailer>,
    ip_id: u16,
    pub(crate) stats: Stats,
}

impl Instance {
    /// Builds instance `idx` from its config; `src` is the primary address
    /// of its interface (or `unicast_src_ip`).
    pub(crate) fn new(idx: usize, cfg: &VrrpInstance, src: IpAddr, mailer: Option<Mailer>) -> Self {
        let (auth_type, auth_data) = match &cfg.auth {
            Some(a) if a.kind == AuthType::Pass => {
                (auth_type::PASS, super::packet::pass_bytes(&a.pass))
            }
            Some(_) => (auth_type::AH, [0; 8]),
            None => (auth_type::NONE, [0; 8]),
        };
        Self {
            idx,
            name: cfg.name.clone(),
            iface: cfg.interface.clone(),
            vrid: cfg.vrid,
            base_prio: cfg.priority,
            eff_prio: cfg.priority,
            version: if cfg.version == 3 {
                Version::V3
            } else {
                Version::V2
            },
            adver_int: cfg.advert_int,
            master_adver_int: cfg.advert_int,
            nopreempt: cfg.nopreempt,
            preempt_delay: cfg.preempt_delay,
            preempt_time: None,
            init_master: cfg.state == InitialState::Master,
            auth_type,
            auth_data,
            vips: cfg.vips.iter().map(|v| v.addr).collect(),
            src,
            peers: cfg.unicast_peers.clone(),
            garp_delay: cfg.garp_master_delay,
            garp_repeat: cfg.garp_master_repeat,
            garp_refresh: cfg.garp_master_refresh,
            garp_refresh_at: None,
            state: State::Init,
            ms_down: Duration::ZERO,
            want_master: false,
            silent_fault: false,
            vips_set: false,
            handing_over: false,
            lingering: false,
            mailer,
            ip_id: 0,
            stats: Stats::default(),
        }
    }

    /// The v2 interval in whole seconds (for receive checks).
    pub(crate) fn adver_int_secs(&self) -> u32 {
        self.adver_int.as_secs() as u32
    }

    /// Skew from the priority each version uses (2.x effective, 1.x base).
    fn skew(&self, compat: Compat) -> Duration {
        skew(
            self.version,
            self.election_prio(compat),
            self.master_adver_int,
        )
    }

    fn master_down(&self, compat: Compat) -> Duration {
        master_down(
            self.version,
            self.election_prio(compat),
            self.master_adver_int,
        )
    }

    fn election_prio(&self, compat: Compat) -> u8 {
        match compat {
            Compat::V2_2 => self.eff_prio,
            Compat::V1_2 => self.base_prio,
        }
    }

    // ----- start and stop (spec §2.3, §2.6) -----

    /// Start-up: `fault` when a weight-0 tracker already fails, `pending`
    /// when one has not answered yet (2.x holds the instance in FAULT
    /// silently until it does).
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_>, fault: bool, pending: bool) {
        // A killed predecessor may have left the VIPs on the interface.
        ctx.emit(Output::RemoveVips {
            instance: self.idx,
            addrs: self.vips.clone(),
        });
        if ctx.compat == Compat::V1_2 {
            ctx.timers
                .arm(Timer::PriorityPoll(self.idx), ctx.now + self.adver_int);
            if self.init_master || self.base_prio == PRIO_OWNER {
                self.state = State::Backup;
                self.want_master = true;
                ctx.timers
                    .arm(Timer::MasterDown(self.idx), ctx.now + self.adver_int);
                return;
            }
            ctx.log(Record::EnteringBackupInit {
                inst: self.name.clone(),
            });
            self.state = State::Backup;
            self.notify(ctx, NotifyState::Backup);
            self.arm_down(ctx, self.master_down(ctx.compat));
            return;
        }
        ctx.log(Record::RemovingVips {
            inst: self.name.clone(),
        });
        if fault || pending {
            self.state = State::Fault;
            self.silent_fault = !fault;
            if fault {
                ctx.log(Record::EnteringFaultInit {
                    inst: self.name.clone(),
                });
                self.notify(ctx, NotifyState::Fault);
            }
            return;
        }
        ctx.log(Record::EnteringBackupInit {
            inst: self.name.clone(),
        });
        self.state = State::Backup;
        self.notify(ctx, NotifyState::Backup);
        let down = if self.base_prio == PRIO_OWNER && self.init_master {
            Duration::from_micros(1)
        } else if self.init_master {
            self.master_adver_int + skew(self.version, PRIO_OWNER, self.master_adver_int)
        } else {
            self.master_down(ctx.compat)
        };
        self.arm_down(ctx, down);
    }

    /// Arms the BACKUP deadline `down` from now and remembers `down`.
    fn arm_down(&mut self, ctx: &mut Ctx<'_>, down: Duration) {
        self.ms_down = down;
        ctx.timers.arm(Timer::MasterDown(self.idx), ctx.now + down);
    }

    /// Graceful stop: a MASTER resigns with priority 0. keepalived drops
    /// its VIPs at once, so requests of the skew window, before the new
    /// master's GARP, are lost. With `handover` (haven's way) it keeps them
    /// and goes on serving until another router's advert is heard, or 3
    /// advert intervals pass ([`Instance::end_handover`]).
    pub(crate) fn stop(&mut self, ctx: &mut Ctx<'_>, handover: bool) {
        let was_master = self.state == State::Master;
        if was_master {
            if ctx.compat == Compat::V1_2 {
                ctx.log(Record::SentPrio0 {
                    inst: self.name.clone(),
                });
                self.send_advert(ctx, 0);
            } else {
                self.send_advert(ctx, 0);
                ctx.log(Record::SentPrio0 {
                    inst: self.name.clone(),
                });
            }
        }
        if was_master && handover {
            self.notify(ctx, NotifyState::Stop);
            self.cancel_timers(ctx);
            self.state = State::Init;
            self.handing_over = true;
            let wait = self.adver_int * 3;
            ctx.timers.arm(Timer::MasterDown(self.idx), ctx.now + wait);
            return;
        }
        if was_master {
            self.remove_vips(ctx);
        }
        self.notify(ctx, NotifyState::Stop);
        self.cancel_timers(ctx);
        self.state = State::Init;
    }

    /// The new master was heard: the VIPs stay for [`HANDOVER_LINGER`]
    /// (at most one advert interval) more, so packets clients sent before
    /// its gratuitous ARP reached them still find an address, then go.
    pub(crate) fn heard_new_master(&mut self, ctx: &mut Ctx<'_>) {
        if !self.handing_over || std::mem::replace(&mut self.lingering, true) {
            return;
        }
        let linger = HANDOVER_LINGER.min(self.adver_int);
        ctx.timers
            .arm(Timer::MasterDown(self.idx), ctx.now + linger);
    }

    /// Ends a handover: the VIPs go. (STOP was notified at the stop: a
    /// resigned router is no master, whatever it still holds.)
    pub(crate) fn end_handover(&mut self, ctx: &mut Ctx<'_>) {
        if !std::mem::take(&mut self.handing_over) {
            return;
        }
        self.lingering = false;
        ctx.timers.cancel(Timer::MasterDown(self.idx));
        self.remove_vips(ctx);
    }

    pub(crate) fn cancel_timers(&self, ctx: &mut Ctx<'_>) {
        for t in [
            Timer::MasterDown(self.idx),
            Timer::Advert(self.idx),
            Timer::GarpDelayed(self.idx),
            Timer::PriorityPoll(self.idx),
        ] {
            ctx.timers.cancel(t);
        }
    }

    // ----- timers -----

    /// The BACKUP deadline expired (or, 1.x, a forced election's interval).
    pub(crate) fn on_master_down(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != State::Backup {
            return;
        }
        match ctx.compat {
            Compat::V2_2 => {
                ctx.log(Record::ReceiveTimeout {
                    inst: self.name.clone(),
                });
                self.state = State::Master;
                self.master_adver_int = self.adver_int;
                ctx.timers
                    .arm(Timer::Advert(self.idx), ctx.now + self.adver_int);
                self.master_tx(ctx);
            }
            Compat::V1_2 => {
                self.send_advert(ctx, self.eff_prio);
                self.state = State::Master;
                self.want_master = false;
                ctx.log(Record::TransitionToMaster {
                    inst: self.name.clone(),
                });
                ctx.timers
                    .arm(Timer::Advert(self.idx), ctx.now + self.adver_int);
            }
        }
    }

    /// The MASTER advert timer fired.
    pub(crate) fn on_advert_timer(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != State::Master {
            return;
        }
        ctx.timers
            .arm(Timer::Advert(self.idx), ctx.now + self.adver_int);
        self.master_tx(ctx);
    }

    /// keepalived's `vrrp_state_master_tx`: advert, and on the first one
    /// the VIPs, GARPs and notifications (2.x sends the advert first so the
    /// old master lets go before our GARPs; 1.x sends it last).
    fn master_tx(&mut self, ctx: &mut Ctx<'_>) {
        let v2 = ctx.compat == Compat::V2_2;
        if v2 {
            self.send_advert(ctx, self.eff_prio);
        }
        if !self.vips_set {
            ctx.log(Record::EnteringMaster {
                inst: self.name.clone(),
            });
            self.become_master(ctx);
            if !self.garp_delay.is_zero() || !v2 {
                let delay = if self.garp_delay.is_zero() {
                    Duration::from_secs(5)
                } else {
                    self.garp_delay
                };
                ctx.timers
                    .arm(Timer::GarpDelayed(self.idx), ctx.now + delay);
            }
        } else if let (Some(every), Some(at)) = (self.garp_refresh, self.garp_refresh_at) {
            if ctx.now > at {
                self.garp_burst(ctx, 1);
                self.garp_refresh_at = Some(ctx.now + every);
            }
        }
        if !v2 {
            self.send_advert(ctx, self.eff_prio);
        }
    }

    fn become_master(&mut self, ctx: &mut Ctx<'_>) {
        ctx.log(Record::SettingVips {
            inst: self.name.clone(),
        });
        ctx.emit(Output::AddVips {
            instance: self.idx,
            addrs: self.vips.clone(),
        });
        self.vips_set = true;
        self.stats.became_master += 1;
        self.garp_burst(ctx, self.garp_repeat);
        if ctx.compat == Compat::V1_2 {
            self.netlink(ctx, true);
        }
        self.garp_refresh_at = self.garp_refresh.map(|every| ctx.now + every);
        self.notify(ctx, NotifyState::Master);
    }

    /// The delayed second GARP burst.
    pub(crate) fn on_garp_delayed(&mut self, ctx: &mut Ctx<'_>) {
        self.garp_burst(ctx, self.garp_repeat);
    }

    /// 1.x: the effective priority is recomputed every advert interval.
    pub(crate) fn on_priority_poll(&mut self, ctx: &mut Ctx<'_>, total: i32) {
        ctx.timers
            .arm(Timer::PriorityPoll(self.idx), ctx.now + self.adver_int);
        self.eff_prio = clamp_priority(self.base_prio, total);
    }

    /// `rounds` rounds of one GARP per VIP (only while the VIPs are set).
    fn garp_burst(&mut self, ctx: &mut Ctx<'_>, rounds: u32) {
        if !self.vips_set {
            return;
        }
        let rounds = if ctx.compat == Compat::V1_2 {
            5
        } else {
            rounds
        };
        for round in 0..rounds {
            for addr in self.vips.clone() {
                if round == 0 {
                    let iface = self.iface.clone();
                    ctx.log(Record::SendingGarps {
                        inst: self.name.clone(),
                        iface,
                        addr,
                    });
                }
                ctx.emit(Output::Garp {
                    instance: self.idx,
                    iface: self.iface.clone(),
                    addr,
                });
                if ctx.compat == Compat::V2_2 {
                    ctx.log(Record::SentGarp {
                        iface: self.iface.clone(),
                        addr,
                    });
                }
            }
        }
    }

    // ----- priority (spec §2.7) -----

    /// 2.x: applies a new total of tracking adjustments at once, shifting
    /// a BACKUP's pending deadline by the change in master down interval.
    pub(crate) fn set_adjustment(&mut self, ctx: &mut Ctx<'_>, total: i32) {
        let new = clamp_priority(self.base_prio, total);
        if new == self.eff_prio {
            return;
        }
        ctx.log(Record::PriorityChanged {
            inst: self.name.clone(),
            from: self.eff_prio,
            to: new,
        });
        self.eff_prio = new;
        let old_down = self.ms_down;
        self.ms_down = self.master_down(ctx.compat);
        if self.state == State::Backup {
            if let Some(at) = ctx.timers.deadline(Timer::MasterDown(self.idx)) {
                let shifted = at + self.ms_down.saturating_sub(old_down)
                    - old_down.saturating_sub(self.ms_down);
                ctx.timers.arm(Timer::MasterDown(self.idx), shifted);
            }
        }
    }

    // ----- adverts (spec §2.4, §2.5, §2.9) -----

    /// A valid advert from `from` (it passed the receive checks).
    pub(crate) fn on_advert(&mut self, ctx: &mut Ctx<'_>, adv: &Advert, from: IpAddr) {
        self.stats.adverts_received += 1;
        self.stats.priority_zero_received += u64::from(adv.priority == 0);
        match (self.state, ctx.compat) {
            (State::Backup, Compat::V2_2) => self.backup_rx_v2(ctx, adv, from),
            (State::Backup, Compat::V1_2) => self.backup_rx_v1(ctx, adv),
            (State::Master, Compat::V2_2) => self.master_rx_v2(ctx, adv, from),
            (State::Master, Compat::V1_2) => self.master_rx_v1(ctx, adv, from),
            (State::Init | State::Fault, _) => {}
        }
    }

    /// An advert for us that failed a check.
    pub(crate) fn on_rejected(&mut self, ctx: &mut Ctx<'_>, reason: &'static str) {
        *self.stats.rejected.entry(reason).or_default() += 1;
        match (self.state, ctx.compat) {
            // Any packet read while MASTER re-arms the advert timer.
            (State::Master, _) => ctx
                .timers
                .arm(Timer::Advert(self.idx), ctx.now + self.adver_int),
            // 1.x resets a backup's timer even on an invalid advert.
            (State::Backup, Compat::V1_2) => self.arm_backup_v1(ctx, self.master_down(ctx.compat)),
            _ => {}
        }
    }

    fn backup_rx_v2(&mut self, ctx: &mut Ctx<'_>, adv: &Advert, from: IpAddr) {
        let delaying =
            self.preempt_delay.is_some() && self.preempt_time.is_none_or(|t| t > ctx.now);
        if adv.priority == 0 {
            ctx.log(Record::BackupHeardPrio0 {
                inst: self.name.clone(),
            });
            self.arm_down(ctx, self.skew(ctx.compat));
        } else if self.nopreempt || adv.priority >= self.eff_prio || delaying {
            if self.version == Version::V3 {
                self.master_adver_int = Duration::from_millis(u64::from(adv.adver_int) * 10);
            }
            if let Some(delay) = self.preempt_delay {
                if adv.priority >= self.eff_prio {
                    self.preempt_time = None;
                } else if self.preempt_time.is_none() {
                    self.preempt_time = Some(ctx.now + delay);
                }
            }
            self.arm_down(ctx, self.master_down(ctx.compat));
        } else {
            ctx.log(Record::DiscardingLower {
                inst: self.name.clone(),
                prio: adv.priority,
                from,
            });
            // Ignored: the deadline stays, and the wait left is remembered.
            if let Some(at) = ctx.timers.deadline(Timer::MasterDown(self.idx)) {
                self.ms_down = at.saturating_duration_since(ctx.now);
            }
        }
    }

    fn backup_rx_v1(&mut self, ctx: &mut Ctx<'_>, adv: &Advert) {
        let down = if adv.priority == 0 {
            self.skew(ctx.compat)
        } else if self.nopreempt || adv.priority >= self.eff_prio {
            self.master_down(ctx.compat)
        } else {
            ctx.log(Record::ForcingElection {
                inst: self.name.clone(),
            });
            self.want_master = true;
            self.send_advert(ctx, self.eff_prio);
            self.master_down(ctx.compat)
        };
        self.arm_backup_v1(ctx, down);
    }

    /// 1.x re-arms after every packet: one interval while forcing an
    /// election, else `down`.
    fn arm_backup_v1(&mut self, ctx: &mut Ctx<'_>, down: Duration) {
        self.ms_down = down;
        let wait = if self.want_master {
            self.adver_int
        } else {
            down
        };
        ctx.timers.arm(Timer::MasterDown(self.idx), ctx.now + wait);
    }

    fn master_rx_v2(&mut self, ctx: &mut Ctx<'_>, adv: &Advert, from: IpAddr) {
        let inst = self.name.clone();
        let ours = self.eff_prio;
        if adv.priority == 0 {
            self.send_advert(ctx, ours);
            ctx.log(Record::MasterHeardPrio0 { inst });
        } else if adv.priority == ours && from == self.src {
            ctx.log(Record::EqualPriorityOwnAddress { inst });
        } else if adv.priority < ours || (adv.priority == ours && from < self.src) {
            ctx.log(Record::MasterHeardLower {
                inst,
                from,
                prio: adv.priority,
                ours,
            });
            self.send_advert(ctx, ours);
            self.garp_burst(ctx, self.garp_repeat);
            if !self.garp_delay.is_zero() {
                ctx.timers
                    .arm(Timer::GarpDelayed(self.idx), ctx.now + self.garp_delay);
            }
        } else {
            if adv.priority > ours {
                ctx.log(Record::MasterHeardHigher {
                    inst,
                    from,
                    prio: adv.priority,
                    ours,
                });
            } else {
                ctx.log(Record::MasterHeardSameHigherIp {
                    inst,
                    from,
                    prio: adv.priority,
                });
            }
            if self.version == Version::V3 {
                self.master_adver_int = Duration::from_millis(u64::from(adv.adver_int) * 10);
            }
            self.leave_master(ctx);
            return;
        }
        ctx.timers
            .arm(Timer::Advert(self.idx), ctx.now + self.adver_int);
    }

    fn master_rx_v1(&mut self, ctx: &mut Ctx<'_>, adv: &Advert, from: IpAddr) {
        let ours = self.eff_prio;
        if adv.priority < ours {
            ctx.log(Record::LowerPrioAdvert {
                inst: self.name.clone(),
            });
            self.send_advert(ctx, ours);
            self.garp_burst(ctx, 5);
        } else if adv.priority > ours || (adv.priority == ours && from > self.src) {
            // The "last advert", so the new master hears us step down.
            self.send_advert(ctx, ours);
            ctx.log(Record::HigherPrioAdvert {
                inst: self.name.clone(),
            });
            self.leave_master(ctx);
            return;
        }
        ctx.timers
            .arm(Timer::Advert(self.idx), ctx.now + self.adver_int);
    }

    /// MASTER → BACKUP after hearing a better master: no priority-0 advert.
    fn leave_master(&mut self, ctx: &mut Ctx<'_>) {
        ctx.log(Record::EnteringBackup {
            inst: self.name.clone(),
        });
        self.preempt_time = None;
        self.remove_vips(ctx);
        self.state = State::Backup;
        self.want_master = false;
        self.notify(ctx, NotifyState::Backup);
        ctx.timers.cancel(Timer::Advert(self.idx));
        ctx.timers.cancel(Timer::GarpDelayed(self.idx));
        self.arm_down(ctx, self.master_down(ctx.compat));
    }

    fn remove_vips(&mut self, ctx: &mut Ctx<'_>) {
        if !self.vips_set {
            return;
        }
        ctx.log(Record::RemovingVips {
            inst: self.name.clone(),
        });
        ctx.emit(Output::RemoveVips {
            instance: self.idx,
            addrs: self.vips.clone(),
        });
        self.vips_set = false;
        self.stats.released_master += 1;
        if ctx.compat == Compat::V1_2 {
            self.netlink(ctx, false);
        }
    }

    /// The checker process's view of our VIPs appearing or going (1.x).
    fn netlink(&self, ctx: &mut Ctx<'_>, added: bool) {
        for addr in &self.vips {
            ctx.log(Record::NetlinkAddress {
                addr: *addr,
                iface: self.iface.clone(),
                added,
            });
        }
    }

    // ----- FAULT (spec §2.6) -----

    /// A weight-0 tracker failed (or the interface went down).
    pub(crate) fn enter_fault(&mut self, ctx: &mut Ctx<'_>) {
        let inst = self.name.clone();
        match self.state {
            State::Master => {
                ctx.log(Record::EnteringFault { inst });
                self.send_advert(ctx, 0);
                self.remove_vips(ctx);
            }
            State::Backup | State::Fault => ctx.log(Record::EnteringFault { inst }),
            State::Init => return,
        }
        self.state = State::Fault;
        self.silent_fault = false;
        self.want_master = false;
        self.notify(ctx, NotifyState::Fault);
        ctx.timers.cancel(Timer::MasterDown(self.idx));
        ctx.timers.cancel(Timer::Advert(self.idx));
        ctx.timers.cancel(Timer::GarpDelayed(self.idx));
    }

    /// Every fault cleared: back to BACKUP (an owner takes over at once).
    pub(crate) fn leave_fault(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != State::Fault {
            return;
        }
        ctx.log(Record::EnteringBackup {
            inst: self.name.clone(),
        });
        self.state = State::Backup;
        self.silent_fault = false;
        self.master_adver_int = self.adver_int;
        self.notify(ctx, NotifyState::Backup);
        let down = if self.base_prio == PRIO_OWNER {
            self.adver_int + self.skew(ctx.compat)
        } else {
            self.master_down(ctx.compat)
        };
        self.arm_down(ctx, down);
    }

    // ----- reload (keepalived's `clear_diff_vrrp`, `restore_vrrp_state`) -----

    /// Reload, in the old config: this instance is gone, or will not keep
    /// its state. A MASTER resigns as at a stop (priority 0, VIPs removed);
    /// `deleted` also notifies FAULT, as keepalived does for a deleted
    /// instance.
    pub(crate) fn retire(&mut self, ctx: &mut Ctx<'_>, deleted: bool) {
        self.cancel_timers(ctx);
        if self.state == State::Master {
            self.send_advert(ctx, 0);
            ctx.log(Record::SentPrio0 {
                inst: self.name.clone(),
            });
            self.remove_vips(ctx);
        }
        if deleted && self.state != State::Fault {
            self.notify(ctx, NotifyState::Fault);
        }
    }

    /// Reload, in the old config: a MASTER that stays one drops the VIPs
    /// the new config no longer has (`keep`).
    pub(crate) fn drop_stale_vips(&mut self, ctx: &mut Ctx<'_>, keep: &[IpAddr]) {
        self.cancel_timers(ctx);
        let stale: Vec<IpAddr> = self
            .vips
            .iter()
            .filter(|a| !keep.contains(a))
            .copied()
            .collect();
        if self.vips_set && !stale.is_empty() {
            ctx.emit(Output::RemoveVips {
                instance: self.idx,
                addrs: stale,
            });
        }
    }

    /// Reload, in the new config: takes over `old`'s state and counters
    /// without a log line or a notification. A MASTER adverts at once and
    /// announces the VIPs the new config adds; a BACKUP waits a fresh
    /// master down interval. `total` is the tracking adjustment.
    pub(crate) fn resume(&mut self, ctx: &mut Ctx<'_>, old: &Self, total: i32) {
        self.stats = old.stats.clone();
        self.ip_id = old.ip_id;
        self.eff_prio = clamp_priority(self.base_prio, total);
        if ctx.compat == Compat::V1_2 {
            ctx.timers
                .arm(Timer::PriorityPoll(self.idx), ctx.now + self.adver_int);
        }
        if old.state != State::Master {
            self.state = State::Backup;
            self.arm_down(ctx, self.master_down(ctx.compat));
            return;
        }
        self.state = State::Master;
        self.vips_set = true;
        let added: Vec<IpAddr> = self
            .vips
            .iter()
            .filter(|a| !old.vips.contains(a))
            .copied()
            .collect();
        if !added.is_empty() {
            ctx.emit(Output::AddVips {
                instance: self.idx,
                addrs: added,
            });
            self.garp_burst(ctx, self.garp_repeat);
        }
        self.garp_refresh_at = self.garp_refresh.map(|every| ctx.now + every);
        ctx.timers.arm(Timer::Advert(self.idx), ctx.now);
    }

    /// Whether `other` (of a reloaded config) is this instance again:
    /// keepalived's `vrrp_exist`, by VRID, family, interface and, for
    /// unicast, source address.
    pub(crate) fn same_router(&self, other: &Self) -> bool {
        self.vrid == other.vrid
            && self.iface == other.iface
            && self.src.is_ipv4() == other.src.is_ipv4()
            && self.peers.is_empty() == other.peers.is_empty()
            && (self.peers.is_empty() || self.src == other.src)
    }

    // ----- output helpers -----

    fn send_advert(&mut self, ctx: &mut Ctx<'_>, priority: u8) {
        let adver_int = match self.version {
            Version::V2 => self.adver_int.as_secs() as u16,
            Version::V3 => (self.adver_int.as_millis() / 10) as u16,
        };
        let advert = Advert {
            version: self.version,
            kind: 1,
            vrid: self.vrid,
            priority,
            adver_int,
            auth_type: if self.version == Version::V2 {
                self.auth_type
            } else {
                0
            },
            auth_data: self.auth_data,
            addrs: self.vips.clone(),
            checksum: 0,
        };
        let dsts: Vec<IpAddr> = if self.peers.is_empty() {
            vec![if self.src.is_ipv4() {
                MCAST_V4.into()
            } else {
                MCAST_V6.into()
            }]
        } else {
            self.peers.clone()
        };
        for dst in dsts {
            self.ip_id = self.ip_id.wrapping_add(1).max(1);
            self.stats.adverts_sent += 1;
            self.stats.priority_zero_sent += u64::from(priority == 0);
            ctx.emit(Output::Advert {
                instance: self.idx,
                src: self.src,
                dst,
                advert: advert.clone(),
                ip_id: self.ip_id,
            });
        }
    }

    fn notify(&mut self, ctx: &mut Ctx<'_>, state: NotifyState) {
        ctx.emit(Output::Notify {
            instance: self.idx,
            state,
            priority: self.eff_prio,
        });
        let (name, src) = (&self.name, self.src);
        if let Some(alert) = self.mailer.as_mut().and_then(|m| m.alert(name, state, src)) {
            ctx.emit(Output::Mail {
                instance: self.idx,
                alert,
            });
        }
    }
}

/// `base + total`, clamped to 1..=254; an owner (255) never moves.
pub(super) fn clamp_priority(base: u8, total: i32) -> u8 {
    if base == PRIO_OWNER {
        return base;
    }
    (i32::from(base) + total).clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::clamp_priority;

    #[test]
    fn effective_priority_is_clamped_and_owners_never_move() {
        assert_eq!(clamp_priority(100, 21), 121);
        assert_eq!(clamp_priority(250, 21), 254);
        assert_eq!(clamp_priority(10, -50), 1);
        assert_eq!(clamp_priority(255, -100), 255);
    }
}
