//! HTTP/1.1 request framing as haproxy's front side applies it: the head
//! with its size and header-count limits, the body length rules that
//! stop request smuggling, and chunked decoding. Sans-IO: callers feed
//! bytes and get a decision back.

mod chunked;
mod head;

pub use chunked::{ChunkError, ChunkedDecoder};
pub use head::{parse_head, BodyFraming, Head, HeadError, MAX_HEADERS};
