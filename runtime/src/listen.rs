//! Starting real mode: resolve servers, bind every `bind` of every HTTP
//! frontend and listen section, start the driver, accept connections.

use crate::clock::Clock;
use crate::driver::Driver;
use crate::forward::Pool;
use crate::request::{serve, Shared};
use haven_core::config::haproxy::{HaproxyConfig, Mode, ProxyKind, ServerAddr, ServerPort};
use haven_core::node::Node;
use haven_core::vrrp::HostInfo;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand_chacha::rand_core::SeedableRng;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::net::TcpListener;
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
        addr: SocketAddr,
        /// Why.
        reason: std::io::Error,
    },
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

/// Real mode, running. Dropping it leaves the tasks running; call
/// [`Running::stop`] to end them.
#[derive(Debug)]
pub struct Running {
    /// Every bound address with its frontend's name, in config order.
    pub listeners: Vec<(String, SocketAddr)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting and stops the driver (in-flight requests end).
    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }

    /// Waits until every task ends (they run until stopped).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Server addresses per backend index; names resolved now, as haproxy does
/// at start.
async fn resolve(cfg: &HaproxyConfig) -> Result<BTreeMap<usize, Vec<SocketAddr>>, StartError> {
    let mut out = BTreeMap::new();
    for (b, p) in cfg
        .proxies
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.servers.is_empty())
    {
        let mut addrs = Vec::new();
        for s in &p.servers {
            let err = |what: &str| StartError::Server {
                backend: p.name.clone(),
                server: s.name.clone(),
                what: what.to_owned(),
            };
            let ServerPort::Fixed(port) = s.port else {
                return Err(err("a server without a fixed port is not supported yet"));
            };
            let ip = match &s.addr {
                ServerAddr::Ip(ip) => *ip,
                ServerAddr::Host(name) => tokio::net::lookup_host((name.as_str(), port))
                    .await
                    .ok()
                    .and_then(|mut a| a.next())
                    .map(|a| a.ip())
                    .ok_or_else(|| err(&format!("could not resolve address '{name}'")))?,
            };
            addrs.push(SocketAddr::new(ip, port));
        }
        out.insert(b, addrs);
    }
    Ok(out)
}

/// Largest request head accepted, as haproxy's default `tune.bufsize`.
const REQUEST_BUFFER: usize = 16_384;

/// Accepts connections on `listener`, each served by hyper (HTTP/1.1,
/// keep-alive) with [`serve`].
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, client)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| serve(req, Arc::clone(&shared), client));
            let _ = hyper::server::conn::http1::Builder::new()
                .max_buf_size(REQUEST_BUFFER)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Starts real mode for `cfg`: the driver and every HTTP listener.
pub async fn start(cfg: HaproxyConfig) -> Result<Running, StartError> {
    let servers = resolve(&cfg).await?;
    let mut listeners = Vec::new();
    let mut tasks = Vec::new();
    let (events, rx) = tokio::sync::mpsc::unbounded_channel();
    let pool = Arc::new(Pool::default());
    let next_id = Arc::new(AtomicU64::new(0));
    for (index, p) in cfg.proxies.iter().enumerate() {
        if p.kind == ProxyKind::Backend || p.mode != Mode::Http {
            continue;
        }
        let shared = Arc::new(Shared {
            events: events.clone(),
            pool: Arc::clone(&pool),
            next_id: Arc::clone(&next_id),
            frontend: index,
            frontend_name: p.name.clone(),
            httplog: p.options.httplog,
            forwardfor: p.options.forwardfor.as_ref().map(|f| f.header.clone()),
        });
        for bind in &p.binds {
            for port in bind.port..=bind.port_end {
                let ip = bind.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                let addr = SocketAddr::new(ip, port);
                let listener =
                    TcpListener::bind(addr)
                        .await
                        .map_err(|reason| StartError::Bind {
                            frontend: p.name.clone(),
                            addr,
                            reason,
                        })?;
                listeners.push((p.name.clone(), listener.local_addr().unwrap_or(addr)));
                tasks.push(tokio::spawn(accept(listener, Arc::clone(&shared))));
            }
        }
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let node = Node::new(Some(cfg), None, HostInfo::default()).map_err(StartError::Setup)?;
    let driver = Driver::new(
        node,
        Clock::start(),
        rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        events,
        servers,
    );
    tasks.push(tokio::spawn(driver.run(rx)));
    Ok(Running { listeners, tasks })
}
