//! The stats page's admin form (`stats admin if <cond>`): a POST of
//! `s=<server>&s=…&action=<action>&b=#<proxy id>` changes those servers'
//! state, then haproxy sends the browser back to the page with a 303
//! whose `;st=` says how it went.

use crate::config::haproxy::HaproxyConfig;
use crate::proxy::AdminAction;

/// What a POST of the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPost {
    /// The backend (config index).
    pub backend: usize,
    /// Its servers named in the form (indexes), in form order.
    pub servers: Vec<usize>,
    /// The named servers it has no server for.
    pub unknown: usize,
    /// What to do to them.
    pub action: AdminAction,
}

/// How a POST ended, as the redirect's `;st=` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Every named server was changed.
    Done,
    /// Some were.
    Part,
    /// None was named (or found).
    Nothing,
    /// The form made no sense (no backend, an unknown action).
    BadForm,
    /// `stats admin` does not allow this client.
    Denied,
}

impl Posted {
    /// The word after `;st=`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Done => "DONE",
            Self::Part => "PART",
            Self::Nothing => "NONE",
            Self::BadForm => "ERRP",
            Self::Denied => "DENY",
        }
    }
}

impl AdminPost {
    /// How applying it went, every server it found being changed.
    pub fn outcome(&self) -> Posted {
        match (self.servers.len(), self.unknown) {
            (0, _) => Posted::Nothing,
            (_, 0) => Posted::Done,
            _ => Posted::Part,
        }
    }
}

/// Reads the url-encoded form `body` against `cfg`, whose proxies are
/// numbered as the stats show them (`iid`, see [`proxy_id`]).
pub fn read_post(cfg: &HaproxyConfig, body: &[u8]) -> Result<AdminPost, Posted> {
    let (mut backend, mut action, mut names) = (None, None, Vec::new());
    for pair in body.split(|b| *b == b'&') {
        let text = decode(pair);
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        match key {
            "b" => backend = find_backend(cfg, value),
            "s" => names.push(value.to_owned()),
            "action" => action = Some(value.to_owned()),
            _ => {}
        }
    }
    let backend = backend.ok_or(Posted::BadForm)?;
    let action = match action.as_deref() {
        Some("ready") => AdminAction::Ready,
        Some("drain") => AdminAction::Drain,
        Some("maint") => AdminAction::Maint,
        _ => return Err(Posted::BadForm),
    };
    let proxy = &cfg.proxies[backend];
    let found: Vec<usize> = names
        .iter()
        .filter_map(|n| {
            proxy
                .servers
                .iter()
                .position(|s| s.name == *n && !s.deleted)
        })
        .collect();
    Ok(AdminPost {
        backend,
        unknown: names.len() - found.len(),
        servers: found,
        action,
    })
}

/// The number haproxy gives proxy `index` (`iid`, `b=#N`): its `id`, else
/// as [`Proxy::uuid`](crate::config::haproxy::Proxy::uuid) says.
pub fn proxy_id(cfg: &HaproxyConfig, index: usize) -> usize {
    cfg.proxies.get(index).map_or(0, |p| p.uuid as usize)
}

/// The backend `#<id>` or `<name>` names.
fn find_backend(cfg: &HaproxyConfig, value: &str) -> Option<usize> {
    let by_id = value
        .strip_prefix('#')
        .and_then(|n| n.parse::<usize>().ok());
    cfg.proxies.iter().enumerate().position(|(i, p)| {
        p.kind.is_backend()
            && match by_id {
                Some(id) => proxy_id(cfg, i) == id,
                None => p.name == value,
            }
    })
}

/// `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
fn decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex(raw[i + 1]), hex(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the 303 after a POST sends the browser: the stats page with
/// `;st=` and the scope it had.
pub fn redirect(stats_uri: &str, scope: Option<&str>, posted: Posted) -> String {
    let scope = scope.map(|s| format!("?scope={s}")).unwrap_or_default();
    format!("{stats_uri};st={}{scope}", posted.word())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::{parse, ParseOptions};

    fn cfg(global: &str) -> HaproxyConfig {
        let text = format!("{global}frontend fe1\n    bind :80\n    mode http\nbackend b1\n    server srv1 127.0.0.1:1\n    server srv2 127.0.0.1:1\nbackend b2\n    server srv1 127.0.0.1:1\n");
        parse(&[("t.cfg", &text)], &ParseOptions::default())
            .config
            .expect("valid")
    }

    #[test]
    fn a_form_names_its_backend_by_id_and_its_servers_by_name() {
        let with_socket = cfg("global\n    stats socket /run/s.sock\n");
        let post =
            read_post(&with_socket, b"s=srv1&s=srv2&s=srv9&action=maint&b=%233").expect("a form");
        assert_eq!((post.backend, post.servers.clone()), (1, vec![0, 1]));
        assert_eq!(
            (post.action, post.outcome()),
            (AdminAction::Maint, Posted::Part)
        );
        // Without a stats socket, #3 is the next backend.
        let plain = cfg("");
        let post = read_post(&plain, b"s=srv1&action=drain&b=%233").expect("a form");
        assert_eq!((post.backend, post.outcome()), (2, Posted::Done));
        assert_eq!(
            read_post(&plain, b"s=srv1&action=shutdown&b=b1"),
            Err(Posted::BadForm)
        );
        assert_eq!(
            read_post(&plain, b"s=srv1&action=maint"),
            Err(Posted::BadForm)
        );
    }

    #[test]
    fn the_redirect_keeps_the_scope() {
        assert_eq!(
            redirect("/", Some("b2"), Posted::Done),
            "/;st=DONE?scope=b2"
        );
        assert_eq!(redirect("/st", None, Posted::Denied), "/st;st=DENY");
    }
}
