//! A client group that replays a haproxy access log: each request goes
//! out when it came in the log, with its method, path and Host.

use haven_sim::{load, run};

const CONFIG: &str = "\
global
    log 127.0.0.1 local0 info
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web
    bind *:80
    use_backend api if { hdr(host) -i api.zb.com }
    default_backend pool
backend pool
    server b1 10.1.0.1:80
backend api
    server a1 10.1.0.2:80
";

/// Three requests of yesterday's log, out of date order, among a
/// keepalived line; the second was sent to api.zb.com.
const LOG: &str = "\
Dec  4 09:00:00 lb1 haproxy[812]: 10.9.0.1:5000 [04/Dec/2026:09:00:00.100] web pool/b1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {www.zb.com} \"GET /index.html HTTP/1.1\"
Dec  4 09:00:01 lb1 Keepalived_vrrp[900]: VRRP_Instance(HA_1) Sending gratuitous ARPs on eth0
Dec  4 09:00:01 lb1 haproxy[812]: 10.9.0.2:5001 [04/Dec/2026:09:00:01.350] web pool/b1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {www.zb.com} \"GET /missing HTTP/1.1\"
Dec  4 09:00:00 lb1 haproxy[812]: 10.9.0.3:5002 [04/Dec/2026:09:00:00.600] web api/a1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {api.zb.com} \"POST /orders HTTP/1.1\"
";

const SCENARIO: &str = r#"
name = "replay"
seed = 1
start = "2026-12-05 10:00:00"
duration = "10s"
log_requests = true

[network]
latency = "100us"

[[host]]
name = "lb"
address = "10.0.0.1"
haproxy = "lb.cfg"

[[backend]]
address = "10.1.0.1:80"
service = "1ms"
distribution = "constant"
status = { "/missing" = 404 }

[[backend]]
address = "10.1.0.2:80"
service = "1ms"
distribution = "constant"

[[client]]
name = "yesterday"
target = "10.0.0.1:80"
replay = "access.log"
start = "2s"
"#;

/// The load balancer's syslog file after a run of `sc`.
fn lb_log(sc: &haven_sim::Loaded) -> String {
    let (_, log) = run(sc, None)
        .syslog_files()
        .into_iter()
        .find(|(host, _)| host == "lb")
        .expect("the LB's log");
    log
}

fn read(name: &str) -> Result<String, String> {
    match name {
        "lb.cfg" => Ok(CONFIG.into()),
        "access.log" => Ok(LOG.into()),
        other => Err(format!("no file {other}")),
    }
}

// Input: the log's three requests replayed from 2 s into the run.
// Output: the load balancer logs them at 2.000, 2.500 and 3.250 s, in
// that order, with their methods and paths; the POST with Host
// api.zb.com goes to the api backend, /missing gets the backend's 404.
#[test]
fn an_access_log_replays_with_its_times_methods_paths_and_hosts() {
    let sc = load("replay.toml", SCENARIO, &read, None).unwrap_or_else(|e| panic!("{e}"));
    let log = lb_log(&sc);
    let traffic: Vec<&str> = log.lines().filter(|l| l.ends_with(" HTTP/1.1\"")).collect();
    assert_eq!(traffic.len(), 3, "{log}");
    let expected = [
        (
            "[05/Dec/2026:10:00:02.000]",
            "web pool/b1",
            " 200 ",
            "\"GET /index.html HTTP/1.1\"",
        ),
        (
            "[05/Dec/2026:10:00:02.500]",
            "web api/a1",
            " 200 ",
            "\"POST /orders HTTP/1.1\"",
        ),
        (
            "[05/Dec/2026:10:00:03.250]",
            "web pool/b1",
            " 404 ",
            "\"GET /missing HTTP/1.1\"",
        ),
    ];
    for (line, parts) in traffic.iter().zip(expected) {
        for part in [parts.0, parts.1, parts.2, parts.3] {
            assert!(line.contains(part), "{part} not in {line}");
        }
    }
}

// Input: a replay of a file with no httplog line, and one with a bad date.
// Output: the scenario is refused, naming the client's `replay` and why.
#[test]
fn unreadable_access_logs_are_refused_with_the_line() {
    let with = |log: &'static str| {
        move |name: &str| match name {
            "access.log" => Ok(log.to_owned()),
            other => read(other),
        }
    };
    let e = load("replay.toml", SCENARIO, &with("nothing here\n"), None)
        .expect_err("no request in the log");
    assert!(
        e.to_string()
            .contains("access.log: no httplog request line"),
        "{e}"
    );
    let bad = "\nx 10.9.0.1:5000 [04/Dec/2026:25:00:00.100] web pool/b1 \"GET / HTTP/1.1\"\n";
    let e = load("replay.toml", SCENARIO, &with(bad), None).expect_err("a bad hour");
    assert!(
        e.to_string()
            .contains("access.log:2: '04/Dec/2026:25:00:00.100'"),
        "{e}"
    );
}

// Input: the same replay through a frontend with a `log-format` that
// prints the server's address, the quoted method and path, the status
// and a variable a rule set.
// Output: the simulated traffic lines are that format filled in, in the
// replayed order.
#[test]
fn simulated_traffic_lines_follow_the_frontends_log_format() {
    let formatted = CONFIG.replace(
        "    bind *:80\n",
        "    bind *:80\n    http-request set-var(txn.t) str(sim)\n    log-format \"%si:%sp %{+Q}HM %HP %ST %[var(txn.t)] %fi:%fp\"\n",
    );
    let read = |name: &str| match name {
        "lb.cfg" => Ok(formatted.clone()),
        other => read(other),
    };
    let sc = load("replay.toml", SCENARIO, &read, None).unwrap_or_else(|e| panic!("{e}"));
    let log = lb_log(&sc);
    let traffic: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("haproxy[").map(|(_, m)| m))
        .filter_map(|m| m.split_once("]: ").map(|(_, m)| m))
        .filter(|m| m.contains(" sim "))
        .collect();
    assert_eq!(
        traffic,
        [
            "10.1.0.1:80 \"GET\" /index.html 200 sim 10.0.0.1:80",
            "10.1.0.2:80 \"POST\" /orders 200 sim 10.0.0.1:80",
            "10.1.0.1:80 \"GET\" /missing 404 sim 10.0.0.1:80",
        ],
        "{log}"
    );
}
