//! The same cluster under keepalived 2.2.7 and under haven, faulted the
//! same ways with a probe-like client (a fixed 20 requests per second):
//! what each loses.

// Tests read the shipped configs; the world itself never does.
#![allow(clippy::disallowed_methods)]

use haven_sim::{apply, load, run};
use std::path::Path;

/// Failed requests when `action` hits the master (haproxy-server) at 20 s
/// of the book's pair, both hosts running `implementation`.
fn failed(implementation: &str, action: &str) -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let text = format!(
        r#"
name = "implementations"
seed = 1
start = "2015-04-07 09:00:00"
duration = "40s"

[[host]]
name = "haproxy-server"
address = "192.168.66.11"
haproxy = "book-14.3/haproxy.cfg"
keepalived = "book-14.3/keepalived-haproxy-server.conf"

[[host]]
name = "backup-haproxy"
address = "192.168.66.12"
haproxy = "book-14.3/haproxy.cfg"
keepalived = "book-14.3/keepalived-backup-haproxy.conf"

[[backend]]
address = "192.168.66.20:80"
service = "2ms"

[[backend]]
address = "192.168.66.21:80"
service = "2ms"

[[client]]
name = "probe"
target = "192.168.66.10:80"
rate = 20
distribution = "constant"
hosts = {{ "www.zb.com" = 1 }}
timeout = "2s"
start = "10s"

[[event]]
at = "20s"
host = "haproxy-server"
action = "{action}"
"#
    );
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let mut sc = load("implementations.toml", &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    apply(&mut sc, "implementation", implementation).expect("both hosts run keepalived");
    run(&sc, None).outcome().failed_requests
}

// Input: keepalived stopped gracefully (SIGTERM) on the master.
// Output: keepalived 2.2.7 drops the VIP at once: the requests of the
// skew window, before the backup's gratuitous ARP, are lost (12 of them
// here, 0.6 s at 20 per second); haven keeps it until the new master is
// heard: none is.
#[test]
fn a_graceful_stop_loses_requests_under_keepalived_only() {
    let keepalived = failed("keepalived-2.2", "stop keepalived");
    assert!(
        (1..=20).contains(&keepalived),
        "keepalived 2.2.7 lost {keepalived}"
    );
    assert_eq!(failed("haven", "stop keepalived"), 0);
}

// Input: keepalived killed (SIGKILL), or haproxy killed, on the master.
// Output: neither daemon can hand over what it does not know is going:
// both lose the same requests (none while a killed keepalived leaves its
// VIP in place with haproxy still serving; 102 when the proxy dies, until
// the tracked script's failures move the VIP).
#[test]
fn kills_cost_the_same_under_both() {
    for action in ["kill keepalived", "kill haproxy"] {
        let (keepalived, haven) = (failed("keepalived-2.2", action), failed("haven", action));
        assert_eq!(keepalived, haven, "{action}");
    }
    assert!(failed("haven", "kill haproxy") > 0);
}

// Input: the one-daemon haven killed (-9) on the master: its proxy and its
// VRRP half at once.
// Output: clients lose requests until the backup's gratuitous ARP, as
// when the host crashes: the same master down interval.
#[test]
fn killing_the_one_daemon_costs_a_master_down_interval() {
    let killed = failed("haven", "kill haven");
    assert!(killed > 0);
    assert_eq!(killed, failed("haven", "crash"));
}
