//! `haven run` as a process on loopback: it serves the config, refuses a
//! broken config on SIGHUP and keeps serving the old one, takes a valid
//! new one on the next SIGHUP, and stops cleanly on SIGTERM. Every wait
//! polls with a deadline.

#[path = "support/mod.rs"]
mod support;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use support::{backend, eventually, free_port, get, proxy_cfg as config};

/// Kills the child if the test ends early.
struct Haven(Child);

impl Drop for Haven {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// `haven run -f cfg EXTRA...`, its stderr into `stderr`.
fn run(cfg: &Path, extra: &[&OsStr], stderr: Stdio) -> Haven {
    let child = Command::new(env!("CARGO_BIN_EXE_haven"))
        .arg("run")
        .arg("-f")
        .arg(cfg)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("haven starts");
    Haven(child)
}

/// Sends SIGTERM and waits for the exit; its code.
fn terminate(haven: &mut Haven) -> Option<i32> {
    signal(&haven.0, "-TERM");
    let mut status = None;
    eventually("haven exits on SIGTERM", || {
        status = haven.0.try_wait().expect("wait");
        status.is_some()
    });
    status.and_then(|s| s.code())
}

fn stderr_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

// Input: haven run on backend A; then a broken config and SIGHUP; then a
// config for backend B and SIGHUP; then SIGTERM.
// Output: A answers until B's config is loaded; the broken one is refused
// with haproxy-style errors while A keeps answering; SIGTERM exits 0.
#[test]
fn reload_keeps_serving_through_a_broken_config_and_takes_a_good_one() {
    let (a, b) = (backend("A"), backend("B"));
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("haproxy.cfg");
    let log = dir.path().join("stderr.log");
    std::fs::write(&cfg, config(port, a)).expect("write config");
    let log_file = std::fs::File::create(&log).expect("log file");
    let mut haven = run(&cfg, &[], log_file.into());
    eventually("A answers", || get(port).as_deref() == Some("A"));

    std::fs::write(
        &cfg,
        "frontend fe\n    bind 127.0.0.1:1\n    no_such_keyword\n",
    )
    .expect("write broken config");
    signal(&haven.0, "-HUP");
    eventually("the broken config is refused", || {
        stderr_of(&log).contains("reload refused")
    });
    let err = stderr_of(&log);
    assert!(err.contains("[ALERT]") && err.contains(":3]"), "{err}");
    assert_eq!(
        get(port).as_deref(),
        Some("A"),
        "the old config still serves"
    );

    std::fs::write(&cfg, config(port, b)).expect("write new config");
    signal(&haven.0, "-HUP");
    eventually("B answers after the reload", || {
        get(port).as_deref() == Some("B")
    });
    // The new configuration serves as soon as it listens, a moment
    // before the line that says so is written.
    eventually("the reload is logged", || {
        stderr_of(&log).contains("configuration reloaded")
    });

    assert_eq!(terminate(&mut haven), Some(0));
    assert!(stderr_of(&log).contains("stopping"));
}

// Input: haven run with -p; `haven reload -f` a valid file it does not
// run; then with a broken config, then with a config for backend B; then
// SIGTERM.
// Output: the pidfile holds the process id; the other file is refused
// (the daemon re-reads its own files), A answers; the broken config is refused
// by `haven reload` itself (exit 1, errors, nothing sent) while A keeps
// answering; the good one is sent and B answers; the pidfile is gone after
// the stop.
#[test]
fn haven_reload_checks_then_signals_the_pidfile_process() {
    let (a, b) = (backend("A"), backend("B"));
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("haproxy.cfg");
    let pidfile = dir.path().join("haven.pid");
    std::fs::write(&cfg, config(port, a)).expect("write config");
    let mut haven = run(&cfg, &["-p".as_ref(), pidfile.as_os_str()], Stdio::null());
    eventually("A answers", || get(port).as_deref() == Some("A"));
    let pid = std::fs::read_to_string(&pidfile).expect("pidfile");
    assert_eq!(pid, format!("{}\n", haven.0.id()));

    let reload_file = |file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_haven"))
            .arg("reload")
            .arg("-f")
            .arg(file)
            .arg("-p")
            .arg(&pidfile)
            .output()
            .expect("haven reload runs")
    };
    let reload = || reload_file(&cfg);
    let other = dir.path().join("other.cfg");
    std::fs::write(&other, config(port, b)).expect("write other config");
    let elsewhere = reload_file(&other);
    let err = String::from_utf8_lossy(&elsewhere.stderr);
    assert_eq!(elsewhere.status.code(), Some(1), "{err}");
    assert!(
        err.contains("re-reads those files") && err.contains("reload not sent"),
        "{err}"
    );
    assert_eq!(get(port).as_deref(), Some("A"));

