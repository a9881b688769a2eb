//! One `mode tcp` connection: the driver routes it and picks a server as
//! for a request (with no HTTP head to look at), the task connects as
//! told, and once core says so, bytes flow both ways through the tunnel
//! until both sides close; then the `option tcplog` line.

use crate::driver::{Command, Connect, Event};
use crate::request::{accept_stamp, Break, Forget, Shared, Watcher};
use crate::tunnel;
use bytes::BytesMut;
use haven_core::log::haproxy::TcpLog;
use haven_core::proxy::{DataEnd, Outcome};
use haven_core::route::RequestHead;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// Serves the `mode tcp` connection `stream` from `client`, holding
/// `slots` (its share of `maxconn`) until it closes.
pub(crate) async fn connection(
    mut stream: TcpStream,
    shared: Arc<Shared>,
    client: SocketAddr,
    slots: Vec<OwnedSemaphorePermit>,
) {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let accepted = Instant::now();
    let nothing = RequestHead {
        method: "",
        uri: "",
        headers: &[],
    };
    shared
        .core
        .request(id, shared.frontend, &nothing, client, accepted);
    let _forget = Forget(&shared.core, id);
    let mut session = Session {
        shared: Arc::clone(&shared),
        watcher: Watcher::new(Arc::clone(&shared.core), id),
        id,
        client,
        accepted,
        server: None,
        connect_began: None,
        connected_at: None,
    };
    session.run(&mut stream).await;
    drop(slots);
}

/// A `mode tcp` connection obeying the driver.
struct Session {
    shared: Arc<Shared>,
    watcher: Watcher,
    id: u64,
    client: SocketAddr,
    accepted: Instant,
    /// The connection to the server, once made, and how it was reached.
    server: Option<(TcpStream, Connect)>,
    connect_began: Option<Instant>,
    connected_at: Option<Instant>,
}

impl Session {
    /// Obeys the driver's commands to the end of the connection.
    async fn run(&mut self, stream: &mut TcpStream) {
        let mut next = None;
        loop {
            let command = match next.take() {
                Some(c) => c,
                None => match self.watcher.step(std::future::pending::<()>(), None).await {
                    Err(Break::Command(c)) => c,
                    Ok(()) | Err(Break::DriverGone) => return,
                },
            };
            match command {
                Command::Connect(to) => {
                    self.server = None;
                    match self.connect(to).await {
                        Ok(()) => {}
                        Err(Break::Command(c)) => next = Some(c),
                        Err(Break::DriverGone) => return,
                    }
                }
                Command::Abort | Command::Reply { .. } => self.server = None,
                Command::Finish {
                    outcome,
                    generated,
                    backend,
                    server,
                } => {
                    return self
                        .finish(outcome, generated, backend, server, stream)
                        .await
                }
            }
        }
    }

    /// Connects to the server `to` names and tells the driver how it went.
    async fn connect(&mut self, to: Connect) -> Result<(), Break> {
        self.connect_began = Some(Instant::now());
        let opened = self.watcher.step(TcpStream::connect(to.addr), None).await?;
        let event = match opened {
            Ok(server) => {
                let _ = server.set_nodelay(true);
                self.connected_at = Some(Instant::now());
                self.server = Some((server, to));
                Event::Connected {
                    id: self.id,
                    streaming: false,
                }
            }
            Err(_) => Event::ConnectFailed(self.id),
        };
        self.shared.core.dispatch(event);
        Ok(())
    }

    /// Moves bytes both ways until the end when a server was reached
    /// (`generated`: none was), then reports and logs the connection.
    async fn finish(
        &mut self,
        outcome: Outcome,
        generated: bool,
        backend: Arc<str>,
        server: Option<Arc<str>>,
        stream: &mut TcpStream,
    ) {
        let (mut to_server, mut to_client) = (0, 0);
        let mut end = DataEnd::Complete;
        if let Some((mut upstream, to)) = self.server.take().filter(|_| !generated) {
            let (mut client_buf, mut server_buf) = (BytesMut::new(), BytesMut::new());
            let client_side = tunnel::Side {
                stream,
                buf: &mut client_buf,
                idle: to.tunnel_timeout.or(self.shared.timeouts.client),
            };
            let server_side = tunnel::Side {
                stream: &mut upstream,
                buf: &mut server_buf,
                idle: to.tunnel_timeout.or(to.server_timeout),
            };
            let (ended, moved) = tunnel::run(client_side, server_side).await;
            (end, to_server, to_client) = (ended, moved.to_server, moved.to_client);
        }
        let outcome = outcome.after_data(end);
        let at = Instant::now();
        let done = Event::Done {
            id: self.id,
            bytes_in: to_server,
            bytes_out: to_client,
        };
        self.shared.core.dispatch_at(done, at);
        if self.shared.tcplog {
            let line = self.log_line(&outcome, backend, server, at, to_client);
            self.shared.logger.traffic(self.shared.frontend, &line);
        }
    }

    /// The `option tcplog` line of a connection that ended `at`, having
    /// sent `bytes` to the client.
    fn log_line(
        &self,
        outcome: &Outcome,
        backend: Arc<str>,
        server: Option<Arc<str>>,
        at: Instant,
        bytes: u64,
    ) -> String {
        let ms = |d: std::time::Duration| d.as_millis() as u64;
        let waited = outcome.queued_for.map(|d| d.as_nanos() / 1_000_000);
        let connect = self
            .connected_at
            .zip(self.connect_began)
            .map(|(done, began)| ms(done.saturating_duration_since(began)));
        TcpLog {
            client: self.client,
            accept: accept_stamp(self.shared.clock.date(self.accepted)),
            frontend: self.shared.frontend_name.clone(),
            backend: backend.to_string(),
            server: server.map(|s| s.to_string()),
            timers: [waited.or(Some(0)), connect, Some(ms(at - self.accepted))],
            bytes,
            termination: outcome.termination.to_owned(),
            conns: [0; 4],
            retries: outcome.retries,
            redispatched: outcome.redispatched,
            queues: [0, 0],
        }
        .to_string()
    }
}
