//! Fuzzes haven's HTTP/2 front side with the frames a client sends after
//! the preface: the h2 crate's framing, HPACK and flow control, each
//! stream's request turned into the head haven's exchange serves, its
//! body read as the exchange reads it, and an answer sent back through
//! the same adapter. Any frames: the connection ends, no panic.
#![no_main]

use haven_runtime::fuzzing::H2Front;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The HTTP/2 connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn front() -> &'static H2Front {
    static FRONT: OnceLock<H2Front> = OnceLock::new();
    FRONT.get_or_init(|| H2Front::new().expect("a runtime"))
}

fuzz_target!(|data: &[u8]| front().serve(&[PREFACE, data].concat()));
