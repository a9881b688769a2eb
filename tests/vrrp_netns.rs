//! `haven run` as the book's load-balancer pair, for real: two LB hosts
//! running haproxy.cfg + keepalived.conf (book 14.3, addresses moved into
//! the lab), two web hosts and a client, in network namespaces built by
//! the test. VRRP goes over raw sockets on the lab's bridge, the VIP
//! through netlink, GARP on AF_PACKET.

// The lab's web hosts serve with it.
mod lab;
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use lab::{get, within, Lab, PREFIX};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The book's haproxy.cfg with the lab's web addresses, a runtime API
/// socket at `sock`, and no pidfile or daemon lines.
fn haproxy_cfg(sock: &Path) -> String {
    let book = include_str!("../scenarios/book-14.3/haproxy.cfg");
    book.replace("192.168.66.20:80", &format!("{PREFIX}.21:80"))
        .replace("192.168.66.21:80", &format!("{PREFIX}.22:80"))
        .replace("192.168.66.22:80", &format!("{PREFIX}.21:80"))
        .replace("    daemon\n", "")
        // Debian calls nobody's group `nogroup` (haproxy, too, refuses
        // `group nobody` there).
        .replace("    group nobody\n", "    group nogroup\n")
        .replace(
            "    stats hide-version\n",
            "    stats hide-version\n    http-request use-service prometheus-exporter if { path /metrics }\n",
        )
        .replace(
            "    pidfile /usr/local/haproxy/logs/haproxy.pid\n",
            &format!("    stats socket {} level admin\n", sock.display()),
        )
}

