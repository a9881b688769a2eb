//! The driver: owns the [`Node`] behind one lock, turns what the socket
//! tasks saw into core inputs, and performs core's outputs (connect,
//! abort, finish, probe, log). A request task reports in its own turn
//! ([`Core::dispatch`]), so a request costs no hop to another task; the
//! driver task ([`run`]) fires core's timers on time and takes the rare
//! events (probes, runtime API, drain) from its queue.

use crate::accept::BindSocket;
use crate::clock::Clock;
use crate::logger::Logger;
use crate::mailbox::{Mailboxes, PostCounts};
use crate::probe;
use crate::stream::Peer;
use crate::tls::{CertStore, ServerHandshake};
use crate::workers::Threads;
use haven_core::cache::Ticket;
use haven_core::config::haproxy::{
    BodyWait, CliLevel, HaproxyConfig, Proxy, ProxyKind, ProxyVersion, Server, ServerAddr,
    ServerPort, Source, Splice, TcpLayer, Timeouts,
};
use haven_core::dns;
use haven_core::health::{self, http_script, CheckId, Probe, ProbeEvent};
use haven_core::http_rules::{Headers, Rendered};
use haven_core::log::haproxy::MaintCause;
use haven_core::node::{AddRefused, Node};
use haven_core::proxy::{
    self, AdminAction, Forward, Outcome, ReusePolicy, Rewrite, ServerFailure, StreamId,
    WeightChange,
};
use haven_core::route::{self, Admission, Level, RequestHead};
use haven_core::sample::{ServerTls, Vars};
use haven_core::stats::{
    self, Access, BadMessage, CliCommand, Counters, ErrorSnapshots, H2Owner, Posted, Sources,
    Transfer,
};
use haven_core::time::Instant;
use haven_core::vrrp::InstanceView;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// What a socket task saw.
#[derive(Debug)]
pub(crate) enum Event {
    /// The connection to the server is up; `streaming`: the request's
    /// body is too large to keep and streams to it; `server_tls`: what a
    /// TLS connection agreed on, with the certificate the server
    /// presented.
    Connected {
        id: StreamId,
        streaming: bool,
        server_tls: Option<Arc<ServerTls>>,
    },
    /// A streamed request body went to the server whole.
    RequestSent(StreamId),
    /// The client left (or stopped sending, `timed_out`) in the middle of
    /// a body streaming to the server.
    ClientAborted { id: StreamId, timed_out: bool },
    /// The connection to the server failed.
    ConnectFailed(StreamId),
    /// The server failed the request it was sent.
    ServerFailed(StreamId, ServerFailure),
    /// The server's answer came, but not its body within the time a
    /// `wait-for-body` rule gives.
    BodyTimedOut(StreamId),
    /// The server's response head arrived: its status, its headers
    /// when some proxy has response rules, and the bytes of body read
    /// with it.
    Response(StreamId, u16, Headers, usize),
    /// The answer went to the client (or as much of it as could), having
    /// moved what the transfer says.
    Done(StreamId, Transfer),
    /// The client went away before the end.
    ClientClosed(StreamId),
    /// The body of a response a cache keeps, whole (`None`: it will not
    /// come whole).
    CacheFill(Ticket, Option<Arc<[u8]>>),
    /// A malformed message came (kept for `show errors`).
    BadMessage(Box<BadMessage>),
    /// An HTTP/2 connection opened (a client's to a frontend, or one to
    /// a backend's server).
    H2Opened(H2Owner),
    /// An HTTP/2 connection ended, having counted what it says.
    H2Closed(H2Owner, haven_core::http2::Counters),
    /// A health probe's progress.
    Probe(CheckId, ProbeEvent),
    /// What a DNS answer (or its absence) changed for a server.
    Dns(haven_core::dns::Change),
    /// Agent `n`'s line (`None`: none came).
    Agent(usize, Option<String>),
    /// Stop once no request is in progress (reload, graceful stop).
    Drain,
    /// A runtime API command line, and where its answer goes.
    Admin {
        line: String,
        /// The socket's `level`.
        level: CliLevel,
        reply: tokio::sync::oneshot::Sender<String>,
    },
}

/// Where and how a request reaches its server.
#[derive(Debug, Clone)]
pub(crate) struct Connect {
    pub(crate) addr: Peer,
    /// The server: backend and server index.
    pub(crate) target: (usize, usize),
    /// Where its connections leave from (`source`); boxed, being rare.
    pub(crate) source: Option<Box<Source>>,
    /// Which idle connection the request may take, and where its
    /// connection goes after.
    pub(crate) reuse: ReusePolicy,
    /// The PROXY protocol header a new connection starts with, and
    /// whether it carries the request's unique id.
    pub(crate) send_proxy: Option<(ProxyVersion, bool)>,
    /// The SOCKS4 proxy new connections go through (`socks4`); boxed,
    /// being rare (a `Connect` travels with every request).
    pub(crate) socks4: Option<Box<SocketAddr>>,
    /// The TLS handshake new connections make (`ssl`).
    pub(crate) tls: Option<Arc<ServerHandshake>>,
    /// The server name the request computed for its TLS handshake (`sni
    /// EXPR`): only a connection opened with it serves the request. (An
    /// `Arc<String>`, one pointer wide: a `Connect` travels with every
    /// request.)
    pub(crate) sni: Option<Arc<String>>,
    /// The server speaks HTTP/2 (`proto h2`).
    pub(crate) h2: bool,
    /// `option nolinger` on the backend: its connections end with a reset.
    pub(crate) nolinger: bool,
    /// `option tcp-smart-connect` on the backend.
    pub(crate) smart_connect: bool,
    /// How long the server may stay quiet (`timeout server`).
    pub(crate) server_timeout: Option<std::time::Duration>,
    /// How long either side of a tunnel may stay quiet (`timeout
    /// tunnel`); without it, each side keeps its own timeout.
    pub(crate) tunnel_timeout: Option<std::time::Duration>,
    /// The backend's `option splice-*` (none under `nosplice`).
    pub(crate) splice: Splice,
}

/// What the driver tells a request task to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Connect to a server and send the request.
    Connect(Connect),
    /// Drop the attempt in progress.
    Abort,
    /// Answer with this response (stats page, CSV, 401).
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Answer the client: the server's response, or haproxy's page for
    /// `outcome.status` when `generated`, as the HTTP rules changed it
    /// (or the reply they wrote).
    Finish {
        outcome: Outcome,
        generated: bool,
        rewrite: Option<Box<Rewrite>>,
        by: ServedBy,
    },
}

