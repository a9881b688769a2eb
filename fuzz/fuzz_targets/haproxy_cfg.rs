//! Fuzzes the haproxy.cfg parser: any bytes, no panic.
#![no_main]

use haven_core::config::haproxy::{parse, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse(&[("fuzz.cfg", &text)], &ParseOptions::default());
});
