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
        /// An agent check's (`Agent check for ...`).
        agent: bool,
        backend: String,
        server: String,
        backup: bool,
        passed: bool,
        reason: CheckReason,
        status: String,
    },
    /// The backend's last usable server went away.
    NoServerAvailable { backend: String },
    /// A server entered (`entering`) or left maintenance.
    Maintenance {
        backend: String,
        server: String,
        backup: bool,
        entering: bool,
        census: Census,
        cause: MaintCause,
    },
    /// A server left DNS maintenance: haproxy's second line.
    DnsReady {
        backend: String,
        server: String,
        backup: bool,
    },
}

/// The line haproxy up to 1.7 logs for each proxy it starts, to the
/// proxy's log targets (later versions log nothing then).
pub fn proxy_started(proxy: &str) -> String {
    format!("Proxy {proxy} started.")
}

/// Why a server enters or leaves maintenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaintCause {
    /// The runtime API or the stats page.
    Forced,
    /// No usable DNS answer (haproxy's words: `DNS NX status`).
    DnsLost(&'static str),
    /// A DNS answer for this name again.
    DnsBack(String),
}

impl Record {
    /// The line's text (what follows `haproxy[pid]: `).
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// The backend the line is about.
    pub fn backend(&self) -> &str {
        match self {
            Self::ServerDown { backend, .. }
            | Self::ServerUp { backend, .. }
            | Self::HealthCheck { backend, .. }
            | Self::Maintenance { backend, .. }
            | Self::DnsReady { backend, .. }
            | Self::NoServerAvailable { backend } => backend,
        }
    }

    /// The syslog severity haproxy uses (0 emerg .. 7 debug).
    pub fn severity(&self) -> u8 {
        match self {
            Self::NoServerAvailable { .. } => 0,
            Self::ServerDown { .. } | Self::Maintenance { entering: true, .. } => 1,
            Self::ServerUp { .. }
            | Self::HealthCheck { .. }
            | Self::DnsReady { .. }
            | Self::Maintenance {
                entering: false, ..
            } => 5,
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
                agent,
                backend,
                server,
                backup,
                passed,
                reason,
                status,
            } => write!(
                f,
                "{} check for {}server {backend}/{server} {}, {reason}, status: {status}.",
                if *agent { "Agent" } else { "Health" },
                if *backup { "backup " } else { "" },
                if *passed { "succeeded" } else { "failed" }
            ),
            Self::NoServerAvailable { backend } => {
                write!(f, "backend {backend} has no server available!")
            }
            Self::Maintenance {
                backend,
                server,
                backup,
                entering: true,
                census: c,
                cause,
            } => write!(
                f,
                "{} {backend}/{server} is going DOWN for maintenance{}. {} active and {} backup servers left.{} {} sessions active, {} requeued, {} remaining in queue.",
                who(backup),
                match cause {
                    MaintCause::DnsLost(why) => format!(" ({why})"),
                    _ => String::new(),
                },
                c.active,
                c.backup,
                on_backup(c),
                c.sessions,
                c.requeued,
                c.queued
            ),
            Self::Maintenance {
                backend,
                server,
                backup,
                entering: false,
                cause: MaintCause::DnsBack(host),
                ..
            } => write!(
                f,
                "{} {backend}/{server} ('{host}') is UP/READY (resolves again).",
                who(backup)
            ),
            Self::Maintenance {
                backend,
                server,
                backup,
                entering: false,
                ..
            } => write!(
                f,
                "{} {backend}/{server} is UP/READY (leaving forced maintenance).",
                who(backup)
            ),
            Self::DnsReady {
                backend,
                server,
                backup,
            } => write!(
                f,
                "{} {backend}/{server} administratively READY thanks to valid DNS answer.",
                who(backup)
            ),
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
            agent: false,
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

/// One `option httplog` line (spec/haproxy.md §6):
/// `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
/// %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r`. Timers are milliseconds, `None`
/// printed as `-1` (phase not reached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLog {
    /// Client address and port.
    pub client: std::net::SocketAddr,
    /// Accept date (UTC) and its milliseconds.
    pub accept: (super::syslog::Civil, u32),
    /// Frontend name.
    pub frontend: String,
    /// Backend name (the frontend's when none was chosen).
    pub backend: String,
    /// Server name; `None` prints `<NOSRV>`.
    pub server: Option<String>,
    /// TR, Tw, Tc, Tr, Ta.
    pub timers: [Option<u64>; 5],
    /// Status sent to the client; 0 when none was (logged `-1`).
    pub status: u16,
    /// Bytes sent to the client.
    pub bytes: u64,
    /// Termination state, 4 characters (`----`, `SC--`).
    pub termination: String,
    /// actconn, feconn, beconn, srv_conn.
    pub conns: [u32; 4],
    /// Retries; `redispatched` prints them as `+N`.
    pub retries: u32,
    /// The last retry was a redispatch.
    pub redispatched: bool,
    /// Server queue, backend queue.
    pub queues: [u32; 2],
    /// What was captured (`{...}` blocks), when the frontend has slots.
    pub captured: Option<Box<crate::sample::Captured>>,
    /// The request line.
    pub request: String,
    /// `option httpslog`: the connection's TLS after the request line.
    pub https: Option<Https>,
}

/// What `option httpslog` adds to a line: the connection's error codes
/// (none: haven logs the requests of connections whose handshake
/// completed), whether its TLS session was resumed, its SNI, version and
/// cipher (`%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/
/// %[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Https {
    /// A clear connection.
    Clear,
    /// A TLS one.
    Tls(std::sync::Arc<crate::sample::TlsSession>),
}

