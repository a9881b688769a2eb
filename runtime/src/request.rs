//! One client request, once its head is read: hand the head to the
//! driver, then do what the driver says (connect, abort, finish) until it
//! is answered, moving the body each way as it comes. The request task
//! decides nothing; it reports.

use crate::body::{self, Cursor, Idle, Relayed, BUFSIZE, MAXREWRITE};
use crate::cache::{Kept, Stored, Tee};
use crate::client_io::ClientIo;
use crate::clock::Clock;
use crate::compress::{self, Compressed};
use crate::driver::{Command, Connect, Core, Event, ServedBy};
use crate::forward::{request_head, Heard, Opening, Upstream};
use crate::front::ClientTimeouts;
use crate::lanes::RequestIds;
use crate::logger::Logger;
use crate::pool::{Dest, Pool};
use crate::session::{PrivateConn, Session};
use crate::splice::{self, Pipe, Pipes};
use crate::stream::Stream;
use crate::tunnel;
use crate::wire::{self, Delivery, Manner, Wire};
use bytes::{Buf, Bytes, BytesMut};
use haven_core::cache::{CachedReply, Ticket};
use haven_core::config::haproxy::ErrorPage;
use haven_core::config::haproxy::{BodyWait, CompAlgo, Splice};
use haven_core::http1::{
    accepts_websocket, websocket_accept, BodyFraming, Fields, Head, ResponseFraming, ResponseHead,
    Switch, TextFields,
};
use haven_core::http_rules::{apply_headers, Edit, Headers};
use haven_core::log::access_format::LineFacts;
use haven_core::log::haproxy::{HttpLog, Https};
use haven_core::log::syslog::Civil;
use haven_core::proxy::{DataEnd, Outcome, Rewrite, ServerFailure, StreamId};
use haven_core::route::RequestHead;
use haven_core::sample::{Around, Format, HeaderView, TlsSession};
use haven_core::stats::{BadMessage, Transfer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A client connection counted in its frontend's and the process's
/// totals while it lives.
pub(crate) struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    /// The frontend it counts in.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.0
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.process_conns.fetch_sub(1, Ordering::Relaxed);
        self.0.frontend_conns.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What every request task of one frontend shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) core: Arc<Core>,
    pub(crate) pool: Arc<Pool>,
    /// Request ids, unique across frontends and threads.
    pub(crate) ids: Arc<RequestIds>,
    pub(crate) frontend: usize,
    pub(crate) frontend_name: String,
    /// What HTTP/2 connections offer (`tune.h2.*`).
    pub(crate) h2: haven_core::http2::Limits,
    pub(crate) httplog: bool,
    /// Some proxy's `http-request` rules hold a `wait-for-body`.
    pub(crate) request_waits: bool,
    /// Some proxy's `http-response` rules hold a `wait-for-body`.
    pub(crate) response_waits: bool,
    /// `log-format`: the traffic lines' format, else httplog / tcplog.
    pub(crate) log_format: Option<Format>,
    /// The log lines print the server connection's source (`%bi`,
    /// `%bp`): it is read for each request (a system call).
    pub(crate) backend_source: bool,
    /// Traffic lines written so far (the log's `%lc`).
    pub(crate) log_count: AtomicU64,
    /// `option httpslog`: the lines end with the connection's TLS.
    pub(crate) httpslog: bool,
    /// `mode tcp`: connections are tunnelled, not read as HTTP.
    pub(crate) tcp: bool,
    /// `option tcplog` (core turns `httplog` into it in `mode tcp`).
    pub(crate) tcplog: bool,
    /// The frontend has `tcp-request connection` rules, run at accept.
    pub(crate) connection_rules: bool,
    /// The frontend has `tcp-request session` rules.
    pub(crate) session_rules: bool,
    /// Some proxy has `http-response` or `http-after-response` rules or a
    /// persistence cookie: core needs each response's headers.
    pub(crate) response_headers: bool,
    /// `option dontlognull`: a connection that sent nothing is not logged.
    pub(crate) dontlognull: bool,
    /// `option nolinger`: client connections end with a reset.
    pub(crate) nolinger: bool,
    /// The frontend's `option splice-*` (none under `nosplice`).
    pub(crate) splice: Splice,
    /// The process's pipes for splicing.
    pub(crate) pipes: Arc<Pipes>,
    /// `option http-ignore-probes`: a connection that sent nothing gets
    /// no 408 and no log line.
    pub(crate) ignore_probes: bool,
    /// No `option disable-h2-upgrade`: a clear connection that opens with
    /// the HTTP/2 preface is served as HTTP/2.
    pub(crate) h2_upgrade: bool,
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
    /// Client connections open in the process (the log's `actconn`).
    pub(crate) process_conns: Arc<AtomicU32>,
    /// Client connections open on this frontend (`feconn`).
    pub(crate) frontend_conns: AtomicU32,
    /// `errorfile` pages per proxy (config index).
    pub(crate) errorfiles: Arc<[Vec<ErrorPage>]>,
    /// Held while the frontend's listener or any of its connections is
    /// alive: [`crate::Running::drain`] waits until every copy is gone.
    pub(crate) _alive: tokio::sync::mpsc::Sender<std::convert::Infallible>,
}

impl Shared {
    /// What a stream of this frontend to the server `to` names splices
    /// (the frontend's `option splice-*` or the backend's), and the pipes
    /// it takes from.
    pub(crate) fn splicing(&self, to: &Connect) -> (Splice, &Arc<Pipes>) {
        (self.splice.or(to.splice), &self.pipes)
    }

    /// Counts a client connection of this frontend until the guard drops.
    pub(crate) fn open_connection(self: &Arc<Self>) -> OpenConnection {
        self.process_conns.fetch_add(1, Ordering::Relaxed);
        self.frontend_conns.fetch_add(1, Ordering::Relaxed);
        OpenConnection(Arc::clone(self))
    }

    /// The log's `actconn/feconn/beconn/srv_conn`, given the backend's and
    /// the server's `load`.
    pub(crate) fn conns(&self, [backend, server]: [u32; 2]) -> [u32; 4] {
        [
            self.process_conns.load(Ordering::Relaxed),
            self.frontend_conns.load(Ordering::Relaxed),
            backend,
            server,
        ]
    }

    /// haproxy's answer for `status` to a request made in `manner`: the
    /// `errorfile` of the backend, else of the frontend, else its own page.
    /// `edits` are what `http-after-response` rules change in it.
    pub(crate) fn error_answer(
        &self,
        backend: Option<usize>,
        status: u16,
        manner: Manner,
        edits: &[Edit],
    ) -> Wire {
        let page = backend.and_then(|b| self.errorfile(b, status));
        match page.or_else(|| self.errorfile(self.frontend, status)) {
            Some(page) if edits.is_empty() => wire::encode_page(page, manner),
            Some(page) => {
                let mut page = page.clone();
                apply_headers(&mut page.headers, edits);
                wire::encode_page(&page, manner)
            }
            None => {
                let mut answer = wire::generated(status);
                apply_headers(&mut answer.headers, edits);
                for edit in edits {
                    if let Edit::Status(code, reason) = edit {
                        answer.status = *code;
                        answer.reason = reason.clone();
                    }
                }
                wire::encode(&answer, manner)
            }
        }
    }

    /// Keeps for `show errors` the malformed head `bytes`: a request from
    /// `client`, or the response of server `(backend, server)` to it.
    pub(crate) fn keep_bad_message(
        &self,
        client: SocketAddr,
        server: Option<(usize, usize)>,
        bytes: &[u8],
    ) {
        let message = BadMessage {
            proxy: server.map_or(self.frontend, |(b, _)| b),
            response: server.is_some(),
            other_end: server.map(|_| self.frontend),
            server: server.map(|(_, s)| s),
            src: client,
            when: log_date(self.clock.date(Instant::now())),
            bytes: bytes.to_vec(),
        };
        self.core.dispatch(Event::BadMessage(Box::new(message)));
    }

