//! A client connection's bytes, clear or under TLS: what the HTTP front
//! side needs of either.

use crate::splice::Plain;
use crate::stream::{Stream, StreamRead, StreamWrite};
use crate::wire::{Manner, Streamed};
use haven_core::http1::ResponseHead;
use std::future::Future;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio_rustls::server::TlsStream;

/// A client connection: read and written as a stream, split in two
/// halves moved at once (a body up while an answer comes down), waited
/// on without a buffer while idle.
pub(crate) trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send {
    /// The reading half.
    type Reader<'a>: AsyncRead + Plain + Unpin + Send
    where
        Self: 'a;
    /// The writing half.
    type Writer<'a>: AsyncWrite + Plain + Unpin + Send
    where
        Self: 'a;

    /// Both halves, borrowed.
    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>);

    /// Ready once a read would find something (bytes, the end, an
    /// error); it may wake early. Polled, not a future: an idle
    /// connection's wait for its next request keeps no waiter of its own
    /// (the socket's reader slot holds the waker).
    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>;

    /// The address the client connected to.
    fn local_addr(&self) -> Option<SocketAddr>;

    /// Makes the connection end without a word to the client
    /// (`silent-drop`). An HTTP/2 stream cannot: it is reset, and its
    /// connection serves the others.
    fn silence(&self) {}

    /// Learns the answer about to be written: `head`, for a request made
    /// in `manner`, as `streamed` renders it. A stream that sends heads
    /// as frames of its own (HTTP/2) sends it from here and skips its
    /// bytes when they come, rather than read them again.
    fn announce(&mut self, _head: &ResponseHead, _manner: Manner, _streamed: &Streamed) {}

    /// Ends the connection as its protocol wants it ended, before it is
    /// dropped (nothing to do for plain TCP).
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Makes closing `socket` send the client nothing, as haproxy's
/// `silent-drop` does: in TCP repair mode (CAP_NET_ADMIN) the kernel
/// forgets the connection without a packet; else its hop limit drops to
/// 1, so the reset dies at the first router (on a local network it still
/// arrives). Lingering is off either way: no FIN, pending data dropped.
pub(crate) fn silence(socket: &Stream) {
    use nix::sys::socket::{setsockopt, sockopt::TcpRepair};
    // A unix socket's peer is on this host: there is no hiding the end.
    let Some(socket) = socket.tcp() else { return };
    let sock = socket2::SockRef::from(socket);
    let _ = sock.set_linger(Some(Duration::ZERO));
    if setsockopt(socket, TcpRepair, &1).is_ok() {
        return;
    }
    let _ = match socket.peer_addr() {
        Ok(SocketAddr::V6(_)) => sock.set_unicast_hops_v6(1),
        _ => sock.set_ttl_v4(1),
    };
}

/// How long a TLS connection's close_notify may take to go.
const CLOSE_NOTIFY_WAIT: Duration = Duration::from_secs(1);

impl ClientIo for Stream {
    type Reader<'a> = StreamRead<'a>;
    type Writer<'a> = StreamWrite<'a>;

    fn halves(&mut self) -> (StreamRead<'_>, StreamWrite<'_>) {
        self.split()
    }

    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_read_ready(cx)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        Self::local_addr(self)
    }

    fn silence(&self) {
        silence(self);
    }
}

impl ClientIo for TlsStream<Stream> {
    type Reader<'a> = ReadHalf<&'a mut Self>;
    type Writer<'a> = WriteHalf<&'a mut Self>;

    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>) {
        tokio::io::split(self)
    }

    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let (tcp, tls) = self.get_mut();
        // Records already read may hold plaintext the socket will not
        // announce again.
        let buffered = tls
            .process_new_packets()
            .map(|state| state.plaintext_bytes_to_read() > 0)
            .unwrap_or(true);
        if buffered {
            return Poll::Ready(Ok(()));
        }
        tcp.poll_read_ready(cx)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.get_ref().0.local_addr()
    }

    fn silence(&self) {
        silence(self.get_ref().0);
    }

    /// Sends close_notify, as haproxy does: a client that sees the
    /// connection end without it (OpenSSL's "unexpected eof") does not
    /// resume the session.
    async fn close(&mut self) {
        let _ = tokio::time::timeout(CLOSE_NOTIFY_WAIT, self.shutdown()).await;
    }
}
