//! The Prometheus text exposition of the same rows as the CSV, under the
//! metric names of haproxy's built-in exporter (`haproxy_frontend_*`,
//! `haproxy_backend_*`, `haproxy_server_*`) so existing dashboards and
//! alerts keep working. Each metric family lists every row of its kind.

use super::csv::{rows, Row};
use super::Sources;
use std::fmt::Write;

/// Whether a family only grows.
#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}

/// One metric family read from one CSV column.
struct Family {
    suffix: &'static str,
    column: &'static str,
    kind: Kind,
    help: &'static str,
}

const fn gauge(suffix: &'static str, column: &'static str, help: &'static str) -> Family {
    Family {
        suffix,
        column,
        kind: Kind::Gauge,
        help,
    }
}

const fn counter(suffix: &'static str, column: &'static str, help: &'static str) -> Family {
    Family {
        suffix,
        column,
        kind: Kind::Counter,
        help,
    }
}

/// Families every row kind has.
const COMMON: [Family; 5] = [
    gauge("current_sessions", "scur", "Sessions open now."),
    gauge("max_sessions", "smax", "Most sessions open at once."),
    counter("sessions_total", "stot", "Sessions since start."),
    counter("bytes_in_total", "bin", "Request bytes since start."),
    counter("bytes_out_total", "bout", "Response bytes since start."),
];

const FRONTEND: [Family; 4] = [
    gauge(
        "limit_sessions",
        "slim",
        "Configured session limit (maxconn).",
    ),
    counter(
        "requests_denied_total",
        "dreq",
        "Requests denied since start.",
    ),
    counter(
        "request_errors_total",
        "ereq",
        "Invalid requests since start.",
    ),
    counter(
        "http_requests_total",
        "req_tot",
        "HTTP requests since start.",
    ),
];

/// Families backends and servers share.
const UPSTREAM: [Family; 7] = [
    gauge(
        "current_queue",
        "qcur",
        "Requests waiting in the queue now.",
    ),
    gauge("max_queue", "qmax", "Most requests queued at once."),
    counter(
        "connection_errors_total",
        "econ",
        "Failed connections to servers.",
    ),
    counter("retry_warnings_total", "wretr", "Connection retries."),
    counter(
        "redispatch_warnings_total",
        "wredis",
        "Redispatches to another server.",
    ),
    gauge(
        "weight",
        "weight",
        "Effective weight (a backend: its active servers' sum).",
    ),
    counter(
        "loadbalanced_total",
        "lbtot",
        "Times picked by the load balancer.",
    ),
];

const BACKEND: [Family; 3] = [
    gauge("active_servers", "act", "Active servers up."),
    gauge("backup_servers", "bck", "Backup servers up."),
    counter(
        "http_requests_total",
        "req_tot",
        "HTTP requests since start.",
    ),
];

const SERVER: [Family; 3] = [
    gauge(
        "limit_sessions",
        "slim",
        "Configured session limit (maxconn).",
    ),
    counter("check_failures_total", "chkfail", "Failed health checks."),
    counter("check_up_down_total", "chkdown", "UP to DOWN transitions."),
];

/// The `state` labels of a status family, per row kind.
const FRONTEND_STATES: [&str; 2] = ["DOWN", "UP"];
const SERVER_STATES: [&str; 5] = ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"];

/// The CSV's response-class columns and their `code` labels.
const CLASSES: [(&str, &str); 6] = [
    ("hrsp_1xx", "1xx"),
    ("hrsp_2xx", "2xx"),
    ("hrsp_3xx", "3xx"),
    ("hrsp_4xx", "4xx"),
    ("hrsp_5xx", "5xx"),
    ("hrsp_other", "other"),
];

/// Process-wide figures the driver knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Process {
    /// Threads serving traffic.
    pub threads: u32,
    /// Start time, seconds since the Unix epoch.
    pub start_time: u64,
    /// Seconds since start.
    pub uptime: u64,
    /// Client connections open now.
    pub connections: u64,
    /// TLS connections open now, to clients and to servers.
    pub tls_connections: u64,
    /// TLS connections since start.
    pub tls_connections_total: u64,
}

