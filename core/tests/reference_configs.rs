//! The book's configs (scenarios/book-14.3, book-14.4) parse with no error,
//! and their models hold exactly what the files say.

use haven_core::config::haproxy::{self, *};
use haven_core::config::keepalived::{self, *};
use haven_core::config::NoIncludes;
use haven_core::time::Duration;

const BOOK_143_HAPROXY: &str = include_str!("../../scenarios/book-14.3/haproxy.cfg");
const BOOK_143_SERVER: &str =
    include_str!("../../scenarios/book-14.3/keepalived-haproxy-server.conf");
const BOOK_143_BACKUP: &str =
    include_str!("../../scenarios/book-14.3/keepalived-backup-haproxy.conf");
const BOOK_144_HAPROXY: &str = include_str!("../../scenarios/book-14.4/haproxy.cfg");
const BOOK_144_HA1: &str = include_str!("../../scenarios/book-14.4/keepalived-haproxy1.conf");
const BOOK_144_HA2: &str = include_str!("../../scenarios/book-14.4/keepalived-haproxy2.conf");

fn haproxy_ok(name: &str, text: &str) -> HaproxyConfig {
    let parsed = haproxy::parse(&[(name, text)], &ParseOptions::default());
    assert!(
        !parsed.diagnostics.has_errors(),
        "{name}: {:#?}",
        parsed.diagnostics
    );
    parsed.config.expect("no error, so a model")
}

fn keepalived_ok(name: &str, text: &str) -> KeepalivedConfig {
    let parsed = keepalived::parse(name, text, &NoIncludes);
    assert!(
        parsed.diagnostics.is_empty(),
        "{name}: {:#?}",
        parsed.diagnostics
    );
    parsed.config.expect("no error, so a model")
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().expect("test address")
}

#[test]
fn book_143_haproxy_runs_without_a_warning() {
    let parsed = haproxy::parse(
        &[("haproxy.cfg", BOOK_143_HAPROXY)],
        &ParseOptions::default(),
    );
    let warnings: Vec<String> = parsed
        .diagnostics
        .warnings()
        .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
        .collect();
    // `daemon` is honoured by the haproxy personality; `haven run` stays
    // in the foreground as haproxy does under a service manager.
    assert_eq!(warnings, Vec::<String>::new());
}

#[test]
fn thread_counts_are_read_and_refused_as_haproxy_does() {
    let parsed = |line: &str| {
        let text = format!("global\n    {line}\n");
        let parsed = haproxy::parse(&[("haproxy.cfg", text.as_str())], &ParseOptions::default());
        let said: Vec<String> = parsed
            .diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect();
        (parsed.config.map(|cfg| cfg.global.nbthread), said)
    };
    // Any count haproxy 2.6 runs is served as given, without a word.
    assert_eq!(parsed("nbthread 4"), (Some(Some(4)), vec![]));
    assert_eq!(parsed("nbthread 64"), (Some(Some(64)), vec![]));
    assert_eq!(parsed("thread-groups 1"), (Some(None), vec![]));
    // haproxy 2.6.12's words for the rest.
    let refused = |line: &str| parsed(line).1;
    assert_eq!(
        refused("nbthread 65"),
        ["2:5: 'nbthread' value must be between 1 and 64 (was 65)"]
    );
    assert_eq!(
        refused("nbthread 0"),
        ["2:5: 'nbthread' value must be between 1 and 64 (was 0)"]
    );
    assert_eq!(
        refused("nbthread 2x"),
        ["2:5: 'nbthread' passed a missing or unparsable integer value in '2x'"]
    );
    assert_eq!(
        refused("thread-groups 2"),
        ["2:5: 'thread-groups' value must be between 1 and 1 (was 2)"]
    );
}

#[test]
fn cpu_maps_are_read_and_refused_as_haproxy_does() {
    let text = "global\n    nbthread 2\n    cpu-map auto:1/1-2 0-1\n    cpu-map 1/2 3\n";
    let parsed = haproxy::parse(&[("haproxy.cfg", text)], &ParseOptions::default());
    let maps = parsed.config.expect("valid").global.cpu_map;
    assert_eq!(
        (maps.of_thread(1), maps.of_thread(2)),
        (Some(vec![0]), Some(vec![3]))
    );
    // haproxy 2.6.12's words, at the line.
    let text = "global\n    cpu-map 1/0-2 0\n";
    let parsed = haproxy::parse(&[("haproxy.cfg", text)], &ParseOptions::default());
    let said: Vec<String> = parsed.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        said,
        ["parsing [haproxy.cfg:2] : cpu-map : '0-2' is not a valid number/range. It supports numbers from 1 to 64."]
    );
    assert!(parsed.config.is_none());
}

