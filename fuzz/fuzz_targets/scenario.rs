//! Fuzzes the scenario loader: any bytes as a scenario file, whose config
//! paths read as small valid configs; no panic, and an error renders.
#![no_main]

use libfuzzer_sys::fuzz_target;

const HAPROXY: &str = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind :80\n    default_backend b\nbackend b\n    server s 10.0.0.5:80 check\n";
const KEEPALIVED: &str = "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let read = |path: &str| -> Result<String, String> {
        match path.rsplit('.').next() {
            Some("cfg") => Ok(HAPROXY.to_owned()),
            Some("conf") => Ok(KEEPALIVED.to_owned()),
            _ => Err(format!("{path}: no such file")),
        }
    };
    if let Err(e) = haven_sim::load("fuzz.toml", &text, &read, None) {
        let _ = e.to_string();
    }
});
