//! End-to-end tests of `haven check`: the real binary on real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn haven(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haven"))
        .args(args)
        .output()
        .expect("haven binary runs")
}

fn scenario(rel: &str) -> String {
    Path::new(ROOT)
        .join("scenarios")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// The book's haproxy.cfg at `rel`, copied into `dir` with `group root`
/// for its `group nobody`: the group is looked up at check time, as
/// haproxy does, and not every host has one named `nobody`.
fn book_cfg(dir: &Path, rel: &str) -> String {
    let text = std::fs::read_to_string(scenario(rel)).expect("the book's config");
    let copy = text.replace("    group nobody\n", "    group root\n");
    assert_ne!(copy, text, "{rel} names group nobody");
    write(dir, rel, &copy).to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(&p, body).expect("write file");
    p
}

// Input: the book-14.3 haproxy.cfg and haproxy-server's keepalived.conf.
// Output: exit 0, a summary of what was read, "Configuration file is valid".
#[test]
fn reference_configs_are_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = haven(&[
        "check",
        "-f",
        &book_cfg(dir.path(), "book-14.3/haproxy.cfg"),
        "-k",
        &scenario("book-14.3/keepalived-haproxy-server.conf"),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("  frontend www (mode http, bind *:80)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  backend server_www (mode http, 1 server(s), balance roundrobin)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  vrrp_instance HA_1 (VRID 80, priority 100, state BACKUP, nopreempt on eth0, 1 VIP(s))"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("Configuration file is valid\n"),
        "{stdout}"
    );
    // Every keyword of the book's config is honoured: no warning.
    assert!(
        !text(&out.stderr).contains("WARNING"),
        "{}",
        text(&out.stderr)
    );

    for k in [
        "book-14.3/keepalived-backup-haproxy.conf",
        "book-14.4/keepalived-haproxy1.conf",
        "book-14.4/keepalived-haproxy2.conf",
    ] {
        let out = haven(&["check", "-k", &scenario(k)]);
        assert_eq!(out.status.code(), Some(0), "{k}: {}", text(&out.stderr));
    }
    let out = haven(&[
        "check",
        "-f",
        &book_cfg(dir.path(), "book-14.4/haproxy.cfg"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

// Input: a haproxy.cfg with an unknown keyword on line 3.
// Output: exit 1, haproxy's alert line with file:line, the caret, the summary lines.
#[test]
fn broken_haproxy_cfg_exits_1_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = write(
        dir.path(),
        "broken.cfg",
        "frontend f\n    bind :80\n    frobnicate x\n",
    );
    let path = cfg.to_string_lossy();
    let out = haven(&["check", "-f", &path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<String> = stderr.lines().map(strip_pid).collect();
    let exe = env!("CARGO_BIN_EXE_haven");
    assert_eq!(
        lines,
        [
            format!("[NOTICE]   (PID) : haproxy version is 2.6.12-haven-{}", env!("CARGO_PKG_VERSION")),
            format!("[NOTICE]   (PID) : path to executable is {exe}"),
            format!("[ALERT]    (PID) : config : parsing [{path}:3] : unknown keyword 'frobnicate' in 'frontend' section"),
            "      frobnicate x".to_owned(),
            "      ^".to_owned(),
            format!("[ALERT]    (PID) : config : Error(s) found in configuration file : {path}"),
            "[ALERT]    (PID) : config : Fatal errors found in configuration.".to_owned(),
        ]
    );
    assert!(!text(&out.stdout).contains("valid"));
}

// Input: a TLS listener whose certificate file is missing; one with no
// `crt`; one asking for client certificates with no CA; one whose
// ciphers name one haven lacks.
// Output: exit 1, each refused in haproxy's words (the missing file as
// haproxy loads it, with its line and section), the cipher named in a
// warning.
#[test]
fn tls_listeners_are_checked_as_haproxy_checks_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let body = "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nlisten web\n    bind 127.0.0.1:8443 ssl crt nothere.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256\n    server s 127.0.0.1:8080\n";
    let cfg = write(dir.path(), "missing.cfg", body);
    let path = cfg.to_string_lossy();
    let out = haven(&["check", "-f", &path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<String> = stderr.lines().skip(2).map(strip_pid).collect();
    assert_eq!(
        lines,
        [
            format!("[WARNING]  (PID) : config : parsing [{path}:7] : 'bind ciphers DHE-RSA-AES128-GCM-SHA256' parsed, not supported yet: ciphers haven does not implement (DHE, RSA key exchange, CBC) are not offered."),
            format!("[ALERT]    (PID) : config : parsing [{path}:7] : 'bind 127.0.0.1:8443' in section 'listen' : unable to stat SSL certificate from file 'nothere.pem' : No such file or directory."),
            format!("[ALERT]    (PID) : config : Error(s) found in configuration file : {path}"),
            "[ALERT]    (PID) : config : Fatal errors found in configuration.".to_owned(),
        ]
    );
    let body = "frontend fe\n    bind 127.0.0.1:8443 ssl\n    bind 127.0.0.1:9443 ssl crt x.pem verify required\n";
    let cfg = write(dir.path(), "bare.cfg", body);
    let path = cfg.to_string_lossy();
    let out = haven(&["check", "-f", &path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("config : Proxy 'fe': no SSL certificate specified for bind '127.0.0.1:8443' at [{path}:2] (use 'crt').")), "{stderr}");
    assert!(stderr.contains(&format!("config : Proxy 'fe': verify is enabled but no CA file specified for bind '127.0.0.1:9443' at [{path}:3].")), "{stderr}");
    let body = "backend be\n    server s 127.0.0.1:8443 ssl\n";
    let cfg = write(dir.path(), "server.cfg", body);
    let path = cfg.to_string_lossy();
    let out = haven(&["check", "-f", &path]);
    let lines: Vec<String> = text(&out.stderr).lines().skip(2).map(strip_pid).collect();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        lines,
        [
            format!("[ALERT]    (PID) : config : [{path}:2] : 'server be/s' : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default."),
            "[ALERT]    (PID) : config : Fatal errors found in configuration.".to_owned(),
        ]
    );
}

// Input: `user root` and `group haven-no-such-group` in global.
// Output: the user is found; the group is refused at check time with
// haproxy's words, exit 1.
#[test]
fn unknown_group_is_refused_at_check_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = write(
        dir.path(),
        "group.cfg",
        "global\n    user root\n    group haven-no-such-group\n",
    );
    let path = cfg.to_string_lossy();
    let out = haven(&["haproxy", "-c", "-f", &path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let first = stderr
        .lines()
        .map(strip_pid)
        .find(|l| l.contains("cannot find"));
    assert_eq!(
        first,
        Some(format!("[ALERT]    (PID) : config : parsing [{path}:3] : cannot find group id for 'haven-no-such-group' (0:Success)"))
    );
}

/// Replaces `(1234)` after the level with `(PID)`.
fn strip_pid(line: &str) -> String {
    match (line.find('('), line.find(')')) {
        (Some(a), Some(b)) if line.starts_with('[') && b > a => {
            format!("{}(PID){}", &line[..a], &line[b + 1..])
        }
        _ => line.to_owned(),
    }
}

// Input: a keepalived.conf with a typo'd keyword.
// Output: exit 1 and `file:line:col: error: message`.
#[test]
fn broken_keepalived_conf_exits_1_with_file_line_col() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = write(
        dir.path(),
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    advert_intv 1\n}\n",
    );
    let out = haven(&["check", "-k", &conf.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}:4:5: error: unknown keyword 'advert_intv' in vrrp_instance VI_1\n",
            conf.display()
        )
    );
}

// Input: keepalived.conf including conf.d/*.conf (two files, sorted).
// Output: instances from both included files, in file-name order.
#[test]
fn keepalived_include_globs_are_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inst = |name: &str, vrid: u32| {
        format!("vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n virtual_ipaddress {{\n  10.0.0.{vrid}\n }}\n}}\n")
    };
    write(dir.path(), "conf.d/b.conf", &inst("VI_B", 2));
    write(dir.path(), "conf.d/a.conf", &inst("VI_A", 1));
    let main = write(
        dir.path(),
        "keepalived.conf",
        "global_defs {\n router_id lb1\n}\ninclude conf.d/*.conf\n",
    );
    let out = haven(&["check", "-k", &main.to_string_lossy(), "--dump", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON dump");
    let names: Vec<&str> = dump["keepalived"]["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["VI_A", "VI_B"]);
    assert_eq!(dump["keepalived"]["global"]["router_id"], "lb1");
}

// Input: --dump json on the book's haproxy.cfg.
// Output: the resolved model: use_backend targets carry their index.
#[test]
fn dump_json_prints_the_resolved_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = haven(&[
        "check",
        "-f",
        &book_cfg(dir.path(), "book-14.3/haproxy.cfg"),
        "--dump",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON dump");
    let www = &dump["haproxy"]["proxies"][0];
    assert_eq!(www["name"], "www");
    assert_eq!(www["switching_rules"][2]["backend"]["name"], "server_video");
    assert_eq!(www["switching_rules"][2]["backend"]["index"], 3);
    assert_eq!(
        dump["haproxy"]["proxies"][1]["servers"][0]["inter"],
        2_000_000_000u64
    );
    assert!(dump["keepalived"].is_null());
}

// Input: a directory of *.cfg files, one without any bind.
// Output: files read in name order as one config; no listener gives exit 2
// as `haproxy -c` does.
#[test]
fn directory_of_cfg_files_and_no_listener_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "10-backend.cfg",
        "backend b\n  timeout connect 1s\n  timeout server 1s\n  server s 127.0.0.1:8080\n",
    );
    write(dir.path(), "00-defaults.cfg", "defaults\n  mode http\n");
    let out = haven(&["check", "-f", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("backend b (mode http, 1 server(s), balance roundrobin)"));
    assert!(text(&out.stdout).ends_with(
        "Configuration file has no error but will not start (no listener) => exit(2).\n"
    ));
}

// Input: nothing to check, or a file that does not exist.
// Output: a clear message and exit 1, no panic.
#[test]
fn missing_inputs_are_clear_errors() {
    let out = haven(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nothing to check"));
    let out = haven(&["check", "-f", "/nonexistent/haproxy.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read '/nonexistent/haproxy.cfg'"),
        "{}",
        text(&out.stderr)
    );
}

// Input: the README, and `haven check --list-unsupported`.
// Output: the README's table between its markers is exactly the table
// core holds (print it with the command to update the README).
#[test]
fn readme_lists_the_unsupported_table() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let (_, rest) = readme
        .split_once("<!-- unsupported:begin -->\n")
        .expect("begin marker");
    let (table, _) = rest
        .split_once("<!-- unsupported:end -->")
        .expect("end marker");
    let out = haven(&["check", "--list-unsupported"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(table, haven_core::config::support::markdown());
    assert_eq!(text(&out.stdout), table);
}

/// `haven check --simulate` on the book's haproxy.cfg and its two nodes'
/// keepalived.conf, each changed by `edit` (node name, text) and written
/// to `dir` as NODE.conf: the exit code and stdout.
fn simulate(dir: &Path, edit: impl Fn(&str, String) -> String) -> (Option<i32>, String) {
    let mut args = vec![
        "check".to_owned(),
        "--simulate".to_owned(),
        "-f".to_owned(),
        scenario("book-14.3/haproxy.cfg"),
    ];
    for node in ["haproxy-server", "backup-haproxy"] {
        let text = std::fs::read_to_string(scenario(&format!("book-14.3/keepalived-{node}.conf")))
            .expect("the book's keepalived.conf");
        let path = write(dir, &format!("{node}.conf"), &edit(node, text));
        args.extend(["-k".to_owned(), path.to_string_lossy().into_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = haven(&args);
    (o.status.code(), text(&o.stdout))
}

// Input: `check --simulate` on the book's 14.3 configs.
// Output: the master at rest and, per standard fault, when and where the
// VIP moves and what the 20 req/s client loses; the proxy's death moves
// the VIP to backup-haproxy; no finding, exit 0.
#[test]
fn simulate_prints_each_fault_on_the_book_configs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out) = simulate(dir.path(), |_, text| text);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("at rest: haproxy-server holds 192.168.66.10"),
        "{out}"
    );
    let proxy = out
        .lines()
        .find(|l| l.starts_with("the proxy dies on the master"))
        .expect("the proxy fault's row");
    assert!(proxy.contains("backup-haproxy"), "{proxy}");
    for fault in [
        "keepalived killed on the master",
        "the master crashes",
        "keepalived stopped on the master",
        "the master's link goes down",
        "a backend goes down",
    ] {
        assert!(out.lines().any(|l| l.starts_with(fault)), "{fault}: {out}");
    }
    assert!(out.ends_with("no finding\n"), "{out}");
}

// Input: the book's configs with a track_script weight of 5 (it no longer
// lifts the master above the backup's 90 + 5 when the proxy dies), and
// with the backup's auth_pass changed.
// Output: the first says a dying proxy never moves the VIP, with the
// priorities; the second that both nodes become MASTER and that the
// authentication differs; each exits 1.
#[test]
fn simulate_flags_a_weight_that_flips_nothing_and_a_password_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out) = simulate(dir.path(), |_, text| text.replace("weight 21", "weight 5"));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("a dying proxy never moves the VIP")
            && out.contains("haproxy-server falls from 105 to 100 without its proxy, backup-haproxy stays at 95"),
        "{out}"
    );
    let (code, out) = simulate(dir.path(), |node, text| match node {
        "backup-haproxy" => text.replace("auth_pass 1111", "auth_pass 2222"),
        _ => text,
    });
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("both nodes become MASTER of HA_1"), "{out}");
    assert!(out.contains("the authentication differs"), "{out}");
}

/// `haven reload --simulate` for haproxy-server: its keepalived.conf
/// changed by `edit` as the new one, the book's as the previous one,
/// backup-haproxy's as the peer; no pidfile anywhere. Exit code, stdout,
/// stderr.
fn reload_simulate(dir: &Path, edit: impl Fn(String) -> String) -> (Option<i32>, String, String) {
    let book = |node: &str| scenario(&format!("book-14.3/keepalived-{node}.conf"));
    let conf = std::fs::read_to_string(book("haproxy-server")).expect("the book's keepalived.conf");
    let new = write(dir, "haproxy-server.conf", &edit(conf.clone()));
    let previous = write(dir, "previous/haproxy-server.conf", &conf);
    let peer = book("backup-haproxy");
    // Checked as for this machine: Debian names nobody's group `nogroup`.
    let cfg = std::fs::read_to_string(scenario("book-14.3/haproxy.cfg")).expect("haproxy.cfg");
    let cfg = write(
        dir,
        "haproxy.cfg",
        &cfg.replace("group nobody", "group nogroup"),
    );
    let o = haven(&[
        "reload",
        "--simulate",
        "-f",
        cfg.to_str().expect("utf-8"),
        "-k",
        new.to_str().expect("utf-8"),
        "--peer",
        &peer,
        "--previous-keepalived",
        previous.to_str().expect("utf-8"),
    ]);
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

// Input: `reload --simulate` with a new keepalived.conf whose haproxy
// check must fail 3 times in a row (`fall 3`) before it counts.
// Output: the proxy-death row shows the VIP move before and after the
// change (`was → now`, later now); the simulation finds nothing, so the
// reload goes on (and stops only for want of a pidfile).
#[test]
fn reload_simulate_shows_what_the_change_does_to_each_figure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = reload_simulate(dir.path(), |t| {
        t.replace("    interval 2\n", "    interval 2\n    fall 3\n")
    });
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("cannot read the pidfile"), "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("the proxy dies on the master"))
        .unwrap_or_else(|| panic!("{out}"));
    let moves: Vec<f64> = row
        .split_whitespace()
        .filter_map(|w| w.strip_suffix('s')?.parse().ok())
        .collect();
    assert!(row.contains('\u{2192}') && moves.len() >= 2, "{row}");
    assert!(moves[1] > moves[0], "later after the change: {row}");
    assert!(out.ends_with("no finding\n"), "{out}");
}

// Input: `reload --simulate` with a new keepalived.conf whose password no
// longer matches the peer's.
// Output: both nodes would be MASTER: the reload is not sent, exit 1.
#[test]
fn reload_simulate_sends_nothing_when_the_change_breaks_the_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = reload_simulate(dir.path(), |t| {
        t.replace("auth_pass 1111", "auth_pass 2222")
    });
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("both nodes become MASTER of HA_1"), "{out}");
    assert!(err.contains("reload not sent"), "{err}");
    assert!(!err.contains("pidfile"), "{err}");
}
