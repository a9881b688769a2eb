//! Fuzzes the VRRP decoder and keepalived's receive checks: any bytes,
//! no panic.
#![no_main]

use haven_core::vrrp::packet::{auth_type, check, decode_ipv4, pass_bytes, RxConfig, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pkt) = decode_ipv4(data) {
        for version in [Version::V2, Version::V3] {
            let cfg = RxConfig {
                iname: "VI_1".into(),
                version,
                auth_type: auth_type::PASS,
                auth_data: pass_bytes("1111"),
                adver_int_secs: 1,
                vips: vec![[10, 0, 0, 1].into()],
                unicast: false,
                peers: vec![],
                check_unicast_src: false,
            };
            let _ = check(&pkt, &cfg, true);
        }
    }
});
