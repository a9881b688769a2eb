//! `haven sim` end to end: the April 4 replay against the book's log and
//! golden files, and scenario errors.
//!
//! `HAVEN_UPDATE_GOLDEN=1 cargo test --test sim_cli` rewrites
//! `tests/golden/`; review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn haven_sim(scenario: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_haven"))
        .args(["sim", &format!("{ROOT}/scenarios/{scenario}"), "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("haven runs")
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The book's excerpt: (host, line) for each non-comment line.
fn book_lines() -> Vec<(String, String)> {
    read(Path::new(ROOT).join("scenarios/book-14.3/failover-apr4.log"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            (
                l.split_whitespace().nth(3).unwrap_or("").to_owned(),
                l.to_owned(),
            )
        })
        .collect()
}

// Input: scenarios/april4-failover.toml --log-style 1x.
// Output: on each host, the keepalived lines between the excerpt's first
// and last timestamps are exactly the book's (text, order, second).
#[test]
fn april4_replay_matches_the_book_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = haven_sim("april4-failover.toml", dir.path(), &["--log-style", "1x"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let book = book_lines();
    for host in ["haproxy-server", "backup-haproxy"] {
        let expected: Vec<&String> = book
            .iter()
            .filter(|(h, _)| h == host)
            .map(|(_, l)| l)
            .collect();
        let stamp = |l: &str| l[..15].to_owned();
        let (first, last) = (stamp(expected[0]), stamp(expected[expected.len() - 1]));
        let ours = read(dir.path().join(format!("{host}.log")));
        let window: Vec<&str> = ours
            .lines()
            .filter(|l| l.contains(" Keepalived") && stamp(l) >= first && stamp(l) <= last)
            .collect();
        assert_eq!(window, expected, "{host}");
    }
}

// Input: the April 4 replay. Output: every file byte for byte as in
// tests/golden/april4-failover/.
#[test]
fn april4_outputs_match_golden_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = haven_sim("april4-failover.toml", dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    let golden = Path::new(ROOT).join("tests/golden/april4-failover");
    let update = std::env::var_os("HAVEN_UPDATE_GOLDEN").is_some();
    for file in [
        "haproxy-server.log",
        "backup-haproxy.log",
        "timeline.csv",
        "requests.csv",
        "summary.json",
    ] {
        let got = read(dir.path().join(file));
        if update {
            std::fs::create_dir_all(&golden).expect("golden dir");
            std::fs::write(golden.join(file), &got).expect("write golden");
        } else {
            assert_eq!(
                got,
                read(golden.join(file)),
                "{file} differs from its golden copy"
            );
        }
    }
}

// Input: the April 4 replay with `--seed 7`.
// Output: summary.json records seed 7 (it used to record the scenario's
// own), and the first failover's times are numbers of seconds.
#[test]
fn summary_records_the_seed_run_and_times_as_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = haven_sim("april4-failover.toml", dir.path(), &["--seed", "7"]);
    assert!(out.status.code().is_some(), "haven sim ran");
    let summary: serde_json::Value =
        serde_json::from_str(&read(dir.path().join("summary.json"))).expect("JSON");
    assert_eq!(summary["seed"], 7);
    let first = &summary["failovers"][0];
    assert_eq!(first["at"].as_f64(), Some(19.5), "{first}");
    for key in ["detected", "vip_moved", "arp_converged", "client_downtime"] {
        assert!(first[key].is_f64(), "{key}: {}", first[key]);
    }
}

// Input: a scenario with a typo'd action. Output: file:line:col error,
// exit 1, no outputs written.
#[test]
fn scenario_errors_are_located_and_nothing_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("bad.toml");
    std::fs::write(
        &scenario,
        "name = \"bad\"\nduration = \"10s\"\nstart = \"2015-04-04 20:00:00\"\n\n[[host]]\nname = \"a\"\naddress = \"10.0.0.1\"\n\n[[event]]\nat = \"1s\"\nhost = \"a\"\naction = \"kil haproxy\"\n",
    )
    .expect("write scenario");
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_haven"))
        .args(["sim"])
        .arg(&scenario)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("haven runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:12:10: unknown action 'kil haproxy'"),
        "{err}"
    );
    assert!(!out_dir.exists(), "nothing ran");
}

// Input: `haven sim dual-master.toml --chaos 20`, then `--chaos 1 --seed 5`.
// Output: 20 schedules, none breaking an invariant (exit 0); the single
// schedule writes its outputs, whose timeline shows the injected faults.
#[test]
fn chaos_runs_schedules_and_shows_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let many = haven_sim("dual-master.toml", dir.path(), &["--chaos", "20"]);
    let text = String::from_utf8_lossy(&many.stdout);
    assert_eq!(many.status.code(), Some(0), "{text}");
    assert!(text.contains("chaos: 20 schedules ("), "{text}");
    assert!(text.contains(": 0 broke an invariant"), "{text}");
    let one = haven_sim(
        "dual-master.toml",
        dir.path(),
        &["--chaos", "1", "--seed", "5"],
    );
    assert_eq!(one.status.code(), Some(0));
    let timeline = read(dir.path().join("timeline.csv"));
    assert!(timeline.contains(",action,,chaos: break "), "{timeline}");
    assert!(timeline.contains(",action,,chaos: repair "), "{timeline}");
}
