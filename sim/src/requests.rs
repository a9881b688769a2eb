//! Simulator II: clients, backends and the requests between them. Every
//! request goes through the load balancer's core `Flow` (routing,
//! balancing, retries, queues); the world only moves messages and time.
//!
//! A request costs six events: arrival, at the LB, at the backend,
//! service done, back at the LB, at the client.

use crate::load::{BackendState, Loaded};
use crate::record::RequestRow;
use crate::traffic::{unit, Pace};
use crate::world::{Event, World};
use haven_core::config::haproxy::{ServerAddr, ServerPort, TlsVersion};
use haven_core::health::script::Verdict;
use haven_core::health::{CheckStatus, ProbeEvent};
use haven_core::http_rules::Headers;
use haven_core::log::access_format::{self, LineFacts};
use haven_core::log::haproxy::HttpLog;
use haven_core::log::syslog::Civil;
use haven_core::proxy::{error_response, Outcome, Output};
use haven_core::route::RequestHead;
use haven_core::sample::{Around, HeaderView};
use haven_core::time::{Duration, Instant};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// Traffic events.
pub(crate) enum TrafficEvent {
    /// Open loop: the next Poisson arrival of a client group.
    Arrival { client: usize },
    /// Closed loop: a user of a group sends its next request.
    User { client: usize },
    /// A request's TLS ClientHello reaches load balancer `lb`, whose
    /// proxy works the handshake out in turn; `after` one-way trips
    /// (the rest of the handshake, then the request) follow.
    Handshake { req: u64, lb: usize, after: u32 },
    /// A request reaches load balancer `lb`.
    AtLb { req: u64, lb: usize },
    /// A forwarded request (stream `stream` of `lb`) reaches backend `backend`.
    AtBackend {
        lb: usize,
        stream: u64,
        backend: usize,
    },
    /// A backend finished a job.
    ServiceDone { backend: usize, job: u64 },
    /// The backend's answer reaches the LB: `None` is a refused connection.
    BackAtLb {
        lb: usize,
        stream: u64,
        status: Option<u16>,
    },
    /// The answer reaches the client: the LB's (kept with the request,
    /// so that every queued event stays small), else a refused
    /// connection.
    AtClient { req: u64, answered: bool },
}

/// The LB's answer to a request, as far as the request's row tells it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer {
    status: u16,
    termination: &'static str,
    backend: Option<usize>,
    /// The last server tried.
    server: Option<usize>,
    tries: u32,
}

impl Answer {
    fn of(o: &Outcome) -> Self {
        Self {
            status: o.status,
            termination: o.termination,
            backend: o.backend,
            server: o.backend.and(o.tried.last().copied()),
            tries: o.tried.len() as u32,
        }
    }
}

struct SimBackend {
    state: BackendState,
    busy: u32,
    queue: VecDeque<u64>,
    rng: ChaCha8Rng,
}

struct Job {
    lb: usize,
    stream: u64,
}

struct ClientState {
    rng: ChaCha8Rng,
    /// The next request of the access log it replays.
    replayed: usize,
}

/// What a request asks for beyond its client group's path: its Host, and
/// the request of the replayed access log it is (its method and path).
#[derive(Clone)]
struct Asked {
    host: Option<String>,
    line: Option<usize>,
}

/// The method and path `r` asks for, in `sc`.
fn method_and_path<'a>(sc: &'a Loaded, r: &Req) -> (&'a str, &'a str) {
    let client = &sc.clients[r.client];
    match r.asked.line.and_then(|l| client.replay.get(l)) {
        Some(asked) => (&asked.method, &asked.path),
        None => ("GET", &client.path),
    }
}

struct Req {
    client: usize,
    start: Instant,
    asked: Asked,
    lb: Option<usize>,
    frontend: Option<usize>,
    accepted: Option<Instant>,
    /// The taking LB's haproxy start count then.
    taken: u64,
    done: bool,
    /// This send is the client's `attempt`-th try (0: the first).
    attempt: u32,
    /// The LB's answer, on its way to the client.
    answer: Option<Answer>,
}

