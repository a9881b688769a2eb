//! Compressed answers (`compression`): core chose the algorithm and
//! rewrote the head; here the body, however the server framed it, goes
//! through the encoder and out as chunks, each write flushed so a slow
//! stream still flows. Memory stays one buffer's worth each way.

use crate::body::{self, Cursor, Idle, Relayed};
use crate::cache::Kept;
use bytes::BytesMut;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression as Level;
use haven_core::config::haproxy::CompAlgo;
use haven_core::http1::ResponseFraming;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};

/// haproxy's default `tune.comp.maxlevel`: the fastest level.
const LEVEL: u32 = 1;

/// The encoder of one answer, writing into a buffer the chunks are cut
/// from.
enum Encoder {
    Identity(Vec<u8>),
    Zlib(ZlibEncoder<Vec<u8>>),
    Raw(DeflateEncoder<Vec<u8>>),
    Gzip(GzEncoder<Vec<u8>>),
}

impl Encoder {
    fn new(algo: CompAlgo) -> Self {
        let level = Level::new(LEVEL);
        match algo {
            CompAlgo::Identity => Self::Identity(Vec::new()),
            CompAlgo::Deflate => Self::Zlib(ZlibEncoder::new(Vec::new(), level)),
            CompAlgo::RawDeflate => Self::Raw(DeflateEncoder::new(Vec::new(), level)),
            CompAlgo::Gzip => Self::Gzip(GzEncoder::new(Vec::new(), level)),
        }
    }

    /// Takes `data` in and flushes: the encoded bytes so far.
    fn feed(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Self::Identity(out) => out.extend_from_slice(data),
            Self::Zlib(e) => e.write_all(data).and_then(|()| e.flush())?,
            Self::Raw(e) => e.write_all(data).and_then(|()| e.flush())?,
            Self::Gzip(e) => e.write_all(data).and_then(|()| e.flush())?,
        }
        Ok(std::mem::take(self.output()))
    }

    /// Ends the stream: its last bytes (a gzip trailer, for one).
    fn finish(&mut self) -> io::Result<Vec<u8>> {
        match self {
            Self::Identity(_) => {}
            Self::Zlib(e) => e.try_finish()?,
            Self::Raw(e) => e.try_finish()?,
            Self::Gzip(e) => e.try_finish()?,
        }
        Ok(std::mem::take(self.output()))
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Self::Identity(out) => out,
            Self::Zlib(e) => e.get_mut(),
            Self::Raw(e) => e.get_mut(),
            Self::Gzip(e) => e.get_mut(),
        }
    }
}

/// Bytes of a compressed answer: taken in, and encoded out (without the
/// chunks' framing).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Compressed {
    pub(crate) taken: u64,
    pub(crate) encoded: u64,
}

/// A writer that encodes what it is given and writes it on to `to` as
/// HTTP/1.1 chunks; `sent` counts every byte written to `to`.
struct Chunking<'a, W> {
    to: &'a mut W,
    encoder: Encoder,
    /// Framed bytes not yet taken by `to`, and how far it took them.
    pending: Vec<u8>,
    at: usize,
    /// Bytes out of the encoder, before framing.
    encoded: u64,
    sent: &'a mut u64,
    /// The copy a cache keeps of what goes in.
    kept: Option<&'a mut Kept>,
}

