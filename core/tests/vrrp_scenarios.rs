//! VRRP timelines at exact virtual times (spec/vrrp-keepalived.md §6),
//! reproduced by core's `Vrrp` daemons on an in-memory wire (100 µs
//! delay; tracked scripts answer after 1 ms). Instances come from the
//! book's keepalived.conf files.

mod harness;

use harness::{parse, secs, World};
use haven_core::config::keepalived::Compat;
use haven_core::time::Duration;
use haven_core::vrrp::{NotifyState, State};
use std::net::Ipv4Addr;

const SERVER: &str = include_str!("../../scenarios/book-14.3/keepalived-haproxy-server.conf");
const BACKUP: &str = include_str!("../../scenarios/book-14.3/keepalived-backup-haproxy.conf");
const HA1: &str = include_str!("../../scenarios/book-14.4/keepalived-haproxy1.conf");
const HA2: &str = include_str!("../../scenarios/book-14.4/keepalived-haproxy2.conf");
const IP_A: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 11);
const IP_B: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 12);
const WIRE: f64 = 0.0001;

/// The book-14.3 pair: A = haproxy-server (100, nopreempt), B = backup-haproxy (90).
fn book_143(compat: Compat) -> World {
    World::new(vec![("A", IP_A, parse(SERVER)), ("B", IP_B, parse(BACKUP))]).with_compat(compat)
}

fn garps(n: usize) -> Vec<String> {
    vec!["Sending gratuitous ARP on eth0 for 192.168.66.10".to_owned(); n]
}

// Input: both nodes start at t=0, haproxy running (spec §6.1 a).
// Output: A MASTER at 6.527343 s (skew from 121), its GARP bursts at
// 6.527343 and 11.527343; B stays BACKUP.
#[test]
fn v2_start_up_a_becomes_master_at_6_527343() {
    let mut w = book_143(Compat::V2_2);
    w.start(0);
    w.start(1);
    w.run_until(secs(12.0));
    assert_eq!(
        w.lines("A", secs(0.0), secs(0.001)),
        [
            "(HA_1) removing VIPs.",
            "(HA_1) Entering BACKUP STATE (init)",
            "VRRP_Script(check_haproxy) succeeded",
            "(HA_1) Changing effective priority from 100 to 121",
        ],
        "{}",
        w.dump()
    );
    let mut at_master = vec![
        "(HA_1) Receive advertisement timeout".to_owned(),
        "(HA_1) Entering MASTER STATE".to_owned(),
        "(HA_1) setting VIPs.".to_owned(),
        "(HA_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.66.10".to_owned(),
    ];
    at_master.extend(garps(5));
    assert_eq!(
        w.lines("A", secs(6.527343), secs(6.527343)),
        at_master,
        "{}",
        w.dump()
    );
    assert_eq!(
        w.lines("A", secs(0.002), secs(6.527342)),
        Vec::<String>::new()
    );
    let mut second =
        vec!["(HA_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.66.10".to_owned()];
    second.extend(garps(5));
    assert_eq!(w.lines("A", secs(11.527343), secs(11.527343)), second);
    assert_eq!(
        w.lines("B", secs(0.002), secs(12.0)),
        Vec::<String>::new(),
        "{}",
        w.dump()
    );
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Backup)
    );
    assert_eq!(w.vip_holders(0), ["A"]);
}

