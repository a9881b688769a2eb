//! haproxy's master CLI (`-S <bind>[,<options>]`): a unix socket path or
//! `ipv4@ADDR:PORT` where each connection sends one line of
//! `;`-separated commands, gets the answers, and is closed. The master
//! ([`super::master`]) answers; this reads, parses and writes.

use anyhow::{Context, Result};
use haven_runtime::Inherited;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, oneshot};

/// The master CLI's commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `show proc`.
    ShowProc,
    /// `show version`.
    ShowVersion,
    /// `reload`.
    Reload,
    /// `help`.
    Help,
    /// `@1 CMD` or `@!PID CMD`: `line` for a worker.
    Worker { target: String, line: String },
    /// Anything else.
    Unknown(String),
}

/// One command and where its answer goes.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) command: Command,
    pub(crate) reply: oneshot::Sender<String>,
}

/// `help`'s answer.
pub(crate) const HELP: &str = "The following commands are valid at this level:
  @!<pid>                                 : send a command to the <pid> process
  @<relative pid>                         : send a command to the <relative pid> process
  reload                                  : reload haproxy
  show proc                               : show processes status
  show version                            : show version of the current process
  help                                    : list matching or all commands

";

/// Reads a request line's commands.
fn parse(line: &str) -> Vec<Command> {
    haven_core::stats::split_commands(line.trim_end_matches(['\r', '\n']))
        .into_iter()
        .map(|(c, _)| c)
        .map(|c| {
            if let Some(rest) = c.strip_prefix('@') {
                let (target, line) = rest.split_once(' ').unwrap_or((rest, ""));
                return Command::Worker {
                    target: target.to_owned(),
                    line: line.trim().to_owned(),
                };
            }
            match c.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["show", "proc"] => Command::ShowProc,
                ["show", "version"] => Command::ShowVersion,
                ["reload"] => Command::Reload,
                ["help", ..] => Command::Help,
                _ => Command::Unknown(c.to_owned()),
            }
        })
        .collect()
}

/// Binds `address` (a unix path, `unix@PATH`, `ipv4@ADDR:PORT` or an
/// inherited `fd@N`) and serves it: each request goes to `requests`.
pub(crate) async fn serve(address: &str, requests: mpsc::UnboundedSender<Request>) -> Result<()> {
    let bind = address.split(',').next().unwrap_or(address);
    let cannot = || format!("cannot bind the master CLI on {bind}");
    if let Some(fd) = bind.strip_prefix("fd@") {
        let fd = fd.parse::<i32>().with_context(cannot)?;
        match haven_runtime::inherited(fd).with_context(cannot)? {
            Inherited::Tcp(l) => {
                accept_tcp(TcpListener::from_std(l).with_context(cannot)?, requests)
            }
            Inherited::Unix(l) => {
                accept_unix(UnixListener::from_std(l).with_context(cannot)?, requests)
            }
        }
        return Ok(());
    }
    match bind.strip_prefix("ipv4@") {
        Some(addr) => accept_tcp(
            TcpListener::bind(addr).await.with_context(cannot)?,
            requests,
        ),
        None => {
            let path = bind.strip_prefix("unix@").unwrap_or(bind).to_owned();
            let _ = std::fs::remove_file(&path);
            accept_unix(UnixListener::bind(&path).with_context(cannot)?, requests);
        }
    }
    Ok(())
}

/// Serves each connection `listener` accepts.
fn accept_tcp(listener: TcpListener, requests: mpsc::UnboundedSender<Request>) {
    tokio::spawn(async move {
        let accept = || async { listener.accept().await.map(|(c, _)| c) };
        serve_each(accept, requests).await;
    });
}

/// Serves each connection `listener` accepts.
fn accept_unix(listener: UnixListener, requests: mpsc::UnboundedSender<Request>) {
    tokio::spawn(async move {
        let accept = || async { listener.accept().await.map(|(c, _)| c) };
        serve_each(accept, requests).await;
    });
}

/// A session for each connection `accept` gives, until it fails.
async fn serve_each<S, F, A>(mut accept: F, requests: mpsc::UnboundedSender<Request>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnMut() -> A,
    A: std::future::Future<Output = std::io::Result<S>>,
{
    while let Ok(conn) = accept().await {
        tokio::spawn(session(conn, requests.clone()));
    }
}

/// One connection: a line of commands, their answers, close.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    conn: S,
    requests: mpsc::UnboundedSender<Request>,
) {
    let mut conn = BufReader::new(conn);
    let mut line = String::new();
    if conn.read_line(&mut line).await.is_err() {
        return;
    }
    for command in parse(&line) {
        let (reply, answer) = oneshot::channel();
        if requests.send(Request { command, reply }).is_err() {
            return;
        }
        let Ok(text) = answer.await else {
            return;
        };
        if conn.get_mut().write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = conn.get_mut().shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_commands_as_haproxy_reads_them() {
        assert_eq!(
            parse("show proc; @1 show info ;reload\n"),
            [
                Command::ShowProc,
                Command::Worker {
                    target: "1".into(),
                    line: "show info".into()
                },
                Command::Reload
            ]
        );
        assert_eq!(
            parse("@!42 show stat"),
            [Command::Worker {
                target: "!42".into(),
                line: "show stat".into()
            }]
        );
        assert_eq!(parse("dance"), [Command::Unknown("dance".into())]);
    }
}
