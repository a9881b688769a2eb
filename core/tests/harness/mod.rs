//! An in-memory cluster for VRRP tests: keepalived daemons (core's `Vrrp`)
//! exchanging encoded adverts over a fake wire with a fixed delay, each
//! host on its own `Scheduler`, virtual time jumping from event to event.
//! Tracked scripts answer "is haproxy running on this host" after a fixed
//! run time. No simulator crate involved.

#![allow(dead_code, unreachable_pub)]

use haven_core::config::keepalived::{self, Compat, KeepalivedConfig};
use haven_core::config::NoIncludes;
use haven_core::log::keepalived::{Process, ScriptEnd};
use haven_core::sched::Scheduler;
use haven_core::time::{Duration, Instant};
use haven_core::vrrp::packet::decode_ipv4;
use haven_core::vrrp::{HostInfo, NotifyState, Output, State, Timer, Vrrp};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// One log line with its virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: Instant,
    pub host: String,
    pub process: Process,
    pub text: String,
}

/// One load-balancer host.
pub struct Host {
    pub name: String,
    pub ip: Ipv4Addr,
    pub config: KeepalivedConfig,
    pub vrrp: Vrrp,
    pub sched: Scheduler<Timer>,
    pub haproxy_alive: bool,
    /// VIPs currently configured on this host, by instance.
    pub vips_set: BTreeMap<usize, bool>,
    /// Notifications: (time, instance, state).
    pub notifies: Vec<(Instant, usize, NotifyState)>,
    /// Mail alerts sent: when and the subject.
    pub mails: Vec<(Instant, String)>,
    /// Gratuitous ARPs sent.
    pub garps: usize,
}

enum Event {
    Deliver {
        to: usize,
        bytes: Vec<u8>,
    },
    ScriptDone {
        host: usize,
        script: usize,
        end: ScriptEnd,
    },
}

/// The cluster.
pub struct World {
    pub now: Instant,
    pub hosts: Vec<Host>,
    pub wire_delay: Duration,
    pub script_runtime: Duration,
    /// Keep `-D` lines.
    pub detail: bool,
    /// Hosts whose link is cut (adverts neither sent nor received).
    pub cut: Vec<usize>,
    events: BTreeMap<(Instant, u64), Event>,
    seq: u64,
    pub log: Vec<Line>,
}

pub fn parse(text: &str) -> KeepalivedConfig {
    let parsed = keepalived::parse("keepalived.conf", text, &NoIncludes);
    parsed
        .config
        .unwrap_or_else(|| panic!("config: {:?}", parsed.diagnostics))
}

pub fn secs(s: f64) -> Instant {
    Instant::ZERO + Duration::from_micros((s * 1e6).round() as u64)
}

impl World {
    /// Hosts `(name, ip, config)`, not started.
    pub fn new(hosts: Vec<(&str, Ipv4Addr, KeepalivedConfig)>) -> Self {
        let hosts = hosts
            .into_iter()
            .map(|(name, ip, config)| {
                let vrrp = Vrrp::new(&config, &host_info(ip)).expect("config runs on host");
                Host {
                    name: name.to_owned(),
                    ip,
                    config,
                    vrrp,
                    sched: Scheduler::new(),
                    haproxy_alive: true,
                    vips_set: BTreeMap::new(),
                    notifies: Vec::new(),
                    mails: Vec::new(),
                    garps: 0,
                }
            })
            .collect();
        Self {
            now: Instant::ZERO,
            hosts,
            wire_delay: Duration::from_micros(100),
            script_runtime: Duration::from_millis(1),
            detail: true,
            cut: Vec::new(),
            events: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
        }
    }

    pub fn with_compat(mut self, compat: Compat) -> Self {
        for h in &mut self.hosts {
            h.config.global.compat = compat;
            h.vrrp = Vrrp::new(&h.config, &host_info(h.ip)).expect("config runs");
        }
        self
    }

    /// Starts keepalived on host `h` now.
    pub fn start(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        host.vrrp = Vrrp::new(&host.config, &host_info(host.ip)).expect("config runs");
        host.sched = Scheduler::new();
        let now = self.now;
        host.vrrp.start(now, &mut host.sched);
        self.drain(h);
    }

    /// Graceful stop of keepalived on `h` (SIGTERM).
    pub fn stop(&mut self, h: usize) {
        let now = self.now;
        let host = &mut self.hosts[h];
        host.vrrp.stop(now, &mut host.sched);
        self.drain(h);
    }

    /// keepalived on `h` re-reads its config (SIGHUP), now `config`.
    pub fn reload(&mut self, h: usize, config: KeepalivedConfig) {
        let now = self.now;
        let host = &mut self.hosts[h];
        host.config = config;
        host.vrrp
            .reload(now, &host.config, &host_info(host.ip), &mut host.sched)
            .expect("config runs");
        self.drain(h);
    }

    /// Packet `bytes` (IPv4) arrives at host `h` now, from anywhere.
    pub fn inject(&mut self, h: usize, bytes: &[u8]) {
        let now = self.now;
        let pkt = decode_ipv4(bytes).expect("an IPv4 packet");
        let host = &mut self.hosts[h];
        host.vrrp.handle_packet(now, "eth0", &pkt, &mut host.sched);
        self.drain(h);
    }

