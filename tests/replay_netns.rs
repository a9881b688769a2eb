//! `haven replay` on real logs: Debian's keepalived 2.2.7 and haproxy on two
//! hosts in network namespaces, each pair in a PID namespace of its own
//! (so `pgrep haproxy` sees its own host's proxy). Their console output is
//! kept as journald keeps a service's, every line stamped to the
//! microsecond. A fault is made, and the replay of the logs must put the
//! VIP's move within 5 % of the real failover time and match every line
//! the simulator writes.

#[allow(dead_code)]
mod lab;
// The lab's web hosts serve with it.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use haven_core::log::syslog::{Civil, MONTHS};
use lab::{within, Lab, PREFIX};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEEPALIVED: &str = "/usr/sbin/keepalived";
const HAPROXY: &str = "/usr/sbin/haproxy";

/// The nodes: lb1 is MASTER at 100 + 60 while its haproxy runs, lb2 BACKUP
/// at 130 without a script.
fn keepalived_conf(node: &str) -> String {
    let (priority, track) = match node {
        "lb1" => (100, "    track_script {\n        chk_haproxy\n    }\n"),
        _ => (130, ""),
    };
    format!(
        "global_defs {{\n    router_id {node}\n}}\nvrrp_script chk_haproxy {{\n    script \"/usr/bin/pgrep haproxy\"\n    interval 1\n    fall 2\n    rise 2\n    weight 60\n}}\nvrrp_instance HA_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 81\n    priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n{track}    virtual_ipaddress {{\n        {PREFIX}.50/24 dev eth0\n    }}\n}}\n"
    )
}

const HAPROXY_CFG: &str = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\nfrontend www\n    bind :80\n    default_backend web\n\nbackend web\n    server s1 10.77.0.21:80\n";

/// `Dec 06 02:54:42.123456`: journalctl's short-precise stamp of now (UTC).
fn journal_stamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let c = Civil::from_unix(now.as_secs() as i64);
    format!(
        "{} {:02} {:02}:{:02}:{:02}.{:06}",
        MONTHS[(c.month - 1) as usize],
        c.day,
        c.hour,
        c.minute,
        c.second,
        now.subsec_micros()
    )
}

/// Starts haproxy then keepalived (`-D` when `detail`) on `node`, in a PID
/// namespace of their own; keepalived's console lines go to `journal` as
/// journald would keep them. Killing the spawned process (unshare) kills
/// them all. Returns the spawned index and the thread writing the journal,
/// which ends with them.
fn start_node(
    lab: &mut Lab,
    dir: &Path,
    node: &str,
    detail: bool,
) -> (usize, std::thread::JoinHandle<()>) {
    let conf = dir.join(format!("{node}.conf"));
    std::fs::write(&conf, keepalived_conf(node)).expect("write");
    let cfg = dir.join("haproxy.cfg");
    let run = dir.join(node);
    std::fs::create_dir_all(&run).expect("dir");
    let script = format!(
        "{HAPROXY} -D -f {cfg} -p {run}/haproxy.pid && exec {KEEPALIVED} -n -l {detail} -f {conf} -p {run}/k.pid -r {run}/v.pid -c {run}/c.pid 2>&1",
        cfg = cfg.display(),
        run = run.display(),
        detail = if detail { "-D" } else { "" },
        conf = conf.display(),
    );
    let (index, out) = lab.spawn_piped(
        node,
        "unshare",
        &[
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            &script,
        ],
    );
    let journal = dir.join(format!("{node}.journal"));
    let node = node.to_owned();
    let writer = std::thread::spawn(move || {
        let mut file = std::fs::File::create(journal).expect("journal");
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(file, "{} {node} keepalived[1]: {line}", journal_stamp());
        }
    });
    (index, writer)
}

/// The host pid of the first process of spawned process `index`'s PID
/// namespace (unshare's child: keepalived's parent).
fn first_in_namespace(lab: &Lab, index: usize) -> u32 {
    let unshare = lab.pid(index);
    let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .unwrap_or_default();
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("unshare's child")
}

/// The host pids of the processes named `comm` in the PID namespace of
/// spawned process `index`.
fn in_namespace(lab: &Lab, index: usize, comm: &str) -> Vec<u32> {
    let first = first_in_namespace(lab, index);
    let ns = std::fs::read_link(format!("/proc/{first}/ns/pid")).expect("pid namespace");
    std::fs::read_dir("/proc")
        .expect("proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l == ns)
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == comm)
        })
        .collect()
}

fn kill(pids: &[u32], signal: &str) {
    assert!(!pids.is_empty(), "nothing to signal");
    for pid in pids {
        let _ = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
    }
}

/// Seconds of the day of `HH:MM:SS.ffffff`.
fn day_seconds(clock: &str) -> f64 {
    clock
        .split(':')
        .map(|p| p.parse::<f64>().expect("a clock"))
        .fold(0.0, |total, part| total * 60.0 + part)
}