#[test]
fn no_and_default_go_before_the_global_keywords_haproxy_lets_them() {
    let read = |lines: &str| {
        let text = format!("global\n{lines}");
        let parsed = haproxy::parse(&[("haproxy.cfg", text.as_str())], &ParseOptions::default());
        let said: Vec<String> = parsed.diagnostics.iter().map(ToString::to_string).collect();
        (parsed.config.map(|c| c.global), said)
    };
    let (global, said) = read(
        "    no numa-cpu-mapping\n    log 127.0.0.1 local0\n    no log\n    no busy-polling\n",
    );
    let global = global.expect("valid");
    assert!(
        global.no_numa_cpu_mapping && global.logs.is_empty(),
        "{said:?}"
    );
    let (global, _) = read("    no numa-cpu-mapping\n    default numa-cpu-mapping\n");
    assert!(!global.expect("valid").no_numa_cpu_mapping);
    // haproxy 2.6.12's words for the rest: the prefix refused, then the
    // keyword read as if alone.
    assert_eq!(
        read("    no maxconn\n").1,
        [
            "parsing [haproxy.cfg:2]: negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.",
            "parsing [haproxy.cfg:2] : 'maxconn' expects an integer argument."
        ]
    );
    assert_eq!(
        read("    no log x\n").1,
        ["parsing [haproxy.cfg:2] : log : 'no log' does not expect arguments"]
    );
}

#[test]
fn threads_default_to_the_cpus_at_hand_up_to_64() {
    let global = |nbthread| haproxy::Global {
        nbthread,
        ..Default::default()
    };
    assert_eq!(global(None).threads(2), 2);
    assert_eq!(global(None).threads(0), 1);
    assert_eq!(global(None).threads(200), 64);
    assert_eq!(global(Some(3)).threads(2), 3);
}

