//! HTTP/1.1 framing: requests as haproxy's front side reads them (the
//! head with its size and header-count limits, the body length rules that
//! stop request smuggling), servers' response heads, and chunked
//! decoding, and when a connection turns into a tunnel. Sans-IO: callers feed
//! bytes and get a decision back.

mod chunked;
mod fields;
mod head;
mod response;
mod syntax;
mod text_fields;
mod upgrade;

pub use chunked::{ChunkError, ChunkedDecoder};
pub(crate) use fields::name_class;
pub use fields::{FieldChange, Fields, FieldsIter, SPARE_BYTES, SPARE_FIELDS};
pub use head::{parse_head, BodyFraming, Head, HeadError, MAX_HEADERS};
pub use response::{parse_response_head, ResponseError, ResponseFraming, ResponseHead};
pub use syntax::{error_position, tchar};
pub use text_fields::{TextFields, TextIter};
pub use upgrade::{accepts_websocket, opens_tunnel, websocket_accept, websocket_key, Switch};