/// One fault on lb1 at rest, then the replay of both journals.
fn replay_after(fault: &str, detail: bool) {
    if !lab::available() {
        return;
    }
    for program in [KEEPALIVED, HAPROXY] {
        assert!(
            Path::new(program).exists() || std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {program} is not installed"
        );
        if !Path::new(program).exists() {
            eprintln!("skipped: {program} is not installed");
            return;
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("haproxy.cfg"), HAPROXY_CFG).expect("write");
    let mut lab = Lab::new("rp");
    lab.host("lb1", 11);
    lab.host("lb2", 12);
    let (lb1, writer1) = start_node(&mut lab, d, "lb1", detail);
    let (_, writer2) = start_node(&mut lab, d, "lb2", detail);
    let vip = format!("{PREFIX}.50");
    let journal =
        |node: &str| std::fs::read_to_string(d.join(format!("{node}.journal"))).unwrap_or_default();
    within(Duration::from_secs(15), || lab.has_address("lb1", &vip))
        .unwrap_or_else(|| panic!("lb1 never took the VIP:\n{}", journal("lb1")));
    within(Duration::from_secs(5), || {
        journal("lb2").contains("Entering BACKUP STATE")
    })
    .unwrap_or_else(|| panic!("lb2 never logged BACKUP:\n{}", journal("lb2")));
    // At rest: a few adverts, then the fault.
    std::thread::sleep(Duration::from_millis(2_300));
    let at = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    match fault {
        "kill haproxy" => kill(&in_namespace(&lab, lb1, "haproxy"), "-KILL"),
        "kill keepalived" => kill(&in_namespace(&lab, lb1, "keepalived"), "-KILL"),
        _ => kill(&[first_in_namespace(&lab, lb1)], "-TERM"),
    }
    within(Duration::from_secs(10), || lab.has_address("lb2", &vip))
        .unwrap_or_else(|| panic!("lb2 never took the VIP:\n{}", journal("lb2")));
    // The lines that follow a takeover (GARP repeats) come within seconds.
    std::thread::sleep(Duration::from_secs(6));
    // Everything is killed at once (-9): nothing more is logged.
    drop(lab);
    for writer in [writer1, writer2] {
        writer.join().expect("journal written");
    }
    let fault_at = (at.as_secs() % 86_400) as f64 + f64::from(at.subsec_micros()) / 1e6;

    let out = d.join("replay");
    let run = Command::new(env!("CARGO_BIN_EXE_haven"))
        .current_dir(d)
        .args([
            "replay",
            "lb1=lb1.journal",
            "lb2=lb2.journal",
            "-f",
            "haproxy.cfg",
            "-k",
            "lb1=lb1.conf",
            "-k",
            "lb2=lb2.conf",
            "--out",
        ])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("haven runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let context = format!(
        "{stdout}{}\n--- lb1\n{}\n--- lb2\n{}",
        String::from_utf8_lossy(&run.stderr),
        journal("lb1"),
        journal("lb2")
    );
    assert_eq!(run.status.code(), Some(0), "{context}");
    let scenario = std::fs::read_to_string(out.join("scenario.toml")).expect("scenario");
    let inferred = match fault {
        "stop" => "stop keepalived",
        other => other,
    };
    assert!(
        scenario.contains(&format!("action = \"{inferred}\"")),
        "{scenario}\n{context}"
    );
    let moved = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("lb2 enters MASTER: real "))
        .next_back()
        .unwrap_or_else(|| panic!("no VIP move:\n{context}"));
    let (real, sim) = moved.split_once(", simulated ").expect("two times");
    let (real, sim) = (day_seconds(real), day_seconds(sim));
    let failover = real - fault_at;
    eprintln!(
        "{fault}: VIP moved {failover:.3} s after the fault; the replay's move is {:+.3} s off ({:.1} %)",
        sim - real,
        100.0 * (sim - real).abs() / failover
    );
    assert!(
        (sim - real).abs() <= 0.05 * failover,
        "VIP moved at {real} for real, {sim} in the replay, {failover:.3} s after the fault\n{context}"
    );
}

// Input: lb1's haproxy killed (-9); keepalived -D.
// Output: the replay infers the kill from the script's lines; lb2's
// takeover within 5 % of the real failover time; every line reproduced.
#[test]
fn a_killed_proxy_replays_from_real_keepalived_logs() {
    replay_after("kill haproxy", true);
}

// Input: lb1's keepalived killed (-9), without -D.
// Output: inferred from lb2's takeover with nothing heard; the same bounds.
#[test]
fn a_killed_keepalived_replays_from_real_keepalived_logs() {
    replay_after("kill keepalived", false);
}

// Input: lb1's keepalived stopped (SIGTERM), without -D.
// Output: inferred from its "Stopping"; the same bounds.
#[test]
fn a_graceful_stop_replays_from_real_keepalived_logs() {
    replay_after("stop", false);
}
