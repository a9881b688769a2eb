//! Fuzzes core's HTTP/2 connection on its own, at full speed: the first
//! byte picks the side (even: a server after the client's preface, odd:
//! a client that opened a stream), the rest is what the peer sends, fed
//! in two parts. Each head is read as a request would be, each stream is
//! answered or fed a body, and body bytes are consumed as a reader would.
//! Any bytes: no panic, and the output stays bounded.
#![no_main]

use haven_core::http2::frame::PREFACE;
use haven_core::http2::{read_request, Connection, Event, Limits};
use libfuzzer_sys::fuzz_target;


const GET: [(&[u8], &[u8]); 3] = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/")];

fuzz_target!(|data: &[u8]| {
    let Some((&side, peer)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_concurrent_streams: 8,
        ..Limits::default()
    };
    let mut conn = if side % 2 == 0 {
        let mut conn = Connection::server(limits);
        conn.receive(PREFACE);
        conn
    } else {
        let mut conn = Connection::client(limits);
        conn.open(&GET, side & 2 == 0, side & 4 != 0);
        conn
    };
    let half = peer.len() / 2;
    let mut input = peer[..half].to_vec();
    for rest in [&peer[half..], &[][..]] {
        input.extend_from_slice(rest);
        let used = conn.receive(&input);
        assert!(used <= input.len());
        input.drain(..used);
        while let Some(event) = conn.next_event() {
            match event {
                Event::Head { stream, fields, end } => {
                    let _ = read_request(fields);
                    conn.send_head(stream, [(&b":status"[..], &b"200"[..])], false);
                    conn.send_data(stream, b"ok", !end);
                }
                Event::Data { stream, data, .. } => conn.consumed(stream, data.len()),
                Event::Trailers { stream, .. } => {
                    conn.send_head(stream, [(&b"grpc-status"[..], &b"0"[..])], true);
                }
                Event::Reset { stream, .. } => conn.done(stream),
                Event::Room => {}
            }
        }
        assert!(conn.output().len() < 1 << 20);
        conn.output().clear();
    }
});
