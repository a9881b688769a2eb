//! One `mode tcp` connection: `tcp-request connection` rules at accept,
//! `tcp-request content` rules on the first bytes (read within
//! `inspect-delay`), then the driver routes it on those bytes and picks a
//! server as for a request, the task connects as told, and once core says
//! so, bytes flow both ways through the tunnel (the inspected bytes
//! first) until both sides close; then the `option tcplog` line. When
//! the content rules say `switch-mode http`, the connection goes on as
//! HTTP instead ([`crate::front::switched`]).

use crate::accept::Held;
use crate::body::{self, BUFSIZE};
use crate::client_io::ClientIo;
use crate::driver::{Command, Connect, Event, ServedBy};
use crate::front::{Bound, Greeted};
use crate::request::{accept_stamp, unwatched, Break, Shared, Watcher};
use crate::server_io::ServerIo;
use crate::stream::Stream;
use crate::tunnel;
use bytes::BytesMut;
use haven_core::config::haproxy::{BindProto, TcpLayer};
use haven_core::log::access_format::LineFacts;
use haven_core::log::haproxy::HttpLog;
use haven_core::proxy::{DataEnd, Outcome};
use haven_core::route::{Admission, RequestHead};
use haven_core::sample::Vars;
use haven_core::stats::Transfer;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::time::Instant;

/// A server connection's source (when known) and the server's address.
pub(crate) type ServerEnds = (Option<SocketAddr>, SocketAddr);

/// Serves the `mode tcp` connection `stream` from `client`, holding
/// `held` (its share of `maxconn` and of its thread's load) until it
/// closes; as HTTP when its content rules switch it (until `draining`
/// then, for its keep-alive).
pub(crate) async fn connection(
    stream: Stream,
    shared: Arc<Shared>,
    (client, bound): (SocketAddr, Bound),
    draining: watch::Receiver<bool>,
    held: Held,
) {
    let _open = shared.open_connection();
    let accepted = Instant::now();
    // Boxed: its state is gone once the connection serves.
    let greeted = Box::pin(crate::front::greet(stream, &shared, (client, bound)));
    let Some(Greeted {
        stream,
        buf,
        client,
        mut session,
        tracking,
    }) = greeted.await
    else {
        return;
    };
    let local = session.destination(&stream);
    let at = (client, local, accepted);
    let read = (buf, std::mem::take(&mut session.vars));
    if let Some(switched) = serve(stream, read, &shared, at, (false, bound)).await {
        let idle = (draining, held.alarm());
        crate::front::switched(switched, &shared, (client, session), idle).await;
    }
    drop(held);
    drop(tracking);
}

/// A `mode tcp` connection its content rules switched to HTTP
/// (`switch-mode http`).
pub(crate) struct Switched<S> {
    /// The client connection.
    pub(crate) stream: S,
    /// What the client sent that the rules read.
    pub(crate) payload: BytesMut,
    /// The HTTP version the rule named (`Auto`: as the bytes say).
    pub(crate) proto: BindProto,
    /// Its variables: its levels', and those the rules set.
    pub(crate) vars: Vars,
}

/// Serves a `mode tcp` connection once its client is known: `client`,
/// which reached `local`, accepted at `accepted`, over TLS when `tls`,
/// through its `bound` listener; `payload`: what it sent that was read
/// already; `vars`: the variables its levels set. When its content
/// rules switch it to HTTP, it is returned for that instead.
pub(crate) async fn serve<S: ClientIo>(
    mut stream: S,
    (mut payload, mut vars): (BytesMut, Vars),
    shared: &Arc<Shared>,
    (client, local, accepted): (SocketAddr, Option<SocketAddr>, Instant),
    (tls, bound): (bool, Bound),
) -> Option<Switched<S>> {
    let (frontend, ip) = (shared.frontend, client.ip());
    let admission = match inspect(&mut stream, &mut payload, shared, (ip, &mut vars)).await {
        // A `proto none` listener's connections stay as they are: the
        // switch fails and closes them, as in haproxy.
        Admission::SwitchToHttp(proto) if bound.proto != BindProto::None => {
            return Some(Switched {
                stream,
                payload,
                proto,
                vars,
            })
        }
        Admission::SwitchToHttp(_) => Admission::Reject,
        admission => admission,
    };
    if admission != Admission::Accept {
        if admission == Admission::SilentDrop {
            stream.silence();
        }
        let mut session = Session::new(Arc::clone(shared), u64::MAX, client, accepted);
        session.tls = tls;
        let outcome = Outcome::without_server(0, "PR", None);
        let by = ServedBy {
            backend: Arc::from(shared.frontend_name.as_str()),
            server: None,
            load: [0, 0],
        };
        session.log(&outcome, by, (Instant::now(), [0, 0], None), [None, None]);
        return None;
    }
    let id = shared.ids.next();
    let (_, first) = {
        let mut head = RequestHead::connection(ip, &payload);
        head.around.vars = Some(&vars);
        shared
            .core
            .request(id, (frontend, bound.listener), &head, client, accepted)
    };
    let mut session = Session::new(Arc::clone(shared), id, client, accepted);
    session.local = local;
    session.tls = tls;
    session.run(&mut stream, payload, first).await;
    None
}

