//! `show stat typed`: each cell of the stats on a line of its own, as
//! haproxy 2.6 prints it: `F.<iid>.<sid>.<pos>.<name>.1:<tags>:<type>:<value>`
//! (`F`rontend, `B`ackend, `S`erver), the tags being the field's origin,
//! nature and scope. After the base columns come the counters of
//! haproxy's stats modules: TLS (`ssl_*`, every row), HTTP/2 (`h2_*`) and
//! HTTP/1 (`h1_*`), frontends and backends only. haven keeps the
//! spliced bytes and the HTTP/2 counters of client connections among
//! them; the others print 0.

use super::csv::{rows, Row, COLUMNS};
use super::{Shown, Sources};
use std::fmt::Write;

/// A base column's tags and type; the second pair for a backend row when
/// it differs there.
struct Typing(&'static str, Option<&'static str>);

/// The tags and type of each base column, in [`COLUMNS`] order.
const BASE: [Typing; 103] = [
    Typing("KNS:str", None),            // pxname
    Typing("KNS:str", None),            // svname
    Typing("MGP:u32", None),            // qcur
    Typing("MMP:u32", None),            // qmax
    Typing("MGP:u32", None),            // scur
    Typing("MMP:u32", None),            // smax
    Typing("CLP:u32", None),            // slim
    Typing("MCP:u64", None),            // stot
    Typing("MCP:u64", None),            // bin
    Typing("MCP:u64", None),            // bout
    Typing("MCP:u64", None),            // dreq
    Typing("MCP:u64", None),            // dresp
    Typing("MCP:u64", None),            // ereq
    Typing("MCP:u64", None),            // econ
    Typing("MCP:u64", None),            // eresp
    Typing("MCP:u64", None),            // wretr
    Typing("MCP:u64", None),            // wredis
    Typing("SGP:str", None),            // status
    Typing("MaP:u32", None),            // weight
    Typing("SGP:u32", Some("MGP:u32")), // act
    Typing("SGP:u32", Some("MGP:u32")), // bck
    Typing("MCP:u64", None),            // chkfail
    Typing("MCP:u64", None),            // chkdown
    Typing("MAP:u32", None),            // lastchg
    Typing("MCP:u32", None),            // downtime
    Typing("CGS:u32", None),            // qlimit
    Typing("KGP:u32", None),            // pid
    Typing("KGS:u32", None),            // iid
    Typing("KGS:u32", None),            // sid
    Typing("MaP:u32", None),            // throttle
    Typing("MCP:u64", None),            // lbtot
    Typing("CNS:str", None),            // tracked
    Typing("CGS:u32", None),            // type
    Typing("MRP:u32", Some("MGP:u32")), // rate
    Typing("CLP:u32", None),            // rate_lim
    Typing("MMP:u32", Some("MGP:u32")), // rate_max
    Typing("MOP:str", None),            // check_status
    Typing("MOP:u32", None),            // check_code
    Typing("MDP:u64", None),            // check_duration
    Typing("MCP:u64", None),            // hrsp_1xx
    Typing("MCP:u64", None),            // hrsp_2xx
    Typing("MCP:u64", None),            // hrsp_3xx
    Typing("MCP:u64", None),            // hrsp_4xx
    Typing("MCP:u64", None),            // hrsp_5xx
    Typing("MCP:u64", None),            // hrsp_other
    Typing("MCP:u64", None),            // hanafail
    Typing("MRP:u32", None),            // req_rate
    Typing("MMP:u32", None),            // req_rate_max
    Typing("MCP:u64", None),            // req_tot
    Typing("MCP:u64", None),            // cli_abrt
    Typing("MCP:u64", None),            // srv_abrt
    Typing("MCP:u64", None),            // comp_in
    Typing("MCP:u64", None),            // comp_out
    Typing("MCP:u64", None),            // comp_byp
    Typing("MCP:u64", None),            // comp_rsp
    Typing("MAP:s32", None),            // lastsess
    Typing("MOP:str", None),            // last_chk
    Typing("MOP:str", None),            // last_agt
    Typing("MaP:u32", None),            // qtime
    Typing("MaP:u32", None),            // ctime
    Typing("MaP:u32", None),            // rtime
    Typing("MaP:u32", None),            // ttime
    Typing("MOP:str", None),            // agent_status
    Typing("MOP:u32", None),            // agent_code
    Typing("MDP:u64", None),            // agent_duration
    Typing("MOP:str", None),            // check_desc
    Typing("MOP:str", None),            // agent_desc
    Typing("CGS:u32", None),            // check_rise
    Typing("CGS:u32", None),            // check_fall
    Typing("CGS:u32", None),            // check_health
    Typing("CGS:u32", None),            // agent_rise
    Typing("CGS:u32", None),            // agent_fall
    Typing("CGS:u32", None),            // agent_health
    Typing("CGS:str", None),            // addr
    Typing("CNS:str", None),            // cookie
    Typing("CGS:str", None),            // mode
    Typing("CGS:str", None),            // algo
    Typing("MRP:u32", None),            // conn_rate
    Typing("MMP:u32", None),            // conn_rate_max
    Typing("MCP:u64", None),            // conn_tot
    Typing("MCP:u64", None),            // intercepted
    Typing("MCP:u64", None),            // dcon
    Typing("MCP:u64", None),            // dses
    Typing("MCP:u64", None),            // wrew
    Typing("MCP:u64", None),            // connect
    Typing("MCP:u64", None),            // reuse
    Typing("MCP:u64", None),            // cache_lookups
    Typing("MCP:u64", None),            // cache_hits
    Typing("MGP:u32", None),            // srv_icur
    Typing("CLP:u32", None),            // src_ilim
    Typing("MMP:u32", None),            // qtime_max
    Typing("MMP:u32", None),            // ctime_max
    Typing("MMP:u32", None),            // rtime_max
    Typing("MMP:u32", None),            // ttime_max
    Typing("MCP:u64", None),            // eint
    Typing("MGP:u32", None),            // idle_conn_cur
    Typing("MGP:u32", None),            // safe_conn_cur
    Typing("MGP:u32", None),            // used_conn_cur
    Typing("MGP:u32", None),            // need_conn_est
    Typing("MaP:u32", None),            // uweight
    Typing("MGP:u32", None),            // agg_server_status
    Typing("MGP:u32", None),            // agg_server_check_status
    Typing("MGP:u32", None),            // agg_check_status
];

