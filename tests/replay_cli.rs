//! `haven replay` end to end on the book's April 4 excerpt: the scenario
//! it writes reproduces every line, and reruns to the same bytes.

use std::path::Path;
use std::process::{Command, Output};

const BOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/book-14.3");

fn replay(log: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haven"))
        .current_dir(BOOK)
        .arg("replay")
        .arg(log)
        .args([
            "-f",
            "haproxy.cfg",
            "-k",
            "keepalived-haproxy-server.conf",
            "-k",
            "keepalived-backup-haproxy.conf",
            "--year",
            "2015",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("haven runs")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Replays `log` (written to `dir`) into `dir/out`, which must reproduce
/// the excerpt's 14 lines with exit 0; its stdout and that folder.
fn reproduces_the_excerpt(dir: &Path, log: &str) -> (String, std::path::PathBuf) {
    let path = dir.join("replayed.log");
    std::fs::write(&path, log).expect("write");
    let out = dir.join("out");
    let run = replay(&path, &out);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("14 of 14 lines reproduced"), "{stdout}");
    (stdout, out)
}

// Input: the book's excerpt (14 lines, no fault named) and configs.
// Output: haproxy's death on haproxy-server is inferred from its lost
// priority and its restart from "Proxy www started."; every line is
// reproduced to the second, exit 0; `haven sim` on the written scenario
// gives the same logs byte for byte.
#[test]
fn the_april4_excerpt_becomes_a_scenario_that_reproduces_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("replay");
    let run = replay(Path::new("failover-apr4.log"), &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("14 of 14 lines reproduced to the second"),
        "{stdout}"
    );
    let scenario = read(&out.join("scenario.toml"));
    for action in ["action = \"kill haproxy\"", "action = \"start haproxy\""] {
        assert!(scenario.contains(action), "{scenario}");
    }
    assert!(scenario.contains("log_style = \"1x\""), "{scenario}");
    let diff = read(&out.join("diff.txt"));
    assert_eq!(
        diff.lines().filter(|l| l.starts_with("= ")).count(),
        14,
        "{diff}"
    );

    let rerun = dir.path().join("rerun");
    let sim = Command::new(env!("CARGO_BIN_EXE_haven"))
        .arg("sim")
        .arg(out.join("scenario.toml"))
        .arg("--out")
        .arg(&rerun)
        .output()
        .expect("haven runs");
    assert_eq!(sim.status.code(), Some(0));
    for host in ["haproxy-server.log", "backup-haproxy.log"] {
        assert_eq!(read(&out.join(host)), read(&rerun.join(host)), "{host}");
    }
}

// Input: the excerpt with backup-haproxy's "Entering MASTER STATE" moved
// 6 s later than keepalived's timers allow.
// Output: that line is paired off its second (`~`), exit 1.
#[test]
fn a_line_the_cluster_cannot_have_written_fails_the_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let book = read(&Path::new(BOOK).join("failover-apr4.log"));
    let moved = book.replace(
        "Apr  4 20:57:58 backup-haproxy Keepalived_vrrp[17261]: VRRP_Instance(HA_1) Entering MASTER STATE",
        "Apr  4 20:58:04 backup-haproxy Keepalived_vrrp[17261]: VRRP_Instance(HA_1) Entering MASTER STATE",
    );
    assert_ne!(moved, book);
    let log = dir.path().join("moved.log");
    std::fs::write(&log, moved).expect("write");
    let run = replay(&log, &dir.path().join("out"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("13 of 14 lines reproduced"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("~ 20:58:04") && l.ends_with("Entering MASTER STATE")),
        "{stdout}"
    );
}

// Input: the excerpt with 40 access lines of haproxy (its users, Host
// captured) every half second from 20:57:45 to 20:58:04.5.
// Output: the scenario replays them against the VIP (`access.log` beside
// it); the run sends the 40 requests and some of them, those between the
// proxy's death and the VIP's move, fail; the excerpt's 14 lines are still
// reproduced (access lines are not compared).
#[test]
fn access_lines_become_the_users_of_the_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = read(&Path::new(BOOK).join("failover-apr4.log"));
    for k in 0..40u32 {
        let ms = 45_000 + 500 * k;
        let (s, frac) = (ms / 1000, ms % 1000);
        let (min, sec) = (57 + s / 60, s % 60);
        log.push_str(&format!(
            "Apr  4 20:{min:02}:{sec:02} localhost haproxy[574]: 10.0.0.1:{port} [04/Apr/2015:20:{min:02}:{sec:02}.{frac:03}] www server_www/webapp1 0/0/0/1/1 200 0 - - ---- 1/1/1/1/0 0/0 {{www.zb.com}} \"GET /index.html HTTP/1.1\"\n",
            port = 1024 + k
        ));
    }
    let (stdout, out) = reproduces_the_excerpt(dir.path(), &log);
    assert!(!stdout.contains("not compared"), "{stdout}");
    let scenario = read(&out.join("scenario.toml"));
    assert!(scenario.contains("replay = \"access.log\""), "{scenario}");
    assert_eq!(read(&out.join("access.log")).lines().count(), 40);
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).expect("json");
    let latency = &summary["latency"];
    assert_eq!(latency["requests"], 40, "{summary}");
    let failed = latency["failed"].as_u64().expect("failed");
    assert!((1..40).contains(&failed), "{summary}");
}

