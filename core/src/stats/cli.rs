//! The runtime API's commands (`stats socket`): which command a line asks
//! for. Several commands may share a line, separated by `;`.

use super::ssl_cli::SslCommand;
use crate::config::haproxy::CliLevel;
use crate::proxy::{AdminAction, WeightChange};

/// A runtime API command haven answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliCommand {
    /// `show stat`: the CSV, or (`typed`) a line per cell.
    ShowStat {
        /// `show stat typed`.
        typed: bool,
    },
    /// `show info`: process information.
    ShowInfo,
    /// `show activity`: what each thread did.
    ShowActivity,
    /// `help`.
    Help,
    /// `show servers state [B]`.
    ShowServersState(Option<String>),
    /// `show table [T [key K | data.X OP V ...]]`: the stick tables, or
    /// table T's entries (those the filter picks).
    ShowTable(Option<String>, Vec<String>),
    /// `clear table T [key K | data.X OP V ...]`: removes the entries.
    ClearTable(Option<String>, Vec<String>),
    /// `show cache`: the caches and their objects.
    ShowCache,
    /// `show errors [<iid>|<proxy>] [request|response]`: the last
    /// malformed messages kept.
    ShowErrors(super::ErrorsFilter),
    /// `disable server B/S`, `enable server B/S`, `set server B/S state
    /// ready|maint|drain`.
    ServerAdmin {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// What to do.
        action: AdminAction,
    },
    /// `set weight B/S N` or `N%`.
    Weight {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// The new weight.
        weight: WeightChange,
    },
    /// `get weight B/S`: the current and initial weights.
    GetWeight {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
    },
    /// `disable frontend F` / `enable frontend F`.
    Frontend {
        /// Frontend name.
        name: String,
        /// Resume (true) or pause its listeners.
        enable: bool,
    },
    /// `show map`: the map files.
    ShowMaps,
    /// `show map <file|#id>`: one map's entries.
    ShowMap(String),
    /// `add map <map> <key> <value>`, or with a payload of `key value`
    /// lines.
    AddMap {
        /// The file or `#<id>`.
        map: String,
        /// The entries, in order.
        entries: Vec<(String, String)>,
    },
    /// `del map <map> <key|#ref>`.
    DelMap {
        /// The file or `#<id>`.
        map: String,
        /// The key, or `#<ref>` of one entry.
        key: String,
    },
    /// `set map <map> <key|#ref> <value>`.
    SetMap {
        /// The file or `#<id>`.
        map: String,
        /// The key, or `#<ref>` of one entry.
        key: String,
        /// The new value.
        value: String,
    },
    /// `clear map <map>`.
    ClearMap(String),
    /// `show acl`: the pattern files.
    ShowAcls,
    /// `show acl <file|#id>`: one file's patterns.
    ShowAcl(String),
    /// `add acl <acl> <pattern>`, or with a payload of patterns.
    AddAcl {
        /// The file or `#<id>`.
        acl: String,
        /// The patterns, in order.
        patterns: Vec<String>,
    },
    /// `del acl <acl> <pattern|#ref>`.
    DelAcl {
        /// The file or `#<id>`.
        acl: String,
        /// The pattern, or `#<ref>` of one.
        pattern: String,
    },
    /// `clear acl <acl>`.
    ClearAcl(String),
    /// `add server <backend>/<server> <addr>[:<port>] [params]`.
    AddServer {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// The address and parameters, as on a `server` line.
        params: Vec<String>,
    },
    /// `del server <backend>/<server>`.
    DelServer {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
    },
    /// A TLS command: certificates, CA and CRL files, crt-lists.
    Ssl(SslCommand),
    /// `experimental-mode on|off`: the rest of the line may use
    /// experimental commands.
    ExperimentalMode(bool),
    /// `set var <name> [expr|fmt] <value>` (experimental): the words
    /// after `set var`.
    SetVar(Vec<String>),
    /// `get var <name>`.
    GetVar(Option<String>),
    /// A known command used wrongly: haproxy's message.
    Invalid(&'static str),
    /// Anything else, as typed.
    Unknown(String),
}

