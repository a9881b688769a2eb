//! Splicing (`option splice-request|splice-response|splice-auto`): a
//! body, or one way of a tunnel, goes from one TCP socket to the other
//! through a kernel pipe with `splice()`, never copied into haven. Only
//! clear TCP on both ends can; anything else (TLS, HTTP/2, no pipe left
//! within `maxpipes`) is copied through the buffer as before.

use crate::body::{self, Cursor, Idle, Relayed};
use bytes::{Buf, BytesMut};
use haven_core::config::haproxy::Splice;
use nix::fcntl::{splice, OFlag, SpliceFFlags};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadHalf, Sink, WriteHalf};
use tokio::net::tcp::{ReadHalf as TcpRead, WriteHalf as TcpWrite};
use tokio::net::TcpStream;

/// Most bytes one `splice()` takes in: a default pipe's capacity.
const CHUNK: usize = 65_536;

/// Every `splice()`: pages moved, never waiting on the pipe.
const FLAGS: SpliceFFlags = SpliceFFlags::SPLICE_F_MOVE.union(SpliceFFlags::SPLICE_F_NONBLOCK);

/// Empty pipes a thread keeps for its next transfers.
const KEPT_PER_THREAD: usize = 8;

thread_local! {
    /// This thread's empty pipes: read end, write end.
    static KEPT: RefCell<Vec<(OwnedFd, OwnedFd)>> = const { RefCell::new(Vec::new()) };
}

/// A half of a connection, and the clear TCP socket under it if it is
/// one (the only kind `splice()` moves).
pub(crate) trait Plain {
    /// The socket, when the half is clear TCP.
    fn plain(&self) -> Option<&TcpStream>;
}

impl Plain for TcpRead<'_> {
    fn plain(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }
}

impl Plain for TcpWrite<'_> {
    fn plain(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }
}

impl<T> Plain for ReadHalf<T> {
    fn plain(&self) -> Option<&TcpStream> {
        None
    }
}

impl<T> Plain for WriteHalf<T> {
    fn plain(&self) -> Option<&TcpStream> {
        None
    }
}

impl Plain for Sink {
    fn plain(&self) -> Option<&TcpStream> {
        None
    }
}

/// The process's pipes: how many may exist (`maxpipes`) and how many do.
#[derive(Debug)]
pub(crate) struct Pipes {
    max: usize,
    used: AtomicUsize,
}

impl Pipes {
    /// At most `max` pipes at once (`None`: as many as file descriptors
    /// allow).
    pub(crate) fn new(max: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            max: max.map_or(usize::MAX, |m| m as usize),
            used: AtomicUsize::new(0),
        })
    }

    /// A pipe, or `None` when `maxpipes` are in use or the system has no
    /// more to give (the transfer is then copied).
    pub(crate) fn take(self: &Arc<Self>) -> Option<Pipe> {
        let reserved = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        if !reserved {
            return None;
        }
        let kept = KEPT.with(|k| k.borrow_mut().pop());
        let ends = kept.or_else(|| nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).ok());
        let Some((read, write)) = ends else {
            self.used.fetch_sub(1, Ordering::AcqRel);
            return None;
        };
        Some(Pipe {
            ends: Some((read, write)),
            pending: 0,
            owner: Arc::clone(self),
        })
    }

    /// Pipes in use now.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// A kernel pipe between two sockets, and how many bytes wait in it: a
/// transfer dropped half-way keeps them here for the next one. Kept for
/// the thread's next transfer when dropped empty.
#[derive(Debug)]
pub(crate) struct Pipe {
    /// Read end, write end (taken only when dropped).
    ends: Option<(OwnedFd, OwnedFd)>,
    pending: usize,
    owner: Arc<Pipes>,
}

impl Pipe {
    fn ends(&self) -> &(OwnedFd, OwnedFd) {
        self.ends
            .as_ref()
            .expect("a pipe has its ends until dropped")
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.owner.used.fetch_sub(1, Ordering::AcqRel);
        let Some(ends) = self.ends.take().filter(|_| self.pending == 0) else {
            return;
        };
        KEPT.with(|k| {
            let mut kept = k.borrow_mut();
            if kept.len() < KEPT_PER_THREAD {
                kept.push(ends);
            }
        });
    }
}