    /// The answer to a request refused before it was read (400, 408...):
    /// the frontend's `errorfile`, else haproxy's verbatim page.
    pub(crate) fn refusal(&self, status: u16) -> Vec<u8> {
        match self.errorfile(self.frontend, status) {
            Some(page) => wire::encode_page(page, Manner::CLOSING).bytes,
            None => haven_core::proxy::error_response(status).into_bytes(),
        }
    }

    /// Proxy `proxy`'s `errorfile` page for `status`, if it has one.
    fn errorfile(&self, proxy: usize, status: u16) -> Option<&ErrorPage> {
        self.errorfiles
            .get(proxy)?
            .iter()
            .find(|p| p.status == status)
    }

    /// The frontend as a log line's `%ft` names it: with a `~` after
    /// its name when the client connection is TLS.
    pub(crate) fn frontend_label(&self, tls: bool) -> String {
        match tls {
            true => format!("{}~", self.frontend_name),
            false => self.frontend_name.clone(),
        }
    }

    /// What `option httpslog` adds to the lines of a connection with
    /// `tls` (clear: `None`).
    fn https(&self, tls: Option<&Arc<TlsSession>>) -> Option<Https> {
        self.httpslog.then(|| match tls {
            Some(tls) => Https::Tls(Arc::clone(tls)),
            None => Https::Clear,
        })
    }

    /// Logs a request refused before it was read (`<BADREQ>`, unless its
    /// `request` line was read), from `client` (over TLS when there is
    /// `tls`).
    pub(crate) fn log_refused(
        &self,
        (client, tls): (SocketAddr, Option<&Arc<TlsSession>>),
        (accepted, request): (Instant, Option<&str>),
        status: u16,
        termination: &str,
    ) {
        if !(self.httplog || self.tcplog) {
            return;
        }
        let tcp = !self.httplog;
        let line = HttpLog {
            client,
            accept: accept_stamp(self.clock.date(accepted)),
            frontend: self.frontend_label(tls.is_some()),
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
            termination: tcp_or_http_state(termination, tcp).to_owned(),
            conns: self.conns([0, 0]),
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            captured: None,
            request: request.unwrap_or("<BADREQ>").to_owned(),
            https: self.https(tls),
        };
        let line = self.traffic_line(line, tcp, || LineFacts {
            tls: tls.cloned(),
            accept_unix: crate::traffic_log::unix_secs(self.clock.date(accepted)),
            ..LineFacts::default()
        });
        self.logger.traffic(self.frontend, &line);
    }

    /// Logs a TLS handshake from `client`, accepted at `accepted` on the
    /// listener `label`, that `failed`, as haproxy logs a connection that
    /// never became a stream (unless the frontend logs no traffic, or
    /// `option dontlognull` and the client sent nothing that counts).
    pub(crate) fn log_handshake_failed(
        &self,
        client: SocketAddr,
        accepted: Instant,
        label: &str,
        failed: crate::tls::HandshakeFailed,
    ) {
        if !(self.httplog || self.tcplog) || self.dontlognull && failed.is_null() {
            return;
        }
        let line = haven_core::log::haproxy::ConnectionLog {
            client,
            accept: accept_stamp(self.clock.date(accepted)),
            frontend: self.frontend_name.clone(),
            listener: label.to_owned(),
            what: failed.words(),
        };
        self.logger.traffic(self.frontend, &line.to_string());
    }
}

/// What became of a server's answer in [`Exchange::deliver`]. In both,
/// `close`: the client connection closes after it; `idle`: the server's
/// may serve another request.
enum Delivered {
    /// Streamed to the client, ending as `end`.
    Relayed {
        end: DataEnd,
        close: bool,
        idle: bool,
    },
    /// Whole in hand, not sent yet: its `bytes`, head and body.
    Whole {
        bytes: Vec<u8>,
        close: bool,
        idle: bool,
    },
}

/// How an answer written whole to its client ended.
fn written(sent: Result<(), Relayed>) -> DataEnd {
    match sent {
        Ok(()) => DataEnd::Complete,
        Err(Relayed::ReceiverTimeout) => DataEnd::ClientTimeout,
        Err(_) => DataEnd::ClientAborted,
    }
}

/// `at` as haproxy's logs print dates: `06/Dec/2026:16:26:01.062`.
pub(crate) fn log_date(at: SystemTime) -> String {
    let (civil, ms) = accept_stamp(at);
    civil.log_date(&format!(".{ms:03}"))
}

/// The accept date of a log line and its milliseconds.
pub(crate) fn accept_stamp(at: SystemTime) -> (Civil, u32) {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (
        Civil::from_unix(since.as_secs() as i64),
        since.subsec_millis(),
    )
}

/// A request whose head was read from a client.
pub(crate) struct ReadRequest {
    /// Its head, the target in origin form (as it goes to a server).
    pub(crate) head: Head,
    pub(crate) manner: Manner,
    /// `METHOD target HTTP/1.x` as the client sent it, for the log (empty
    /// when nothing logs it).
    pub(crate) request_line: String,
    pub(crate) accepted: Instant,
    /// Bytes of its head on the wire.
    pub(crate) head_len: u64,
    /// The target as sent when it was not in origin form (absolute form):
    /// rules and `monitor-uri` see it so, as haproxy's do.
    pub(crate) target_as_sent: Option<String>,
    /// The `sec-websocket-key` haven put in the request (an HTTP/2
    /// client's extended CONNECT): the server's 101 must accept it.
    pub(crate) own_websocket_key: Option<String>,
}

