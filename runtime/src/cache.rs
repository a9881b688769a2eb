//! The driver's side of haproxy's cache: core decides what is kept and
//! what answers; here a kept response's body is copied as it streams to
//! the client ([`Kept`], [`Tee`]), and a cached answer is streamed from
//! memory through the same delivery as a server's.
//!
//! As haproxy's, the object is complete before the client has the end of
//! the answer: the copy reaches core as soon as its last byte is taken,
//! and the tee takes bytes before it passes them on. A client that asks
//! again once answered finds it, whichever thread serves it.

use bytes::Bytes;
use haven_core::http1::{ChunkedDecoder, ResponseFraming};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where a copy goes once whole (`None`: it will not be).
pub(crate) type Filler = Box<dyn FnOnce(Option<Arc<[u8]>>) + Send>;

/// The copy of a response body a cache will keep, taken as it goes by:
/// its data only (chunks are decoded), given up past `limit` bytes,
/// sent on (to core, as `Event::CacheFill`) the moment it is whole.
pub(crate) struct Kept {
    decoder: Option<ChunkedDecoder>,
    /// The body's length, when the head gave one.
    length: Option<u64>,
    data: Vec<u8>,
    limit: usize,
    spoilt: bool,
    /// Where the copy goes; `None` once it went.
    to: Option<Filler>,
}

impl Kept {
    /// A copy of at most `limit` bytes of a body framed as `framing`,
    /// for `to`.
    pub(crate) fn new(framing: ResponseFraming, limit: u64, to: Filler) -> Self {
        Self {
            decoder: (framing == ResponseFraming::Chunked).then(ChunkedDecoder::default),
            length: match framing {
                ResponseFraming::Length(n) => Some(n),
                ResponseFraming::Empty => Some(0),
                _ => None,
            },
            data: Vec::new(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            spoilt: false,
            to: Some(to),
        }
    }

    /// Takes in `bytes` of the body as framed; the copy goes on once the
    /// body is whole.
    pub(crate) fn take(&mut self, bytes: &[u8]) {
        let limit = self.limit;
        if self.spoilt || self.to.is_none() {
            return;
        }
        let (fine, whole) = match &mut self.decoder {
            Some(d) => (d.feed(bytes, &mut self.data).is_ok(), d.is_done()),
            None => {
                self.data.extend_from_slice(bytes);
                (true, self.length == Some(self.data.len() as u64))
            }
        };
        if !fine || self.data.len() > limit {
            self.spoilt = true;
            self.data = Vec::new();
        } else if whole {
            self.send(true);
        }
    }

    /// The relay ended (`whole`: the answer went out whole): a body that
    /// ends with the connection (or an empty one) is complete now; one
    /// cut short is not.
    pub(crate) fn end(mut self, whole: bool) {
        let done = match (self.length, &self.decoder) {
            (Some(n), _) => n == self.data.len() as u64,
            (None, Some(d)) => d.is_done(),
            (None, None) => true,
        };
        self.send(whole && done);
    }

    /// Sends the copy (`complete`), or its absence, once.
    fn send(&mut self, complete: bool) {
        if let Some(to) = self.to.take() {
            let data = std::mem::take(&mut self.data);
            to((complete && !self.spoilt).then(|| Arc::from(data)));
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.send(false);
    }
}

/// A writer that passes everything on to `to` and keeps a copy, taken
/// before the bytes go (so the copy is whole before the receiver has the
/// last byte). A write `to` takes in part is retried from its first byte
/// not taken, as every relay does: `ahead` bytes at its start were copied
/// already.
pub(crate) struct Tee<'a, W> {
    pub(crate) to: &'a mut W,
    pub(crate) kept: &'a mut Kept,
    pub(crate) ahead: usize,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Tee<'_, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if data.len() > this.ahead {
            this.kept.take(&data[this.ahead..]);
            this.ahead = data.len();
        }
        let written = Pin::new(&mut *this.to).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = written {
            this.ahead -= n.min(this.ahead);
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().to).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().to).poll_shutdown(cx)
    }
}

impl<W> crate::splice::Plain for Tee<'_, W> {
    fn plain(&self) -> Option<&tokio::net::TcpStream> {
        None
    }
}