/// Traffic state of the world.
pub(crate) struct Traffic {
    backends: Vec<SimBackend>,
    clients: Vec<ClientState>,
    /// Requests not yet ended, by id (looked up, never iterated in an
    /// order that shows).
    reqs: FxHashMap<u64, Req>,
    /// Jobs at the backends, by id (likewise).
    jobs: FxHashMap<u64, Job>,
    /// Per client group, in send order (so in deadline order): when each
    /// pending request gives up.
    timeouts: Vec<VecDeque<(Instant, u64)>>,
    next_id: u64,
    /// Per LB host: (port, frontend proxy index, the one-way trips a
    /// TLS handshake takes after its ClientHello when the port is `bind
    /// ... ssl`: 2 for TLS 1.3, 4 for TLS 1.2).
    frontends: Vec<Vec<(u16, usize, Option<u32>)>>,
    /// Per LB host: when its proxy's CPU is free of the TLS handshakes
    /// queued on it.
    cpu_free: Vec<Instant>,
    /// Per LB host: (proxy, server) → simulated backend.
    servers: Vec<BTreeMap<(usize, usize), usize>>,
}

impl Traffic {
    pub(crate) fn new(sc: &Loaded, seed: u64) -> Self {
        let stream = |name: &str| ChaCha8Rng::seed_from_u64(crate::world::stream_seed(seed, name));
        let backends = sc
            .backends
            .iter()
            .map(|b| SimBackend {
                state: BackendState::Up,
                busy: 0,
                queue: VecDeque::new(),
                rng: stream(&format!(" backend {}", b.addr)),
            })
            .collect();
        let clients = sc
            .clients
            .iter()
            .map(|c| ClientState {
                rng: stream(&format!(" client {}", c.name)),
                replayed: 0,
            })
            .collect();
        let mut frontends = Vec::new();
        let mut servers = Vec::new();
        for h in &sc.hosts {
            let mut fe = Vec::new();
            let mut map = BTreeMap::new();
            if let Some(cfg) = &h.haproxy {
                for (i, p) in cfg.proxies.iter().enumerate() {
                    for b in p
                        .binds
                        .iter()
                        .filter(|b| b.addr.is_none() || b.addr == Some(IpAddr::V4(h.ip)))
                    {
                        let tls = b.tls.as_ref().map(|t| {
                            let tls13 = t.options.versions().contains(&TlsVersion::Tls13);
                            if tls13 {
                                2
                            } else {
                                4
                            }
                        });
                        for port in b.port..=b.port_end {
                            fe.push((port, i, tls));
                        }
                    }
                    for (j, s) in p.servers.iter().enumerate() {
                        let ServerAddr::Ip(IpAddr::V4(ip)) = s.addr else {
                            continue;
                        };
                        let ServerPort::Fixed(port) = s.port else {
                            continue;
                        };
                        if let Some(k) = sc
                            .backends
                            .iter()
                            .position(|b| b.addr == SocketAddrV4::new(ip, port))
                        {
                            map.insert((i, j), k);
                        }
                    }
                }
            }
            frontends.push(fe);
            servers.push(map);
        }
        Self {
            backends,
            clients,
            reqs: FxHashMap::default(),
            jobs: FxHashMap::default(),
            timeouts: sc.clients.iter().map(|_| VecDeque::new()).collect(),
            next_id: 0,
            cpu_free: vec![Instant::ZERO; frontends.len()],
            frontends,
            servers,
        }
    }

