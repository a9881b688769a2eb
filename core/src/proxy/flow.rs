//! [`Flow`]: every request of one haproxy process, from routing to its
//! final status.

use super::caching::{cache_lookup, cache_store};
use super::compress;
use super::persist::{self, CookieFlags, Persistence};
use super::rules::{self, Rewrite};
use super::sticking::{self, Stores};
use crate::balance::{Balancer, PickKey};
use crate::cache::Caches;
use crate::config::haproxy::{Balance, CompAlgo, HaproxyConfig, Mode, Proxy, RetryOn, Userlist};
use crate::http_rules::{Answer, Edit, Headers, Names, Rendered, ResponseDraft, Room, Txn, TARPIT};
use crate::lanes::ByLane;
use crate::route::{route, RequestHead};
use crate::sample::{Captured, HeaderView, Scope, ServerTls, Vars};
use crate::sched::Timers;
use crate::stick::{StickEvent, StickTables};
use crate::time::{Duration, Instant};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// A request's id, chosen by the driver.
pub type StreamId = u64;

/// Request timers; the id is the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// `timeout queue` of a queued request.
    Queue(StreamId),
    /// `timeout connect` of a connection attempt.
    Connect(StreamId),
    /// The turn-around delay before retrying the same server.
    TurnAround(StreamId),
    /// `timeout server` waiting for the response.
    Server(StreamId),
    /// `timeout tarpit` of a request a `tarpit` rule holds.
    Tarpit(StreamId),
}

impl Timer {
    /// The request the timer is for.
    pub fn stream(self) -> StreamId {
        match self {
            Self::Queue(id)
            | Self::Connect(id)
            | Self::TurnAround(id)
            | Self::Server(id)
            | Self::Tarpit(id) => id,
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// HTTP status sent to the client (0 when nothing was sent).
    pub status: u16,
    /// HAProxy's two-character termination state (`--`, `SC`, `sQ`...).
    pub termination: &'static str,
    /// The backend chosen, if any.
    pub backend: Option<usize>,
    /// Every server tried, in order.
    pub tried: Vec<usize>,
    /// Retries made.
    pub retries: u32,
    /// The last retry was a redispatch (logged as `+N`).
    pub redispatched: bool,
    /// Time spent queued (`Tw`).
    pub queued_for: Option<Duration>,
    /// What the persistence cookie did, when the backend has one.
    pub cookie: Option<CookieFlags>,
    /// What the transaction captured, when its frontend has slots.
    pub captured: Option<Box<Captured>>,
    /// The variables it set, for a `log-format` that prints them.
    pub vars: Option<Box<Vars>>,
    /// haproxy's own service that answered in place of a server (logged
    /// by its name, connected and answering at once).
    pub applet: Option<Applet>,
    /// Cache lookups and hits, counted on the frontend (`[0]`) and the
    /// backend (`[1]`).
    pub cache: [[u8; 2]; 2],
    /// The severity rules gave its log line (`Some(None)`: no line;
    /// `None`: the usual).
    pub log_level: Option<Option<u8>>,
    /// A `silent-drop` rule ended it: the client connection closes
    /// without a word (no answer, no FIN, no reset reaches the client).
    pub silent: bool,
}

/// haproxy's own services that answer in place of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applet {
    /// The stats page.
    Stats,
    /// A cache (`cache-use`).
    Cache,
}

impl Applet {
    /// The name logs give it in the server's place.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stats => "<STATS>",
            Self::Cache => "<CACHE>",
        }
    }
}

impl Outcome {
    /// The outcome of a request no server was tried for.
    pub fn without_server(status: u16, termination: &'static str, backend: Option<usize>) -> Self {
        Self {
            status,
            termination,
            backend,
            tried: Vec::new(),
            retries: 0,
            redispatched: false,
            queued_for: None,
            cookie: None,
            captured: None,
            vars: None,
            applet: None,
            cache: [[0; 2]; 2],
            log_level: None,
            silent: false,
        }
    }

    /// haproxy's four-character termination state: the two of
    /// `termination`, then the cookie's (`--` without persistence).
    pub fn state(&self) -> String {
        match self.cookie {
            Some(c) => format!("{}{}{}", self.termination, c.request, c.response),
            None => format!("{}--", self.termination),
        }
    }
}

/// What goes to the server with a request: the changes rules and
/// options make to it, and its unique id (`unique-id-format`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forward {
    /// Changes to the request head, in order.
    pub edits: Vec<Edit>,
    /// The request's unique id.
    pub unique_id: Option<String>,
    /// The request's source and destination, when rules changed them
    /// (`set-src`, `set-dst`): what a PROXY header to the server says.
    pub addresses: Option<(IpAddr, Option<std::net::SocketAddr>)>,
    /// Headers `early-hint` rules send the client first, each in its own
    /// `103 Early Hints`.
    pub early_hints: Vec<(String, String)>,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a connection to server `server` of backend `backend` for `id`.
    Connect {
        /// The request.
        id: StreamId,
        /// Backend index.
        backend: usize,
        /// Server index.
        server: usize,
    },
    /// Drop the connection attempt or exchange of `id` (timed out, aborted).
    Abort {
        /// The request.
        id: StreamId,
    },
    /// The request is over; send `status` with haproxy's body when the
    /// server did not answer (`generated`).
    Finish {
        /// The request.
        id: StreamId,
        /// How it ended.
        outcome: Outcome,
        /// The response comes from haproxy, not a server.
        generated: bool,
        /// What HTTP rules change in the response, or the reply they wrote.
        rewrite: Option<Box<Rewrite>>,
    },
    /// The request is for the stats page of proxy `proxy` (its rules
    /// let it through): the driver answers as `access` says.
    Stats {
        /// The request.
        id: StreamId,
        /// The proxy whose `stats` settings answer.
        proxy: usize,
        /// What the page gives.
        access: crate::stats::Access,
        /// The request body, for the admin form's POST.
        payload: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Queued { since: Instant },
    TurnAround,
    Connecting,
    Waiting,
    Responding,
}

#[derive(Debug, Clone)]
pub(super) struct Stream {
    /// The proxy (config index) the request came in on.
    pub(super) frontend: usize,
    pub(super) backend: usize,
    client: IpAddr,
    /// The request URI, kept only when the backend balances by it.
    uri: String,
    pub(super) phase: Phase,
    pub(super) server: Option<usize>,
    pub(super) tried: Vec<usize>,
    pub(super) retries: u32,
    pub(super) redispatched: bool,
    pub(super) client_gone: bool,
    /// The request can be sent again whole (an L7 retry): false once part
    /// of a body too large to keep has gone to a server.
    pub(super) replayable: bool,
    pub(super) queued_for: Option<Duration>,
    /// A `mode tcp` connection: once connected, bytes flow both ways
    /// with no request or response to wait for.
    tcp: bool,
    /// The transaction as HTTP rules see it, when any proxy on its way
    /// has rules.
    pub(super) txn: Option<Box<Txn>>,
    /// Its frontend's log format prints variables: they leave with the
    /// outcome.
    log_vars: bool,
    /// Persistence by cookie, when the backend has it.
    persist: Option<Box<Persistence>>,
    /// The server of the connection the client session keeps, when the
    /// backend prefers it (`option prefer-last-server`).
    preferred: Option<usize>,
    /// Where the client connected to, as rules left it (`set-dst`): the
    /// server of an `option transparent` backend.
    dst: Option<std::net::SocketAddr>,
    /// The algorithm its response may be compressed with (`compression`).
    compress: Option<CompAlgo>,
    /// The server a `stick match` rule found for it.
    stuck: Option<usize>,
    /// What its `stick` rules store once its server answers.
    stick_stores: Stores,
    /// `timeout server` and `timeout tunnel` as `set-timeout` rules set
    /// them.
    timeouts: [Option<Duration>; 2],
    /// The name each server's `sni EXPR` gave for it, by server index,
    /// when the backend has such a server.
    sni: Option<Box<[Option<Box<str>>]>>,
}

