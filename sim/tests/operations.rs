//! What operators do on a scenario's timeline: runtime-API commands (a
//! server taken out and put back, a frontend paused and resumed, each
//! decided by core as in real mode) and restarts that take their time
//! (`[start_lag]`).

use haven_sim::{load, run};

const HAPROXY: &str = "\
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend www
    bind :80
    default_backend web

backend web
    balance roundrobin
    server s1 10.0.0.21:80
    server s2 10.0.0.22:80
";

/// The scenario: one proxy, two backends, a fixed 10 req/s client, and
/// `events` (TOML).
fn scenario(events: &str) -> String {
    format!(
        r#"
name = "api"
seed = 1
start = "2026-12-06 10:00:00"
duration = "40s"

[[host]]
name = "lb"
address = "10.0.0.11"
haproxy = "haproxy.cfg"

[[backend]]
address = "10.0.0.21:80"
service = "1ms"

[[backend]]
address = "10.0.0.22:80"
service = "1ms"

[[client]]
name = "probe"
target = "10.0.0.11:80"
rate = 10
distribution = "constant"
timeout = "2s"

{events}
"#
    )
}

/// (start s, server, status) of every request of a run of `events`.
fn requests(events: &str) -> Vec<(f64, String, u16)> {
    let read = |name: &str| match name {
        "haproxy.cfg" => Ok(HAPROXY.to_owned()),
        other => Err(format!("no file {other}")),
    };
    let sc = load("ops.toml", &scenario(events), &read, None).unwrap_or_else(|e| panic!("{e}"));
    let csv = run(&sc, None).requests_csv();
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().expect("start"),
                f[6].to_owned(),
                f[8].parse().expect("status"),
            )
        })
        .collect()
}

fn event(at: &str, command: &str) -> String {
    format!("[[event]]\nat = \"{at}\"\nhost = \"lb\"\naction = \"api {command}\"\n\n")
}

// Input: `disable server web/s1` at 10 s, `set server web/s1 state ready`
// at 20 s.
// Output: round robin over both before and after; only s2 between.
#[test]
fn a_server_disabled_takes_no_traffic_until_ready() {
    let events =
        event("10s", "disable server web/s1") + &event("20s", "set server web/s1 state ready");
    let got = requests(&events);
    let served_by = |from: f64, to: f64| -> Vec<&str> {
        let mut s: Vec<&str> = got
            .iter()
            .filter(|(t, ..)| *t >= from && *t < to)
            .map(|(_, s, _)| s.as_str())
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    assert_eq!(served_by(0.0, 10.0), ["s1", "s2"]);
    assert_eq!(served_by(10.05, 20.0), ["s2"]);
    assert_eq!(served_by(20.05, 40.0), ["s1", "s2"]);
    assert!(got.iter().all(|(.., status)| *status == 200));
}

// Input: `disable frontend www` at 10 s, `enable frontend www` at 15 s.
// Output: the requests sent meanwhile are not accepted and time out (5 s
// at 10 req/s: 50 of them); the others are answered.
#[test]
fn a_disabled_frontend_accepts_nothing_until_enabled() {
    let events = event("10s", "disable frontend www") + &event("15s", "enable frontend www");
    let got = requests(&events);
    let failed: Vec<f64> = got
        .iter()
        .filter(|(.., status)| *status != 200)
        .map(|(t, ..)| *t)
        .collect();
    assert_eq!(failed.len(), 50, "{failed:?}");
    assert!(
        failed.iter().all(|t| (10.0..15.0).contains(t)),
        "{failed:?}"
    );
}

// Input: commands naming what the config does not have, or no command.
// Output: the scenario does not load; the error says what, as haproxy
// would.
#[test]
fn unknown_names_and_commands_are_refused() {
    let read = |_: &str| Ok(HAPROXY.to_owned());
    for (command, said) in [
        ("disable server web/s9", "No such server: 'web/s9'."),
        ("disable server nope/s1", "No such backend: 'nope'."),
        ("disable frontend nope", "No such frontend: 'nope'."),
        ("set weight web/s1 300", "a weight is 0 to 256"),
        ("show stat", "expected one of"),
    ] {
        let err = load("api.toml", &scenario(&event("1s", command)), &read, None)
            .expect_err(command)
            .to_string();
        assert!(err.contains(said), "{command}: {err}");
    }
}

fn actions(list: &[(&str, &str)]) -> String {
    list.iter()
        .map(|(at, action)| {
            format!("[[event]]\nat = \"{at}\"\nhost = \"lb\"\naction = \"{action}\"\n\n")
        })
        .collect()
}

/// The failed requests' start times (s).
fn failures(events: &str) -> Vec<f64> {
    requests(events)
        .into_iter()
        .filter(|(.., status)| *status != 200)
        .map(|(t, ..)| t)
        .collect()
}

// Input: haproxy killed at 10 s and started at 20 s, with and without a
// 3 s start lag for haproxy.
// Output: the requests of 10 s to 20 s fail without the lag; with it, those
// of 10 s to 23 s (30 more at 10 req/s), and those of the first 3 s, as
// the first start takes its lag too.
#[test]
fn a_start_lag_delays_the_restart() {
    let restart = actions(&[("10s", "kill haproxy"), ("20s", "start haproxy")]);
    let plain = failures(&restart);
    let lagged = failures(&(restart.clone() + "[start_lag.haproxy]\nmean = \"3s\"\n"));
    assert_eq!(plain.len(), 100, "{plain:?}");
    assert_eq!(lagged.len(), 30 + 130, "{lagged:?}");
    let outside = |t: &f64| !(0.0..3.0).contains(t) && !(10.0..23.0).contains(t);
    assert!(!lagged.iter().any(outside), "{lagged:?}");
}

// Input: haproxy started at 20 s with a 3 s lag, and killed at 21 s.
// Output: the start never completes: every request from 10 s fails (and
// those of the first start's 3 s).
#[test]
fn a_kill_during_the_lag_cancels_the_start() {
    let events = actions(&[
        ("10s", "kill haproxy"),
        ("20s", "start haproxy"),
        ("21s", "kill haproxy"),
    ]) + "[start_lag.haproxy]\nmean = \"3s\"\n";
    let failed = failures(&events);
    assert_eq!(failed.len(), 30 + 300, "{failed:?}");
}

// Input: a log-normal start lag (mean 2 s), haproxy restarted 5 times.
// Output: the failures differ from a constant lag's (the lags vary) and
// are the same in two runs (drawn from the seed).
#[test]
fn lags_drawn_from_a_distribution_are_seeded() {
    let restarts: Vec<(String, &str)> = (0..5)
        .flat_map(|k| {
            [
                (format!("{}s", 5 + 6 * k), "kill haproxy"),
                (format!("{}s", 6 + 6 * k), "start haproxy"),
            ]
        })
        .collect();
    let list: Vec<(&str, &str)> = restarts.iter().map(|(t, a)| (t.as_str(), *a)).collect();
    let lag = |dist: &str| {
        format!("[start_lag.haproxy]\nmean = \"2s\"\ndistribution = \"{dist}\"\nstddev = \"1s\"\n")
    };
    let varied = failures(&(actions(&list) + &lag("lognormal")));
    assert_eq!(varied, failures(&(actions(&list) + &lag("lognormal"))));
    assert_ne!(
        varied.len(),
        failures(&(actions(&list) + &lag("constant"))).len()
    );
}
