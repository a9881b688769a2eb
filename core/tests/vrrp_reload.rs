//! keepalived's reload (SIGHUP) on core's `Vrrp`: instances that are the
//! same router again keep their state silently; gone ones resign; new
//! ones start as at start-up. The book-14.3 pair on the in-memory wire.

mod harness;

use harness::{parse, secs, World};
use haven_core::config::keepalived::Compat;
use haven_core::vrrp::{NotifyState, State};
use std::net::Ipv4Addr;

const SERVER: &str = include_str!("../../scenarios/book-14.3/keepalived-haproxy-server.conf");
const BACKUP: &str = include_str!("../../scenarios/book-14.3/keepalived-backup-haproxy.conf");
const IP_A: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 11);
const IP_B: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 12);

/// The book-14.3 pair after A became MASTER (at 6.527343 s), at 20 s.
fn settled(compat: Compat) -> World {
    let mut w = World::new(vec![("A", IP_A, parse(SERVER)), ("B", IP_B, parse(BACKUP))])
        .with_compat(compat);
    w.start(0);
    w.start(1);
    w.run_until(secs(20.0));
    assert_eq!(w.state(0, 0), State::Master, "{}", w.dump());
    w
}

/// A's config with `edit` applied to its text.
fn server_with(
    edit: impl Fn(&str) -> String,
    compat: Compat,
) -> haven_core::config::keepalived::KeepalivedConfig {
    let mut cfg = parse(&edit(SERVER));
    cfg.global.compat = compat;
    cfg
}

// Input: A (MASTER) reloads the same config at 20 s.
// Output: A logs "Reloading" and nothing else, notifies nothing, keeps
// its VIPs and its counters; B hears no gap and stays BACKUP.
#[test]
fn a_reload_keeps_the_master_and_its_vips_silently() {
    for compat in [Compat::V2_2, Compat::V1_2] {
        let mut w = settled(compat);
        let sent = w.hosts[0].vrrp.instances()[0].stats.adverts_sent;
        let (notifies, garps) = (w.hosts[0].notifies.len(), w.hosts[0].garps);
        w.reload(0, server_with(str::to_owned, compat));
        w.run_until(secs(40.0));
        assert_eq!(
            w.lines("A", secs(20.0), secs(40.0)),
            ["Reloading"],
            "{compat:?}: {}",
            w.dump()
        );
        assert!(
            w.lines("B", secs(20.0), secs(40.0)).is_empty(),
            "{}",
            w.dump()
        );
        assert_eq!(
            (w.state(0, 0), w.state(1, 0)),
            (State::Master, State::Backup)
        );
        assert_eq!(w.vip_holders(0), ["A"]);
        assert_eq!(
            (w.hosts[0].notifies.len(), w.hosts[0].garps),
            (notifies, garps)
        );
        // 10 intervals of 2 s, plus the advert sent at once on reload.
        let now = w.hosts[0].vrrp.instances()[0].stats.adverts_sent;
        assert_eq!(now, sent + 11, "{compat:?}");
    }
}

// Input: A (MASTER) reloads a config without HA_1 at 20 s.
// Output: A resigns (priority 0, VIPs gone, FAULT notified as keepalived
// does for a deleted instance); B takes over after its skew, 0.566406 s.
#[test]
fn a_reload_that_drops_the_instance_resigns_it() {
    let mut w = settled(Compat::V2_2);
    w.reload(0, parse("global_defs {\n router_id haproxy-server\n}\n"));
    w.run_until(secs(30.0));
    assert_eq!(
        w.lines("A", secs(20.0), secs(30.0)),
        [
            "Reloading",
            "(HA_1) sent 0 priority",
            "(HA_1) removing VIPs."
        ],
        "{}",
        w.dump()
    );
    assert_eq!(
        w.hosts[0].notifies.last(),
        Some(&(secs(20.0), 0, NotifyState::Fault))
    );
    assert_eq!(
        w.when("B", "(HA_1) Entering MASTER STATE", secs(20.0)),
        Some(secs(20.566506)),
        "{}",
        w.dump()
    );
    assert_eq!(w.vip_holders(0), ["B"]);
}

// Input: A (MASTER) reloads with a second VIP at 20 s.
// Output: A stays MASTER without a state line and announces the VIPs
// once (keepalived's GARPs after an added address); B sees nothing.
#[test]
fn a_reload_adding_a_vip_announces_it_and_stays_master() {
    let mut w = settled(Compat::V2_2);
    let add = |t: &str| {
        t.replace(
            "192.168.66.10/24 dev eth0",
            "192.168.66.10/24 dev eth0\n        192.168.66.20/24 dev eth0",
        )
    };
    let mut backup = parse(&add(BACKUP));
    backup.global.compat = Compat::V2_2;
    w.reload(1, backup);
    w.reload(0, server_with(add, Compat::V2_2));
    w.run_until(secs(30.0));
    let lines = w.lines("A", secs(20.0), secs(30.0));
    assert_eq!(lines[0], "Reloading");
    assert!(
        lines.contains(
            &"(HA_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.66.20".to_owned()
        ),
        "{}",
        w.dump()
    );
    assert!(
        !lines.iter().any(|l| l.contains("Entering")),
        "{}",
        w.dump()
    );
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Backup)
    );
    assert_eq!(
        w.lines("B", secs(20.0), secs(30.0)),
        ["Reloading"],
        "{}",
        w.dump()
    );
}

// Input: A reloads with a second instance (VRID 81) at 20 s.
// Output: HA_1 keeps MASTER silently; HA_2 starts as at start-up and,
// alone on its VRID, becomes MASTER after its master down interval.
#[test]
fn a_reload_starts_a_new_instance_as_at_start_up() {
    let mut w = settled(Compat::V2_2);
    let second = |t: &str| {
        let ha2 = t[t.find("vrrp_instance").expect("instance")..]
            .replace("HA_1", "HA_2")
            .replace("virtual_router_id 80", "virtual_router_id 81")
            .replace("192.168.66.10/24", "192.168.66.30/24");
        format!("{t}\n{ha2}")
    };
    w.reload(0, server_with(second, Compat::V2_2));
    w.run_until(secs(40.0));
    let lines = w.lines("A", secs(20.0), secs(20.01));
    assert_eq!(
        lines[..3],
        [
            "Reloading",
            "(HA_2) removing VIPs.",
            "(HA_2) Entering BACKUP STATE (init)"
        ],
        "{}",
        w.dump()
    );
    assert_eq!(
        (w.state(0, 0), w.state(0, 1)),
        (State::Master, State::Master),
        "{}",
        w.dump()
    );
    assert!(w
        .when("A", "(HA_1) Entering MASTER STATE", secs(20.0))
        .is_none());
}
