//! The runtime API's commands (`stats socket`): which command a line asks
//! for. Several commands may share a line, separated by `;`.

/// A runtime API command haven answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliCommand {
    /// `show stat`: the CSV.
    ShowStat,
    /// `show info`: process information.
    ShowInfo,
    /// `help`.
    Help,
    /// `disable server B/S` (on), `enable server B/S`, `set server B/S
    /// state maint|ready`.
    Maintenance {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// Into maintenance, or out.
        on: bool,
    },
    /// `set weight B/S N`.
    Weight {
        /// Backend name.
        backend: String,
        /// Server name.
        server: String,
        /// The new weight, 0..=256.
        weight: u32,
    },
    /// A known command used wrongly: haproxy's message.
    Invalid(&'static str),
    /// Anything else, as typed.
    Unknown(String),
}

/// The commands haven knows, for `help` and unknown commands.
pub const CLI_HELP: &str = "The following commands are valid at this level:\n  help           : full commands list\n  show info      : report information about the running process\n  show stat      : report counters for each proxy and server\n  disable server : put a server in maintenance mode\n  enable server  : take a server out of maintenance mode\n  set server     : change a server's state (ready, maint)\n  set weight     : change a server's weight\n";

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
                ["disable", "server", target] => maintenance(target, true),
                ["enable", "server", target] => maintenance(target, false),
                ["set", "server", target, "state", "maint"] => maintenance(target, true),
                ["set", "server", target, "state", "ready"] => maintenance(target, false),
                ["set", "weight", target, weight] => match (split(target), weight.parse()) {
                    (None, _) => CliCommand::Invalid("Require 'backend/server'.\n"),
                    (_, Ok(w)) if w > 256 => CliCommand::Invalid(
                        "Absolute weight can only be between 0 and 256 inclusive.\n",
                    ),
                    (Some((b, s)), Ok(weight)) => CliCommand::Weight {
                        backend: b.to_owned(),
                        server: s.to_owned(),
                        weight,
                    },
                    (Some(_), Err(_)) => CliCommand::Invalid(
                        "Weights must be whole numbers (percentages are not supported yet).\n",
                    ),
                },
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

fn maintenance(target: &str, on: bool) -> CliCommand {
    match split(target) {
        Some((b, s)) => CliCommand::Maintenance {
            backend: b.to_owned(),
            server: s.to_owned(),
            on,
        },
        None => CliCommand::Invalid("Require 'backend/server'.\n"),
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
            parse_cli("disable server be/s1; set weight be/s2 7"),
            [
                CliCommand::Maintenance {
                    backend: "be".into(),
                    server: "s1".into(),
                    on: true
                },
                CliCommand::Weight {
                    backend: "be".into(),
                    server: "s2".into(),
                    weight: 7
                }
            ]
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