    /// Runs every event up to and including `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        loop {
            let next_event = self.events.keys().next().map(|(at, _)| *at);
            let next_timer = self
                .hosts
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.sched.next_deadline().map(|d| (d, i)))
                .min();
            let pick_event = match (next_event, next_timer) {
                (Some(e), Some((tm, _))) => e <= tm,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let at = if pick_event {
                next_event
            } else {
                next_timer.map(|(d, _)| d)
            };
            let Some(at) = at.filter(|at| *at <= t) else {
                break;
            };
            self.now = at;
            if pick_event {
                let key = *self.events.keys().next().expect("event present");
                let ev = self.events.remove(&key).expect("event present");
                self.handle_event(ev);
            } else if let Some((_, h)) = next_timer {
                let host = &mut self.hosts[h];
                if let Some((_, timer)) = host.sched.pop_due(at) {
                    host.vrrp.handle_timer(at, timer, &mut host.sched);
                    self.drain(h);
                }
            }
        }
        self.now = t;
    }

    fn handle_event(&mut self, ev: Event) {
        let now = self.now;
        match ev {
            Event::Deliver { to, bytes } => {
                if self.cut.contains(&to) {
                    return;
                }
                let pkt = decode_ipv4(&bytes).expect("own adverts decode");
                let host = &mut self.hosts[to];
                host.vrrp.handle_packet(now, "eth0", &pkt, &mut host.sched);
                self.drain(to);
            }
            Event::ScriptDone { host, script, end } => {
                let hst = &mut self.hosts[host];
                hst.vrrp
                    .handle_script_result(now, script, end, &mut hst.sched);
                self.drain(host);
            }
        }
    }

    fn push(&mut self, at: Instant, ev: Event) {
        self.seq += 1;
        self.events.insert((at, self.seq), ev);
    }

    /// Performs host `h`'s outputs.
    fn drain(&mut self, h: usize) {
        let compat = self.hosts[h].vrrp.compat();
        while let Some(o) = self.hosts[h].vrrp.poll_output() {
            match o {
                Output::Advert {
                    src,
                    dst,
                    advert,
                    ip_id,
                    ..
                } => {
                    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
                        panic!("IPv4 only here")
                    };
                    let bytes = advert.encode_ipv4(s, d, ip_id);
                    if self.cut.contains(&h) {
                        continue;
                    }
                    for to in (0..self.hosts.len()).filter(|t| *t != h) {
                        self.push(
                            self.now + self.wire_delay,
                            Event::Deliver {
                                to,
                                bytes: bytes.clone(),
                            },
                        );
                    }
                }
                Output::RunScript { script, .. } => {
                    let end = ScriptEnd::Exited(if self.hosts[h].haproxy_alive { 0 } else { 1 });
                    self.push(
                        self.now + self.script_runtime,
                        Event::ScriptDone {
                            host: h,
                            script,
                            end,
                        },
                    );
                }
                Output::AddVips { instance, .. } => {
                    self.hosts[h].vips_set.insert(instance, true);
                }
                Output::RemoveVips { instance, .. } => {
                    self.hosts[h].vips_set.insert(instance, false);
                }
                Output::Log(r) => {
                    if self.detail || !r.is_detail(compat) {
                        let line = Line {
                            at: self.now,
                            host: self.hosts[h].name.clone(),
                            process: r.process(),
                            text: r.text(compat),
                        };
                        self.log.push(line);
                    }
                }
                Output::Notify {
                    instance, state, ..
                } => self.hosts[h].notifies.push((self.now, instance, state)),
                Output::Mail { alert, .. } => self.hosts[h].mails.push((self.now, alert.subject)),
                Output::Garp { .. } => self.hosts[h].garps += 1,
                // Tests keep the instances' order across reloads.
                Output::KillScript { .. } | Output::Reconfigured => {}
            }
        }
    }

    /// The link of host `h`'s eth0 goes down or up.
    pub fn link(&mut self, h: usize, up: bool) {
        let now = self.now;
        let host = &mut self.hosts[h];
        host.vrrp.handle_link(now, "eth0", up, &mut host.sched);
        self.drain(h);
    }

    /// Instance `i`'s state on host `h`.
    pub fn state(&self, h: usize, i: usize) -> State {
        self.hosts[h].vrrp.instances()[i].state
    }

    /// Hosts holding instance `i`'s VIPs.
    pub fn vip_holders(&self, i: usize) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.vips_set.get(&i) == Some(&true))
            .map(|h| h.name.clone())
            .collect()
    }

    /// Log lines of `host` (text only) between `from` and `to`.
    pub fn lines(&self, host: &str, from: Instant, to: Instant) -> Vec<String> {
        self.log
            .iter()
            .filter(|l| l.host == host && l.at >= from && l.at <= to)
            .map(|l| l.text.clone())
            .collect()
    }

    /// The first time `host` logged `text` at or after `from`.
    pub fn when(&self, host: &str, text: &str, from: Instant) -> Option<Instant> {
        self.log
            .iter()
            .find(|l| l.host == host && l.text == text && l.at >= from)
            .map(|l| l.at)
    }

    /// Every line as `secs host text`, for failure messages.
    pub fn dump(&self) -> String {
        self.log
            .iter()
            .map(|l| format!("{} {} {}\n", l.at, l.host, l.text))
            .collect()
    }
}

fn host_info(ip: Ipv4Addr) -> HostInfo {
    HostInfo {
        interfaces: BTreeMap::from([("eth0".to_owned(), IpAddr::V4(ip))]),
        hostname: ip.to_string(),
        ..HostInfo::default()
    }
}
