//! haproxy's log lines (spec/haproxy.md §2.4, §6): server state changes,
//! health-check results, "no server available".

use std::fmt;

/// Why a check ended, as a state-change line words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReason {
    /// Status description (`Layer4 connection problem`).
    pub description: &'static str,
    /// HTTP code, for layer-7 statuses.
    pub code: Option<u16>,
    /// Extra text, quoted in the line.
    pub info: Option<String>,
    /// Check duration in milliseconds.
    pub duration_ms: u64,
}

impl fmt::Display for CheckReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reason: {}", self.description)?;
        if let Some(code) = self.code {
            write!(f, ", code: {code}")?;
        }
        if let Some(info) = &self.info {
            write!(f, ", info: \"{info}\"")?;
        }
        write!(f, ", check duration: {}ms", self.duration_ms)
    }
}

/// Servers left in a backend after a change, and its session counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Census {
    /// Usable active servers.
    pub active: u32,
    /// Usable backup servers.
    pub backup: u32,
    /// True when traffic now goes to backups.
    pub running_on_backup: bool,
    /// Sessions on the server that changed.
    pub sessions: u32,
    /// Sessions moved to other servers.
    pub requeued: u32,
    /// Requests waiting in the queue.
    pub queued: u32,
}

/// One haproxy log line. Fields: `backend` / `server` name the server,
/// `backup` marks a backup server.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A server went DOWN; `reason` is absent with `log-health-checks`.
    ServerDown {
        backend: String,
        server: String,
        backup: bool,
        reason: Option<CheckReason>,
        census: Census,
    },
    /// A server came UP.
    ServerUp {
        backend: String,
        server: String,
        backup: bool,
        reason: Option<CheckReason>,
        census: Census,
    },
    /// `option log-health-checks`: a check changed the health counter.
    HealthCheck {
        backend: String,
        server: String,
        backup: bool,
        passed: bool,
        reason: CheckReason,
        status: String,
    },
    /// The backend's last usable server went away.
    NoServerAvailable { backend: String },
}

impl Record {
    /// The line's text (what follows `haproxy[pid]: `).
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// The syslog severity haproxy uses (0 emerg .. 7 debug).
    pub fn severity(&self) -> u8 {
        match self {
            Self::NoServerAvailable { .. } => 0,
            Self::ServerDown { .. } => 1,
            Self::ServerUp { .. } | Self::HealthCheck { .. } => 5,
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = |backup: &bool| if *backup { "Backup Server" } else { "Server" };
        let on_backup = |c: &Census| {
            if c.running_on_backup {
                " Running on backup."
            } else {
                ""
            }
        };
        match self {
            Self::ServerDown {
                backend,
                server,
                backup,
                reason,
                census: c,
            } => {
                write!(f, "{} {backend}/{server} is DOWN", who(backup))?;
                if let Some(r) = reason {
                    write!(f, ", {r}")?;
                }
                write!(
                    f,
                    ". {} active and {} backup servers left.{} {} sessions active, {} requeued, {} remaining in queue.",
                    c.active,
                    c.backup,
                    on_backup(c),
                    c.sessions,
                    c.requeued,
                    c.queued
                )
            }
            Self::ServerUp {
                backend,
                server,
                backup,
                reason,
                census: c,
            } => {
                write!(f, "{} {backend}/{server} is UP", who(backup))?;
                if let Some(r) = reason {
                    write!(f, ", {r}")?;
                }
                write!(
                    f,
                    ". {} active and {} backup servers online.{} {} sessions requeued, {} total in queue.",
                    c.active,
                    c.backup,
                    on_backup(c),
                    c.requeued,
                    c.queued
                )
            }
            Self::HealthCheck {
                backend,
                server,
                backup,
                passed,
                reason,
                status,
            } => write!(
                f,
                "Health check for {}server {backend}/{server} {}, {reason}, status: {status}.",
                if *backup { "backup " } else { "" },
                if *passed { "succeeded" } else { "failed" }
            ),
            Self::NoServerAvailable { backend } => {
                write!(f, "backend {backend} has no server available!")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> CheckReason {
        CheckReason {
            description: "Layer4 connection problem",
            code: None,
            info: Some("Connection refused".into()),
            duration_ms: 0,
        }
    }

    #[test]
    fn spec_lines() {
        let down = Record::ServerDown {
            backend: "www".into(),
            server: "webapp1".into(),
            backup: false,
            reason: Some(refused()),
            census: Census {
                active: 2,
                ..Census::default()
            },
        };
        assert_eq!(down.text(), "Server www/webapp1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
        let up = Record::ServerUp {
            backend: "www".into(),
            server: "webapp1".into(),
            backup: false,
            reason: Some(CheckReason {
                description: "Layer7 check passed",
                code: Some(200),
                info: None,
                duration_ms: 1,
            }),
            census: Census {
                active: 2,
                ..Census::default()
            },
        };
        assert_eq!(up.text(), "Server www/webapp1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
        let on_backup = Record::ServerDown {
            backend: "bk".into(),
            server: "a".into(),
            backup: false,
            reason: Some(refused()),
            census: Census {
                backup: 2,
                running_on_backup: true,
                ..Census::default()
            },
        };
        assert_eq!(on_backup.text(), "Server bk/a is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 2 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.");
        let hc = Record::HealthCheck {
            backend: "www".into(),
            server: "e500".into(),
            backup: false,
            passed: false,
            reason: CheckReason {
                description: "Layer7 wrong status",
                code: Some(500),
                info: Some("Internal Server Error".into()),
                duration_ms: 0,
            },
            status: "0/2 DOWN".into(),
        };
        assert_eq!(hc.text(), "Health check for server www/e500 failed, reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\", check duration: 0ms, status: 0/2 DOWN.");
        assert_eq!(
            Record::NoServerAvailable {
                backend: "www".into()
            }
            .text(),
            "backend www has no server available!"
        );
    }
}
