//! `show errors`: the last malformed message each proxy received (a
//! request on its frontend, a response on its backend), kept and dumped
//! in haproxy 2.6's layout. Two things differ: haproxy's three lines of
//! HTTP/1 parser flags are left out (haven's parser keeps no such
//! state), and haven's buffer is linear, so it "wraps at" its end.

use crate::config::haproxy::HaproxyConfig;
use crate::http1::error_position;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One malformed message, as the runtime received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMessage {
    /// The proxy that received it: a request's frontend, a response's
    /// backend.
    pub proxy: usize,
    /// A server's response (else a client's request).
    pub response: bool,
    /// The proxy at the other end, when known: a request's backend, a
    /// response's frontend.
    pub other_end: Option<usize>,
    /// The server that sent a response.
    pub server: Option<usize>,
    /// Where it came from.
    pub src: SocketAddr,
    /// When it came, as logs print dates (`06/Dec/2026:16:26:01.062`).
    pub when: String,
    /// What the buffer held, from the message's first byte.
    pub bytes: Vec<u8>,
}

/// The messages kept: one per proxy and direction, each with its event
/// number.
#[derive(Debug, Clone, Default)]
pub struct ErrorSnapshots {
    events: u32,
    kept: BTreeMap<(usize, bool), (u32, BadMessage)>,
}

/// What `show errors [<iid>|<proxy>] [request|response]` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorsFilter {
    /// The proxy, by number or name (`None`, or a negative number: all).
    pub proxy: Option<String>,
    /// Requests only (`Some(false)`) or responses only (`Some(true)`).
    pub responses: Option<bool>,
}

impl ErrorSnapshots {
    /// Keeps `message` in place of the last of its proxy and direction.
    pub fn capture(&mut self, message: BadMessage) {
        let event = self.events;
        self.events += 1;
        self.kept
            .insert((message.proxy, message.response), (event, message));
    }

    /// haproxy's dump of what `filter` asks for, `now` being the date as
    /// logs print it, with buffers of `bufsize` bytes.
    pub fn show(
        &self,
        cfg: &HaproxyConfig,
        filter: &ErrorsFilter,
        now: &str,
        bufsize: usize,
    ) -> String {
        let wanted = match filter.proxy.as_deref().map(|p| proxy_number(cfg, p)) {
            Some(None) => return "No such proxy.\n".to_owned(),
            Some(Some(n)) if n >= 0 => Some(n as u32),
            _ => None,
        };
        let mut out = format!("Total events captured on [{now}] : {}\n", self.events);
        let uuid = |i: Option<usize>| i.and_then(|i| cfg.proxies.get(i)).map(|p| p.uuid);
        // haproxy walks its proxies newest first.
        for index in (0..cfg.proxies.len()).rev() {
            for response in [false, true] {
                if filter.responses.is_some_and(|r| r != response) {
                    continue;
                }
                let Some((event, m)) = self.kept.get(&(index, response)) else {
                    continue;
                };
                let ids = [uuid(Some(index)), uuid(m.other_end)];
                if wanted.is_some_and(|w| !ids.contains(&Some(w))) {
                    continue;
                }
                out.push_str(&entry(cfg, (*event, m), bufsize));
            }
        }
        out
    }
}

/// The proxy `text` names as haproxy's `atoi` then name lookup find it:
/// its number (negative: every proxy), `None` when there is no such
/// proxy.
fn proxy_number(cfg: &HaproxyConfig, text: &str) -> Option<i64> {
    let digits: String = text
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || *i == 0 && *c == '-')
        .map(|(_, c)| c)
        .collect();
    match digits.parse::<i64>().unwrap_or(0) {
        0 => {
            let named = |backend: bool| {
                cfg.proxies.iter().find(|p| {
                    p.name == text
                        && match backend {
                            true => p.kind.is_backend(),
                            false => p.kind.is_frontend(),
                        }
                })
            };
            named(true)
                .or_else(|| named(false))
                .map(|p| i64::from(p.uuid))
        }
        n => Some(n),
    }
}