/// Why a request ended before it reached the driver.
enum Refused {
    /// The client left: nothing to answer.
    Quiet,
    /// haproxy answers this status and closes; the termination state goes
    /// to the log line.
    Answer(u16, &'static str),
}

/// Serves `request` from `client` on its connection `stream`, whose
/// bytes past the head wait in `buf`. The exchange goes on to its end
/// even when the client leaves, as haproxy keeps a request it has read
/// (`option abortonclose` is core's to apply). True when the connection
/// serves another request.
pub(crate) async fn serve<S: ClientIo>(
    (stream, buf): (&mut S, &mut BytesMut),
    request: ReadRequest,
    shared: &Arc<Shared>,
    client: SocketAddr,
    session: &mut Session,
) -> bool {
    let ReadRequest {
        head,
        manner,
        request_line,
        accepted,
        head_len,
        target_as_sent,
        own_websocket_key,
    } = request;
    let mut head = head;
    let mut body = Cursor::request(head.body);
    let mut bytes_in = head_len;
    let room = (BUFSIZE - MAXREWRITE).saturating_sub(head_len as usize);
    let mut whole_body = BytesMut::new();
    let target = target_as_sent.as_deref().unwrap_or(&head.target);
    let local = session.destination(&*stream);
    let first = session.requests == 0;
    let wait = (shared.request_waits && head.body != BodyFraming::Empty)
        .then(|| {
            let view = (
                (&head, target, &[][..]),
                (client, local),
                (&*session, first),
            );
            with_view(view, |r| shared.core.request_body_wait(shared.frontend, r))
        })
        .flatten();
    let waits = (shared.timeouts.client, wait);
    match prefetch(stream, buf, &head, &body, room, waits).await {
        Ok(Some(0)) => {}
        Ok(Some(len)) => {
            // Whole in the buffer: kept with the head for a resend.
            let _ = body.take(&buf[..len]);
            whole_body = buf.split_to(len);
            bytes_in += len as u64;
        }
        Ok(None) => {}
        Err(Refused::Quiet) => return false,
        Err(Refused::Answer(status, termination)) => {
            // A `wait-for-body` that ran out logs the request it had.
            let line = (termination == "cR--").then_some(request_line.as_str());
            shared.log_refused(
                (client, session.tls.as_ref()),
                (accepted, line),
                status,
                termination,
            );
            let page = shared.refusal(status);
            let _ = body::write(stream, &page, shared.timeouts.client).await;
            return false;
        }
    }
    let id = shared.ids.next();
    let started = Instant::now();
    session.begin_request();
    // A body read whole goes to the driver too (the stats page's form).
    let view = (
        (&head, target, &whole_body[..]),
        (client, local),
        (&*session, first),
    );
    let (forward, command) = with_view(view, |r| {
        let at = (shared.frontend, session.listener);
        shared.core.request(id, at, r, client, started)
    });
    apply_edits(&mut head, &forward.edits);
    // `early-hint` rules: a `103 Early Hints` each, before anything else
    // (HTTP/1.0 clients know no interim answers; an HTTP/2 stream sends
    // them as informational heads).
    if !forward.early_hints.is_empty() && !manner.http10 {
        let hints = wire::early_hints(&forward.early_hints);
        if body::write(stream, &hints, shared.timeouts.client)
            .await
            .is_err()
        {
            return false;
        }
    }
    let sent_head = head.method == "HEAD";
    let mut outgoing = request_head(&head);
    outgoing.extend_from_slice(&whole_body);
    let mut manner = manner;
    manner.keep_alive &= !shared.client_close;
    let mut exchange = Exchange {
        shared: Arc::clone(shared),
        id,
        client,
        accepted,
        manner,
        websocket_accept: own_websocket_key.as_deref().map(websocket_accept),
        started,
        request_line,
        bytes_in,
        outgoing,
        body,
        up_pipe: None,
        spliced: [0; 2],
        compressed: None,
        watcher: Watcher::new(Arc::clone(&shared.core), id),
        cut_short: false,
        connected_at: None,
        answered_at: None,
        local,
        server_ends: None,
        first,
        session,
        unique_id: forward.unique_id,
        rewritten: forward.addresses,
        answered: None,
        sent_head,
        next: command,
    };
    exchange.run(stream, buf).await
}

/// Reads the body of `head` into `buf` while it fits in `room` bytes:
/// `Some(n)` when the whole body is the first `n` bytes of `buf`, `None`
/// when it is larger and will stream. With a `wait-for-body` rule
/// (`waits.1`), its time bounds the wait (a 408 `cR` after it) and its
/// `at-least` bytes are enough; else the client timeout (a 408 `cD`).
async fn prefetch<S: ClientIo>(
    stream: &mut S,
    buf: &mut BytesMut,
    head: &Head,
    body: &Cursor,
    room: usize,
    (client_timeout, wait): (Option<Duration>, Option<BodyWait>),
) -> Result<Option<usize>, Refused> {
    if head.body == BodyFraming::Empty {
        return Ok(Some(0));
    }
    if head.expect_continue && buf.is_empty() {
        let _ = body::write(stream, b"HTTP/1.1 100 Continue\r\n\r\n", client_timeout).await;
    }
    let limit = match wait {
        Some(w) => Some(std::time::Duration::from_nanos(w.time.as_nanos())),
        None => client_timeout,
    };
    let until = limit.map(|t| Instant::now() + t);
    let enough = wait.map_or(0, |w| w.at_least);
    loop {
        let mut probe = body.clone();
        let len = probe.take(buf).map_err(|_| Refused::Answer(400, "PR--"))?;
        if probe.is_done() {
            return Ok(Some(len));
        }
        let full =
            buf.len() >= room || matches!(head.body, BodyFraming::Length(n) if n > room as u64);
        if full || enough > 0 && len as u64 >= enough {
            return Ok(None);
        }
        let left = until.map(|u| u.saturating_duration_since(Instant::now()));
        match body::read(stream, buf, left).await {
            Ok(true) => {}
            Ok(false) | Err(Relayed::SenderClosed) => return Err(Refused::Quiet),
            Err(_) if wait.is_some() => return Err(Refused::Answer(408, "cR--")),
            Err(_) => return Err(Refused::Answer(408, "cD--")),
        }
    }
}

/// Runs `f` on the request as the driver sees it: `head` as the client
/// sent it, but for `Expect`, with the `target` as sent and `body` when
/// it was read whole; from `client`, which reached `local`; in `session`,
/// whose `first` request it is.
fn with_view<T>(
    ((head, target, body), (client, local), (session, first)): RouteView<'_>,
    f: impl FnOnce(&RequestHead<'_>) -> T,
) -> T {
    let mut kept = None;
    let route = RequestHead {
        method: &head.method,
        uri: target,
        headers: header_view(&head.headers, &mut kept),
        client: Some(client.ip()),
        payload: body,
        around: Around {
            src_port: Some(client.port()),
            dst: local,
            conn: session.conn(client, local),
            vars: Some(&session.vars),
            first_request: first,
            htx: true,
            switched: first && session.switched,
            http10: head.minor == 0,
            proxied: session.proxied.as_deref(),
            tls: session.tls.as_ref(),
            kept_server: session.own.as_ref().map(|kept| kept.target),
            session_tracked: session.tracked.get(),
            ..Around::default()
        },
    };
    f(&route)
}

/// The request's `fields` as the driver reads them: where they lie when
/// every value is text and none is `expect`, else as
/// [`readable_headers`] copies them into `kept`.
fn header_view<'a>(fields: &'a Fields, kept: &'a mut Option<Headers>) -> HeaderView<'a> {
    match TextFields::of(fields).filter(|text| !text.fields().contains("expect")) {
        Some(text) => HeaderView::Parsed(text),
        None => HeaderView::Kept(kept.insert(readable_headers(fields))),
    }
}

/// The request's `fields` as rules read them: `expect` left out (the
/// proxy answers it), values that are not UTF-8 with replacement
/// characters.
fn readable_headers(fields: &Fields) -> Headers {
    let mut headers = Headers::of_fields(fields);
    if headers.may_have("expect") {
        headers.retain(|name, _| name != "expect");
    }
    headers
}

/// What [`with_view`] reads: the head, its target as sent and the body
/// read whole; the client and the address it reached; the session and
/// whether this is its first request.
type RouteView<'a> = (
    (&'a Head, &'a str, &'a [u8]),
    (SocketAddr, Option<SocketAddr>),
    (&'a Session, bool),
);

/// Applies core's changes to the request head that goes to the server.
fn apply_edits(head: &mut Head, edits: &[Edit]) {
    for edit in edits {
        match edit {
            Edit::Method(m) => head.method.clone_from(m),
            Edit::Uri(u) => head.target.clone_from(u),
            _ => {}
        }
    }
    apply_headers(&mut head.headers, edits);
}

/// Waits on the driver beside each step of an exchange; tells it, when
/// dropped before the end was reported, that the exchange is gone.
pub(crate) struct Watcher {
    core: Arc<Core>,
    id: StreamId,
    client_gone: bool,
    /// The driver's count of posts when the mailbox was last found empty.
    seen: Option<u64>,
    /// The end was reported (`Done`): the driver closed the mailbox.
    ended: bool,
}

impl Watcher {
    /// Watches the driver's commands for stream `id`.
    pub(crate) fn new(core: Arc<Core>, id: StreamId) -> Self {
        Self {
            core,
            id,
            client_gone: false,
            seen: None,
            ended: false,
        }
    }

    /// Reports the end of the exchange, `done`, seen `at`.
    pub(crate) fn end(&mut self, done: Event, at: Instant) {
        self.core.dispatch_at(done, at);
        self.ended = true;
    }

    /// Runs `work` until it ends or the driver says something. Meanwhile,
    /// when `watch` lends it the client connection (once the client's
    /// body is read), reading ahead shows the client leave, which the
    /// driver hears (`option abortonclose`). `work` is pinned by the
    /// caller: an async fn taking a future by value would hold it twice.
    pub(crate) async fn step<T, R: AsyncRead + Unpin>(
        &mut self,
        mut work: Pin<&mut impl Future<Output = T>>,
        mut watch: Option<(&mut R, &mut BytesMut)>,
    ) -> Result<T, Break> {
        loop {
            let (core, id, seen) = (&self.core, self.id, &mut self.seen);
            let command = std::future::poll_fn(|cx| core.poll_command(id, seen, cx));
            tokio::select! {
                biased;
                command = command => {
                    return Err(command.map_or(Break::DriverGone, Break::Command));
                }
                out = work.as_mut() => return Ok(out),
                () = client_left(&mut watch), if watch.is_some() && !self.client_gone => {
                    self.client_gone = true;
                    self.core.dispatch(Event::ClientClosed(self.id));
                }
            }
        }
    }
}

/// No client connection to watch beside a step.
pub(crate) fn unwatched<'a>() -> Option<(&'a mut Stream, &'a mut BytesMut)> {
    None
}

/// Reads ahead on the client connection until the client closes it; never
/// ends while the buffer is full (the next request waits there).
async fn client_left<R: AsyncRead + Unpin>(watch: &mut Option<(&mut R, &mut BytesMut)>) {
    let Some((stream, buf)) = watch else {
        return std::future::pending().await;
    };
    loop {
        if buf.len() >= BUFSIZE - MAXREWRITE {
            return std::future::pending().await;
        }
        if !matches!(body::read(*stream, buf, None).await, Ok(true)) {
            return;
        }
    }
}

/// Why sending a request failed.
enum Upload {
    /// The server failed it.
    Server(ServerFailure),
    /// The client left (or stopped sending, `timed_out`) in the middle of
    /// its body.
    Client { timed_out: bool },
}

/// Why a step of an exchange stopped before its end.
pub(crate) enum Break {
    /// The driver said something first.
    Command(Command),
    /// The driver is gone.
    DriverGone,
}

/// A server connection with its final response head read.
struct Answered {
    up: Upstream,
    head: ResponseHead,
    /// How the server was reached, with its timeouts.
    to: Connect,
}

/// One request after its head was read: obeys the driver until it is
/// answered, in the task of its client's connection.
struct Exchange<'s> {
    shared: Arc<Shared>,
    id: StreamId,
    client: SocketAddr,
    accepted: Instant,
    manner: Manner,
    /// The `sec-websocket-accept` the server must answer, when haven made
    /// the request's key.
    websocket_accept: Option<String>,
    started: Instant,
    request_line: String,
    /// Bytes read from the client for this request so far.
    bytes_in: u64,
    /// The request head for the server, with the body when it was read
    /// whole (then it can be sent again).
    outgoing: Vec<u8>,
    /// What is left of the client's body to stream to the server.
    body: Cursor,
    /// The pipe the client's body goes to the server through when it is
    /// spliced (kept here: an early answer may stop the relay half-way).
    up_pipe: Option<Pipe>,
    /// Bytes spliced to the server and to the client.
    spliced: [u64; 2],
    /// What went through the compressor, when the answer was compressed.
    compressed: Option<Compressed>,
    watcher: Watcher,
    /// The client's body was not read to its end: the connection cannot
    /// carry another request.
    cut_short: bool,
    connected_at: Option<Instant>,
    answered_at: Option<Instant>,
    /// The address the client reached.
    local: Option<SocketAddr>,
    /// The last server connection's source (when known) and server.
    server_ends: Option<crate::tcp::ServerEnds>,
    /// The request is its connection's first.
    first: bool,
    /// What lasts across the connection's requests.
    session: &'s mut Session,
    /// The request's unique id (`unique-id-format`).
    unique_id: Option<String>,
    /// Its source and destination when rules changed them.
    rewritten: Option<(std::net::IpAddr, Option<SocketAddr>)>,
    /// The server connection of the last attempt, its answer's head read.
    /// Boxed: it would weigh on every future that holds the exchange.
    answered: Option<Box<Answered>>,
    /// The request goes to the server as a HEAD (its method may have been
    /// rewritten): the answer has no body. A HEAD sent on as another
    /// method gets one, read and dropped.
    sent_head: bool,
    /// The driver's next command when it came back at once from an input
    /// (no wait on the mailbox for it).
    next: Option<Command>,
}

impl Exchange<'_> {
    /// Obeys the driver's commands to the end; true when the client
    /// connection serves another request.
    async fn run<S: ClientIo>(&mut self, stream: &mut S, buf: &mut BytesMut) -> bool {
        loop {
            let command = match self.next.take() {
                Some(c) => c,
                None => match self
                    .watcher
                    .step(
                        pin!(std::future::pending::<()>()),
                        self.body.is_done().then_some((&mut *stream, &mut *buf)),
                    )
                    .await
                {
                    Err(Break::Command(c)) => c,
                    Ok(()) | Err(Break::DriverGone) => return false,
                },
            };
            match command {
                Command::Connect(mut to) => {
                    self.answered = None;
                    to.reuse.close |= self.shared.server_close;
                    match self.attempt(&to, stream, buf).await {
                        Ok(a) => self.answered = a,
                        Err(Break::Command(c)) => self.next = Some(c),
                        Err(Break::DriverGone) => return false,
                    }
                }
                Command::Abort => self.answered = None,
                Command::Reply {
                    status,
                    headers,
                    body,
                } => {
                    let mut page = wire::generated(status);
                    page.reason = None;
                    page.body = Bytes::from(body);
                    page.headers = headers
                        .into_iter()
                        .map(|(name, value)| (name.to_owned(), value.into_bytes()))
                        .collect();
                    let wire = wire::encode(&page, self.manner);
                    let sent = body::write(stream, &wire.bytes, self.shared.timeouts.client).await;
                    return sent.is_ok() && !wire.close && self.reusable();
                }
                Command::Finish {
                    outcome,
                    generated,
                    rewrite,
                    by,
                } => {
                    if generated {
                        self.answered = None;
                    }
                    let mut rewrite = rewrite.map(|r| *r).unwrap_or_default();
                    if let Some(vars) = rewrite.session.take() {
                        self.session.keep_vars(vars);
                    }
                    return self.finish(outcome, rewrite, by, (stream, buf)).await;
                }
            }
        }
    }