impl<W: AsyncWrite + Unpin> Chunking<'_, W> {
    /// Frames `encoded` as one chunk (none when empty) behind `pending`.
    fn frame(&mut self, encoded: &[u8]) {
        if encoded.is_empty() {
            return;
        }
        self.encoded += encoded.len() as u64;
        self.pending
            .extend_from_slice(format!("{:x}\r\n", encoded.len()).as_bytes());
        self.pending.extend_from_slice(encoded);
        self.pending.extend_from_slice(b"\r\n");
    }

    /// Writes `pending` on until it is all taken.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.at < self.pending.len() {
            match Pin::new(&mut *self.to).poll_write(cx, &self.pending[self.at..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.at += n;
                    *self.sent += n as u64;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.at = 0;
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Chunking<'_, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // What the last write encoded goes first: at most one buffer's
        // worth waits here.
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(kept) = this.kept.as_mut() {
            kept.take(data);
        }
        let encoded = this.encoder.feed(data)?;
        this.frame(&encoded);
        // Sent on when the socket has room; else by the next write.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut *this.to).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Relays the answer body `framing` delimits from `from` (what `read`
/// holds first) to `to`, encoded with `algo` and sent as chunks ending
/// with the last one, a copy of the data going to `kept` when a cache
/// keeps it; `sent` counts the bytes written to `to`. How it ended, and
/// what went through the encoder.
pub(crate) async fn relay<R, W>(
    (from, read): (&mut R, &mut BytesMut),
    (to, kept): (&mut W, Option<&mut Kept>),
    (algo, framing): (CompAlgo, ResponseFraming),
    idle: Idle,
    sent: &mut u64,
) -> (Relayed, Compressed)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut sink = Chunking {
        to,
        encoder: Encoder::new(algo),
        pending: Vec::new(),
        at: 0,
        encoded: 0,
        sent,
        kept,
    };
    let mut taken = 0;
    let out = match framing {
        ResponseFraming::Chunked => {
            body::relay_dechunked(from, read, &mut sink, idle, &mut taken).await
        }
        other => {
            let mut cursor = Cursor::response(other);
            body::relay(from, read, &mut sink, &mut cursor, idle, &mut taken).await
        }
    };
    let out = match out {
        Relayed::Done => finish(&mut sink, idle).await,
        other => other,
    };
    (
        out,
        Compressed {
            taken,
            encoded: sink.encoded,
        },
    )
}

/// Ends the encoded stream: what is still pending, the encoder's last
/// bytes and the last chunk, written within `idle`.
async fn finish<W: AsyncWrite + Unpin>(sink: &mut Chunking<'_, W>, idle: Idle) -> Relayed {
    let Ok(last) = sink.encoder.finish() else {
        return Relayed::Malformed;
    };
    sink.frame(&last);
    sink.pending.extend_from_slice(b"0\r\n\r\n");
    let tail = sink.pending.split_off(sink.at);
    match body::write(sink.to, &tail, idle.write).await {
        Ok(()) => {
            *sink.sent += tail.len() as u64;
            Relayed::Done
        }
        Err(end) => end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    /// The data of a chunked body, by the relay that de-chunks for
    /// HTTP/1.0 clients.
    async fn dechunk(wire: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        let (mut from, mut moved) = (wire, 0);
        let out = body::relay_dechunked(
            &mut from,
            &mut BytesMut::new(),
            &mut data,
            Idle::default(),
            &mut moved,
        )
        .await;
        assert_eq!(out, Relayed::Done, "the last chunk ends the body");
        data
    }

    #[tokio::test]
    async fn a_body_comes_out_gzipped_in_chunks() {
        let text: Vec<u8> = b"haven compresses what haproxy compresses. "
            .iter()
            .copied()
            .cycle()
            .take(200_000)
            .collect();
        let (mut server, mut near) = tokio::io::duplex(1 << 20);
        let (mut client, mut far) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn({
            let text = text.clone();
            async move {
                tokio::io::AsyncWriteExt::write_all(&mut server, &text)
                    .await
                    .expect("send");
            }
        });
        let mut read = BytesMut::new();
        let mut sent = 0;
        let framing = ResponseFraming::Length(text.len() as u64);
        let (out, counts) = relay(
            (&mut near, &mut read),
            (&mut far, None),
            (CompAlgo::Gzip, framing),
            Idle::default(),
            &mut sent,
        )
        .await;
        writer.await.expect("writer");
        drop(far);
        assert_eq!(out, Relayed::Done);
        assert_eq!(counts.taken, text.len() as u64);
        let mut wire = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut client, &mut wire)
            .await
            .expect("read");
        assert_eq!(sent, wire.len() as u64);
        let gz = dechunk(&wire).await;
        assert_eq!(counts.encoded, gz.len() as u64);
        assert!(gz.len() < text.len() / 10, "{} bytes", gz.len());
        let mut plain = Vec::new();
        GzDecoder::new(&gz[..])
            .read_to_end(&mut plain)
            .expect("valid gzip");
        assert!(plain == text, "the same text back");
    }
}