// Input: steady state, then haproxy killed on A at 19.5 s, restarted at
// 31 s, then keepalived restarted on A at 60 s (spec §6.1 b–d).
// Output: B MASTER 6.566406 s after A's last 121-advert arrives; A steps
// down on B's first advert; nopreempt keeps B master through (c) and (d).
#[test]
fn v2_failover_recovery_and_restart() {
    let mut w = book_143(Compat::V2_2);
    w.start(0);
    w.start(1);
    w.run_until(secs(19.5));
    w.hosts[0].haproxy_alive = false;
    w.run_until(secs(31.0));
    // (b) A's script fails at its 20 s run; its adverts carry 100 from 20.527343.
    assert_eq!(
        w.lines("A", secs(20.0), secs(20.001)),
        [
            "Script `check_haproxy` now returning 1",
            "VRRP_Script(check_haproxy) failed (exited with status 1)",
            "(HA_1) Changing effective priority from 121 to 100",
        ]
    );
    let discard = "(HA_1) received lower priority (100) advert from 192.168.66.11 - discarding";
    for t in [20.527443, 22.527443, 24.527443] {
        assert_eq!(
            w.lines("B", secs(t), secs(t)),
            [discard],
            "at {t}\n{}",
            w.dump()
        );
    }
    // Last 121-advert: sent 18.527343, heard by B at 18.527443.
    let takeover = secs(18.527443) + Duration::from_micros(6_566_406);
    assert_eq!(takeover, secs(25.093849));
    assert_eq!(
        w.when("B", "(HA_1) Entering MASTER STATE", secs(19.0)),
        Some(takeover),
        "{}",
        w.dump()
    );
    assert_eq!(
        w.lines("A", takeover, takeover + Duration::from_micros(100)),
        [
            "(HA_1) Master received advert from 192.168.66.12 with higher priority 111, ours 100",
            "(HA_1) Entering BACKUP STATE",
            "(HA_1) removing VIPs.",
        ]
    );
    assert_eq!(
        w.when(
            "B",
            "(HA_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.66.10",
            takeover + Duration::from_secs(1)
        ),
        Some(takeover + Duration::from_secs(5)),
        "second burst exactly garp_master_delay later"
    );
    assert_eq!(w.vip_holders(0), ["B"]);

    // (c) haproxy back on A: priority 121 again, but nopreempt: no transition.
    w.hosts[0].haproxy_alive = true;
    w.run_until(secs(60.0));
    assert_eq!(
        w.lines("A", secs(31.0), secs(60.0)),
        [
            "Script `check_haproxy` now returning 0",
            "VRRP_Script(check_haproxy) succeeded",
            "(HA_1) Changing effective priority from 100 to 121",
        ]
    );
    assert_eq!(w.lines("B", secs(31.0), secs(60.0)), Vec::<String>::new());

    // (d) keepalived restarted on A (a BACKUP: no priority-0 advert).
    w.stop(0);
    w.start(0);
    w.run_until(secs(90.0));
    assert_eq!(
        w.lines("A", secs(60.0), secs(90.0)),
        [
            "(HA_1) removing VIPs.",
            "(HA_1) Entering BACKUP STATE (init)",
            "VRRP_Script(check_haproxy) succeeded",
            "(HA_1) Changing effective priority from 100 to 121",
        ]
    );
    assert_eq!(w.lines("B", secs(60.0), secs(90.0)), Vec::<String>::new());
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Backup, State::Master)
    );
    // notify_* for every state change, including the start-up BACKUP.
    let a: Vec<_> = w.hosts[0]
        .notifies
        .iter()
        .map(|(t, _, s)| (*t, *s))
        .collect();
    assert_eq!(
        a,
        [
            (secs(0.0), NotifyState::Backup),
            (secs(6.527343), NotifyState::Master),
            (takeover + Duration::from_micros(100), NotifyState::Backup),
            (secs(60.0), NotifyState::Stop),
            (secs(60.0), NotifyState::Backup),
        ]
    );
    let b: Vec<_> = w.hosts[1]
        .notifies
        .iter()
        .map(|(t, _, s)| (*t, *s))
        .collect();
    assert_eq!(
        b,
        [
            (secs(0.0), NotifyState::Backup),
            (takeover, NotifyState::Master)
        ]
    );
}

// Input: B starts first and becomes MASTER (111); A (121, nopreempt)
// follows; at 20 s keepalived on B stops gracefully.
// Output: A takes over after its skew only: 0.527343 s after the
// priority-0 advert arrives. B keeps its VIPs until A's first advert
// reaches it and 200 ms more (make-before-break), then removes them.
#[test]
fn v2_priority_zero_takeover_after_skew() {
    let mut w = book_143(Compat::V2_2);
    w.start(1);
    w.run_until(secs(1.0));
    w.start(0);
    w.run_until(secs(20.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Backup, State::Master),
        "{}",
        w.dump()
    );
    w.stop(1);
    assert_eq!(
        w.lines("B", secs(20.0), secs(20.0)),
        ["(HA_1) sent 0 priority"]
    );
    w.run_until(secs(25.0));
    assert_eq!(
        w.when(
            "A",
            "(HA_1) Backup received priority 0 advertisement",
            secs(20.0)
        ),
        Some(secs(20.0 + WIRE))
    );
    let takeover = secs(20.0 + WIRE) + Duration::from_micros(527_343);
    assert_eq!(
        w.when("A", "(HA_1) Entering MASTER STATE", secs(20.0)),
        Some(takeover),
        "{}",
        w.dump()
    );
    assert_eq!(
        w.when("B", "(HA_1) removing VIPs.", secs(20.0)),
        Some(takeover + Duration::from_micros(100) + Duration::from_millis(200)),
        "{}",
        w.dump()
    );
}