/// The commands haven knows, for `help` and unknown commands.
pub const CLI_HELP: &str = "The following commands are valid at this level:\n  help                : full commands list\n  show info           : report information about the running process\n  show activity       : show per-thread activity stats (for support/developers)\n  show stat           : report counters for each proxy and server\n  show servers state  : dump volatile server information (all or for a single backend)\n  show table          : report table usage stats or dump this table's contents\n  show cache          : show cache status\n  show errors         : report last request and/or response errors for each proxy\n  get weight          : report a server's current weight\n  show map            : report available maps or dump a map's contents\n  add map             : add a map entry (payload supported instead of key/val)\n  del map             : delete a map entry\n  set map             : modify a map entry\n  clear map           : clear the contents of a map\n  show acl            : report available acls or dump an acl's contents\n  add acl             : add an acl entry\n  del acl             : delete an acl entry\n  clear acl           : clear the contents of an acl\n  disable frontend    : temporarily disable specific frontend\n  enable frontend     : re-enable specific frontend\n  disable server      : disable a server for maintenance (use 'set server' instead)\n  enable server       : enable a disabled server (use 'set server' instead)\n  set server          : change a server's state (ready, drain, maint) or weight\n  set weight          : change a server's weight (use 'set server' instead)\n  add server          : create a new server\n  del server          : remove a dynamic server\n  show ssl cert       : display the SSL certificates used in memory, or the details of a file\n  new ssl cert        : create a new certificate file to be used in a crt-list or a directory\n  set ssl cert        : replace a certificate file\n  commit ssl cert     : commit a certificate file\n  abort ssl cert      : abort a transaction for a certificate file\n  del ssl cert        : delete an unused certificate file\n  show ssl crt-list   : show the list of crt-lists or the content of a crt-list file\n  add ssl crt-list    : add a line to a crt-list file\n  del ssl crt-list    : delete a line from a crt-list file\n  show ssl ca-file    : display the SSL CA files used in memory, or the details of one\n  new ssl ca-file     : create a new CA file to be used in a crt-list\n  set ssl ca-file     : replace a CA file\n  commit ssl ca-file  : commit a CA file\n  abort ssl ca-file   : abort a transaction for a CA file\n  del ssl ca-file     : delete an unused CA file\n  show ssl crl-file   : display the SSL CRL files used in memory, or the details of one\n  new ssl crl-file    : create a new CRL file to be used in a crt-list\n  set ssl crl-file    : replace a CRL file\n  commit ssl crl-file : commit a CRL file\n  abort ssl crl-file  : abort a transaction for a CRL file\n  del ssl crl-file    : delete an unused CRL file\n  show ssl ocsp-response : display the IDs of the OCSP responses used in memory, or the details of one\n  set ssl ocsp-response  : update a certificate's OCSP response from a base64-encoded DER\n";

/// The answer to a command above the socket's level, as haproxy words it.
pub const PERMISSION_DENIED: &str = "Permission denied\n\n";

impl CliCommand {
    /// The level a socket needs for this command: changes need `admin`, as
    /// in haproxy.
    pub fn level(&self) -> CliLevel {
        match self {
            Self::Ssl(command) => command.level(),
            Self::ServerAdmin { .. }
            | Self::Weight { .. }
            | Self::Frontend { .. }
            | Self::AddServer { .. }
            | Self::DelServer { .. }
            | Self::ShowCache => CliLevel::Admin,
            Self::AddMap { .. }
            | Self::DelMap { .. }
            | Self::SetMap { .. }
            | Self::ClearMap(_)
            | Self::AddAcl { .. }
            | Self::DelAcl { .. }
            | Self::ClearAcl(_)
            | Self::SetVar(_)
            | Self::GetVar(_)
            | Self::ShowErrors(_)
            | Self::ClearTable(..) => CliLevel::Operator,
            _ => CliLevel::User,
        }
    }
}