/// Moves what `cursor` follows from `from` to `to` as [`body::relay`]
/// does (what `buf` holds first), through `pipe` when there is one and
/// both halves are clear TCP; `spliced` counts the bytes that went
/// through the pipe. Cancel-safe as `body::relay`: bytes in the pipe wait
/// there for the next call.
pub(crate) async fn relay<R, W>(
    (from, buf): (&mut R, &mut BytesMut),
    to: &mut W,
    pipe: Option<&mut Pipe>,
    cursor: &mut Cursor,
    idle: Idle,
    (moved, spliced): (&mut u64, &mut u64),
) -> Relayed
where
    R: AsyncRead + Plain + Unpin + ?Sized,
    W: AsyncWrite + Plain + Unpin + ?Sized,
{
    if let (Some(pipe), Some(source), Some(sink)) = (pipe, from.plain(), to.plain()) {
        let ends = Ends { source, sink, idle };
        return ends.relay(buf, pipe, cursor, (moved, spliced)).await;
    }
    body::relay(from, buf, to, cursor, idle, moved).await
}

/// The two sockets of a spliced transfer.
struct Ends<'a> {
    source: &'a TcpStream,
    sink: &'a TcpStream,
    idle: Idle,
}

impl Ends<'_> {
    async fn relay(
        &self,
        buf: &mut BytesMut,
        pipe: &mut Pipe,
        cursor: &mut Cursor,
        (moved, spliced): (&mut u64, &mut u64),
    ) -> Relayed {
        // What a dropped call left in the pipe came after `buf`'s bytes.
        if let Err(end) = self.flush(pipe, moved, spliced).await {
            return end;
        }
        if let Err(end) = self.write_buffered(buf, cursor, moved).await {
            return end;
        }
        loop {
            let want = match cursor {
                Cursor::Length(0) => return Relayed::Done,
                Cursor::Length(n) => usize::try_from(*n).map_or(CHUNK, |n| n.min(CHUNK)),
                Cursor::UntilClose => CHUNK,
                // Chunks are followed in user space, never spliced.
                Cursor::Chunked(_) => return Relayed::Malformed,
            };
            let fill = || {
                splice(self.source, None, &pipe.ends().1, None, want, FLAGS)
                    .map_err(io::Error::from)
            };
            let read = once_ready(self.source, Interest::READABLE, fill);
            match within(self.idle.read, Relayed::SenderTimeout, read).await {
                Ok(Ok(0)) if matches!(cursor, Cursor::UntilClose) => return Relayed::Done,
                Ok(Ok(0)) | Ok(Err(_)) => return Relayed::SenderClosed,
                Ok(Ok(n)) => {
                    if let Cursor::Length(left) = cursor {
                        *left -= n as u64;
                    }
                    pipe.pending += n;
                }
                Err(end) => return end,
            }
            if let Err(end) = self.flush(pipe, moved, spliced).await {
                return end;
            }
        }
    }

    /// Empties `pipe` into the sink.
    async fn flush(
        &self,
        pipe: &mut Pipe,
        moved: &mut u64,
        spliced: &mut u64,
    ) -> Result<(), Relayed> {
        while pipe.pending > 0 {
            let drain = || {
                splice(&pipe.ends().0, None, self.sink, None, pipe.pending, FLAGS)
                    .map_err(io::Error::from)
            };
            let wrote = once_ready(self.sink, Interest::WRITABLE, drain);
            match within(self.idle.write, Relayed::ReceiverTimeout, wrote).await? {
                Ok(0) | Err(_) => return Err(Relayed::ReceiverGone),
                Ok(n) => {
                    pipe.pending -= n;
                    *moved += n as u64;
                    *spliced += n as u64;
                }
            }
        }
        Ok(())
    }

    /// Writes the body bytes `buf` already holds (read with the head).
    async fn write_buffered(
        &self,
        buf: &mut BytesMut,
        cursor: &mut Cursor,
        moved: &mut u64,
    ) -> Result<(), Relayed> {
        let mut ahead = cursor.clone();
        let Ok(mut left) = ahead.take(buf) else {
            return Err(Relayed::Malformed);
        };
        while left > 0 {
            let send = || socket2::SockRef::from(self.sink).send(&buf[..left]);
            let write = once_ready(self.sink, Interest::WRITABLE, send);
            let n = match within(self.idle.write, Relayed::ReceiverTimeout, write).await? {
                Ok(0) | Err(_) => return Err(Relayed::ReceiverGone),
                Ok(n) => n,
            };
            if cursor.take(&buf[..n]).is_err() {
                return Err(Relayed::Malformed);
            }
            buf.advance(n);
            *moved += n as u64;
            left -= n;
        }
        Ok(())
    }
}