// Input: B alone is MASTER (advert_int 2); its keepalived stops
// gracefully with no other router to take over.
// Output: B holds the VIPs for 3 advert intervals, then removes them;
// in 1.2 mode (keepalived's behaviour) it removes them at once.
#[test]
fn a_stopping_master_alone_lets_its_vips_go_after_three_intervals() {
    for (compat, wait, line) in [
        (Compat::V2_2, 6.0, "(HA_1) removing VIPs."),
        (
            Compat::V1_2,
            0.0,
            "VRRP_Instance(HA_1) removing protocol VIPs.",
        ),
    ] {
        let mut w = book_143(compat);
        w.start(1);
        w.run_until(secs(20.0));
        assert_eq!(w.state(1, 0), State::Master, "{}", w.dump());
        w.stop(1);
        w.run_until(secs(30.0));
        assert_eq!(
            w.when("B", line, secs(20.0)),
            Some(secs(20.0 + wait)),
            "{compat:?}: {}",
            w.dump()
        );
    }
}

/// Two plain instances at priority 100, no scripts.
fn equal_pair() -> World {
    let conf = |prio: u8| {
        parse(&format!(
            "vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority {prio}\n advert_int 1\n virtual_ipaddress {{\n  10.0.0.1/24\n }}\n}}\n"
        ))
    };
    World::new(vec![("A", IP_A, conf(100)), ("B", IP_B, conf(100))])
}

// Input: equal priorities; A starts first, B (higher address) a second later.
// Output: B never preempts. After a partition both are MASTER; on heal
// the lower address (A) yields to the higher one (B).
#[test]
fn v2_equal_priority_backup_never_preempts_and_masters_resolve_by_address() {
    let mut w = equal_pair();
    w.start(0);
    w.run_until(secs(1.0));
    w.start(1);
    w.run_until(secs(30.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Backup),
        "{}",
        w.dump()
    );
    assert_eq!(
        w.when("A", "(VI_1) Entering MASTER STATE", secs(0.0)),
        Some(secs(3.609375))
    );

    w.cut = vec![0, 1];
    w.run_until(secs(40.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Master, State::Master),
        "split brain"
    );
    w.cut.clear();
    w.run_until(secs(45.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Backup, State::Master),
        "{}",
        w.dump()
    );
    let heal = w
        .log
        .iter()
        .find(|l| l.at >= secs(40.0) && l.host == "A")
        .map(|l| l.text.clone());
    assert_eq!(
        heal.as_deref(),
        Some("(VI_1) Master received advert from 192.168.66.12 with same priority 100 but higher IP address than ours")
    );
    assert_eq!(w.vip_holders(0), ["B"]);
}

/// book-14.3 with the tracking script at weight 0 (FAULT while failing).
fn weight_zero_pair() -> World {
    let zero = |text: &str| parse(&text.replace("weight 21", "weight 0"));
    World::new(vec![("A", IP_A, zero(SERVER)), ("B", IP_B, zero(BACKUP))])
}

