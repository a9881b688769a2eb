//! Bodies on the move: a message's body goes from one socket to the other
//! through one bounded buffer (haproxy's `tune.bufsize`), framed as it
//! was sent, so memory per stream never grows with the body and a slow
//! reader slows the writer down.

use bytes::{Buf, BytesMut};
use haven_core::http1::{BodyFraming, ChunkedDecoder, ResponseFraming};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

/// haproxy's default `tune.bufsize`: the most a stream holds of a body
/// in one direction.
pub(crate) const BUFSIZE: usize = 16_384;

/// haproxy's default `tune.maxrewrite`: the part of the buffer kept for
/// header rewrites, so a request is kept whole for a resend only while it
/// fits in the rest.
pub(crate) const MAXREWRITE: usize = 1_024;

/// How far a body forwarded as sent has come.
#[derive(Debug, Clone)]
pub(crate) enum Cursor {
    /// This many bytes are left.
    Length(u64),
    /// Chunked: the encoding is followed to find its end (trailers
    /// included); the bytes go on as they came.
    Chunked(ChunkedDecoder),
    /// Until the sender closes.
    UntilClose,
}

/// Why a body is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

impl Cursor {
    /// The cursor of a request body framed as `framing`.
    pub(crate) fn request(framing: BodyFraming) -> Self {
        match framing {
            BodyFraming::Empty => Self::Length(0),
            BodyFraming::Length(n) => Self::Length(n),
            BodyFraming::Chunked => Self::Chunked(ChunkedDecoder::default()),
        }
    }

    /// The cursor of a response body framed as `framing`.
    pub(crate) fn response(framing: ResponseFraming) -> Self {
        match framing {
            ResponseFraming::Empty => Self::Length(0),
            ResponseFraming::Length(n) => Self::Length(n),
            ResponseFraming::Chunked => Self::Chunked(ChunkedDecoder::default()),
            ResponseFraming::UntilClose => Self::UntilClose,
        }
    }

    /// True once the whole body went by.
    pub(crate) fn is_done(&self) -> bool {
        match self {
            Self::Length(n) => *n == 0,
            Self::Chunked(d) => d.is_done(),
            Self::UntilClose => false,
        }
    }

    /// How many bytes at the start of `input` belong to the body; the
    /// cursor moves past them.
    pub(crate) fn take(&mut self, input: &[u8]) -> Result<usize, Malformed> {
        match self {
            Self::Length(n) => {
                let take = usize::try_from(*n).map_or(input.len(), |n| n.min(input.len()));
                *n -= take as u64;
                Ok(take)
            }
            Self::Chunked(d) => d.scan(input).map_err(|_| Malformed),
            Self::UntilClose => Ok(input.len()),
        }
    }
}

/// How a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relayed {
    /// The whole body went through.
    Done,
    /// The sender closed or broke its connection before the end.
    SenderClosed,
    /// The sender was quiet longer than its timeout.
    SenderTimeout,
    /// The receiver is gone (a write failed).
    ReceiverGone,
    /// The receiver took nothing for longer than its timeout.
    ReceiverTimeout,
    /// The sender's framing is broken.
    Malformed,
}

/// Idle timeouts of a relay: how long the sender may stay quiet and the
/// receiver may take nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Idle {
    pub(crate) read: Option<Duration>,
    pub(crate) write: Option<Duration>,
}

/// Moves the body `cursor` follows from `from` to `to`: first what `buf`
/// already holds, then what `from` sends, at most [`BUFSIZE`] at a time.
/// `moved` counts the bytes written. Bytes past the body's end stay in
/// `buf` (the next pipelined request). Cancel-safe: `buf`, `cursor` and
/// `moved` follow every write, so a relay dropped mid-way (an early
/// answer wins a `select!`) resumes where it stopped.
pub(crate) async fn relay<R, W>(
    from: &mut R,
    buf: &mut BytesMut,
    to: &mut W,
    cursor: &mut Cursor,
    idle: Idle,
    moved: &mut u64,
) -> Relayed
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    loop {
        if !buf.is_empty() {
            let mut ahead = cursor.clone();
            let Ok(mut left) = ahead.take(buf) else {
                return Relayed::Malformed;
            };
            while left > 0 {
                let n = match write_some(to, &buf[..left], idle.write).await {
                    Ok(n) => n,
                    Err(end) => return end,
                };
                if n == left {
                    *cursor = ahead.clone();
                } else if cursor.take(&buf[..n]).is_err() {
                    return Relayed::Malformed;
                }
                buf.advance(n);
                *moved += n as u64;
                left -= n;
            }
        }
        if cursor.is_done() {
            return Relayed::Done;
        }
        if let Some(end) = refill(from, buf, idle, matches!(cursor, Cursor::UntilClose)).await {
            return end;
        }
    }
}