/// The cache lookups and hits of `t`.
pub(super) fn cache_counts(t: &Txn) -> [[u8; 2]; 2] {
    t.cache.as_ref().map_or([[0; 2]; 2], |c| c.counts)
}

/// Keeps in `proc` the process-wide variables `t` changed, if it did.
pub(super) fn keep_proc_vars(proc: &mut Vars, t: &mut Txn) {
    if t.take_proc_change() {
        proc.replace_scope(Scope::Proc, &t.vars);
    }
}

/// The variables a finished transaction leaves for its log line, when
/// it set any.
pub(super) fn logged_vars(t: &Txn) -> Option<Box<Vars>> {
    (!t.vars.is_empty()).then(|| Box::new(t.vars.clone()))
}

impl Stream {
    /// What the transaction captured, for the log.
    fn captured(&self) -> Option<Box<Captured>> {
        let t = self.txn.as_ref()?;
        (!t.captured.is_empty()).then(|| Box::new(t.captured.clone()))
    }

    /// The variables the transaction set, for a log format that reads
    /// them.
    fn vars(&self) -> Option<Box<Vars>> {
        logged_vars(self.txn.as_ref().filter(|_| self.log_vars)?)
    }

    /// How this request ends now, with `status`. The list of servers
    /// tried moves into the outcome: an ended request picks no more.
    pub(super) fn outcome(&mut self, status: u16, termination: &'static str) -> Outcome {
        Outcome {
            status,
            termination,
            backend: Some(self.backend),
            tried: std::mem::take(&mut self.tried),
            retries: self.retries,
            redispatched: self.redispatched,
            queued_for: self.queued_for,
            cookie: self.persist.as_ref().map(|p| p.flags),
            captured: self.captured(),
            vars: self.vars(),
            applet: None,
            cache: self.txn.as_deref().map_or([[0; 2]; 2], cache_counts),
            log_level: self.txn.as_ref().and_then(|t| t.log_level),
            silent: self.txn.as_ref().is_some_and(|t| t.silent_drop),
        }
    }
}

/// Runtime state of one backend.
#[derive(Debug, Clone)]
pub(super) struct Backend {
    pub(super) balancer: Balancer,
    pub(super) hashed: bool,
    /// `balance uri`: the pick needs the request's URI.
    by_uri: bool,
    pub(super) retries: u32,
    pub(super) retry_on: RetryOn,
    pub(super) redispatch: Option<i32>,
    pub(super) abortonclose: bool,
    pub(super) timeout_connect: Duration,
    pub(super) timeout_queue: Duration,
    pub(super) timeout_server: Option<Duration>,
    /// Usable: healthy and not in maintenance.
    pub(super) up: Vec<bool>,
    /// Healthy as the checks see it.
    pub(super) health: Vec<bool>,
    /// In maintenance (`disabled`, runtime API).
    pub(super) maint: Vec<bool>,
    /// Without an address: DNS gave none (yet).
    pub(super) resolving: Vec<bool>,
    /// Draining (runtime API `set server ... state drain`): usable, but
    /// given no new traffic.
    pub(super) drain: Vec<bool>,
    /// Current user weights (runtime API `set weight`).
    pub(super) weights: Vec<u32>,
    /// When each server last changed state.
    pub(super) changed: Vec<Instant>,
    pub(super) backup: Vec<bool>,
    /// Requests waiting for a free server, oldest first.
    pub(super) queue: VecDeque<StreamId>,
    /// `dispatch` and no servers: every connection goes to the dispatch
    /// address, which the outputs name as server index 0 (no server's).
    dispatch: bool,
}

/// Every request of one haproxy process.
#[derive(Debug)]
pub struct Flow {
    /// The frontends' routing rules (the config's proxies).
    pub(super) proxies: Vec<Proxy>,
    pub(super) backends: BTreeMap<usize, Backend>,
    /// Per proxy (config index): listeners paused (`disable frontend`).
    pub(super) paused: Vec<bool>,
    /// Requests in progress, in their lanes (looked up by id, never
    /// iterated).
    pub(super) streams: ByLane<Stream>,
    pub(super) out: VecDeque<Output>,
    /// The proxies' stick tables, which rules update while they read
    /// them.
    pub(super) stick: RefCell<StickTables>,
    /// The config's `userlist` sections, shared with each transaction.
    userlists: Arc<[Userlist]>,
    /// Stats page requests the driver is making the page for: where they
    /// are (frontend, backend) and their transaction.
    stats_pages: FxHashMap<StreamId, StatsWait>,
    /// Requests a `tarpit` rule holds, with their answer.
    tarpits: FxHashMap<StreamId, Held>,
    /// Process-wide variables (`proc.*`): what rules and the runtime API
    /// set, seen by every transaction that starts after.
    pub(super) proc_vars: Vars,
    /// A message's buffer and its rewrite reserve (`tune.bufsize`,
    /// `tune.maxrewrite`).
    pub(super) buffers: (usize, usize),
    /// The `cache` sections' objects.
    pub(super) caches: Caches,
    /// An instant and the seconds since the epoch then.
    pub(super) calendar: (Instant, i64),
}

/// A stats page request waiting for its page.
type StatsWait = ((usize, Option<usize>), Option<Box<Txn>>);

/// A request held by `tarpit`: where it is (frontend, backend), since
/// when, its transaction and the answer it gets in the end.
type Held = ((usize, Option<usize>), Instant, Option<Box<Txn>>, Answer);

/// haproxy's default `timeout connect` when none is set (none: wait forever; we cap).
const DEFAULT_CONNECT: Duration = Duration::from_secs(5);