/// The whole exposition: process, then frontends, backends, servers, and
/// the VRRP instances.
pub fn prometheus(s: &Sources<'_>, process: Process) -> String {
    let mut out = String::new();
    let gauge = "gauge";
    for (suffix, value, kind, help) in [
        (
            "nbthread",
            process.threads.into(),
            gauge,
            "Threads serving traffic.",
        ),
        (
            "start_time_seconds",
            process.start_time,
            gauge,
            "Start time, Unix seconds.",
        ),
        (
            "uptime_seconds",
            process.uptime,
            gauge,
            "Seconds since start.",
        ),
        (
            "current_connections",
            process.connections,
            gauge,
            "Client connections open now.",
        ),
        (
            "current_ssl_connections",
            process.tls_connections,
            gauge,
            "TLS connections open now, to clients and to servers.",
        ),
        (
            "ssl_connections_total",
            process.tls_connections_total,
            "counter",
            "TLS connections since start, to clients and to servers.",
        ),
    ] {
        let name = format!("haproxy_process_{suffix}");
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let all = rows(s, false);
    let of = |kind: &str| -> Vec<&Row> {
        all.iter()
            .filter(|r| r.get("type").map(String::as_str) == Some(kind))
            .collect()
    };
    let (frontends, backends, servers) = (of("0"), of("1"), of("2"));
    let families = |extra: &'static [Family]| COMMON.iter().chain(extra.iter());
    let upstream = |extra: &'static [Family]| families(&UPSTREAM).chain(extra.iter());
    section(
        &mut out,
        "frontend",
        &frontends,
        families(&FRONTEND),
        &FRONTEND_STATES,
    );
    section(
        &mut out,
        "backend",
        &backends,
        upstream(&BACKEND),
        &FRONTEND_STATES,
    );
    section(
        &mut out,
        "server",
        &servers,
        upstream(&SERVER),
        &SERVER_STATES,
    );
    out.push_str(&super::vrrp::vrrp_metrics(s.vrrp));
    out
}

/// Every family of one row kind, then its status and response classes.
fn section<'a>(
    out: &mut String,
    kind: &str,
    rows: &[&Row],
    families: impl Iterator<Item = &'a Family>,
    states: &[&str],
) {
    if rows.is_empty() {
        return;
    }
    for f in families {
        let name = format!("haproxy_{kind}_{}", f.suffix);
        let type_name = match f.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {type_name}", f.help);
        for r in rows {
            let value = match r.get(f.column).map(String::as_str) {
                Some(v) if !v.is_empty() => v,
                _ if f.column.starts_with("chk") => "NaN",
                _ => "0",
            };
            let _ = writeln!(out, "{name}{{{}}} {value}", labels(kind, r));
        }
    }
    let name = format!("haproxy_{kind}_status");
    let _ = writeln!(
        out,
        "# HELP {name} Status, one sample per state, 1 for the current one.\n# TYPE {name} gauge"
    );
    for r in rows {
        let current = state(r.get("status").map_or("", String::as_str));
        for st in states {
            let on = u8::from(*st == current);
            let _ = writeln!(out, "{name}{{{},state=\"{st}\"}} {on}", labels(kind, r));
        }
    }
    let name = format!("haproxy_{kind}_http_responses_total");
    let _ = writeln!(
        out,
        "# HELP {name} HTTP responses by status class.\n# TYPE {name} counter"
    );
    for r in rows {
        for (column, code) in CLASSES {
            let value = r.get(column).map_or("0", String::as_str);
            let _ = writeln!(out, "{name}{{{},code=\"{code}\"}} {value}", labels(kind, r));
        }
    }
}

/// `proxy="..."` and, for servers, `server="..."`.
fn labels(kind: &str, r: &Row) -> String {
    let text = |c: &str| escape(r.get(c).map_or("", String::as_str));
    if kind == "server" {
        format!("proxy=\"{}\",server=\"{}\"", text("pxname"), text("svname"))
    } else {
        format!("proxy=\"{}\"", text("pxname"))
    }
}

/// A label value escaped as the exposition format wants.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The state label of a CSV status (`UP 1/3` is still UP, `OPEN` is UP,
/// `no check` counts as UP).
fn state(status: &str) -> &'static str {
    let word = status.split(' ').next().unwrap_or("");
    match word {
        "DOWN" => "DOWN",
        "MAINT" => "MAINT",
        "DRAIN" => "DRAIN",
        "NOLB" => "NOLB",
        _ => "UP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_from_csv_statuses() {
        assert_eq!(state("UP 1/3"), "UP");
        assert_eq!(state("DOWN 1/2"), "DOWN");
        assert_eq!(state("OPEN"), "UP");
        assert_eq!(state("no check"), "UP");
        assert_eq!(state("MAINT"), "MAINT");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