// Input: weight-0 check; haproxy dies on master A at 19.5 s, returns at 30 s.
// Output: A held in FAULT silently until its first script result, then
// BACKUP; on failure FAULT with a priority-0 advert (B takes over after
// skew); on recovery BACKUP again.
#[test]
fn v2_weight_zero_script_faults_and_recovers() {
    let mut w = weight_zero_pair();
    w.start(0);
    w.start(1);
    w.run_until(secs(0.001));
    assert_eq!(
        w.lines("A", secs(0.0), secs(0.001)),
        [
            "(HA_1) removing VIPs.",
            "VRRP_Script(check_haproxy) succeeded",
            "(HA_1) Entering BACKUP STATE"
        ]
    );
    w.run_until(secs(19.5));
    assert_eq!(w.state(0, 0), State::Master, "{}", w.dump());
    w.hosts[0].haproxy_alive = false;
    w.run_until(secs(30.0));
    assert_eq!(
        w.lines("A", secs(20.001), secs(20.001)),
        [
            "Script `check_haproxy` now returning 1",
            "VRRP_Script(check_haproxy) failed (exited with status 1)",
            "(HA_1) Entering FAULT STATE",
            "(HA_1) removing VIPs.",
        ]
    );
    assert_eq!(w.state(0, 0), State::Fault);
    let takeover = secs(20.001 + WIRE) + Duration::from_micros(648_437);
    assert_eq!(
        w.when("B", "(HA_1) Entering MASTER STATE", secs(20.0)),
        Some(takeover),
        "{}",
        w.dump()
    );
    w.hosts[0].haproxy_alive = true;
    w.run_until(secs(40.0));
    assert_eq!(
        w.when("A", "(HA_1) Entering BACKUP STATE", secs(30.0)),
        Some(secs(32.001))
    );
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Backup, State::Master)
    );
}

// Input: book-14.4 dual master (each node MASTER of one VIP); haproxy1's
// haproxy dies at 19.5 s and returns at 40 s.
// Output: each node owns its VIP; then haproxy2 holds both; then each
// takes its own back (preempt).
#[test]
fn v2_dual_master_fails_over_and_back() {
    let mut w = World::new(vec![
        ("haproxy1", IP_A, parse(HA1)),
        ("haproxy2", IP_B, parse(HA2)),
    ]);
    w.start(0);
    w.start(1);
    w.run_until(secs(19.5));
    assert_eq!(
        (w.vip_holders(0), w.vip_holders(1)),
        (vec!["haproxy1".to_owned()], vec!["haproxy2".to_owned()])
    );
    // state MASTER waits one interval + skew, but the priority change to
    // 121 shifts that wait to a full master-down interval, as keepalived does.
    assert_eq!(
        w.when("haproxy1", "(HAProxy_HA1) Entering MASTER STATE", secs(0.0)),
        Some(secs(6.527343)),
        "{}",
        w.dump()
    );
    w.hosts[0].haproxy_alive = false;
    w.run_until(secs(40.0));
    assert_eq!(
        (w.vip_holders(0), w.vip_holders(1)),
        (vec!["haproxy2".to_owned()], vec!["haproxy2".to_owned()])
    );
    w.hosts[0].haproxy_alive = true;
    w.run_until(secs(60.0));
    assert_eq!(
        (w.vip_holders(0), w.vip_holders(1)),
        (vec!["haproxy1".to_owned()], vec!["haproxy2".to_owned()]),
        "{}",
        w.dump()
    );
    // haproxy1 preempts 6.527343 s after the last 111-advert it accepted.
    let back = w
        .when(
            "haproxy1",
            "(HAProxy_HA1) Entering MASTER STATE",
            secs(40.0),
        )
        .expect("takes HA1 back");
    assert!(
        back > secs(40.001) && back <= secs(40.001) + Duration::from_micros(6_527_343 + 2_000_000),
        "{back}"
    );
}

