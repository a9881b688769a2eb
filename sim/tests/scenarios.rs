//! Every shipped scenario: its expectations hold, and two runs with the
//! same seed produce the same bytes.

// Tests read the shipped scenario files; the world itself never does.
#![allow(clippy::disallowed_methods)]

use haven_sim::{load, run, Loaded};
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn load_file(name: &str) -> Loaded {
    let dir = scenarios_dir();
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).expect("scenario readable");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    load(name, &text, &read, None).unwrap_or_else(|e| panic!("{e}"))
}

fn shipped() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

/// Everything a run writes, concatenated.
fn outputs(sc: &Loaded, seed: Option<u64>) -> String {
    let rec = run(sc, seed);
    let mut all: String = rec
        .syslog_files()
        .into_iter()
        .map(|(h, body)| format!("== {h}\n{body}"))
        .collect();
    all.push_str(&rec.timeline_csv());
    all.push_str(&rec.requests_csv());
    all.push_str(&rec.summary_json());
    all
}

#[test]
fn every_shipped_scenario_meets_its_expectations() {
    let names = shipped();
    assert!(names.len() >= 5, "{names:?}");
    // bench-* scenarios carry no expectations: tests/queueing.rs checks them.
    for name in names.into_iter().filter(|n| !n.starts_with("bench-")) {
        let sc = load_file(&name);
        let rec = run(&sc, None);
        assert!(rec.all_passed(), "{name}:\n{}", rec.summary_text());
    }
}

#[test]
fn same_seed_same_bytes() {
    for name in shipped() {
        let mut sc = load_file(&name);
        // Long traffic runs: their first 30 s are as telling.
        sc.duration = sc.duration.min(haven_core::time::Duration::from_secs(30));
        assert_eq!(outputs(&sc, Some(42)), outputs(&sc, Some(42)), "{name} is not deterministic (seed 42): rerun with `haven sim scenarios/{name} --seed 42`");
    }
}

// Input: the 2.2 variant of April 4.
// Output: backup-haproxy adds the VIP exactly 6.566406 s after hearing the
// last 121-advert (sent 18.527343 s, heard 100 us later): 25.093849 s.
#[test]
fn v2_vip_move_lands_to_the_microsecond() {
    let sc = load_file("april4-failover-2x.toml");
    let csv = run(&sc, None).timeline_csv();
    assert!(
        csv.contains("\n25.093849,backup-haproxy,vip_add,HA_1,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\n25.093949,haproxy-server,vip_remove,HA_1,\n"),
        "{csv}"
    );
}

#[test]
fn jittery_lossy_network_stays_deterministic_per_seed() {
    let mut sc = load_file("split-brain.toml");
    sc.jitter = haven_core::time::Duration::from_millis(2);
    sc.loss = 0.05;
    let a = outputs(&sc, Some(7));
    assert_eq!(a, outputs(&sc, Some(7)));
    assert_ne!(
        a,
        outputs(&sc, Some(8)),
        "the seed matters when the network draws"
    );
}

