//! Fuzzes HTTP/1.1 framing on client and server bytes: request heads,
//! chunked bodies and response heads. Any bytes: no panic, and what is
//! consumed or decoded never exceeds what was given.
#![no_main]

use haven_core::http1::{parse_head, parse_response_head, ChunkedDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, len))) = parse_head(data, 15_360) {
        assert!(len <= data.len());
    }
    for head in [false, true] {
        if let Ok(Some((_, len))) = parse_response_head(data, head) {
            assert!(len <= data.len());
        }
    }
    let mut decoder = ChunkedDecoder::default();
    let mut out = Vec::new();
    // Fed in two pieces, as bytes arrive.
    let (a, b) = data.split_at(data.len() / 2);
    if let Ok(used) = decoder.feed(a, &mut out) {
        assert!(used <= a.len());
        if let Ok(more) = decoder.feed(b, &mut out) {
            assert!(more <= b.len());
        }
    }
    assert!(out.len() <= data.len());
});