/// Reads more of a body into `buf`; `Some` when the relay ends there: the
/// sender closed (the body's end when it is `until_close`), went quiet or
/// broke.
async fn refill<R: AsyncRead + Unpin + ?Sized>(
    from: &mut R,
    buf: &mut BytesMut,
    idle: Idle,
    until_close: bool,
) -> Option<Relayed> {
    match read(from, buf, idle.read).await {
        Ok(true) => None,
        Ok(false) if until_close => Some(Relayed::Done),
        Ok(false) => Some(Relayed::SenderClosed),
        Err(end) => Some(end),
    }
}

/// Reads at most [`BUFSIZE`] more into `buf` within `idle`; false at the
/// end of the stream.
pub(crate) async fn read<R: AsyncRead + Unpin + ?Sized>(
    from: &mut R,
    buf: &mut BytesMut,
    idle: Option<Duration>,
) -> Result<bool, Relayed> {
    if buf.capacity() == buf.len() {
        buf.reserve(BUFSIZE.saturating_sub(buf.len()).max(1024));
    }
    let room = BUFSIZE.saturating_sub(buf.len()).max(1);
    let mut limited = from.take(room as u64);
    let read = limited.read_buf(buf);
    let n = match idle {
        Some(t) => timeout(t, read).await.map_err(|_| Relayed::SenderTimeout)?,
        None => read.await,
    };
    match n {
        Ok(n) => Ok(n > 0),
        Err(_) => Err(Relayed::SenderClosed),
    }
}

/// Writes `bytes` whole, each wait for room within `idle`.
pub(crate) async fn write<W: AsyncWrite + Unpin + ?Sized>(
    to: &mut W,
    bytes: &[u8],
    idle: Option<Duration>,
) -> Result<(), Relayed> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = write_some(to, rest, idle).await?;
        rest = &rest[n..];
    }
    Ok(())
}

/// Writes some of `bytes` (not empty), waiting for room within `idle`:
/// how many went out. Cancel-safe: nothing is written unless it returns.
async fn write_some<W: AsyncWrite + Unpin + ?Sized>(
    to: &mut W,
    bytes: &[u8],
    idle: Option<Duration>,
) -> Result<usize, Relayed> {
    // A socket with room takes the bytes at once: no timer (nor clock
    // read) for that first try.
    let at_once = std::future::poll_fn(|cx| match Pin::new(&mut *to).poll_write(cx, bytes) {
        Poll::Pending => Poll::Ready(None),
        Poll::Ready(written) => Poll::Ready(Some(written)),
    })
    .await;
    let n = match (at_once, idle) {
        (Some(n), _) => n,
        (None, Some(t)) => timeout(t, to.write(bytes))
            .await
            .map_err(|_| Relayed::ReceiverTimeout)?,
        (None, None) => to.write(bytes).await,
    };
    match n {
        Ok(0) | Err(_) => Err(Relayed::ReceiverGone),
        Ok(n) => Ok(n),
    }
}

