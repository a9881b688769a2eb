//! HTTP/2 frames as bytes (RFC 9113 §4, §6): the nine-byte header every
//! frame starts with, the frame types and flags haven reads, the error
//! codes, and writers for the frames it sends.

/// The connection preface a client sends before its first frame.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header.
pub const HEADER_LEN: usize = 9;

/// The frame size every peer accepts (`SETTINGS_MAX_FRAME_SIZE`'s
/// default), and the largest frame haven accepts.
pub const DEFAULT_MAX_FRAME: u32 = 16_384;

/// The window every stream and connection starts with.
pub const DEFAULT_WINDOW: u32 = 65_535;

/// The largest window flow control allows.
pub const MAX_WINDOW: i64 = (1 << 31) - 1;

/// Frame types.
pub mod kind {
    /// Body bytes.
    pub const DATA: u8 = 0;
    /// A header block's first fragment.
    pub const HEADERS: u8 = 1;
    /// A stream's priority (read and ignored, as haproxy does).
    pub const PRIORITY: u8 = 2;
    /// A stream ended abnormally.
    pub const RST_STREAM: u8 = 3;
    /// Connection parameters.
    pub const SETTINGS: u8 = 4;
    /// A server push (never from a client).
    pub const PUSH_PROMISE: u8 = 5;
    /// A round trip.
    pub const PING: u8 = 6;
    /// The connection ends.
    pub const GOAWAY: u8 = 7;
    /// Room in a window.
    pub const WINDOW_UPDATE: u8 = 8;
    /// A header block's next fragment.
    pub const CONTINUATION: u8 = 9;
}

/// Frame flags.
pub mod flag {
    /// DATA, HEADERS: the sender's side of the stream ends.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, CONTINUATION: the header block ends here.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS: padding follows the payload.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: a priority precedes the block.
    pub const PRIORITY: u8 = 0x20;
}

/// Settings identifiers (RFC 9113 §6.5.2, RFC 8441 §3).
pub mod setting {
    /// The HPACK dynamic table size the sender's decoder allows.
    pub const HEADER_TABLE_SIZE: u16 = 1;
    /// Whether the sender accepts server pushes.
    pub const ENABLE_PUSH: u16 = 2;
    /// Streams the sender lets its peer open at once.
    pub const MAX_CONCURRENT_STREAMS: u16 = 3;
    /// The window each new stream starts with.
    pub const INITIAL_WINDOW_SIZE: u16 = 4;
    /// The largest frame payload the sender accepts.
    pub const MAX_FRAME_SIZE: u16 = 5;
    /// The largest header list the sender accepts.
    pub const MAX_HEADER_LIST_SIZE: u16 = 6;
    /// The sender accepts the extended CONNECT (`:protocol`).
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 8;
}

/// An error code of RST_STREAM and GOAWAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Graceful end.
    pub const NO_ERROR: Self = Self(0);
    /// The peer broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1);
    /// Something failed on this side.
    pub const INTERNAL_ERROR: Self = Self(2);
    /// The peer broke flow control.
    pub const FLOW_CONTROL_ERROR: Self = Self(3);
    /// A frame came for a stream already closed.
    pub const STREAM_CLOSED: Self = Self(5);
    /// A frame had the wrong size.
    pub const FRAME_SIZE_ERROR: Self = Self(6);
    /// The stream was refused before any processing: it may be retried.
    pub const REFUSED_STREAM: Self = Self(7);
    /// The stream is no longer wanted.
    pub const CANCEL: Self = Self(8);
    /// The header compression state broke.
    pub const COMPRESSION_ERROR: Self = Self(9);
    /// The peer behaves in a way that looks like an attack.
    pub const ENHANCE_YOUR_CALM: Self = Self(11);
}

/// A frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length.
    pub len: u32,
    /// Frame type ([`kind`]).
    pub kind: u8,
    /// Flags ([`flag`]).
    pub flags: u8,
    /// Stream identifier (0: the connection).
    pub stream: u32,
}

impl FrameHeader {
    /// Reads the header at the start of `bytes`, when all nine are there.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Self {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        })
    }

    /// Whether flag `f` is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// Appends a frame header to `out`.
pub fn put_header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = (len as u32).to_be_bytes();
    out.extend_from_slice(&len[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
}

/// Appends a SETTINGS frame carrying `values`.
pub fn put_settings(out: &mut Vec<u8>, values: &[(u16, u32)]) {
    put_header(out, values.len() * 6, kind::SETTINGS, 0, 0);
    for (id, value) in values {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends a WINDOW_UPDATE giving `stream` (0: the connection)
/// `increment` more bytes.
pub fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_header(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// Appends a RST_STREAM ending `stream` with `code`.
pub fn put_reset(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    put_header(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// Appends a GOAWAY: streams up to `last` may still be served.
pub fn put_goaway(out: &mut Vec<u8>, last: u32, code: ErrorCode) {
    put_header(out, 8, kind::GOAWAY, 0, 0);
    out.extend_from_slice(&last.to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// Reads a big-endian `u32` at `at` of `bytes` (zero past the end).
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_reads_back_as_written_with_the_reserved_bit_dropped() {
        let mut out = Vec::new();
        put_header(
            &mut out,
            70_000,
            kind::HEADERS,
            flag::END_HEADERS,
            0x8000_0005,
        );
        assert_eq!(out.len(), HEADER_LEN);
        let h = FrameHeader::parse(&out).expect("test input");
        assert_eq!((h.len, h.kind, h.stream), (70_000, kind::HEADERS, 5));
        assert!(h.has(flag::END_HEADERS) && !h.has(flag::END_STREAM));
        assert_eq!(FrameHeader::parse(&out[..8]), None);
    }
}
