//! Fuzzes the keepalived.conf parser: any bytes, no panic.
#![no_main]

use haven_core::config::{keepalived::parse, NoIncludes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse("fuzz.conf", &text, &NoIncludes);
});
