//! The stats CSV in haproxy 2.6's layout: a `# ` header of the 103 base
//! columns then `-`, one row per frontend, server and backend in config
//! order, every line ending with a comma (as haproxy 2.6.12 serves it over
//! HTTP; its module columns after `-` are left out). Which cells are empty
//! and which are `0` follows haproxy per row type.

use super::{proxy_id, Counters, Tally};
use crate::config::haproxy::{HaproxyConfig, Mode, Proxy, ProxyKind, ServerAddr, ServerPort};
use crate::health::Checks;
use crate::proxy::Flow;
use crate::time::Instant;
use crate::vrrp::InstanceView;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The base columns, in order.
pub(super) const COLUMNS: [&str; 103] = [
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
];

/// Cells a frontend row shows as `0` when nothing else is known.
const FRONTEND_ZERO: &[&str] = &[
    "scur",
    "smax",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "rate",
    "rate_lim",
    "rate_max",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "cache_lookups",
    "cache_hits",
    "eint",
];

/// Cells a listener row (`option socket-stats`) shows as `0`.
const LISTENER_ZERO: &[&str] = &[
    "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp", "ereq", "dcon", "dses", "wrew",
    "eint",
];

/// Cells a server row shows as `0`.
const SERVER_ZERO: &[&str] = &[
    "qcur",
    "qmax",
    "scur",
    "smax",
    "stot",
    "bin",
    "bout",
    "dresp",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "lastchg",
    "lbtot",
    "rate",
    "rate_max",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "wrew",
    "connect",
    "reuse",
    "srv_icur",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
];

/// Cells a checked server adds as `0`.
const CHECKED_ZERO: &[&str] = &["chkfail", "chkdown", "downtime", "check_duration"];

/// Cells a backend row shows as `0`.
const BACKEND_ZERO: &[&str] = &[
    "qcur",
    "qmax",
    "scur",
    "smax",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "chkdown",
    "lastchg",
    "downtime",
    "lbtot",
    "rate",
    "rate_max",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
];

/// What the CSV is made from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The running config.
    pub config: &'a HaproxyConfig,
    /// Traffic counters.
    pub counters: &'a Counters,
    /// The request flow (queues, connections in progress, usable servers).
    pub flow: &'a Flow,
    /// The health checks.
    pub checks: &'a Checks,
    /// The time now (for `lastchg`).
    pub now: Instant,
    /// The VRRP instances of the same process, if it runs any.
    pub vrrp: &'a [InstanceView],
}

/// One row: cells by column name.
pub(super) type Row = BTreeMap<&'static str, String>;