impl Flow {
    /// The request flow for `cfg`, its requests kept in the lanes of
    /// `threads` serving threads (see [`crate::lanes`]).
    pub fn new(cfg: &HaproxyConfig, threads: usize) -> Self {
        let backends = cfg
            .proxies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind.is_backend())
            .map(|(i, p)| {
                let connect = p.timeouts.connect.unwrap_or(DEFAULT_CONNECT);
                let b = Backend {
                    balancer: Balancer::new(p),
                    hashed: matches!(
                        p.balance,
                        Balance::Source
                            | Balance::Uri { .. }
                            | Balance::UrlParam(_)
                            | Balance::Hdr(_)
                            | Balance::RdpCookie(_)
                    ),
                    by_uri: matches!(p.balance, Balance::Uri { .. }),
                    retries: p.retries,
                    retry_on: p.retry_on.clone(),
                    redispatch: p.options.redispatch,
                    abortonclose: p.options.abortonclose,
                    timeout_connect: connect,
                    timeout_queue: p.timeouts.queue.unwrap_or(connect),
                    timeout_server: p.timeouts.server,
                    dispatch: (p.dispatch.is_some() || p.options.transparent)
                        && p.servers.is_empty(),
                    up: p.servers.iter().map(|s| !s.disabled).collect(),
                    health: vec![true; p.servers.len()],
                    maint: p.servers.iter().map(|s| s.disabled).collect(),
                    resolving: vec![false; p.servers.len()],
                    drain: vec![false; p.servers.len()],
                    weights: p.servers.iter().map(|s| s.weight).collect(),
                    changed: vec![Instant::ZERO; p.servers.len()],
                    backup: p.servers.iter().map(|s| s.backup).collect(),
                    queue: VecDeque::new(),
                };
                (i, b)
            })
            .collect();
        Self {
            proxies: cfg.proxies.clone(),
            paused: vec![false; cfg.proxies.len()],
            backends,
            streams: ByLane::new(threads),
            out: VecDeque::new(),
            stats_pages: FxHashMap::default(),
            tarpits: FxHashMap::default(),
            stick: RefCell::new(StickTables::new(&cfg.proxies)),
            userlists: cfg.userlists.clone().into(),
            proc_vars: Vars::default(),
            buffers: cfg.global.buffers(),
            caches: Caches::new(&cfg.caches),
            calendar: (Instant::ZERO, 0),
        }
    }

    /// A new request `id` on `frontend` (index in the config); on a `mode
    /// tcp` frontend, a new connection (`head` is then empty: only
    /// conditions that need no HTTP head can match). HTTP rules run
    /// first; what they and the forwarding options change in the request
    /// comes back, for the driver to send.
    pub fn handle_request(
        &mut self,
        now: Instant,
        id: StreamId,
        frontend: usize,
        head: &RequestHead<'_>,
        client: IpAddr,
        timers: &mut dyn Timers<Timer>,
    ) -> Forward {
        let unix = self.unix_now(now);
        // The entries the session tracks count each of its requests.
        for t in head.around.session_tracked.into_iter().flatten().flatten() {
            let mut stick = self.stick.borrow_mut();
            stick.count(&t.table, &t.key, StickEvent::HttpRequest, now);
        }
        let Some(fe) = self.proxies.get(frontend) else {
            self.finish(id, None, 503, "SC", true);
            return Forward::default();
        };
        // A `mode tcp` frontend's connection may switch to HTTP.
        let http = fe.mode == Mode::Http || fe.http_upgrade || head.around.htx;
        // `http_auth` may be read by any rule or ACL: with userlists, every
        // request gets a transaction that knows them.
        let wants_txn = rules::has_request_rules(fe) || !self.userlists.is_empty();
        let mut txn = (http && wants_txn).then(|| {
            rules::new_txn(
                fe,
                head,
                (&self.userlists, &self.proc_vars, self.buffers, unix),
            )
        });
        let fe_names = Names {
            stick: Some((&self.stick, now)),
            ..rules::names(&self.proxies, frontend, None, None)
        };
        // The content rules that switched a connection to HTTP ran on
        // its first request already.
        let content_ran = head.around.switched;
        let first_rules = |t: &mut Box<Txn>| {
            let content = (!content_ran).then(|| t.tcp_content(fe, fe_names));
            content.flatten().or_else(|| t.request_phase(fe, fe_names))
        };
        if let Some(answer) = txn.as_mut().and_then(first_rules) {
            self.answer_or_hold(now, id, (frontend, None), (txn, answer), timers);
            return Forward::default();
        }
        if let Some(t) = txn.take_if(|t| cache_lookup(&mut self.caches, now, t)) {
            // The frontend's own cache answers: no backend is chosen.
            self.serve_from_cache(now, id, (frontend, Some(frontend)), t);
            return Forward::default();
        }
        let access = stats_access(&self.proxies, (frontend, None), txn.as_deref(), head);
        if access != crate::stats::Access::Pass {
            self.stats_request(id, (frontend, None), txn, access, head);
            return Forward::default();
        }
        let backend = if fe.kind.is_backend()
            && fe.switching_rules.is_empty()
            && fe.default_backend.is_none()
        {
            Some(frontend)
        } else {
            match &txn {
                Some(t) => t.with_view(fe_names, None, |req| route(&self.proxies, fe, req)),
                None => route(&self.proxies, fe, head),
            }
        };
        let Some((backend, by_uri)) =
            backend.and_then(|b| Some((b, self.backends.get(&b)?.by_uri)))
        else {
            // No backend: haproxy's 503, which `http-after-response`
            // rules still see.
            let answer = Answer {
                status: 503,
                termination: "SC",
                reply: None,
                headers: Vec::new(),
            };
            self.answer(now, id, frontend, None, txn, answer);
            return Forward::default();
        };
        let be = &self.proxies[backend];
        if http && backend != frontend && rules::has_request_rules(be) {
            let fe = &self.proxies[frontend];
            let t = txn.get_or_insert_with(|| {
                rules::new_txn(
                    fe,
                    head,
                    (&self.userlists, &self.proc_vars, self.buffers, unix),
                )
            });
            let names = Names {
                stick: Some((&self.stick, now)),
                ..rules::names(&self.proxies, frontend, Some(backend), None)
            };
            if let Some(answer) = t.request_phase(be, names) {
                let at = (frontend, Some(backend));
                self.answer_or_hold(now, id, at, (txn, answer), timers);
                return Forward::default();
            }
            if let Some(t) = txn.take_if(|t| cache_lookup(&mut self.caches, now, t)) {
                self.serve_from_cache(now, id, (frontend, Some(backend)), t);
                return Forward::default();
            }
        }
        let at = (frontend, Some(backend));
        let access = match backend == frontend {
            true => crate::stats::Access::Pass,
            false => stats_access(&self.proxies, at, txn.as_deref(), head),
        };
        if access != crate::stats::Access::Pass {
            self.stats_request(id, at, txn, access, head);
            return Forward::default();
        }
        let mut edits = Vec::new();
        let mut persist = None;
        let mut unique_id = None;
        let mut compress = None;
        let mut early_hints = Vec::new();
        if http {
            let fe = &self.proxies[frontend];
            if txn.is_none() && (rules::has_response_rules(fe) || rules::has_response_rules(be)) {
                txn = Some(rules::new_txn(
                    fe,
                    head,
                    (&self.userlists, &self.proc_vars, self.buffers, unix),
                ));
            }
            if let Some(t) = txn.as_mut() {
                edits = std::mem::take(&mut t.edits);
                early_hints = std::mem::take(&mut t.early_hints);
            }
            if let Some(cookie) = &be.cookie {
                let up = &self.backends[&backend].up;
                let running = |i: usize| up.get(i).copied().unwrap_or(false);
                let read = |req: &RequestHead<'_>| {
                    persist::read_request(cookie, &be.servers, running, (req.method, req.headers))
                };
                let (p, cookie_edits) = match &txn {
                    Some(t) => t.with_view(fe_names, None, read),
                    None => read(head),
                };
                persist = Some(Box::new(p));
                edits.extend(cookie_edits);
            }
            if let Some(format) = &fe.unique_id_format {
                let names = rules::names(&self.proxies, frontend, Some(backend), None);
                let id = match &txn {
                    Some(t) => t.with_view(names, None, |req| format.render(req)),
                    None => format.render(head),
                };
                if let Some(header) = &fe.unique_id_header {
                    edits.push(Edit::Add(header.clone(), id.clone()));
                }
                if let Some(t) = txn.as_mut() {
                    t.unique_id = Some(id.clone());
                }
                unique_id = Some(id);
            }
            edits.extend(rules::forwarding(fe, be, head, txn.as_deref()));
            let (algo, offload) = compress::for_request(fe, be, head);
            compress = algo;
            edits.extend(offload);
        }
        if let Some(t) = txn.as_deref_mut() {
            keep_proc_vars(&mut self.proc_vars, t);
        }
        let dst = txn.as_ref().map_or(head.around.dst, |t| t.dst);
        let client_sent = client;
        let client = txn.as_ref().and_then(|t| t.client).unwrap_or(client);
        let addresses = (client != client_sent || dst != head.around.dst).then_some((client, dst));
        let uri = match (&txn, by_uri) {
            (Some(t), true) => t.uri.clone(),
            (None, true) => head.uri.to_owned(),
            (_, false) => String::new(),
        };
        let timeouts = txn.as_ref().map_or([None; 2], |t| t.timeouts);
        let (stuck, stick_stores) = match be.stick_rules.is_empty() {
            true => (None, Vec::new()),
            false => {
                let up = &self.backends[&backend].up;
                let usable = |i: usize| up.get(i).copied().unwrap_or(false);
                let names = rules::names(&self.proxies, frontend, Some(backend), None);
                let stick = |req: &RequestHead<'_>| {
                    sticking::on_request(be, &self.stick, req, &usable, now)
                };
                match &txn {
                    Some(t) => t.with_view(names, None, stick),
                    None => stick(head),
                }
            }
        };
        let sni = be
            .servers
            .iter()
            .any(|s| s.tls.sni_expr.is_some())
            .then(|| {
                let names = rules::names(&self.proxies, frontend, Some(backend), None);
                let each = |req: &RequestHead<'_>| -> Box<[Option<Box<str>>]> {
                    let sent = |e: &crate::sample::Expr| {
                        let name: Box<str> = e.eval(req)?.to_text().into();
                        (!name.is_empty()).then_some(name)
                    };
                    be.servers
                        .iter()
                        .map(|s| s.tls.sni_expr.as_ref().and_then(sent))
                        .collect()
                };
                match &txn {
                    Some(t) => t.with_view(names, None, each),
                    None => each(head),
                }
            });
        self.streams.insert(
            id,
            Stream {
                frontend,
                backend,
                client,
                uri,
                phase: Phase::Queued { since: now },
                server: None,
                tried: Vec::new(),
                retries: 0,
                redispatched: false,
                client_gone: false,
                replayable: true,
                queued_for: None,
                tcp: !http,
                txn,
                log_vars: self.log_vars(frontend),
                persist,
                preferred: preferred_server(be, backend, head.around.kept_server),
                dst,
                compress,
                stuck,
                stick_stores,
                timeouts,
                sni,
            },
        );
        self.assign(now, id, None, timers);
        Forward {
            edits,
            unique_id,
            addresses,
            early_hints,
        }
    }

    /// Request `id` is for a stats page: the driver is told to make it,
    /// and hands it back to [`Flow::handle_stats_page`].
    fn stats_request(
        &mut self,
        id: StreamId,
        at: (usize, Option<usize>),
        txn: Option<Box<Txn>>,
        access: crate::stats::Access,
        head: &RequestHead<'_>,
    ) {
        let proxy = at.1.unwrap_or(at.0);
        let payload = match access {
            crate::stats::Access::Post { .. } => head.payload.to_vec(),
            _ => Vec::new(),
        };
        self.stats_pages.insert(id, (at, txn));
        self.out.push_back(Output::Stats {
            id,
            proxy,
            access,
            payload,
        });
    }

    /// The driver made the stats page `page` for request `id`: it goes
    /// out as haproxy's own answer (`LR`), through `http-after-response`.
    pub fn handle_stats_page(&mut self, now: Instant, id: StreamId, page: Rendered) {
        let Some(((frontend, backend), txn)) = self.stats_pages.remove(&id) else {
            return;
        };
        // The proxy whose page it is counts as the backend.
        let backend = backend.or(Some(frontend));
        let answer = Answer {
            status: page.status,
            termination: "LR",
            reply: Some(page),
            headers: Vec::new(),
        };
        self.answer(now, id, frontend, backend, txn, answer);
        if let Some(Output::Finish { outcome, .. }) = self.out.back_mut() {
            outcome.applet = Some(Applet::Stats);
        }
    }

    /// Request `id` is answered by a rule, at once, or, by `tarpit`,
    /// after the `timeout tarpit` of its backend (its frontend before one
    /// is chosen; `timeout connect` when unset), logged as queue time.
    fn answer_or_hold(
        &mut self,
        now: Instant,
        id: StreamId,
        (frontend, backend): (usize, Option<usize>),
        (txn, answer): (Option<Box<Txn>>, Answer),
        timers: &mut dyn Timers<Timer>,
    ) {
        if answer.termination != TARPIT {
            return self.answer(now, id, frontend, backend, txn, answer);
        }
        let timeouts = &self.proxies[backend.unwrap_or(frontend)].timeouts;
        let hold = timeouts
            .tarpit
            .or(timeouts.connect)
            .unwrap_or(DEFAULT_CONNECT);
        self.tarpits
            .insert(id, ((frontend, backend), now, txn, answer));
        timers.arm(Timer::Tarpit(id), now + hold);
    }

    /// Request `id` is answered by a rule, before any server.
    pub(super) fn answer(
        &mut self,
        now: Instant,
        id: StreamId,
        frontend: usize,
        backend: Option<usize>,
        txn: Option<Box<Txn>>,
        answer: Answer,
    ) {
        let (mut captured, mut vars) = (None, None);
        let (status, termination) = (answer.status, answer.termination);
        let cache = txn.as_deref().map_or([[0; 2]; 2], cache_counts);
        let log_level = txn.as_ref().and_then(|t| t.log_level);
        let silent = txn.as_ref().is_some_and(|t| t.silent_drop);
        if let Some(t) = txn.as_deref() {
            count_error(&self.stick, t, status, now);
            release_tracked(&self.stick, t);
        }
        // A rejected request gets no answer for rules to change.
        let rewrite = match txn.filter(|_| status != 0) {
            Some(mut t) => {
                let at = (frontend, backend, None);
                let rewrite = rules::after_answer(&self.proxies, at, &mut t, answer);
                keep_proc_vars(&mut self.proc_vars, &mut t);
                vars = logged_vars(&t).filter(|_| self.log_vars(frontend));
                captured = (!t.captured.is_empty()).then(|| Box::new(t.captured));
                rewrite
            }
            // No rule to run: a reply made for the request goes as made.
            None => answer.reply.map(|reply| {
                Box::new(Rewrite {
                    reply: Some(reply),
                    ..Rewrite::default()
                })
            }),
        };
        let outcome = Outcome {
            captured,
            vars,
            cache,
            log_level,
            silent,
            ..Outcome::without_server(status, termination, backend)
        };
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated: true,
            rewrite,
        });
    }

    /// Where request `id` goes when its backend is `option transparent`
    /// without servers: where its client connected to, after `set-dst`
    /// rules. `None` for any other backend.
    pub fn transparent_destination(&self, id: StreamId) -> Option<std::net::SocketAddr> {
        let s = self.streams.get(&id)?;
        let be = self.proxies.get(s.backend)?;
        (be.options.transparent && be.servers.is_empty())
            .then_some(s.dst)
            .flatten()
    }

    /// The server name stream `id` sends its server over TLS, when the
    /// server's line computes one (`sni EXPR`) and it gave one.
    pub fn server_sni(&self, id: StreamId) -> Option<&str> {
        let s = self.streams.get(&id)?;
        s.sni.as_ref()?.get(s.server?)?.as_deref()
    }

    /// The address stream `id`'s client connected to, when known.
    pub fn destination(&self, id: StreamId) -> Option<std::net::SocketAddr> {
        self.streams.get(&id)?.dst
    }

    /// Stream `id`'s TLS server connection agreed on `server` (with
    /// the certificate the server presented): its response rules'
    /// `ssl_bc_*` and `ssl_s_*` read it.
    pub fn set_server_tls(&mut self, id: StreamId, server: Arc<ServerTls>) {
        if let Some(txn) = self.streams.get_mut(&id).and_then(|s| s.txn.as_mut()) {
            txn.server_tls = Some(server);
        }
    }

    /// The stick tables, for the rules of a connection's levels.
    pub fn stick_tables(&self) -> &RefCell<StickTables> {
        &self.stick
    }

    /// A client connection whose levels tracked `tracked` closed: each
    /// entry has one connection less (`conn_cur`).
    pub fn release_session(&self, tracked: &[Option<crate::stick::Tracked>; 3]) {
        for t in tracked.iter().flatten() {
            self.stick.borrow_mut().release(&t.table, &t.key);
        }
    }

    /// `timeout server` and `timeout tunnel` as `set-timeout` rules set
    /// them for `id` (`None`: the backend's).
    pub fn timeouts_of(&self, id: StreamId) -> [Option<Duration>; 2] {
        self.streams.get(&id).map_or([None; 2], |s| s.timeouts)
    }

    /// `show table [name]` at `now`: the tables, or one table's entries;
    /// `None` for an unknown table.
    pub fn stick_dump(&self, name: Option<&str>, now: Instant) -> Option<String> {
        self.stick.borrow_mut().dump(name, now)
    }

    /// `show table T ...` (`clear`: `clear table T ...`) of the runtime
    /// API, `args` being the words after the table's name: the answer.
    pub fn stick_cli(&self, clear: bool, name: &str, args: &[String], now: Instant) -> String {
        self.stick.borrow_mut().cli(clear, name, args, now)
    }

    /// `frontend`'s log format prints variables.
    pub(super) fn log_vars(&self, frontend: usize) -> bool {
        self.proxies
            .get(frontend)
            .and_then(|p| p.log_format.as_ref())
            .is_some_and(|f| f.reads_vars())
    }

    /// Removes stream `id`, releasing the stick table entries it tracked.
    fn take_stream(&mut self, id: StreamId) -> Option<Stream> {
        let mut s = self.streams.remove(&id)?;
        if let Some(t) = s.txn.as_deref_mut() {
            release_tracked(&self.stick, t);
            keep_proc_vars(&mut self.proc_vars, t);
        }
        Some(s)
    }

    /// Picks a server for `id` (avoiding `avoid`) and connects, or queues.
    pub(super) fn assign(
        &mut self,
        now: Instant,
        id: StreamId,
        avoid: Option<usize>,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some((s, b)) = stream_and_backend(&mut self.streams, &mut self.backends, id) else {
            return;
        };
        if b.dispatch {
            return connect_to(&mut self.out, b, s, id, 0, now, timers);
        }
        // The server the cookie names, unless a redispatch leaves it.
        let persisted = s.persist.as_mut().and_then(|p| {
            if p.server.is_some() && p.server == avoid {
                p.server = None;
            }
            p.server
        });
        // Else the server a stick table keeps for the request's key.
        let stuck = s.stuck.filter(|p| Some(*p) != avoid);
        // Else the server of the session's kept connection, while usable.
        let preferred = s
            .preferred
            .filter(|p| Some(*p) != avoid && b.balancer.is_usable(*p));
        let pick = match persisted.or(stuck).or(preferred) {
            Some(server) => Some(server),
            None => {
                let key = PickKey {
                    client: s.client,
                    uri: &s.uri,
                };
                b.balancer.pick(key, avoid)
            }
        };
        match pick.filter(|s| !b.balancer.is_full(*s)) {
            Some(server) => {
                if let Some(p) = s.persist.as_mut() {
                    p.direct = persisted.is_some();
                }
                if let Phase::Queued { since } = s.phase {
                    s.queued_for
                        .get_or_insert(now.saturating_duration_since(since));
                }
                timers.cancel(Timer::Queue(id));
                connect_to(&mut self.out, b, s, id, server, now, timers);
            }
            None if b.balancer.has_usable() => {
                // Every candidate is at maxconn: wait in the backend queue.
                if !b.queue.contains(&id) {
                    b.queue.push_back(id);
                    if !matches!(s.phase, Phase::Queued { .. }) {
                        s.phase = Phase::Queued { since: now };
                    }
                    timers.arm(Timer::Queue(id), now + b.timeout_queue);
                }
            }
            None => self.give_up(id, 503, "SC"),
        }
    }

    /// The connection for `id` is established; the request goes out, or,
    /// in `mode tcp`, the data phase begins (the runtime moves bytes both
    /// ways under its idle timeouts, then reports the end).
    pub fn handle_connected(&mut self, now: Instant, id: StreamId, timers: &mut dyn Timers<Timer>) {
        let Some(s) = self
            .streams
            .get_mut(&id)
            .filter(|s| s.phase == Phase::Connecting)
        else {
            return;
        };
        timers.cancel(Timer::Connect(id));
        if s.client_gone && self.backends[&s.backend].abortonclose {
            return self.abort(id, "CC", timers);
        }
        if s.tcp {
            s.phase = Phase::Responding;
            if let Some(server) = s.server.filter(|_| !s.stick_stores.is_empty()) {
                let stores = (std::mem::take(&mut s.stick_stores), server);
                let be = &self.proxies[s.backend];
                sticking::store(be, &mut self.stick.borrow_mut(), stores, now);
            }
            let outcome = s.outcome(0, "--");
            self.out.push_back(Output::Finish {
                id,
                outcome,
                generated: false,
                rewrite: None,
            });
            return;
        }
        s.phase = Phase::Waiting;
        if let Some(t) = s.timeouts[0].or(self.backends[&s.backend].timeout_server) {
            timers.arm(Timer::Server(id), now + t);
        }
    }

    /// The response head of `id` arrived with `status` and `headers`
    /// (the driver may leave the headers out when no proxy has response
    /// rules).
    pub fn handle_response(
        &mut self,
        now: Instant,
        id: StreamId,
        (status, headers, buffered): (u16, Headers, usize),
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self
            .streams
            .get_mut(&id)
            .filter(|s| s.phase == Phase::Waiting)
        else {
            return;
        };
        if self.backends[&s.backend]
            .retry_on
            .statuses
            .contains(&status)
            && self.l7_retry(now, id, timers)
        {
            return;
        }
        let unix = self.unix_now(now);
        let s = self.streams.get_mut(&id).expect("checked above");
        timers.cancel(Timer::Server(id));
        s.phase = Phase::Responding;
        if let Some(t) = s.txn.as_deref() {
            count_error(&self.stick, t, status, now);
        }
        let mut rewrite = None;
        // The `stick` rules store before the response rules run.
        let be = &self.proxies[s.backend];
        let sticks = s
            .server
            .filter(|_| !s.stick_stores.is_empty() || sticking::stores_responses(be));
        if let (Some(server), None) = (sticks, &s.txn) {
            let stores = (std::mem::take(&mut s.stick_stores), server);
            sticking::store(be, &mut self.stick.borrow_mut(), stores, now);
        }
        if s.txn.is_some() || s.persist.is_some() || s.compress.is_some() {
            if let Some(t) = s.txn.as_mut() {
                t.date = unix;
                let slots = &self.proxies[s.frontend].captures;
                if !slots.response.is_empty() {
                    t.captured.headers(slots, false, HeaderView::Kept(&headers));
                }
            }
            let mut res = ResponseDraft::received(status, headers, Room::default());
            let code = status.to_string();
            let line = ["HTTP/1.1", code.as_str(), super::error_reason(status)];
            let head = crate::http_rules::head_size(line, &res.headers);
            res.room = Room::of(self.buffers, head, buffered);
            let at = (s.frontend, Some(s.backend), s.server);
            if let (Some(server), Some(t)) = (sticks, s.txn.as_ref()) {
                let stores = std::mem::take(&mut s.stick_stores);
                let names = rules::names(&self.proxies, s.frontend, Some(s.backend), s.server);
                t.with_view(names, Some(&res), |r| {
                    sticking::on_response(be, &self.stick, (r, server), stores, now);
                });
            }
            if let Some(t) = s.txn.as_mut() {
                if let Err(answer) =
                    rules::http_response(&self.proxies, at, (t, Some((&self.stick, now))), &mut res)
                {
                    let (status, termination) = (answer.status, answer.termination);
                    // A silent drop is logged with the server's status,
                    // as haproxy logs it, and answers nothing.
                    let (status, rewrite) = match t.silent_drop {
                        true => (res.status, None),
                        false => (status, rules::after_answer(&self.proxies, at, t, answer)),
                    };
                    let outcome = s.outcome(status, termination);
                    self.out.push_back(Output::Finish {
                        id,
                        outcome,
                        generated: true,
                        rewrite,
                    });
                    return;
                }
            }
            let be = &self.proxies[s.backend];
            if let (Some(cookie), Some(p)) = (&be.cookie, s.persist.as_mut()) {
                let server = s.server.and_then(|i| be.servers.get(i));
                persist::on_response(cookie, server, p, &mut res);
            }
            let mut session = None;
            if let Some(t) = s.txn.as_mut() {
                rules::after_response(&self.proxies, at, (t, Some((&self.stick, now))), &mut res);
                keep_proc_vars(&mut self.proc_vars, t);
                session = t.session_vars();
            }
            // The compression filter comes after every rule, as haproxy's.
            let fe = &self.proxies[s.frontend];
            let compress = s.compress.and_then(|algo| {
                let edits = compress::for_response((fe, be), algo, &res)?;
                res.edits.extend(edits);
                Some(algo)
            });
            let store = match s.txn.as_mut() {
                Some(t) => cache_store(&mut self.caches, (now, unix), self.buffers, t),
                None => None,
            };
            if !res.edits.is_empty() || session.is_some() || store.is_some() {
                rewrite = Some(Box::new(Rewrite {
                    edits: res.edits,
                    session,
                    compress,
                    store,
                    ..Rewrite::default()
                }));
            }
        }
        let outcome = s.outcome(status, "--");
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated: false,
            rewrite,
        });
    }

    /// The exchange of `id` is over (response sent, or the server closed):
    /// its server slot frees up for the queue.
    pub fn handle_done(&mut self, now: Instant, id: StreamId, timers: &mut dyn Timers<Timer>) {
        if let Some(s) = self.take_stream(id) {
            if let Some(server) = s.server {
                if let Some(b) = self.backends.get_mut(&s.backend) {
                    b.balancer.release(server);
                }
            }
            self.dequeue(now, s.backend, timers);
        }
    }

    /// The body of request `id` streams to its server (it is larger than
    /// the buffer): no L7 retry from now on, as haproxy retries only what
    /// it still holds whole, and `timeout server` waits until the request
    /// is sent ([`Flow::handle_request_sent`]).
    pub fn handle_body_streaming(&mut self, id: StreamId, timers: &mut dyn Timers<Timer>) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.replayable = false;
            timers.cancel(Timer::Server(id));
        }
    }

    /// The streamed request `id` is sent whole: the wait for its response
    /// begins (`timeout server`).
    pub fn handle_request_sent(
        &mut self,
        now: Instant,
        id: StreamId,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self.streams.get(&id).filter(|s| s.phase == Phase::Waiting) else {
            return;
        };
        if let Some(t) = s.timeouts[0].or(self.backends[&s.backend].timeout_server) {
            timers.arm(Timer::Server(id), now + t);
        }
    }

    /// The client of `id` left, or stopped sending (`timed_out`: `timeout
    /// client`), in the middle of a body streaming to the server: the
    /// request ends (`CD`, or 408 `cD`) and its server slot frees up.
    pub fn handle_client_aborted(
        &mut self,
        now: Instant,
        id: StreamId,
        timed_out: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        if !self
            .streams
            .get(&id)
            .is_some_and(|s| s.phase == Phase::Waiting)
        {
            return;
        }
        timers.cancel(Timer::Server(id));
        let (status, termination) = if timed_out { (408, "cD") } else { (0, "CD") };
        self.fail_waiting(now, id, status, termination, timers);
    }

    /// The client of `id` went away: with `option abortonclose`, a request
    /// not yet answered ends (`CQ` queued, `CC` connecting, 400 `CH`
    /// waiting for the answer).
    pub fn handle_client_closed(
        &mut self,
        now: Instant,
        id: StreamId,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.client_gone = true;
        let abort = self.backends[&s.backend].abortonclose;
        match s.phase {
            Phase::Queued { .. } if abort => self.abort(id, "CQ", timers),
            // The pause before a retry is part of connecting, for haproxy.
            Phase::TurnAround | Phase::Connecting if abort => self.abort(id, "CC", timers),
            // Waiting for the server's answer: haproxy drops the server
            // connection and logs 400 `CH`.
            Phase::Waiting if abort => {
                timers.cancel(Timer::Server(id));
                self.fail_waiting(now, id, 400, "CH", timers);
            }
            _ => {}
        }
    }

    /// A server went up or down (health checks, maintenance).
    pub fn handle_server_state(
        &mut self,
        now: Instant,
        backend: usize,
        server: usize,
        up: bool,
        timers: &mut dyn Timers<Timer>,
    ) {
        self.update_server(now, backend, server, timers, |b| &mut b.health, up);
    }

    /// Sets one of a server's flags (health, maintenance, drain) to
    /// `value`, then tells the balancer whether it is usable (healthy and
    /// not in maintenance) and its effective weight (0 while draining).
    /// A change of state is stamped with `now`.
    pub(super) fn update_server(
        &mut self,
        now: Instant,
        backend: usize,
        server: usize,
        timers: &mut dyn Timers<Timer>,
        flag: fn(&mut Backend) -> &mut Vec<bool>,
        value: bool,
    ) {
        let Some(b) = self.backends.get_mut(&backend) else {
            return;
        };
        let Some(f) = flag(b).get_mut(server) else {
            return;
        };
        let changed = *f != value;
        *f = value;
        if changed {
            b.changed[server] = now;
        }
        let weight = if b.drain[server] {
            0
        } else {
            b.weights[server]
        };
        if b.balancer.weight(server) != weight {
            b.balancer.set_weight(server, weight);
        }
        let usable = b.health[server] && !b.maint[server] && !b.resolving[server];
        if b.up[server] == usable {
            return;
        }
        b.up[server] = usable;
        b.balancer.set_usable(server, usable);
        if usable {
            self.dequeue(now, backend, timers);
        }
    }

    /// A timer of ours fired.
    pub fn handle_timer(&mut self, now: Instant, timer: Timer, timers: &mut dyn Timers<Timer>) {
        match timer {
            Timer::Queue(id) => {
                if let Some(s) = self
                    .streams
                    .get(&id)
                    .filter(|s| matches!(s.phase, Phase::Queued { .. }))
                {
                    let backend = s.backend;
                    if let Some(b) = self.backends.get_mut(&backend) {
                        b.queue.retain(|q| *q != id);
                    }
                    let mut s = self.take_stream(id).expect("checked above");
                    let rewrite = generated_rewrite(&self.proxies, &mut s, 503);
                    let since = match s.phase {
                        Phase::Queued { since } => since,
                        _ => now,
                    };
                    let (captured, vars) = (s.captured(), s.vars());
                    let outcome = Outcome {
                        status: 503,
                        termination: "sQ",
                        backend: Some(backend),
                        tried: s.tried,
                        retries: s.retries,
                        redispatched: s.redispatched,
                        queued_for: Some(now.saturating_duration_since(since)),
                        cookie: s.persist.as_ref().map(|p| p.flags),
                        captured,
                        vars,
                        applet: None,
                        cache: [[0; 2]; 2],
                        log_level: s.txn.as_ref().and_then(|t| t.log_level),
                        silent: false,
                    };
                    self.out.push_back(Output::Finish {
                        id,
                        outcome,
                        generated: true,
                        rewrite,
                    });
                }
            }
            Timer::Tarpit(id) => {
                if let Some(((frontend, backend), since, txn, answer)) = self.tarpits.remove(&id) {
                    self.answer(now, id, frontend, backend, txn, answer);
                    if let Some(Output::Finish { outcome, .. }) = self.out.back_mut() {
                        outcome.queued_for = Some(now.saturating_duration_since(since));
                    }
                }
            }
            Timer::Connect(id) => {
                if self
                    .streams
                    .get(&id)
                    .is_some_and(|s| s.phase == Phase::Connecting)
                {
                    self.out.push_back(Output::Abort { id });
                    self.connect_failed(now, id, true, timers);
                }
            }
            Timer::TurnAround(id) => {
                let Some(s) = self
                    .streams
                    .get_mut(&id)
                    .filter(|s| s.phase == Phase::TurnAround)
                else {
                    return;
                };
                match s.server {
                    Some(server) => {
                        let b = self.backends.get_mut(&s.backend).expect("backend");
                        connect_to(&mut self.out, b, s, id, server, now, timers);
                    }
                    None => {
                        let avoid = s.tried.last().copied();
                        s.phase = Phase::Queued { since: now };
                        self.assign(now, id, avoid, timers);
                    }
                }
            }
            Timer::Server(id) => {
                if self
                    .streams
                    .get(&id)
                    .is_some_and(|s| s.phase == Phase::Waiting)
                {
                    self.out.push_back(Output::Abort { id });
                    let s = self.streams.get(&id).expect("checked above");
                    if self.backends[&s.backend].retry_on.response_timeout
                        && self.l7_retry(now, id, timers)
                    {
                        return;
                    }
                    self.fail_waiting(now, id, 504, "sH", timers);
                }
            }
        }
    }

    /// The next output, in the order produced.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Requests server `server` of backend `backend` is serving.
    pub fn inflight(&self, backend: usize, server: usize) -> u32 {
        self.backends
            .get(&backend)
            .map_or(0, |b| b.balancer.inflight(server))
    }

    /// Whether server `server` of backend `backend` takes traffic.
    pub fn is_up(&self, backend: usize, server: usize) -> bool {
        self.backends
            .get(&backend)
            .and_then(|b| b.up.get(server).copied())
            .unwrap_or(false)
    }

    /// Requests waiting in backend `backend`'s queue.
    pub fn queued(&self, backend: usize) -> usize {
        self.backends.get(&backend).map_or(0, |b| b.queue.len())
    }

    /// The log's `beconn` and `srv_conn` for a request ending on `server`
    /// of `backend`: the other requests in progress on each, as haproxy
    /// logs them once the request has let go of its server slot.
    pub fn load_besides(&self, backend: usize, server: Option<usize>) -> [u32; 2] {
        let servers = self.proxies.get(backend).map_or(0, |p| p.servers.len());
        let mine = |s: usize| self.inflight(backend, s);
        let all = (0..servers).map(mine).sum::<u32>() + self.queued(backend) as u32;
        let own = server.filter(|s| *s < servers).map_or(0, mine);
        let held = u32::from(own > 0);
        [all.saturating_sub(held), own.saturating_sub(held)]
    }

    /// Serves the oldest queued requests while servers have room.
    pub(super) fn dequeue(&mut self, now: Instant, backend: usize, timers: &mut dyn Timers<Timer>) {
        loop {
            let Some(b) = self.backends.get_mut(&backend) else {
                return;
            };
            if b.queue.is_empty() || !b.balancer.has_free_slot() {
                return;
            }
            let Some(next) = b.queue.pop_front() else {
                return;
            };
            self.assign(now, next, None, timers);
        }
    }

    /// Request `id`, sent to its server, fails with haproxy's `status`
    /// page.
    pub(super) fn fail_waiting(
        &mut self,
        now: Instant,
        id: StreamId,
        status: u16,
        termination: &'static str,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let rewrite = generated_rewrite(&self.proxies, s, status);
        let outcome = s.outcome(status, termination);
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated: true,
            rewrite,
        });
        self.handle_done(now, id, timers);
    }

    /// Request `id`, holding no server slot, ends with haproxy's
    /// `status` page (its time in the queue is not logged).
    pub(super) fn give_up(&mut self, id: StreamId, status: u16, termination: &'static str) {
        let Some(mut s) = self.take_stream(id) else {
            return;
        };
        let rewrite = generated_rewrite(&self.proxies, &mut s, status);
        let outcome = Outcome {
            queued_for: None,
            ..s.outcome(status, termination)
        };
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated: true,
            rewrite,
        });
    }

    pub(super) fn abort(
        &mut self,
        id: StreamId,
        termination: &'static str,
        timers: &mut dyn Timers<Timer>,
    ) {
        let Some(s) = self.take_stream(id) else {
            return;
        };
        for t in [
            Timer::Queue(id),
            Timer::Connect(id),
            Timer::TurnAround(id),
            Timer::Server(id),
        ] {
            timers.cancel(t);
        }
        if let Some(b) = self.backends.get_mut(&s.backend) {
            b.queue.retain(|q| *q != id);
            if let (Some(server), Phase::Connecting) = (s.server, s.phase) {
                b.balancer.release(server);
                self.out.push_back(Output::Abort { id });
            }
        }
        let (captured, vars) = (s.captured(), s.vars());
        let outcome = Outcome {
            status: 0,
            termination,
            backend: Some(s.backend),
            tried: s.tried,
            retries: s.retries,
            redispatched: s.redispatched,
            queued_for: None,
            cookie: s.persist.as_ref().map(|p| p.flags),
            captured,
            vars,
            applet: None,
            cache: [[0; 2]; 2],
            log_level: None,
            silent: false,
        };
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated: false,
            rewrite: None,
        });
    }

    fn finish(
        &mut self,
        id: StreamId,
        backend: Option<usize>,
        status: u16,
        termination: &'static str,
        generated: bool,
    ) {
        let outcome = Outcome::without_server(status, termination, backend);
        self.out.push_back(Output::Finish {
            id,
            outcome,
            generated,
            rewrite: None,
        });
    }
}