impl fmt::Display for Https {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clear => f.write_str("0/-/-/-/0 -/-/-"),
            Self::Tls(tls) => write!(
                f,
                "0/0000000000000000/0/0/{} {}/{}/{}",
                u8::from(tls.resumed),
                tls.sni.as_deref().unwrap_or("-"),
                tls.protocol,
                tls.cipher
            ),
        }
    }
}

impl fmt::Display for HttpLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = timer;
        // No answer at all (the client left first): haproxy writes -1.
        let status = match self.status {
            0 => "-1".to_owned(),
            s => s.to_string(),
        };
        write!(
            f,
            "{} {}/{}/{}/{}/{} {status} {} - - {} {} {}\"{}\"",
            Route(self),
            t(&self.timers[0]),
            t(&self.timers[1]),
            t(&self.timers[2]),
            t(&self.timers[3]),
            t(&self.timers[4]),
            self.bytes,
            self.termination,
            Counts(self),
            self.captured
                .as_deref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            self.request
        )?;
        match &self.https {
            Some(https) => write!(f, " {https}"),
            None => Ok(()),
        }
    }
}

/// One `option tcplog` line, from the same fields as an httplog line
/// (of its timers, Tw, Tc and Ta as Tt; no status, no request):
/// `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc
/// %sq/%bq`. The termination state is its 2 characters (`--`, `SC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpLog(pub HttpLog);

impl fmt::Display for TcpLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.0;
        let t = timer;
        write!(
            f,
            "{} {}/{}/{} {} {} {}",
            Route(l),
            t(&l.timers[1]),
            t(&l.timers[2]),
            t(&l.timers[4]),
            l.bytes,
            l.termination,
            Counts(l),
        )
    }
}

/// A log line's timer in ms; `-1` for a phase not reached.
fn timer(v: &Option<u64>) -> String {
    v.map_or_else(|| "-1".to_owned(), |v| v.to_string())
}

/// The end of a traffic log line: `%ac/%fc/%bc/%sc/%rc %sq/%bq`.
struct Counts<'a>(&'a HttpLog);

impl fmt::Display for Counts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        write!(
            f,
            "{}/{}/{}/{}/{}{} {}/{}",
            l.conns[0],
            l.conns[1],
            l.conns[2],
            l.conns[3],
            if l.redispatched { "+" } else { "" },
            l.retries,
            l.queues[0],
            l.queues[1],
        )
    }
}

/// The start of a traffic log line: `%ci:%cp [%t] %ft %b/%s`.
struct Route<'a>(&'a HttpLog);

impl fmt::Display for Route<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        write!(
            f,
            "{} {} {}/{}",
            Opening(l.client, l.accept),
            l.frontend,
            l.backend,
            l.server.as_deref().unwrap_or("<NOSRV>"),
        )
    }
}

/// The start of every connection's log line: `%ci:%cp [%t]`.
struct Opening(std::net::SocketAddr, (super::syslog::Civil, u32));

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::syslog::MONTHS;
        let (client, (c, ms)) = (self.0, &self.1);
        write!(
            f,
            "{}:{} [{:02}/{}/{}:{:02}:{:02}:{:02}.{:03}]",
            client.ip(),
            client.port(),
            c.day,
            MONTHS[(c.month - 1) as usize],
            c.year,
            c.hour,
            c.minute,
            c.second,
            ms,
        )
    }
}

/// The line of a connection that ended before it carried anything (a
/// failed TLS handshake): `%ci:%cp [%t] %f/LISTENER: what happened`,
/// the listener by its `name`, else its number in the frontend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLog {
    /// Client address and port.
    pub client: std::net::SocketAddr,
    /// Accept date (UTC) and its milliseconds.
    pub accept: (super::syslog::Civil, u32),
    /// Frontend name.
    pub frontend: String,
    /// The listener's name or number.
    pub listener: String,
    /// What happened, in haproxy's words.
    pub what: &'static str,
}

impl fmt::Display for ConnectionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opening = Opening(self.client, self.accept);
        write!(
            f,
            "{opening} {}/{}: {}",
            self.frontend, self.listener, self.what
        )
    }
}

#[cfg(test)]
mod httplog_tests {
    use super::*;
    use crate::log::syslog::Civil;

