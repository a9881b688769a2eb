//! haproxy's master-worker mode, by name: `haproxy -W` forks a worker and
//! reloads it on SIGUSR2 or the master CLI's `reload`, refusing a broken
//! config; `-S` answers `show proc` and passes `@1 CMD` to the worker's
//! stats socket; `-Ws` tells systemd READY, RELOADING and STOPPING.
//! Every wait polls with a deadline.

// Shared with the drop-in tests, which use all of it.
#[allow(dead_code)]
#[path = "support/names.rs"]
mod names;
#[path = "support/mod.rs"]
mod support;

use names::{alive, kill, pid_in, Names, Reaped};
use std::io::{Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{backend, eventually, free_port, get, proxy_cfg};

/// One master CLI exchange: `line`, then the whole answer.
fn cli(socket: &Path, line: &str) -> String {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(format!("{line}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The worker pids `show proc` lists.
fn workers(proc_table: &str) -> Vec<i32> {
    proc_table
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("worker"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// A config for the proxy on `port` with a stats socket at `stats`.
fn config(port: u16, server: std::net::SocketAddr, stats: &Path) -> String {
    format!(
        "global\n    stats socket {} level admin\n{}",
        stats.display(),
        proxy_cfg(port, server)
    )
}

/// `haproxy -W -S CLI -f CFG MORE...`, quiet, killed when dropped.
fn start_master(n: &Names, cli: &Path, cfg: &str, more: &[&str]) -> Reaped {
    Reaped(
        Command::new(n.path("haproxy"))
            .args(["-W", "-S", cli.to_str().expect("utf-8"), "-f", cfg])
            .args(more)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts"),
    )
}

// Input: `haproxy -W -S SOCK -f CFG -p PIDFILE`; SIGUSR2; then a broken
// config and `reload` on the master CLI; then SIGTERM.
// Output: the pidfile holds the master; `show proc` lists it with one
// worker, which serves; SIGUSR2 replaces the worker ("1 [failed: 0]",
// the old one gone) and `@1 show info` reaches the new one; the broken
// config is refused ("2 [failed: 1]", the worker kept, still serving);
// SIGTERM ends both, the master with 0, the pidfile removed.
#[test]
fn the_master_reloads_its_worker_and_answers_its_cli() {
    let n = Names::new();
    let port = free_port();
    let stats = n.dir.path().join("stats.sock");
    let master_cli = n.dir.path().join("master.sock");
    let pidfile = n.dir.path().join("h.pid");
    let cfg = n.write("h.cfg", &config(port, backend("A"), &stats));
    let mut master = start_master(
        &n,
        &master_cli,
        &cfg,
        &["-p", pidfile.to_str().expect("utf-8")],
    );
    eventually("the worker serves", || get(port).as_deref() == Some("A"));
    assert_eq!(pid_in(&pidfile), Some(master.0.id() as i32));
    let table = cli(&master_cli, "show proc");
    assert!(
        table.starts_with(
            "#<PID>          <type>          <reloads>       <uptime>        <version>"
        ),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "\n{:<16}master          0 [failed: 0]   ",
            master.0.id()
        )),
        "{table}"
    );
    let first = workers(&table);
    assert_eq!(first.len(), 1, "{table}");

    kill(master.0.id() as i32, "-USR2");
    let mut table = String::new();
    eventually("a new worker replaces the first", || {
        table = cli(&master_cli, "show proc");
        let now = workers(&table);
        now.len() == 1 && now != first && !alive(first[0])
    });
    assert!(table.contains(" 1 [failed: 0] "), "{table}");
    let second = workers(&table)[0];
    let info = cli(&master_cli, "@1 show info");
    assert!(info.contains(&format!("Pid: {second}\n")), "{info}");
    assert_eq!(get(port).as_deref(), Some("A"));

    n.write("h.cfg", "frontend broken\n    bind :\n");
    assert_eq!(cli(&master_cli, "reload"), "");
    eventually("the reload is refused", || {
        cli(&master_cli, "show proc").contains(" 2 [failed: 1] ")
    });
    assert_eq!(workers(&cli(&master_cli, "show proc")), [second]);
    assert_eq!(get(port).as_deref(), Some("A"));

    kill(master.0.id() as i32, "-TERM");
    let mut status = None;
    eventually("the master exits", || {
        status = master.0.try_wait().expect("wait");
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    assert!(!alive(second), "the worker outlived its master");
    assert!(!pidfile.exists(), "the pidfile stayed");
}

// Input: `haproxy -Ws -f CFG` with NOTIFY_SOCKET set, as systemd starts
// a `Type=notify` unit; SIGUSR2; SIGTERM.
// Output: READY=1 once the worker serves, RELOADING=1 then READY=1 on
// the reload, STOPPING=1 on the stop.
#[test]
fn ws_notifies_systemd_of_ready_reloading_and_stopping() {
    let n = Names::new();
    let port = free_port();
    let cfg = n.write("h.cfg", &proxy_cfg(port, backend("A")));
    let notify_path = n.dir.path().join("notify.sock");
    let systemd = UnixDatagram::bind(&notify_path).expect("bind");
    systemd
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let next = || {
        let mut buf = [0u8; 256];
        let len = systemd.recv(&mut buf).expect("a notification in time");
        String::from_utf8_lossy(&buf[..len]).into_owned()
    };
    let master = Reaped(
        Command::new(n.path("haproxy"))
            .args(["-Ws", "-f", &cfg])
            .env("NOTIFY_SOCKET", &notify_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts"),
    );
    assert_eq!(next(), "READY=1\n");
    assert_eq!(get(port).as_deref(), Some("A"));
    kill(master.0.id() as i32, "-USR2");
    assert_eq!(next(), "RELOADING=1\n");
    assert_eq!(next(), "READY=1\n");
    kill(master.0.id() as i32, "-TERM");
    assert_eq!(next(), "STOPPING=1\n");
}

// Input: `haproxy -W -S SOCK -f CFG` serving; the master killed (SIGKILL),
// so it cannot stop its worker itself.
// Output: the worker stops too, as haproxy's workers leave with their
// master: nothing is left serving.
#[test]
fn a_worker_stops_when_its_master_is_killed() {
    let n = Names::new();
    let port = free_port();
    let stats = n.dir.path().join("stats.sock");
    let master_cli = n.dir.path().join("master.sock");
    let cfg = n.write("h.cfg", &config(port, backend("A"), &stats));
    let mut master = start_master(&n, &master_cli, &cfg, &[]);
    eventually("the worker serves", || get(port).as_deref() == Some("A"));
    let worker = workers(&cli(&master_cli, "show proc"));
    assert_eq!(worker.len(), 1);
    master.0.kill().expect("kill");
    master.0.wait().expect("reaped");
    eventually("the worker stops", || !alive(worker[0]));
    assert_eq!(get(port), None);
}

// Input: `haproxy -W -f CFG` serving; SIGINT to the master (Ctrl-C).
// Output: as haproxy 2.6: the worker ends by the signal, the master says
// so ("exited with code 130 (Interrupt)", an alert) and exits 130.
#[test]
fn sigint_ends_the_master_with_130() {
    let n = Names::new();
    let port = free_port();
    let cfg = n.write("h.cfg", &proxy_cfg(port, backend("A")));
    let log = n.dir.path().join("master.log");
    let mut master = Reaped(
        Command::new(n.path("haproxy"))
            .args(["-W", "-f", &cfg])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("starts"),
    );
    eventually("the worker serves", || get(port).as_deref() == Some("A"));
    kill(master.0.id() as i32, "-INT");
    let mut status = None;
    eventually("the master exits", || {
        status = master.0.try_wait().expect("wait");
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(130));
    let said = std::fs::read_to_string(&log).expect("log");
    let worker_line = said
        .lines()
        .find(|l| l.contains("Current worker"))
        .unwrap_or_default();
    assert!(
        worker_line.starts_with("[ALERT]")
            && worker_line.ends_with("exited with code 130 (Interrupt)"),
        "{said}"
    );
    assert!(
        said.contains("All workers exited. Exiting... (130)"),
        "{said}"
    );
}
