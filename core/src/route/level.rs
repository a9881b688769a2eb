//! `tcp-request connection` and `tcp-request session` rules: each level
//! of a client connection starts with the addresses and variables of the
//! one below (the socket's, then a PROXY header's), and its rules may
//! reject it or change them. `fc_src` / `fc_dst` read the connection
//! level's addresses; `src` / `dst` the session's, then each request's.

use super::{condition, RequestHead};
use crate::config::haproxy::{Proxy, TcpAction, TcpLayer};
use crate::sample::{Around, Vars};
use std::net::SocketAddr;

/// One level of a client connection, as its rules see and change it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Level {
    /// The client's address and port (`src`, `src_port`).
    pub src: Option<SocketAddr>,
    /// The address the client reached (`dst`).
    pub dst: Option<SocketAddr>,
    /// The connection level's addresses, for `fc_src` / `fc_dst` (at the
    /// connection level itself: `None`, they are `src` and `dst`).
    pub conn: Option<(Option<SocketAddr>, Option<SocketAddr>)>,
    /// The session's variables (`sess.*`) the rules set.
    pub vars: Vars,
}

/// What samples see of `level`.
fn view(level: &Level) -> RequestHead<'_> {
    RequestHead {
        method: "",
        uri: "",
        headers: &[],
        client: level.src.map(|a| a.ip()),
        payload: &[],
        around: Around {
            src_port: level.src.map(|a| a.port()),
            dst: level.dst,
            conn: level.conn,
            vars: Some(&level.vars),
            ..Around::default()
        },
    }
}

/// Runs `proxy`'s `tcp-request` rules of `layer` (connection or
/// session) on `level`, changing it as they say: false when a rule
/// rejects the connection.
pub fn run_level(proxy: &Proxy, layer: TcpLayer, level: &mut Level) -> bool {
    for rule in proxy.tcp_request.iter().filter(|r| r.layer == layer) {
        let holds = rule
            .cond
            .as_ref()
            .is_none_or(|c| condition(proxy, c, &view(level)));
        if !holds {
            continue;
        }
        match &rule.action {
            TcpAction::Accept => return true,
            TcpAction::Reject => return false,
            TcpAction::SetSrc(e) => {
                if let Some(ip) = e.eval(&view(level)).and_then(|v| v.to_ip()) {
                    level.src = Some(SocketAddr::new(ip, level.src.map_or(0, |a| a.port())));
                }
            }
            TcpAction::SetDst(e) => {
                if let Some(ip) = e.eval(&view(level)).and_then(|v| v.to_ip()) {
                    level.dst = Some(SocketAddr::new(ip, level.dst.map_or(0, |a| a.port())));
                }
            }
            TcpAction::SetVar(name, e) => {
                if let Some(v) = e.eval(&view(level)).map(|v| v.into_owned()) {
                    level.vars.set(name, v);
                }
            }
        }
    }
    true
}
