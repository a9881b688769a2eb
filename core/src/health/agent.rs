//! Agent checks (`agent-check`): every `agent-inter`, haproxy connects to
//! the server's agent (`agent-addr`, `agent-port`), sends `agent-send`,
//! and reads one line of words that set the server's weight, connection
//! limit, administrative state and health.

use crate::proxy::AdminAction;

/// What one agent reply says; each part is absent when no word set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSays {
    /// `N%`: the weight, as a percentage of the configured one.
    pub weight: Option<u32>,
    /// `maxconn:N`.
    pub maxconn: Option<u32>,
    /// `ready`, `drain` or `maint`.
    pub admin: Option<AdminAction>,
    /// `up` (true), or `down`, `stopped`, `fail` (false), with the word.
    pub health: Option<(bool, String)>,
}

/// Reads an agent's reply: words separated by blanks or commas, up to the
/// end of the line; a `#` starts a description, ignored. Unknown words
/// are ignored, as haproxy ignores them.
pub fn read_reply(text: &str) -> AgentSays {
    let line = text.lines().next().unwrap_or("");
    let line = line.split('#').next().unwrap_or("");
    let mut says = AgentSays::default();
    for word in line
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        let lower = word.to_ascii_lowercase();
        if let Some(p) = lower.strip_suffix('%') {
            says.weight = p.parse().ok().or(says.weight);
        } else if let Some(n) = lower.strip_prefix("maxconn:") {
            says.maxconn = n.parse().ok().or(says.maxconn);
        } else {
            match lower.as_str() {
                "ready" => says.admin = Some(AdminAction::Ready),
                "drain" => says.admin = Some(AdminAction::Drain),
                "maint" => says.admin = Some(AdminAction::Maint),
                "up" => says.health = Some((true, lower)),
                "down" | "stopped" | "fail" => says.health = Some((false, lower)),
                _ => {}
            }
        }
    }
    says
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_as_haproxy_reads_them() {
        assert_eq!(
            read_reply("75%,maxconn:30,maint,down\n"),
            AgentSays {
                weight: Some(75),
                maxconn: Some(30),
                admin: Some(AdminAction::Maint),
                health: Some((false, "down".into())),
            }
        );
        assert_eq!(
            read_reply("UP 50% # all fine, maint\nignored"),
            AgentSays {
                weight: Some(50),
                health: Some((true, "up".into())),
                ..AgentSays::default()
            }
        );
        assert_eq!(read_reply("what?"), AgentSays::default());
    }
}