    /// Connects to `addr`, sends the request and reads the final answer's
    /// head, forwarding interim answers. `Ok(None)`: the attempt failed and
    /// the driver was told.
    async fn attempt<S: ClientIo>(
        &mut self,
        to: &Connect,
        stream: &mut S,
        buf: &mut BytesMut,
    ) -> Result<Option<Box<Answered>>, Break> {
        let server_timeout = to.server_timeout;
        let streaming = !self.body.is_done();
        let idle_client = !streaming;
        let own = self.session.own.take().map(|kept| kept.up);
        // A temporary: what lives across the waits below takes room in
        // every request's task.
        let dest = Dest::of(&to.addr, to.sni.as_ref());
        let idle = self.shared.pool.idle(&dest, (&to.reuse, self.first), own);
        drop(dest);
        let mut up = match idle {
            Some(up) => up,
            None => {
                let opening = self.opening(to, &*stream);
                // Boxed, as each rare wait below: inline, its state would
                // be room every request's task takes and moves.
                let open = self.shared.pool.open((&to.addr, to.sni.as_ref()), &opening);
                let opened = self
                    .watcher
                    .step(
                        Box::pin(open).as_mut(),
                        idle_client.then_some((&mut *stream, &mut *buf)),
                    )
                    .await?;
                let Ok(up) = opened else {
                    self.shared.core.dispatch(Event::ConnectFailed(self.id));
                    return Ok(None);
                };
                up
            }
        };
        let at = Instant::now();
        self.connected_at.get_or_insert(at);
        let source = self.shared.backend_source.then(|| up.stream.local_addr());
        self.server_ends = Some((source.flatten(), to.addr.inet()));
        let event = Event::Connected {
            id: self.id,
            streaming,
            server_tls: up.stream.tls_agreed(),
        };
        self.shared.core.dispatch_at(event, at);
        let sent = if streaming {
            let idle = Idle {
                read: self.shared.timeouts.client,
                write: server_timeout,
            };
            let upward = Upward {
                body: &mut self.body,
                bytes_in: &mut self.bytes_in,
                pipe: &mut self.up_pipe,
                spliced: &mut self.spliced[0],
                splice: self.shared.splicing(to),
            };
            let upload = send_streaming(
                &mut up,
                &self.outgoing,
                idle,
                (&mut *stream, &mut *buf),
                upward,
            );
            let sent = self
                .watcher
                .step(Box::pin(upload).as_mut(), unwatched())
                .await?;
            if self.body.is_done() {
                self.shared.core.dispatch(Event::RequestSent(self.id));
            } else {
                self.cut_short = true;
            }
            sent
        } else {
            self.watcher
                .step(
                    pin!(up.send(&self.outgoing, server_timeout)),
                    Some((&mut *stream, &mut *buf)),
                )
                .await?
                .map(|()| None)
                .map_err(Upload::Server)
        };
        let head = match sent {
            Ok(Some(head)) => Ok(head),
            Ok(None) => loop {
                let heard = self
                    .watcher
                    .step(
                        pin!(up.hear(self.sent_head)),
                        Some((&mut *stream, &mut *buf)),
                    )
                    .await?;
                match heard {
                    Ok(Heard::Interim(bytes)) => {
                        if !self.manner.http10 {
                            let _ = body::write(stream, &bytes, self.shared.timeouts.client).await;
                        }
                    }
                    Ok(Heard::Final(head)) => {
                        if self.manner.switch == (Switch::Upgrade { websocket: true })
                            && head.code == 101
                            && !accepts_websocket(&head, self.websocket_accept.as_deref())
                        {
                            break Err(Upload::Server(ServerFailure::Junk));
                        }
                        break Ok(head);
                    }
                    Err(ServerFailure::Empty) if up.pooled => {
                        let opening = self.opening(to, &*stream);
                        if self
                            .watcher
                            .step(
                                Box::pin(up.replace(&opening)).as_mut(),
                                Some((&mut *stream, &mut *buf)),
                            )
                            .await?
                            .is_err()
                        {
                            self.shared.core.dispatch(Event::ConnectFailed(self.id));
                            return Ok(None);
                        }
                        let resent = self
                            .watcher
                            .step(
                                pin!(up.send(&self.outgoing, server_timeout)),
                                Some((&mut *stream, &mut *buf)),
                            )
                            .await?;
                        if let Err(f) = resent {
                            break Err(Upload::Server(f));
                        }
                    }
                    Err(f) => break Err(Upload::Server(f)),
                }
            },
            Err(e) => Err(e),
        };
        let event = match head {
            Ok(head) => {
                if let Some(wait) = self.response_wait(&head) {
                    let mut read = Box::pin(read_answer_body(&mut up, &head, wait));
                    let came = self
                        .watcher
                        .step(read.as_mut(), Some((&mut *stream, &mut *buf)))
                        .await?;
                    if !came {
                        self.shared.core.dispatch(Event::BodyTimedOut(self.id));
                        return Ok(None);
                    }
                }
                let at = Instant::now();
                self.answered_at = Some(at);
                let headers = match self.shared.response_headers {
                    true => Headers::of_fields(&head.headers),
                    false => Headers::default(),
                };
                self.next = self.shared.core.dispatch_for(
                    self.id,
                    Event::Response(self.id, head.code, headers, up.buf.len()),
                    at,
                );
                let to = to.clone();
                return Ok(Some(Box::new(Answered { up, head, to })));
            }
            Err(Upload::Server(failure)) => {
                if failure == ServerFailure::Junk && !up.buf.is_empty() {
                    self.shared
                        .keep_bad_message(self.client, Some(to.target), &up.buf);
                }
                Event::ServerFailed(self.id, failure)
            }
            Err(Upload::Client { timed_out }) => Event::ClientAborted {
                id: self.id,
                timed_out,
            },
        };
        self.shared.core.dispatch(event);
        Ok(None)
    }
}

