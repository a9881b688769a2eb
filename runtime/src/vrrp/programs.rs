//! Programs keepalived runs: tracked `vrrp_script`s, whose exit status
//! goes into core, and `notify*` programs, fired and forgotten. A command
//! runs without a shell unless it uses shell syntax (keepalived splits
//! the words itself), as the script's `user` when one is set. The
//! "is haproxy running" idiom is answered by a self-probe of haven's own
//! listeners instead.

use haven_core::log::keepalived::ScriptEnd;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// Characters that make a command line need `/bin/sh -c`.
const SHELL_SYNTAX: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '*', '?', '[', ']', '{', '}', '~', '\n',
];

/// The words of `line`, honouring single and double quotes; `None` when
/// it needs a shell.
fn words(line: &str) -> Option<Vec<String>> {
    if line.contains(SHELL_SYNTAX) {
        return None;
    }
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if started {
        out.push(word);
    }
    (!out.is_empty()).then_some(out)
}

/// The process for `line` with `extra` arguments, as `user` if set.
fn command(line: &str, extra: &[String], user: Option<&str>) -> Result<Command, String> {
    let mut cmd = match words(line) {
        Some(w) => {
            let mut c = Command::new(&w[0]);
            c.args(&w[1..]).args(extra);
            c
        }
        None => {
            let mut full = line.to_owned();
            for arg in extra {
                full.push_str(&format!(" '{}'", arg.replace('\'', "'\\''")));
            }
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(full);
            c
        }
    };
    if let Some(name) = user {
        let user = nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .ok_or_else(|| format!("unknown script user '{name}'"))?;
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    Ok(cmd)
}

/// Runs a tracked script to its end. Dropping the future kills it.
pub(crate) async fn run_script(line: String, user: Option<String>) -> ScriptEnd {
    let Ok(mut cmd) = command(&line, &[], user.as_deref()) else {
        return ScriptEnd::Exited(127);
    };
    match cmd.status().await {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ScriptEnd::Exited(code),
            (None, Some(sig)) => ScriptEnd::Signaled(sig),
            (None, None) => ScriptEnd::Exited(1),
        },
        Err(_) => ScriptEnd::Exited(127),
    }
}

/// Starts a notify program; its end is not waited for.
pub(crate) fn notify(line: &str, extra: &[String]) {
    if let Ok(mut cmd) = command(line, extra, None) {
        cmd.kill_on_drop(false);
        if let Ok(mut child) = cmd.spawn() {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
    }
}

/// The idiom's answer: every listener of ours accepts a connection
/// within `timeout` (exit 0), else exit 1.
pub(crate) async fn self_probe(listeners: Vec<SocketAddr>, timeout: Duration) -> ScriptEnd {
    let probe = async {
        for addr in listeners {
            let target = if addr.ip().is_unspecified() {
                SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            } else {
                addr
            };
            if tokio::net::TcpStream::connect(target).await.is_err() {
                return false;
            }
        }
        true
    };
    let ok = tokio::time::timeout(timeout, probe).await.unwrap_or(false);
    ScriptEnd::Exited(if ok { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_commands_run_without_a_shell() {
        assert_eq!(
            words("/bin/check 'a b' c"),
            Some(vec!["/bin/check".into(), "a b".into(), "c".into()])
        );
        assert_eq!(
            words("killall -0 haproxy"),
            Some(vec!["killall".into(), "-0".into(), "haproxy".into()])
        );
        assert_eq!(words("test -f /x || exit 1"), None);
        assert_eq!(words("echo $HOME"), None);
        assert_eq!(words("unterminated 'quote"), None);
    }
}