/// Runs `op` on `socket` once it is ready for `interest`, and again
/// after each `WouldBlock` (tokio then forgets the readiness it saw).
async fn once_ready<T>(
    socket: &TcpStream,
    interest: Interest,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        socket.ready(interest).await?;
        match socket.try_io(interest, &mut op) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// `work` within `limit` (none: as long as it takes), else `late`.
async fn within<T>(
    limit: Option<Duration>,
    late: Relayed,
    work: impl Future<Output = T>,
) -> Result<T, Relayed> {
    match limit {
        Some(t) => tokio::time::timeout(t, work).await.map_err(|_| late),
        None => Ok(work.await),
    }
}

/// True when `splice` asks to splice the rest of a body `cursor` follows,
/// sent by the client (`upward`) or the server: chunks never are.
pub(crate) fn wanted(splice: Splice, upward: bool, cursor: &Cursor) -> bool {
    let bufsize = body::BUFSIZE as u64;
    match cursor {
        Cursor::Length(n) => *n > 0 && splice.applies(upward, Some(*n), bufsize),
        Cursor::UntilClose => splice.applies(upward, None, bufsize),
        Cursor::Chunked(_) => false,
    }
}

/// A pipe for a transfer from `from` to `to` when it is `wanted` and both
/// are clear TCP (and `maxpipes` leaves one).
pub(crate) fn pipe_for(
    pipes: &Arc<Pipes>,
    wanted: bool,
    from: &impl Plain,
    to: &impl Plain,
) -> Option<Pipe> {
    let both = from.plain().is_some() && to.plain().is_some();
    (wanted && both).then(|| pipes.take()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A connected pair of loopback sockets.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.expect("connect"), b.expect("accept").0)
    }

    #[tokio::test]
    async fn a_length_is_spliced_after_the_buffered_bytes_and_stops_at_its_end() {
        let (mut client, mut from) = pair().await;
        let (mut to, mut server) = pair().await;
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = body.clone();
        let sender = tokio::spawn(async move {
            client.write_all(&sent[1000..]).await.expect("io");
            client.write_all(b"NEXT").await.expect("io");
            client
        });
        let pipes = Pipes::new(None);
        let mut pipe = pipes.take().expect("a pipe");
        let mut buf = BytesMut::from(&body[..1000]);
        let mut cursor = Cursor::Length(body.len() as u64);
        let (mut moved, mut spliced) = (0, 0);
        let (mut r, _) = from.split();
        let (_, mut w) = to.split();
        let out = relay(
            (&mut r, &mut buf),
            &mut w,
            Some(&mut pipe),
            &mut cursor,
            Idle::default(),
            (&mut moved, &mut spliced),
        )
        .await;
        assert_eq!(out, Relayed::Done);
        assert_eq!((moved, spliced), (300_000, 299_000));
        let mut got = vec![0; body.len()];
        server.read_exact(&mut got).await.expect("io");
        assert!(got == body, "the bytes arrive in order");
        let _client = sender.await.expect("io");
        let mut next = [0; 4];
        from.read_exact(&mut next).await.expect("io");
        assert_eq!(&next, b"NEXT", "what follows the body is left unread");
        assert_eq!(pipes.used(), 1);
        drop(pipe);
        assert_eq!(pipes.used(), 0);
    }

    #[tokio::test]
    async fn until_close_ends_at_the_senders_close_and_maxpipes_bounds_the_pipes() {
        let (mut client, mut from) = pair().await;
        let (mut to, mut server) = pair().await;
        tokio::spawn(async move {
            client.write_all(&[7; 100_000]).await.expect("io");
        });
        let pipes = Pipes::new(Some(1));
        let mut pipe = pipes.take().expect("a pipe");
        assert!(pipes.take().is_none(), "maxpipes 1");
        let (mut moved, mut spliced) = (0, 0);
        let (mut r, _) = from.split();
        let (_, mut w) = to.split();
        let out = relay(
            (&mut r, &mut BytesMut::new()),
            &mut w,
            Some(&mut pipe),
            &mut Cursor::UntilClose,
            Idle::default(),
            (&mut moved, &mut spliced),
        )
        .await;
        assert_eq!(out, Relayed::Done);
        assert_eq!(spliced, 100_000);
        w.shutdown().await.expect("io");
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.expect("io");
        assert_eq!(got.len(), 100_000);
    }
}
