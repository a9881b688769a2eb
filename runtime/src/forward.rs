//! Sending a request to a server over a pooled HTTP/1.1 connection. A
//! connection from the pool counts as connected at once; one that turns
//! out closed before the request went out is replaced by a fresh one, as
//! haproxy does with idle connections.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

/// Idle keep-alive connections to servers.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<BTreeMap<SocketAddr, Vec<SendRequest<Full<Bytes>>>>>,
}

/// A server's whole answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    /// The reason phrase when it is not the status's usual one.
    pub(crate) reason: Option<Bytes>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Why a forward failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForwardError {
    /// No connection could be made.
    Connect,
    /// The connection broke before a whole response came back.
    Broken,
}

impl Pool {
    fn take(&self, addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(&addr)?;
        while let Some(s) = list.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    fn put(self: &Arc<Self>, addr: SocketAddr, mut sender: SendRequest<Full<Bytes>>) {
        if sender.is_ready() {
            self.park(addr, sender);
            return;
        }
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                pool.park(addr, sender);
            }
        });
    }

    fn park(&self, addr: SocketAddr, sender: SendRequest<Full<Bytes>>) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.entry(addr).or_default().push(sender);
        }
    }

    /// Sends `req` to `addr`; `connected` runs once a connection is there.
    /// With `reuse` false the connection is a new one, closed after the
    /// response (`http-server-close`, `httpclose`).
    pub(crate) async fn forward(
        self: &Arc<Self>,
        addr: SocketAddr,
        req: Request<Full<Bytes>>,
        reuse: bool,
        connected: impl FnOnce(),
    ) -> Result<Answer, ForwardError> {
        let mut connected = Some(connected);
        let mut req = req;
        let mut pooled = if reuse { self.take(addr) } else { None };
        loop {
            let from_pool = pooled.is_some();
            let mut sender = match pooled.take() {
                Some(s) => s,
                None => connect(addr).await?,
            };
            if let Some(c) = connected.take() {
                c();
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let body = body.collect().await.map_err(|_| ForwardError::Broken)?;
                    if reuse {
                        self.put(addr, sender);
                    }
                    let reason = parts
                        .extensions
                        .get::<hyper::ext::ReasonPhrase>()
                        .map(|r| Bytes::copy_from_slice(r.as_bytes()));
                    return Ok(Answer {
                        status: parts.status,
                        reason,
                        headers: parts.headers,
                        body: body.to_bytes(),
                    });
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if from_pool => req = unsent,
                    _ => return Err(ForwardError::Broken),
                },
            }
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, ForwardError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|_| ForwardError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ForwardError::Connect)?;
    tokio::spawn(conn);
    Ok(sender)
}
