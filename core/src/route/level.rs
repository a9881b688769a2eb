//! `tcp-request connection` and `tcp-request session` rules: each level
//! of a client connection starts with the addresses, variables and
//! tracked stick table entries of the one below (the socket's, then a
//! PROXY header's), and its rules may reject it or change them, or track
//! it (`track-sc*`: it counts as a connection for its key, until it
//! closes). `fc_src` / `fc_dst` read the connection level's addresses;
//! `src` / `dst` the session's, then each request's.

use super::{condition, Admission, RequestHead};
use crate::config::haproxy::{Proxy, TcpAction, TcpLayer};
use crate::sample::{Around, HeaderView, Vars};
use crate::stick::{StickEvent, StickKey, StickTables, StickView, Tracked};
use crate::time::Instant;
use std::cell::RefCell;
use std::net::SocketAddr;

/// The stick tables, and now.
pub type Sticks<'a> = Option<(&'a RefCell<StickTables>, Instant)>;

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
    /// The entries its `track-sc*` rules track, slot by slot.
    pub tracked: [Option<Tracked>; 3],
}

/// What samples see of `level`, its tracked entries read by rules of
/// proxy `own`.
fn view<'a>(level: &'a Level, (own, stick): (&'a str, Sticks<'a>)) -> RequestHead<'a> {
    RequestHead {
        method: "",
        uri: "",
        headers: HeaderView::default(),
        client: level.src.map(|a| a.ip()),
        payload: &[],
        around: Around {
            src_port: level.src.map(|a| a.port()),
            dst: level.dst,
            conn: level.conn,
            vars: Some(&level.vars),
            stick: stick.map(|(tables, now)| StickView {
                tables,
                now,
                tracked: &level.tracked,
                current: own,
            }),
            ..Around::default()
        },
    }
}

/// Runs `proxy`'s `tcp-request` rules of `layer` (connection or
/// session) on `level`, changing it as they say, with the stick tables
/// `stick` when there are some: whether the connection goes on, closes,
/// or is dropped without a word (never [`Admission::Wait`]).
pub fn run_level(
    proxy: &Proxy,
    layer: TcpLayer,
    level: &mut Level,
    stick: Sticks<'_>,
) -> Admission {
    let at = (proxy.name.as_str(), stick);
    for rule in proxy.tcp_request.iter().filter(|r| r.layer == layer) {
        let holds = rule
            .cond
            .as_ref()
            .is_none_or(|c| condition(proxy, c, &view(level, at)));
        if !holds {
            continue;
        }
        match &rule.action {
            TcpAction::Accept => return Admission::Accept,
            TcpAction::Reject => return Admission::Reject,
            // haproxy 2.6 cannot quiet a socket it has not set up yet: at
            // the connection level it resets the connection.
            TcpAction::SilentDrop if layer == TcpLayer::Connection => return Admission::Reject,
            TcpAction::SilentDrop => return Admission::SilentDrop,
            // Only content rules switch modes.
            TcpAction::SwitchToHttp(_) => {}
            TcpAction::SetSrc(e) => {
                if let Some(ip) = e.eval(&view(level, at)).and_then(|v| v.to_ip()) {
                    level.src = Some(SocketAddr::new(ip, level.src.map_or(0, |a| a.port())));
                }
            }
            TcpAction::SetDst(e) => {
                if let Some(ip) = e.eval(&view(level, at)).and_then(|v| v.to_ip()) {
                    level.dst = Some(SocketAddr::new(ip, level.dst.map_or(0, |a| a.port())));
                }
            }
            TcpAction::SetVar(name, e) => {
                if let Some(v) = e.eval(&view(level, at)).map(|v| v.into_owned()) {
                    level.vars.set(name, v);
                }
            }
            TcpAction::Track { slot, key, table } => {
                let Some((tables, now)) = stick.filter(|_| level.tracked[*slot].is_none()) else {
                    continue;
                };
                let name = table.as_deref().unwrap_or(&proxy.name);
                let Some(config) = tables.borrow().config(name).cloned() else {
                    continue;
                };
                let value = key.eval(&view(level, at)).map(|v| v.into_owned());
                if let Some(key) = value.and_then(|v| StickKey::of(&v, &config)) {
                    tables
                        .borrow_mut()
                        .count(name, &key, StickEvent::Connection, now);
                    level.tracked[*slot] = Some(Tracked {
                        table: name.to_owned(),
                        key,
                    });
                }
            }
            TcpAction::Counter(counter) => {
                let Some((tables, now)) = stick else {
                    continue;
                };
                let sample = counter
                    .sample()
                    .and_then(|e| e.eval(&view(level, at))?.to_int());
                tables
                    .borrow_mut()
                    .counter_action(counter, &level.tracked, sample, now);
            }
        }
    }
    Admission::Accept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::{parse, ParseOptions};

    // Input: `silent-drop` at the connection and at the session level.
    // Output: at the connection level it resets as `reject` does (haproxy
    // 2.6 has no socket to quiet yet); at the session level it drops.
    #[test]
    fn a_silent_drop_is_a_reset_before_the_session_level() {
        for (layer, want) in [
            (TcpLayer::Connection, Admission::Reject),
            (TcpLayer::Session, Admission::SilentDrop),
        ] {
            let word = if layer == TcpLayer::Connection {
                "connection"
            } else {
                "session"
            };
            let text = format!("frontend fe\n bind :80\n tcp-request {word} silent-drop\n");
            let cfg = parse(&[("t.cfg", &text)], &ParseOptions::default())
                .config
                .expect("parses");
            let fe = cfg.frontend("fe").expect("fe");
            assert_eq!(run_level(fe, layer, &mut Level::default(), None), want);
        }
    }
}
