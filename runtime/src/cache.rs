//! The driver's side of haproxy's cache: core decides what is kept and
//! what answers; here a kept response's body is copied as it streams to
//! the client ([`Kept`], [`Tee`]), and a cached answer is streamed from
//! memory through the same delivery as a server's.

use bytes::Bytes;
use haven_core::http1::ChunkedDecoder;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The copy of a response body a cache will keep, taken as it goes by:
/// its data only (chunks are decoded), given up past `limit` bytes.
#[derive(Debug)]
pub(crate) struct Kept {
    decoder: Option<ChunkedDecoder>,
    data: Vec<u8>,
    limit: usize,
    spoilt: bool,
}

impl Kept {
    /// A copy of a body sent `chunked` or not, of at most `limit` bytes.
    pub(crate) fn new(chunked: bool, limit: u64) -> Self {
        Self {
            decoder: chunked.then(ChunkedDecoder::default),
            data: Vec::new(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            spoilt: false,
        }
    }

    /// Takes in `bytes` of the body as framed.
    pub(crate) fn take(&mut self, bytes: &[u8]) {
        if self.spoilt {
            return;
        }
        let fine = match &mut self.decoder {
            Some(d) => d.feed(bytes, &mut self.data).is_ok(),
            None => {
                self.data.extend_from_slice(bytes);
                true
            }
        };
        if !fine || self.data.len() > self.limit {
            self.spoilt = true;
            self.data = Vec::new();
        }
    }

    /// The whole copy, unless it went over its limit or broke.
    pub(crate) fn finish(self) -> Option<Vec<u8>> {
        (!self.spoilt).then_some(self.data)
    }
}

/// A writer that passes everything on to `to` and keeps what it took.
pub(crate) struct Tee<'a, W> {
    pub(crate) to: &'a mut W,
    pub(crate) kept: &'a mut Kept,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Tee<'_, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut *this.to).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = written {
            this.kept.take(&data[..n]);
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
    use tokio::io::AsyncReadExt;

    #[test]
    fn a_chunked_copy_keeps_the_data_alone() {
        let mut kept = Kept::new(true, 100);
        kept.take(b"5\r\nhel");
        kept.take(b"lo\r\n0\r\n\r\n");
        assert_eq!(kept.finish().as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn a_copy_past_its_limit_is_given_up() {
        let mut kept = Kept::new(false, 4);
        kept.take(b"hello");
        assert_eq!(kept.finish(), None);
    }

    #[tokio::test]
    async fn a_stored_body_reads_back_as_one_chunk() {
        let mut wire = Vec::new();
        let mut stored = Stored::new(Bytes::from_static(b"hello world"), true);
        stored.read_to_end(&mut wire).await.expect("read");
        assert_eq!(wire, b"B\r\nhello world\r\n0\r\n\r\n");
    }
}