/// Reads the client's first bytes into `payload` until the frontend's
/// `tcp-request content` rules decide (they may wait up to
/// `inspect-delay`, and no longer than the buffer holds) on the client
/// `ip`, setting `vars`.
async fn inspect<S: ClientIo>(
    stream: &mut S,
    payload: &mut BytesMut,
    shared: &Shared,
    (ip, vars): (std::net::IpAddr, &mut Vars),
) -> Admission {
    let (core, frontend) = (&shared.core, shared.frontend);
    let until = Instant::now() + core.inspect_delay(frontend).unwrap_or_default();
    let mut last = false;
    loop {
        let last_now = last || payload.len() >= BUFSIZE || Instant::now() >= until;
        match core.admit(frontend, TcpLayer::Content, (ip, payload), last_now, vars) {
            None | Some(Admission::Accept) => return Admission::Accept,
            Some(
                decided @ (Admission::Reject | Admission::SilentDrop | Admission::SwitchToHttp(_)),
            ) => return decided,
            Some(Admission::Wait) if last_now => return Admission::Accept,
            Some(Admission::Wait) => {}
        }
        let left = until.saturating_duration_since(Instant::now());
        match body::read(stream, payload, Some(left)).await {
            Ok(true) => {}
            Ok(false) | Err(_) => last = true,
        }
    }
}

/// A `mode tcp` connection obeying the driver.
struct Session {
    shared: Arc<Shared>,
    watcher: Watcher,
    id: u64,
    client: SocketAddr,
    accepted: Instant,
    /// The connection to the server, once made, and how it was reached.
    server: Option<(ServerIo, Connect)>,
    connect_began: Option<Instant>,
    connected_at: Option<Instant>,
    /// The address the client reached (a PROXY header's destination).
    local: Option<SocketAddr>,
    /// The client connection is TLS.
    tls: bool,
}

impl Session {
    fn new(shared: Arc<Shared>, id: u64, client: SocketAddr, accepted: Instant) -> Self {
        Self {
            watcher: Watcher::new(Arc::clone(&shared.core), id),
            shared,
            id,
            client,
            accepted,
            server: None,
            connect_began: None,
            connected_at: None,
            local: None,
            tls: false,
        }
    }

    /// Obeys the driver's commands, from `next` (the first, when it came
    /// at once) to the end of the connection; `payload`: what the client
    /// sent while its rules were evaluated.
    async fn run<S: ClientIo>(
        &mut self,
        stream: &mut S,
        mut payload: BytesMut,
        mut next: Option<Command>,
    ) {
        loop {
            let command = match next.take() {
                Some(c) => c,
                None => match self
                    .watcher
                    .step(pin!(std::future::pending::<()>()), unwatched())
                    .await
                {
                    Err(Break::Command(c)) => c,
                    Ok(()) | Err(Break::DriverGone) => return,
                },
            };
            match command {
                Command::Connect(to) => {
                    self.server = None;
                    match self.connect(to, !payload.is_empty()).await {
                        Ok(()) => {}
                        Err(Break::Command(c)) => next = Some(c),
                        Err(Break::DriverGone) => return,
                    }
                }
                Command::Abort | Command::Reply { .. } => self.server = None,
                Command::Finish {
                    outcome,
                    generated,
                    by,
                    ..
                } => {
                    return self
                        .finish(outcome, generated, by, (stream, &mut payload))
                        .await
                }
            }
        }
    }

