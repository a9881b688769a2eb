//! The "is haproxy running" scripts operators track (`killall -0
//! haproxy`, `pidof haproxy`, `pgrep haproxy`, `systemctl is-active
//! haproxy`). Where haven is the proxy, there is no haproxy process to
//! find: the simulator and the one-daemon mode answer them from the
//! proxy's own health instead of running them.

/// True for a command of that idiom, with or without a path.
pub fn is_haproxy_idiom(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let prog = words
        .first()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or("");
    match (prog, words.get(1..).unwrap_or(&[])) {
        ("killall", [flag, name]) => *flag == "-0" && *name == "haproxy",
        ("pidof" | "pgrep", [name]) => *name == "haproxy",
        ("systemctl", [verb, name]) => {
            *verb == "is-active" && (*name == "haproxy" || *name == "haproxy.service")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_idioms() {
        for yes in [
            "killall -0 haproxy",
            "/usr/bin/killall -0 haproxy",
            "pidof haproxy",
            "pgrep haproxy",
            "systemctl is-active haproxy",
        ] {
            assert!(is_haproxy_idiom(yes), "{yes}");
        }
        for no in [
            "killall -0 nginx",
            "/etc/keepalived/check.sh",
            "curl -f http://localhost/",
            "",
        ] {
            assert!(!is_haproxy_idiom(no), "{no}");
        }
    }
}
