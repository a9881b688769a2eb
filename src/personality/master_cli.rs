//! haproxy's master CLI (`-S <bind>[,<options>]`): a unix socket path or
//! `ipv4@ADDR:PORT` where each connection sends one line of
//! `;`-separated commands, gets the answers, and is closed. The master
//! ([`super::master`]) answers; this reads, parses and writes.

use anyhow::{Context, Result};
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
    line.split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
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

/// Binds `address` and serves it: each request goes to `requests`.
pub(crate) async fn serve(address: &str, requests: mpsc::UnboundedSender<Request>) -> Result<()> {
    let bind = address.split(',').next().unwrap_or(address);
    match bind.strip_prefix("ipv4@") {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind the master CLI on {addr}"))?;
            tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    tokio::spawn(session(conn, requests.clone()));
                }
            });
        }
        None => {
            let path = bind.strip_prefix("unix@").unwrap_or(bind).to_owned();
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path)
                .with_context(|| format!("cannot bind the master CLI on {path}"))?;
            tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    tokio::spawn(session(conn, requests.clone()));
                }
            });
        }
    }
    Ok(())
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
