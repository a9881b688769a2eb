//! What both directions of the HTTP/1-to-HTTP/2 adapters share: taking a
//! body's HTTP/1 framing off, putting chunks on, and handing rendered
//! bytes to a reader.

use super::link::StreamLink;
use crate::wire::put_hex;
use bytes::{BufMut, Bytes, BytesMut};
use haven_core::http1::{ChunkedDecoder, Fields};
use haven_core::http2::Field;
use std::io;
use tokio::io::ReadBuf;

/// Fields of an HTTP/1 head that HTTP/2 does not carry (RFC 9113 §8.2.2).
pub(super) const CONNECTION_FIELDS: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Where an HTTP/1 body ends, followed to send its data alone.
#[derive(Debug)]
pub(super) enum Unframe {
    /// After this many bytes more.
    Length(u64),
    /// At the last chunk.
    Chunked(ChunkedDecoder),
    /// When the writer is done (a server that closes, a tunnel).
    AtFinish,
}

impl Unframe {
    /// The data among `bytes`, and whether the body ended with them.
    pub(super) fn data(&mut self, bytes: &[u8]) -> io::Result<(Bytes, bool)> {
        Ok(match self {
            Self::Length(left) => {
                let take = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                *left -= take as u64;
                (Bytes::copy_from_slice(&bytes[..take]), *left == 0)
            }
            Self::Chunked(decoder) => {
                let mut data = Vec::with_capacity(bytes.len());
                decoder
                    .feed(bytes, &mut data)
                    .map_err(|_| invalid("invalid chunk"))?;
                (Bytes::from(data), decoder.is_done())
            }
            Self::AtFinish => (Bytes::copy_from_slice(bytes), false),
        })
    }

    /// The trailer fields a chunked body ended with (none for others).
    pub(super) fn trailers(&self) -> io::Result<Fields> {
        match self {
            Self::Chunked(decoder) => decoder.trailers().map_err(invalid),
            _ => Ok(Fields::default()),
        }
    }
}

/// A decoder of an HTTP/1 chunked body whose trailers go on as HTTP/2's.
pub(super) fn chunked() -> Unframe {
    Unframe::Chunked(ChunkedDecoder::keeping_trailers())
}

/// Sends a body's last `data` on `link`, then ends the stream: with the
/// body's `trailers` (those HTTP/2 carries) when it had some, else with
/// the data.
pub(super) fn send_last(link: &StreamLink, data: &[u8], trailers: &Fields) -> io::Result<()> {
    let carried = trailers
        .iter()
        .filter(|(name, _)| !CONNECTION_FIELDS.contains(name) && *name != "te")
        .map(|(name, value)| (name.as_bytes(), value));
    if trailers.is_empty() {
        return link.send_data(data, true);
    }
    if !data.is_empty() {
        link.send_data(data, false)?;
    }
    link.send_head(carried, true)
}

/// Appends `data` to `out` as one HTTP/1 chunk (nothing when empty: an
/// empty chunk would end the body).
pub(super) fn put_chunk(out: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.reserve(data.len() + 12);
    put_hex(out, data.len() as u64);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Appends the last chunk to `out`, with `trailers` (names and values as
/// HTTP/2 carried them) as the body's trailer section.
pub(super) fn put_last_chunk(out: &mut BytesMut, trailers: &[Field]) {
    out.put_slice(b"0\r\n");
    for (name, value) in trailers {
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

/// Moves what `pending` holds into `buf`, as much as fits; false when it
/// holds nothing.
pub(super) fn give(pending: &mut BytesMut, buf: &mut ReadBuf<'_>) -> bool {
    if pending.is_empty() {
        return false;
    }
    let n = pending.len().min(buf.remaining());
    buf.put_slice(&pending.split_to(n));
    true
}

/// The error of bytes that are not the HTTP expected.
pub(super) fn invalid(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}
