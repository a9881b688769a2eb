//! A connection to a server, clear, under TLS, or one HTTP/2 stream of
//! one: read and written as one
//! stream, split in two halves moved at once, and asked whether it is
//! still quiet while it waits idle in a pool.

use crate::delegate::{delegate_read, delegate_write};
use crate::http2::H2Upstream;
use crate::splice::Plain;
use crate::stream::{Stream, StreamRead, StreamWrite};
use crate::tls::Counted;
use haven_core::sample::ServerTls;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use tokio::io::{AsyncRead, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A connection to a server.
#[derive(Debug)]
pub(crate) enum ServerIo {
    /// Clear text.
    Clear(Stream),
    /// TLS (`server ... ssl`); boxed, being large; counted while open;
    /// with what the certificate the server presented says.
    Tls(Box<TlsStream<Stream>>, Counted, Arc<ServerTls>),
    /// One stream of an HTTP/2 connection (`proto h2`, or ALPN `h2`),
    /// carrying one request.
    H2(Box<H2Upstream>),
}

/// The reading half of a [`ServerIo`].
pub(crate) enum ServerRead<'a> {
    /// Of a clear connection.
    Clear(StreamRead<'a>),
    /// Of a TLS one.
    Tls(ReadHalf<&'a mut TlsStream<Stream>>),
    /// Of an HTTP/2 stream.
    H2(ReadHalf<&'a mut H2Upstream>),
}

/// The writing half of a [`ServerIo`].
pub(crate) enum ServerWrite<'a> {
    /// Of a clear connection.
    Clear(StreamWrite<'a>),
    /// Of a TLS one.
    Tls(WriteHalf<&'a mut TlsStream<Stream>>),
    /// Of an HTTP/2 stream.
    H2(WriteHalf<&'a mut H2Upstream>),
}

impl ServerIo {
    /// A connection after its TLS handshake `shaken`.
    pub(crate) fn tls(shaken: TlsStream<Stream>) -> Self {
        let agreed = Arc::new(crate::tls::server_tls(shaken.get_ref().1));
        crate::tls::shaken(false, agreed.resumed);
        Self::Tls(Box::new(shaken), Counted::new(), agreed)
    }

    /// What the TLS connection agreed on, with what the certificate the
    /// server presented says (TLS only).
    pub(crate) fn tls_agreed(&self) -> Option<Arc<ServerTls>> {
        match self {
            Self::Tls(_, _, agreed) => Some(Arc::clone(agreed)),
            _ => None,
        }
    }

    /// The local end of the connection; `None` for an HTTP/2 stream.
    pub(crate) fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Self::Clear(s) => s.local_addr(),
            Self::Tls(s, ..) => s.get_ref().0.local_addr(),
            Self::H2(_) => None,
        }
    }

    /// Both halves, borrowed.
    pub(crate) fn halves(&mut self) -> (ServerRead<'_>, ServerWrite<'_>) {
        match self {
            Self::Clear(s) => {
                let (r, w) = s.split();
                (ServerRead::Clear(r), ServerWrite::Clear(w))
            }
            Self::Tls(s, ..) => {
                let (r, w) = tokio::io::split(&mut **s);
                (ServerRead::Tls(r), ServerWrite::Tls(w))
            }
            Self::H2(s) => {
                let (r, w) = tokio::io::split(&mut **s);
                (ServerRead::H2(r), ServerWrite::H2(w))
            }
        }
    }

    /// The server chose HTTP/2 by ALPN.
    pub(crate) fn chose_h2(&self) -> bool {
        matches!(self, Self::Tls(s, ..) if s.get_ref().1.alpn_protocol() == Some(b"h2"))
    }

    /// It carries one request (an HTTP/2 stream): never parked for
    /// another; its connection is shared instead.
    pub(crate) fn single_use(&self) -> bool {
        matches!(self, Self::H2(_))
    }

    /// The connection watched by the event loop of the calling thread's
    /// runtime (a clear one is moved there; TLS and HTTP/2 stay where
    /// they are, correct but woken through their first thread).
    pub(crate) fn watched_here(self) -> std::io::Result<Self> {
        match self {
            Self::Clear(s) => Ok(Self::Clear(s.watched_here()?)),
            other => Ok(other),
        }
    }

    /// Makes the connection close with a reset, as haproxy closes a
    /// server connection it no longer wants while the server still holds
    /// it open: no TIME-WAIT is left on the proxy's side to tie up a
    /// local port toward that server (an HTTP/2 stream leaves its
    /// connection alone).
    pub(crate) fn reset_on_close(&self) {
        match self {
            Self::Clear(s) => crate::outbound::no_linger(s),
            Self::Tls(s, ..) => crate::outbound::no_linger(s.get_ref().0),
            Self::H2(_) => {}
        }
    }

    /// An idle connection is open and quiet: reading it now would wait.
    /// (What a TLS server sends unasked, such as session tickets, is
    /// taken in on the way.)
    pub(crate) fn is_quiet(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        let mut probe = [0u8; 1];
        let mut buf = ReadBuf::new(&mut probe);
        Pin::new(self).poll_read(&mut cx, &mut buf).is_pending()
    }
}

delegate_read!(ServerIo; Clear, Tls, H2);
delegate_write!(ServerIo; Clear, Tls, H2);
delegate_read!(ServerRead<'_>; Clear, Tls, H2);
delegate_write!(ServerWrite<'_>; Clear, Tls, H2);

impl Plain for ServerRead<'_> {
    fn plain(&self) -> Option<&TcpStream> {
        match self {
            Self::Clear(r) => r.plain(),
            Self::Tls(_) | Self::H2(_) => None,
        }
    }
}

impl Plain for ServerWrite<'_> {
    fn plain(&self) -> Option<&TcpStream> {
        match self {
            Self::Clear(w) => w.plain(),
            Self::Tls(_) | Self::H2(_) => None,
        }
    }
}
