//! One client request, once read: hand its head to the driver, then do
//! what the driver says (connect, abort, finish) until it is answered. The
//! request task decides nothing; it reports.

use crate::clock::Clock;
use crate::driver::{Command, Core, Event};
use crate::forward::{Answer, ForwardError, Outgoing, Pool};
use crate::front::ClientTimeouts;
use crate::logger::Logger;
use crate::wire::{self, Manner, Wire};
use bytes::Bytes;
use haven_core::config::haproxy::Forwardfor;
use haven_core::http1::Head;
use haven_core::log::haproxy::HttpLog;
use haven_core::log::syslog::Civil;
use haven_core::proxy::{adds_forwarded_for, Outcome, StreamId};
use haven_core::route::RequestHead;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::oneshot;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What every request task of one frontend shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) core: Arc<Core>,
    pub(crate) pool: Arc<Pool>,
    /// Request ids, unique across frontends.
    pub(crate) next_id: Arc<AtomicU64>,
    pub(crate) frontend: usize,
    pub(crate) frontend_name: String,
    pub(crate) httplog: bool,
    pub(crate) forwardfor: Option<Forwardfor>,
    /// `option httpclose` on the frontend: one request per client
    /// connection.
    pub(crate) client_close: bool,
    /// `option httpclose` or `http-server-close` on the frontend: no
    /// server connection is kept for another request.
    pub(crate) server_close: bool,
    pub(crate) timeouts: ClientTimeouts,
    pub(crate) logger: Arc<Logger>,
    /// Connection slots a client connection holds while open: the
    /// frontend's `maxconn`, the process's (global `maxconn`).
    pub(crate) slots: Vec<Arc<Semaphore>>,
    /// The driver's clock, for log dates.
    pub(crate) clock: Clock,
}

impl Shared {
    /// Logs a request refused before it was read (`<BADREQ>`).
    pub(crate) fn log_refused(
        &self,
        client: SocketAddr,
        accepted: Instant,
        status: u16,
        termination: &str,
    ) {
        if !self.httplog {
            return;
        }
        let line = HttpLog {
            client,
            accept: accept_stamp(self.clock.date(accepted)),
            frontend: self.frontend_name.clone(),
            backend: self.frontend_name.clone(),
            server: None,
            timers: [
                None,
                None,
                None,
                None,
                Some(accepted.elapsed().as_millis() as u64),
            ],
            status,
            bytes: 0,
            termination: termination.to_owned(),
            conns: [0; 4],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            request: "<BADREQ>".to_owned(),
        };
        self.logger.traffic(self.frontend, &line.to_string());
    }
}

/// The accept date of a log line and its milliseconds.
fn accept_stamp(at: SystemTime) -> (Civil, u32) {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (
        Civil::from_unix(since.as_secs() as i64),
        since.subsec_millis(),
    )
}

/// A request read whole from a client.
pub(crate) struct ReadRequest {
    /// Its head, the target in origin form (as it goes to a server).
    pub(crate) head: Head,
    pub(crate) body: Bytes,
    pub(crate) manner: Manner,
    /// `METHOD target HTTP/1.x` as the client sent it, for the log.
    pub(crate) request_line: String,
    pub(crate) accepted: Instant,
    /// Bytes read from the client for this request (head and body).
    pub(crate) bytes_in: u64,
}

/// Serves one request from `client`: returns the [`Exchange`] that
/// answers it. The caller drives it to its end even when the client has
/// gone, as haproxy keeps a request it has read (`option abortonclose` is
/// core's to apply); `left` fires (or is dropped) when the client goes.
/// `None`: the driver is gone.
pub(crate) fn serve(
    request: ReadRequest,
    shared: Arc<Shared>,
    client: SocketAddr,
    left: oneshot::Receiver<()>,
) -> impl std::future::Future<Output = Option<Wire>> + Send {
    let ReadRequest {
        head,
        body,
        manner,
        request_line,
        accepted,
        bytes_in,
    } = request;
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    route(&shared, id, &head, client, started);
    let forwarded_for = shared.forwardfor.as_ref().and_then(|f| {
        let name = f.header.to_ascii_lowercase();
        let present = head.headers.iter().any(|(n, _)| *n == name);
        adds_forwarded_for(f, client.ip(), present).then(|| (name, client.ip().to_string()))
    });
    let extra = forwarded_for
        .as_ref()
        .map(|(n, v)| (n.as_str(), v.as_str()));
    let outgoing = Outgoing::new(&head, extra, &body);
    let exchange = Exchange {
        shared,
        id,
        client,
        accepted,
        manner,
        started,
        request_line,
        bytes_in,
    };
    exchange.run(outgoing, left)
}

/// Hands `head` (request `id` from `client`, read whole `at`) to the
/// driver. The driver sees the headers as the client sent them, but for
/// `Expect`.
fn route(shared: &Shared, id: StreamId, head: &Head, client: SocketAddr, at: Instant) {
    let values: Vec<Cow<'_, str>> = head
        .headers
        .iter()
        .map(|(_, v)| String::from_utf8_lossy(v))
        .collect();
    let headers: Vec<(&str, &str)> = head
        .headers
        .iter()
        .zip(&values)
        .filter(|((name, _), _)| name != "expect")
        .map(|((name, _), value)| (name.as_str(), value.as_ref()))
        .collect();
    let route = RequestHead {
        method: &head.method,
        uri: &head.target,
        headers: &headers,
    };
    shared.core.request(id, shared.frontend, &route, client, at);
}