/// A cached body read back as a server would send it: as is, or as one
/// chunk and the last one.
pub(crate) struct Stored {
    parts: [Bytes; 3],
    at: usize,
}

impl Stored {
    /// `body`, framed as chunks when `chunked`.
    pub(crate) fn new(body: Bytes, chunked: bool) -> Self {
        let parts = match (chunked, body.is_empty()) {
            (false, _) => [body, Bytes::new(), Bytes::new()],
            (true, true) => [Bytes::from_static(b"0\r\n\r\n"), Bytes::new(), Bytes::new()],
            (true, false) => [
                Bytes::from(format!("{:X}\r\n", body.len())),
                body,
                Bytes::from_static(b"\r\n0\r\n\r\n"),
            ],
        };
        Self { parts, at: 0 }
    }
}

impl AsyncRead for Stored {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.at < this.parts.len() && this.parts[this.at].is_empty() {
            this.at += 1;
        }
        if let Some(part) = this.parts.get_mut(this.at) {
            let n = part.len().min(buf.remaining());
            buf.put_slice(&part.split_to(n));
        }
        Poll::Ready(Ok(()))
    }
}

impl crate::splice::Plain for Stored {
    fn plain(&self) -> Option<&tokio::net::TcpStream> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::AsyncReadExt;

    /// What a copy sent: `None` nothing yet, `Some(None)` that it will
    /// not come.
    type Sent = Arc<Mutex<Option<Option<Vec<u8>>>>>;

    /// A copy of at most `limit` bytes of a body framed `framing`, and
    /// what it sent.
    fn kept(framing: ResponseFraming, limit: u64) -> (Kept, Sent) {
        let sent = Arc::new(Mutex::new(None));
        let to = Arc::clone(&sent);
        let send: Filler = Box::new(move |body| {
            *to.lock().expect("lock") = Some(body.map(|b| b.to_vec()));
        });
        (Kept::new(framing, limit, send), sent)
    }

    #[test]
    fn a_chunked_copy_goes_with_its_last_chunk_and_holds_the_data_alone() {
        let (mut kept, sent) = kept(ResponseFraming::Chunked, 100);
        kept.take(b"5\r\nhel");
        assert_eq!(*sent.lock().expect("lock"), None, "not whole yet");
        kept.take(b"lo\r\n0\r\n\r\n");
        assert_eq!(*sent.lock().expect("lock"), Some(Some(b"hello".to_vec())));
    }

    #[test]
    fn a_copy_past_its_limit_or_cut_short_is_given_up() {
        let (mut big, sent) = kept(ResponseFraming::Length(5), 4);
        big.take(b"hello");
        big.end(true);
        assert_eq!(*sent.lock().expect("lock"), Some(None));
        let (mut short, sent) = kept(ResponseFraming::UntilClose, 100);
        short.take(b"hel");
        short.end(false);
        assert_eq!(*sent.lock().expect("lock"), Some(None));
    }

    #[tokio::test]
    async fn a_tee_copies_before_it_writes_and_once_across_partial_writes() {
        let (mut kept, sent) = kept(ResponseFraming::Length(10), 100);
        let (mut near, mut far) = tokio::io::duplex(4);
        let mut tee = Tee {
            to: &mut near,
            kept: &mut kept,
            ahead: 0,
        };
        let write = tokio::io::AsyncWriteExt::write_all(&mut tee, b"0123456789");
        let mut got = vec![0; 10];
        let read = far.read_exact(&mut got);
        let (written, read) = tokio::join!(write, read);
        written.expect("write");
        read.expect("read");
        assert_eq!(&got, b"0123456789");
        assert_eq!(
            *sent.lock().expect("lock"),
            Some(Some(b"0123456789".to_vec()))
        );
    }

    #[tokio::test]
    async fn a_stored_body_reads_back_as_one_chunk() {
        let mut wire = Vec::new();
        let mut stored = Stored::new(Bytes::from_static(b"hello world"), true);
        stored.read_to_end(&mut wire).await.expect("read");
        assert_eq!(wire, b"B\r\nhello world\r\n0\r\n\r\n");
    }
}
