//! The runtime-API commands a scenario's timeline sends to a host's
//! haproxy (`action = "api disable server web/s1"`), read against its
//! config as haproxy reads them, and applied through core as the real
//! runtime API applies them.

use haven_core::config::haproxy::{HaproxyConfig, ProxyKind};
use haven_core::proxy::{AdminAction, WeightChange};

/// A runtime-API command, its names resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `disable|enable server B/S`, `set server B/S state ready|maint|drain`.
    Admin {
        /// The backend's proxy index.
        backend: usize,
        /// The server's index in it.
        server: usize,
        /// Into maintenance, drain, or ready.
        action: AdminAction,
    },
    /// `set weight B/S N[%]`, `set server B/S weight N[%]`.
    Weight {
        /// The backend's proxy index.
        backend: usize,
        /// The server's index in it.
        server: usize,
        /// The new weight.
        change: WeightChange,
    },
    /// `disable|enable frontend F`: its listeners stop accepting (the
    /// clients that come meanwhile wait unanswered) or accept again.
    Frontend {
        /// The frontend's proxy index.
        frontend: usize,
        /// Accept again (else pause).
        enable: bool,
    },
}

/// The commands, for messages.
const KNOWN: &str = "disable|enable server B/S, set server B/S state ready|maint|drain, set server B/S weight N[%], set weight B/S N[%], disable|enable frontend F";

/// Reads `command` against `cfg`; the error says what is wrong in
/// haproxy's words where it has some.
pub(crate) fn parse(command: &str, cfg: &HaproxyConfig) -> Result<Api, String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let server = |spec: &str| -> Result<(usize, usize), String> {
        let (b, s) = spec
            .split_once('/')
            .ok_or_else(|| format!("'{spec}': expected BACKEND/SERVER"))?;
        let (backend, proxy) = cfg
            .proxies
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == b && p.kind != ProxyKind::Frontend)
            .ok_or_else(|| format!("No such backend: '{b}'."))?;
        let server = proxy
            .servers
            .iter()
            .position(|x| x.name == s)
            .ok_or_else(|| format!("No such server: '{b}/{s}'."))?;
        Ok((backend, server))
    };
    let admin = |spec: &str, action| {
        let (backend, server) = server(spec)?;
        Ok(Api::Admin {
            backend,
            server,
            action,
        })
    };
    let weight = |spec: &str, value: &str| {
        let (backend, server) = server(spec)?;
        let change = match value.strip_suffix('%') {
            Some(p) => p.parse().ok().map(WeightChange::Percent),
            None => value
                .parse()
                .ok()
                .filter(|w| *w <= 256)
                .map(WeightChange::Absolute),
        }
        .ok_or_else(|| format!("'{value}': a weight is 0 to 256, or a percentage"))?;
        Ok(Api::Weight {
            backend,
            server,
            change,
        })
    };
    match words.as_slice() {
        ["disable", "server", spec] => admin(spec, AdminAction::Maint),
        ["enable", "server", spec] => admin(spec, AdminAction::Ready),
        ["set", "server", spec, "state", state] => match *state {
            "ready" => admin(spec, AdminAction::Ready),
            "maint" => admin(spec, AdminAction::Maint),
            "drain" => admin(spec, AdminAction::Drain),
            other => Err(format!("'{other}': expected state ready, maint or drain")),
        },
        ["set", "server", spec, "weight", value] | ["set", "weight", spec, value] => {
            weight(spec, value)
        }
        [verb @ ("disable" | "enable"), "frontend", name] => {
            let frontend = cfg
                .proxies
                .iter()
                .position(|p| p.name == *name && p.kind != ProxyKind::Backend)
                .ok_or_else(|| format!("No such frontend: '{name}'."))?;
            Ok(Api::Frontend {
                frontend,
                enable: *verb == "enable",
            })
        }
        _ => Err(format!("'{command}': expected one of {KNOWN}")),
    }
}
