//! The runtime API's commands (`stats socket`): which command a line asks
//! for. Several commands may share a line, separated by `;`.

use crate::config::haproxy::CliLevel;
use crate::proxy::{AdminAction, WeightChange};

/// A runtime API command haven answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliCommand {
    /// `show stat`: the CSV.
    ShowStat,
    /// `show info`: process information.
    ShowInfo,
    /// `help`.
    Help,
    /// `show servers state [B]`.
    ShowServersState(Option<String>),
    /// `show table [T]`: the stick tables, or table T's entries.
    ShowTable(Option<String>),
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
    /// A known command used wrongly: haproxy's message.
    Invalid(&'static str),
    /// Anything else, as typed.
    Unknown(String),
}

/// The commands haven knows, for `help` and unknown commands.
pub const CLI_HELP: &str = "The following commands are valid at this level:\n  help                : full commands list\n  show info           : report information about the running process\n  show stat           : report counters for each proxy and server\n  show servers state  : dump volatile server information (all or for a single backend)\n  show table          : report table usage stats or dump this table's contents\n  get weight          : report a server's current weight\n  disable frontend    : temporarily disable specific frontend\n  enable frontend     : re-enable specific frontend\n  disable server      : disable a server for maintenance (use 'set server' instead)\n  enable server       : enable a disabled server (use 'set server' instead)\n  set server          : change a server's state (ready, drain, maint) or weight\n  set weight          : change a server's weight (use 'set server' instead)\n";

/// The answer to a command above the socket's level, as haproxy words it.
pub const PERMISSION_DENIED: &str = "Permission denied\n\n";

impl CliCommand {
    /// The level a socket needs for this command: changes need `admin`, as
    /// in haproxy.
    pub fn level(&self) -> CliLevel {
        match self {
            Self::ServerAdmin { .. } | Self::Weight { .. } | Self::Frontend { .. } => {
                CliLevel::Admin
            }
            _ => CliLevel::User,
        }
    }
}

/// The commands of one input line.
pub fn parse_cli(line: &str) -> Vec<CliCommand> {
    line.split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let words: Vec<&str> = c.split_whitespace().collect();
            match words.as_slice() {
                ["show", "stat", ..] => CliCommand::ShowStat,
                ["show", "info", ..] => CliCommand::ShowInfo,
                ["help"] => CliCommand::Help,
                ["show", "servers", "state"] => CliCommand::ShowServersState(None),
                ["show", "table"] => CliCommand::ShowTable(None),
                ["show", "table", t] => CliCommand::ShowTable(Some((*t).to_owned())),
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
                _ => CliCommand::Unknown(c.to_owned()),
            }
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
            [CliCommand::ShowInfo, CliCommand::ShowStat]
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
}