/// The book's keepalived.conf for `node` with the lab's VIP and no mail
/// helper.
fn keepalived_conf(node: &str) -> String {
    let book = match node {
        "master" => include_str!("../scenarios/book-14.3/keepalived-haproxy-server.conf"),
        _ => include_str!("../scenarios/book-14.3/keepalived-backup-haproxy.conf"),
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

/// Waits for lb1 of a fresh book pair to hold the VIP, which it returns;
/// fails with lb1's log if it never does.
fn lb1_takes_the_vip(lab: &Lab, dir: &Path) -> String {
    let vip_addr = format!("{PREFIX}.50");
    let took = within(Duration::from_secs(15), || {
        lab.has_address("lb1", &vip_addr)
    });
    assert!(
        took.is_some(),
        "lb1 never took the VIP:\n{}",
        log_of(dir, "lb1")
    );
    vip_addr
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

/// GET `path` at `addr` with the book's stats credentials (admin:admin):
/// the whole answer.
fn fetch(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.write_all(req.as_bytes());
    let _ = s.read_to_string(&mut out);
    out
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
// master_down_interval (3 x 2 s + skew (256-111)/256 s = 6.57 s, RFC 3768)
// + 0.5 s, and requests succeed again.
#[test]
fn one_master_holds_the_vip_and_a_killed_master_is_replaced() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, _socks, [lb1, _lb2]) = book_pair(dir.path());
    let vip_addr = lb1_takes_the_vip(&lab, dir.path());
    assert!(!lab.has_address("lb2", &vip_addr), "both hold the VIP");
    // It dropped to the config's `user nobody` once bound, keeping only
    // CAP_NET_RAW, CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, and still took
    // the VIP through netlink.
    let status = std::fs::read_to_string(format!("/proc/{}/status", lab.pid(lb1)))
        .expect("the process runs");
    assert!(
        status.contains("\nUid:\t65534\t65534\t65534\t65534\n"),
        "{status}"
    );
    assert!(status.contains("\nCapEff:\t0000000000003400\n"), "{status}");
    let answered = within(Duration::from_secs(5), || {
        through_vip(&lab).as_deref() == Some("web1")
    });
    assert!(
        answered.is_some(),
        "no answer through the VIP:\n{}",
        log_of(dir.path(), "lb1")
    );

    // Each LB's metrics and stats page show its instance.
    let metrics = lab
        .inside("cl", || fetch(&format!("{PREFIX}.11:9188"), "/metrics"))
        .join()
        .expect("client thread");
    let labels = "{iname=\"HA_1\",intf=\"eth0\",vrid=\"80\"}";
    for sample in [
        format!("keepalived_vrrp_state{labels} 2"),
        format!("keepalived_vrrp_effective_priority{labels} 121"),
    ] {
        assert!(
            metrics.lines().any(|l| l == sample),
            "missing {sample}:\n{metrics}"
        );
    }
    let page = lab
        .inside("cl", || {
            fetch(&format!("{PREFIX}.12:9188"), "/haproxy-status")
        })
        .join()
        .expect("client thread");
    assert!(
        page.contains("<td>HA_1</td><td>eth0</td><td>80</td><td>BACKUP</td><td>111</td>"),
        "{page}"
    );

    lab.signal(lb1, "-KILL");
    let moved = within(Duration::from_secs(12), || {
        lab.has_address("lb2", &vip_addr)
    });
    let moved =
        moved.unwrap_or_else(|| panic!("lb2 never took the VIP:\n{}", log_of(dir.path(), "lb2")));
    assert!(
        moved <= Duration::from_millis(6_566 + 500),
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

/// Sends `line` to a runtime API socket; the answer.
fn admin(sock: &Path, line: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("runtime API socket");
    s.write_all(line.as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

// Input: the book's pair with lb1 MASTER; `disable frontend www` on lb1's
// runtime API, so its tracked `killall -0 haproxy` (answered by haven's
// own proxy) fails; later lb1 is killed and started again.
// Output: lb1's priority drops from 121 to 100 at its next script run
// (within the 2 s interval); lb2 (111, preempting) stops accepting its
// adverts and takes over master_down_interval (6.57 s) after the last
// 121 advert: between 4.57 s and 8.57 s after the command, checked to
// ±0.5 s. Requests succeed again through lb2. lb1, started again, stays
// BACKUP: nopreempt holds though its priority is higher.
#[test]
fn a_failing_proxy_moves_the_vip_and_nopreempt_holds_on_return() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, [sock1, _], [lb1, _]) = book_pair(dir.path());
    let vip_addr = lb1_takes_the_vip(&lab, dir.path());
    within(Duration::from_secs(5), || through_vip(&lab).is_some()).expect("served");

    assert_eq!(admin(&sock1, "disable frontend www\n"), "\n");
    let moved = within(Duration::from_secs(12), || {
        lab.has_address("lb2", &vip_addr)
    })
    .unwrap_or_else(|| panic!("lb2 never took the VIP:\n{}", log_of(dir.path(), "lb2")));
    assert!(
        (Duration::from_millis(4_566 - 500)..=Duration::from_millis(8_566 + 500)).contains(&moved),
        "the VIP moved after {moved:?}"
    );
    let log1 = log_of(dir.path(), "lb1");
    assert!(
        log1.contains("Changing effective priority from 121 to 100"),
        "{log1}"
    );
    within(Duration::from_secs(5), || {
        !lab.has_address("lb1", &vip_addr) && through_vip(&lab).as_deref() == Some("web1")
    })
    .expect("lb2 serves and lb1 let the VIP go");

    lab.signal(lb1, "-KILL");
    within(Duration::from_secs(5), || lab.exited(lb1)).expect("lb1 exits");
    let haven = env!("CARGO_BIN_EXE_haven");
    let (h, k) = (dir.path().join("lb1.cfg"), dir.path().join("lb1.conf"));
    let args = [
        "run",
        "-f",
        h.to_str().expect("utf-8"),
        "-k",
        k.to_str().expect("utf-8"),
    ];
    lab.spawn("lb1", haven, &args, &dir.path().join("lb1-again.log"));
    let stolen = within(Duration::from_secs(10), || {
        lab.has_address("lb1", &vip_addr)
    });
    assert!(stolen.is_none(), "lb1 took the VIP back despite nopreempt");
    assert!(lab.has_address("lb2", &vip_addr));
    let again = std::fs::read_to_string(dir.path().join("lb1-again.log")).unwrap_or_default();
    assert!(again.contains("(HA_1) Entering BACKUP STATE"), "{again}");
}

/// A PASS-authenticated VRRPv2 advert for VRID `vrid` from the client's
/// address, priority 254, the lab's VIP; `mangle` edits it before it is
/// sent to the multicast group with TTL `ttl`.
fn forged(vrid: u8, pass: &str, ttl: u8, mangle: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    use haven_core::vrrp::packet::{pass_bytes, Advert, Version};
    let advert = Advert {
        version: Version::V2,
        kind: 1,
        vrid,
        priority: 254,
        adver_int: 2,
        auth_type: 1,
        auth_data: pass_bytes(pass),
        addrs: vec![format!("{PREFIX}.50").parse().expect("ip")],
        checksum: 0,
    };
    let src = format!("{PREFIX}.100").parse().expect("ip");
    let mut bytes = advert.encode_ipv4(src, "224.0.0.18".parse().expect("ip"), 7);
    bytes[8] = ttl;
    mangle(&mut bytes);
    bytes
}

/// A raw IP-112 socket on the current host's eth0 that sends whole IPv4
/// packets, and the VRRP multicast group to send them to.
fn advert_sender() -> (socket2::Socket, socket2::SockAddr) {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).expect("raw socket");
    s.set_header_included_v4(true).expect("IP_HDRINCL");
    s.bind_device(Some(b"eth0")).expect("bind to eth0");
    let to = SockAddr::from(std::net::SocketAddrV4::new(
        "224.0.0.18".parse().expect("ip"),
        0,
    ));
    (s, to)
}

/// lb2's refused adverts as its metrics count them (all reasons), and the
/// metrics page.
fn lb2_rejected(lab: &Lab) -> (u64, String) {
    let metrics = lab
        .inside("cl", || fetch(&format!("{PREFIX}.12:9188"), "/metrics"))
        .join()
        .expect("client thread");
    let rejected = metrics
        .lines()
        .filter(|l| l.starts_with("keepalived_packets_rejected_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    (rejected, metrics)
}

// Input: lb1 MASTER, lb2 BACKUP; from the client host, adverts claiming
// priority 254 for the VIP: wrong password, TTL 64, a broken checksum, an
// unknown VRID, and a wrong address count.
// Output: lb2 logs each rejection as keepalived words it, and nothing
// changes: lb1 keeps the VIP, lb2 stays BACKUP.
#[test]
fn forged_adverts_are_dropped_and_change_nothing() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (lab, _socks, _procs) = book_pair(dir.path());
    let vip_addr = lb1_takes_the_vip(&lab, dir.path());
    let packets = vec![
        forged(80, "wrong", 255, |_| {}),
        forged(80, "1111", 64, |_| {}),
        forged(80, "1111", 255, |b| b[20 + 6] ^= 0xff),
        forged(81, "1111", 255, |_| {}),
        forged(80, "1111", 255, |b| b[20 + 3] = 2),
    ];
    lab.inside("cl", move || {
        let (s, to) = advert_sender();
        for p in &packets {
            s.send_to(p, &to).expect("send");
        }
    })
    .join()
    .expect("sender");
    let log2 = || log_of(dir.path(), "lb2");
    let rejections = [
        "(HA_1) received an invalid passwd!",
        "(HA_1) invalid TTL/HL",
        "(HA_1) Invalid VRRPv2 checksum",
    ];
    let seen = within(Duration::from_secs(5), || {
        let text = log2();
        rejections.iter().all(|r| text.contains(r))
    });
    let text = log2();
    assert!(
        seen.is_some(),
        "missing a rejection of {rejections:?}:\n{text}"
    );
    assert!(lab.has_address("lb1", &vip_addr) && !lab.has_address("lb2", &vip_addr));
    assert!(!text.contains("Entering MASTER STATE"), "{text}");
    // Counted too: lb2's metrics carry a rejection counter per reason.
    let (rejected, metrics) = lb2_rejected(&lab);
    assert!(rejected >= 3, "{metrics}");
}

// Input: lb1 MASTER; from the client host, 3 s of forged adverts
// (wrong password, priority 254) as fast as one thread sends them, while
// another thread GETs through the VIP every 20 ms.
// Output: every GET succeeds (the flood does not starve lb1's proxy);
// nothing changes hands; lb2 counts thousands of refusals but logs the
// reason at most once a second.
#[test]
fn an_advert_flood_neither_moves_the_vip_nor_starves_the_proxy() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (lab, _socks, _procs) = book_pair(dir.path());
    let vip_addr = lb1_takes_the_vip(&lab, dir.path());
    within(Duration::from_secs(5), || through_vip(&lab).is_some()).expect("the VIP answers");
    let flood_for = Duration::from_secs(3);
    let packet = forged(80, "wrong", 255, |_| {});
    let flood = lab.inside("cl", move || {
        let (s, to) = advert_sender();
        let started = std::time::Instant::now();
        let mut sent = 0u64;
        while started.elapsed() < flood_for {
            sent += u64::from(s.send_to(&packet, &to).is_ok());
        }
        sent
    });
    let clients = lab.inside("cl", move || {
        let started = std::time::Instant::now();
        let (mut ok, mut total) = (0, 0);
        while started.elapsed() < flood_for {
            total += 1;
            ok += usize::from(get(vip(), "www.zb.com").is_some());
            std::thread::sleep(Duration::from_millis(20));
        }
        (ok, total)
    });
    let sent = flood.join().expect("flood");
    let (ok, total) = clients.join().expect("clients");
    assert!(sent > 10_000, "only {sent} adverts sent");
    assert_eq!(
        ok,
        total,
        "{} of {total} requests failed during the flood",
        total - ok
    );
    assert!(lab.has_address("lb1", &vip_addr) && !lab.has_address("lb2", &vip_addr));
    let (refused, metrics) = lb2_rejected(&lab);
    assert!(refused > 1_000, "only {refused} counted:\n{metrics}");
    let logged = log_of(dir.path(), "lb2")
        .matches("received an invalid passwd")
        .count();
    assert!(
        (1..=5).contains(&logged),
        "{logged} lines for {refused} refusals"
    );
}

/// The book's pair in unicast mode: `unicast_src_ip` and `unicast_peer`
/// instead of multicast.
fn unicast_conf(node: &str, me: u8, peer: u8) -> String {
    keepalived_conf(node).replace(
        "    virtual_ipaddress {",
        &format!(
            "    unicast_src_ip {PREFIX}.{me}\n    unicast_peer {{\n        {PREFIX}.{peer}\n    }}\n    virtual_ipaddress {{"
        ),
    )
}

// Input: the book's pair with unicast_src_ip / unicast_peer (networks
// without multicast), lb1 then killed.
// Output: lb1 alone holds the VIP; the adverts go peer to peer and lb2
// takes over within master_down_interval + 0.5 s.
#[test]
fn unicast_peers_elect_and_fail_over() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, _socks, [lb1, lb2]) = book_pair(dir.path());
    for (i, (lb, node, me, peer)) in [("lb1", "master", 11, 12), ("lb2", "backup", 12, 11)]
        .into_iter()
        .enumerate()
    {
        lab.signal([lb1, lb2][i], "-KILL");
        std::fs::write(
            dir.path().join(format!("{lb}.conf")),
            unicast_conf(node, me, peer),
        )
        .expect("write");
    }
    within(Duration::from_secs(5), || {
        lab.exited(lb1) && lab.exited(lb2)
    })
    .expect("both stopped");
    let haven = env!("CARGO_BIN_EXE_haven");
    let mut procs = Vec::new();
    for lb in ["lb1", "lb2"] {
        let (h, k) = (
            dir.path().join(format!("{lb}.cfg")),
            dir.path().join(format!("{lb}.conf")),
        );
        let args = [
            "run",
            "-f",
            h.to_str().expect("utf-8"),
            "-k",
            k.to_str().expect("utf-8"),
        ];
        procs.push(lab.spawn(
            lb,
            haven,
            &args,
            &dir.path().join(format!("{lb}-unicast.log")),
        ));
    }
    let vip_addr = format!("{PREFIX}.50");
    within(Duration::from_secs(15), || {
        lab.has_address("lb1", &vip_addr)
    })
    .expect("lb1 master");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.has_address("lb2", &vip_addr),
        "both masters: the peers do not hear each other"
    );
    lab.signal(procs[0], "-KILL");
    let moved = within(Duration::from_secs(12), || {
        lab.has_address("lb2", &vip_addr)
    })
    .expect("lb2 took over");
    assert!(
        moved <= Duration::from_millis(6_566 + 500),
        "after {moved:?}"
    );
}

