//! The runtime API's read-only commands (`stats socket`): which command a
//! line asks for. Several commands may share a line, separated by `;`.

/// A runtime API command haven answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliCommand {
    /// `show stat`: the CSV.
    ShowStat,
    /// `show info`: process information.
    ShowInfo,
    /// `help`.
    Help,
    /// Anything else, as typed.
    Unknown(String),
}

/// The commands haven knows, for `help` and unknown commands.
pub const CLI_HELP: &str = "The following commands are valid at this level:\n  help           : full commands list\n  show info      : report information about the running process\n  show stat      : report counters for each proxy and server\n";

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
                _ => CliCommand::Unknown(c.to_owned()),
            }
        })
        .collect()
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
            parse_cli("disable server be/s1"),
            [CliCommand::Unknown("disable server be/s1".into())]
        );
        assert!(unknown_reply("x").starts_with("Unknown command: 'x'"));
    }
}