/// The commands of one input: a line of `;`-separated commands, the last
/// of which may end in `<<` and take the lines after it (up to an empty
/// one) as its payload, as haproxy 2.6 reads them.
pub fn parse_cli(input: &str) -> Vec<CliCommand> {
    let (line, payload) = match input.split_once('\n') {
        Some((line, rest)) if line.trim_end().ends_with("<<") => {
            (line.trim_end().trim_end_matches("<<"), Some(rest))
        }
        _ => (input.lines().next().unwrap_or(""), None),
    };
    let commands = split_commands(line);
    let last = commands.len().saturating_sub(1);
    commands
        .into_iter()
        .enumerate()
        .map(|(i, (c, words))| {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let payload = payload.filter(|_| i == last);
            if let Some(command) = super::ssl_cli::parse(&words, payload) {
                return command;
            }
            match words.as_slice() {
                ["show", "map"] => CliCommand::ShowMaps,
                ["show", "map", map] => CliCommand::ShowMap((*map).to_owned()),
                ["add", "map", map] if payload.is_some() => CliCommand::AddMap {
                    map: (*map).to_owned(),
                    entries: payload_entries(payload.unwrap_or_default()),
                },
                ["add", "map", map, key, value @ ..] if !value.is_empty() => CliCommand::AddMap {
                    map: (*map).to_owned(),
                    entries: vec![((*key).to_owned(), value.join(" "))],
                },
                ["add", "map", ..] => CliCommand::Invalid("'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"),
                ["del", "map", map, key] => CliCommand::DelMap {
                    map: (*map).to_owned(),
                    key: (*key).to_owned(),
                },
                ["del", "map", ..] => CliCommand::Invalid("This command expects two parameters: map identifier and key.\n"),
                ["set", "map", map, key, value @ ..] if !value.is_empty() => CliCommand::SetMap {
                    map: (*map).to_owned(),
                    key: (*key).to_owned(),
                    value: value.join(" "),
                },
                ["set", "map", ..] => CliCommand::Invalid("'set map' expects three parameters: map identifier, key and value.\n"),
                ["clear", "map", map] => CliCommand::ClearMap((*map).to_owned()),
                ["show", "acl"] => CliCommand::ShowAcls,
                ["show", "acl", acl] => CliCommand::ShowAcl((*acl).to_owned()),
                ["add", "acl", acl] if payload.is_some() => CliCommand::AddAcl {
                    acl: (*acl).to_owned(),
                    patterns: payload_entries(payload.unwrap_or_default())
                        .into_iter()
                        .map(|(k, v)| if v.is_empty() { k } else { format!("{k} {v}") })
                        .collect(),
                },
                ["add", "acl", acl, pattern] => CliCommand::AddAcl {
                    acl: (*acl).to_owned(),
                    patterns: vec![(*pattern).to_owned()],
                },
                ["add", "acl", ..] => CliCommand::Invalid("'add acl' expects two parameters: ACL identifier and pattern.\n"),
                ["del", "acl", acl, pattern] => CliCommand::DelAcl {
                    acl: (*acl).to_owned(),
                    pattern: (*pattern).to_owned(),
                },
                ["del", "acl", ..] => CliCommand::Invalid("'del acl' expects two parameters: ACL identifier and key.\n"),
                ["clear", "acl", acl] => CliCommand::ClearAcl((*acl).to_owned()),
                ["experimental-mode", "on"] => CliCommand::ExperimentalMode(true),
                ["experimental-mode", "off"] => CliCommand::ExperimentalMode(false),
                ["set", "var", args @ ..] => {
                    CliCommand::SetVar(args.iter().map(|a| (*a).to_owned()).collect())
                }
                ["get", "var", name, ..] => CliCommand::GetVar(Some((*name).to_owned())),
                ["get", "var"] => CliCommand::GetVar(None),
                ["show", "stat", rest @ ..] => CliCommand::ShowStat {
                    typed: rest.contains(&"typed"),
                },
                ["show", "info", ..] => CliCommand::ShowInfo,
                ["show", "activity"] => CliCommand::ShowActivity,
                ["show", "cache", ..] => CliCommand::ShowCache,
                ["show", "errors", rest @ ..] => CliCommand::ShowErrors(super::ErrorsFilter {
                    proxy: rest.first().map(|p| (*p).to_owned()),
                    responses: match rest.get(1) {
                        Some(&"request") => Some(false),
                        Some(&"response") => Some(true),
                        _ => None,
                    },
                }),
                ["help"] => CliCommand::Help,
                ["show", "servers", "state"] => CliCommand::ShowServersState(None),
                ["show" | "clear", "table", rest @ ..] => {
                    let name = rest.first().map(|t| (*t).to_owned());
                    let args = rest.iter().skip(1).map(|a| (*a).to_owned()).collect();
                    match words[0] {
                        "show" => CliCommand::ShowTable(name, args),
                        _ => CliCommand::ClearTable(name, args),
                    }
                }
                ["show", "servers", "state", b] => {
                    CliCommand::ShowServersState(Some((*b).to_owned()))
                }
                ["disable", "server", target] => admin(target, AdminAction::Maint),
                ["enable", "server", target] => admin(target, AdminAction::Ready),
                ["set", "server", target, "state", state] => match *state {
                    "ready" => admin(target, AdminAction::Ready),
                    "maint" => admin(target, AdminAction::Maint),
                    "drain" => admin(target, AdminAction::Drain),
                    _ => CliCommand::Invalid(
                        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n",
                    ),
                },
                ["del", "server", target] => match split(target) {
                    Some((b, s)) => CliCommand::DelServer {
                        backend: b.to_owned(),
                        server: s.to_owned(),
                    },
                    None => CliCommand::Invalid("Require 'backend/server'.\n"),
                },
                ["add", "server", target, params @ ..] => match split(target) {
                    Some((b, s)) => CliCommand::AddServer {
                        backend: b.to_owned(),
                        server: s.to_owned(),
                        params: params.iter().map(|p| (*p).to_owned()).collect(),
                    },
                    None => CliCommand::Invalid("Require 'backend/server'.\n"),
                },
                ["get", "weight", target] => match split(target) {
                    Some((b, s)) => CliCommand::GetWeight {
                        backend: b.to_owned(),
                        server: s.to_owned(),
                    },
                    None => CliCommand::Invalid("Require 'backend/server'.\n"),
                },
                ["set", "weight", target, weight] | ["set", "server", target, "weight", weight] => {
                    weight_change(target, weight)
                }
                ["disable" | "enable", "frontend", name] => CliCommand::Frontend {
                    name: (*name).to_owned(),
                    enable: words[0] == "enable",
                },
                ["disable" | "enable", "frontend"] => {
                    CliCommand::Invalid("A frontend name is expected.\n")
                }
                _ => CliCommand::Unknown(c),
            }
        })
        .collect()
}