fn row(proxy: &Proxy, iid: usize, svname: &str, kind: u8, zeros: &[&'static str]) -> Row {
    let mut r: Row = zeros.iter().map(|c| (*c, "0".to_owned())).collect();
    r.insert("pxname", proxy.name.clone());
    r.insert("svname", svname.to_owned());
    r.insert("pid", "1".into());
    r.insert("iid", iid.to_string());
    r.insert("type", kind.to_string());
    r.insert("mode", proxy.mode.as_str().into());
    r.insert("-", "-".into());
    r
}

fn traffic(r: &mut Row, t: &Tally) {
    let classes = [
        "hrsp_1xx",
        "hrsp_2xx",
        "hrsp_3xx",
        "hrsp_4xx",
        "hrsp_5xx",
        "hrsp_other",
    ];
    for (c, n) in classes.iter().zip(t.by_class) {
        r.insert(c, n.to_string());
    }
    for (c, n) in [
        ("scur", t.current),
        ("smax", t.max),
        ("stot", t.total),
        ("req_tot", t.requests),
        ("bin", t.bytes_in),
        ("bout", t.bytes_out),
        // Module counters: only `show stat typed` prints them.
        ("h1_spliced_bytes_in", t.spliced_in),
        ("h1_spliced_bytes_out", t.spliced_out),
        ("h2_headers_rcvd", t.h2.headers_rcvd),
        ("h2_data_rcvd", t.h2.data_rcvd),
        ("h2_settings_rcvd", t.h2.settings_rcvd),
        ("h2_rst_stream_rcvd", t.h2.rst_stream_rcvd),
        ("h2_goaway_rcvd", t.h2.goaway_rcvd),
        (
            "h2_detected_conn_protocol_errors",
            t.h2.conn_protocol_errors,
        ),
        (
            "h2_detected_strm_protocol_errors",
            t.h2.strm_protocol_errors,
        ),
        ("h2_rst_stream_resp", t.h2.rst_stream_resp),
        ("h2_goaway_resp", t.h2.goaway_resp),
        ("h2_open_connections", t.h2_open),
        ("h2_total_connections", t.h2_total),
    ] {
        r.insert(c, n.to_string());
    }
    // Compression and cache: only the rows that show them (not servers')
    // have these.
    for (c, n) in [
        ("comp_in", t.comp_in),
        ("comp_out", t.comp_out),
        ("comp_rsp", t.comp_rsp),
        ("cache_lookups", t.cache_lookups),
        ("cache_hits", t.cache_hits),
    ] {
        if r.contains_key(c) {
            r.insert(c, n.to_string());
        }
    }
}

fn backend_traffic(r: &mut Row, t: &Tally) {
    traffic(r, t);
    for (c, n) in [
        ("lbtot", t.picked),
        ("econ", t.connect_errors),
        ("wretr", t.retries),
        ("wredis", t.redispatches),
    ] {
        r.insert(c, n.to_string());
    }
}

fn frontend_row(s: &Sources<'_>, p: &Proxy, index: usize) -> Row {
    let mut r = row(p, proxy_id(s.config, index), "FRONTEND", 0, FRONTEND_ZERO);
    r.insert("sid", "0".into());
    let status = if s.flow.frontend_paused(index) {
        "PAUSED"
    } else {
        "OPEN"
    };
    r.insert("status", status.into());
    if let Some(limit) = p.maxconn.or(s.config.global.maxconn) {
        r.insert("slim", limit.to_string());
    }
    traffic(&mut r, &s.counters.frontend(index));
    r
}

/// A row per listener of frontend `p` (`option socket-stats`): its
/// `name`, else `sock-N`.
fn listener_rows(s: &Sources<'_>, p: &Proxy, index: usize, legends: bool) -> Vec<Row> {
    let status = if s.flow.frontend_paused(index) {
        "PAUSED"
    } else {
        "OPEN"
    };
    let rows = p.binds.iter().enumerate().map(|(n, bind)| {
        let name = bind
            .name
            .clone()
            .unwrap_or_else(|| format!("sock-{}", n + 1));
        let mut r = row(p, proxy_id(s.config, index), &name, 3, LISTENER_ZERO);
        r.insert("sid", (n + 1).to_string());
        r.insert("status", status.into());
        if let (true, Some(ip)) = (legends, bind.addr) {
            r.insert("addr", SocketAddr::new(ip, bind.port).to_string());
        }
        let t = s.counters.listener(index, n);
        for (c, v) in [
            ("scur", t.current),
            ("smax", t.max),
            ("stot", t.total),
            ("bin", t.bytes_in),
            ("bout", t.bytes_out),
        ] {
            r.insert(c, v.to_string());
        }
        r
    });
    rows.collect()
}

fn server_rows(s: &Sources<'_>, p: &Proxy, b: usize, legends: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, srv) in p.servers.iter().enumerate().filter(|(_, s)| !s.deleted) {
        let check = s.checks.id_of(b, i).map(|id| s.checks.state(id));
        let zeros: Vec<&'static str> = SERVER_ZERO
            .iter()
            .chain(if check.is_some() { CHECKED_ZERO } else { &[] })
            .copied()
            .collect();
        let mut r = row(p, proxy_id(s.config, b), &srv.name, 2, &zeros);
        r.insert("sid", (i + 1).to_string());
        let status = match check {
            _ if s.flow.in_maintenance(b, i) => "MAINT".to_owned(),
            _ if s.flow.draining(b, i) && s.flow.is_up(b, i) => "DRAIN".to_owned(),
            Some((counter, _)) => counter.stats_status(),
            // Unchecked but down: its agent said so.
            None if !s.flow.is_up(b, i) => "DOWN (agent)".to_owned(),
            None => "no check".to_owned(),
        };
        r.insert("status", status);
        let weight = s.flow.weight(b, i).unwrap_or(srv.weight);
        r.insert("weight", weight.to_string());
        r.insert("uweight", weight.to_string());
        let since = s.now.saturating_duration_since(s.flow.last_change(b, i));
        r.insert("lastchg", since.as_secs().to_string());
        r.insert("lastsess", "-1".into());
        if legends {
            match (&srv.addr, &srv.port) {
                (ServerAddr::Ip(ip), ServerPort::Fixed(port)) => {
                    r.insert("addr", SocketAddr::new(*ip, *port).to_string());
                }
                (ServerAddr::Unix(unix), _) => {
                    r.insert("addr", unix.to_string());
                }
                _ => {}
            }
            if let Some(cookie) = &srv.cookie {
                r.insert("cookie", cookie.clone());
            }
        }
        r.insert("act", u8::from(!srv.backup).to_string());
        r.insert("bck", u8::from(srv.backup).to_string());
        if let Some(limit) = s.flow.maxconn(b, i).or(srv.maxconn) {
            r.insert("slim", limit.to_string());
        }
        if let Some(id) = s.checks.id_of(b, i) {
            let tally = s.checks.tally(id, s.now);
            r.insert("chkfail", tally.failed.to_string());
            r.insert("chkdown", tally.downs.to_string());
            r.insert("downtime", tally.downtime.as_secs().to_string());
        }
        if let Some((counter, last)) = check {
            let (rise, fall, health) = counter.values();
            r.insert("check_rise", rise.to_string());
            r.insert("check_fall", fall.to_string());
            r.insert("check_health", health.to_string());
            if let Some(last) = last {
                r.insert("check_status", last.status.code().into());
                r.insert("check_desc", last.status.description().into());
                r.insert("check_duration", last.duration_ms.to_string());
                if last.status.is_l7_with_code() {
                    if let Some(code) = last.code {
                        r.insert("check_code", code.to_string());
                    }
                }
                if let Some(info) = &last.info {
                    r.insert("last_chk", info.clone());
                }
            }
        }
        r.insert("need_conn_est", "1".into());
        let t = s.counters.server(b, i);
        backend_traffic(&mut r, &t);
        r.insert("scur", s.flow.inflight(b, i).to_string());
        rows.push(r);
    }
    rows
}

