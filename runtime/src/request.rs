//! One client request: read it, hand its head to the driver, then do what
//! the driver says (connect, abort, finish) until it is answered. The
//! request task decides nothing; it reports.

use crate::driver::{Command, Event};
use crate::forward::{Answer, ForwardError, Pool};
use bytes::Bytes;
use haven_core::log::haproxy::HttpLog;
use haven_core::log::syslog::Civil;
use haven_core::proxy::{error_body, Outcome, StreamId};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

/// Largest request body accepted (bigger: 400, as haproxy's buffer).
const MAX_BODY: usize = 1 << 20;

/// Headers that belong to one connection, not to the message.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What every request task of one frontend shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) events: UnboundedSender<Event>,
    pub(crate) pool: Arc<Pool>,
    /// Request ids, unique across frontends.
    pub(crate) next_id: Arc<AtomicU64>,
    pub(crate) frontend: usize,
    pub(crate) frontend_name: String,
    pub(crate) httplog: bool,
    pub(crate) forwardfor: Option<String>,
}

/// haproxy's own response for `status`.
fn generated(status: u16) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(error_body(status).as_bytes())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let h = resp.headers_mut();
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    h.insert("content-type", HeaderValue::from_static("text/html"));
    if matches!(status, 400 | 408) {
        h.insert("connection", HeaderValue::from_static("close"));
    }
    resp
}

fn strip_hop_by_hop(h: &mut hyper::HeaderMap) {
    for name in HOP_BY_HOP {
        h.remove(name);
    }
}

/// Serves one request from `client`: reads it, then hands it to an
/// [`Exchange`] task that outlives the client, as haproxy keeps a request
/// it has read (`option abortonclose` is core's to apply).
pub(crate) async fn serve(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    client: SocketAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let accepted = std::time::SystemTime::now();
    let (mut parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        return Ok(generated(400));
    };
    let body = body.to_bytes();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = unbounded_channel();
    let uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let request_line = format!("{} {uri} {:?}", parts.method, parts.version);
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let _ = shared.events.send(Event::Request {
        id,
        frontend: shared.frontend,
        method: parts.method.as_str().to_owned(),
        uri,
        headers,
        client,
        commands: tx,
    });
    strip_hop_by_hop(&mut parts.headers);
    if let Some(name) = &shared.forwardfor {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&client.ip().to_string()),
        ) {
            parts.headers.append(n, v);
        }
    }
    let (reply, answer) = oneshot::channel();
    let exchange = Exchange {
        shared,
        id,
        client,
        accepted,
        started: tokio::time::Instant::now(),
        request_line,
    };
    tokio::spawn(exchange.run(parts, body, rx, reply));
    Ok(answer.await.unwrap_or_else(|_| generated(503)))
}

/// One request after it was read: obeys the driver until it is answered.
struct Exchange {
    shared: Arc<Shared>,
    id: StreamId,
    client: SocketAddr,
    accepted: std::time::SystemTime,
    started: tokio::time::Instant,
    request_line: String,
}

impl Exchange {
    async fn run(
        self,
        parts: hyper::http::request::Parts,
        body: Bytes,
        mut rx: UnboundedReceiver<Command>,
        mut reply: oneshot::Sender<Response<Full<Bytes>>>,
    ) {
        let (id, events) = (self.id, self.shared.events.clone());
        let mut answer: Option<Answer> = None;
        let mut attempt = None;
        let mut client_gone = false;
        let (mut connected_at, mut answered_at) = (None, None);
        loop {
            tokio::select! {
                () = reply.closed(), if !client_gone => {
                    client_gone = true;
                    let _ = events.send(Event::ClientClosed(id));
                }
                cmd = rx.recv() => match cmd {
                    Some(Command::Connect { addr }) => {
                        let req = Request::from_parts(parts.clone(), Full::new(body.clone()));
                        let (pool, events) = (Arc::clone(&self.shared.pool), events.clone());
                        attempt = Some(Box::pin(async move {
                            pool.forward(addr, req, || {
                                let _ = events.send(Event::Connected(id));
                            })
                            .await
                        }));
                    }
                    Some(Command::Abort) => attempt = None,
                    Some(Command::Reply { status, headers, body }) => {
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                        for (name, value) in headers {
                            if let Ok(v) = HeaderValue::from_str(&value) {
                                resp.headers_mut().insert(name, v);
                            }
                        }
                        let _ = reply.send(resp);
                        return;
                    }
                    Some(Command::Finish { outcome, generated: gen, backend, server }) => {
                        let resp = match (gen, answer.take()) {
                            (false, Some(a)) => {
                                let mut resp = Response::new(Full::new(a.body));
                                *resp.status_mut() = a.status;
                                *resp.headers_mut() = a.headers;
                                strip_hop_by_hop(resp.headers_mut());
                                resp
                            }
                            _ => generated(outcome.status),
                        };
                        let _ = events.send(Event::Done(id));
                        if self.shared.httplog {
                            let ms = |t: Option<tokio::time::Instant>| {
                                t.map(|t| (t - self.started).as_millis() as u64)
                            };
                            let marks = [ms(connected_at), ms(answered_at), ms(Some(tokio::time::Instant::now()))];
                            println!("{}", self.log_line(&outcome, backend, server, marks));
                        }
                        let _ = reply.send(resp);
                        return;
                    }
                    None => return,
                },
                result = async { attempt.as_mut().expect("guarded").await }, if attempt.is_some() => {
                    attempt = None;
                    match result {
                        Ok(a) => {
                            connected_at.get_or_insert_with(tokio::time::Instant::now);
                            answered_at = Some(tokio::time::Instant::now());
                            let _ = events.send(Event::Response(id, a.status.as_u16()));
                            answer = Some(a);
                        }
                        Err(ForwardError::Connect) => {
                            let _ = events.send(Event::ConnectFailed(id));
                        }
                        Err(ForwardError::Broken) => {
                            let _ = events.send(Event::Response(id, 502));
                        }
                    }
                }
            }
        }
    }

    /// The `option httplog` line of a finished request. `marks` are the
    /// connect, response and end times in ms since the request was read.
    fn log_line(
        &self,
        outcome: &Outcome,
        backend: String,
        server: Option<String>,
        marks: [Option<u64>; 3],
    ) -> String {
        let (shared, client, accepted, request) = (
            &self.shared,
            self.client,
            self.accepted,
            self.request_line.as_str(),
        );
        let since = accepted
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let tw = outcome.queued_for.map(|d| d.as_nanos() / 1_000_000);
        let [connected, answered, total] = marks;
        let response = answered.zip(connected).map(|(a, c)| a.saturating_sub(c));
        HttpLog {
            client,
            accept: (
                Civil::from_unix(since.as_secs() as i64),
                since.subsec_millis(),
            ),
            frontend: shared.frontend_name.clone(),
            backend,
            server,
            timers: [Some(0), tw.or(Some(0)), connected, response, total],
            status: outcome.status,
            bytes: 0,
            termination: format!("{}--", outcome.termination),
            conns: [0; 4],
            retries: outcome.retries,
            redispatched: outcome.redispatched,
            queues: [0, 0],
            request: request.to_owned(),
        }
        .to_string()
    }
}