/// Who served a request, for its log line.
#[derive(Debug)]
pub(crate) struct ServedBy {
    /// The backend's name (`-` when none was chosen).
    pub(crate) backend: Arc<str>,
    /// The server's name, when one was tried.
    pub(crate) server: Option<Arc<str>>,
    /// The backend's and the server's other requests in progress as this
    /// one ends (the log's `beconn` and `srv_conn`).
    pub(crate) load: [u32; 2],
}

/// The driver's state.
struct Driver {
    node: Node,
    clock: Clock,
    rng: ChaCha8Rng,
    events: UnboundedSender<Event>,
    streams: Mailboxes<Command>,
    /// Per proxy (config index): its name and its servers' names.
    names: Vec<(Arc<str>, Vec<Arc<str>>)>,
    probes: BTreeMap<CheckId, JoinHandle<()>>,
    /// Per backend (config index), per server: its address.
    servers: BTreeMap<usize, Vec<SocketAddr>>,
    /// Servers that start without an address, until the start marks them.
    unresolved: Vec<(usize, usize)>,
    draining: bool,
    counters: Counters,
    logger: Arc<Logger>,
    /// Per frontend (config index): its listening sockets.
    listeners: BTreeMap<usize, Vec<Arc<BindSocket>>>,
    /// The VRRP instances of the same process, as last published.
    vrrp: Option<watch::Receiver<Vec<InstanceView>>>,
    vrrp_view: Vec<InstanceView>,
    /// The TLS listeners' certificates (`set ssl cert`).
    certificates: CertStore,
    /// The serving threads (`show activity`, `show info`, the metrics).
    threads: Arc<Threads>,
    /// Client connections open in the process (`show info`'s
    /// `CurrConns`, the logs' `actconn`).
    process_conns: Arc<std::sync::atomic::AtomicU32>,
    /// The last malformed messages (`show errors`).
    errors: ErrorSnapshots,
}

/// The driver, shared by every task that reports to it.
pub(crate) struct Core {
    driver: Mutex<Driver>,
    /// Wakes the driver task: an earlier deadline, or the end of a drain.
    wake: Notify,
    /// Commands posted so far, by request (see [`Core::poll_command`]).
    posted: Arc<PostCounts>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Core")
    }
}

