//! The `stats socket` of haproxy's runtime API: a unix (or TCP) socket
//! taking one line of `;`-separated commands per connection, as `socat`
//! sends them, answered by the driver, then closed (haproxy's
//! non-interactive mode).

use crate::driver::Event;
use haven_core::config::haproxy::CliLevel;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

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

/// Serves the runtime API on a unix `listener`.
pub(crate) async fn serve(listener: UnixListener, level: CliLevel, events: UnboundedSender<Event>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream, level, events.clone()));
    }
}

/// Serves the runtime API on a TCP `listener` (`stats socket
/// ipv4@ADDR:PORT`).
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    level: CliLevel,
    events: UnboundedSender<Event>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream, level, events.clone()));
    }
}

/// Reads one command line from `stream`, writes the driver's answer,
/// closes.
async fn answer(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    level: CliLevel,
    events: UnboundedSender<Event>,
) {
    let (read, mut write) = tokio::io::split(stream);
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_LINE as u64));
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let (reply, answer) = oneshot::channel();
    if events.send(Event::Admin { line, level, reply }).is_err() {
        return;
    }
    if let Ok(text) = answer.await {
        let _ = write.write_all(text.as_bytes()).await;
    }
    let _ = write.shutdown().await;
}