/// The entries `t` tracked are no longer used by its stream.
pub(super) fn release_tracked(stick: &RefCell<StickTables>, t: &Txn) {
    let own = t.tracked.iter().zip(t.session_slots);
    for (tracked, _) in own.filter(|(_, session)| !session) {
        if let Some(tracked) = tracked {
            stick.borrow_mut().release(&tracked.table, &tracked.key);
        }
    }
}

/// A 4xx answer counts as an HTTP error for every entry `t` tracks.
fn count_error(stick: &RefCell<StickTables>, t: &Txn, status: u16, now: Instant) {
    if (400..500).contains(&status) {
        for tracked in t.tracked.iter().flatten() {
            let event = StickEvent::HttpError;
            stick
                .borrow_mut()
                .count(&tracked.table, &tracked.key, event, now);
        }
    }
}

/// What `http-after-response` rules make of haproxy's own answer
/// `status` to stream `s`.
fn generated_rewrite(proxies: &[Proxy], s: &mut Stream, status: u16) -> Option<Box<Rewrite>> {
    let t = s.txn.as_mut()?;
    let answer = Answer {
        status,
        termination: "",
        reply: None,
        headers: Vec::new(),
    };
    rules::after_answer(proxies, (s.frontend, Some(s.backend), s.server), t, answer)
}