/// `line` cut into commands at each `;` and into words at blanks, a
/// backslash making the next character plain (`Mon\ Agent\;`): each
/// command as typed (escapes kept), with its words.
pub fn split_commands(line: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let (mut raw, mut words, mut word) = (String::new(), Vec::new(), None::<String>);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().unwrap_or('\\');
                raw.push(c);
                raw.push(next);
                word.get_or_insert_with(String::new).push(next);
            }
            ';' => {
                words.extend(word.take());
                out.push((raw.trim().to_owned(), std::mem::take(&mut words)));
                raw.clear();
            }
            c if c.is_whitespace() => {
                raw.push(c);
                words.extend(word.take());
            }
            c => {
                raw.push(c);
                word.get_or_insert_with(String::new).push(c);
            }
        }
    }
    words.extend(word.take());
    out.push((raw.trim().to_owned(), words));
    out.retain(|(_, w)| !w.is_empty());
    out
}

/// The `key value` lines of a payload, up to its first empty line.
fn payload_entries(payload: &str) -> Vec<(String, String)> {
    payload
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let l = l.trim();
            l.split_once(char::is_whitespace)
                .map_or((l.to_owned(), String::new()), |(k, v)| {
                    (k.to_owned(), v.trim().to_owned())
                })
        })
        .collect()
}

fn split(target: &str) -> Option<(&str, &str)> {
    target
        .split_once('/')
        .filter(|(b, s)| !b.is_empty() && !s.is_empty())
}

fn admin(target: &str, action: AdminAction) -> CliCommand {
    match split(target) {
        Some((b, s)) => CliCommand::ServerAdmin {
            backend: b.to_owned(),
            server: s.to_owned(),
            action,
        },
        None => CliCommand::Invalid("Require 'backend/server'.\n"),
    }
}