/// Reads the body of the answer `head` into `up`'s buffer, as a
/// `wait-for-body` rule says: true once it is whole, or `wait.at_least`
/// bytes of it are there, or the buffer is full, or the server closed
/// (the relay then sees how); false when `wait.time` ran out first.
async fn read_answer_body(up: &mut Upstream, head: &ResponseHead, wait: BodyWait) -> bool {
    let until = Instant::now() + std::time::Duration::from_nanos(wait.time.as_nanos());
    loop {
        let mut probe = Cursor::response(head.body);
        let Ok(len) = probe.take(&up.buf) else {
            return true;
        };
        let enough = wait.at_least > 0 && len as u64 >= wait.at_least;
        if probe.is_done() || enough || up.buf.len() >= BUFSIZE - MAXREWRITE {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        match body::read(&mut up.stream, &mut up.buf, Some(left)).await {
            Ok(true) => {}
            Ok(false) => return true,
            Err(Relayed::SenderTimeout) => return false,
            Err(_) => return true,
        }
    }
}

impl Exchange<'_> {
    /// The `wait-for-body` rule the answer `head` meets, when some proxy
    /// has one and the answer has a body.
    fn response_wait(&self, head: &ResponseHead) -> Option<BodyWait> {
        if !self.shared.response_waits || head.body == ResponseFraming::Empty {
            return None;
        }
        let lossy: Vec<(&str, std::borrow::Cow<'_, str>)> = head
            .headers
            .iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(v)))
            .collect();
        let headers: Vec<(&str, &str)> = lossy.iter().map(|(n, v)| (*n, v.as_ref())).collect();
        self.shared
            .core
            .response_body_wait(self.id, (head.code, &headers))
    }

    /// How a new connection to the server `to` names is made for this
    /// request: its PROXY header, where it leaves from, its SOCKS4 proxy.
    fn opening(&mut self, to: &Connect, stream: &impl ClientIo) -> Opening {
        // The request's addresses, as its rules left them.
        let (src, dst) = match self.rewritten {
            Some((ip, dst)) => (SocketAddr::new(ip, self.client.port()), dst),
            None => (self.client, None),
        };
        let dst = dst.or_else(|| self.session.destination(stream));
        let greeting = to.send_proxy.zip(dst).map(|((version, with_id), local)| {
            let id = self.unique_id.as_deref().filter(|_| with_id);
            crate::pp::greeting(version, (src, local), id)
        });
        Opening {
            greeting,
            local: to.source.as_ref().map(|s| s.local_end(self.client)),
            socks4: to.socks4.as_deref().copied(),
            tls: to.tls.clone(),
            h2: to.h2,
            h2_stats: Some((Arc::clone(&self.watcher.core), to.target.0)),
            nolinger: to.nolinger,
            // The request is ready to go with the handshake's last ACK.
            delayed_ack: to.smart_connect,
        }
    }
}

/// The client's body on its way to the server: how far it came, the bytes
/// read of it, and how it is spliced.
struct Upward<'a> {
    body: &'a mut Cursor,
    bytes_in: &'a mut u64,
    /// The pipe, once one was taken.
    pipe: &'a mut Option<Pipe>,
    spliced: &'a mut u64,
    /// The stream's `option splice-*`, and the pipes to take from.
    splice: (Splice, &'a Arc<Pipes>),
}

impl Upward<'_> {
    /// Relays the rest of the body from `from` (what `buf` holds first)
    /// to `to`, spliced when asked and both are clear TCP.
    async fn relay<R, W>(
        &mut self,
        (from, buf): (&mut R, &mut BytesMut),
        to: &mut W,
        idle: Idle,
    ) -> Relayed
    where
        R: tokio::io::AsyncRead + splice::Plain + Unpin,
        W: tokio::io::AsyncWrite + splice::Plain + Unpin,
    {
        if self.pipe.is_none() {
            let (splice, pipes) = self.splice;
            let wanted = splice::wanted(splice, true, self.body);
            *self.pipe = splice::pipe_for(pipes, wanted, &*from, &*to);
        }
        let counts = (&mut *self.bytes_in, &mut *self.spliced);
        splice::relay((from, buf), to, self.pipe.as_mut(), self.body, idle, counts).await
    }
}