    /// Connects to the server `to` names and tells the driver how it
    /// went; `waiting`: the client sent bytes already, ready to go with
    /// the handshake's last ACK under `option tcp-smart-connect` (or
    /// a PROXY header is).
    async fn connect(&mut self, to: Connect, waiting: bool) -> Result<(), Break> {
        self.connect_began = Some(Instant::now());
        let local = to.source.as_ref().map(|s| s.local_end(self.client));
        let delayed_ack = to.smart_connect && (waiting || to.send_proxy.is_some());
        let opened = self
            .watcher
            .step(
                pin!(crate::outbound::connect_via(
                    &to.addr,
                    (local.as_ref(), delayed_ack),
                    to.socks4.as_deref().copied()
                )),
                unwatched(),
            )
            .await?;
        let event = match opened {
            Ok(mut server) => {
                server.set_nodelay();
                if to.nolinger {
                    crate::outbound::no_linger(&server);
                }
                if let (Some((version, _)), Some(local)) = (to.send_proxy, self.local) {
                    let header = crate::pp::greeting(version, (self.client, local), None);
                    if body::write(&mut server, &header, to.server_timeout)
                        .await
                        .is_err()
                    {
                        self.shared.core.dispatch(Event::ConnectFailed(self.id));
                        return Ok(());
                    }
                }
                // The handshake is part of the connect: `timeout connect`
                // bounds it.
                let server = match &to.tls {
                    None => ServerIo::Clear(server),
                    Some(tls) => {
                        let shake = pin!(tls.connect(
                            server,
                            to.addr.inet(),
                            to.sni.as_deref().map(String::as_str)
                        ));
                        match self.watcher.step(shake, unwatched()).await? {
                            Ok(tls) => ServerIo::tls(tls),
                            Err(_) => {
                                self.shared.core.dispatch(Event::ConnectFailed(self.id));
                                return Ok(());
                            }
                        }
                    }
                };
                self.connected_at = Some(Instant::now());
                let server_tls = server.tls_agreed();
                self.server = Some((server, to));
                Event::Connected {
                    id: self.id,
                    streaming: false,
                    server_tls,
                }
            }
            Err(_) => Event::ConnectFailed(self.id),
        };
        self.shared.core.dispatch(event);
        Ok(())
    }

    /// Moves bytes both ways until the end when a server was reached
    /// (`generated`: none was), then reports and logs the connection.
    async fn finish<S: ClientIo>(
        &mut self,
        outcome: Outcome,
        generated: bool,
        by: ServedBy,
        (stream, payload): (&mut S, &mut BytesMut),
    ) {
        let mut moved = tunnel::Moved::default();
        let mut end = DataEnd::Complete;
        let server = self
            .server
            .as_ref()
            .map(|(io, to)| (io.local_addr(), to.addr.inet()));
        if let Some((mut upstream, to)) = self.server.take().filter(|_| !generated) {
            let mut server_buf = BytesMut::new();
            let server = (&mut upstream, &mut server_buf);
            let shared = &self.shared;
            let ways = (shared.timeouts.client, shared.splicing(&to));
            (end, moved) = tunnel::between((stream, payload), server, &to, ways).await;
        }
        let (to_server, to_client) = (moved.to_server, moved.to_client);
        let outcome = outcome.after_data(end);
        let at = Instant::now();
        let transfer = Transfer {
            bytes: [to_server, to_client],
            spliced: moved.spliced,
            compressed: None,
        };
        let done = Event::Done(self.id, transfer);
        self.watcher.end(done, at);
        let connect = self
            .connected_at
            .zip(self.connect_began)
            .map(|(done, began)| done.saturating_duration_since(began).as_millis() as u64);
        let waited = outcome.queued_for.map(|d| d.as_nanos() / 1_000_000);
        let waited = waited.or(Some(0));
        let moved = [to_client, to_server];
        self.log(&outcome, by, (at, moved, server), [waited, connect]);
    }

    /// Writes the `option tcplog` line (when on) of a connection that
    /// ended `at`, having moved `bytes` to the client and `bytes_in` to
    /// the `server` (its connection's source and address); `timers`: Tw
    /// and Tc.
    fn log(
        &self,
        outcome: &Outcome,
        by: ServedBy,
        (at, [bytes, bytes_in], server): (Instant, [u64; 2], Option<ServerEnds>),
        [waited, connect]: [Option<u64>; 2],
    ) {
        if !self.shared.tcplog {
            return;
        }
        let total = (at - self.accepted).as_millis() as u64;
        let line = HttpLog {
            client: self.client,
            accept: accept_stamp(self.shared.clock.date(self.accepted)),
            frontend: self.shared.frontend_label(self.tls),
            backend: by.backend.to_string(),
            server: by.server.map(|s| s.to_string()),
            timers: [None, waited, connect, None, Some(total)],
            status: 0,
            bytes,
            termination: outcome.termination.to_owned(),
            conns: self.shared.conns(by.load),
            retries: outcome.retries,
            redispatched: outcome.redispatched,
            queues: [0, 0],
            captured: None,
            request: String::new(),
            https: None,
        };
        let line = self.shared.traffic_line(line, true, || LineFacts {
            bytes_in,
            frontend_addr: self.local,
            backend_source: server.and_then(|(source, _)| source),
            server_addr: server.map(|(_, addr)| addr),
            request_counter: self.id,
            accept_unix: crate::traffic_log::unix_secs(self.shared.clock.date(self.accepted)),
            ..LineFacts::default()
        });
        self.shared.logger.traffic(self.shared.frontend, &line);
    }
}