impl Core {
    /// The driver of `node`, haproxy's side started: ready for requests
    /// from any thread before its task runs.
    pub(crate) fn new(node: Node, clock: Clock, rng: ChaCha8Rng, wiring: Wiring) -> Self {
        let mut driver = Driver::new(node, clock, rng, wiring);
        driver.start();
        Self {
            posted: driver.streams.posted(),
            driver: Mutex::new(driver),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Driver> {
        // A panic in one task leaves the state as consistent as core left it.
        crate::locks::lock(&self.driver).unwrap_or_else(PoisonError::into_inner)
    }

    /// A request's head arrived on `frontend` (index in the config), read
    /// whole `at`: what core does to it, and the driver's first command
    /// for it when one came at once (the usual case: one lock, no trip
    /// through its mailbox); the next wait there ([`Core::poll_command`]).
    pub(crate) fn request(
        &self,
        id: StreamId,
        on: (usize, usize),
        head: &RequestHead<'_>,
        client: SocketAddr,
        at: tokio::time::Instant,
    ) -> (Forward, Option<Command>) {
        let mut driver = self.lock();
        let now = driver.clock.at(at);
        let forward = driver.request(now, id, on, head, client);
        self.settle(&mut driver);
        (forward, driver.streams.take(id))
    }

    /// What `frontend`'s `tcp-request` rules of `layer` say of a
    /// connection from `client` that sent `payload` so far (`last`: no
    /// more will come), with the variables they set in `vars`; `None`
    /// when the frontend has no such rules.
    pub(crate) fn admit(
        &self,
        frontend: usize,
        layer: TcpLayer,
        (client, payload): (std::net::IpAddr, &[u8]),
        last: bool,
        vars: &mut Vars,
    ) -> Option<Admission> {
        let driver = self.lock();
        let proxy = driver.config()?.proxies.get(frontend)?;
        if !proxy.tcp_request.iter().any(|r| r.layer == layer) {
            return None;
        }
        let head = RequestHead::connection(client, payload);
        Some(route::admit(proxy, layer, &head, last, vars))
    }

    /// How long `frontend`'s `http-request` rules wait for the body of
    /// `head` (`wait-for-body`), if they do.
    pub(crate) fn request_body_wait(
        &self,
        frontend: usize,
        head: &RequestHead<'_>,
    ) -> Option<BodyWait> {
        let mut driver = self.lock();
        let (flow, _) = driver.node.flow()?;
        flow.request_body_wait(frontend, head)
    }

    /// How long the `http-response` rules wait for the body of request
    /// `id`'s answer, whose `status` and `headers` came, if they do.
    pub(crate) fn response_body_wait(
        &self,
        id: StreamId,
        answer: (u16, &[(&str, &str)]),
    ) -> Option<BodyWait> {
        let mut driver = self.lock();
        let (flow, _) = driver.node.flow()?;
        flow.response_body_wait(id, answer)
    }

    /// Runs `frontend`'s `tcp-request` rules of `layer` (connection or
    /// session) on `level`: whether the connection goes on, closes or is
    /// dropped silently.
    pub(crate) fn run_level(
        &self,
        frontend: usize,
        layer: TcpLayer,
        level: &mut Level,
    ) -> Admission {
        let driver = self.lock();
        let now = driver.clock.now();
        let Some((cfg, _, flow)) = driver.node.haproxy_parts() else {
            return Admission::Accept;
        };
        match cfg.proxies.get(frontend) {
            Some(proxy) => route::run_level(proxy, layer, level, Some((flow.stick_tables(), now))),
            None => Admission::Accept,
        }
    }

    /// A client connection whose levels tracked `tracked` closed.
    pub(crate) fn release_session(&self, tracked: &[Option<haven_core::stick::Tracked>; 3]) {
        let driver = self.lock();
        if let Some((_, _, flow)) = driver.node.haproxy_parts() {
            flow.release_session(tracked);
        }
    }

    /// How long `frontend`'s content rules may wait for the first bytes
    /// (`tcp-request inspect-delay`).
    pub(crate) fn inspect_delay(&self, frontend: usize) -> Option<std::time::Duration> {
        let driver = self.lock();
        let proxy = driver.config()?.proxies.get(frontend)?;
        proxy
            .inspect_delay
            .map(|d| std::time::Duration::from_nanos(d.as_nanos()))
    }

    /// The driver's next command for request `id`; `Ready(None)` after
    /// the last. `seen` is the count of posts when the caller last found
    /// its mailbox empty, its waker left there: while no command was
    /// posted since, the mailbox is not looked into (nor the lock taken).
    pub(crate) fn poll_command(
        &self,
        id: StreamId,
        seen: &mut Option<u64>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Command>> {
        let posted = self.posted.to(id);
        if *seen == Some(posted) {
            return std::task::Poll::Pending;
        }
        let polled = self.lock().streams.poll(id, cx);
        *seen = polled.is_pending().then_some(posted);
        polled
    }

    /// Request `id`'s exchange is gone: nothing more goes to it.
    pub(crate) fn forget(&self, id: StreamId) {
        let mut driver = self.lock();
        if driver.streams.close(id) {
            self.settle(&mut driver);
        }
    }

    /// Handles `ev` now, in the caller's turn.
    pub(crate) fn dispatch(&self, ev: Event) {
        self.dispatch_at(ev, tokio::time::Instant::now());
    }

    /// Handles `ev`, seen `at` (a moment ago, in the caller's turn).
    pub(crate) fn dispatch_at(&self, ev: Event, at: tokio::time::Instant) {
        drop(self.handle_at(ev, at));
    }

    /// Handles `ev` of request `id`, seen `at`: the command it caused for
    /// `id` at once, taken under the same lock, if any.
    pub(crate) fn dispatch_for(
        &self,
        id: StreamId,
        ev: Event,
        at: tokio::time::Instant,
    ) -> Option<Command> {
        self.handle_at(ev, at).streams.take(id)
    }

    /// Handles `ev` seen `at` and performs what it caused; the driver,
    /// still locked.
    fn handle_at(&self, ev: Event, at: tokio::time::Instant) -> MutexGuard<'_, Driver> {
        let mut driver = self.lock();
        let now = driver.clock.at(at);
        driver.handle(now, ev);
        self.settle(&mut driver);
        driver
    }

    /// Performs what the last input caused; wakes the driver task when
    /// its sleep is no longer right.
    fn settle(&self, driver: &mut Driver) {
        driver.perform();
        if driver.node.alarm_late() || driver.drained() {
            self.wake.notify_one();
        }
    }
}

/// The driver task: fires core's timers, handles queued events, until
/// every event sender is gone or a drain is over.
pub(crate) async fn run(core: Arc<Core>, mut rx: UnboundedReceiver<Event>) {
    loop {
        let sleep = {
            let mut driver = core.lock();
            if driver.drained() {
                break;
            }
            let deadline = driver.node.poll_timeout();
            driver.node.set_alarm(deadline);
            tokio::time::sleep_until(deadline.map_or_else(
                || tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
                |d| driver.clock.deadline(d),
            ))
        };
        // Polled in order (no random pick): due timers first, so a
        // busy event queue cannot hold them back.
        tokio::select! {
            biased;
            () = sleep => core.lock().fire_timers(),
            () = core.wake.notified() => {}
            ev = rx.recv() => match ev {
                Some(ev) => core.dispatch(ev),
                None => break,
            },
        }
    }
    let mut driver = core.lock();
    for (_, p) in std::mem::take(&mut driver.probes) {
        p.abort();
    }
}

/// What the driver is wired to besides its node.
pub(crate) struct Wiring {
    /// Its own event queue, for the probe tasks it starts.
    pub(crate) events: UnboundedSender<Event>,
    /// Per backend (config index), per server: its address.
    pub(crate) servers: BTreeMap<usize, Vec<SocketAddr>>,
    /// Servers that start without an address (in maintenance).
    pub(crate) unresolved: Vec<(usize, usize)>,
    pub(crate) logger: Arc<Logger>,
    /// Per frontend (config index): its listening sockets.
    pub(crate) listeners: BTreeMap<usize, Vec<Arc<BindSocket>>>,
    /// The VRRP instances of the same process, when it runs any.
    pub(crate) vrrp: Option<watch::Receiver<Vec<InstanceView>>>,
    /// The TLS listeners' certificates, for the runtime API.
    pub(crate) certificates: CertStore,
    /// The serving threads.
    pub(crate) threads: Arc<Threads>,
    /// Client connections open in the process.
    pub(crate) process_conns: Arc<std::sync::atomic::AtomicU32>,
}

impl Driver {
    fn new(node: Node, clock: Clock, rng: ChaCha8Rng, wiring: Wiring) -> Self {
        let Wiring {
            events,
            servers,
            unresolved,
            logger,
            listeners,
            vrrp,
            certificates,
            threads,
            process_conns,
        } = wiring;
        Self {
            names: proxy_names(&node),
            node,
            clock,
            rng,
            events,
            streams: Mailboxes::new(threads.count()),
            probes: BTreeMap::new(),
            servers,
            unresolved,
            draining: false,
            counters: Counters::with_lanes(threads.count()),
            logger,
            listeners,
            vrrp,
            vrrp_view: Vec::new(),
            certificates,
            threads,
            process_conns,
            errors: ErrorSnapshots::default(),
        }
    }

    /// Starts haproxy's side of the node: its checks, and the servers
    /// that have no address yet in maintenance. Done before anything
    /// listens, so the first request finds it started on any thread.
    fn start(&mut self) {
        let now = self.clock.now();
        self.node.start_haproxy(now);
        let unix = crate::traffic_log::unix_secs(self.clock.origin_date());
        self.with_flow(|f, _| f.set_calendar(Instant::ZERO, unix));
        for at in std::mem::take(&mut self.unresolved) {
            self.with_flow(|f, t| f.set_resolving(now, at, true, t));
            if let Some((checks, mut t)) = self.node.checks() {
                checks.start_unresolved(at, &mut t);
            }
        }
        self.perform();
    }

    /// Handles every timer due by now and performs what they caused.
    fn fire_timers(&mut self) {
        let now = self.clock.now();
        while self.node.handle_timeout(now, &mut self.rng) {}
        self.perform();
    }

    /// A drain is asked for and no request is left.
    fn drained(&self) -> bool {
        self.draining && self.streams.count_in_progress() == 0
    }

    fn config(&self) -> Option<&HaproxyConfig> {
        self.node.haproxy_config()
    }

    /// What `proxy`'s `option splice-*` ask for, unless `nosplice`.
    fn splice_of(&self, proxy: Option<&Proxy>) -> Splice {
        let allowed = self.config().is_some_and(|c| !c.global.nosplice);
        proxy
            .filter(|_| allowed)
            .map_or_else(Splice::default, |p| p.options.splice)
    }

    fn request(
        &mut self,
        now: Instant,
        id: StreamId,
        (frontend, listener): (usize, usize),
        head: &RequestHead<'_>,
        client: SocketAddr,
    ) -> Forward {
        self.refresh_vrrp();
        self.streams.open(id);
        if let Some(reply) = self.intercepted(frontend, head) {
            self.streams.post(id, reply);
            return Forward::default();
        }
        self.counters.request(id, frontend, listener);
        match self.node.flow() {
            Some((flow, mut t)) => {
                flow.handle_request(now, id, frontend, head, client.ip(), &mut t)
            }
            None => Forward::default(),
        }
    }

    fn handle(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Connected {
                id,
                streaming,
                server_tls,
            } => self.with_flow(|f, t| {
                if let Some(server) = server_tls {
                    f.set_server_tls(id, server);
                }
                f.handle_connected(now, id, t);
                if streaming {
                    f.handle_body_streaming(id, t);
                }
            }),
            Event::RequestSent(id) => self.with_flow(|f, t| f.handle_request_sent(now, id, t)),
            Event::ClientAborted { id, timed_out } => {
                self.with_flow(|f, t| f.handle_client_aborted(now, id, timed_out, t));
            }
            Event::ConnectFailed(id) => self.with_flow(|f, t| f.handle_connect_failed(now, id, t)),
            Event::ServerFailed(id, failure) => {
                self.with_flow(|f, t| f.handle_server_failed(now, id, failure, t));
            }
            Event::BodyTimedOut(id) => self.with_flow(|f, t| f.handle_body_timeout(now, id, t)),
            Event::Response(id, status, headers, buffered) => {
                let answer = (status, headers, buffered);
                self.with_flow(|f, t| f.handle_response(now, id, answer, t));
            }
            Event::Done(id, moved) => {
                self.with_flow(|f, t| f.handle_done(now, id, t));
                self.counters.transferred(id, moved);
                // Nothing more goes to the exchange: it is as good as gone.
                self.streams.close(id);
            }
            Event::ClientClosed(id) => {
                self.with_flow(|f, t| f.handle_client_closed(now, id, t));
            }
            Event::CacheFill(ticket, body) => {
                self.with_flow(|f, _| f.cache_fill(now, ticket, body));
            }
            Event::BadMessage(message) => self.errors.capture(*message),
            Event::H2Opened(owner) => self.counters.h2_opened(owner),
            Event::H2Closed(owner, seen) => self.counters.h2_closed(owner, &seen),
            Event::Drain => self.draining = true,
            Event::Admin { line, level, reply } => {
                let answer = self.admin(&line, level);
                let _ = reply.send(answer);
            }
            Event::Probe(id, event) => {
                if let Some((checks, mut t)) = self.node.checks() {
                    checks.handle_probe(now, id, event, &mut t, &mut self.rng);
                }
            }
            Event::Dns(change) => self.dns_change(now, change),
            Event::Agent(n, reply) => {
                if let Some((checks, mut t)) = self.node.checks() {
                    checks.handle_agent(now, n, reply, &mut t);
                }
            }
        }
    }

    /// Applies what DNS said of a server: a new address (logged as
    /// haproxy logs it), or maintenance entered or left.
    fn dns_change(&mut self, now: Instant, change: dns::Change) {
        match change {
            dns::Change::Address {
                backend,
                server,
                from,
                to,
                by,
            } => {
                let Some(addr) = self
                    .servers
                    .get_mut(&backend)
                    .and_then(|s| s.get_mut(server))
                else {
                    return;
                };
                addr.set_ip(to);
                let from = from.map_or_else(|| "(none)".to_owned(), |ip| ip.to_string());
                let (b, s) = (&self.names[backend].0, &self.names[backend].1[server]);
                let text = format!("{b}/{s} changed its IP from {from} to {to} by {by}.");
                self.logger.event(Some(backend), 5, &text);
            }
            dns::Change::Resolves {
                backend,
                server,
                host,
            } => self.dns_maint(now, (backend, server), MaintCause::DnsBack(host)),
            dns::Change::Lost {
                backend,
                server,
                status,
            } => self.dns_maint(now, (backend, server), MaintCause::DnsLost(status)),
        }
    }

    /// Server `at` enters or leaves DNS maintenance as `cause` says, in
    /// the flow and the checks.
    fn dns_maint(&mut self, now: Instant, at: (usize, usize), cause: MaintCause) {
        let on = matches!(cause, MaintCause::DnsLost(_));
        self.with_flow(|f, t| f.set_resolving(now, at, on, t));
        if let Some((checks, mut t)) = self.node.checks() {
            checks.set_dns_maint(now, at, cause, &mut t);
        }
    }

    fn with_flow(
        &mut self,
        f: impl FnOnce(&mut proxy::Flow, &mut dyn haven_core::sched::Timers<proxy::Timer>),
    ) {
        if let Some((flow, mut t)) = self.node.flow() {
            f(flow, &mut t);
        }
    }

    /// Performs every pending output of the checks and the flow.
    fn perform(&mut self) {
        loop {
            let check = self.node.checks().and_then(|(c, _)| c.poll_output());
            if let Some(out) = check {
                self.perform_check(out);
                continue;
            }
            let flow = self.node.flow().and_then(|(f, _)| f.poll_output());
            match flow {
                Some(out) => self.perform_flow(out),
                None => break,
            }
        }
    }

    fn perform_check(&mut self, out: health::Output) {
        match out {
            health::Output::StartProbe {
                id,
                backend,
                server,
                probe,
            } => {
                if let Some(addr) = self.server_addr(backend, server) {
                    let mut probe = probe;
                    if let Probe::Http(http) = &mut probe {
                        http.state = http
                            .send_state
                            .then(|| self.server_state(id, addr, backend, server));
                    }
                    let local = self
                        .config()
                        .and_then(|c| source_of(c.proxies.get(backend)?, server))
                        .map(|s| s.check_end());
                    let socks4 = self
                        .config()
                        .and_then(|c| c.proxies.get(backend)?.servers.get(server))
                        .filter(|s| s.check_via_socks4)
                        .and_then(|s| s.socks4);
                    let over_tls = self
                        .config()
                        .and_then(|c| c.proxies.get(backend)?.servers.get(server))
                        .is_some_and(|s| s.checks_over_tls());
                    let tls = match over_tls {
                        true => match self.server_handshake(backend, server) {
                            Ok(tls) => tls,
                            Err(()) => {
                                let info = "SSL handshake failure".to_owned();
                                let failed = ProbeEvent::HandshakeFailed { info };
                                let _ = self.events.send(Event::Probe(id, failed));
                                return;
                            }
                        },
                        false => None,
                    };
                    let h2 = self
                        .config()
                        .and_then(|c| c.proxies.get(backend)?.servers.get(server))
                        .is_some_and(|s| s.checks_h2());
                    let srv = self
                        .config()
                        .and_then(|c| c.proxies.get(backend)?.servers.get(server));
                    let to = probe::Target {
                        addr: peer(srv, addr),
                        local,
                        socks4,
                        tls,
                        h2,
                    };
                    let task = tokio::spawn(probe::run(id, to, probe, self.events.clone()));
                    if let Some(old) = self.probes.insert(id, task) {
                        old.abort();
                    }
                }
            }
            health::Output::AbortProbe { id } => {
                if let Some(task) = self.probes.remove(&id) {
                    task.abort();
                }
            }
            health::Output::ServerState {
                backend,
                server,
                up,
            } => {
                let now = self.clock.now();
                self.with_flow(|f, t| f.handle_server_state(now, backend, server, up, t));
            }
            health::Output::StartAgent {
                id,
                backend,
                server,
                addr,
                port,
                send,
                timeout,
            } => {
                let ip = addr.or_else(|| self.server_addr(backend, server).map(|a| a.ip()));
                if let Some(ip) = ip {
                    let to = SocketAddr::new(ip, port);
                    let timeout = std::time::Duration::from_nanos(timeout.as_nanos());
                    tokio::spawn(probe::agent(id, to, send, timeout, self.events.clone()));
                }
            }
            health::Output::AgentSays {
                backend,
                server,
                says,
            } => {
                let now = self.clock.now();
                self.with_flow(|f, t| {
                    if let Some(p) = says.weight {
                        f.set_weight(backend, server, WeightChange::Percent(p));
                    }
                    if let Some(n) = says.maxconn {
                        f.set_maxconn(backend, server, n);
                    }
                    if let Some(action) = says.admin {
                        f.set_admin(now, backend, server, action, t);
                    }
                });
            }
            health::Output::Log(record) => {
                let proxy = self
                    .config()
                    .and_then(|c| c.proxies.iter().position(|p| p.name == record.backend()));
                self.logger.event(proxy, record.severity(), &record.text());
            }
        }
    }

    fn perform_flow(&mut self, out: proxy::Output) {
        self.counters.observe(&out);
        match out {
            proxy::Output::Connect {
                id,
                backend,
                server,
            } => {
                // `ssl` (not `check-ssl` alone, which is for the checks),
                // and a port unless fixed (a `dispatch` address is no
                // configured server: it has its port).
                let (ssl, port) = self
                    .config()
                    .and_then(|c| c.proxies.get(backend)?.servers.get(server))
                    .map_or((false, None), |s| (s.tls.enabled, Some(s.port)));
                let port = port.filter(|p| !matches!(p, ServerPort::Fixed(_)));
                let tls = match ssl {
                    false => None,
                    true => match self.server_handshake(backend, server) {
                        Ok(tls) => tls,
                        Err(()) => {
                            let now = self.clock.now();
                            return self.with_flow(|f, t| f.handle_connect_failed(now, id, t));
                        }
                    },
                };
                let (transparent, reached) = match self.node.flow() {
                    Some((f, _)) => (
                        f.transparent_destination(id),
                        port.and_then(|_| f.destination(id)),
                    ),
                    None => (None, None),
                };
                let addr = transparent.or_else(|| {
                    let addr = self.server_addr(backend, server)?;
                    match port {
                        None => Some(addr),
                        Some(port) => {
                            Some(SocketAddr::new(addr.ip(), port.toward(reached?.port())?))
                        }
                    }
                });
                // `set-timeout` rules first, else the backend's.
                let set = self
                    .node
                    .flow()
                    .map_or([None; 2], |(f, _)| f.timeouts_of(id));
                // The name a server's `sni EXPR` gave for this request.
                let sni = self
                    .node
                    .flow()
                    .and_then(|(f, _)| f.server_sni(id).map(|n| Arc::new(n.to_owned())));
                let proxy = self.config().and_then(|c| c.proxies.get(backend));
                let reuse = proxy.map_or(ReusePolicy::CLOSE, |p| {
                    ReusePolicy::of(p, p.servers.get(server))
                });
                let timeout = |own: Option<haven_core::time::Duration>,
                               pick: fn(&Timeouts) -> Option<haven_core::time::Duration>| {
                    own.or_else(|| proxy.and_then(|p| pick(&p.timeouts)))
                        .map(|t| std::time::Duration::from_nanos(t.as_nanos()))
                };
                let srv = proxy.and_then(|p| p.servers.get(server));
                let send_proxy = srv.and_then(|s| Some((s.send_proxy?, s.proxy_v2_unique_id)));
                let socks4 = srv.and_then(|s| s.socks4).map(Box::new);
                match addr.filter(|_| self.streams.in_progress(id)) {
                    Some(addr) => {
                        let connect = Connect {
                            addr: peer(srv, addr),
                            target: (backend, server),
                            source: proxy.and_then(|p| source_of(p, server)).map(Box::new),
                            reuse,
                            send_proxy,
                            socks4,
                            tls,
                            sni,
                            h2: srv.is_some_and(|s| s.speaks_h2()),
                            nolinger: proxy.is_some_and(|p| p.options.nolinger),
                            smart_connect: proxy.is_some_and(|p| p.options.tcp_smart_connect),
                            server_timeout: timeout(set[0], |t| t.server),
                            tunnel_timeout: timeout(set[1], |t| t.tunnel),
                            splice: self.splice_of(proxy),
                        };
                        self.streams.post(id, Command::Connect(connect));
                    }
                    None => {
                        let now = self.clock.now();
                        self.with_flow(|f, t| f.handle_connect_failed(now, id, t));
                    }
                }
            }
            proxy::Output::Abort { id } => self.streams.post(id, Command::Abort),
            proxy::Output::Finish {
                id,
                outcome,
                generated,
                rewrite,
            } => {
                let by = self.served_by(outcome.backend, outcome.tried.last().copied());
                let finish = Command::Finish {
                    outcome,
                    generated,
                    rewrite,
                    by,
                };
                self.streams.post(id, finish);
            }
            proxy::Output::Stats {
                id,
                proxy,
                access,
                payload,
            } => {
                let Some(Command::Reply {
                    status,
                    headers,
                    body,
                }) = self.stats_reply(proxy, access, &payload)
                else {
                    return self.streams.post(id, Command::Abort);
                };
                let page = Rendered {
                    status,
                    headers: headers
                        .into_iter()
                        .map(|(n, v)| (n.to_owned(), v))
                        .collect(),
                    body: body.into_bytes(),
                };
                let now = self.clock.now();
                self.with_flow(|f, _| f.handle_stats_page(now, id, page));
            }
        }
    }

    /// The runtime API's answer to `line`: each command's output, ended
    /// by an empty line as haproxy ends it (a command with nothing to say
    /// answers the empty line alone).
    /// `show table NAME ...` (`clear`: `clear table NAME ...`): the answer.
    fn table_command(&mut self, clear: bool, name: &str, args: &[String]) -> String {
        let now = self.clock.now();
        self.node
            .flow()
            .map(|(f, _)| f.stick_cli(clear, name, args, now))
            .unwrap_or_default()
    }

    fn admin(&mut self, line: &str, level: CliLevel) -> String {
        self.refresh_vrrp();
        let mut out = String::new();
        let mut experimental = false;
        for command in stats::parse_cli(line) {
            if command.level() > level {
                out.push_str(stats::PERMISSION_DENIED);
                continue;
            }
            match command {
                CliCommand::ExperimentalMode(on) => {
                    experimental = on;
                    ended(&mut out, "");
                }
                CliCommand::SetVar(_) if !experimental => ended(
                    &mut out,
                    "This command is restricted to experimental mode only.\n",
                ),
                CliCommand::SetVar(args) => {
                    if let Some((flow, _)) = self.node.flow() {
                        out.push_str(&flow.cli_set_var(&args));
                    }
                }
                CliCommand::GetVar(name) => {
                    if let Some((flow, _)) = self.node.flow() {
                        out.push_str(&flow.cli_get_var(name.as_deref()));
                    }
                }
                CliCommand::ShowStat { typed } => {
                    if let Some(sources) = self.sources() {
                        let all = stats::Shown {
                            legends: level >= CliLevel::Operator,
                            ..stats::Shown::default()
                        };
                        match typed {
                            true => out.push_str(&stats::typed(&sources, &all)),
                            false => out.push_str(&stats::csv(&sources, &all)),
                        }
                        out.push('\n');
                    }
                }
                CliCommand::ShowServersState(backend) => {
                    if let Some(sources) = self.sources() {
                        match stats::servers_state(&sources, backend.as_deref()) {
                            Ok(text) => out.push_str(&text),
                            Err(e) => ended(&mut out, e),
                        }
                    }
                }
                CliCommand::ServerAdmin {
                    backend,
                    server,
                    action,
                } => match self.server_index(&backend, &server) {
                    Ok((b, s)) => match self.set_admin(b, s, action) {
                        Ok(()) => ended(&mut out, ""),
                        Err(e) => ended(&mut out, &format!("{e}\n")),
                    },
                    Err(e) => ended(&mut out, e),
                },
                CliCommand::AddServer {
                    backend,
                    server,
                    params,
                } => {
                    let said = self.add_server(&backend, &server, &params);
                    ended(&mut out, &said);
                }
                CliCommand::DelServer { backend, server } => {
                    let at = self.server_index(&backend, &server);
                    let said = self.node.del_server(&backend, &server);
                    if let (Ok(()), Ok(at)) = (said, at) {
                        self.certificates.forget(at);
                    }
                    ended(&mut out, &format!("{}\n", said.err().unwrap_or("Server deleted.")));
                }
                CliCommand::Weight {
                    backend,
                    server,
                    weight,
                } => match self.server_index(&backend, &server) {
                    Ok((b, s)) => {
                        self.with_flow(|f, _| f.set_weight(b, s, weight));
                        ended(&mut out, "");
                    }
                    Err(e) => ended(&mut out, e),
                },
                CliCommand::GetWeight { backend, server } => {
                    match self.server_index(&backend, &server) {
                        Ok((b, s)) => {
                            let initial =
                                self.config().map_or(0, |c| c.proxies[b].servers[s].weight);
                            let current = self.node.flow().and_then(|(f, _)| f.weight(b, s));
                            let current = current.unwrap_or(initial);
                            ended(&mut out, &format!("{current} (initial {initial})\n"));
                        }
                        Err(e) => ended(&mut out, e),
                    }
                }
                CliCommand::Frontend { name, enable } => {
                    let said = self.set_frontend(&name, enable).err().unwrap_or("");
                    ended(&mut out, said);
                }
                CliCommand::ShowTable(None, _) => {
                    let now = self.clock.now();
                    let dump = self.node.flow().and_then(|(f, _)| f.stick_dump(None, now));
                    ended(&mut out, &dump.unwrap_or_default());
                }
                CliCommand::ClearTable(None, _) => ended(
                    &mut out,
                    "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n",
                ),
                CliCommand::ShowErrors(filter) => {
                    let now = self.clock.date(tokio::time::Instant::now());
                    let now = crate::request::log_date(now);
                    let dump = self.config().map(|cfg| {
                        let bufsize = cfg.global.buffers().0;
                        self.errors.show(cfg, &filter, &now, bufsize)
                    });
                    ended(&mut out, &dump.unwrap_or_default());
                }
                CliCommand::ShowCache => {
                    let now = self.clock.now();
                    let dump = self.node.flow().map(|(f, _)| f.show_cache(now));
                    ended(&mut out, &dump.unwrap_or_default());
                }
                CliCommand::ShowTable(Some(name), args) => {
                    ended(&mut out, &self.table_command(false, &name, &args));
                }
                CliCommand::ClearTable(Some(name), args) => {
                    ended(&mut out, &self.table_command(true, &name, &args));
                }
                CliCommand::ShowMaps
                | CliCommand::ShowMap(_)
                | CliCommand::AddMap { .. }
                | CliCommand::DelMap { .. }
                | CliCommand::SetMap { .. }
                | CliCommand::ClearMap(_) => {
                    let maps = self.config().map(|c| c.maps.as_slice()).unwrap_or_default();
                    out.push_str(&stats::map_command(maps, &command).unwrap_or_default());
                }
                CliCommand::ShowAcls
                | CliCommand::ShowAcl(_)
                | CliCommand::AddAcl { .. }
                | CliCommand::DelAcl { .. }
                | CliCommand::ClearAcl(_) => {
                    let files = self
                        .config()
                        .map(|c| c.acl_files.as_slice())
                        .unwrap_or_default();
                    out.push_str(&stats::acl_command(files, &command).unwrap_or_default());
                }
                CliCommand::Ssl(command) => ended(&mut out, &self.certificates.answer(command)),
                CliCommand::Invalid(e) => ended(&mut out, e),
                CliCommand::ShowActivity => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros() as u64);
                    // The runtime API is served on the first thread.
                    let (accepted, pushed) = self.threads.activity();
                    out.push_str(&stats::activity(1, now, &accepted, &pushed));
                }
                CliCommand::ShowInfo => {
                    let uptime = self.clock.now().as_nanos() / 1_000_000_000;
                    let (tls_open, tls_total) = crate::tls::tls_connections();
                    out.push_str(&format!(
                        "Name: haven\nVersion: {}\nNbthread: {}\nPid: {}\nUptime_sec: {uptime}\nCurrConns: {}\nCurrSslConns: {tls_open}\nCumSslConns: {tls_total}\n{}\n",
                        env!("CARGO_PKG_VERSION"),
                        self.threads(),
                        std::process::id(),
                        self.process_conns.load(std::sync::atomic::Ordering::Relaxed),
                        crate::tls::rate_lines()
                    ));
                }
                CliCommand::Help => ended(&mut out, stats::CLI_HELP),
                CliCommand::Unknown(c) => out.push_str(&stats::unknown_reply(&c)),
            }
        }
        out
    }

    /// Takes the VRRP side's latest view for the stats.
    fn refresh_vrrp(&mut self) {
        if let Some(rx) = &mut self.vrrp {
            if rx.has_changed().unwrap_or(false) {
                self.vrrp_view = rx.borrow_and_update().clone();
            }
        }
    }

    /// What the stats are made from, now.
    fn sources(&self) -> Option<Sources<'_>> {
        let (config, checks, flow) = self.node.haproxy_parts()?;
        Some(Sources {
            config,
            counters: &self.counters,
            flow,
            checks,
            now: self.clock.now(),
            vrrp: &self.vrrp_view,
        })
    }

    /// Pauses or resumes the listeners of frontend `name`, or haproxy's
    /// complaint.
    fn set_frontend(&mut self, name: &str, enable: bool) -> Result<(), &'static str> {
        let index = self
            .config()
            .and_then(|c| {
                c.proxies
                    .iter()
                    .position(|p| p.name == name && p.kind != ProxyKind::Backend)
            })
            .ok_or("No such frontend.\n")?;
        let (flow, _) = self.node.flow().ok_or("No such frontend.\n")?;
        flow.set_frontend_enabled(index, enable)?;
        for socket in self.listeners.get(&index).into_iter().flatten() {
            if !enable {
                socket.pause();
            } else if let Err(e) = socket.resume() {
                crate::eprintln_whole!(
                    "[ALERT]    : Resuming frontend {name}: cannot bind socket [{}]: {e}",
                    socket.at()
                );
            }
        }
        Ok(())
    }

    /// Backend and server indexes by name, or haproxy's complaint.
    fn server_index(&self, backend: &str, server: &str) -> Result<(usize, usize), &'static str> {
        let config = self.config().ok_or("No such backend.\n")?;
        let (b, proxy) = config
            .proxies
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == backend && p.kind != ProxyKind::Frontend)
            .ok_or("No such backend.\n")?;
        let s = proxy
            .servers
            .iter()
            .position(|s| s.name == server && !s.deleted)
            .ok_or("No such server.\n")?;
        Ok((b, s))
    }

    /// Puts server `s` of backend `b` in maintenance, drain or ready, as
    /// the runtime API or the stats page's form asks.
    /// Applies `action` to server `s` of backend `b`, unless it is a
    /// server core holds in maintenance.
    fn set_admin(&mut self, b: usize, s: usize, action: AdminAction) -> Result<(), String> {
        if action != AdminAction::Maint {
            if let Some(why) = self.node.held_in_maintenance(b, s) {
                return Err(why);
            }
        }
        let now = self.clock.now();
        self.with_flow(|f, t| f.set_admin(now, b, s, action, t));
        if let Some((checks, mut t)) = self.node.checks() {
            checks.set_maint(now, b, s, action == AdminAction::Maint, &mut t);
        }
        Ok(())
    }

    /// `add server`: core adds it; its address and name are kept here for
    /// the connections and log lines to come. What the CLI answers.
    fn add_server(&mut self, backend: &str, name: &str, params: &[String]) -> String {
        let now = self.clock.now();
        match self.node.add_server(now, backend, name, params) {
            Ok(added) => {
                self.servers
                    .entry(added.backend)
                    .or_default()
                    .push(added.addr);
                if let Some((_, names)) = self.names.get_mut(added.backend) {
                    names.push(Arc::from(name));
                }
                // Its TLS files are read now, as haproxy reads them: `show
                // ssl cert` says them used (a failure is logged).
                let _ = self.server_handshake(added.backend, added.server);
                "New server registered.\n".to_owned()
            }
            Err(AddRefused::Refused(e)) => e.to_owned(),
            Err(AddRefused::Alert(e)) => format!("{e}\n"),
        }
    }

    /// Applies the stats page's admin form `body` when `allowed`; how it
    /// went, for the redirect.
    fn admin_post(&mut self, allowed: bool, body: &[u8]) -> Posted {
        if !allowed {
            return Posted::Denied;
        }
        let Some(cfg) = self.config() else {
            return Posted::BadForm;
        };
        match stats::read_post(cfg, body) {
            Ok(post) => {
                for &s in &post.servers {
                    // A server held in maintenance stays there.
                    let _ = self.set_admin(post.backend, s, post.action);
                }
                post.outcome()
            }
            Err(posted) => posted,
        }
    }

    /// The `monitor-uri` answer or the metrics when the request asks for
    /// them on its frontend (before any rule, as haproxy); `None` to go on.
    fn intercepted(&mut self, frontend: usize, head: &RequestHead<'_>) -> Option<Command> {
        let access = {
            let proxy = self.config()?.proxies.get(frontend)?;
            stats::intercept(proxy, head)
        };
        self.stats_reply(frontend, access, head.payload)
    }

    /// What proxy `proxy` answers as `access` says (the page, CSV,
    /// metrics, admin form or 401); `payload` is the request body (the
    /// admin form's POST). `None` when there is nothing to answer.
    fn stats_reply(&mut self, proxy: usize, access: Access, payload: &[u8]) -> Option<Command> {
        if access == Access::Pass {
            return None;
        }
        let frontend = proxy;
        if let Access::Post { allowed, scope } = &access {
            let posted = self.admin_post(*allowed, payload);
            let uri = self
                .config()?
                .proxies
                .get(frontend)?
                .stats
                .as_ref()?
                .uri
                .clone();
            return Some(Command::Reply {
                status: 303,
                headers: vec![
                    ("cache-control", "no-cache".to_owned()),
                    ("content-type", "text/plain".to_owned()),
                    ("location", stats::redirect(&uri, scope.as_deref(), posted)),
                ],
                body: String::new(),
            });
        }
        let sources = self.sources()?;
        let proxy = sources.config.proxies.get(frontend)?;
        let no_cache = ("cache-control", "no-cache".to_owned());
        let listed = proxy.stats.as_ref().map_or(&[][..], |s| s.scope.as_slice());
        let shown = |search| stats::Shown {
            search,
            listed,
            serving: &proxy.name,
            legends: proxy.stats.as_ref().is_some_and(|s| s.show_legends),
        };
        let (status, headers, body) = match access {
            Access::Post { .. } | Access::Pass => return None,
            Access::Monitor => (
                200,
                vec![no_cache, ("content-type", "text/html".into())],
                proxy::error_body(200).to_owned(),
            ),
            Access::Prometheus => (
                200,
                vec![
                    no_cache,
                    ("content-type", "text/plain; version=0.0.4".into()),
                ],
                stats::prometheus(&sources, self.process()),
            ),
            Access::Page { csv: true, scope } => (
                200,
                vec![no_cache, ("content-type", "text/plain".into())],
                stats::csv(&sources, &shown(scope.as_deref())),
            ),
            Access::Page { csv: false, scope } => {
                let mut headers = vec![no_cache, ("content-type", "text/html".into())];
                if let Some(r) = proxy.stats.as_ref().and_then(|s| s.refresh) {
                    headers.push(("refresh", (r.as_nanos() / 1_000_000_000).to_string()));
                }
                let host = crate::hostname();
                let heading = stats::Heading::new(
                    proxy.stats.as_ref(),
                    &sources.config.global,
                    &host,
                    std::process::id(),
                );
                (
                    200,
                    headers,
                    stats::html(&sources, &shown(scope.as_deref()), &heading),
                )
            }
            Access::Unauthorized { realm } => (
                401,
                vec![
                    no_cache,
                    ("content-type", "text/html".into()),
                    ("www-authenticate", format!("Basic realm=\"{realm}\"")),
                ],
                proxy::error_body(401).to_owned(),
            ),
        };
        Some(Command::Reply {
            status,
            headers,
            body,
        })
    }

    /// How many threads serve traffic.
    fn threads(&self) -> u32 {
        self.threads.count() as u32
    }

    /// The process figures of the metrics.
    fn process(&self) -> stats::Process {
        let uptime = self.clock.now().as_nanos() / 1_000_000_000;
        let now = crate::clock::unix_seconds() as u64;
        let (tls_open, tls_total) = crate::tls::tls_connections();
        stats::Process {
            threads: self.threads(),
            start_time: now.saturating_sub(uptime),
            uptime,
            connections: self.streams.count_in_progress() as u64,
            tls_connections: tls_open,
            tls_connections_total: tls_total,
        }
    }

    /// The TLS handshake connections to `server` of `backend` make, when
    /// its line says `ssl`: made once, at start or (a server added at
    /// run time) at its first connection; `Err` when it cannot be (its
    /// files are gone: the connection fails rather than go in clear).
    fn server_handshake(
        &mut self,
        backend: usize,
        server: usize,
    ) -> Result<Option<Arc<ServerHandshake>>, ()> {
        if let Some(made) = self.certificates.made((backend, server)) {
            return Ok(Some(made));
        }
        let config = self
            .config()
            .and_then(|c| c.proxies.get(backend)?.servers.get(server));
        let Some(tls) = config.map(|s| &s.tls).filter(|t| t.used()).cloned() else {
            return Ok(None);
        };
        match self.certificates.server((backend, server), &tls) {
            Ok(made) => Ok(Some(made)),
            Err(e) => {
                let text = format!("Server TLS of backend {backend}, server {server}: {e}");
                self.logger.event(Some(backend), 0, &text);
                Err(())
            }
        }
    }

    fn server_addr(&self, backend: usize, server: usize) -> Option<SocketAddr> {
        self.servers.get(&backend)?.get(server).copied()
    }

    /// The `X-Haproxy-Server-State` value of check `id`, on `server` of
    /// `backend` at `addr` (`http-check send-state`).
    fn server_state(
        &mut self,
        id: CheckId,
        addr: SocketAddr,
        backend: usize,
        server: usize,
    ) -> String {
        let node = self
            .config()
            .and_then(|c| c.global.node.clone())
            .unwrap_or_else(crate::hostname);
        let names = self
            .names
            .get(backend)
            .map(|(b, servers)| {
                (
                    b.to_string(),
                    servers
                        .get(server)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        let health = self
            .node
            .checks()
            .map(|(c, _)| c.health_words(id))
            .unwrap_or_default();
        let load = self
            .node
            .flow()
            .map(|(f, _)| f.server_load(backend, server))
            .unwrap_or_default();
        http_script::format_state(&health, addr, (&names.0, &names.1), &node, load)
    }

    /// Backend and server names, and their load, for the log of a request
    /// ending now on `server` of `backend`.
    fn served_by(&mut self, backend: Option<usize>, server: Option<usize>) -> ServedBy {
        let Some((name, servers)) = backend.and_then(|b| self.names.get(b)) else {
            return ServedBy {
                backend: Arc::from("-"),
                server: None,
                load: [0, 0],
            };
        };
        let (name, server_name) = (
            Arc::clone(name),
            server.and_then(|s| servers.get(s)).cloned(),
        );
        let load = match (backend, self.node.flow()) {
            (Some(b), Some((flow, _))) => flow.load_besides(b, server),
            _ => [0, 0],
        };
        ServedBy {
            backend: name,
            server: server_name,
            load,
        }
    }
}

/// Per proxy of `node`'s config: its name and its servers' names.
fn proxy_names(node: &Node) -> Vec<(Arc<str>, Vec<Arc<str>>)> {
    let proxies = node.haproxy_config().map_or(&[][..], |c| &c.proxies[..]);
    proxies
        .iter()
        .map(|p| {
            let servers = p.servers.iter().map(|s| Arc::from(s.name.as_str()));
            (Arc::from(p.name.as_str()), servers.collect())
        })
        .collect()
}

/// Appends a command's `text` and the empty line that ends its answer.
fn ended(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// The `source` of `server` in backend `p`: its own, else the backend's.
fn source_of(p: &Proxy, server: usize) -> Option<Source> {
    p.servers
        .get(server)
        .and_then(|s| s.source.as_ref())
        .or(p.source.as_ref())
        .cloned()
}

/// Where connections to `server` go: its unix socket, else `addr`.
fn peer(server: Option<&Server>, addr: SocketAddr) -> Peer {
    match server.map(|s| &s.addr) {
        Some(ServerAddr::Unix(unix)) => Peer::Unix(Arc::new(unix.clone())),
        _ => Peer::Inet(addr),
    }
}