// Input: keepalived 1.x behaviour, -D; both start at 0; haproxy killed on
// A at 19.5 s (spec §6.2, the book's April 4 log).
// Output: the book's line sequence on both nodes, with 1.x's gaps: two
// "forcing" lines, Transition one advert_int later, Entering one more
// advert_int later, second GARP burst 5 s after that.
#[test]
fn v1_april_4_line_sequence_and_gaps() {
    let mut w = book_143(Compat::V1_2);
    w.start(0);
    w.start(1);
    w.run_until(secs(19.5));
    // (a) in 1.x: A times out at 6.609375 (skew from base 100), VIPs 2 s later.
    assert_eq!(
        w.when(
            "A",
            "VRRP_Instance(HA_1) Transition to MASTER STATE",
            secs(0.0)
        ),
        Some(secs(6.609375))
    );
    assert_eq!(
        w.when("A", "VRRP_Instance(HA_1) Entering MASTER STATE", secs(0.0)),
        Some(secs(8.609375))
    );
    w.hosts[0].haproxy_alive = false;
    w.run_until(secs(40.0));

    let t = w
        .when(
            "B",
            "VRRP_Instance(HA_1) forcing a new MASTER election",
            secs(19.5),
        )
        .expect("election forced");
    // A's script fails at 20.001, its priority poll lowers it at 22, and
    // its next advert (22.609375) carries 100.
    assert_eq!(t, secs(22.609375 + WIRE), "{}", w.dump());
    let ms = |x: f64| t + Duration::from_micros((x * 1e6) as u64);
    assert_eq!(
        w.lines("A", t, ms(1.0)),
        [
            "VRRP_Instance(HA_1) Received higher prio advert",
            "VRRP_Instance(HA_1) Entering BACKUP STATE",
            "VRRP_Instance(HA_1) removing protocol VIPs.",
            "Netlink reflector reports IP 192.168.66.10 removed",
        ]
    );
    assert_eq!(
        w.lines("B", t, ms(20.0)),
        [
            "VRRP_Instance(HA_1) forcing a new MASTER election",
            "VRRP_Instance(HA_1) forcing a new MASTER election",
            "VRRP_Instance(HA_1) Transition to MASTER STATE",
            "VRRP_Instance(HA_1) Entering MASTER STATE",
            "VRRP_Instance(HA_1) setting protocol VIPs.",
            "VRRP_Instance(HA_1) Sending gratuitous ARPs on eth0 for 192.168.66.10",
            "Netlink reflector reports IP 192.168.66.10 added",
            "VRRP_Instance(HA_1) Sending gratuitous ARPs on eth0 for 192.168.66.10",
        ],
        "{}",
        w.dump()
    );
    let second_forcing = ms(2.0 * WIRE);
    let at = |text: &str, from| w.when("B", text, from).expect(text);
    assert_eq!(
        at("VRRP_Instance(HA_1) Transition to MASTER STATE", t),
        second_forcing + Duration::from_secs(2)
    );
    assert_eq!(
        at("VRRP_Instance(HA_1) Entering MASTER STATE", t),
        second_forcing + Duration::from_secs(4)
    );
    assert_eq!(
        at(
            "VRRP_Instance(HA_1) Sending gratuitous ARPs on eth0 for 192.168.66.10",
            second_forcing + Duration::from_secs(5)
        ),
        second_forcing + Duration::from_secs(9)
    );
    assert_eq!(
        w.log
            .iter()
            .filter(|l| l.host == "A" && l.at > ms(1.0))
            .count(),
        0,
        "A quiet afterwards (nopreempt)"
    );
}

// Input: the lab config of spec §1.4 (VRID 51, priority 100, VIP
// 192.168.66.10, advert_int 2, PASS 1111) on 192.168.66.11, alone.
// Output: its first advert, encoded, is byte for byte keepalived 2.2.7's.
#[test]
fn our_first_advert_is_keepalived_s_bytes() {
    let conf = parse(
        "vrrp_instance HA_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 2\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n virtual_ipaddress {\n  192.168.66.10/24\n }\n}\n",
    );
    let mut vrrp = haven_core::vrrp::Vrrp::new(
        &conf,
        &haven_core::vrrp::HostInfo {
            interfaces: [("eth0".to_owned(), IP_A.into())].into(),
            hostname: "a".into(),
            ..Default::default()
        },
    )
    .expect("runs");
    let mut sched = haven_core::sched::Scheduler::new();
    vrrp.start(secs(0.0), &mut sched);
    let (at, timer) = sched.pop_due(secs(10.0)).expect("master-down armed");
    assert_eq!(at, secs(6.609375));
    vrrp.handle_timer(at, timer, &mut sched);
    let advert = std::iter::from_fn(|| vrrp.poll_output())
        .find_map(|o| match o {
            haven_core::vrrp::Output::Advert {
                src,
                dst,
                advert,
                ip_id,
                ..
            } => Some((src, dst, advert, ip_id)),
            _ => None,
        })
        .expect("an advert on becoming master");
    let (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) = (advert.0, advert.1) else {
        panic!("IPv4")
    };
    let bytes = advert.2.encode_ipv4(src, dst, advert.3);
    let lab: Vec<u8> = "45 c0 00 28 00 01 00 00 ff 70 d7 de c0 a8 42 0b e0 00 00 12 21 33 64 01 01 02 14 b4 c0 a8 42 0a 31 31 31 31 00 00 00 00"
        .split(' ')
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect();
    assert_eq!(bytes, lab);
}

