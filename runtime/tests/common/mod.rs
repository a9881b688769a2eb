//! What the real-mode tests share: an in-process HTTP backend, free
//! loopback ports, configs from text, and raw HTTP/1.1 clients.

// Not every test binary uses these.
#[allow(dead_code)]
pub(crate) mod pki;
#[allow(dead_code)]
pub(crate) mod raw;

use bytes::Bytes;
use haven_core::config::haproxy::{parse, HaproxyConfig, ParseOptions};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A backend answering every request with 200 and its name, followed by
/// `:` and the request body when there is one, and ` xff=` and the
/// X-Forwarded-For header when there is one. It counts its connections.
pub(crate) struct Backend {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
    pub(crate) connections: Arc<AtomicUsize>,
}

impl Backend {
    pub(crate) async fn start(name: &'static str) -> Self {
        Self::start_on(name, "127.0.0.1:0").await
    }

    /// The backend named `name`, listening on `addr`.
    pub(crate) async fn start_on(name: &'static str, addr: &str) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                conns.spawn(async move {
                    let service = service_fn(move |req: hyper::Request<Incoming>| async move {
                        let xff: Vec<&str> = req
                            .headers()
                            .get_all("x-forwarded-for")
                            .iter()
                            .map(|v| v.to_str().unwrap_or("?"))
                            .collect();
                        let xff = if xff.is_empty() {
                            String::new()
                        } else {
                            format!(" xff={}", xff.join(", "))
                        };
                        let body = req.into_body().collect().await.map(|b| b.to_bytes());
                        let text = match body {
                            Ok(b) if !b.is_empty() => {
                                format!("{name}:{}{xff}", String::from_utf8_lossy(&b))
                            }
                            _ => format!("{name}{xff}"),
                        };
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            task,
            connections,
        }
    }

    /// Gone: listener closed and every connection dropped.
    pub(crate) fn kill(&self) {
        self.task.abort();
    }
}

/// A free loopback port, never the same twice in this process (tests run
/// in parallel, and the OS may offer a port again once it is closed).
pub(crate) fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().expect("port list");
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

pub(crate) fn config(text: &str) -> HaproxyConfig {
    let parsed = parse(&[("test.cfg", text)], &ParseOptions::default());
    parsed
        .config
        .unwrap_or_else(|| panic!("config errors: {:?}", parsed.diagnostics))
}

/// The address of `running`'s listener of proxy `name`.
pub(crate) fn listener(running: &haven_runtime::Running, name: &str) -> SocketAddr {
    running
        .listeners
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no listener for {name}"))
        .1
}

/// GET `path` with `host` on a fresh connection: (status, body).
pub(crate) async fn get(addr: SocketAddr, host: &str, path: &str) -> (u16, String) {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let reply = send_raw(addr, raw.as_bytes()).await;
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// Sends `bytes` and reads until the server closes (or 5 s).
pub(crate) async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect to haven");
    s.write_all(bytes).await.expect("send");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Connects to `addr`, sends `bytes` and reads once (5 s at most): what
/// the read gave, or the connect's own error. A connection reset at
/// accept may be refused before `connect` returns, when another serving
/// thread took it.
pub(crate) async fn first_read(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<usize> {
    let mut c = TcpStream::connect(addr).await?;
    let _ = c.write_all(bytes).await;
    let mut byte = [0u8; 1];
    tokio::time::timeout(Duration::from_secs(5), c.read(&mut byte))
        .await
        .expect("an answer, a close or a reset in time")
}

pub(crate) const DEFAULTS: &str = "defaults\n    mode http\n    retries 3\n    option redispatch\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n";

/// Sends `command` to the runtime API at `sock`: its whole answer.
pub(crate) async fn cli(sock: &std::path::Path, command: &str) -> String {
    let mut s = tokio::net::UnixStream::connect(sock)
        .await
        .expect("the stats socket");
    s.write_all(format!("{command}\n").as_bytes())
        .await
        .expect("ask");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .expect("an answer in time")
        .expect("answer");
    out
}
