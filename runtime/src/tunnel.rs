//! A tunnel: once a server switched protocols (101) or accepted a
//! `CONNECT` (2xx), bytes flow both ways, each direction through one
//! bounded buffer, until both sides have closed. A side that closes its
//! sending half has that close passed on; a reset, or a side quiet
//! longer than its idle timeout, ends the tunnel at once.

use crate::body::{Cursor, Idle, Relayed, BUFSIZE};
use crate::client_io::ClientIo;
use crate::driver::Connect;
use crate::server_io::ServerIo;
use crate::splice::{self, Pipes};
use bytes::BytesMut;
use haven_core::config::haproxy::Splice;
use haven_core::proxy::DataEnd;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// One side of a tunnel: its connection, what was read from it and not
/// yet passed on, and how long it may stay quiet.
struct Side<'a, S> {
    stream: &'a mut S,
    buf: &'a mut BytesMut,
    idle: Option<Duration>,
}

/// Bytes that went through a tunnel, each way, and how many of them by
/// `splice()`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Moved {
    pub(crate) to_server: u64,
    pub(crate) to_client: u64,
    pub(crate) spliced: [u64; 2],
}

/// Runs the tunnel between `client` and `server` (each a connection and
/// what was read of it), the server reached as `to` says, to its end: how
/// it ended (a clean close both ways is complete) and what went through.
/// `timeout tunnel` bounds both sides' quiet, else `client_timeout`
/// (`timeout client`) and `timeout server` each their own. Each way is
/// spliced when `splicing` (the stream's `option splice-*`) asks for it.
pub(crate) async fn between<S: ClientIo>(
    (stream, buf): (&mut S, &mut BytesMut),
    server: (&mut ServerIo, &mut BytesMut),
    to: &Connect,
    (client_timeout, splicing): (Option<Duration>, (Splice, &Arc<Pipes>)),
) -> (DataEnd, Moved) {
    let client = Side {
        stream,
        buf,
        idle: to.tunnel_timeout.or(client_timeout),
    };
    let server = Side {
        stream: server.0,
        buf: server.1,
        idle: to.tunnel_timeout.or(to.server_timeout),
    };
    run(client, server, splicing).await
}

async fn run<S: ClientIo>(
    client: Side<'_, S>,
    server: Side<'_, ServerIo>,
    (splice, pipes): (Splice, &Arc<Pipes>),
) -> (DataEnd, Moved) {
    let (mut to_server, mut to_client) = (0, 0);
    let (mut spliced_up, mut spliced_down) = (0, 0);
    let (client_idle, server_idle) = (client.idle, server.idle);
    let (client_buf, server_buf) = (client.buf, server.buf);
    let (mut client_read, mut client_write) = client.stream.halves();
    let (mut server_read, mut server_write) = server.stream.halves();
    let splices = |upward| splice.applies(upward, None, BUFSIZE as u64);
    let mut up_pipe = splice::pipe_for(pipes, splices(true), &client_read, &server_write);
    let mut down_pipe = splice::pipe_for(pipes, splices(false), &server_read, &client_write);
    let upward = async {
        let idle = Idle {
            read: client_idle,
            write: server_idle,
        };
        let mut cursor = Cursor::UntilClose;
        let out = splice::relay(
            (&mut client_read, client_buf),
            &mut server_write,
            up_pipe.as_mut(),
            &mut cursor,
            idle,
            (&mut to_server, &mut spliced_up),
        )
        .await;
        if out == Relayed::Done {
            let _ = server_write.shutdown().await;
        }
        out
    };
    let downward = async {
        let idle = Idle {
            read: server_idle,
            write: client_idle,
        };
        let mut cursor = Cursor::UntilClose;
        let out = splice::relay(
            (&mut server_read, server_buf),
            &mut client_write,
            down_pipe.as_mut(),
            &mut cursor,
            idle,
            (&mut to_client, &mut spliced_down),
        )
        .await;
        if out == Relayed::Done {
            let _ = client_write.shutdown().await;
        }
        out
    };
    let end = both_ways(upward, downward).await;
    let moved = Moved {
        to_server,
        to_client,
        spliced: [spliced_up, spliced_down],
    };
    (end, moved)
}

/// Waits for both directions; the first that fails ends the tunnel.
async fn both_ways(
    upward: impl std::future::Future<Output = Relayed>,
    downward: impl std::future::Future<Output = Relayed>,
) -> DataEnd {
    tokio::pin!(upward, downward);
    let (mut up_done, mut down_done) = (false, false);
    loop {
        tokio::select! {
            biased;
            out = &mut upward, if !up_done => {
                if out != Relayed::Done {
                    return from_client(out);
                }
                up_done = true;
            }
            out = &mut downward, if !down_done => {
                if out != Relayed::Done {
                    return from_server(out);
                }
                down_done = true;
            }
        }
        if up_done && down_done {
            return DataEnd::Complete;
        }
    }
}

/// How the client-to-server direction ended, as the log tells it.
fn from_client(out: Relayed) -> DataEnd {
    match out {
        Relayed::SenderTimeout => DataEnd::ClientTimeout,
        Relayed::ReceiverGone => DataEnd::ServerAborted,
        Relayed::ReceiverTimeout => DataEnd::ServerTimeout,
        Relayed::Done => DataEnd::Complete,
        Relayed::SenderClosed | Relayed::Malformed => DataEnd::ClientAborted,
    }
}

/// How the server-to-client direction ended, as the log tells it.
fn from_server(out: Relayed) -> DataEnd {
    match out {
        Relayed::SenderTimeout => DataEnd::ServerTimeout,
        Relayed::ReceiverGone => DataEnd::ClientAborted,
        Relayed::ReceiverTimeout => DataEnd::ClientTimeout,
        Relayed::Done => DataEnd::Complete,
        Relayed::SenderClosed | Relayed::Malformed => DataEnd::ServerAborted,
    }
}
