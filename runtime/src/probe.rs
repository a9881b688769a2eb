//! One health probe on a real socket: connect (TCP check), then for HTTP
//! checks send the request and read the status line and body, and for
//! tcp-check scripts do what core's [`Run`] says step by step. Results go
//! back to the driver as [`ProbeEvent`]s; deadlines are core's (it aborts
//! the task on `timeout check`).

use crate::driver::Event;
use haven_core::config::haproxy::LocalEnd;
use haven_core::health::script::{Next, Run, CHECK_BUFFER};
use haven_core::health::{CheckId, Probe, ProbeEvent};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

/// Where a probe goes, and where it leaves from.
pub(crate) struct Target {
    /// The server's address.
    pub(crate) addr: SocketAddr,
    /// The local end `source` asks for.
    pub(crate) local: Option<LocalEnd>,
}

/// Probes `to` and reports each step as check `id`'s events.
pub(crate) async fn run(id: CheckId, to: Target, probe: Probe, events: UnboundedSender<Event>) {
    let Target { addr, local } = to;
    let report = |e: ProbeEvent| {
        let _ = events.send(Event::Probe(id, e));
    };
    let run = match &probe {
        Probe::Script(script) => Some(Run::new(script.clone())),
        _ => None,
    };
    let first = match &probe {
        Probe::Script(script) => script.first_port(),
        _ => None,
    };
    let to = first.map_or(addr, |port| SocketAddr::new(addr.ip(), port));
    let mut stream = match crate::outbound::connect(to, local.as_ref()).await {
        Ok(s) => s,
        Err(e) => {
            let error = connect_error_text(&e);
            let words = run.as_ref().and_then(Run::whereabouts).unwrap_or_default();
            report(ProbeEvent::ConnectFailed {
                info: format!("{error}{words}"),
            });
            return;
        }
    };
    report(ProbeEvent::Connected);
    if let Some(run) = run {
        let target = Target { addr, local };
        report(run_script(run, stream, &target, &report).await);
        return;
    }
    let Probe::Http {
        method,
        uri,
        version,
        headers,
        body,
    } = probe
    else {
        return;
    };
    let mut request = format!("{method} {uri} {version}\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(b) = &body {
        request.push_str(&format!("content-length: {}\r\n", b.len()));
    }
    // The check's own `connection` header, when it gives one, stays alone.
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        request.push_str("connection: close\r\n");
    }
    request.push_str("\r\n");
    if let Some(b) = &body {
        request.push_str(b);
    }
    if stream.write_all(request.as_bytes()).await.is_err() {
        report(ProbeEvent::Invalid);
        return;
    }
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    while buf.len() < CHECK_BUFFER {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    report(parse_response(&buf));
}

/// Runs a tcp-check script on `stream` (a connection to the server
/// `target` names) to its verdict, telling core where it waits
/// (`report`).
async fn run_script(
    mut run: Run,
    mut stream: TcpStream,
    target: &Target,
    report: &impl Fn(ProbeEvent),
) -> ProbeEvent {
    let addr = target.addr;
    let mut chunk = vec![0u8; CHECK_BUFFER];
    let mut told = None;
    loop {
        match run.step() {
            Next::Finish(verdict) => return ProbeEvent::Verdict(verdict),
            Next::Send(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    run.closed();
                }
            }
            Next::Read => {
                let words = run.whereabouts();
                if words.is_some() && words != told {
                    told.clone_from(&words);
                    report(ProbeEvent::Step(words));
                }
                match stream.read(&mut chunk).await {
                    Ok(n) if n > 0 => run.received(&chunk[..n]),
                    _ => run.closed(),
                }
            }
            Next::Connect(port) => {
                let to = SocketAddr::new(addr.ip(), port.unwrap_or(addr.port()));
                match crate::outbound::connect(to, target.local.as_ref()).await {
                    Ok(s) => stream = s,
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

/// Status, reason and body of an HTTP response, or `Invalid`.
fn parse_response(buf: &[u8]) -> ProbeEvent {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
    else {
        return ProbeEvent::Invalid;
    };
    let status_line = head.lines().next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return ProbeEvent::Invalid;
    };
    match code.parse::<u16>() {
        Ok(status) if version.starts_with("HTTP/") && (100..1000).contains(&status) => {
            ProbeEvent::Response {
                status,
                reason: parts.next().unwrap_or("").trim().to_owned(),
                body: body.to_owned(),
            }
        }
        _ => ProbeEvent::Invalid,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_like_haproxy_reads_them() {
        assert_eq!(
            parse_response(b"HTTP/1.1 404 Not Found\r\nx: y\r\n\r\nnope"),
            ProbeEvent::Response {
                status: 404,
                reason: "Not Found".into(),
                body: "nope".into()
            }
        );
        assert_eq!(parse_response(b"garbage"), ProbeEvent::Invalid);
        assert_eq!(parse_response(b"SMTP 220 hi\r\n\r\n"), ProbeEvent::Invalid);
    }
}