/// `N` (0..=256) or `N%`, with haproxy's complaints.
fn weight_change(target: &str, weight: &str) -> CliCommand {
    let Some((b, s)) = split(target) else {
        return CliCommand::Invalid("Require 'backend/server'.\n");
    };
    let (digits, percent) = match weight.strip_suffix('%') {
        Some(d) => (d, true),
        None => (weight, false),
    };
    let weight = match (digits.parse::<u32>(), percent) {
        (Ok(p), true) => WeightChange::Percent(p),
        (Ok(w), false) if w <= 256 => WeightChange::Absolute(w),
        (Ok(_), false) => {
            return CliCommand::Invalid(
                "Absolute weight can only be between 0 and 256 inclusive.\n",
            )
        }
        (Err(_), _) => return CliCommand::Invalid("Require <weight> or <weight%>.\n"),
    };
    CliCommand::Weight {
        backend: b.to_owned(),
        server: s.to_owned(),
        weight,
    }
}

/// The reply to an unknown command.
pub fn unknown_reply(command: &str) -> String {
    format!("Unknown command: '{command}'\n\n{CLI_HELP}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_commands() {
        assert_eq!(
            parse_cli("show info; show stat\n"),
            [CliCommand::ShowInfo, CliCommand::ShowStat { typed: false }]
        );
        assert_eq!(parse_cli("help"), [CliCommand::Help]);
        assert_eq!(
            parse_cli("disable server be/s1; set weight be/s2 7; set server be/s3 weight 50%"),
            [
                CliCommand::ServerAdmin {
                    backend: "be".into(),
                    server: "s1".into(),
                    action: AdminAction::Maint
                },
                CliCommand::Weight {
                    backend: "be".into(),
                    server: "s2".into(),
                    weight: WeightChange::Absolute(7)
                },
                CliCommand::Weight {
                    backend: "be".into(),
                    server: "s3".into(),
                    weight: WeightChange::Percent(50)
                }
            ]
        );
        assert_eq!(
            parse_cli("set server be/s1 state drain; disable frontend fe; show servers state be"),
            [
                CliCommand::ServerAdmin {
                    backend: "be".into(),
                    server: "s1".into(),
                    action: AdminAction::Drain
                },
                CliCommand::Frontend {
                    name: "fe".into(),
                    enable: false
                },
                CliCommand::ShowServersState(Some("be".into()))
            ]
        );
        assert_eq!(
            parse_cli("set weight be/s 300"),
            [CliCommand::Invalid(
                "Absolute weight can only be between 0 and 256 inclusive.\n"
            )]
        );
        assert_eq!(
            parse_cli("enable server s1"),
            [CliCommand::Invalid("Require 'backend/server'.\n")]
        );
        assert_eq!(
            parse_cli("clear counters"),
            [CliCommand::Unknown("clear counters".into())]
        );
        assert!(unknown_reply("x").starts_with("Unknown command: 'x'"));
    }

    #[test]
    fn map_commands_escapes_and_payloads() {
        assert_eq!(
            parse_cli("add map /m k1 v1; show map /m\n"),
            [
                CliCommand::AddMap {
                    map: "/m".into(),
                    entries: vec![("k1".into(), "v1".into())]
                },
                CliCommand::ShowMap("/m".into())
            ]
        );
        assert_eq!(
            parse_cli("show map; add map /m <<\nk2 v2\nk3  v3 x\n\nignored\n"),
            [
                CliCommand::ShowMaps,
                CliCommand::AddMap {
                    map: "/m".into(),
                    entries: vec![("k2".into(), "v2".into()), ("k3".into(), "v3 x".into())]
                }
            ]
        );
        assert_eq!(
            parse_cli("del map /m Mon\\ User\\ Agent\\;"),
            [CliCommand::DelMap {
                map: "/m".into(),
                key: "Mon User Agent;".into()
            }]
        );
        assert_eq!(
            parse_cli("add map /m"),
            [CliCommand::Invalid("'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n")]
        );
    }
}