// Input: as §6.1 b, but B has `preempt_delay 10`; haproxy dies on A at 19.5 s.
// Output: B accepts A's lower adverts for 10 s after the first one, then
// discards them and takes over one master-down interval after the last
// one it accepted.
#[test]
fn v2_preempt_delay_postpones_the_takeover() {
    let delayed = BACKUP.replace("advert_int 2", "advert_int 2\n    preempt_delay 10");
    let mut w = World::new(vec![
        ("A", IP_A, parse(SERVER)),
        ("B", IP_B, parse(&delayed)),
    ]);
    w.start(0);
    w.start(1);
    w.run_until(secs(19.5));
    w.hosts[0].haproxy_alive = false;
    w.run_until(secs(40.0));
    let discard = "(HA_1) received lower priority (100) advert from 192.168.66.11 - discarding";
    assert_eq!(
        w.when("B", discard, secs(19.5)),
        Some(secs(30.527443)),
        "{}",
        w.dump()
    );
    assert_eq!(
        w.when("B", "(HA_1) Entering MASTER STATE", secs(19.5)),
        Some(secs(28.527443) + Duration::from_micros(6_566_406))
    );
}

// Input: A is MASTER; its interface (tracked implicitly, weight 0) goes
// down at 20 s and up at 30 s.
// Output: FAULT with a priority-0 advert (B takes over after its skew),
// then BACKUP again when the link returns.
#[test]
fn v2_own_interface_down_is_a_fault() {
    let mut w = book_143(Compat::V2_2);
    w.start(0);
    w.start(1);
    w.run_until(secs(20.0));
    w.link(0, false);
    assert_eq!(
        w.lines("A", secs(20.0), secs(20.0)),
        [
            "Netlink reports eth0 down",
            "(HA_1) Entering FAULT STATE",
            "(HA_1) removing VIPs."
        ]
    );
    w.run_until(secs(30.0));
    assert_eq!(
        w.when("B", "(HA_1) Entering MASTER STATE", secs(20.0)),
        Some(secs(20.0 + WIRE) + Duration::from_micros(566_406))
    );
    w.link(0, true);
    assert_eq!(
        w.lines("A", secs(30.0), secs(30.0)),
        ["Netlink reports eth0 up", "(HA_1) Entering BACKUP STATE"]
    );
    w.run_until(secs(40.0));
    assert_eq!(
        (w.state(0, 0), w.state(1, 0)),
        (State::Backup, State::Master),
        "nopreempt on A"
    );
}

// Input: two instances with `smtp_alert`, a mail server and recipients in
// global_defs, `router_id` set on A only; A starts first, B a second later
// with a higher priority and preempts.
// Output: each state change is mailed once with keepalived's subject
// (router_id, else the host name).
#[test]
fn mail_alerts_follow_state_changes() {
    let conf = |prio: u8, router: &str| {
        parse(&format!(
            "global_defs {{\n {router}\n notification_email {{\n  ops@example.com\n }}\n smtp_server 10.0.0.9\n}}\nvrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority {prio}\n advert_int 1\n smtp_alert\n virtual_ipaddress {{\n  10.0.0.1/24\n }}\n}}\n"
        ))
    };
    let mut w = World::new(vec![
        ("A", IP_A, conf(100, "router_id lb-a")),
        ("B", IP_B, conf(150, "")),
    ]);
    w.start(0);
    w.run_until(secs(1.0));
    w.start(1);
    w.run_until(secs(10.0));
    let subjects =
        |h: usize| -> Vec<String> { w.hosts[h].mails.iter().map(|(_, s)| s.clone()).collect() };
    assert_eq!(
        subjects(0),
        [
            "[lb-a] VRRP Instance VI_1 - Entering BACKUP state",
            "[lb-a] VRRP Instance VI_1 - Entering MASTER state",
            "[lb-a] VRRP Instance VI_1 - Entering BACKUP state",
        ],
        "{}",
        w.dump()
    );
    let b_host = IP_B.to_string();
    assert_eq!(
        subjects(1),
        [
            format!("[{b_host}] VRRP Instance VI_1 - Entering BACKUP state"),
            format!("[{b_host}] VRRP Instance VI_1 - Entering MASTER state"),
        ]
    );
}
