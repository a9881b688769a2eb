//! A connected stream socket, TCP or unix (`bind /path`, `server s
//! /path`): what client and server connections are made of, read and
//! written alike whichever it is.

use crate::delegate::{delegate_read, delegate_write};
use haven_core::config::haproxy::UnixAddr;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::{tcp, unix, TcpStream, UnixStream};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Over TCP.
    Tcp(TcpStream),
    /// Over a unix socket.
    Unix(UnixStream),
}

/// Where a connection to a server goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Peer {
    /// An IP address and port.
    Inet(SocketAddr),
    /// A unix socket.
    Unix(Arc<UnixAddr>),
}

impl Peer {
    /// The IP address and port; a unix socket has none (unspecified).
    pub(crate) fn inet(&self) -> SocketAddr {
        match self {
            Self::Inet(addr) => *addr,
            Self::Unix(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        }
    }
}

/// The reading half of a [`Stream`].
pub(crate) enum StreamRead<'a> {
    /// Of a TCP connection.
    Tcp(tcp::ReadHalf<'a>),
    /// Of a unix one.
    Unix(unix::ReadHalf<'a>),
}

/// The writing half of a [`Stream`].
pub(crate) enum StreamWrite<'a> {
    /// Of a TCP connection.
    Tcp(tcp::WriteHalf<'a>),
    /// Of a unix one.
    Unix(unix::WriteHalf<'a>),
}

impl Stream {
    /// A connection to the unix socket `to`.
    pub(crate) async fn connect_unix(to: &UnixAddr) -> io::Result<Self> {
        let stream = match to {
            UnixAddr::Path(path) => UnixStream::connect(path).await?,
            UnixAddr::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                // A unix connect is done or refused at once.
                let stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
                stream.set_nonblocking(true)?;
                UnixStream::from_std(stream)?
            }
        };
        Ok(Self::Unix(stream))
    }

    /// The TCP connection, when it is one.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Self::Tcp(s) => Some(s),
            Self::Unix(_) => None,
        }
    }

    /// Its local address; a unix socket has no IP address.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp()?.local_addr().ok()
    }

    /// Sends small writes at once (TCP_NODELAY); nothing to do for a
    /// unix socket.
    pub(crate) fn set_nodelay(&self) {
        if let Some(s) = self.tcp() {
            let _ = s.set_nodelay(true);
        }
    }

    /// Both halves, borrowed.
    pub(crate) fn split(&mut self) -> (StreamRead<'_>, StreamWrite<'_>) {
        match self {
            Self::Tcp(s) => {
                let (r, w) = s.split();
                (StreamRead::Tcp(r), StreamWrite::Tcp(w))
            }
            Self::Unix(s) => {
                let (r, w) = s.split();
                (StreamRead::Unix(r), StreamWrite::Unix(w))
            }
        }
    }

    /// Reads what has come into `buf`, leaving it to be read again.
    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.peek(buf).await,
            Self::Unix(s) => loop {
                s.readable().await?;
                let peeked = s.try_io(Interest::READABLE, || {
                    let flags = nix::sys::socket::MsgFlags::MSG_PEEK;
                    nix::sys::socket::recv(s.as_raw_fd(), buf, flags).map_err(io::Error::from)
                });
                match peeked {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    done => return done,
                }
            },
        }
    }

    /// Ready once a read would find something.
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }

    /// The same connection, watched by the event loop of the calling
    /// thread's runtime.
    pub(crate) fn watched_here(self) -> io::Result<Self> {
        Ok(match self {
            Self::Tcp(s) => Self::Tcp(TcpStream::from_std(s.into_std()?)?),
            Self::Unix(s) => Self::Unix(UnixStream::from_std(s.into_std()?)?),
        })
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Unix(s) => s.as_fd(),
        }
    }
}

delegate_read!(Stream; Tcp, Unix);
delegate_write!(Stream; Tcp, Unix);
delegate_read!(StreamRead<'_>; Tcp, Unix);
delegate_write!(StreamWrite<'_>; Tcp, Unix);

impl crate::splice::Plain for StreamRead<'_> {
    fn plain(&self) -> Option<&TcpStream> {
        match self {
            Self::Tcp(r) => Some(r.as_ref()),
            Self::Unix(_) => None,
        }
    }
}

impl crate::splice::Plain for StreamWrite<'_> {
    fn plain(&self) -> Option<&TcpStream> {
        match self {
            Self::Tcp(w) => Some(w.as_ref()),
            Self::Unix(_) => None,
        }
    }
}