// Input: lb1 MASTER; a client requesting through the VIP every 20 ms;
// SIGTERM on lb1.
// Output: lb1 sends priority 0 and keeps the VIP until lb2's first advert
// (and 200 ms more); lb2 holds the VIP within its skew (0.57 s) + 0.5 s;
// lb1 exits
// with the VIP gone; the client saw no failed request. (keepalived drops
// the VIP at once: for the skew window no host answers and connects time
// out, which no client retries.)
#[test]
fn a_graceful_stop_hands_over_without_a_failed_request() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut lab, _socks, [lb1, _]) = book_pair(dir.path());
    let vip_addr = lb1_takes_the_vip(&lab, dir.path());
    within(Duration::from_secs(5), || through_vip(&lab).is_some()).expect("served");

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::clone(&stop);
    let started = std::time::Instant::now();
    let client = lab.inside("cl", move || {
        let (mut ok, mut failed) = (0, Vec::new());
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            // A connection in flight when the new master's GARP lands is
            // reset by it (the client's ACKs go there): the client sends
            // its GET again, as HTTP clients do with idempotent requests.
            let answer = match lab::attempt(vip(), "www.zb.com") {
                Err(lab::Failure::Reset(_)) => lab::attempt(vip(), "www.zb.com"),
                other => other,
            };
            match answer {
                Ok(_) => ok += 1,
                Err(e) => failed.push((started.elapsed(), e)),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (ok, failed)
    });
    std::thread::sleep(Duration::from_millis(500));
    lab.signal(lb1, "-TERM");
    let moved = within(Duration::from_secs(5), || lab.has_address("lb2", &vip_addr))
        .unwrap_or_else(|| panic!("lb2 never took the VIP:\n{}", log_of(dir.path(), "lb2")));
    assert!(
        moved <= Duration::from_millis(566 + 500),
        "the VIP moved after {moved:?}"
    );
    within(Duration::from_secs(10), || lab.exited(lb1)).expect("lb1 exits");
    assert!(
        !lab.has_address("lb1", &vip_addr),
        "lb1 left the VIP behind"
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = client.join().expect("client");
    assert!(
        failed.is_empty(),
        "{} failed of {}: {failed:?}\nlb1:\n{}\nlb2:\n{}",
        failed.len(),
        ok + failed.len(),
        log_of(dir.path(), "lb1"),
        log_of(dir.path(), "lb2")
    );
    assert!(ok > 40, "only {ok} requests");
    let log1 = log_of(dir.path(), "lb1");
    assert!(log1.contains("(HA_1) sent 0 priority"), "{log1}");
}

/// A keepalived.conf for interop: one instance, VRID 80, PASS auth,
/// advert_int 1, the lab's VIP, priority `prio`, no scripts.
fn plain_conf(prio: u8) -> String {
    format!(
        "global_defs {{\n    router_id lb\n}}\nvrrp_instance HA_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 80\n    priority {prio}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        {PREFIX}.50/24 dev eth0\n    }}\n}}\n"
    )
}

// Input: real keepalived 2.2.7 (Debian) on lb1 at priority 150, haven
// (VRRP only) on lb2 at 100, same VRID; keepalived killed, then started
// again at priority 200 while haven is MASTER.
// Output: keepalived becomes MASTER and haven BACKUP (haven decodes
// keepalived's adverts); killed, haven takes the VIP within
// master_down_interval (3 s + skew 0.61 s) + 0.5 s; started again with a
// higher priority, keepalived accepts haven's adverts and preempts it, and
// haven lets the VIP go.
#[test]
fn haven_and_keepalived_fail_over_to_each_other() {
    if !lab::available() {
        return;
    }
    let keepalived = "/usr/sbin/keepalived";
    assert!(
        Path::new(keepalived).exists() || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but keepalived is not installed"
    );
    if !Path::new(keepalived).exists() {
        eprintln!("skipped: keepalived is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut lab = Lab::new("ka");
    lab.host("lb1", 11);
    lab.host("lb2", 12);
    let run_keepalived = |lab: &mut Lab, prio: u8, round: u32| {
        let conf = d.join(format!("ka{round}.conf"));
        std::fs::write(&conf, plain_conf(prio)).expect("write");
        let path = |name: &str| {
            d.join(format!("{name}{round}"))
                .to_str()
                .expect("utf-8")
                .to_owned()
        };
        let args = [
            "-n",
            "-l",
            "-D",
            "-f",
            conf.to_str().expect("utf-8"),
            "-p",
            &path("ka.pid"),
            "-r",
            &path("vrrp.pid"),
            "-c",
            &path("check.pid"),
        ];
        lab.spawn(
            "lb1",
            keepalived,
            &args,
            &d.join(format!("keepalived{round}.log")),
        )
    };
    let ka = run_keepalived(&mut lab, 150, 1);
    let conf = d.join("haven.conf");
    std::fs::write(&conf, plain_conf(100)).expect("write");
    let haven = env!("CARGO_BIN_EXE_haven");
    lab.spawn(
        "lb2",
        haven,
        &["run", "-k", conf.to_str().expect("utf-8"), "-D"],
        &d.join("haven.log"),
    );
    let ka_log = |round: u32| {
        std::fs::read_to_string(d.join(format!("keepalived{round}.log"))).unwrap_or_default()
    };
    let haven_log = || std::fs::read_to_string(d.join("haven.log")).unwrap_or_default();
    let vip_addr = format!("{PREFIX}.50");

    within(Duration::from_secs(10), || {
        lab.has_address("lb1", &vip_addr)
    })
    .unwrap_or_else(|| panic!("keepalived never took the VIP:\n{}", ka_log(1)));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !lab.has_address("lb2", &vip_addr),
        "haven took the VIP too:\n{}",
        haven_log()
    );
    assert!(
        !haven_log().contains("Entering MASTER STATE"),
        "{}",
        haven_log()
    );

    lab.signal(ka, "-KILL");
    let moved = within(Duration::from_secs(8), || lab.has_address("lb2", &vip_addr))
        .unwrap_or_else(|| panic!("haven never took the VIP:\n{}", haven_log()));
    assert!(
        moved <= Duration::from_millis(3_609 + 500),
        "after {moved:?}"
    );
    // keepalived's VRRP child outlives its killed parent just long enough
    // to remove the VIP; if it did not, clear it as a restart would.
    if lab.has_address("lb1", &vip_addr) {
        let prefixed = format!("{vip_addr}/24");
        lab::ip(&[
            "-n",
            &lab.ns("lb1"),
            "addr",
            "del",
            &prefixed,
            "dev",
            "eth0",
        ]);
    }

    run_keepalived(&mut lab, 200, 2);
    within(Duration::from_secs(10), || {
        lab.has_address("lb1", &vip_addr)
    })
    .unwrap_or_else(|| panic!("keepalived did not preempt haven:\n{}", ka_log(2)));
    within(Duration::from_secs(5), || {
        !lab.has_address("lb2", &vip_addr)
    })
    .unwrap_or_else(|| panic!("haven kept the VIP:\n{}", haven_log()));
    let text = ka_log(2);
    assert!(
        !text.contains("invalid") && !text.contains("checksum"),
        "{text}"
    );
    assert!(
        haven_log().contains("(HA_1) Entering BACKUP STATE"),
        "{}",
        haven_log()
    );
}

/// An IPv6 instance (VRRPv3, advert_int 1) with VIP fd00::50, priority
/// `prio`.
fn ipv6_conf(prio: u8) -> String {
    format!(
        "vrrp_instance V6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 60\n    version 3\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        fd00::50/64 dev eth0\n    }}\n}}\n"
    )
}

// Input: two haven VRRP daemons with an IPv6 VRRPv3 instance (priorities
// 150 and 100), the master then killed.
// Output: the higher one holds fd00::50 alone (adverts from link-local
// addresses to ff02::12, hop limit 255); after the kill the other holds
// it within master_down_interval (3 x 1 s + skew 156/256 s) + 0.5 s.
#[test]
fn vrrpv3_over_ipv6_elects_and_fails_over() {
    if !lab::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut lab = Lab::new("v6");
    lab.host("lb1", 11);
    lab.host("lb2", 12);
    let haven = env!("CARGO_BIN_EXE_haven");
    let mut procs = Vec::new();
    for (lb, prio) in [("lb1", 150), ("lb2", 100)] {
        let conf = d.join(format!("{lb}.conf"));
        std::fs::write(&conf, ipv6_conf(prio)).expect("write");
        let args = ["run", "-k", conf.to_str().expect("utf-8"), "-D"];
        procs.push(lab.spawn(lb, haven, &args, &d.join(format!("{lb}.log"))));
    }
    let log = |lb: &str| std::fs::read_to_string(d.join(format!("{lb}.log"))).unwrap_or_default();
    within(Duration::from_secs(10), || {
        lab.has_address("lb1", "fd00::50")
    })
    .unwrap_or_else(|| panic!("lb1 never took the VIP:\n{}\n{}", log("lb1"), log("lb2")));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !lab.has_address("lb2", "fd00::50"),
        "both hold it:\n{}",
        log("lb2")
    );
    lab.signal(procs[0], "-KILL");
    let moved = within(Duration::from_secs(8), || {
        lab.has_address("lb2", "fd00::50")
    })
    .unwrap_or_else(|| panic!("lb2 never took the VIP:\n{}", log("lb2")));
    assert!(
        moved <= Duration::from_millis(3_609 + 500),
        "after {moved:?}"
    );
}
