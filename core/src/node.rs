//! One load-balancer host as one sans-IO value: its haproxy side (health
//! checks and request decisions for its haproxy.cfg) and its keepalived
//! side (VRRP instances and tracked scripts of its keepalived.conf), all
//! on one scheduler (but for the requests' timers of a runtime serving on
//! several threads, in a queue per lane: see [`crate::lanes`]). The
//! simulator and the runtime drive this same type.

use crate::config::haproxy::{dynamic_server, DynamicServer, HaproxyConfig};
use crate::config::keepalived::KeepalivedConfig;
use crate::health::{self, Checks};
use crate::lanes::{count_for, lane_of, per_lane, Padded};
use crate::proxy::{self, Flow};
use crate::sched::{Scheduler, Scoped, Timers};
use crate::time::Instant;
use crate::vrrp::{self, HostInfo, SetupError, Vrrp};
use rand_core::RngCore;
use std::collections::BTreeMap;

/// Every timer of a node, by the part that armed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeTimer {
    /// keepalived's.
    Vrrp(vrrp::Timer),
    /// haproxy's health checks'.
    Health(health::Timer),
    /// haproxy's requests'.
    Proxy(proxy::Timer),
}

/// A server the runtime API added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedServer {
    /// Its backend's index.
    pub backend: usize,
    /// Its index in the backend.
    pub server: usize,
    /// Its address.
    pub addr: std::net::SocketAddr,
    /// Its keywords haven does not honour that would change where traffic
    /// goes: it must stay in maintenance.
    pub not_honoured: Vec<String>,
}

/// Why `add server` added nothing, in haproxy's words: a refusal before
/// the server is read, or an alert about it (the runtime API follows
/// alerts with an empty line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddRefused {
    /// The backend cannot take the server.
    Refused(&'static str),
    /// The server line is wrong or clashes.
    Alert(String),
}

/// One host: haproxy and keepalived, each optional and each running or not.
#[derive(Debug)]
pub struct Node {
    /// The one timer queue (with one lane, every timer's).
    pub sched: Scheduler<NodeTimer>,
    /// With several lanes (see [`crate::lanes`]), the requests' timers, a
    /// queue a lane; none with one lane.
    lanes: Box<[Padded<Scheduler<proxy::Timer>>]>,
    /// The instant the caller's timer waits for ([`Node::set_alarm`]),
    /// and whether a request's timer armed since in a lane falls due
    /// before it.
    alarm: (Option<Instant>, bool),
    haproxy: Option<(HaproxyConfig, Checks, Flow)>,
    haproxy_running: bool,
    keepalived: Option<(KeepalivedConfig, Vrrp)>,
    /// keepalived stopped by a signal: its timers set aside, with their
    /// deadlines, in order.
    frozen: Option<Vec<(Instant, NodeTimer)>>,
    host: HostInfo,
    /// Servers added at run time with keywords haven does not honour, and
    /// those keywords: they stay in maintenance.
    held: BTreeMap<(usize, usize), Vec<String>>,
}

impl Node {
    /// A host with these configs; nothing runs until started.
    pub fn new(
        haproxy: Option<HaproxyConfig>,
        keepalived: Option<KeepalivedConfig>,
        host: HostInfo,
    ) -> Result<Self, SetupError> {
        let keepalived = match keepalived {
            Some(k) => {
                let v = Vrrp::new(&k, &host)?;
                Some((k, v))
            }
            None => None,
        };
        let haproxy = haproxy.map(|h| {
            let checks = Checks::new(&h);
            let flow = Flow::new(&h, 1);
            (h, checks, flow)
        });
        Ok(Self {
            sched: Scheduler::new(),
            lanes: Box::default(),
            alarm: (None, false),
            haproxy,
            haproxy_running: false,
            keepalived,
            frozen: None,
            host,
            held: BTreeMap::new(),
        })
    }