#[test]
fn book_143_haproxy_model() {
    let cfg = haproxy_ok("haproxy.cfg", BOOK_143_HAPROXY);
    assert_eq!(cfg.global.maxconn, Some(4096));
    assert!(cfg.global.daemon);
    assert_eq!(cfg.global.user.as_deref(), Some("nobody"));
    assert_eq!(
        cfg.global.pidfile.as_deref(),
        Some("/usr/local/haproxy/logs/haproxy.pid")
    );
    assert_eq!(
        cfg.global.logs,
        [LogTarget::Target {
            address: "127.0.0.1".into(),
            facility: "local0".into(),
            level: Some("info".into()),
            format: None,
            len: None,
            sample: None,
        }]
    );
    let names: Vec<(&str, ProxyKind)> = cfg
        .proxies
        .iter()
        .map(|p| (p.name.as_str(), p.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("www", ProxyKind::Frontend),
            ("server_www", ProxyKind::Backend),
            ("server_static", ProxyKind::Backend),
            ("server_video", ProxyKind::Backend),
            ("admin_stats", ProxyKind::Listen),
        ]
    );

    let www = cfg.frontend("www").expect("frontend www");
    assert_eq!(www.mode, Mode::Http);
    assert_eq!(
        www.binds,
        [Bind {
            port: 80,
            port_end: 80,
            ..Bind::unbound(22)
        }]
    );
    assert!(www.options.httplog, "inherited from defaults");
    assert_eq!(www.logs, [LogTarget::Global]);
    assert_eq!(
        www.options.forwardfor.as_ref().map(|f| f.header.as_str()),
        Some("X-Forwarded-For")
    );
    assert_eq!(www.timeouts.client, Some(Duration::from_secs(30)));
    assert_eq!(www.acls.len(), 3);
    let host_www = &www.acls[0];
    assert_eq!(host_www.name, "host_www");
    assert_eq!(
        host_www.patterns[0].criterion,
        Criterion::HdrDom("host".into())
    );
    assert!(host_www.patterns[0].ignore_case);
    host_www.patterns[0]
        .values
        .with(|v| assert_eq!(v, ["www.zb.com"]));
    let rules: Vec<(&str, usize, u32)> = www
        .switching_rules
        .iter()
        .map(|r| {
            let b = r.backend.as_ref().expect("a named backend");
            (b.name.as_str(), b.index, r.line)
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("server_www", 1, 27),
            ("server_static", 2, 28),
            ("server_video", 3, 29)
        ]
    );
    let cond = www.switching_rules[1].cond.as_ref().expect("condition");
    assert!(!cond.unless);
    assert_eq!(
        cond.any_of,
        [vec![Term {
            negate: false,
            acl: 1
        }]]
    );
    assert_eq!(www.default_backend, None);

    let be = cfg.backend("server_www").expect("backend server_www");
    assert_eq!(be.balance, Balance::Roundrobin);
    assert_eq!(be.retries, 3);
    assert_eq!(be.options.redispatch, Some(-1));
    assert!(be.options.abortonclose);
    assert_eq!(be.timeouts.connect, Some(Duration::from_secs(5)));
    assert_eq!(be.timeouts.server, Some(Duration::from_secs(30)));
    assert_eq!(be.timeouts.check, Some(Duration::from_secs(2)));
    let chk = be.http_check.as_ref().expect("option httpchk");
    let send = chk.first_send().expect("a request");
    assert_eq!(
        (send.method(), send.fixed_uri(), send.version()),
        ("GET", Some("/index.html"), "HTTP/1.0")
    );
    assert_eq!(chk.rules.len(), 2, "the request, then the implicit expect");
    let s = &be.servers[0];
    assert_eq!(s.name, "webapp1");
    assert_eq!(s.addr, ServerAddr::Ip(ip("192.168.66.20")));
    assert_eq!(s.port, ServerPort::Fixed(80));
    assert_eq!((s.weight, s.check, s.rise, s.fall), (6, true, 2, 3));
    assert_eq!(s.inter, Duration::from_millis(2000));
    assert_eq!(
        (s.fastinter, s.downinter, s.backup, s.disabled),
        (None, None, false, false)
    );
    assert_eq!(
        cfg.backend("server_video")
            .expect("video")
            .http_check
            .as_ref()
            .and_then(|c| c.first_send()?.fixed_uri()),
        Some("/index.jsp")
    );

    let stats_px = cfg.frontend("admin_stats").expect("listen admin_stats");
    assert_eq!(stats_px.binds[0].port, 9188);
    let stats = stats_px.stats.as_ref().expect("stats enabled");
    assert_eq!(stats.uri, "/haproxy-status");
    assert_eq!(stats.realm.as_deref(), Some("Haproxy Statistics"));
    assert_eq!(stats.auth, [("admin".to_owned(), "admin".to_owned())]);
    assert_eq!(stats.refresh, Some(Duration::from_secs(30)));
    assert!(stats.hide_version);
}

/// Checks the fields both book-14.3 keepalived files share.
fn assert_book_143_common<'a>(cfg: &'a KeepalivedConfig, router_id: &str) -> &'a VrrpInstance {
    let g = &cfg.global;
    assert_eq!(g.notification_email, ["ops@example.com"]);
    assert_eq!(
        g.notification_email_from.as_deref(),
        Some("keepalived@example.com")
    );
    assert_eq!(g.smtp_server, Some((ip("192.168.200.1"), 25)));
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
    assert_eq!(g.router_id.as_deref(), Some(router_id));
    assert_eq!(g.compat, Compat::V2_2);
    let s = cfg.script("check_haproxy").expect("vrrp_script");
    assert_eq!(s.script, "killall -0 haproxy");
    assert_eq!(
        (s.interval, s.weight, s.rise, s.fall),
        (Duration::from_secs(2), 21, 1, 1)
    );
    assert_eq!(s.timeout, None);
    assert_eq!(cfg.instances.len(), 1);
    let i = &cfg.instances[0];
    assert_eq!(i.name, "HA_1");
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.interface, "eth0");
    assert_eq!(i.vrid, 80);
    assert_eq!(i.version, 2);
    assert_eq!(i.advert_int, Duration::from_secs(2));
    assert_eq!(
        i.auth,
        Some(Auth {
            kind: AuthType::Pass,
            pass: "1111".into()
        })
    );
    assert_eq!(
        i.vips,
        [Vip {
            addr: ip("192.168.66.10"),
            prefix: 24,
            dev: Some("eth0".into()),
            label: None
        }]
    );
    assert_eq!(
        i.track_scripts,
        [TrackScript {
            name: "check_haproxy".into(),
            script: 0,
            weight: None,
            reverse: None
        }]
    );
    assert_eq!(
        i.notify.master.as_deref(),
        Some("/etc/keepalived/mail_notify.py master")
    );
    assert_eq!(
        i.notify.backup.as_deref(),
        Some("/etc/keepalived/mail_notify.py backup")
    );
    assert_eq!(
        i.notify.fault.as_deref(),
        Some("/etc/keepalived/mail_notify.py fault")
    );
    assert_eq!(
        (i.garp_master_delay, i.garp_master_repeat),
        (Duration::from_secs(5), 5)
    );
    assert!(i.unicast_peers.is_empty());
    i
}