/// One request after it was read: obeys the driver until it is answered,
/// in the task of its client's connection.
struct Exchange {
    shared: Arc<Shared>,
    id: StreamId,
    client: SocketAddr,
    accepted: Instant,
    manner: Manner,
    started: Instant,
    request_line: String,
    bytes_in: u64,
}

impl Exchange {
    async fn run(self, outgoing: Outgoing, mut left: oneshot::Receiver<()>) -> Option<Wire> {
        let (id, core) = (self.id, Arc::clone(&self.shared.core));
        let _forget = Forget(&core, id);
        let mut answer: Option<Answer> = None;
        let mut attempt = None;
        let mut client_gone = false;
        let (mut connected_at, mut answered_at) = (None, None);
        loop {
            tokio::select! {
                biased;
                _ = &mut left, if !client_gone => {
                    client_gone = true;
                    core.dispatch(Event::ClientClosed(id));
                }
                cmd = core.command(id) => match cmd {
                    Some(Command::Connect { addr, reuse }) => {
                        let reuse = reuse && !self.shared.server_close;
                        let req = outgoing.clone();
                        let (pool, core) = (Arc::clone(&self.shared.pool), Arc::clone(&core));
                        attempt = Some(Box::pin(async move {
                            pool.forward(addr, req, reuse, || {
                                core.dispatch(Event::Connected(id));
                            })
                            .await
                        }));
                    }
                    Some(Command::Abort) => attempt = None,
                    Some(Command::Reply { status, headers, body }) => {
                        let mut page = wire::generated(status);
                        page.reason = None;
                        page.body = Bytes::from(body);
                        page.headers = headers
                            .into_iter()
                            .map(|(name, value)| (name.to_owned(), value.into_bytes()))
                            .collect();
                        return Some(wire::encode(&page, self.manner));
                    }
                    Some(Command::Finish { outcome, generated, backend, server }) => {
                        let page = match (generated, answer.take()) {
                            (false, Some(a)) => a,
                            _ => wire::generated(outcome.status),
                        };
                        let wire = wire::encode(&page, self.manner);
                        let at = Instant::now();
                        let done = Event::Done {
                            id,
                            bytes_in: self.bytes_in,
                            bytes_out: wire.bytes.len() as u64,
                        };
                        core.dispatch_at(done, at);
                        if self.shared.httplog {
                            let ms = |t: Option<Instant>| {
                                t.map(|t| (t - self.started).as_millis() as u64)
                            };
                            let marks = [ms(connected_at), ms(answered_at), ms(Some(at))];
                            let bytes = wire.bytes.len() as u64;
                            let line = self.log_line(&outcome, backend, server, marks, bytes);
                            self.shared.logger.traffic(self.shared.frontend, &line);
                        }
                        return Some(wire);
                    }
                    None => return None,
                },
                result = async { attempt.as_mut().expect("guarded").await }, if attempt.is_some() => {
                    attempt = None;
                    match result {
                        Ok(a) => {
                            let at = Instant::now();
                            connected_at.get_or_insert(at);
                            answered_at = Some(at);
                            core.dispatch_at(Event::Response(id, a.status), at);
                            answer = Some(a);
                        }
                        Err(ForwardError::Connect) => {
                            core.dispatch(Event::ConnectFailed(id));
                        }
                        Err(ForwardError::Server(failure)) => {
                            core.dispatch(Event::ServerFailed(id, failure));
                        }
                    }
                }
            }
        }
    }

    /// The `option httplog` line of a finished request. `marks` are the
    /// connect, response and end times in ms since the request was read;
    /// `bytes` were sent to the client.
    fn log_line(
        &self,
        outcome: &Outcome,
        backend: Arc<str>,
        server: Option<Arc<str>>,
        marks: [Option<u64>; 3],
        bytes: u64,
    ) -> String {
        let tw = outcome.queued_for.map(|d| d.as_nanos() / 1_000_000);
        let [connected, answered, total] = marks;
        let response = answered.zip(connected).map(|(a, c)| a.saturating_sub(c));
        HttpLog {
            client: self.client,
            accept: accept_stamp(self.shared.clock.date(self.accepted)),
            frontend: self.shared.frontend_name.clone(),
            backend: backend.to_string(),
            server: server.map(|s| s.to_string()),
            timers: [Some(0), tw.or(Some(0)), connected, response, total],
            status: outcome.status,
            bytes,
            termination: format!("{}--", outcome.termination),
            conns: [0; 4],
            retries: outcome.retries,
            redispatched: outcome.redispatched,
            queues: [0, 0],
            request: self.request_line.clone(),
        }
        .to_string()
    }
}

/// Tells the driver, when dropped, that the exchange of a request is gone.
struct Forget<'a>(&'a Core, StreamId);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}