    /// The node with its requests kept in the lanes of `threads` serving
    /// threads (see [`crate::lanes`]), from haproxy's next start.
    #[must_use]
    pub fn with_lanes(mut self, threads: usize) -> Self {
        self.lanes = match count_for(threads) {
            1 => Box::default(),
            _ => per_lane(threads),
        };
        self
    }

    /// The caller's timer now waits for `at` (the [`Node::poll_timeout`]
    /// it just read).
    pub fn set_alarm(&mut self, at: Option<Instant>) {
        self.alarm = (at, false);
    }

    /// True when a timer armed since [`Node::set_alarm`] falls due before
    /// the alarm (or there was none): the caller's timer must wait
    /// less. Reads no lane's queue: with several threads, each writes
    /// its own.
    pub fn alarm_late(&self) -> bool {
        let (alarm, earlier) = self.alarm;
        let next = self.sched.next_deadline();
        earlier || next.is_some_and(|n| alarm.is_none_or(|a| n < a))
    }

    /// Adds server `name` to the backend named `backend` at run time
    /// (the runtime API's `add server`), `params` as on a `server` line;
    /// it starts in maintenance. What was added, or haproxy's words for
    /// why not.
    pub fn add_server(
        &mut self,
        now: Instant,
        backend: &str,
        name: &str,
        params: &[String],
    ) -> Result<AddedServer, AddRefused> {
        let no_backend = || AddRefused::Refused("No such backend.");
        let Some((cfg, checks, flow)) = &mut self.haproxy else {
            return Err(no_backend());
        };
        let b = cfg
            .proxies
            .iter()
            .position(|p| p.kind.is_backend() && p.name == backend)
            .ok_or_else(no_backend)?;
        if !flow.takes_dynamic_servers(b) {
            return Err(AddRefused::Refused(
                "Backend must use a dynamic load balancing to support dynamic servers.",
            ));
        }
        let DynamicServer {
            server,
            addr,
            not_honoured,
        } = dynamic_server(&cfg.proxies[b], name, params).map_err(AddRefused::Alert)?;
        if cfg.proxies[b]
            .servers
            .iter()
            .any(|s| s.name == server.name && !s.deleted)
        {
            let msg = "Already exists a server with the same name in backend.";
            return Err(AddRefused::Alert(msg.into()));
        }
        let s = flow.add_server(now, b, &server).ok_or_else(no_backend)?;
        checks.add_server(b, &server.name, server.backup);
        cfg.proxies[b].servers.push(server);
        if !not_honoured.is_empty() {
            self.held.insert((b, s), not_honoured.clone());
        }
        Ok(AddedServer {
            backend: b,
            server: s,
            addr,
            not_honoured,
        })
    }

