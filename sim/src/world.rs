//! The deterministic world: a virtual clock jumping from event to event,
//! load-balancer hosts (core `Node`s plus their process states), one L2
//! segment carrying VRRP adverts and GARPs, and the fault timeline.
//!
//! Ordering contract: at equal times, world events (deliveries, script
//! ends, timeline actions) run before host timers, in the order they were
//! queued; hosts' timers run host by host in scenario order.

use crate::api::Api;
use crate::invariants::Invariants;
use crate::load::{Action, Loaded};
use crate::net::{Rule, Segment};
use crate::record::{Recorder, TimelineRow};
use haven_core::config::keepalived::Compat;
use haven_core::health::{self, Probe, ProbeEvent};
use haven_core::log::keepalived::{Record, ScriptEnd};
use haven_core::node::Node;
use haven_core::proxy::AdminAction;
use haven_core::time::{Duration, Instant};
use haven_core::vrrp::packet::decode_ipv4;
use haven_core::vrrp::{HostInfo, NotifyState, Output};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::IpAddr;

/// One load-balancer host in the world.
pub(crate) struct SimHost {
    pub(crate) node: Node,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) haproxy_alive: bool,
    /// haproxy starts so far: an answer must come from the run that took
    /// its request.
    pub(crate) haproxy_starts: u64,
    keepalived_running: bool,
    pub(crate) up: bool,
    pub(crate) link: bool,
    /// Bumped when keepalived restarts: late script results are dropped.
    generation: u64,
    /// Instances whose VIPs are configured here.
    pub(crate) vips: BTreeMap<usize, bool>,
    /// Effective priorities last recorded, per instance.
    priorities: Vec<u8>,
    /// What came for a frozen keepalived (adverts, script results), in
    /// order, for when it thaws.
    held: Vec<Event>,
    /// Bumped by every start, kill or stop of haproxy / keepalived: a
    /// start still in its lag lapses when its number is not the last.
    attempts: [u64; 2],
}

/// The most a frozen keepalived's socket and pipes hold.
const HELD_MAX: usize = 4096;

pub(crate) enum Event {
    /// Traffic (Simulator II).
    Traffic(crate::requests::TrafficEvent),
    Boot(usize),
    Action(usize),
    /// A program started on a host after its start lag: haproxy (else
    /// keepalived), unless killed or stopped since (`attempt`).
    Started {
        host: usize,
        haproxy: bool,
        attempt: u64,
    },
    Advert {
        to: usize,
        bytes: Vec<u8>,
    },
    Garp {
        from: usize,
        addr: IpAddr,
    },
    ArpExpire {
        addr: IpAddr,
        generation: u64,
    },
    ScriptDone {
        host: usize,
        script: usize,
        end: ScriptEnd,
        generation: u64,
    },
    Probe {
        host: usize,
        id: health::CheckId,
        /// Boxed: the rare large event keeps every queued event small.
        event: Box<ProbeEvent>,
    },
}

/// A run of one scenario.
pub(crate) struct World<'a> {
    pub(crate) sc: &'a Loaded,
    pub(crate) now: Instant,
    pub(crate) hosts: Vec<SimHost>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    pub(crate) segment: Segment,
    /// Traffic state (Simulator II).
    pub(crate) traffic: crate::requests::Traffic,
    /// The segment's ARP cache: who answers for an address.
    pub(crate) arp: BTreeMap<IpAddr, usize>,
    /// Per VIP: bumped when a GARP refreshes its entry, so older expiries lapse.
    arp_generation: BTreeMap<IpAddr, u64>,
    /// What the run produced.
    pub(crate) rec: Recorder,
    /// Checked after every step, in chaos runs.
    pub(crate) invariants: Option<Invariants>,
    /// Draws the programs' start lags, when the scenario has any.
    lag_rng: ChaCha8Rng,
}

/// A queued world event, ordered by (time, queueing order).
pub(crate) struct Queued {
    at: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A source of the world's next step.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// The first queued world event.
    Event,
    /// A client group's oldest pending request times out.
    Timeout(usize),
    /// A host's first timer fires.
    Timer(usize),
}