    /// The earliest pending client timeout due at or before `bound`
    /// (`None`: any): (deadline, client group). Answered requests are
    /// dropped from the fronts lazily, and only from fronts that could be
    /// due by `bound`, so most calls look nothing up.
    pub(crate) fn next_timeout(&mut self, bound: Option<Instant>) -> Option<(Instant, usize)> {
        let reqs = &self.reqs;
        let due = |t: Instant| bound.is_none_or(|b| t <= b);
        self.timeouts
            .iter_mut()
            .enumerate()
            .filter_map(|(c, q)| {
                while q
                    .front()
                    .is_some_and(|(t, id)| due(*t) && !reqs.contains_key(id))
                {
                    q.pop_front();
                }
                q.front().filter(|(t, _)| due(*t)).map(|(t, _)| (*t, c))
            })
            .min()
    }

    /// A backend changes behaviour (fault timeline).
    /// Whether some simulated backend serves normally and every other one
    /// fails in a way health checks see (refusing or silent); a slow or
    /// erring backend stays in rotation by design.
    pub(crate) fn backends_serve(&self) -> bool {
        self.backends.iter().any(|b| b.state == BackendState::Up)
            && self.backends.iter().all(|b| {
                matches!(
                    b.state,
                    BackendState::Up | BackendState::Down | BackendState::Blackhole
                )
            })
    }

    /// Start times of the requests still waiting for an end, earliest
    /// first.
    pub(crate) fn pending_starts(&self) -> Vec<Instant> {
        let mut starts: Vec<Instant> = self.pending().collect();
        starts.sort_unstable();
        starts
    }

    /// The earliest start of the requests still waiting for an end.
    fn oldest_pending(&self) -> Option<Instant> {
        self.pending().min()
    }