    /// Deletes server `name` of the backend named `backend` (the runtime
    /// API's `del server`), as haproxy allows it: in maintenance, with no
    /// request on it. haproxy's words for why not.
    pub fn del_server(&mut self, backend: &str, name: &str) -> Result<(), &'static str> {
        let Some((cfg, _, flow)) = &mut self.haproxy else {
            return Err("No such backend.");
        };
        let b = cfg
            .proxies
            .iter()
            .position(|p| p.kind.is_backend() && p.name == backend)
            .ok_or("No such backend.")?;
        let s = cfg.proxies[b]
            .servers
            .iter()
            .position(|s| s.name == name && !s.deleted)
            .ok_or("No such server.")?;
        if !flow.in_maintenance(b, s) {
            return Err("Only servers in maintenance mode can be deleted.");
        }
        if flow.inflight(b, s) > 0 {
            return Err("Server still has connections attached to it, cannot remove it.");
        }
        cfg.proxies[b].servers[s].deleted = true;
        self.held.remove(&(b, s));
        Ok(())
    }

    /// Why server `server` of `backend` may not leave maintenance: the
    /// keywords of its `add server` haven does not honour.
    pub fn held_in_maintenance(&self, backend: usize, server: usize) -> Option<String> {
        let words = self.held.get(&(backend, server))?;
        Some(format!(
            "haven does not honour {} of this server: it stays in maintenance.",
            words.join(", ")
        ))
    }

    /// The next deadline of any part.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let lanes = self.lanes.iter().filter_map(|l| l.0.next_deadline());
        self.sched.next_deadline().into_iter().chain(lanes).min()
    }

    /// Starts haproxy: checks scheduled, requests accepted.
    pub fn start_haproxy(&mut self, now: Instant) {
        if let Some((cfg, checks, flow)) = &mut self.haproxy {
            *checks = Checks::new(cfg);
            *flow = Flow::new(cfg, self.lanes.len().max(1));
            let mut t = Scoped {
                sched: &mut self.sched,
                wrap: NodeTimer::Health,
            };
            checks.start(now, &mut t);
            self.haproxy_running = true;
        }
    }

    /// haproxy dies (killed): its timers vanish with it.
    pub fn kill_haproxy(&mut self) {
        self.haproxy_running = false;
        let keys = self.pending(|t| !matches!(t, NodeTimer::Vrrp(_)));
        for (_, k) in keys {
            self.sched.cancel(&k);
        }
        for lane in &mut self.lanes {
            lane.0 = Scheduler::new();
        }
    }

    /// True while haproxy runs.
    pub fn haproxy_running(&self) -> bool {
        self.haproxy_running
    }

    /// Starts keepalived afresh (a new process: state from the config).
    pub fn start_keepalived(&mut self, now: Instant) -> Result<(), SetupError> {
        if let Some((cfg, vrrp)) = &mut self.keepalived {
            *vrrp = Vrrp::new(cfg, &self.host)?;
            let mut t = Scoped {
                sched: &mut self.sched,
                wrap: NodeTimer::Vrrp,
            };
            vrrp.start(now, &mut t);
        }
        Ok(())
    }

    /// keepalived re-reads its config, now `cfg`, on `host` (SIGHUP; see
    /// [`Vrrp::reload`]). On an error nothing changes.
    pub fn reload_keepalived(
        &mut self,
        now: Instant,
        cfg: KeepalivedConfig,
        host: HostInfo,
    ) -> Result<(), SetupError> {
        if let Some((old, vrrp)) = &mut self.keepalived {
            let mut t = Scoped {
                sched: &mut self.sched,
                wrap: NodeTimer::Vrrp,
            };
            vrrp.reload(now, &cfg, &host, &mut t)?;
            *old = cfg;
            self.host = host;
        }
        Ok(())
    }

    /// keepalived's data dump (SIGUSR1) of this host's VRRP side.
    pub fn keepalived_data_dump(&self) -> Option<String> {
        let (cfg, vrrp) = self.keepalived.as_ref()?;
        Some(vrrp.data_dump(cfg, &self.host.hostname))
    }

    /// Graceful keepalived stop (SIGTERM). A master may go on holding its
    /// VIPs for a while ([`Node::keepalived_active`]).
    pub fn stop_keepalived(&mut self, now: Instant) {
        if let Some((_, vrrp)) = &mut self.keepalived {
            let mut t = Scoped {
                sched: &mut self.sched,
                wrap: NodeTimer::Vrrp,
            };
            vrrp.stop(now, &mut t);
        }
    }

    /// True between keepalived's start and its stop.
    pub fn keepalived_running(&self) -> bool {
        self.keepalived
            .as_ref()
            .is_some_and(|(_, v)| v.is_running())
    }

    /// True while keepalived runs or, stopped, still hands a VIP over.
    pub fn keepalived_active(&self) -> bool {
        self.keepalived.as_ref().is_some_and(|(_, v)| v.is_active())
    }

    /// keepalived killed with SIGKILL: no goodbye, timers gone.
    pub fn kill_keepalived(&mut self) {
        if let Some((cfg, vrrp)) = &mut self.keepalived {
            if let Ok(fresh) = Vrrp::new(cfg, &self.host) {
                *vrrp = fresh;
            }
        }
        self.drop_vrrp_timers();
    }

    fn drop_vrrp_timers(&mut self) {
        self.frozen = None;
        for (_, k) in self.pending(|t| matches!(t, NodeTimer::Vrrp(_))) {
            self.sched.cancel(&k);
        }
    }

    /// The armed timers `keep` selects, with their deadlines, in the
    /// order they fire.
    fn pending(&self, keep: impl Fn(&NodeTimer) -> bool) -> Vec<(Instant, NodeTimer)> {
        let mut copy = self.sched.clone();
        let mut out = Vec::new();
        while let Some((at, k)) = copy.pop_due(Instant::from_nanos(u64::MAX)) {
            if keep(&k) {
                out.push((at, k));
            }
        }
        out
    }

    /// keepalived stopped by a signal (SIGSTOP): none of its timers fires
    /// until [`Node::thaw_keepalived`]; its packets are for the caller to
    /// hold meanwhile.
    pub fn freeze_keepalived(&mut self) {
        if self.frozen.is_some() || !self.keepalived_running() {
            return;
        }
        let timers = self.pending(|t| matches!(t, NodeTimer::Vrrp(_)));
        for (_, k) in &timers {
            self.sched.cancel(k);
        }
        self.frozen = Some(timers);
    }

    /// keepalived resumes (SIGCONT) at `now`: the timers that fell due
    /// meanwhile fire now, in the order they would have.
    pub fn thaw_keepalived(&mut self, now: Instant) {
        for (at, k) in self.frozen.take().unwrap_or_default() {
            self.sched.arm(k, at.max(now));
        }
    }

    /// True while keepalived is stopped by a signal.
    pub fn keepalived_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Fires the next due timer, if any is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut dyn RngCore) -> bool {
        if let Some(lane) = self.lane_due(now) {
            if let Some((_, timer)) = self.lanes[lane].0.pop_due(now) {
                self.fire_proxy(now, timer);
            }
            return true;
        }
        let Some((_, timer)) = self.sched.pop_due(now) else {
            return false;
        };
        match timer {
            NodeTimer::Vrrp(t) => {
                if let Some((_, vrrp)) = &mut self.keepalived {
                    let mut s = Scoped {
                        sched: &mut self.sched,
                        wrap: NodeTimer::Vrrp,
                    };
                    vrrp.handle_timer(now, t, &mut s);
                }
            }
            NodeTimer::Health(t) => {
                if let Some((_, checks, _)) = self.haproxy.as_mut().filter(|_| self.haproxy_running)
                {
                    let mut s = Scoped {
                        sched: &mut self.sched,
                        wrap: NodeTimer::Health,
                    };
                    checks.handle_timer(now, t, &mut s, rng);
                }
            }
            NodeTimer::Proxy(t) => self.fire_proxy(now, t),
        }
        true
    }

    /// The lane whose next timer is due at `now` and comes before any of
    /// the one queue's (which goes first at the same instant), the
    /// earliest such (of the lowest lane at the same instant).
    fn lane_due(&self, now: Instant) -> Option<usize> {
        let first = self.sched.next_deadline().filter(|&at| at <= now);
        self.lanes
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Some((l.0.next_deadline()?, i)))
            .filter(|&(at, _)| at <= now && first.is_none_or(|f| at < f))
            .min()
            .map(|(_, i)| i)
    }

    /// A request's timer fires.
    fn fire_proxy(&mut self, now: Instant, timer: proxy::Timer) {
        if let Some((flow, mut t)) = self.flow() {
            flow.handle_timer(now, timer, &mut t);
        }
    }

    /// The keepalived side, with a timer view, for inputs.
    pub fn vrrp(&mut self) -> Option<(&mut Vrrp, Scoped<'_, NodeTimer, vrrp::Timer>)> {
        let (_, vrrp) = self.keepalived.as_mut()?;
        Some((
            vrrp,
            Scoped {
                sched: &mut self.sched,
                wrap: NodeTimer::Vrrp,
            },
        ))
    }

    /// The health checks, with a timer view, while haproxy runs.
    pub fn checks(&mut self) -> Option<(&mut Checks, Scoped<'_, NodeTimer, health::Timer>)> {
        let (_, checks, _) = self.haproxy.as_mut().filter(|_| self.haproxy_running)?;
        Some((
            checks,
            Scoped {
                sched: &mut self.sched,
                wrap: NodeTimer::Health,
            },
        ))
    }

    /// The request flow, with a timer view, while haproxy runs.
    pub fn flow(&mut self) -> Option<(&mut Flow, RequestTimers<'_>)> {
        let (_, _, flow) = self.haproxy.as_mut().filter(|_| self.haproxy_running)?;
        Some((
            flow,
            RequestTimers {
                one: &mut self.sched,
                lanes: &mut self.lanes,
                alarm: &mut self.alarm,
            },
        ))
    }

    /// The haproxy side for reading (stats): config, checks and flow.
    pub fn haproxy_parts(&self) -> Option<(&HaproxyConfig, &Checks, &Flow)> {
        self.haproxy.as_ref().map(|(c, k, f)| (c, k, f))
    }

    /// The VRRP instances' views (none without keepalived).
    pub fn keepalived_instances(&self) -> Vec<vrrp::InstanceView> {
        self.keepalived
            .as_ref()
            .map(|(_, v)| v.instances())
            .unwrap_or_default()
    }

    /// The keepalived config, if any.
    pub fn keepalived_config(&self) -> Option<&KeepalivedConfig> {
        self.keepalived.as_ref().map(|(c, _)| c)
    }

    /// The haproxy config, if any.
    pub fn haproxy_config(&self) -> Option<&HaproxyConfig> {
        self.haproxy.as_ref().map(|(c, _, _)| c)
    }
}