/// The earlier of `a` and `b`; `a` on a tie.
fn earliest(a: Option<(Instant, Next)>, b: Option<(Instant, Next)>) -> Option<(Instant, Next)> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.0 < x.0 { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// A seed for a named stream, stable when other hosts are added.
pub(crate) fn stream_seed(seed: u64, name: &str) -> u64 {
    name.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl SimHost {
    /// Whether keepalived runs here.
    pub(crate) fn keepalived_running(&self) -> bool {
        self.keepalived_running
    }
}

impl<'a> World<'a> {
    /// A world for `sc`, with `seed` (the scenario's unless overridden).
    pub(crate) fn new(sc: &'a Loaded, seed: u64) -> Self {
        let hosts = sc
            .hosts
            .iter()
            .map(|h| {
                let info = HostInfo {
                    interfaces: [(h.interface.clone(), IpAddr::V4(h.ip))].into(),
                    hostname: h.name.clone(),
                    ..HostInfo::default()
                };
                let node = Node::new(h.haproxy.clone(), h.keepalived.clone(), info)
                    .expect("load() checked every instance's interface and source");
                SimHost {
                    node,
                    rng: ChaCha8Rng::seed_from_u64(stream_seed(seed, &h.name)),
                    haproxy_alive: false,
                    haproxy_starts: 0,
                    keepalived_running: false,
                    up: true,
                    link: true,
                    generation: 0,
                    vips: BTreeMap::new(),
                    priorities: Vec::new(),
                    held: Vec::new(),
                    attempts: [0; 2],
                }
            })
            .collect();
        let mut w = Self {
            sc,
            now: Instant::ZERO,
            hosts,
            queue: BinaryHeap::new(),
            seq: 0,
            segment: Segment::new(
                sc.latency,
                sc.jitter,
                sc.loss,
                ChaCha8Rng::seed_from_u64(stream_seed(seed, " segment")),
            ),
            arp_generation: BTreeMap::new(),
            traffic: crate::requests::Traffic::new(sc, seed),
            arp: BTreeMap::new(),
            rec: Recorder::new(sc, seed),
            invariants: None,
            lag_rng: ChaCha8Rng::seed_from_u64(stream_seed(seed, " start lag")),
        };
        w.schedule_clients();
        for (i, h) in sc.hosts.iter().enumerate() {
            w.push(Instant::ZERO + h.start, Event::Boot(i));
        }
        for (i, (at, ..)) in sc.events.iter().enumerate() {
            w.push(Instant::ZERO + *at, Event::Action(i));
        }
        w
    }

    pub(crate) fn push(&mut self, at: Instant, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event: e,
        }));
    }

    /// Runs to the scenario's end.
    pub(crate) fn run(mut self) -> Recorder {
        self.run_to_end();
        self.rec
    }

    /// Runs to the scenario's end checking `invariants` after every step;
    /// what it recorded and what broke.
    pub(crate) fn run_checked(mut self, invariants: Invariants) -> (Recorder, Invariants) {
        self.invariants = Some(invariants);
        self.run_to_end();
        let end = Instant::ZERO + self.sc.duration;
        let mut inv = self.invariants.take().expect("set above");
        let pending = self.traffic.pending_starts();
        inv.finish(end, self.sc, &pending, self.rec.failed_starts());
        (self.rec, inv)
    }

    /// Lets `f` look at the world, when it carries invariants.
    pub(crate) fn check(&mut self, f: impl FnOnce(&mut Invariants, &World<'_>)) {
        if let Some(mut inv) = self.invariants.take() {
            f(&mut inv, self);
            self.invariants = Some(inv);
        }
    }

    fn run_to_end(&mut self) {
        let end = Instant::ZERO + self.sc.duration;
        while let Some((at, next)) = self.next().filter(|(at, _)| *at <= end) {
            self.now = at;
            match next {
                Next::Event => {
                    let Reverse(q) = self.queue.pop().expect("peeked");
                    self.handle(q.event);
                }
                Next::Timeout(client) => self.client_timeout(client),
                Next::Timer(h) => {
                    let host = &mut self.hosts[h];
                    host.node.handle_timeout(self.now, &mut host.rng);
                    self.drain(h);
                }
            }
            self.check(|inv, w| inv.observe(w));
        }
        self.rec.finish(end);
    }

    /// What happens next, and when. Three sources; at equal times world
    /// events go first, then client timeouts, then hosts' timers (host by
    /// host, in scenario order).
    fn next(&mut self) -> Option<(Instant, Next)> {
        let event = self.queue.peek().map(|q| (q.0.at, Next::Event));
        let mut timer: Option<(Instant, Next)> = None;
        for (i, h) in self.hosts.iter().enumerate().filter(|(_, h)| h.up) {
            if let Some(t) = h.node.poll_timeout() {
                timer = earliest(timer, Some((t, Next::Timer(i))));
            }
        }
        // A timeout later than both other sources cannot be next.
        let bound = earliest(event, timer).map(|(t, _)| t);
        let timeout = self
            .traffic
            .next_timeout(bound)
            .map(|(t, client)| (t, Next::Timeout(client)));
        earliest(earliest(event, timeout), timer)
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::Traffic(t) => self.traffic_event(t),
            Event::Boot(h) => self.boot(h),
            Event::Started {
                host,
                haproxy,
                attempt,
            } => {
                // Gone with its host, or killed or stopped while starting.
                let current = self.hosts[host].attempts[usize::from(!haproxy)] == attempt;
                if current && self.hosts[host].up {
                    self.started(host, haproxy);
                }
            }
            Event::Action(i) => self.action(i),
            Event::Advert { to, .. } | Event::ScriptDone { host: to, .. }
                if self.hosts[to].node.keepalived_frozen() =>
            {
                let held = &mut self.hosts[to].held;
                if held.len() < HELD_MAX {
                    held.push(e);
                }
            }
            Event::Advert { to, bytes } => {
                let host = &mut self.hosts[to];
                if !(host.up && host.link && host.keepalived_running) {
                    return;
                }
                let Ok(pkt) = decode_ipv4(&bytes) else { return };
                let iface = self.sc.hosts[to].interface.clone();
                if let Some((vrrp, mut t)) = host.node.vrrp() {
                    vrrp.handle_packet(self.now, &iface, &pkt, &mut t);
                }
                self.drain(to);
            }
            Event::Garp { from, addr } => {
                let name = self.sc.hosts[from].name.clone();
                self.rec.arp(self.now, addr, &name);
                self.arp.insert(addr, from);
                self.refresh_arp(addr);
            }
            Event::ArpExpire { addr, generation } => {
                if self.arp_generation.get(&addr) != Some(&generation) {
                    return;
                }
                // The cache asks again; the host holding the VIP answers.
                if let Some(holder) = self.vip_holder(addr) {
                    let name = self.sc.hosts[holder].name.clone();
                    self.rec.arp(self.now, addr, &name);
                    self.arp.insert(addr, holder);
                }
                self.refresh_arp(addr);
            }
            Event::ScriptDone {
                host,
                script,
                end,
                generation,
            } => {
                let h = &mut self.hosts[host];
                if h.generation != generation || !h.keepalived_running {
                    return;
                }
                if let Some((vrrp, mut t)) = h.node.vrrp() {
                    vrrp.handle_script_result(self.now, script, end, &mut t);
                }
                self.drain(host);
            }
            Event::Probe { host, id, event } => {
                let h = &mut self.hosts[host];
                if let Some((checks, mut t)) = h.node.checks() {
                    checks.handle_probe(self.now, id, *event, &mut t, &mut h.rng);
                }
                self.drain(host);
            }
        }
    }

    /// (Re)starts the ARP entry's expiry clock.
    pub(crate) fn refresh_arp(&mut self, addr: IpAddr) {
        let generation = self.arp_generation.entry(addr).or_default();
        *generation += 1;
        let generation = *generation;
        self.push(
            self.now + self.sc.arp_timeout,
            Event::ArpExpire { addr, generation },
        );
    }

    /// The reachable host that has `addr` configured, if any.
    pub(crate) fn vip_holder(&self, addr: IpAddr) -> Option<usize> {
        (0..self.hosts.len()).find(|&h| {
            let host = &self.hosts[h];
            host.up
                && host.link
                && self.sc.hosts[h].keepalived.as_ref().is_some_and(|k| {
                    k.instances.iter().enumerate().any(|(i, inst)| {
                        host.vips.get(&i) == Some(&true) && inst.vips.iter().any(|v| v.addr == addr)
                    })
                })
        })
    }

    fn boot(&mut self, h: usize) {
        self.check(|inv, w| inv.fault(w.now));
        let host = &mut self.hosts[h];
        host.up = true;
        host.link = true;
        if self.sc.hosts[h].haproxy.is_some() {
            self.start_program(h, true);
        }
        self.start_program(h, false);
    }

    /// haproxy (else keepalived) on host `h` is started: it runs after
    /// the scenario's start lag, unless stopped or killed before.
    fn start_program(&mut self, h: usize, haproxy: bool) {
        let slot = usize::from(!haproxy);
        self.hosts[h].attempts[slot] += 1;
        let lag = match haproxy {
            true => self.sc.start_lag.haproxy,
            false => self.sc.start_lag.keepalived,
        };
        match lag {
            Some(dist) => {
                let at = self.now + dist.sample(&mut self.lag_rng);
                let attempt = self.hosts[h].attempts[slot];
                self.push(
                    at,
                    Event::Started {
                        host: h,
                        haproxy,
                        attempt,
                    },
                );
            }
            None => self.started(h, haproxy),
        }
    }

    /// A start of haproxy (else keepalived) on host `h` that is still in
    /// its lag will not happen: the program was killed or stopped.
    fn lapse(&mut self, h: usize, haproxy: bool) {
        self.hosts[h].attempts[usize::from(!haproxy)] += 1;
    }

    /// The program runs now.
    fn started(&mut self, h: usize, haproxy: bool) {
        match haproxy {
            true => self.start_haproxy(h),
            false => self.start_keepalived(h),
        }
    }

    fn start_haproxy(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        host.node.start_haproxy(self.now);
        host.haproxy_alive = true;
        host.haproxy_starts += 1;
        // The 1.x era's haproxy (1.5) logs each proxy it starts.
        let sc = &self.sc.hosts[h];
        let v1 = sc
            .keepalived
            .as_ref()
            .is_some_and(|k| k.global.compat == Compat::V1_2);
        if let (true, Some(cfg)) = (v1, &sc.haproxy) {
            for px in cfg.proxies.iter().filter(|p| !p.logs.is_empty()) {
                let text = haven_core::log::haproxy::proxy_started(&px.name);
                self.rec.log(
                    self.now,
                    "localhost",
                    &sc.name,
                    "haproxy",
                    sc.pids.haproxy,
                    &text,
                );
            }
        }
    }

    fn start_keepalived(&mut self, h: usize) {
        let now = self.now;
        let host = &mut self.hosts[h];
        if self.sc.hosts[h].keepalived.is_none() || host.node.keepalived_running() {
            return;
        }
        host.generation += 1;
        host.keepalived_running = true;
        host.node
            .start_keepalived(now)
            .expect("load() checked the host");
        self.drain(h);
    }

    fn action(&mut self, i: usize) {
        let (_, host, action, label) = self.sc.events[i].clone();
        let now = self.now;
        if let Some(h) = host {
            self.rec.row(TimelineRow::new(
                now,
                &self.sc.hosts[h].name,
                "action",
                "",
                &label,
            ));
        } else {
            self.rec
                .row(TimelineRow::new(now, "-", "action", "", &label));
        }
        self.rec.fault(now, &label);
        self.check(|inv, w| inv.fault(w.now));
        match (action, host) {
            // A crashed host runs nothing until it boots.
            (Action::StartHaproxy | Action::StartKeepalived | Action::StopKeepalived, Some(h))
                if !self.hosts[h].up => {}
            (Action::KillHaproxy, Some(h)) => {
                self.lapse(h, true);
                self.hosts[h].node.kill_haproxy();
                self.hosts[h].haproxy_alive = false;
            }
            (Action::StartHaproxy, Some(h)) => self.start_program(h, true),
            (Action::StopKeepalived, Some(h)) if !self.hosts[h].keepalived_running => {
                self.lapse(h, false);
            }
            (Action::StopKeepalived, Some(h)) => {
                self.lapse(h, false);
                // systemd follows SIGTERM with SIGCONT: a frozen one wakes.
                self.thaw(h);
                self.hosts[h].node.stop_keepalived(now);
                self.drain(h);
            }
            (Action::KillKeepalived, Some(h)) => self.kill_keepalived(h),
            (Action::KillHaven, Some(h)) => {
                self.lapse(h, true);
                self.hosts[h].node.kill_haproxy();
                self.hosts[h].haproxy_alive = false;
                self.kill_keepalived(h);
            }
            (Action::FreezeKeepalived, Some(h)) => self.hosts[h].node.freeze_keepalived(),
            (Action::ThawKeepalived, Some(h)) => self.thaw(h),
            (Action::StartKeepalived, Some(h)) => self.start_program(h, false),
            (Action::Crash, Some(h)) => {
                self.lapse(h, true);
                self.lapse(h, false);
                let host = &mut self.hosts[h];
                host.held.clear();
                host.node.kill_keepalived();
                host.node.kill_haproxy();
                host.keepalived_running = false;
                host.haproxy_alive = false;
                host.up = false;
                let name = self.sc.hosts[h].name.clone();
                for (inst, set) in std::mem::take(&mut self.hosts[h].vips) {
                    if set {
                        self.rec.vip(now, &name, self.instance_name(h, inst), false);
                    }
                }
            }
            (Action::Boot, Some(h)) => self.boot(h),
            (Action::Link(up), Some(h)) => {
                self.hosts[h].link = up;
                let iface = self.sc.hosts[h].interface.clone();
                if self.hosts[h].keepalived_running {
                    if let Some((vrrp, mut t)) = self.hosts[h].node.vrrp() {
                        vrrp.handle_link(now, &iface, up, &mut t);
                    }
                }
                self.drain(h);
            }
            (Action::Partition(groups), _) => self.segment.install(Rule::Partition(groups)),
            (Action::Heal, _) => self.segment.heal(),
            (Action::Loss(p), _) => self.segment.install(Rule::Loss(p)),
            (Action::Backend(b, state), _) => self.traffic.set_backend(b, state),
            (Action::Api(api), Some(h)) => self.api(h, api),
            // keepalived 2.x and haproxy time on the monotonic clock: only
            // the log's times move.
            (Action::ClockStep(delta), Some(h)) => {
                let name = self.sc.hosts[h].name.clone();
                self.rec.step_clock(&name, delta);
            }
            _ => {}
        }
    }

    /// Host `h`'s haproxy takes runtime-API command `api` (nothing when it
    /// is not running); core decides what follows, as in real mode.
    fn api(&mut self, h: usize, api: Api) {
        let now = self.now;
        let host = &mut self.hosts[h];
        match api {
            Api::Admin {
                backend,
                server,
                action,
            } => {
                if let Some((flow, mut t)) = host.node.flow() {
                    flow.set_admin(now, backend, server, action, &mut t);
                }
                if let Some((checks, mut t)) = host.node.checks() {
                    let maint = action == AdminAction::Maint;
                    checks.set_maint(now, backend, server, maint, &mut t);
                }
            }
            Api::Weight {
                backend,
                server,
                change,
            } => {
                if let Some((flow, _)) = host.node.flow() {
                    flow.set_weight(backend, server, change);
                }
            }
            Api::Frontend { frontend, enable } => {
                if let Some((flow, _)) = host.node.flow() {
                    // Already so: haproxy only answers that it is.
                    let _ = flow.set_frontend_enabled(frontend, enable);
                }
            }
        }
        self.drain(h);
    }

    fn instance_name(&self, h: usize, i: usize) -> String {
        self.sc.hosts[h]
            .keepalived
            .as_ref()
            .map_or_else(String::new, |k| k.instances[i].name.clone())
    }

    /// Performs host `h`'s outputs: keepalived's, then haproxy's.
    /// keepalived on host `h` is killed (-9): nothing of it is left, not
    /// even what a frozen one held.
    fn kill_keepalived(&mut self, h: usize) {
        self.lapse(h, false);
        self.hosts[h].held.clear();
        self.hosts[h].node.kill_keepalived();
        self.hosts[h].keepalived_running = false;
    }

    /// A frozen keepalived on host `h` resumes: its timers that fell due
    /// fire, after what came for it meanwhile, in order.
    fn thaw(&mut self, h: usize) {
        if !self.hosts[h].node.keepalived_frozen() {
            return;
        }
        self.hosts[h].node.thaw_keepalived(self.now);
        for e in std::mem::take(&mut self.hosts[h].held) {
            self.handle(e);
        }
        self.drain(h);
    }

    fn drain(&mut self, h: usize) {
        let now = self.now;
        let name = self.sc.hosts[h].name.clone();
        loop {
            let out = self.hosts[h].node.vrrp().and_then(|(v, _)| v.poll_output());
            let Some(o) = out else { break };
            match o {
                Output::Advert {
                    instance,
                    src,
                    dst,
                    advert,
                    ip_id,
                } => {
                    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
                        continue;
                    };
                    let bytes = advert.encode_ipv4(s, d, ip_id);
                    if !(self.hosts[h].up && self.hosts[h].link) {
                        continue;
                    }
                    let inst = self.instance_name(h, instance);
                    let detail = format!("priority {}", advert.priority);
                    let row = TimelineRow::new(now, &name, "advert", &inst, &detail);
                    self.rec.wire(row);
                    for to in 0..self.hosts.len() {
                        if to != h {
                            if let Some(delay) = self.segment.deliver(h, to) {
                                self.push(
                                    now + delay,
                                    Event::Advert {
                                        to,
                                        bytes: bytes.clone(),
                                    },
                                );
                            }
                        }
                    }
                }
                Output::AddVips { instance, .. } | Output::RemoveVips { instance, .. } => {
                    let add = matches!(o, Output::AddVips { .. });
                    let was = self.hosts[h].vips.insert(instance, add).unwrap_or(false);
                    if was != add {
                        let inst = self.instance_name(h, instance);
                        self.rec.vip(now, &name, inst, add);
                    }
                }
                Output::Garp { addr, .. } => {
                    if self.hosts[h].up && self.hosts[h].link {
                        let row = TimelineRow::new(now, &name, "garp", "", &addr.to_string());
                        self.rec.wire(row);
                        let delay = self.segment.sample();
                        self.push(now + delay, Event::Garp { from: h, addr });
                    }
                }
                Output::Notify {
                    instance,
                    state,
                    priority,
                } => {
                    let inst = self.instance_name(h, instance);
                    let s = match state {
                        NotifyState::Master => "MASTER",
                        NotifyState::Backup => "BACKUP",
                        NotifyState::Fault => "FAULT",
                        NotifyState::Stop => "STOP",
                    };
                    self.rec.state(now, &name, &inst, s, priority);
                }
                Output::RunScript { script, .. } => {
                    let (_, exit, runtime) = self.sc.hosts[h].scripts[script].clone();
                    let code = exit.unwrap_or(if self.hosts[h].haproxy_alive { 0 } else { 1 });
                    let generation = self.hosts[h].generation;
                    self.push(
                        now + runtime,
                        Event::ScriptDone {
                            host: h,
                            script,
                            end: ScriptEnd::Exited(code),
                            generation,
                        },
                    );
                }
                // Scenarios have no reload: configs never switch.
                Output::KillScript { .. } | Output::Reconfigured => {}
                Output::Mail { alert, .. } => {
                    let row = TimelineRow::new(now, &name, "mail", "", &alert.subject);
                    self.rec.row(row);
                }
                Output::Log(r) => self.keepalived_log(h, &r),
            }
        }
        self.record_priorities(h);
        // A stopped keepalived hears packets until its handover ends.
        let host = &mut self.hosts[h];
        host.keepalived_running &= host.node.keepalived_active();
        loop {
            let out = self.hosts[h]
                .node
                .checks()
                .and_then(|(c, _)| c.poll_output());
            let Some(o) = out else { break };
            match o {
                health::Output::StartProbe {
                    id,
                    backend,
                    server,
                    probe,
                } => self.probe(h, id, backend, server, probe),
                health::Output::Log(r) => {
                    let pid = self.sc.hosts[h].pids.haproxy;
                    self.rec
                        .log(now, "localhost", &name, "haproxy", pid, &r.text());
                }
                health::Output::ServerState {
                    backend,
                    server,
                    up,
                } => {
                    if let Some(cfg) = &self.sc.hosts[h].haproxy {
                        let px = &cfg.proxies[backend];
                        let who = format!("{}/{}", px.name, px.servers[server].name);
                        let kind = if up { "server_up" } else { "server_down" };
                        self.rec.row(TimelineRow::new(now, &name, kind, "", &who));
                    }
                    if let Some((flow, mut t)) = self.hosts[h].node.flow() {
                        flow.handle_server_state(now, backend, server, up, &mut t);
                    }
                }
                // The simulated servers run no agent: nothing answers, so
                // nothing changes (as with an agent that is down).
                health::Output::AbortProbe { .. }
                | health::Output::StartAgent { .. }
                | health::Output::AgentSays { .. } => {}
            }
        }
        self.drain_flow(h);
    }

    /// A health probe of host `h` reaches its server (a simulated backend
    /// when there is one; without one the server always answers 200).
    fn probe(
        &mut self,
        h: usize,
        id: health::CheckId,
        backend: usize,
        server: usize,
        probe: Probe,
    ) {
        let now = self.now;
        let hop = self.segment.sample();
        let path = match &probe {
            Probe::Http(http) => Some(http.first_uri().unwrap_or("/").to_owned()),
            Probe::Tcp | Probe::Script(_) => None,
        };
        let events = match self.traffic.probe_answer(
            self.sc,
            h,
            backend,
            server,
            path.as_deref(),
            matches!(probe, Probe::Script(_)),
        ) {
            Some(events) => events,
            None => {
                let mut v = vec![ProbeEvent::Connected];
                if path.is_some() {
                    v.push(ProbeEvent::Response {
                        status: 200,
                        reason: "OK".into(),
                        body: String::new(),
                    });
                }
                v
            }
        };
        for (i, event) in events.into_iter().enumerate() {
            let at = now + hop * 2 + Duration::from_nanos(i as u64);
            let event = Box::new(event);
            self.push(at, Event::Probe { host: h, id, event });
        }
    }

    /// Adds a `priority` row for each instance whose effective priority moved.
    fn record_priorities(&mut self, h: usize) {
        let Some((vrrp, _)) = self.hosts[h].node.vrrp() else {
            return;
        };
        let now: Vec<(String, u8)> = vrrp
            .instances()
            .into_iter()
            .map(|i| (i.name, i.priority))
            .collect();
        let host = &mut self.hosts[h];
        if host.priorities.len() != now.len() {
            host.priorities = now.iter().map(|(_, p)| *p).collect();
            return;
        }
        for (i, (inst, prio)) in now.iter().enumerate() {
            if host.priorities[i] != *prio {
                let row = TimelineRow::new(
                    self.now,
                    &self.sc.hosts[h].name,
                    "priority",
                    inst,
                    &format!("{} -> {prio}", host.priorities[i]),
                );
                host.priorities[i] = *prio;
                self.rec.row(row);
            }
        }
    }

    fn keepalived_log(&mut self, h: usize, r: &Record) {
        let compat = self.sc.hosts[h]
            .keepalived
            .as_ref()
            .map(|k| k.global.compat)
            .unwrap_or_default();
        if r.is_detail(compat) && !self.sc.log_detail {
            return;
        }
        let host = &self.sc.hosts[h];
        let pid = match r.process() {
            haven_core::log::keepalived::Process::Parent => host.pids.keepalived,
            haven_core::log::keepalived::Process::Vrrp => host.pids.vrrp,
            haven_core::log::keepalived::Process::Healthcheckers => host.pids.checker,
        };
        self.rec.log(
            self.now,
            &host.name,
            &host.name,
            r.process().ident(),
            pid,
            &r.text(compat),
        );
    }
}
