//! Hostile VRRP on the in-memory wire: forged adverts are refused and
//! counted, logged at most once a second per instance and reason, and
//! never move an election. The book-14.3 pair, A MASTER since 6.527 s.

mod harness;

use harness::{parse, secs, World};
use haven_core::time::Duration;
use haven_core::vrrp::packet::{auth_type, pass_bytes, Advert, Version};
use haven_core::vrrp::State;
use std::net::{IpAddr, Ipv4Addr};

const SERVER: &str = include_str!("../../scenarios/book-14.3/keepalived-haproxy-server.conf");
const BACKUP: &str = include_str!("../../scenarios/book-14.3/keepalived-backup-haproxy.conf");
const IP_A: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 11);
const IP_B: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 12);

/// An advert for HA_1 at priority 255 with password `pass` from `src`.
fn forged(src: Ipv4Addr, pass: &str) -> Vec<u8> {
    Advert {
        version: Version::V2,
        kind: 1,
        vrid: 80,
        priority: 255,
        adver_int: 2,
        auth_type: auth_type::PASS,
        auth_data: pass_bytes(pass),
        addrs: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 66, 10))],
        checksum: 0,
    }
    .encode_ipv4(src, Ipv4Addr::new(224, 0, 0, 18), 1)
}

fn settled() -> World {
    let mut w = World::new(vec![("A", IP_A, parse(SERVER)), ("B", IP_B, parse(BACKUP))]);
    w.start(0);
    w.start(1);
    w.run_until(secs(20.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Backup)
    );
    w
}

// Input: 1,000 adverts with a wrong password and priority 255 at both
// hosts over 2.5 s (one every 2.5 ms), from a third address.
// Output: each host logs the refusal 3 times (at 20, 21 and 22 s), counts
// all 1,000, and neither changes state; A keeps the VIP.
#[test]
fn a_flood_of_forged_adverts_is_counted_logged_sparingly_and_ignored() {
    let mut w = settled();
    let packet = forged(Ipv4Addr::new(192, 168, 66, 66), "evil");
    for i in 0..1000u64 {
        w.run_until(secs(20.0) + Duration::from_micros(2500 * i));
        w.inject(0, &packet);
        w.inject(1, &packet);
    }
    w.run_until(secs(30.0));
    for (h, name) in [(0, "A"), (1, "B")] {
        let refused: Vec<String> = w
            .lines(name, secs(20.0), secs(30.0))
            .into_iter()
            .filter(|l| l.contains("passw"))
            .collect();
        assert_eq!(refused.len(), 3, "{name}: {refused:?}");
        let stats = &w.hosts[h].vrrp.instances()[0].stats;
        assert_eq!(stats.rejected.values().sum::<u64>(), 1000, "{name}");
    }
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Backup)
    );
    assert_eq!(w.vip_holders(0), ["A"]);
}

// Input: a unicast pair (A and B peers of each other); an advert with the
// right password and priority 255 from 192.168.66.66, which is no peer.
// Output: refused; B stays BACKUP.
#[test]
fn a_higher_priority_advert_from_no_peer_moves_nothing() {
    let unicast = |text: &str, me: Ipv4Addr, peer: Ipv4Addr| {
        parse(&text.replace(
            "    virtual_ipaddress {",
            &format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    virtual_ipaddress {{"),
        ))
    };
    let mut w = World::new(vec![
        ("A", IP_A, unicast(SERVER, IP_A, IP_B)),
        ("B", IP_B, unicast(BACKUP, IP_B, IP_A)),
    ]);
    w.start(0);
    w.start(1);
    w.run_until(secs(20.0));
    assert_eq!(w.state(0, 0), State::Master, "{}", w.dump());
    let packet = forged(Ipv4Addr::new(192, 168, 66, 66), "1111");
    w.inject(0, &packet);
    w.run_until(secs(30.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Backup),
        "{}",
        w.dump()
    );
    assert_eq!(
        w.hosts[0].vrrp.instances()[0]
            .stats
            .rejected
            .values()
            .sum::<u64>(),
        1
    );
}