// Input: the book-14.3 pair on a normally distributed latency; every frame
// is lost from 20 s to 40 s (a loss burst), and the ARP cache asks again
// every 10 s.
// Output: two MASTERs during the burst, one after; the run is
// deterministic for its seed.
#[test]
fn loss_burst_and_latency_distribution() {
    let dir = scenarios_dir();
    let text = r#"
name = "burst"
start = "2015-04-04 12:00:00"
duration = "60s"
[network]
latency = "200us"
distribution = "normal"
stddev = "50us"
arp_timeout = "10s"
[[host]]
name = "a"
address = "192.168.66.11"
keepalived = "book-14.3/keepalived-haproxy-server.conf"
[[host]]
name = "b"
address = "192.168.66.12"
keepalived = "book-14.3/keepalived-backup-haproxy.conf"
[[event]]
at = "20s"
action = "loss 1"
[[event]]
at = "40s"
action = "loss 0"
[[expect]]
at = "35s"
instance = "HA_1"
state = "b=MASTER"
[[expect]]
at = "35s"
instance = "HA_1"
state = "a=MASTER"
[[expect]]
at = "60s"
instance = "HA_1"
vip_owner = "a"
"#;
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let sc = load("burst.toml", text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    let rec = run(&sc, None);
    assert!(rec.all_passed(), "{}", rec.summary_text());
    assert_eq!(outputs(&sc, None), outputs(&sc, None));
}

// Input: backend-flap (webapp1 refuses from 10 s to 30 s; inter 2 s,
// rise 2, fall 3; each probe takes a 0.2 ms round trip).
// Output: DOWN at its third failed check (14.0016 s), UP at its second
// good one (32.0034 s); no client request fails.
#[test]
fn backend_flap_health_times_and_no_failure() {
    let sc = load_file("backend-flap.toml");
    let rec = run(&sc, None);
    let csv = rec.timeline_csv();
    assert!(
        csv.contains("\n14.001600,lb,server_down,,server_www/webapp1\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\n32.003400,lb,server_up,,server_www/webapp1\n"),
        "{csv}"
    );
    let l = rec.latency.as_ref().expect("traffic");
    assert_eq!(l.failed, 0);
    assert!(l.requests > 3_800, "{}", l.requests);
    assert!(
        rec.requests_csv()
            .lines()
            .any(|r| r.contains(",server_www,webapp2,2,200,")),
        "redispatched requests tried twice"
    );
}

// Input: the April 4 replay, its users first as shipped, then retrying
// failed requests up to 3 times, then opening a connection per request.
// Output: retries hide most of the failover; a handshake per request adds
// one round trip (2 × 100 us) to the mean latency.
#[test]
fn client_retries_and_keepalive() {
    let base = load_file("april4-failover.toml");
    let stats = |sc: &Loaded| run(sc, None).latency.expect("traffic");
    let plain = stats(&base);
    let mut retrying = base.clone();
    retrying.clients[0].retries = 3;
    let retried = stats(&retrying);
    assert!(
        retried.failed * 2 < plain.failed,
        "{} vs {}",
        retried.failed,
        plain.failed
    );
    let mut fresh = base.clone();
    fresh.clients[0].keepalive = false;
    let handshakes = stats(&fresh);
    let extra = handshakes.mean_ms - plain.mean_ms;
    assert!((0.15..0.25).contains(&extra), "extra {extra} ms");
}

/// The book-14.3 pair (keepalived only) with `extra` (events and
/// expectations) appended, run once.
fn book_pair_with(extra: &str) -> haven_sim::Recorder {
    let dir = scenarios_dir();
    let text = format!(
        "name = \"pair\"\nstart = \"2015-04-04 12:00:00\"\nduration = \"60s\"\n[[host]]\nname = \"a\"\naddress = \"192.168.66.11\"\nkeepalived = \"book-14.3/keepalived-haproxy-server.conf\"\n[[host]]\nname = \"b\"\naddress = \"192.168.66.12\"\nkeepalived = \"book-14.3/keepalived-backup-haproxy.conf\"\n{extra}"
    );
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let sc = load("pair.toml", &text, &read, None).unwrap_or_else(|e| panic!("{e}"));
    run(&sc, None)
}

// Found by chaos. Input: keepalived killed on the MASTER (a) at 20 s, b
// takes over; a's keepalived starts again at 40 s.
// Output: at 45 s b alone holds the VIP: the new keepalived removed what
// the killed one left on a's interface, as keepalived does at start.
#[test]
fn a_restarted_keepalived_clears_the_vips_a_killed_one_left() {
    let rec = book_pair_with(
        "[[event]]\nat = \"20s\"\nhost = \"a\"\naction = \"kill keepalived\"\n[[event]]\nat = \"40s\"\nhost = \"a\"\naction = \"start keepalived\"\n[[expect]]\nat = \"35s\"\ninstance = \"HA_1\"\nstate = \"b=MASTER\"\n[[expect]]\nat = \"45s\"\ninstance = \"HA_1\"\nvip_owner = \"b\"\n",
    );
    assert!(rec.all_passed(), "{}", rec.summary_text());
}

// Found by chaos. Input: host a crashes at 20 s; "start keepalived" on it
// at 30 s, before it boots.
// Output: nothing runs on a crashed host: at 45 s b alone holds the VIP.
#[test]
fn nothing_starts_on_a_crashed_host() {
    let rec = book_pair_with(
        "[[event]]\nat = \"20s\"\nhost = \"a\"\naction = \"crash\"\n[[event]]\nat = \"30s\"\nhost = \"a\"\naction = \"start keepalived\"\n[[expect]]\nat = \"45s\"\ninstance = \"HA_1\"\nvip_owner = \"b\"\n",
    );
    assert!(rec.all_passed(), "{}", rec.summary_text());
}
