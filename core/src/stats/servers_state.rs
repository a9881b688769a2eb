//! `show servers state`: haproxy's state file layout (version 1), one
//! line per server with its numeric states, as `server-state-file` and
//! operators' scripts read it.

use super::Sources;
use crate::config::haproxy::{Proxy, ServerAddr, ServerPort};
use crate::health::CheckStatus;

/// The column header of version 1.
const HEADER: &str = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

/// Server operational states.
const STOPPED: u8 = 0;
const RUNNING: u8 = 2;

/// Administrative flags: forced maintenance, forced drain.
const FORCED_MAINT: u8 = 0x01;
const FORCED_DRAIN: u8 = 0x08;

/// Check flags of a configured, enabled check.
const CHECK_ENABLED: u8 = 0x02 | 0x04;
/// Check flag of a check paused while its server is in maintenance.
const CHECK_PAUSED: u8 = 0x08;

/// Check results: none yet, failed, passed.
const RESULT_UNKNOWN: u8 = 0;
const RESULT_FAILED: u8 = 2;
const RESULT_PASSED: u8 = 3;

/// The check status number haproxy stores (`HCHK_STATUS_*`); 1 is
/// "initializing", also shown for unchecked servers.
fn status_number(status: Option<CheckStatus>) -> u8 {
    match status {
        None => 1,
        Some(CheckStatus::SockErr) => 5,
        Some(CheckStatus::L4Ok) => 6,
        Some(CheckStatus::L4Tout) => 7,
        Some(CheckStatus::L4Con) => 8,
        Some(CheckStatus::L6Ok) => 9,
        Some(CheckStatus::L6Tout) => 10,
        Some(CheckStatus::L6Rsp) => 11,
        Some(CheckStatus::L7Tout) => 12,
        Some(CheckStatus::L7Rsp) => 13,
        Some(CheckStatus::L7Ok) => 15,
        Some(CheckStatus::L7Sts) => 17,
    }
}

/// The state of every server of the backend named `backend`, or of all
/// backends; `Err` with haproxy's answer when `backend` names none.
pub fn servers_state(s: &Sources<'_>, backend: Option<&str>) -> Result<String, &'static str> {
    let chosen: Vec<(usize, &Proxy)> = s
        .config
        .proxies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind.is_backend() && backend.is_none_or(|b| b == p.name))
        .collect();
    if chosen.is_empty() && backend.is_some() {
        return Err("Can't find backend.\n");
    }
    let mut out = format!("1\n{HEADER}\n");
    for (b, p) in chosen {
        for i in (0..p.servers.len()).filter(|i| !p.servers[*i].deleted) {
            out.push_str(&server_line(s, b, p, i));
            out.push('\n');
        }
    }
    out.push('\n');
    Ok(out)
}

fn server_line(s: &Sources<'_>, b: usize, p: &Proxy, i: usize) -> String {
    let srv = &p.servers[i];
    let check = s.checks.id_of(b, i).map(|id| s.checks.state(id));
    let op = if s.flow.is_up(b, i) { RUNNING } else { STOPPED };
    let admin = if s.flow.in_maintenance(b, i) {
        FORCED_MAINT
    } else if s.flow.draining(b, i) {
        FORCED_DRAIN
    } else {
        0
    };
    let last = check.and_then(|(_, last)| last);
    let result = match last {
        None => RESULT_UNKNOWN,
        Some(l) if l.status.passed() => RESULT_PASSED,
        Some(_) => RESULT_FAILED,
    };
    let health = check.map_or(srv.rise, |(counter, _)| counter.values().2);
    let check_state = match check {
        None => 0,
        Some(_) if admin == FORCED_MAINT => CHECK_ENABLED | CHECK_PAUSED,
        Some(_) => CHECK_ENABLED,
    };
    let (addr, fqdn) = match &srv.addr {
        ServerAddr::Ip(ip) => (ip.to_string(), "-".to_owned()),
        ServerAddr::Host(name) => (name.clone(), name.clone()),
        ServerAddr::Unix(unix) => (unix.to_string(), "-".to_owned()),
    };
    let port = match srv.port {
        ServerPort::Fixed(p) => p.to_string(),
        _ => "0".to_owned(),
    };
    let since = s.now.saturating_duration_since(s.flow.last_change(b, i));
    let agent_addr = srv.agent.addr.map_or("-".to_owned(), |a| a.to_string());
    let agent_port = srv.agent.port.filter(|_| srv.agent.enabled).unwrap_or(0);
    format!(
        "{} {} {} {} {addr} {op} {admin} {} {} {} {} {result} {health} {check_state} 0 0 0 {fqdn} {port} - 0 {} - {agent_addr} {agent_port}",
        b + 2,
        p.name,
        i + 1,
        srv.name,
        s.flow.weight(b, i).unwrap_or(srv.weight),
        srv.weight,
        since.as_secs(),
        status_number(last.map(|l| l.status)),
        srv.check_port.unwrap_or(0),
    )
}