/// Connects request `id` (`s`) to `server` of `b`: the server's slot is
/// taken and `timeout connect` armed.
pub(super) fn connect_to(
    out: &mut VecDeque<Output>,
    b: &mut Backend,
    s: &mut Stream,
    id: StreamId,
    server: usize,
    now: Instant,
    timers: &mut dyn Timers<Timer>,
) {
    b.balancer.take(server);
    s.server = Some(server);
    s.tried.push(server);
    s.phase = Phase::Connecting;
    timers.arm(Timer::Connect(id), now + b.timeout_connect);
    out.push_back(Output::Connect {
        id,
        backend: s.backend,
        server,
    });
}

/// Request `id` of `streams` and its backend, apart from the rest of the
/// flow.
pub(super) fn stream_and_backend<'a>(
    streams: &'a mut ByLane<Stream>,
    backends: &'a mut BTreeMap<usize, Backend>,
    id: StreamId,
) -> Option<(&'a mut Stream, &'a mut Backend)> {
    let s = streams.get_mut(&id)?;
    let b = backends
        .get_mut(&s.backend)
        .expect("stream's backend exists");
    Some((s, b))
}

/// The server a request to `backend` (`be`) goes to first when the client
/// session keeps a connection to it: with `option prefer-last-server`, and
/// not for hash-based algorithms, whose choice is the client's or the
/// request's, as in haproxy.
fn preferred_server(be: &Proxy, backend: usize, kept: Option<(usize, usize)>) -> Option<usize> {
    let hashed = matches!(
        be.balance,
        Balance::Source
            | Balance::Uri { .. }
            | Balance::UrlParam(_)
            | Balance::Hdr(_)
            | Balance::RdpCookie(_)
            | Balance::Random { .. }
    );
    let (b, server) = kept?;
    (be.options.prefer_last_server && !hashed && b == backend).then_some(server)
}

/// What the stats page of the proxy a request has reached (`backend`,
/// else `frontend`) gives it, the request as that proxy's rules left it;
/// `Pass` when it is not a stats request.
fn stats_access(
    proxies: &[Proxy],
    (frontend, backend): (usize, Option<usize>),
    txn: Option<&Txn>,
    head: &RequestHead<'_>,
) -> crate::stats::Access {
    let p = &proxies[backend.unwrap_or(frontend)];
    if p.stats.is_none() {
        return crate::stats::Access::Pass;
    }
    match txn {
        Some(t) => {
            let names = rules::names(proxies, frontend, backend, None);
            t.with_view(names, None, |req| crate::stats::page(p, req))
        }
        None => crate::stats::page(p, head),
    }
}
