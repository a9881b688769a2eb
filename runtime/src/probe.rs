//! One health probe on a real socket: connect (TCP check), then for HTTP
//! checks and tcp-check scripts do what core's [`HttpRun`] or [`Run`]
//! says step by step. Results go
//! back to the driver as [`ProbeEvent`]s; deadlines are core's (it aborts
//! the task on `timeout check`).

use crate::driver::Event;
use crate::http2::H2Upstream;
use crate::server_io::ServerIo;
use crate::stream::Peer;
use crate::tls::{HandshakeFailed, ServerHandshake};
use haven_core::config::haproxy::LocalEnd;
use haven_core::health::http_script::HttpRun;
use haven_core::health::script::{self, Next, Run, Steps, CHECK_BUFFER};
use haven_core::health::{CheckId, Probe, ProbeEvent};
use haven_core::http2::Limits;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

/// Where a probe goes, and where it leaves from.
pub(crate) struct Target {
    /// The server's address.
    pub(crate) addr: Peer,
    /// The local end `source` asks for.
    pub(crate) local: Option<LocalEnd>,
    /// The SOCKS4 proxy checks go through (`check-via-socks4`).
    pub(crate) socks4: Option<SocketAddr>,
    /// The TLS handshake checks make (a server with `ssl` whose checks
    /// go where its traffic goes).
    pub(crate) tls: Option<Arc<ServerHandshake>>,
    /// HTTP checks speak HTTP/2 (`check-proto h2`, or the server's
    /// `proto h2`).
    pub(crate) h2: bool,
}

impl Target {
    /// The server's address, with what a check rule names instead.
    fn aim(&self, rule: script::Target) -> Peer {
        if let (Peer::Unix(_), None, None) = (&self.addr, rule.addr, rule.port) {
            return self.addr.clone();
        }
        let addr = self.addr.inet();
        let ip = rule.addr.unwrap_or(addr.ip());
        Peer::Inet(SocketAddr::new(ip, rule.port.unwrap_or(addr.port())))
    }
}

/// Probes `to` and reports each step as check `id`'s events.
pub(crate) async fn run(id: CheckId, to: Target, probe: Probe, events: UnboundedSender<Event>) {
    let report = |e: ProbeEvent| {
        let _ = events.send(Event::Probe(id, e));
    };
    let http = matches!(probe, Probe::Http(_));
    let first = probe.first_target();
    let run: Option<Box<dyn Steps + Send>> = match probe {
        Probe::Tcp => None,
        Probe::Script(script) => Some(Box::new(Run::new(script))),
        Probe::Http(http) => Some(Box::new(HttpRun::new(*http))),
    };
    let aim = to.aim(first);
    let leaving = (to.local.as_ref(), first.delayed_ack);
    let stream = match crate::outbound::connect_via(&aim, leaving, to.socks4).await {
        Ok(s) => s,
        Err(e) => {
            let error = connect_error_text(&e);
            let words = run
                .as_ref()
                .and_then(|r| r.whereabouts())
                .unwrap_or_default();
            report(ProbeEvent::ConnectFailed {
                info: format!("{error}{words}"),
            });
            return;
        }
    };
    let stream = match &to.tls {
        None => ServerIo::Clear(stream),
        Some(tls) => match tls.connect_check(stream, aim.inet()).await {
            Ok(tls) => ServerIo::tls(tls),
            Err(e) => {
                // A certificate refused here is the server's.
                let failed = match HandshakeFailed::of(&e) {
                    HandshakeFailed::Untrusted => HandshakeFailed::Failed,
                    other => other,
                };
                let info = failed.words().to_owned();
                return report(ProbeEvent::HandshakeFailed { info });
            }
        },
    };
    report(ProbeEvent::Connected);
    let Some(run) = run else {
        return stream.reset_on_close();
    };
    let h2 = (to.h2 && http) || stream.chose_h2();
    let stream = match h2 {
        false => stream,
        // Checks offer haproxy's default HTTP/2 settings.
        true => {
            let client = crate::http2::client(stream, Limits::default(), None);
            ServerIo::H2(Box::new(H2Upstream::new(client)))
        }
    };
    let conn = CheckConn::new(stream, first);
    report(run_steps(run, conn, &to, &report).await);
}

/// A check's connection, closed as haproxy closes one once dropped:
/// with a reset, unless the server closed first or the rule said
/// `linger`.
struct CheckConn {
    stream: ServerIo,
    /// Closed gracefully.
    linger: bool,
    /// The server closed its side (or the connection broke).
    ended: bool,
}

impl CheckConn {
    /// `stream`, opened for `target`.
    fn new(stream: ServerIo, target: script::Target) -> Self {
        Self {
            stream,
            linger: target.linger,
            ended: false,
        }
    }
}

impl Drop for CheckConn {
    fn drop(&mut self) {
        if !self.linger && !self.ended {
            self.stream.reset_on_close();
        }
    }
}

/// Runs a check's steps on `stream` (a connection to the server `target`
/// names) to its verdict, telling core where it waits (`report`).
async fn run_steps(
    mut run: Box<dyn Steps + Send>,
    mut conn: CheckConn,
    target: &Target,
    report: &impl Fn(ProbeEvent),
) -> ProbeEvent {
    let mut chunk = vec![0u8; CHECK_BUFFER];
    let mut told = None;
    loop {
        match run.step() {
            Next::Finish(verdict) => return ProbeEvent::Verdict(verdict),
            Next::Send(bytes) => {
                if conn.stream.write_all(&bytes).await.is_err() {
                    conn.ended = true;
                    run.closed();
                }
            }
            Next::Read => {
                let words = run.whereabouts();
                if words.is_some() && words != told {
                    told.clone_from(&words);
                    report(ProbeEvent::Step(words));
                }
                match conn.stream.read(&mut chunk).await {
                    Ok(n) if n > 0 => run.received(&chunk[..n]),
                    _ => {
                        conn.ended = true;
                        run.closed();
                    }
                }
            }
            Next::Connect(aim) => {
                match crate::outbound::connect_via(
                    &target.aim(aim),
                    (target.local.as_ref(), aim.delayed_ack),
                    target.socks4,
                )
                .await
                {
                    Ok(s) => conn = CheckConn::new(ServerIo::Clear(s), aim),
                    Err(e) => {
                        return ProbeEvent::Verdict(run.connect_failed(&connect_error_text(&e)))
                    }
                }
            }
        }
    }
}

/// haproxy's words for a failed connect.
fn connect_error_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
        std::io::ErrorKind::TimedOut => "Connection timed out".into(),
        _ => e.to_string(),
    }
}

/// Asks the agent at `to` for its line: connects, sends `send`, reads up
/// to a newline (or the close), all within `timeout`; reports it as agent
/// `n`'s answer (`None` when nothing came).
pub(crate) async fn agent(
    n: usize,
    to: SocketAddr,
    send: Option<String>,
    timeout: std::time::Duration,
    events: UnboundedSender<Event>,
) {
    let ask = async {
        let mut stream = TcpStream::connect(to).await.ok()?;
        if let Some(text) = &send {
            stream.write_all(text.as_bytes()).await.ok()?;
        }
        let mut line = Vec::new();
        let mut chunk = [0u8; 512];
        while !line.contains(&b'\n') && line.len() < AGENT_LINE {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(k) => line.extend_from_slice(&chunk[..k]),
            }
        }
        (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned())
    };
    let reply = tokio::time::timeout(timeout, ask).await.ok().flatten();
    let _ = events.send(Event::Agent(n, reply));
}

/// The longest agent line read.
const AGENT_LINE: usize = 1024;