#[test]
fn book_143_keepalived_models() {
    let server = keepalived_ok("keepalived-haproxy-server.conf", BOOK_143_SERVER);
    let a = assert_book_143_common(&server, "haproxy-server");
    assert_eq!((a.priority, a.nopreempt), (100, true));
    let backup = keepalived_ok("keepalived-backup-haproxy.conf", BOOK_143_BACKUP);
    let b = assert_book_143_common(&backup, "backup-haproxy");
    assert_eq!((b.priority, b.nopreempt), (90, false));
}

#[test]
fn book_144_dual_master_models() {
    let cfg = haproxy_ok("haproxy.cfg", BOOK_144_HAPROXY);
    let www = cfg.frontend("www").expect("frontend www");
    assert_eq!(www.switching_rules.len(), 2);
    let img = cfg.backend("server_img").expect("server_img");
    let names: Vec<&str> = img.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["webimg1", "webimg2"]);

    for (file, text, master_of) in [
        ("keepalived-haproxy1.conf", BOOK_144_HA1, "HAProxy_HA1"),
        ("keepalived-haproxy2.conf", BOOK_144_HA2, "HAProxy_HA2"),
    ] {
        let k = keepalived_ok(file, text);
        let summary: Vec<(&str, u8, InitialState, u8)> = k
            .instances
            .iter()
            .map(|i| (i.name.as_str(), i.vrid, i.state, i.priority))
            .collect();
        let (m, b) = (InitialState::Master, InitialState::Backup);
        let expected = if master_of == "HAProxy_HA1" {
            [("HAProxy_HA1", 80, m, 100), ("HAProxy_HA2", 81, b, 90)]
        } else {
            [("HAProxy_HA1", 80, b, 90), ("HAProxy_HA2", 81, m, 100)]
        };
        assert_eq!(summary, expected, "{file}");
        let vips: Vec<String> = k
            .instances
            .iter()
            .map(|i| i.vips[0].addr.to_string())
            .collect();
        assert_eq!(vips, ["192.168.66.10", "192.168.66.20"], "{file}");
    }
}

// Input: `log` lines with `len` and `sample` (ranges and a run length),
// and one with a sample that is not `<ranges>:<size>`.
// Output: both read into the target; the bad one is an error at its line.
#[test]
fn log_targets_read_len_and_sample() {
    let text = "global\n    log 127.0.0.1:514 len 2048 sample 1,3-4:5 local0\n";
    let cfg = haproxy::parse(&[("t.cfg", text)], &ParseOptions::default())
        .config
        .expect("valid");
    let LogTarget::Target { len, sample, .. } = &cfg.global.logs[0] else {
        panic!("a target");
    };
    let sample = sample.as_ref().expect("a sample");
    assert_eq!(
        (*len, &sample.ranges, sample.size),
        (Some(2048), &vec![(1, 1), (3, 4)], 5)
    );
    let taken: Vec<bool> = (0..10).map(|seen| sample.takes(seen)).collect();
    let one_run = [true, false, true, true, false];
    assert_eq!(taken, [one_run, one_run].concat());
    let bad = "global\n    log 127.0.0.1:514 sample 0:5 local0\n";
    let parsed = haproxy::parse(&[("t.cfg", bad)], &ParseOptions::default());
    let errors: Vec<u32> = parsed.diagnostics.errors().map(|d| d.line).collect();
    assert_eq!(errors, [2]);
}

// Input: `uid 33` and `gid 34` in global.
// Output: the process drops to them as to `user` / `group`, unwarned.
#[test]
fn uid_and_gid_name_the_account_to_drop_to() {
    let text = "global\n    uid 33\n    gid 34\n";
    let parsed = haproxy::parse(&[("t.cfg", text)], &ParseOptions::default());
    assert_eq!(
        parsed.diagnostics.iter().count(),
        0,
        "{:?}",
        parsed.diagnostics
    );
    let cfg = parsed.config.expect("valid");
    assert_eq!(
        (cfg.global.user.as_deref(), cfg.global.group.as_deref()),
        (Some("33"), Some("34"))
    );
}