/// Moves a chunked body from `from` to `to` without its chunking, for a
/// client that cannot read chunks (HTTP/1.0): the receiver learns the end
/// from the connection closing.
pub(crate) async fn relay_dechunked<R, W>(
    from: &mut R,
    buf: &mut BytesMut,
    to: &mut W,
    idle: Idle,
    moved: &mut u64,
) -> Relayed
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut decoder = ChunkedDecoder::default();
    let mut data = Vec::with_capacity(BUFSIZE);
    loop {
        if !buf.is_empty() {
            data.clear();
            let Ok(n) = decoder.feed(buf, &mut data) else {
                return Relayed::Malformed;
            };
            buf.advance(n);
            if let Err(end) = write(to, &data, idle.write).await {
                return end;
            }
            *moved += data.len() as u64;
        }
        if decoder.is_done() {
            return Relayed::Done;
        }
        if let Some(end) = refill(from, buf, idle, false).await {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    /// [`relay`] with no timeouts.
    fn untimed<'a, R, W>(
        from: &'a mut R,
        buf: &'a mut BytesMut,
        to: &'a mut W,
        cursor: &'a mut Cursor,
        moved: &'a mut u64,
    ) -> impl Future<Output = Relayed> + 'a
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        relay(from, buf, to, cursor, Idle::default(), moved)
    }

    #[test]
    fn a_length_cursor_stops_at_the_end_of_the_body() {
        let mut c = Cursor::request(BodyFraming::Length(5));
        assert_eq!(c.take(b"abc"), Ok(3));
        assert!(!c.is_done());
        assert_eq!(c.take(b"deGET /"), Ok(2));
        assert!(c.is_done());
    }

    #[test]
    fn a_chunked_cursor_keeps_the_trailers_in_the_body() {
        let mut c = Cursor::response(ResponseFraming::Chunked);
        let wire = b"3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
        assert_eq!(c.take(wire), Ok(wire.len() - 4));
        assert!(c.is_done());
        let mut bad = Cursor::request(BodyFraming::Chunked);
        assert_eq!(bad.take(b"zz\r\n"), Err(Malformed));
    }

    #[tokio::test]
    async fn a_relay_moves_the_body_and_leaves_the_next_message() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let mut buf = BytesMut::from(&b"hello"[..]);
        let mut cursor = Cursor::request(BodyFraming::Length(8));
        let sender = tokio::spawn(async move {
            a.write_all(b" yo").await.expect("write");
            a.write_all(b"NEXT").await.expect("write");
            a
        });
        let mut out = Vec::new();
        let mut moved = 0;
        let mut from = tokio::io::empty();
        // What `buf` holds first, then the sender's bytes.
        let first = untimed(&mut from, &mut buf, &mut out, &mut cursor, &mut moved).await;
        assert_eq!((first, moved), (Relayed::SenderClosed, 5));
        let mut a = sender.await.expect("sender");
        drop(a.shutdown().await);
        let end = untimed(&mut b, &mut buf, &mut out, &mut cursor, &mut moved).await;
        assert_eq!(end, Relayed::Done);
        assert_eq!(out, b"hello yo");
        assert_eq!(&buf[..], b"NEXT");
        assert_eq!(moved, 8);
    }

    // Input: a relay whose receiver takes 4 of 10 bytes, then no more,
    // dropped there (as an early answer winning a `select!` drops it).
    // Output: run again, it sends the other 6 bytes, each byte once.
    #[tokio::test]
    async fn a_relay_dropped_mid_write_resumes_where_it_stopped() {
        let (mut to, mut receiver) = tokio::io::duplex(4);
        let mut buf = BytesMut::from(&b"abcdefghij"[..]);
        let mut cursor = Cursor::request(BodyFraming::Length(10));
        let mut moved = 0;
        let mut from = tokio::io::empty();
        {
            let relay = untimed(&mut from, &mut buf, &mut to, &mut cursor, &mut moved);
            tokio::select! {
                biased;
                _ = relay => panic!("the receiver holds only 4 bytes"),
                () = std::future::ready(()) => {}
            }
        }
        assert_eq!(moved, 4);
        let mut got = vec![0; 10];
        let resumed = untimed(&mut from, &mut buf, &mut to, &mut cursor, &mut moved);
        let (end, read) = tokio::join!(resumed, receiver.read_exact(&mut got));
        assert_eq!((end, moved), (Relayed::Done, 10));
        assert_eq!(read.expect("read"), 10);
        assert_eq!(&got, b"abcdefghij");
    }

    #[tokio::test]
    async fn a_dechunked_relay_writes_only_the_data() {
        let mut from = &b"4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"[..];
        let mut out = Vec::new();
        let mut moved = 0;
        let mut buf = BytesMut::new();
        let end = relay_dechunked(&mut from, &mut buf, &mut out, Idle::default(), &mut moved).await;
        assert_eq!(
            (end, out.as_slice(), moved),
            (Relayed::Done, &b"abcdef"[..], 6)
        );
    }
}