// Input: a log with a line that is no log line, and a keepalived.conf
// that does not read.
// Output: each refused with its place (file:line), exit 1, nothing run.
#[test]
fn unreadable_logs_and_configs_are_refused_with_their_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("bad.log");
    std::fs::write(
        &log,
        "Apr  4 20:57:54 haproxy-server Keepalived_vrrp[1]: VRRP_Instance(HA_1) Entering BACKUP STATE\nthis is not a log line\n",
    )
    .expect("write");
    let run = replay(&log, &dir.path().join("out"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr.contains("bad.log:2: not a log line"), "{stderr}");
    assert!(!dir.path().join("out").exists());

    let conf = dir.path().join("broken.conf");
    std::fs::write(&conf, "vrrp_instance HA_1 {\n    priority 999\n}\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_haven"))
        .current_dir(BOOK)
        .args(["replay", "failover-apr4.log", "-f", "haproxy.cfg", "-k"])
        .arg(&conf)
        .args(["-k", "keepalived-backup-haproxy.conf", "--out"])
        .arg(dir.path().join("out2"))
        .output()
        .expect("haven runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.conf:2"), "{stderr}");
}

// Input: the excerpt as a journal would also have it: systemd's lines that
// haproxy.service's main process was killed at 20:57:51 and that the unit
// started again at 21:00:09.
// Output: the kill is taken from systemd's line (its one second, not the
// span the priority drop leaves), once; every line is still reproduced.
#[test]
fn systemd_lines_in_a_journal_say_when_a_unit_died() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = read(&Path::new(BOOK).join("failover-apr4.log"))
        + "Apr  4 20:57:51 haproxy-server systemd[1]: haproxy.service: Main process exited, code=killed, status=9/KILL\n"
        + "Apr  4 21:00:09 haproxy-server systemd[1]: Started HAProxy Load Balancer.\n";
    let (stdout, out) = reproduces_the_excerpt(dir.path(), &log);
    assert!(
        stdout.contains("20:57:51.000000 .. 20:57:52.000000  kill haproxy"),
        "{stdout}"
    );
    let scenario = read(&out.join("scenario.toml"));
    assert_eq!(
        scenario.matches("action = \"kill haproxy\"").count(),
        1,
        "{scenario}"
    );
    assert_eq!(
        scenario.matches("action = \"start haproxy\"").count(),
        1,
        "{scenario}"
    );
}