/// The requests' timers: in the node's one queue with one lane, else
/// each in its request's lane's queue.
pub struct RequestTimers<'a> {
    one: &'a mut Scheduler<NodeTimer>,
    lanes: &'a mut [Padded<Scheduler<proxy::Timer>>],
    alarm: &'a mut (Option<Instant>, bool),
}

impl RequestTimers<'_> {
    /// The index of `key`'s lane's queue, when there are lanes.
    fn lane_index(&self, key: proxy::Timer) -> Option<usize> {
        let count = self.lanes.len();
        (count > 0).then(|| lane_of(key.stream(), count))
    }

    /// The queue of `key`'s lane, when there are lanes.
    fn lane(&self, key: proxy::Timer) -> Option<&Scheduler<proxy::Timer>> {
        let lane = self.lane_index(key)?;
        Some(&self.lanes[lane].0)
    }

    fn lane_mut(&mut self, key: proxy::Timer) -> Option<&mut Scheduler<proxy::Timer>> {
        let lane = self.lane_index(key)?;
        Some(&mut self.lanes[lane].0)
    }
}

impl Timers<proxy::Timer> for RequestTimers<'_> {
    fn arm(&mut self, key: proxy::Timer, at: Instant) {
        let alarm = *self.alarm;
        match self.lane_mut(key) {
            Some(lane) => {
                lane.arm(key, at);
                // Written only when it changes: the other threads read it.
                if !alarm.1 && alarm.0.is_none_or(|a| at < a) {
                    self.alarm.1 = true;
                }
            }
            None => self.one.arm(NodeTimer::Proxy(key), at),
        }
    }
    fn cancel(&mut self, key: proxy::Timer) {
        match self.lane_mut(key) {
            Some(lane) => lane.cancel(&key),
            None => self.one.cancel(&NodeTimer::Proxy(key)),
        }
    }
    fn deadline(&self, key: proxy::Timer) -> Option<Instant> {
        match self.lane(key) {
            Some(lane) => lane.deadline(&key),
            None => self.one.deadline(&NodeTimer::Proxy(key)),
        }
    }
}