    fn pending(&self) -> impl Iterator<Item = Instant> + '_ {
        self.reqs.values().filter(|r| !r.done).map(|r| r.start)
    }

    pub(crate) fn set_backend(&mut self, b: usize, state: BackendState) {
        self.backends[b].state = state;
    }

    /// How the simulated backend behind server `server` of `proxy` answers a
    /// health probe from LB `h`; `None` when that server is not simulated.
    pub(crate) fn probe_answer(
        &mut self,
        sc: &Loaded,
        h: usize,
        proxy: usize,
        server: usize,
        path: Option<&str>,
        script: bool,
    ) -> Option<Vec<ProbeEvent>> {
        let k = *self.servers[h].get(&(proxy, server))?;
        let be = &mut self.backends[k];
        Some(match be.state {
            BackendState::Down => vec![ProbeEvent::ConnectFailed {
                info: "Connection refused".into(),
            }],
            BackendState::Blackhole => Vec::new(),
            state => {
                let mut v = vec![ProbeEvent::Connected];
                if let Some(path) = path {
                    let mut status = sc.backends[k].status_for(path);
                    if let BackendState::Error(p) = state {
                        if unit(&mut be.rng) < p {
                            status = 500;
                        }
                    }
                    v.push(ProbeEvent::Response {
                        status,
                        reason: reason(status).into(),
                        body: String::new(),
                    });
                }
                if script {
                    // The simulated server speaks whatever the script asks.
                    v.push(ProbeEvent::Verdict(Verdict {
                        status: CheckStatus::L7Ok,
                        code: None,
                        info: None,
                    }));
                }
                v
            }
        })
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

impl World<'_> {
    /// Schedules every client group's first request(s).
    pub(crate) fn schedule_clients(&mut self) {
        for (i, c) in self.sc.clients.iter().enumerate() {
            let start = Instant::ZERO + c.start;
            match c.pace {
                Pace::Open(_) => {
                    self.push(start, Event::Traffic(TrafficEvent::Arrival { client: i }))
                }
                Pace::Closed { users, .. } => {
                    for _ in 0..users {
                        self.push(start, Event::Traffic(TrafficEvent::User { client: i }));
                    }
                }
                Pace::Replay => {
                    if let Some(first) = c.replay.first() {
                        let arrival = Event::Traffic(TrafficEvent::Arrival { client: i });
                        self.push(start + first.at, arrival);
                    }
                }
            }
        }
    }

    pub(crate) fn traffic_event(&mut self, e: TrafficEvent) {
        match e {
            TrafficEvent::Arrival { client } => {
                let c = &self.sc.clients[client];
                if c.stop.is_some_and(|s| self.now >= Instant::ZERO + s) {
                    return;
                }
                match c.pace {
                    Pace::Open(gaps) => {
                        let gap = gaps.sample(&mut self.traffic.clients[client].rng);
                        let arrival = Event::Traffic(TrafficEvent::Arrival { client });
                        self.push(self.now + gap, arrival);
                        self.send(client);
                    }
                    Pace::Replay => self.send_replayed(client),
                    Pace::Closed { .. } => self.send(client),
                }
            }
            TrafficEvent::User { client } => {
                let c = &self.sc.clients[client];
                if c.stop.is_none_or(|s| self.now < Instant::ZERO + s) {
                    self.send(client);
                }
            }
            TrafficEvent::Handshake { req, lb, after } => self.handshake(req, lb, after),
            TrafficEvent::AtLb { req, lb } => self.at_lb(req, lb),
            TrafficEvent::AtBackend {
                lb,
                stream,
                backend,
            } => self.at_backend(lb, stream, backend),
            TrafficEvent::ServiceDone { backend, job } => self.service_done(backend, job),
            TrafficEvent::BackAtLb { lb, stream, status } => {
                let now = self.now;
                if let Some((flow, mut t)) = self.hosts[lb].node.flow() {
                    match status {
                        Some(s) => {
                            flow.handle_response(now, stream, (s, Headers::default(), 0), &mut t)
                        }
                        None => flow.handle_connect_failed(now, stream, &mut t),
                    }
                }
                self.drain_flow(lb);
            }
            TrafficEvent::AtClient { req, answered } => {
                let answer = answered
                    .then(|| self.traffic.reqs.get_mut(&req)?.answer.take())
                    .flatten();
                match answer {
                    Some(a) => self.finish(req, a.status, a.termination, Some(a)),
                    None => self.finish(req, 0, "refused", None),
                }
            }
        }
    }

    /// A client sends a request: to the host its ARP cache names for the target.
    fn send(&mut self, client: usize) {
        let host = self.sc.clients[client]
            .pick_host(&mut self.traffic.clients[client].rng)
            .map(str::to_owned);
        self.send_attempt(client, Asked { host, line: None }, self.now, 0);
    }

    /// Sends the next request of the access log `client` replays, and
    /// schedules the one after it.
    fn send_replayed(&mut self, client: usize) {
        let c = &self.sc.clients[client];
        let line = self.traffic.clients[client].replayed;
        self.traffic.clients[client].replayed += 1;
        if let Some(next) = c.replay.get(line + 1) {
            let arrival = Event::Traffic(TrafficEvent::Arrival { client });
            self.push(Instant::ZERO + c.start + next.at, arrival);
        }
        let asked = Asked {
            host: c.replay[line].host.clone(),
            line: Some(line),
        };
        self.send_attempt(client, asked, self.now, 0);
    }

    /// Sends one try of a request first sent at `start`.
    fn send_attempt(&mut self, client: usize, asked: Asked, start: Instant, attempt: u32) {
        let c = &self.sc.clients[client];
        let id = self.traffic.next_id;
        self.traffic.next_id += 1;
        let target = IpAddr::V4(*c.target.ip());
        let lb = self
            .sc
            .hosts
            .iter()
            .position(|h| IpAddr::V4(h.ip) == target)
            .or_else(|| self.resolve(target));
        let req = Req {
            client,
            start,
            asked,
            lb,
            frontend: None,
            accepted: None,
            taken: 0,
            done: false,
            attempt,
            answer: None,
        };
        self.traffic.reqs.insert(id, req);
        self.traffic.timeouts[client].push_back((self.now + c.timeout, id));
        if let Some(lb) = lb {
            // Without keep-alive a TCP handshake comes first: one more
            // round trip; and on a TLS port a TLS handshake, whose
            // ClientHello rides with the TCP handshake's last segment.
            let tls = self.traffic.frontends[lb]
                .iter()
                .find(|(p, _, _)| *p == c.target.port())
                .and_then(|(_, _, tls)| *tls)
                .filter(|_| !c.keepalive);
            let trips = if c.keepalive { 1 } else { 3 };
            let delay = self.trips(trips);
            let event = match tls {
                Some(after) => TrafficEvent::Handshake { req: id, lb, after },
                None => TrafficEvent::AtLb { req: id, lb },
            };
            self.push(self.now + delay, Event::Traffic(event));
        }
    }

    /// How long `n` one-way trips over the segment take, each drawn.
    fn trips(&mut self, n: u32) -> Duration {
        (0..n).fold(Duration::ZERO, |d, _| d + self.segment.sample())
    }

    /// A TLS ClientHello reaches `lb`: its proxy, when it is there, works
    /// the handshake out once the handshakes before it are done (one CPU,
    /// first come first served); the request reaches it `after` one-way
    /// trips later.
    fn handshake(&mut self, req: u64, lb: usize, after: u32) {
        let host = &self.hosts[lb];
        let mut done = self.now;
        if host.up && host.haproxy_alive {
            done = self.traffic.cpu_free[lb].max(self.now) + self.sc.hosts[lb].tls_handshake;
            self.traffic.cpu_free[lb] = done;
        }
        let at = done + self.trips(after);
        self.push(at, Event::Traffic(TrafficEvent::AtLb { req, lb }));
    }

    /// The ARP cache's answer for `addr`, asking the segment when empty.
    fn resolve(&mut self, addr: IpAddr) -> Option<usize> {
        if let Some(h) = self.arp.get(&addr) {
            return Some(*h);
        }
        let h = self.vip_holder(addr)?;
        self.arp.insert(addr, h);
        self.refresh_arp(addr);
        Some(h)
    }

    fn at_lb(&mut self, req: u64, lb: usize) {
        let now = self.now;
        let Some(r) = self.traffic.reqs.get(&req) else {
            return;
        };
        let (client_idx, host_header) = (r.client, r.asked.host.clone());
        let (method, path) = method_and_path(self.sc, r);
        let client = &self.sc.clients[client_idx];
        let target = *client.target.ip();
        let host = &self.hosts[lb];
        let owns = self.sc.hosts[lb].ip == target || self.vip_holder_is(lb, IpAddr::V4(target));
        if !(host.up && host.link && owns) {
            return; // not for this host (stale ARP) or host gone: the client times out
        }
        let frontend = self.traffic.frontends[lb]
            .iter()
            .find(|(p, _, _)| *p == client.target.port())
            .map(|(_, f, _)| *f);
        let (Some(frontend), true) = (frontend, host.haproxy_alive) else {
            let hop = self.segment.sample();
            let e = TrafficEvent::AtClient {
                req,
                answered: false,
            };
            return self.push(now + hop, Event::Traffic(e));
        };
        // A disabled frontend accepts nothing: the client waits, then
        // times out.
        let paused = host.node.haproxy_parts();
        if paused.is_some_and(|(_, _, flow)| flow.frontend_paused(frontend)) {
            return;
        }
        let starts = self.hosts[lb].haproxy_starts;
        if let Some(r) = self.traffic.reqs.get_mut(&req) {
            r.frontend = Some(frontend);
            r.accepted = Some(now);
            r.taken = starts;
        }
        let headers: Vec<(&str, &str)> = host_header
            .as_deref()
            .map(|h| ("Host", h))
            .into_iter()
            .collect();
        let client_ip = IpAddr::V4(std::net::Ipv4Addr::from(
            0x0a00_0000 + client_idx as u32 + 1,
        ));
        let head = RequestHead {
            method,
            uri: path,
            headers: HeaderView::Pairs(&headers),
            client: Some(client_ip),
            payload: &[],
            around: Around {
                htx: true,
                ..Around::default()
            },
        };
        if let Some((flow, mut t)) = self.hosts[lb].node.flow() {
            flow.handle_request(now, req, frontend, &head, client_ip, &mut t);
        }
        self.drain_flow(lb);
    }

    fn vip_holder_is(&self, lb: usize, addr: IpAddr) -> bool {
        let host = &self.hosts[lb];
        self.sc.hosts[lb].keepalived.as_ref().is_some_and(|k| {
            k.instances.iter().enumerate().any(|(i, inst)| {
                host.vips.get(&i) == Some(&true) && inst.vips.iter().any(|v| v.addr == addr)
            })
        })
    }

    /// Performs LB `h`'s request outputs.
    pub(crate) fn drain_flow(&mut self, h: usize) {
        let now = self.now;
        loop {
            let out = self.hosts[h].node.flow().and_then(|(f, _)| f.poll_output());
            let Some(o) = out else { break };
            match o {
                Output::Connect {
                    id,
                    backend,
                    server,
                } => {
                    let hop = self.segment.sample();
                    match self.traffic.servers[h].get(&(backend, server)) {
                        Some(&k) => self.push(
                            now + hop,
                            Event::Traffic(TrafficEvent::AtBackend {
                                lb: h,
                                stream: id,
                                backend: k,
                            }),
                        ),
                        None => self.push(
                            now + hop * 2,
                            Event::Traffic(TrafficEvent::BackAtLb {
                                lb: h,
                                stream: id,
                                status: None,
                            }),
                        ),
                    }
                }
                Output::Abort { id } => {
                    let gone: Vec<u64> = self
                        .traffic
                        .jobs
                        .iter()
                        .filter(|(_, j)| j.lb == h && j.stream == id)
                        .map(|(k, _)| *k)
                        .collect();
                    for j in gone {
                        self.traffic.jobs.remove(&j);
                        for b in &mut self.traffic.backends {
                            b.queue.retain(|q| *q != j);
                        }
                    }
                }
                Output::Finish {
                    id,
                    outcome,
                    generated,
                    ..
                } => {
                    if let Some(r) = self.traffic.reqs.get_mut(&id) {
                        r.answer = Some(Answer::of(&outcome));
                        let taken = r.taken;
                        self.check(|inv, w| inv.answered(w, h, taken));
                    }
                    self.httplog(h, id, &outcome, generated);
                    let hop = self.segment.sample();
                    self.push(
                        now + hop,
                        Event::Traffic(TrafficEvent::AtClient {
                            req: id,
                            answered: true,
                        }),
                    );
                    if !generated {
                        if let Some((flow, mut t)) = self.hosts[h].node.flow() {
                            flow.handle_done(now, id, &mut t);
                        }
                    }
                }
                // The LB makes the stats page itself (its bytes are not
                // modelled); it leaves as the flow's own answer.
                Output::Stats { id, access, .. } => {
                    let status = match access {
                        haven_core::stats::Access::Unauthorized { .. } => 401,
                        haven_core::stats::Access::Post { .. } => 303,
                        _ => 200,
                    };
                    let page = haven_core::http_rules::Rendered {
                        status,
                        headers: Vec::new(),
                        body: Vec::new(),
                    };
                    if let Some((flow, _)) = self.hosts[h].node.flow() {
                        flow.handle_stats_page(now, id, page);
                    }
                }
            }
        }
    }

    /// The `option httplog` line of a finished request, when its frontend
    /// logs (body sizes are not modelled: server answers count 0 bytes).
    fn httplog(&mut self, h: usize, id: u64, o: &Outcome, generated: bool) {
        let Some(cfg) = self.sc.hosts[h]
            .haproxy
            .as_ref()
            .filter(|_| self.sc.log_requests)
        else {
            return;
        };
        let Some(r) = self.traffic.reqs.get(&id) else {
            return;
        };
        let (Some(fe), Some(accepted)) = (r.frontend, r.accepted) else {
            return;
        };
        let frontend = &cfg.proxies[fe];
        if !frontend.options.httplog || frontend.logs.is_empty() {
            return;
        }
        let port = self.sc.clients[r.client].target.port();
        let server_addr = o.backend.zip(o.tried.last()).and_then(|(b, s)| {
            let server = &cfg.proxies[b].servers[*s];
            match (&server.addr, &server.port) {
                (ServerAddr::Ip(ip), ServerPort::Fixed(p)) => Some(SocketAddr::new(*ip, *p)),
                _ => None,
            }
        });
        let ms = |d: Duration| d.as_millis();
        let ta = ms(self.now.saturating_duration_since(accepted));
        let tw = o.queued_for.map_or(0, ms);
        let served = !generated && o.status != 0;
        let line = HttpLog {
            client: SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + r.client as u32 + 1)),
                1024 + (id % 60_000) as u16,
            ),
            accept: self.rec.wall(accepted),
            frontend: frontend.name.clone(),
            backend: o
                .backend
                .map_or_else(|| frontend.name.clone(), |b| cfg.proxies[b].name.clone()),
            server: o
                .backend
                .zip(o.tried.last())
                .map(|(b, s)| cfg.proxies[b].servers[*s].name.clone()),
            timers: [
                Some(0),
                Some(tw),
                (!o.tried.is_empty()).then_some(0),
                served.then(|| ta.saturating_sub(tw)),
                Some(ta),
            ],
            status: o.status,
            bytes: if generated {
                error_response(o.status).len() as u64
            } else {
                0
            },
            termination: o.state(),
            conns: [1, 1, 1, u32::from(!o.tried.is_empty())],
            retries: o.retries,
            redispatched: o.redispatched,
            queues: [0, 0],
            captured: None,
            request: {
                let (method, path) = method_and_path(self.sc, r);
                format!("{method} {path} HTTP/1.1")
            },
            https: None,
        };
        let (name, pid) = (self.sc.hosts[h].name.clone(), self.sc.hosts[h].pids.haproxy);
        let text = match &frontend.log_format {
            Some(format) => {
                let (civil, _) = &line.accept;
                let facts = LineFacts {
                    frontend_addr: Some(SocketAddr::new(IpAddr::V4(self.sc.hosts[h].ip), port)),
                    server_addr,
                    request_counter: id,
                    hostname: name.clone(),
                    pid,
                    accept_unix: Civil::to_unix(
                        civil.year,
                        civil.month,
                        civil.day,
                        civil.hour,
                        civil.minute,
                        civil.second,
                    ),
                    vars: o.vars.as_deref().cloned(),
                    ..LineFacts::default()
                };
                access_format::render(format, &line, &facts)
            }
            None => line.to_string(),
        };
        self.rec
            .log(self.now, "localhost", &name, "haproxy", pid, &text);
    }

    fn at_backend(&mut self, lb: usize, stream: u64, backend: usize) {
        let now = self.now;
        let hop = self.segment.sample();
        match self.traffic.backends[backend].state {
            BackendState::Down => {
                return self.push(
                    now + hop,
                    Event::Traffic(TrafficEvent::BackAtLb {
                        lb,
                        stream,
                        status: None,
                    }),
                );
            }
            BackendState::Blackhole => return,
            _ => {}
        }
        if let Some((flow, mut t)) = self.hosts[lb].node.flow() {
            flow.handle_connected(now, stream, &mut t);
        }
        self.drain_flow(lb);
        let job = self.traffic.next_id;
        self.traffic.next_id += 1;
        self.traffic.jobs.insert(job, Job { lb, stream });
        let be = &mut self.traffic.backends[backend];
        if be.busy < self.sc.backends[backend].workers {
            be.busy += 1;
            self.start_job(backend, job);
        } else {
            be.queue.push_back(job);
        }
    }

    fn start_job(&mut self, backend: usize, job: u64) {
        let be = &mut self.traffic.backends[backend];
        let mut service = self.sc.backends[backend].service.sample(&mut be.rng);
        if let BackendState::Slow(k) = be.state {
            service = Duration::from_nanos((service.as_nanos() as f64 * k) as u64);
        }
        self.push(
            self.now + service,
            Event::Traffic(TrafficEvent::ServiceDone { backend, job }),
        );
    }

    fn service_done(&mut self, backend: usize, job: u64) {
        let now = self.now;
        if let Some(j) = self.traffic.jobs.remove(&job) {
            let sc = self.sc;
            let path = self
                .traffic
                .reqs
                .get(&j.stream)
                .map_or("", |r| method_and_path(sc, r).1);
            let mut status = sc.backends[backend].status_for(path);
            let be = &mut self.traffic.backends[backend];
            if let BackendState::Error(p) = be.state {
                if unit(&mut be.rng) < p {
                    status = 500;
                }
            }
            let hop = self.segment.sample();
            self.push(
                now + hop,
                Event::Traffic(TrafficEvent::BackAtLb {
                    lb: j.lb,
                    stream: j.stream,
                    status: Some(status),
                }),
            );
        }
        let be = &mut self.traffic.backends[backend];
        match be.queue.pop_front() {
            Some(next) => self.start_job(backend, next),
            None => be.busy = be.busy.saturating_sub(1),
        }
    }

    /// The oldest pending request of `client` gives up.
    pub(crate) fn client_timeout(&mut self, client: usize) {
        if let Some((_, req)) = self.traffic.timeouts[client].pop_front() {
            self.finish(req, 0, "timeout", None);
        }
    }

    fn finish(&mut self, req: u64, status: u16, termination: &str, answer: Option<Answer>) {
        let Some(r) = self.traffic.reqs.get_mut(&req) else {
            return;
        };
        if r.done {
            return;
        }
        r.done = true;
        let r = self.traffic.reqs.remove(&req).expect("present");
        let failed = status == 0 || status >= 500;
        if failed && r.attempt < self.sc.clients[r.client].retries {
            return self.send_attempt(r.client, r.asked, r.start, r.attempt + 1);
        }
        let latency = self.now.saturating_duration_since(r.start);
        let (sc, start) = (self.sc, r.start);
        let row = || {
            let cfg = r.lb.and_then(|lb| sc.hosts[lb].haproxy.as_ref());
            let frontend = r
                .frontend
                .and_then(|f| cfg.map(|c| c.proxies[f].name.clone()));
            let (backend, server, tries) = match (answer, cfg) {
                (Some(a), Some(c)) => {
                    let be = a.backend.map(|b| c.proxies[b].name.clone());
                    let srv = a
                        .backend
                        .zip(a.server)
                        .map(|(b, s)| c.proxies[b].servers[s].name.clone());
                    (be, srv, a.tries)
                }
                _ => (None, None, 0),
            };
            RequestRow {
                start: r.start,
                client: sc.clients[r.client].name.clone(),
                host: r.asked.host.unwrap_or_default(),
                lb: r.lb.map(|h| sc.hosts[h].name.clone()),
                frontend,
                backend,
                server,
                tries,
                status,
                termination: termination.to_owned(),
                latency,
            }
        };
        self.rec.request(start, latency, failed, row);
        if self.rec.requests_want_flush() {
            let oldest = self.traffic.oldest_pending();
            self.rec.flush_requests(oldest.unwrap_or(self.now));
        }
        if let Pace::Closed { think, .. } = self.sc.clients[r.client].pace {
            let pause = think.sample(&mut self.traffic.clients[r.client].rng);
            self.push(
                self.now + pause,
                Event::Traffic(TrafficEvent::User { client: r.client }),
            );
        }
    }
}