    std::fs::write(
        &cfg,
        "frontend fe\n    bind 127.0.0.1:1\n    no_such_keyword\n",
    )
    .expect("write broken config");
    let refused = reload();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains(":3]") && err.contains("reload not sent"),
        "{err}"
    );
    assert_eq!(get(port).as_deref(), Some("A"));

    std::fs::write(&cfg, config(port, b)).expect("write new config");
    let sent = reload();
    assert_eq!(
        sent.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    eventually("B answers after haven reload", || {
        get(port).as_deref() == Some("B")
    });

    assert_eq!(terminate(&mut haven), Some(0));
    assert!(!pidfile.exists(), "the pidfile is removed at exit");
}

// Input: a config whose frontend says `http-request set-priority-class
// int(1) if { path_beg /admin }` (line 8), an action haven does not run;
// `haven run` on it, then `haven run --accept-unsupported`.
// Output: the first refuses to start (exit 1), naming the file, line 8
// and what would differ; the second starts, says the same difference,
// and serves.
#[test]
fn run_refuses_rules_it_cannot_honour_unless_accepted() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("haproxy.cfg");
    let text = config(port, backend("A")).replace(
        "    default_backend be\n",
        "    http-request set-priority-class int(1) if { path_beg /admin }\n    default_backend be\n",
    );
    std::fs::write(&cfg, text).expect("write config");
    let refused = Command::new(env!("CARGO_BIN_EXE_haven"))
        .arg("run")
        .arg("-f")
        .arg(&cfg)
        .output()
        .expect("haven runs");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    let named = format!(
        "{}:8: 'http-request set-priority-class' is not honoured: this action is not run",
        cfg.display()
    );
    assert!(err.contains(&named), "{err}");
    assert!(err.contains("not starting"), "{err}");
    assert_eq!(get(port), None, "nothing listens");

    let log = dir.path().join("stderr");
    let file = std::fs::File::create(&log).expect("log file");
    let mut haven = run(&cfg, &["--accept-unsupported".as_ref()], file.into());
    eventually("A answers", || get(port).as_deref() == Some("A"));
    assert!(stderr_of(&log).contains(&format!("starting anyway: {named}")));
    assert_eq!(terminate(&mut haven), Some(0));
}

/// The soft limit of open files of process `pid`, from `/proc`.
fn open_files_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// Input: `ulimit-n 3456` in global (haven run as root, as in CI).
// Output: the running process's open-files limit is 3456, as haproxy
// sets it; without the keyword it is whatever the process got.
#[test]
fn ulimit_n_sets_the_open_files_limit() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("haproxy.cfg");
    let text = format!("global\n    ulimit-n 3456\n{}", config(port, backend("A")));
    std::fs::write(&cfg, text).expect("write config");
    let mut haven = run(&cfg, &[], Stdio::null());
    eventually("A answers", || get(port).as_deref() == Some("A"));
    assert_eq!(open_files_limit(haven.0.id()), Some(3456));
    assert_eq!(terminate(&mut haven), Some(0));
}