fn backend_row(s: &Sources<'_>, p: &Proxy, b: usize, legends: bool) -> Row {
    let mut r = row(p, proxy_id(s.config, b), "BACKEND", 1, BACKEND_ZERO);
    r.insert("sid", "0".into());
    if legends {
        r.insert("algo", p.balance.name().into());
        if let Some(cookie) = &p.cookie {
            r.insert("cookie", cookie.name.clone());
        }
    }
    if let Some(full) = p.fullconn {
        r.insert("slim", full.to_string());
    }
    let usable: Vec<(usize, &crate::config::haproxy::Server)> = p
        .servers
        .iter()
        .enumerate()
        .filter(|(i, _)| s.flow.is_up(b, *i) && !s.flow.draining(b, *i))
        .collect();
    let weight: u32 = usable
        .iter()
        .filter(|(_, srv)| !srv.backup)
        .map(|(i, srv)| s.flow.weight(b, *i).unwrap_or(srv.weight))
        .sum();
    let act = usable.iter().filter(|(_, srv)| !srv.backup).count();
    let bck = usable.len() - act;
    let up = p.servers.is_empty() || !usable.is_empty();
    if p.servers.is_empty() {
        r.remove("downtime");
    }
    r.insert("status", if up { "UP" } else { "DOWN" }.into());
    r.insert("weight", weight.to_string());
    r.insert("uweight", weight.to_string());
    r.insert("act", act.to_string());
    r.insert("bck", bck.to_string());
    backend_traffic(&mut r, &s.counters.backend(b));
    r.insert("qcur", s.flow.queued(b).to_string());
    r
}

