//! A server line given at run time (the runtime API's `add server B/S
//! ADDR [params]`), read by the config's own parser as haproxy reads a
//! dynamic server's: alone (no `default-server`), with its address an IP.

use super::model::{Mode, Proxy, Server, ServerAddr, ServerPort};
use super::parser::{parse, ParseOptions};
use crate::config::support::Impact;
use std::net::SocketAddr;

/// A server read for `add server`.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicServer {
    /// The server.
    pub server: Server,
    /// Its address.
    pub addr: SocketAddr,
    /// Its keywords haven does not honour that would change where
    /// traffic goes: such a server is added but never enabled.
    pub not_honoured: Vec<String>,
}

/// Reads server `name` of `backend` with `params` (its address first), or
/// says why not in haproxy's words (haven's where haproxy would resolve a
/// name).
pub fn dynamic_server(
    backend: &Proxy,
    name: &str,
    params: &[String],
) -> Result<DynamicServer, String> {
    if backend.mode == Mode::Tcp && params.iter().any(|p| p == "proto") {
        return Err("MUX protocol is not usable for server.".into());
    }
    let mut line = format!("backend b\n  server {}", quoted(name));
    for p in params {
        line.push(' ');
        line.push_str(&quoted(p));
    }
    line.push('\n');
    // The backend's mode, after the server so that it stays on line 2.
    if backend.mode == Mode::Http {
        line.push_str("  mode http\n");
    }
    let parsed = parse(&[("cli", &line)], &ParseOptions::default());
    if let Some(e) = parsed.diagnostics.errors().next() {
        // haproxy names no server in the alerts of a dynamic one.
        let named = format!("'server b/{name}' : ");
        return Err(e.message.trim_start_matches(named.as_str()).to_owned());
    }
    let mut cfg = parsed
        .config
        .ok_or_else(|| "invalid server line.".to_owned())?;
    let server = cfg.proxies.pop().and_then(|mut p| p.servers.pop());
    let server = server
        .ok_or_else(|| "'server' expects <name> and <addr>[:<port>] as arguments.".to_owned())?;
    let ip = match &server.addr {
        ServerAddr::Ip(ip) => *ip,
        ServerAddr::Host(host) => {
            return Err(format!(
                "haven adds servers by address only: '{host}' is a name."
            ))
        }
        // Reached by its path; the address stands in, as at start.
        ServerAddr::Unix(_) => std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    };
    let ServerPort::Fixed(port) = server.port else {
        return Err("haven adds servers with a fixed port only.".into());
    };
    let not_honoured = cfg
        .unsupported
        .iter()
        .filter(|u| u.gap.impact == Impact::Traffic)
        .map(|u| u.what.clone())
        .collect();
    Ok(DynamicServer {
        server,
        addr: SocketAddr::new(ip, port),
        not_honoured,
    })
}

/// `word` as one word of a config line, taken literally.
fn quoted(word: &str) -> String {
    if word.contains('\'') {
        format!(
            "\"{}\"",
            word.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        )
    } else {
        format!("'{word}'")
    }
}