/// One kept message: its heading, then its bytes line by line.
fn entry(cfg: &HaproxyConfig, (event, m): (u32, &BadMessage), bufsize: usize) -> String {
    let named = |i: Option<usize>| match i.and_then(|i| cfg.proxies.get(i)) {
        Some(p) => (p.name.as_str(), i64::from(p.uuid)),
        None => ("<NONE>", -1),
    };
    let (own, own_id) = named(Some(m.proxy));
    let (other, other_id) = named(m.other_end);
    let (server, server_id) = match (m.server, cfg.proxies.get(m.proxy)) {
        (Some(s), Some(p)) => p
            .servers
            .get(s)
            .map_or(("<NONE>", -1), |srv| (srv.name.as_str(), s as i64 + 1)),
        _ => ("<NONE>", -1),
    };
    let (what, side, other_side) = match m.response {
        false => ("frontend", "request", "backend"),
        true => ("backend", "response", "frontend"),
    };
    let len = m.bytes.len().min(bufsize);
    let mut out = format!(
        " \n[{}] {what} {own} (#{own_id}): invalid {side}\n  {other_side} {other} (#{other_id}), server {server} (#{server_id}), event #{event}, src {}:{}\n  buffer starts at 0 (including 0 out), {} free,\n  len {len}, wraps at {bufsize}, error at position {}\n  \n",
        m.when,
        m.src.ip(),
        m.src.port(),
        bufsize - len,
        error_position(&m.bytes[..len], m.response),
    );
    dump(&mut out, &m.bytes[..len]);
    out
}

/// `bytes` as haproxy dumps text: a line per line of the message, each
/// after its offset, cut to 80 columns (a `+` marks a line's follow-up),
/// with `\r`, `\n`, `\t`, `\e`, `\\` and other unprintable bytes escaped.
fn dump(out: &mut String, bytes: &[u8]) {
    let mut at = 0;
    let mut line_start = 0;
    while at < bytes.len() {
        let mark = if at == line_start { ' ' } else { '+' };
        let mut line = format!("  {at:05}{mark} ");
        while let Some(&b) = bytes.get(at) {
            let text = match b {
                b'\t' => "\\t".to_owned(),
                b'\n' => "\\n".to_owned(),
                b'\r' => "\\r".to_owned(),
                0x1b => "\\e".to_owned(),
                b'\\' => "\\\\".to_owned(),
                b' '..=b'~' => (b as char).to_string(),
                _ => format!("\\x{b:02X}"),
            };
            // haproxy keeps a column for the line's end.
            if line.len() + text.len() > 79 {
                break;
            }
            line.push_str(&text);
            at += 1;
            if b == b'\n' {
                line_start = at;
                break;
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::{parse, ParseOptions};

    fn config() -> HaproxyConfig {
        let text = "global\n stats socket /run/haven.sock\ndefaults\n mode http\nfrontend fe\n bind :80\n default_backend be\nbackend be\n server s 127.0.0.1:8080\n";
        parse(&[("t.cfg", text)], &ParseOptions::default())
            .config
            .expect("parses")
    }

    fn request(bytes: &[u8]) -> BadMessage {
        BadMessage {
            proxy: 0,
            response: false,
            other_end: None,
            server: None,
            src: "127.0.0.1:50892".parse().expect("address"),
            when: "06/Dec/2026:16:26:01.062".into(),
            bytes: bytes.to_vec(),
        }
    }

    // Output: byte for byte what haproxy 2.6.12 printed for the same
    // request, but for its H1 flag lines and the buffer's wrap.
    #[test]
    fn a_bad_request_is_dumped_as_haproxy_dumps_it() {
        let cfg = config();
        let mut kept = ErrorSnapshots::default();
        kept.capture(request(b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n"));
        let all = ErrorsFilter::default();
        let got = kept.show(&cfg, &all, "06/Dec/2026:16:26:01.074", 16384);
        let want = "Total events captured on [06/Dec/2026:16:26:01.074] : 1\n \n[06/Dec/2026:16:26:01.062] frontend fe (#2): invalid request\n  backend <NONE> (#-1), server <NONE> (#-1), event #0, src 127.0.0.1:50892\n  buffer starts at 0 (including 0 out), 16356 free,\n  len 28, wraps at 16384, error at position 18\n  \n  00000  GET / HTTP/1.1\\r\\n\n  00016  Ho st: x\\r\\n\n  00026  \\r\\n\n";
        assert_eq!(got, want);
        let responses = ErrorsFilter {
            proxy: Some("fe".into()),
            responses: Some(true),
        };
        let header = "Total events captured on [now] : 1\n";
        assert_eq!(kept.show(&cfg, &responses, "now", 16384), header);
        let other = ErrorsFilter {
            proxy: Some("3".into()),
            responses: None,
        };
        assert_eq!(kept.show(&cfg, &other, "now", 16384), header, "be is #3");
        let unknown = ErrorsFilter {
            proxy: Some("nosuch".into()),
            responses: None,
        };
        assert_eq!(kept.show(&cfg, &unknown, "now", 16384), "No such proxy.\n");
    }

    #[test]
    fn long_lines_go_on_with_a_plus() {
        let mut out = String::new();
        let line = [b'a'; 100];
        dump(&mut out, &line);
        let first = format!("  00000  {}\n", "a".repeat(70));
        let second = format!("  00070+ {}\n", "a".repeat(30));
        assert_eq!(out, first + &second);
    }
}