    #[test]
    fn spec_examples() {
        let at = Civil::from_unix(Civil::to_unix(2026, 11, 24, 20, 47, 52));
        let ok = HttpLog {
            client: "127.0.0.1:33972".parse().expect("addr"),
            accept: (at, 325),
            frontend: "f".into(),
            backend: "ok".into(),
            server: Some("s1".into()),
            timers: [Some(0), Some(0), Some(0), Some(1), Some(1)],
            status: 200,
            bytes: 124,
            termination: "----".into(),
            conns: [1, 1, 0, 0],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            captured: None,
            request: "GET /index.html?x=1 HTTP/1.1".into(),
            https: None,
        };
        assert_eq!(ok.to_string(), "127.0.0.1:33972 [24/Nov/2026:20:47:52.325] f ok/s1 0/0/0/1/1 200 124 - - ---- 1/1/0/0/0 0/0 \"GET /index.html?x=1 HTTP/1.1\"");
        let queued = HttpLog {
            client: "127.0.0.1:40000".parse().expect("addr"),
            backend: "q".into(),
            server: None,
            timers: [Some(0), Some(1000), None, None, Some(1000)],
            status: 503,
            bytes: 217,
            termination: "sQ--".into(),
            conns: [2, 2, 1, 0],
            queues: [0, 1],
            request: "GET /q2 HTTP/1.1".into(),
            ..ok.clone()
        };
        assert!(queued.to_string().ends_with(
            "q/<NOSRV> 0/1000/-1/-1/1000 503 217 - - sQ-- 2/2/1/0/0 0/1 \"GET /q2 HTTP/1.1\""
        ));
        let aborted = HttpLog {
            status: 0,
            bytes: 0,
            termination: "CC--".into(),
            timers: [Some(0), Some(0), None, None, Some(3)],
            ..ok.clone()
        };
        assert!(aborted.to_string().contains(" 0/0/-1/-1/3 -1 0 - - CC-- "));
        let redispatched = HttpLog {
            retries: 1,
            redispatched: true,
            ..ok
        };
        assert!(redispatched.to_string().contains(" 1/1/0/0/+1 0/0 "));
    }

    #[test]
    fn tcplog_lines_as_haproxy_writes_them() {
        let at = Civil::from_unix(Civil::to_unix(2026, 12, 5, 4, 4, 1));
        // Both captured from haproxy 2.6.12: an echo closed by the client,
        // and a dead server after one retry.
        let echoed = HttpLog {
            client: "127.0.0.1:39754".parse().expect("addr"),
            accept: (at, 945),
            frontend: "fe".into(),
            backend: "fe".into(),
            server: Some("s1".into()),
            timers: [None, Some(1), Some(0), None, Some(201)],
            status: 0,
            bytes: 11,
            termination: "--".into(),
            conns: [1, 1, 0, 0],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            captured: None,
            request: String::new(),
            https: None,
        };
        assert_eq!(
            TcpLog(echoed.clone()).to_string(),
            "127.0.0.1:39754 [05/Dec/2026:04:04:01.945] fe fe/s1 1/0/201 11 -- 1/1/0/0/0 0/0"
        );
        let refused = HttpLog {
            client: "127.0.0.1:48746".parse().expect("addr"),
            frontend: "dead".into(),
            backend: "dead".into(),
            timers: [None, Some(1), None, None, Some(1002)],
            bytes: 0,
            termination: "SC".into(),
            retries: 1,
            ..echoed
        };
        assert!(TcpLog(refused)
            .to_string()
            .ends_with("] dead dead/s1 1/-1/1002 0 SC 1/1/0/0/1 0/0"));
    }

    #[test]
    fn httpslog_adds_the_connections_tls() {
        // As haproxy 2.6.12 wrote them: TLS 1.3 with SNI, then clear.
        let at = Civil::from_unix(Civil::to_unix(2026, 12, 5, 22, 50, 7));
        let tls = crate::sample::TlsSession {
            sni: Some("a.test".into()),
            protocol: "TLSv1.3",
            cipher: "TLS_AES_256_GCM_SHA384",
            ..Default::default()
        };
        let line = HttpLog {
            client: "127.0.0.1:33106".parse().expect("addr"),
            accept: (at, 819),
            frontend: "fe~".into(),
            backend: "fe".into(),
            server: None,
            timers: [Some(0), None, None, None, Some(0)],
            status: 200,
            bytes: 73,
            termination: "LR--".into(),
            conns: [1, 1, 0, 0],
            retries: 0,
            redispatched: false,
            queues: [0, 0],
            captured: None,
            request: "GET /x HTTP/1.1".into(),
            https: Some(Https::Tls(std::sync::Arc::new(tls))),
        };
        assert_eq!(line.to_string(), "127.0.0.1:33106 [05/Dec/2026:22:50:07.819] fe~ fe/<NOSRV> 0/-1/-1/-1/0 200 73 - - LR-- 1/1/0/0/0 0/0 \"GET /x HTTP/1.1\" 0/0000000000000000/0/0/0 a.test/TLSv1.3/TLS_AES_256_GCM_SHA384");
        let clear = HttpLog {
            frontend: "fe".into(),
            https: Some(Https::Clear),
            ..line
        };
        assert!(clear
            .to_string()
            .ends_with("\"GET /x HTTP/1.1\" 0/-/-/-/0 -/-/-"));
    }
}