/// Sends the head, then streams the client's body to the server while
/// listening for an early answer. `Ok(Some(head))`: the server answered
/// before the body's end (which is then not read further).
async fn send_streaming<S: ClientIo>(
    up: &mut Upstream,
    outgoing: &[u8],
    idle: Idle,
    (stream, buf): (&mut S, &mut BytesMut),
    mut upward: Upward<'_>,
) -> Result<Option<ResponseHead>, Upload> {
    up.send(outgoing, idle.write)
        .await
        .map_err(Upload::Server)?;
    let relayed = {
        let Upstream {
            stream: server,
            buf: answer,
            ..
        } = &mut *up;
        let (mut from_server, mut to_server) = server.halves();
        let (mut from_client, _) = stream.halves();
        let relay = upward.relay((&mut from_client, buf), &mut to_server, idle);
        // The first bytes of an early answer, kept for its head below.
        answer.reserve(4096);
        let early = from_server.read_buf(answer);
        tokio::select! {
            relayed = relay => Some(relayed),
            read = early => {
                if matches!(read, Ok(n) if n > 0) {
                    up.heard();
                }
                None
            }
        }
    };
    match relayed {
        Some(Relayed::Done) => Ok(None),
        Some(Relayed::ReceiverGone | Relayed::ReceiverTimeout) => {
            Err(Upload::Server(ServerFailure::Broken))
        }
        Some(Relayed::SenderTimeout) => Err(Upload::Client { timed_out: true }),
        Some(Relayed::SenderClosed | Relayed::Malformed) => {
            Err(Upload::Client { timed_out: false })
        }
        None => match up.hear(false).await {
            Ok(Heard::Final(head)) => Ok(Some(head)),
            Ok(Heard::Interim(_)) => Ok(None),
            Err(f) => Err(Upload::Server(f)),
        },
    }
}