fn line(out: &mut String, cells: impl Iterator<Item = String>) {
    for c in cells {
        out.push_str(&c.replace(',', " "));
        out.push(',');
    }
    out.push('\n');
}

/// Every row in config order: per proxy its frontend, its servers, its
/// backend, as haproxy lists them; with `legends`, what the configuration
/// says of them (addresses, cookies, algorithms).
pub(super) fn rows(s: &Sources<'_>, legends: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (index, p) in s.config.proxies.iter().enumerate() {
        let first = rows.len();
        if p.kind != ProxyKind::Backend {
            rows.push(frontend_row(s, p, index));
            if p.options.socket_stats {
                rows.extend(listener_rows(s, p, index, legends));
            }
        }
        if p.kind != ProxyKind::Frontend {
            rows.extend(server_rows(s, p, index, legends));
            rows.push(backend_row(s, p, index, legends));
        }
        if p.mode == Mode::Tcp {
            rows[first..].iter_mut().for_each(without_http);
        }
    }
    rows
}

/// Columns only HTTP proxies fill; haproxy leaves them empty in `mode
/// tcp` (but a frontend's `req_tot`, which stays 0).
const HTTP_ONLY: [&str; 10] = [
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_tot",
    "intercepted",
    "cache_lookups",
    "cache_hits",
];

fn without_http(r: &mut Row) {
    for c in HTTP_ONLY {
        r.remove(c);
    }
    if r.get("svname").is_some_and(|n| n == "FRONTEND") {
        r.insert("req_tot", "0".into());
    }
}

/// Which proxies a stats page or CSV shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown<'a> {
    /// The page's `scope=`: those whose name holds it, in any case.
    pub search: Option<&'a str>,
    /// The serving proxy's `stats scope` lines: only the proxies so named
    /// (`.`: the serving proxy itself); none, every proxy.
    pub listed: &'a [String],
    /// The serving proxy's name.
    pub serving: &'a str,
    /// The configuration's legends (server addresses and cookies,
    /// backends' algorithms): `stats show-legends`, or the runtime API at
    /// operator level or above.
    pub legends: bool,
}

impl Shown<'_> {
    /// True when proxy `name` is shown.
    pub(super) fn shows(&self, name: &str) -> bool {
        let listed = self.listed.is_empty()
            || self
                .listed
                .iter()
                .any(|l| l == name || (l == "." && name == self.serving));
        let searched = self.search.is_none_or(|scope| {
            name.to_ascii_lowercase()
                .contains(&scope.to_ascii_lowercase())
        });
        listed && searched
    }
}

/// The CSV of every proxy `shown` lets through, in config order.
pub fn csv(s: &Sources<'_>, shown: &Shown<'_>) -> String {
    let mut out = String::from("# ");
    line(
        &mut out,
        COLUMNS.iter().chain(&["-"]).map(|c| (*c).to_owned()),
    );
    let in_scope = |r: &Row| shown.shows(r.get("pxname").map_or("", String::as_str));
    for r in rows(s, shown.legends).into_iter().filter(in_scope) {
        line(
            &mut out,
            COLUMNS
                .iter()
                .chain(&["-"])
                .map(|c| r.get(c).cloned().unwrap_or_default()),
        );
    }
    out
}
