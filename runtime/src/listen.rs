//! Starting real mode: resolve servers, bind every `bind` of every HTTP
//! frontend and listen section, start the driver, accept connections.

use crate::accept::{accept, listen_on, BindAt, BindSocket, Listener};
use crate::affinity;
use crate::clock::Clock;
use crate::driver::{self, Core, Event, Wiring};
use crate::front::{Bound, ClientTimeouts, TlsBind};
use crate::inherit::Inherited;
use crate::lanes::RequestIds;
use crate::logger::Logger;
use crate::pool::Pool;
use crate::request::Shared;
use crate::splice::Pipes;
use crate::tls::{CertError, CertStore, Files, ServerHandshake, ServerKey, TlsListener};
use crate::workers::Workers;
use haven_core::config::haproxy::{
    HaproxyConfig, HttpAction, HttpConnMode, HttpRule, Mode, ProxyKind, ServerTls, Splice,
    StickKind, TcpLayer,
};
use haven_core::http2::Limits;
use haven_core::node::Node;
use haven_core::sample::Alias;
use haven_core::vrrp::{HostInfo, InstanceView};
use rand_chacha::rand_core::SeedableRng;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

/// Why real mode cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A `bind` could not be opened.
    #[error("[ALERT]    : Starting frontend {frontend}: cannot bind socket [{addr}]: {reason}")]
    Bind {
        /// Frontend name.
        frontend: String,
        /// The address.
        addr: String,
        /// Why.
        reason: std::io::Error,
    },
    /// A `bind fd@N` names no listening socket of this process.
    #[error("[ALERT]    : Starting frontend {frontend}: 'bind' : cannot use file descriptor '{fd}' : {reason}")]
    Inherit {
        /// Frontend name.
        frontend: String,
        /// The fd.
        fd: i32,
        /// Why.
        reason: std::io::Error,
    },
    /// The `stats socket` could not be opened.
    #[error("[ALERT]    : Starting proxy GLOBAL: cannot bind UNIX socket [{path}]: {reason}")]
    Socket {
        /// Its path.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
    /// A TLS listener's certificates cannot be used.
    #[error("[ALERT]    : config : {0}")]
    Certificates(#[from] CertError),
    /// A `log` target cannot be used.
    #[error("{0}")]
    Log(#[from] crate::logger::LogError),
    /// A thread to serve traffic cannot be started.
    #[error("[ALERT]    : cannot start a thread to serve traffic: {0}")]
    Threads(std::io::Error),
    /// The node cannot be set up.
    #[error("{0}")]
    Setup(haven_core::vrrp::SetupError),
    /// A server address this version cannot use.
    #[error("server {backend}/{server}: {what}")]
    Server {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// What is missing.
        what: String,
    },
}

/// Real mode, running.
#[derive(Debug)]
pub struct Running {
    /// Every bound address with its frontend's name, in config order.
    pub listeners: Vec<(String, SocketAddr)>,
    /// Every listening socket, closed when it stops or drains (the driver
    /// keeps them for `enable frontend`).
    sockets: Vec<Arc<BindSocket>>,
    accepts: Vec<JoinHandle<()>>,
    /// Each serving thread's task watching its connections' deadlines.
    _watchers: Watchers,
    driver: JoinHandle<()>,
    /// The serving threads beyond the caller's; they end with `Running`.
    workers: Workers,
    events: UnboundedSender<Event>,
    draining: watch::Sender<bool>,
    /// `hard-stop-after`: how long a drain may last.
    hard_stop_after: Option<std::time::Duration>,
    /// Closes once every listener and client connection has ended.
    gone: tokio::sync::mpsc::Receiver<std::convert::Infallible>,
}

impl Running {
    /// Stops everything at once: listeners, connections, the driver.
    pub fn stop(self) {
        self.stop_listening();
        self.workers.threads().cut();
        self.driver.abort();
    }

    /// Closes every listener and stops every accept loop.
    fn stop_listening(&self) {
        for s in &self.sockets {
            s.pause();
        }
        for t in &self.accepts {
            t.abort();
        }
    }

    /// Stops accepting, lets every connection already accepted finish
    /// (one that has not asked yet gets its answer, keep-alive connections
    /// close after their current request), then ends; within `hard-stop-after`
    /// when the config has one, past which the connections still open are
    /// closed. A new `start` on the same addresses can run meanwhile
    /// (SO_REUSEPORT). False when connections had to be closed.
    pub async fn drain(mut self) -> bool {
        let Some(limit) = self.hard_stop_after.take() else {
            self.finish().await;
            return true;
        };
        let (threads, driver) = (Arc::clone(self.workers.threads()), self.events.clone());
        if tokio::time::timeout(limit, self.finish()).await.is_ok() {
            return true;
        }
        threads.cut();
        let _ = driver.send(Event::Drain);
        false
    }

    /// Stops accepting and waits for every connection to end.
    async fn finish(mut self) {
        self.stop_listening();
        let _ = self.draining.send(true);
        // Nothing is ever sent: `recv` ends when the last copy is dropped.
        if let Some(never) = self.gone.recv().await {
            match never {}
        }
        let _ = self.events.send(Event::Drain);
        let _ = self.driver.await;
    }

    /// Runs until stopped.
    pub async fn wait(&mut self) {
        let _ = (&mut self.driver).await;
    }
}

/// Starts real mode for `cfg`: the driver and every HTTP listener.
pub async fn start(cfg: HaproxyConfig) -> Result<Running, StartError> {
    start_with(cfg, None).await
}

/// Starts real mode for `cfg`, showing the VRRP instances published on
/// `vrrp` on the stats page and in the metrics.
pub async fn start_with(
    cfg: HaproxyConfig,
    vrrp: Option<watch::Receiver<Vec<InstanceView>>>,
) -> Result<Running, StartError> {
    let initial = crate::dns::initial_addresses(&cfg).await?;
    let mut files = Files::default();
    let tls = tls_listeners(&cfg, &mut files)?;
    let servers = server_handshakes(&cfg, &mut files)?;
    // Without `nbthread`, a thread for each CPU the process may use, or
    // for each CPU of the NUMA node haproxy would keep it to.
    let node = cfg
        .global
        .numa_node(&affinity::topology(Path::new(affinity::SYSTEM)));
    let available = match &node {
        Some(cpus) => cpus.len(),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let threads = cfg.global.threads(available);
    let workers = Workers::start(threads, &cfg.global.cpu_map, node.as_deref())
        .map_err(StartError::Threads)?;
    let mut listeners = Vec::new();
    let mut accepts = Vec::new();
    let (events, rx) = tokio::sync::mpsc::unbounded_channel();
    let (draining, drain_rx) = watch::channel(false);
    // Each thread watches the deadlines of its connections' waits, until
    // the end, drain included.
    let watchers = (0..workers.threads().count()).map(|thread| {
        let alarms = Arc::clone(workers.threads().alarms(thread));
        workers
            .threads()
            .spawn(thread, alarms.watch(drain_rx.clone()))
    });
    let watchers = Watchers(watchers.collect());
    let (alive, gone) = tokio::sync::mpsc::channel(1);
    let process_conns = Arc::new(AtomicU32::new(0));
    let errorfiles: Arc<[_]> = cfg.proxies.iter().map(|p| p.errorfiles.clone()).collect();
    let h2_limits = Limits::haproxy(&cfg.global.h2, cfg.global.buffers().0 as u32);
    let pool = Arc::new(Pool::new(workers.threads().count(), h2_limits));
    let logger = Arc::new(Logger::new(&cfg)?);
    let ids = Arc::new(RequestIds::new(workers.threads().count()));
    // haproxy's default `maxpipes`: a quarter of `maxconn`; without one,
    // the file descriptor limit bounds them.
    let pipes = Pipes::new(cfg.global.maxpipes.or(cfg.global.maxconn.map(|n| n / 4)));
    let process_slots = cfg
        .global
        .maxconn
        .map(|n| Arc::new(Semaphore::new(n as usize)));
    let sockets = bind_sockets(&cfg, &mut listeners)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let node = Node::new(Some(cfg.clone()), None, HostInfo::default())
        .map_err(StartError::Setup)?
        .with_lanes(workers.threads().count());
    let resolution = haven_core::dns::Resolution::new(
        &cfg,
        &crate::dns::system_nameservers(),
        &|b, s| initial.ip(b, s),
        haven_core::time::Instant::ZERO,
        seed as u32,
    );
    if !resolution.is_empty() {
        tokio::spawn(crate::dns::run(resolution, events.clone()));
    }
    let wiring = Wiring {
        events: events.clone(),
        servers: initial.servers,
        unresolved: initial.unresolved,
        logger: Arc::clone(&logger),
        listeners: by_frontend(&sockets),
        vrrp,
        certificates: CertStore::new(files, tls.values().cloned().collect(), servers),
        threads: Arc::clone(workers.threads()),
        process_conns: Arc::clone(&process_conns),
    };
    let rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let clock = Clock::start();
    let core = Arc::new(Core::new(node, clock, rng, wiring));
    for (index, p) in cfg.proxies.iter().enumerate() {
        let Some(opened) = sockets.get(&index) else {
            continue;
        };
        let shared = Arc::new(Shared {
            core: Arc::clone(&core),
            pool: Arc::clone(&pool),
            ids: Arc::clone(&ids),
            frontend: index,
            frontend_name: p.name.clone(),
            h2: h2_limits,
            httplog: p.options.httplog,
            log_format: p.log_format.clone(),
            backend_source: p
                .log_format
                .as_ref()
                .is_some_and(|f| f.names_any(&[Alias::BackendIp, Alias::BackendPort])),
            request_waits: cfg
                .proxies
                .iter()
                .any(|p| p.options.http_buffer_request || waits_for_body(&p.http_request)),
            response_waits: cfg.proxies.iter().any(|p| waits_for_body(&p.http_response)),
            log_count: AtomicU64::new(0),
            httpslog: p.options.httpslog,
            tcp: p.mode == Mode::Tcp && !p.http_upgrade,
            tcplog: p.options.tcplog,
            connection_rules: p
                .tcp_request
                .iter()
                .any(|r| r.layer == TcpLayer::Connection),
            session_rules: p.tcp_request.iter().any(|r| r.layer == TcpLayer::Session),
            response_headers: cfg.proxies.iter().any(|p| {
                !p.http_response.is_empty()
                    || !p.http_after_response.is_empty()
                    || p.cookie.is_some()
                    || p.compression.is_some()
                    || !p.captures.response.is_empty()
                    || p.stick_rules
                        .iter()
                        .any(|r| r.kind == StickKind::StoreResponse)
            }),
            dontlognull: p.options.dontlognull,
            nolinger: p.options.nolinger,
            splice: match cfg.global.nosplice {
                true => Splice::default(),
                false => p.options.splice,
            },
            pipes: Arc::clone(&pipes),
            ignore_probes: p.options.ignore_probes,
            h2_upgrade: !p.options.disable_h2_upgrade,
            slots: p
                .maxconn
                .map(|n| Arc::new(Semaphore::new(n as usize)))
                .into_iter()
                .chain(process_slots.clone())
                .collect(),
            client_close: p.options.http_conn == HttpConnMode::Close,
            server_close: p.options.http_conn != HttpConnMode::KeepAlive,
            logger: Arc::clone(&logger),
            clock,
            timeouts: ClientTimeouts {
                http_request: p.timeouts.http_request.map(std_duration),
                keep_alive: p.timeouts.http_keep_alive.map(std_duration),
                client: p.timeouts.client.map(std_duration),
            },
            errorfiles: Arc::clone(&errorfiles),
            process_conns: Arc::clone(&process_conns),
            frontend_conns: AtomicU32::new(0),
            _alive: alive.clone(),
        });
        // A TLS listener as its log lines name it: `name`, else its
        // number in the frontend.
        for (number, (bind_index, socket)) in opened.iter().enumerate() {
            let bind = &p.binds[*bind_index];
            let tls = tls.get(&(index, *bind_index)).map(|listener| {
                Arc::new(TlsBind {
                    listener: Arc::clone(listener),
                    label: bind
                        .name
                        .clone()
                        .unwrap_or_else(|| (number + 1).to_string()),
                })
            });
            // Every thread accepts from the one socket of each address.
            for thread in 0..workers.threads().count() {
                let task = accept(
                    (
                        socket.subscribe(),
                        Bound::of(bind, *bind_index),
                        tls.clone(),
                    ),
                    Arc::clone(&shared),
                    drain_rx.clone(),
                    (Arc::clone(workers.threads()), thread),
                );
                accepts.push(workers.threads().spawn(thread, task));
            }
        }
    }
    for socket in &cfg.global.stats_sockets {
        let failed = |reason| StartError::Socket {
            path: socket.address.clone(),
            reason,
        };
        let threads = Arc::clone(workers.threads());
        let cli = crate::admin::Cli::new(socket.level, (events.clone(), threads), &cfg.global);
        let task = match stats_socket_address(&socket.address) {
            StatsAddress::Unix(path) => {
                let listener =
                    crate::admin::bind(std::path::Path::new(path), socket.mode).map_err(failed)?;
                tokio::spawn(crate::admin::serve(listener, cli))
            }
            StatsAddress::Tcp(addr) => {
                let listener = TcpListener::bind(addr).await.map_err(failed)?;
                tokio::spawn(crate::admin::serve_tcp(listener, cli))
            }
            StatsAddress::Fd(fd) => match crate::inherit::inherited(fd).map_err(failed)? {
                Inherited::Tcp(l) => {
                    let listener = TcpListener::from_std(l).map_err(failed)?;
                    tokio::spawn(crate::admin::serve_tcp(listener, cli))
                }
                Inherited::Unix(l) => {
                    let listener = tokio::net::UnixListener::from_std(l).map_err(failed)?;
                    tokio::spawn(crate::admin::serve(listener, cli))
                }
            },
        };
        accepts.push(task);
    }
    Ok(Running {
        listeners,
        sockets: by_frontend(&sockets).into_values().flatten().collect(),
        accepts,
        _watchers: watchers,
        driver: tokio::spawn(driver::run(core, rx)),
        workers,
        events,
        draining,
        hard_stop_after: cfg.global.hard_stop_after.map(std_duration),
        gone,
    })
}

/// Tasks that end when this is dropped.
#[derive(Debug)]
struct Watchers(Vec<JoinHandle<()>>);

impl Drop for Watchers {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

/// A proxy's listening sockets, each with its `bind` line's index.
type Opened = Vec<(usize, Arc<BindSocket>)>;

/// Every listening socket of every frontend and listen section, by proxy
/// (config index): each with its `bind` line's index, in order (a port
/// range gives one per port). Their addresses go in `listeners`.
fn bind_sockets(
    cfg: &HaproxyConfig,
    listeners: &mut Vec<(String, SocketAddr)>,
) -> Result<BTreeMap<usize, Opened>, StartError> {
    let mut out = BTreeMap::new();
    for (index, p) in cfg.proxies.iter().enumerate() {
        if p.kind == ProxyKind::Backend {
            continue;
        }
        let opened: &mut Vec<_> = out.entry(index).or_default();
        for (bind_index, bind) in p.binds.iter().enumerate() {
            let delayed_ack = p.options.delays_accept_ack(p.mode, bind);
            let bind_error = |at: &BindAt| {
                let (frontend, addr) = (p.name.clone(), at.to_string());
                move |reason| StartError::Bind {
                    frontend,
                    addr,
                    reason,
                }
            };
            if let Some(fd) = bind.fd {
                let inherit_error = |reason| StartError::Inherit {
                    frontend: p.name.clone(),
                    fd,
                    reason,
                };
                let listener = crate::inherit::inherited_tcp(fd).map_err(inherit_error)?;
                let options = socket2::SockRef::from(&listener);
                crate::accept::options_for_accepted(&options, delayed_ack);
                let addr = listener.local_addr().map_err(inherit_error)?;
                listeners.push((p.name.clone(), addr));
                let at = BindAt::Tcp { addr, delayed_ack };
                let socket = BindSocket::new(Listener::Tcp(listener), at);
                opened.push((bind_index, Arc::new(socket)));
                continue;
            }
            if let Some(addr) = &bind.unix {
                let at = BindAt::Unix {
                    addr: addr.clone(),
                    mode: bind.mode,
                };
                let listener = at.listen().map_err(bind_error(&at))?;
                opened.push((bind_index, Arc::new(BindSocket::new(listener, at))));
                continue;
            }
            for port in bind.port..=bind.port_end {
                let ip = bind.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                let addr = SocketAddr::new(ip, port);
                let listener = listen_on(addr, delayed_ack)
                    .map_err(bind_error(&BindAt::Tcp { addr, delayed_ack }))?;
                let bound = listener.local_addr().unwrap_or(addr);
                listeners.push((p.name.clone(), bound));
                let at = BindAt::Tcp {
                    addr: bound,
                    delayed_ack,
                };
                let socket = BindSocket::new(Listener::Tcp(listener), at);
                opened.push((bind_index, Arc::new(socket)));
            }
        }
    }
    Ok(out)
}

/// The sockets of each frontend, for `disable frontend` and `enable
/// frontend`.
fn by_frontend(sockets: &BTreeMap<usize, Opened>) -> BTreeMap<usize, Vec<Arc<BindSocket>>> {
    sockets
        .iter()
        .map(|(index, opened)| (*index, opened.iter().map(|(_, s)| Arc::clone(s)).collect()))
        .collect()
}

/// The certificates of every TLS `bind`, by proxy and bind line (config
/// indexes), loaded before anything listens, their files read into
/// `files`.
fn tls_listeners(
    cfg: &HaproxyConfig,
    files: &mut Files,
) -> Result<BTreeMap<(usize, usize), Arc<TlsListener>>, StartError> {
    let mut out = BTreeMap::new();
    for (index, p) in cfg.proxies.iter().enumerate() {
        for (bind_index, bind) in p.binds.iter().enumerate() {
            if let Some(tls) = &bind.tls {
                let listener = TlsListener::load(tls, bind.line, files)
                    .map_err(|m| CertError::new(tls, bind.line, m))?;
                out.insert((index, bind_index), Arc::new(listener));
            }
        }
    }
    Ok(out)
}

/// The TLS handshake of every `ssl` server with its line, by backend and
/// server (config indexes), made before anything listens, their files
/// read into `files`.
fn server_handshakes(
    cfg: &HaproxyConfig,
    files: &mut Files,
) -> Result<BTreeMap<ServerKey, (ServerTls, Arc<ServerHandshake>)>, StartError> {
    let mut out = BTreeMap::new();
    for (b, p) in cfg.proxies.iter().enumerate() {
        for (s, server) in p.servers.iter().enumerate() {
            if server.tls.used() {
                let made = files
                    .read_server(&server.tls)
                    .and_then(|()| ServerHandshake::new(&server.tls, files))
                    .map_err(|what| StartError::Server {
                        backend: p.name.clone(),
                        server: server.name.clone(),
                        what,
                    })?;
                out.insert((b, s), (server.tls.clone(), Arc::new(made)));
            }
        }
    }
    Ok(out)
}

/// Where a `stats socket` listens.
#[derive(Debug, PartialEq, Eq)]
enum StatsAddress<'a> {
    /// A unix socket path (`/run/x.sock`, `unix@/run/x.sock`).
    Unix(&'a str),
    /// A TCP address (`ipv4@127.0.0.1:9999`, `127.0.0.1:9999`).
    Tcp(&'a str),
    /// An inherited listening socket (`fd@3`), unix or TCP.
    Fd(i32),
}

fn stats_socket_address(socket: &str) -> StatsAddress<'_> {
    if let Some(path) = socket.strip_prefix("unix@") {
        return StatsAddress::Unix(path);
    }
    if let Some(fd) = socket.strip_prefix("fd@").and_then(|n| n.parse().ok()) {
        return StatsAddress::Fd(fd);
    }
    match ["ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"]
        .iter()
        .find_map(|p| socket.strip_prefix(p))
    {
        Some(addr) => StatsAddress::Tcp(addr),
        None if socket.starts_with('/') || !socket.contains(':') => StatsAddress::Unix(socket),
        None => StatsAddress::Tcp(socket),
    }
}

fn std_duration(d: haven_core::time::Duration) -> std::time::Duration {
    std::time::Duration::from_nanos(d.as_nanos())
}

/// Some of `rules` is a `wait-for-body`.
fn waits_for_body(rules: &[HttpRule]) -> bool {
    rules
        .iter()
        .any(|r| matches!(r.action, HttpAction::WaitForBody(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_socket_addresses_read_as_haproxy_does() {
        assert_eq!(
            stats_socket_address("/run/haproxy/admin.sock"),
            StatsAddress::Unix("/run/haproxy/admin.sock")
        );
        assert_eq!(
            stats_socket_address("unix@/tmp/a"),
            StatsAddress::Unix("/tmp/a")
        );
        assert_eq!(
            stats_socket_address("ipv4@127.0.0.1:9999"),
            StatsAddress::Tcp("127.0.0.1:9999")
        );
        assert_eq!(
            stats_socket_address("127.0.0.1:9999"),
            StatsAddress::Tcp("127.0.0.1:9999")
        );
        assert_eq!(stats_socket_address("fd@4"), StatsAddress::Fd(4));
    }
}
