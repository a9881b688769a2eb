//! `haven run` as the book's load-balancer pair, for real: two LB hosts
//! running haproxy.cfg + keepalived.conf (book 14.3, addresses moved into
//! the lab), two web hosts and a client, in network namespaces built by
//! the test. VRRP goes over raw sockets on the lab's bridge, the VIP
//! through netlink, GARP on AF_PACKET.

mod lab;

use lab::{get, within, Lab, PREFIX};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The book's haproxy.cfg with the lab's web addresses, a runtime API
/// socket at `sock`, and no pidfile or daemon lines.
fn haproxy_cfg(sock: &Path) -> String {
    let book = include_str!("../../shared/reference/book-14.3/haproxy.cfg");
    book.replace("192.168.66.20:80", &format!("{PREFIX}.21:80"))
        .replace("192.168.66.21:80", &format!("{PREFIX}.22:80"))
        .replace("192.168.66.22:80", &format!("{PREFIX}.21:80"))
        .replace("    daemon\n", "")
        .replace(
            "    pidfile /usr/local/haproxy/logs/haproxy.pid\n",
            &format!("    stats socket {} level admin\n", sock.display()),
        )
}

/// The book's keepalived.conf for `node` with the lab's VIP and no mail
/// helper.
fn keepalived_conf(node: &str) -> String {
    let book = match node {
        "master" => include_str!("../../shared/reference/book-14.3/keepalived-haproxy-server.conf"),
        _ => include_str!("../../shared/reference/book-14.3/keepalived-backup-haproxy.conf"),
    };
    book.lines()
        .filter(|l| !l.trim_start().starts_with("notify_"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("192.168.66.10/24", &format!("{PREFIX}.50/24"))
        .replace(
            "smtp_server 192.168.200.1",
            &format!("smtp_server {PREFIX}.254"),
        )
}

/// The VIP as the client reaches it.
fn vip() -> SocketAddr {
    format!("{PREFIX}.50:80").parse().expect("address")
}

/// The lab of the book: lb1 (priority 100, nopreempt), lb2 (90), web1,
/// web2, client; both LBs started. Returns the lab, the runtime API
/// sockets and the process indexes.
fn book_pair(dir: &Path) -> (Lab, [std::path::PathBuf; 2], [usize; 2]) {
    let mut lab = Lab::new("hv");
    for (name, last) in [
        ("lb1", 11),
        ("lb2", 12),
        ("web1", 21),
        ("web2", 22),
        ("cl", 100),
    ] {
        lab.host(name, last);
    }
    lab.web("web1", "web1");
    lab.web("web2", "web2");
    let haven = env!("CARGO_BIN_EXE_haven");
    let mut socks = Vec::new();
    let mut procs = Vec::new();
    for (lb, node) in [("lb1", "master"), ("lb2", "backup")] {
        let sock = dir.join(format!("{lb}.sock"));
        let (h, k) = (
            dir.join(format!("{lb}.cfg")),
            dir.join(format!("{lb}.conf")),
        );
        std::fs::write(&h, haproxy_cfg(&sock)).expect("write haproxy.cfg");
        std::fs::write(&k, keepalived_conf(node)).expect("write keepalived.conf");
        let log = dir.join(format!("{lb}.log"));
        let args = [
            "run",
            "-f",
            h.to_str().expect("utf-8"),
            "-k",
            k.to_str().expect("utf-8"),
            "-D",
        ];
        procs.push(lab.spawn(lb, haven, &args, &log));
        socks.push(sock);
    }
    let socks = [socks[0].clone(), socks[1].clone()];
    (lab, socks, [procs[0], procs[1]])
}

fn log_of(dir: &Path, lb: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{lb}.log"))).unwrap_or_default()
}

/// One GET through the VIP from the client host.
fn through_vip(lab: &Lab) -> Option<String> {
    lab.inside("cl", || get(vip(), "www.zb.com"))
        .join()
        .expect("client thread")
}

// Input: the book's pair started together (both BACKUP, lb1 priority
// 100+21, lb2 90+21, advert_int 2); then lb1 killed with SIGKILL.
// Output: lb1 alone holds the VIP and the client's request through it
// reaches web1; after the kill lb2 holds the VIP within
// master_down_interval (3 x 2 s + skew (256-111)/256 x 2 s = 7.13 s)
// + 0.5 s, and requests succeed again.
#[test]
fn one_master_holds_the_vip_and_a_killed_master_is_replaced() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, _socks, [lb1, _lb2]) = book_pair(dir.path());
    let vip_addr = format!("{PREFIX}.50");
    let took = within(Duration::from_secs(15), || {
        lab.has_address("lb1", &vip_addr)
    });
    assert!(
        took.is_some(),
        "lb1 never took the VIP:\n{}",
        log_of(dir.path(), "lb1")
    );
    assert!(!lab.has_address("lb2", &vip_addr), "both hold the VIP");
    let answered = within(Duration::from_secs(5), || {
        through_vip(&lab).as_deref() == Some("web1")
    });
    assert!(
        answered.is_some(),
        "no answer through the VIP:\n{}",
        log_of(dir.path(), "lb1")
    );

    lab.signal(lb1, "-KILL");
    let moved = within(Duration::from_secs(12), || {
        lab.has_address("lb2", &vip_addr)
    });
    let moved =
        moved.unwrap_or_else(|| panic!("lb2 never took the VIP:\n{}", log_of(dir.path(), "lb2")));
    assert!(
        moved <= Duration::from_millis(7_130 + 500),
        "the VIP moved after {moved:?}"
    );
    assert!(lab.exited(lb1));
    let log2 = log_of(dir.path(), "lb2");
    assert!(log2.contains("(HA_1) Entering MASTER STATE"), "{log2}");
    // lb1's interface still carries the address (a SIGKILL cleans
    // nothing up, as with keepalived); lb2's GARP moved the client.
    let again = within(Duration::from_secs(5), || {
        through_vip(&lab).as_deref() == Some("web1")
    });
    assert!(
        again.is_some(),
        "no answer through the VIP after the failover"
    );
}