impl Exchange<'_> {
    /// True when the client connection may carry another request: the
    /// client is still there and its body was read to the end.
    fn reusable(&self) -> bool {
        !self.watcher.client_gone && !self.cut_short
    }

    /// Answers the client: the server's answer streamed as it comes
    /// (when one was `answered`), or haproxy's page for `outcome.status`;
    /// then logs and reports the end. True when the connection serves
    /// another request.
    async fn finish<S: ClientIo>(
        &mut self,
        outcome: Outcome,
        rewrite: Rewrite,
        by: ServedBy,
        (stream, buf): (&mut S, &mut BytesMut),
    ) -> bool {
        let client_timeout = self.shared.timeouts.client;
        let mut bytes_out = 0;
        let mut parked = None;
        let (end, close) = match self.answered.take() {
            // The server's answer, if any, goes unsent with its connection;
            // haproxy logs no Tr for it.
            _ if outcome.silent => {
                self.answered_at = None;
                stream.silence();
                (DataEnd::Complete, true)
            }
            Some(mut answered) => {
                edit_response(&mut answered.head, &rewrite.edits);
                let delivered = self
                    .deliver(
                        &mut answered,
                        (stream, buf),
                        (&mut bytes_out, rewrite.compress, rewrite.store),
                    )
                    .await;
                match delivered {
                    Delivered::Relayed { end, close, idle } => {
                        parked = idle.then_some(answered);
                        (end, close)
                    }
                    // The server is done with: its connection is idle
                    // before the client has the answer, as haproxy's is,
                    // so a client that asks again at once finds it.
                    Delivered::Whole { bytes, close, idle } => {
                        if idle {
                            self.park(answered, Instant::now());
                        }
                        let sent = body::write(stream, &bytes, client_timeout).await;
                        (written(sent), close)
                    }
                }
            }
            None if outcome.status == 0 => (DataEnd::Complete, true),
            None if rewrite.cached.is_some() => {
                let reply = rewrite.cached.expect("checked above");
                let sent = (&mut bytes_out, rewrite.compress);
                Box::pin(self.deliver_cached(*reply, stream, sent)).await
            }
            None => {
                let wire = match rewrite.reply {
                    Some(reply) => wire::encode(&wire::written(reply), self.manner),
                    None => self.shared.error_answer(
                        outcome.backend,
                        outcome.status,
                        self.manner,
                        &rewrite.edits,
                    ),
                };
                let sent = body::write(stream, &wire.bytes, client_timeout).await;
                bytes_out = wire.bytes.len() as u64;
                (written(sent), wire.close)
            }
        };
        let outcome = outcome.after_data(end);
        let at = Instant::now();
        if let Some(answered) = parked {
            self.park(answered, at);
        }
        let transfer = Transfer {
            bytes: [self.bytes_in, bytes_out],
            spliced: self.spliced,
            compressed: self.compressed.map(|c| [c.taken, c.encoded]),
        };
        let done = Event::Done(self.id, transfer);
        self.watcher.end(done, at);
        // `set-log-level silent` leaves the request unlogged.
        let logged = self.shared.httplog || self.shared.tcplog;
        if logged && outcome.log_level != Some(None) {
            let ms = |t: Option<Instant>| t.map(|t| (t - self.started).as_millis() as u64);
            let marks = [ms(self.connected_at), ms(self.answered_at), ms(Some(at))];
            let line = self.log_line(&outcome, by, marks, bytes_out);
            let severity = outcome.log_level.flatten();
            self.shared
                .logger
                .traffic_at(self.shared.frontend, severity, &line);
        }
        self.cut_short |= end != DataEnd::Complete;
        self.session.ended = Some(at);
        !close && self.reusable()
    }

    /// Leaves the server connection of `answered` idle in the pool, at
    /// `at`, for the client's next requests and others'.
    fn park(&mut self, answered: Box<Answered>, at: Instant) {
        let Answered { up, to, .. } = *answered;
        let kept = self.shared.pool.park(up, (&to.reuse, at));
        let target = to.target;
        self.session.own = kept.map(|up| Box::new(PrivateConn { up, target }));
    }

    /// Streams a server's answer to the client: its head, then its body
    /// through one bounded buffer; an answer already whole in the first
    /// read is left to the caller to send, once the server connection is
    /// parked.
    async fn deliver<S: ClientIo>(
        &mut self,
        answered: &mut Answered,
        (stream, buf): (&mut S, &mut BytesMut),
        (bytes_out, compress, store): (&mut u64, Option<CompAlgo>, Option<Ticket>),
    ) -> Delivered {
        let Answered { up, head, to } = answered;
        let mut streamed = streamed_head(head, self.manner, compress);
        stream.announce(head, self.manner, &streamed);
        let mut kept = store.map(|ticket| {
            let core = Arc::clone(&self.shared.core);
            let send: crate::cache::Filler =
                Box::new(move |body| core.dispatch(Event::CacheFill(ticket, body)));
            Kept::new(head.body, ticket.limit, send)
        });
        let idle = Idle {
            read: to.server_timeout,
            write: self.shared.timeouts.client,
        };
        // A body the client did not ask for is read and dropped.
        let dropped = self.manner.head && !self.sent_head;
        // The body bytes already read go out with the head, in one write.
        let mut body_bytes = 0;
        if let (Delivery::AsSent(cursor), false) = (&mut streamed.delivery, dropped) {
            let room = BUFSIZE.saturating_sub(streamed.head.len());
            let ready = up.buf.len().min(room);
            let mut ahead = cursor.clone();
            if let Ok(n) = ahead.take(&up.buf[..ready]) {
                *cursor = ahead;
                if let Some(kept) = kept.as_mut() {
                    kept.take(&up.buf[..n]);
                }
                streamed.head.extend_from_slice(&up.buf[..n]);
                up.buf.advance(n);
                body_bytes = n as u64;
            }
        }
        let whole = match &streamed.delivery {
            Delivery::Nothing => true,
            Delivery::AsSent(cursor) => cursor.is_done(),
            _ => false,
        };
        if whole && !dropped && kept.is_none() && self.body.is_done() && !self.cut_short {
            *bytes_out = streamed.head.len() as u64;
            let idle = head.keep_alive && head.body != ResponseFraming::UntilClose;
            return Delivered::Whole {
                bytes: streamed.head,
                close: streamed.close,
                idle,
            };
        }
        let relayed = match body::write(stream, &streamed.head, idle.write).await {
            Err(end) => end,
            Ok(()) => {
                *bytes_out = streamed.head.len() as u64 - body_bytes;
                let relayed = match streamed.delivery {
                    Delivery::Tunnel => {
                        let server = (&mut up.stream, &mut up.buf);
                        let shared = &self.shared;
                        let ways = (shared.timeouts.client, shared.splicing(to));
                        // Boxed, as the next one: rare, and large beside
                        // what every answer needs.
                        let (end, moved) =
                            Box::pin(tunnel::between((stream, buf), server, to, ways)).await;
                        self.bytes_in += moved.to_server;
                        *bytes_out += moved.to_client;
                        self.spliced = [0, 1].map(|i| self.spliced[i] + moved.spliced[i]);
                        return Delivered::Relayed {
                            end,
                            close: true,
                            idle: false,
                        };
                    }
                    // The server answered before the request's end: the
                    // rest of the request goes on to it meanwhile.
                    delivery if !self.body.is_done() => {
                        let upward = Idle {
                            read: self.shared.timeouts.client,
                            write: to.server_timeout,
                        };
                        let [spliced_up, spliced_down] = &mut self.spliced;
                        let splice = self.shared.splicing(to);
                        let rest = Upward {
                            body: &mut self.body,
                            bytes_in: &mut self.bytes_in,
                            pipe: &mut self.up_pipe,
                            spliced: spliced_up,
                            splice,
                        };
                        // The cache keeps no answer to a request still
                        // on its way.
                        if let Some(k) = kept.take() {
                            k.end(false);
                        }
                        let down = Downward {
                            moved: &mut body_bytes,
                            spliced: spliced_down,
                            splice,
                            compressed: &mut self.compressed,
                            kept: None,
                        };
                        let (relayed, sent) = Box::pin(answer_while_sending(
                            delivery,
                            (up, down, idle),
                            (stream, buf),
                            (rest, upward),
                        ))
                        .await;
                        self.cut_short = sent != Relayed::Done;
                        relayed
                    }
                    delivery => {
                        let (mut from, _) = up.stream.halves();
                        let from = (&mut from, &mut up.buf);
                        let splice = self.shared.splicing(to);
                        let mut down = Downward {
                            moved: &mut body_bytes,
                            spliced: &mut self.spliced[1],
                            splice,
                            compressed: &mut self.compressed,
                            kept: kept.as_mut(),
                        };
                        let mut discarded = 0;
                        if dropped {
                            let sink = &mut tokio::io::sink();
                            down.moved = &mut discarded;
                            Box::pin(relay_answer(delivery, from, sink, idle, down)).await
                        } else {
                            // Boxed: an answer streams past its first read
                            // far less often than it comes whole.
                            let (_, mut to) = stream.halves();
                            Box::pin(relay_answer(delivery, from, &mut to, idle, down)).await
                        }
                    }
                };
                *bytes_out += body_bytes;
                relayed
            }
        };
        let end = match relayed {
            Relayed::Done => DataEnd::Complete,
            Relayed::SenderClosed | Relayed::Malformed => DataEnd::ServerAborted,
            Relayed::SenderTimeout => DataEnd::ServerTimeout,
            Relayed::ReceiverGone => DataEnd::ClientAborted,
            Relayed::ReceiverTimeout => DataEnd::ClientTimeout,
        };
        let whole = end == DataEnd::Complete && !self.cut_short;
        if let Some(k) = kept {
            k.end(whole);
        }
        let idle = whole && head.keep_alive && head.body != ResponseFraming::UntilClose;
        Delivered::Relayed {
            end,
            close: streamed.close,
            idle,
        }
    }

    /// Streams an answer a cache gave: its head, then its body from
    /// memory through the same delivery as a server's (compressed when
    /// core says so). How it ended, and whether the connection closes.
    async fn deliver_cached<S: ClientIo>(
        &mut self,
        reply: CachedReply,
        stream: &mut S,
        (bytes_out, compress): (&mut u64, Option<CompAlgo>),
    ) -> (DataEnd, bool) {
        let chunked = reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
        let body = reply.body.filter(|_| !self.manner.head);
        let mut head = ResponseHead {
            code: reply.status,
            reason: reply.reason.unwrap_or_default(),
            headers: reply
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
                .collect(),
            body: match &body {
                None => ResponseFraming::Empty,
                Some(_) if chunked => ResponseFraming::Chunked,
                Some(b) => ResponseFraming::Length(b.len() as u64),
            },
            keep_alive: true,
            suspect_framing: false,
        };
        let streamed = streamed_head(&mut head, self.manner, compress);
        let write = self.shared.timeouts.client;
        let idle = Idle { read: None, write };
        let relayed = match body::write(stream, &streamed.head, write).await {
            Err(end) => end,
            Ok(()) => {
                *bytes_out = streamed.head.len() as u64;
                let body = body.map_or_else(Bytes::new, Bytes::from_owner);
                let mut from = Stored::new(body, chunked);
                let (pipes, mut moved, mut spliced) = (&self.shared.pipes, 0, 0);
                let down = Downward {
                    moved: &mut moved,
                    spliced: &mut spliced,
                    splice: (Splice::default(), pipes),
                    compressed: &mut self.compressed,
                    kept: None,
                };
                let (_, mut to) = stream.halves();
                let from = (&mut from, &mut BytesMut::new());
                let relayed = relay_answer(streamed.delivery, from, &mut to, idle, down).await;
                *bytes_out += moved;
                relayed
            }
        };
        let end = match relayed {
            Relayed::Done => DataEnd::Complete,
            Relayed::ReceiverTimeout => DataEnd::ClientTimeout,
            _ => DataEnd::ClientAborted,
        };
        (end, streamed.close)
    }
    /// The `option httplog` (or `tcplog`) line of a finished request. `marks` are the
    /// connect, response and end times in ms since the request was read;
    /// `bytes` were sent to the client.
    fn log_line(
        &self,
        outcome: &Outcome,
        by: ServedBy,
        marks: [Option<u64>; 3],
        bytes: u64,
    ) -> String {
        let tw = outcome.queued_for.map(|d| d.as_nanos() / 1_000_000);
        let [connected, answered, total] = marks;
        let mut response = answered.zip(connected).map(|(a, c)| a.saturating_sub(c));
        // The stats page or a cache is haproxy's own "server", there at
        // once.
        let mut connected = connected;
        if outcome.applet.is_some() {
            (connected, response) = (Some(0), Some(0));
        }
        // No backend chosen: haproxy names the frontend, and logs no
        // queue time (nor, when routing failed, a request time).
        let (backend, mut head_timers) = match outcome.backend {
            Some(_) => (by.backend.to_string(), [Some(0), tw.or(Some(0))]),
            None => {
                // A rule's answer was read whole (TR 0); a rejected or
                // unrouted request has no request time (-1), as haproxy.
                let by_rule = matches!(outcome.termination.as_bytes().first(), Some(b'P' | b'L'))
                    && outcome.status != 0;
                (
                    self.shared.frontend_name.clone(),
                    [by_rule.then_some(0), None],
                )
            }
        };
        // A tarpit's hold counts as queue time, with no request time.
        if outcome.termination == haven_core::http_rules::TARPIT {
            head_timers = [None, tw];
        }
        let tcp = !self.shared.httplog;
        let line = HttpLog {
            client: self.client,
            accept: accept_stamp(self.shared.clock.date(self.accepted)),
            frontend: self.shared.frontend_label(self.session.tls.is_some()),
            backend,
            server: match outcome.applet {
                Some(applet) => Some(applet.name().to_owned()),
                None => by.server.map(|s| s.to_string()),
            },
            timers: [head_timers[0], head_timers[1], connected, response, total],
            status: outcome.status,
            bytes,
            termination: match tcp {
                true => outcome.termination.to_owned(),
                false => outcome.state(),
            },
            conns: self.shared.conns(by.load),
            retries: outcome.retries,
            redispatched: outcome.redispatched,
            queues: [0, 0],
            captured: outcome.captured.clone(),
            request: self.request_line.clone(),
            https: self.shared.https(self.session.tls.as_ref()),
        };
        self.shared.traffic_line(line, tcp, || LineFacts {
            bytes_in: self.bytes_in,
            frontend_addr: self.local,
            backend_source: self.server_ends.and_then(|(source, _)| source),
            server_addr: self.server_ends.map(|(_, server)| server),
            tls: self.session.tls.clone(),
            unique_id: self.unique_id.clone(),
            request_counter: self.id,
            accept_unix: crate::traffic_log::unix_secs(self.shared.clock.date(self.accepted)),
            vars: outcome.vars.as_deref().cloned(),
            proxied: self.session.proxied.as_deref().cloned(),
            ..LineFacts::default()
        })
    }
}

