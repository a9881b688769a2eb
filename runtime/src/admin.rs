//! The `stats socket` of haproxy's runtime API: a unix (or TCP) socket
//! taking one line of `;`-separated commands per connection, as `socat`
//! sends them, answered by the driver, then closed (haproxy's
//! non-interactive mode), or line after line after `prompt`.

use crate::driver::Event;
use crate::workers::{Load, Threads};
use haven_core::config::haproxy::{CliLevel, Global};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// Longest command line read.
const MAX_LINE: usize = 16_384;

/// Binds `path`, replacing a stale socket file there, with permissions
/// `mode` when given (`stats socket ... mode 600`).
pub(crate) fn bind(path: &Path, mode: Option<u32>) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(listener)
}

/// haproxy's `stats timeout` default: an idle runtime API connection
/// closes after it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// haproxy's `stats maxconn` default.
const DEFAULT_MAXCONN: u32 = 10;

/// What every connection of one `stats socket` shares.
#[derive(Clone)]
pub(crate) struct Cli {
    /// What its commands may do.
    pub level: CliLevel,
    /// Where commands go.
    pub events: UnboundedSender<Event>,
    /// The serving threads, the first of which serves it.
    pub threads: Arc<Threads>,
    /// How long a connection may wait for its next command line.
    pub timeout: Duration,
    /// One permit per connection (`stats maxconn`).
    pub slots: Arc<Semaphore>,
}

impl Cli {
    /// The runtime API of a socket at `level`, its commands sent on
    /// `events` and its connections counted among `threads`', with the
    /// `global` section's `stats timeout` and `stats maxconn`.
    pub(crate) fn new(
        level: CliLevel,
        (events, threads): (UnboundedSender<Event>, Arc<Threads>),
        global: &Global,
    ) -> Self {
        let timeout = global
            .cli_timeout
            .map_or(DEFAULT_TIMEOUT, |t| Duration::from_nanos(t.as_nanos()));
        let maxconn = global.cli_maxconn.unwrap_or(DEFAULT_MAXCONN).max(1);
        Self {
            level,
            events,
            threads,
            timeout,
            slots: Arc::new(Semaphore::new(maxconn as usize)),
        }
    }
}

/// Serves the runtime API on a unix `listener`.
pub(crate) async fn serve(listener: UnixListener, cli: Cli) {
    serve_each(|| async { listener.accept().await.map(|(s, _)| s) }, cli).await;
}

/// Serves the runtime API on a TCP `listener` (`stats socket
/// ipv4@ADDR:PORT`).
pub(crate) async fn serve_tcp(listener: TcpListener, cli: Cli) {
    serve_each(|| async { listener.accept().await.map(|(s, _)| s) }, cli).await;
}

/// Serves each connection `accept` gives; at `stats maxconn` connections,
/// accepts no more until one closes, as haproxy does.
async fn serve_each<S, F, A>(mut accept: F, cli: Cli)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnMut() -> A,
    A: std::future::Future<Output = std::io::Result<S>>,
{
    loop {
        let Ok(permit) = Arc::clone(&cli.slots).acquire_owned().await else {
            return;
        };
        let Ok(stream) = accept().await else {
            return;
        };
        let load = cli.threads.served_where_accepted(0);
        tokio::spawn(converse(stream, cli.clone(), (permit, load)));
    }
}

/// haproxy's interactive-mode prompt, written after each answer.
const PROMPT: &str = "> ";

/// Reads command lines from `stream` and writes the driver's answers:
/// one line then close (non-interactive), or, after `prompt`, line after
/// line with a prompt until `quit`, end of input or `stats timeout` of
/// silence; `_held`: its `stats maxconn` slot and its thread's load.
async fn converse(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    cli: Cli,
    _held: (OwnedSemaphorePermit, Load),
) {
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let mut interactive = false;
    loop {
        let mut line = String::new();
        if !read_command(&mut reader, &mut line, cli.timeout).await {
            break;
        }
        let text = match line.trim() {
            "quit" => break,
            "prompt" => {
                interactive = !interactive;
                "\n".to_owned()
            }
            _ => match ask(&cli, line).await {
                Some(text) => text,
                None => break,
            },
        };
        let prompt = if interactive { PROMPT } else { "" };
        if write
            .write_all(format!("{text}{prompt}").as_bytes())
            .await
            .is_err()
            || !interactive
        {
            break;
        }
    }
    let _ = write.shutdown().await;
}

/// Reads one command line into `line`, and when it ends in `<<` its
/// payload: the lines after it up to an empty one (haproxy 2.6's
/// syntax). False at the end of input or after `timeout` of silence.
async fn read_command(
    reader: &mut (impl AsyncBufReadExt + Unpin),
    line: &mut String,
    timeout: Duration,
) -> bool {
    let mut first = true;
    loop {
        let start = line.len();
        let budget = (MAX_LINE.saturating_sub(start)) as u64;
        let mut limited = (&mut *reader).take(budget);
        match tokio::time::timeout(timeout, limited.read_line(line)).await {
            Ok(Ok(n)) if n > 0 => {}
            // A payload may end with the input.
            _ => return !first,
        }
        let read = line[start..].trim_end();
        let more = match first {
            true => read.ends_with("<<"),
            false => !read.is_empty(),
        };
        first = false;
        if !more || line.len() >= MAX_LINE {
            return true;
        }
    }
}

/// The driver's answer to one command line.
async fn ask(cli: &Cli, line: String) -> Option<String> {
    let (reply, answer) = oneshot::channel();
    let level = cli.level;
    cli.events.send(Event::Admin { line, level, reply }).ok()?;
    answer.await.ok()
}