/// The TLS module's counters: every row has them.
const SSL: [&str; 3] = ["ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"];

/// The HTTP/2 and HTTP/1 modules' counters (frontend and backend rows),
/// with their tags; all `u64`.
const MUXES: [(&str, &str); 21] = [
    ("h2_headers_rcvd", "MCP"),
    ("h2_data_rcvd", "MCP"),
    ("h2_settings_rcvd", "MCP"),
    ("h2_rst_stream_rcvd", "MCP"),
    ("h2_goaway_rcvd", "MCP"),
    ("h2_detected_conn_protocol_errors", "MCP"),
    ("h2_detected_strm_protocol_errors", "MCP"),
    ("h2_rst_stream_resp", "MCP"),
    ("h2_goaway_resp", "MCP"),
    ("h2_open_connections", "MGP"),
    ("h2_backend_open_streams", "MGP"),
    ("h2_total_connections", "MCP"),
    ("h2_backend_total_streams", "MCP"),
    ("h1_open_connections", "MGP"),
    ("h1_open_streams", "MGP"),
    ("h1_total_connections", "MCP"),
    ("h1_total_streams", "MCP"),
    ("h1_bytes_in", "MCP"),
    ("h1_bytes_out", "MCP"),
    ("h1_spliced_bytes_in", "MCP"),
    ("h1_spliced_bytes_out", "MCP"),
];

/// `show stat typed` for every proxy `shown` lets through, in config
/// order.
pub fn typed(s: &Sources<'_>, shown: &Shown<'_>) -> String {
    let mut out = String::new();
    for r in rows(s, shown.legends)
        .iter()
        .filter(|r| shown.shows(cell(r, "pxname")))
    {
        let letter = match cell(r, "type") {
            "0" => 'F',
            "1" => 'B',
            "3" => 'L',
            _ => 'S',
        };
        let prefix = format!("{letter}.{}.{}", cell(r, "iid"), cell(r, "sid"));
        for (pos, (name, typing)) in COLUMNS.iter().zip(&BASE).enumerate() {
            let Some(value) = r.get(name) else {
                continue;
            };
            let kind = match (letter, typing.1) {
                ('B', Some(backend)) => backend,
                _ => typing.0,
            };
            let _ = writeln!(out, "{prefix}.{pos}.{name}.1:{kind}:{value}");
        }
        let fields = modules(r).into_iter().flat_map(|(_, fields)| fields);
        for (offset, (name, tags, value)) in fields.enumerate() {
            let pos = COLUMNS.len() + offset;
            let _ = writeln!(out, "{prefix}.{pos}.{name}.1:{tags}:u64:{value}");
        }
    }
    out
}

/// One field of a stats module: its name, tags and value.
pub(super) type ModuleField<'r> = (&'static str, &'static str, &'r str);

/// The stats modules row `r` has, by name, with their fields in order:
/// TLS on every row, HTTP/2 and HTTP/1 on frontends and backends.
pub(super) fn modules(r: &Row) -> Vec<(&'static str, Vec<ModuleField<'_>>)> {
    let field = |(name, tags): (&'static str, &'static str)| (name, tags, module_counter(r, name));
    let mut out = vec![("ssl", SSL.iter().map(|n| field((*n, "MCP"))).collect())];
    if matches!(cell(r, "type"), "0" | "1") {
        for module in ["h2", "h1"] {
            let fields = MUXES
                .iter()
                .filter(|(n, _)| n.starts_with(module))
                .map(|f| field(*f))
                .collect();
            out.push((module, fields));
        }
    }
    out
}

/// A cell of `r`, empty when it has none.
fn cell<'r>(r: &'r Row, name: &str) -> &'r str {
    r.get(name).map_or("", String::as_str)
}

/// The value of module counter `name` in row `r`: haven keeps the
/// spliced bytes and the HTTP/2 module's counters of client
/// connections; the rest are 0.
fn module_counter<'r>(r: &'r Row, name: &str) -> &'r str {
    r.get(name).map_or("0", String::as_str)
}