/// A termination `state` as a line shows it: its two letters in a tcplog
/// line (`tcp`), all four in an httplog one.
fn tcp_or_http_state(state: &str, tcp: bool) -> &str {
    match tcp {
        true => state.get(..2).unwrap_or(state),
        false => state,
    }
}

/// The head of an answer for a request made in `manner`, and how its
/// body follows: compressed bodies go out in chunks, whatever their
/// framing (core's edits already say so in the head).
fn streamed_head(
    head: &mut ResponseHead,
    manner: Manner,
    compress: Option<CompAlgo>,
) -> wire::Streamed {
    let source = head.body;
    if compress.is_some() {
        head.body = ResponseFraming::Chunked;
    }
    let mut streamed = wire::stream_head(head, manner);
    head.body = source;
    if let Some(algo) = compress {
        streamed.delivery = Delivery::Compressed(algo, source);
    }
    streamed
}

/// Applies core's changes to a server's response head.
fn edit_response(head: &mut ResponseHead, edits: &[Edit]) {
    for edit in edits {
        if let Edit::Status(code, reason) = edit {
            head.code = *code;
            head.reason = reason.clone().unwrap_or_else(|| {
                hyper::StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
                    .to_owned()
            });
        }
    }
    apply_headers(&mut head.headers, edits);
}

/// Relays a server's early answer (`delivery` of `up`'s answer, counted
/// in `down`) to the client on `stream` while the `rest` of the request's
/// body goes on to the server: how each way ended.
async fn answer_while_sending<S: ClientIo>(
    delivery: Delivery,
    (up, down, idle): (&mut Upstream, Downward<'_>, Idle),
    (stream, buf): (&mut S, &mut BytesMut),
    (mut rest, upward): (Upward<'_>, Idle),
) -> (Relayed, Relayed) {
    let (mut from_server, mut to_server) = up.stream.halves();
    let (mut from_client, mut to_client) = stream.halves();
    let answer = relay_answer(
        delivery,
        (&mut from_server, &mut up.buf),
        &mut to_client,
        idle,
        down,
    );
    let rest = rest.relay((&mut from_client, buf), &mut to_server, upward);
    tokio::join!(answer, rest)
}

/// A server's answer on its way to the client: the bytes sent, those
/// spliced, and the stream's `option splice-*` with the pipes to take from.
struct Downward<'a> {
    moved: &'a mut u64,
    spliced: &'a mut u64,
    splice: (Splice, &'a Arc<Pipes>),
    /// What went through the compressor, when the answer is compressed.
    compressed: &'a mut Option<Compressed>,
    /// The copy a cache keeps, when it keeps the answer.
    kept: Option<&'a mut Kept>,
}

/// Relays the body of a server's answer (`from`: its connection and what
/// was read of it) to the client as `delivery` says, spliced when asked
/// and both are clear TCP.
async fn relay_answer<R, W>(
    delivery: Delivery,
    (from, read): (&mut R, &mut BytesMut),
    to: &mut W,
    idle: Idle,
    down: Downward<'_>,
) -> Relayed
where
    R: tokio::io::AsyncRead + splice::Plain + Unpin,
    W: tokio::io::AsyncWrite + splice::Plain + Unpin,
{
    match delivery {
        Delivery::Nothing | Delivery::Tunnel => Relayed::Done,
        Delivery::AsSent(mut cursor) if down.kept.is_some() => {
            let kept = down.kept.expect("checked above");
            let mut tee = Tee { to, kept, ahead: 0 };
            body::relay(from, read, &mut tee, &mut cursor, idle, down.moved).await
        }
        Delivery::AsSent(mut cursor) => {
            let (splice, pipes) = down.splice;
            let wanted = splice::wanted(splice, false, &cursor);
            let mut pipe = splice::pipe_for(pipes, wanted, &*from, &*to);
            let counts = (down.moved, down.spliced);
            splice::relay((from, read), to, pipe.as_mut(), &mut cursor, idle, counts).await
        }
        Delivery::Dechunked => body::relay_dechunked(from, read, to, idle, down.moved).await,
        Delivery::Compressed(algo, framing) => {
            let plan = (algo, framing);
            let sink = (to, down.kept);
            let (out, counts) = compress::relay((from, read), sink, plan, idle, down.moved).await;
            *down.compressed = Some(counts);
            out
        }
    }
}
impl Drop for Watcher {
    fn drop(&mut self) {
        if !self.ended {
            self.core.forget(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: fields with `expect`, a value that is not UTF-8 between
    // readable ones. Rules must see the others in order, the unreadable
    // one with a replacement character, and no `expect`.
    #[test]
    fn rules_read_headers_in_order_without_expect_and_unreadable_bytes_replaced() {
        let mut fields = Fields::default();
        fields.push("host", b"example.com");
        fields.push("expect", b"100-continue");
        fields.push("x-raw", b"a\xffb");
        fields.push("accept", b"*/*");
        let seen: Vec<_> = readable_headers(&fields)
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        assert_eq!(seen, ["host=example.com", "x-raw=a\u{fffd}b", "accept=*/*"]);
    }

    // Input: readable fields; the same with `expect`; with a value that
    // is not UTF-8. Expected: the first read where they lie, the others
    // copied as rules read them (no `expect`, a replacement character).
    #[test]
    fn the_driver_reads_text_fields_where_they_lie_and_copies_the_others() {
        let seen = |pairs: &[(&str, &[u8])]| {
            let fields: Fields = pairs.iter().copied().collect();
            let mut kept = None;
            let view = header_view(&fields, &mut kept);
            let read: Vec<_> = view.iter().map(|(n, v)| format!("{n}={v}")).collect();
            (matches!(view, HeaderView::Parsed(_)), read)
        };
        let text = seen(&[("Host", b"a"), ("x-b", "\u{e9}".as_bytes())]);
        assert_eq!(text, (true, vec!["host=a".into(), "x-b=\u{e9}".into()]));
        let expect = seen(&[("host", b"a"), ("expect", b"100-continue")]);
        assert_eq!(expect, (false, vec!["host=a".into()]));
        let raw = seen(&[("host", b"a"), ("x-raw", b"\xff")]);
        assert_eq!(raw, (false, vec!["host=a".into(), "x-raw=\u{fffd}".into()]));
    }
}
