//! tcp-check scripts: the steps of `option tcp-check` and of the protocol
//! checks (redis, mysql, pgsql, smtp, ldap, ssl-hello), and [`Run`], the
//! sans-IO machine a probe drives: it says what to do next (connect,
//! send, read more) and, from the bytes the server sent, the verdict
//! with haproxy's status and words.

use super::CheckStatus;
use crate::config::haproxy::{TcpCheck, TcpCheckRule, TcpExpect, TcpPattern};

/// Most bytes of an answer kept (haproxy's check buffer): a full buffer
/// counts as the last read.
pub const CHECK_BUFFER: usize = 16_384;

/// What a tcp-check script runs, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    steps: Vec<Step>,
    /// Each step's `comment`, for the words of a timeout or a failure.
    comments: Vec<Option<String>>,
    /// The backend's own `tcp-check` rules (not a protocol check): failures
    /// and successes get haproxy's generic `TCPCHK` words.
    own_rules: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A new connection (the first step's is the probe's own).
    Connect {
        port: Option<u16>,
        /// `linger`: closed gracefully.
        linger: bool,
        /// Written in the config, not implied.
        explicit: bool,
    },
    Send(Vec<u8>),
    Expect(Box<Expect>),
    /// Counts as a step, does nothing.
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expect {
    negate: bool,
    matcher: Matcher,
    min_recv: Option<usize>,
    ok: CheckStatus,
    error: CheckStatus,
    on_success: Option<Message>,
    on_error: Option<Message>,
    /// The check code is the number the answer starts with (SMTP).
    code_from_answer: bool,
    comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Contains {
        bytes: Vec<u8>,
        binary: bool,
    },
    Regex(String),
    HexRegex(String),
    /// A MySQL packet: the server's greeting, or (`after_greeting`) the
    /// answer to the login that follows it.
    Mysql {
        after_greeting: bool,
    },
    /// An LDAPv3 bind response with result 0.
    LdapBind,
    /// An SPOP agent's AGENT-HELLO ([`super::spop`]).
    SpopHello,
}

/// Text for a log line's info: fixed, or taken from the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    Text(String),
    /// The answer from byte `from`, leading spaces trimmed (`ltrim`),
    /// cut at the first CR or LF.
    Answer {
        from: usize,
        ltrim: bool,
    },
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// haproxy's status.
    pub status: CheckStatus,
    /// The code a protocol gave (MySQL error, SMTP reply, LDAP result).
    pub code: Option<u16>,
    /// The info text of the log line.
    pub info: Option<String>,
}

/// Where a check connects: the server's address and port, unless a rule
/// names others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target {
    /// The address instead of the server's.
    pub addr: Option<std::net::IpAddr>,
    /// The port instead of the server's.
    pub port: Option<u16>,
    /// `linger`: the connection closes gracefully. haproxy closes a
    /// check's connection with a reset unless the server closed first.
    pub linger: bool,
    /// The handshake's last ACK waits to leave with the first bytes sent
    /// (`TCP_QUICKACK` off), as haproxy's does when the rule after the
    /// connect awaits nothing from the server: a check that sends nothing
    /// resets before the server's application ever sees the connection.
    pub delayed_ack: bool,
}

/// A check run step by step: what a probe drives, whatever the ruleset.
pub trait Steps {
    /// The server sent `bytes` (kept up to [`CHECK_BUFFER`]).
    fn received(&mut self, bytes: &[u8]);
    /// The server closed the connection (or it broke).
    fn closed(&mut self);
    /// What to do next.
    fn step(&mut self) -> Next;
    /// Where the run stands, in the words haproxy adds to a timeout or a
    /// connection error; `None` when it adds none.
    fn whereabouts(&self) -> Option<String>;
    /// The verdict when a connection the run asked for failed with
    /// `error` (`Connection refused`).
    fn connect_failed(&self, error: &str) -> Verdict;
}

/// What the probe does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Close the connection and open one to `target`.
    Connect(Target),
    /// Write these bytes.
    Send(Vec<u8>),
    /// Read more of the answer ([`Steps::received`], [`Steps::closed`]).
    Read,
    /// The check is over.
    Finish(Verdict),
}

impl Script {
    /// The script of a backend's `check` (`rules`: its `tcp-check` lines);
    /// `None` when it is a plain connect.
    pub fn of(check: &TcpCheck, rules: &[TcpCheckRule]) -> Option<Self> {
        let (steps, own_rules) = match check {
            TcpCheck::Rules if rules.is_empty() => return None,
            TcpCheck::Rules => {
                let steps = rules.iter().map(own_step).collect();
                let comments = rules.iter().map(comment_of).collect();
                return Some(Self {
                    steps,
                    comments,
                    own_rules: true,
                });
            }
            TcpCheck::Redis => (redis(), false),
            TcpCheck::Mysql { user, pre41 } => (mysql(user.as_deref(), *pre41), false),
            TcpCheck::Pgsql { user } => (pgsql(user), false),
            TcpCheck::Smtp { hello } => (smtp(hello), false),
            TcpCheck::Ldap => (ldap(), false),
            TcpCheck::Spop => (spop(), false),
            TcpCheck::SslHello => (ssl_hello(), false),
        };
        Some(Self {
            comments: vec![None; steps.len()],
            steps,
            own_rules,
        })
    }

    /// Where the probe first connects: the first step's port when it
    /// names one.
    pub fn first_target(&self) -> Target {
        self.target_at(0)
    }

    /// Where the connect step at `at` goes (at 0 with no connect step,
    /// the implicit one: the server), and how.
    fn target_at(&self, at: usize) -> Target {
        let (port, linger, rest) = match self.steps.get(at) {
            Some(Step::Connect { port, linger, .. }) => (*port, *linger, at + 1),
            _ => (None, false, at),
        };
        let next = self
            .steps
            .iter()
            .skip(rest)
            .find(|s| !matches!(s, Step::Comment));
        Target {
            addr: None,
            port,
            linger,
            delayed_ack: !matches!(next, Some(Step::Expect(_))),
        }
    }
}

/// The `comment` of a `tcp-check` line.
fn comment_of(rule: &TcpCheckRule) -> Option<String> {
    match rule {
        TcpCheckRule::Connect { comment, .. } | TcpCheckRule::Send { comment, .. } => {
            comment.clone()
        }
        TcpCheckRule::Expect(e) => e.comment.clone(),
        TcpCheckRule::Comment(_) => None,
    }
}

/// One of the backend's own `tcp-check` lines as a step.
fn own_step(rule: &TcpCheckRule) -> Step {
    match rule {
        TcpCheckRule::Connect { port, linger, .. } => Step::Connect {
            port: *port,
            linger: *linger,
            explicit: true,
        },
        TcpCheckRule::Send { data, .. } => Step::Send(data.clone()),
        TcpCheckRule::Comment(_) => Step::Comment,
        TcpCheckRule::Expect(e) => Step::Expect(Box::new(own_expect(e))),
    }
}

fn own_expect(e: &TcpExpect) -> Expect {
    let status =
        |name: &Option<String>, default| name.as_deref().and_then(status_named).unwrap_or(default);
    Expect {
        negate: e.negate,
        matcher: match &e.pattern {
            TcpPattern::String(b) => Matcher::Contains {
                bytes: b.clone(),
                binary: false,
            },
            TcpPattern::Binary(b) => Matcher::Contains {
                bytes: b.clone(),
                binary: true,
            },
            TcpPattern::Rstring(r) => Matcher::Regex(r.clone()),
            TcpPattern::Rbinary(r) => Matcher::HexRegex(r.clone()),
        },
        min_recv: e.min_recv,
        ok: status(&e.ok_status, CheckStatus::L7Ok),
        error: status(&e.error_status, CheckStatus::L7Rsp),
        on_success: e.on_success.clone().map(Message::Text),
        on_error: e.on_error.clone().map(Message::Text),
        code_from_answer: false,
        comment: e.comment.clone(),
    }
}

/// The status an `ok-status` / `error-status` name stands for.
pub(super) fn status_named(name: &str) -> Option<CheckStatus> {
    Some(match name {
        "L4OK" => CheckStatus::L4Ok,
        "L4TOUT" => CheckStatus::L4Tout,
        "L4CON" => CheckStatus::L4Con,
        "L6OK" => CheckStatus::L6Ok,
        "L6TOUT" => CheckStatus::L6Tout,
        "L6RSP" => CheckStatus::L6Rsp,
        "L7OK" => CheckStatus::L7Ok,
        "L7RSP" => CheckStatus::L7Rsp,
        "L7STS" => CheckStatus::L7Sts,
        _ => return None,
    })
}

/// An expect step of a protocol check, as haproxy defines its rulesets.
fn expect(matcher: Matcher) -> Expect {
    Expect {
        negate: false,
        matcher,
        min_recv: None,
        ok: CheckStatus::L7Ok,
        error: CheckStatus::L7Rsp,
        on_success: None,
        on_error: None,
        code_from_answer: false,
        comment: None,
    }
}

fn step(e: Expect) -> Step {
    Step::Expect(Box::new(e))
}

const IMPLICIT: Step = Step::Connect {
    port: None,
    linger: false,
    explicit: false,
};

fn redis() -> Vec<Step> {
    let pong = Expect {
        error: CheckStatus::L7Sts,
        on_error: Some(Message::Answer {
            from: 0,
            ltrim: false,
        }),
        on_success: Some(Message::Text("Redis server is ok".into())),
        ..expect(Matcher::Contains {
            bytes: b"+PONG\r\n".to_vec(),
            binary: false,
        })
    };
    vec![Step::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()), step(pong)]
}

fn mysql(user: Option<&str>, pre41: bool) -> Vec<Step> {
    let greeting = step(expect(Matcher::Mysql {
        after_greeting: false,
    }));
    let Some(user) = user else {
        return vec![IMPLICIT, greeting];
    };
    // The login packet, then COM_QUIT, as haproxy sends them.
    let mut body = if pre41 {
        vec![0x00, 0x80, 0x00, 0x00, 0x01]
    } else {
        let mut b = vec![0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21];
        b.extend_from_slice(&[0; 23]);
        b
    };
    body.extend_from_slice(user.as_bytes());
    body.extend_from_slice(&[0x00, 0x00]);
    let len = body.len() as u32;
    let mut packet = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, 0x01];
    packet.extend_from_slice(&body);
    packet.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]);
    let ok = step(expect(Matcher::Mysql {
        after_greeting: true,
    }));
    vec![IMPLICIT, Step::Send(packet), greeting, ok]
}

fn pgsql(user: &str) -> Vec<Step> {
    let len = 15 + user.len() as u32;
    let mut packet = len.to_be_bytes().to_vec();
    packet.extend_from_slice(&[0x00, 0x03, 0x00, 0x00]);
    packet.extend_from_slice(b"user\0");
    packet.extend_from_slice(user.as_bytes());
    packet.extend_from_slice(&[0x00, 0x00]);
    let no_error = Expect {
        negate: true,
        min_recv: Some(5),
        on_error: Some(Message::Answer {
            from: 6,
            ltrim: false,
        }),
        ..expect(Matcher::Regex("^E".into()))
    };
    let authenticated = Expect {
        min_recv: Some(9),
        error: CheckStatus::L7Sts,
        on_success: Some(Message::Text("PostgreSQL server is ok".into())),
        on_error: Some(Message::Text("PostgreSQL unknown error".into())),
        ..expect(Matcher::HexRegex(
            "^52000000(08|0A|0C)000000(00|02|03|04|05|06)".into(),
        ))
    };
    vec![
        IMPLICIT,
        Step::Send(packet),
        step(no_error),
        step(authenticated),
    ]
}

fn smtp(hello: &str) -> Vec<Step> {
    let reply = Message::Answer {
        from: 4,
        ltrim: true,
    };
    let banner = Expect {
        min_recv: Some(4),
        on_error: Some(Message::Answer {
            from: 0,
            ltrim: false,
        }),
        ..expect(Matcher::Regex("^[0-9]{3}[ \r]".into()))
    };
    let ready = Expect {
        min_recv: Some(4),
        error: CheckStatus::L7Sts,
        on_error: Some(reply.clone()),
        code_from_answer: true,
        ..expect(Matcher::Regex("^2[0-9]{2}[ \r]".into()))
    };
    // The whole (multi-line) reply to the greeting before the check ends,
    // as haproxy since 2.6.12: closing on its first line races the
    // server's next ones.
    let greeted = Expect {
        matcher: Matcher::Regex("^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]".into()),
        on_success: Some(reply),
        ..ready.clone()
    };
    vec![
        IMPLICIT,
        step(banner),
        step(ready),
        Step::Send(format!("{hello}\r\n").into_bytes()),
        step(greeted),
    ]
}

fn ldap() -> Vec<Step> {
    let bind = [
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
    ];
    let ber = Expect {
        min_recv: Some(14),
        on_error: Some(Message::Text("Not LDAPv3 protocol".into())),
        ..expect(Matcher::HexRegex("^30".into()))
    };
    vec![
        Step::Send(bind.to_vec()),
        step(ber),
        step(expect(Matcher::LdapBind)),
    ]
}

fn spop() -> Vec<Step> {
    vec![
        Step::Send(super::spop::hello_frame()),
        step(expect(Matcher::SpopHello)),
    ]
}

fn ssl_hello() -> Vec<Step> {
    // An SSLv3 CLIENT HELLO offering the 39 most common ciphers; its
    // time field is left zero (servers do not check it).
    let mut hello = vec![
        0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00,
    ];
    hello.extend_from_slice(&[0, 0, 0, 0]);
    hello.extend_from_slice(b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
    hello.extend_from_slice(&[0x00, 0x00, 0x4e]);
    for cipher in (0x01..=0x1b).chain(0x2f..=0x3a) {
        hello.extend_from_slice(&[0x00, cipher]);
    }
    hello.extend_from_slice(&[0x01, 0x00]);
    let answer = Expect {
        min_recv: Some(5),
        ok: CheckStatus::L6Ok,
        error: CheckStatus::L6Rsp,
        ..expect(Matcher::HexRegex("^1[56]".into()))
    };
    vec![Step::Send(hello), step(answer)]
}

/// One run of a script, fed with what the server sends.
#[derive(Debug, Clone)]
pub struct Run {
    script: Script,
    /// The next step.
    at: usize,
    /// The last step started, for its number in messages and the verdict.
    current: Option<usize>,
    read: Reading,
}

/// What a check has read since its last send or connect.
#[derive(Debug, Clone)]
pub(super) struct Reading {
    /// What the server sent, kept up to [`CHECK_BUFFER`].
    pub(super) answer: Vec<u8>,
    /// The next expect waits for a read first.
    pub(super) must_read: bool,
    /// The server closed its side: no more bytes will come.
    pub(super) closed: bool,
}

impl Reading {
    /// Nothing read yet, on a fresh connection.
    pub(super) fn new() -> Self {
        Self {
            answer: Vec::new(),
            must_read: true,
            closed: false,
        }
    }

    /// The server sent `bytes`.
    pub(super) fn received(&mut self, bytes: &[u8]) {
        let room = CHECK_BUFFER.saturating_sub(self.answer.len());
        self.answer
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.must_read = false;
    }

    /// The server closed the connection (or it broke).
    pub(super) fn closed(&mut self) {
        self.closed = true;
        self.must_read = false;
    }

    /// The next expect must wait for bytes: none came since the last
    /// send or connect, and the server has not closed.
    pub(super) fn awaits_read(&self) -> bool {
        self.must_read && !self.closed
    }

    /// No more bytes will count: the server closed, or the buffer is full.
    pub(super) fn last_read(&self) -> bool {
        self.closed || self.answer.len() >= CHECK_BUFFER
    }

    /// A new exchange begins: what was read goes, a read comes first
    /// (`connection`: on a new connection, which is open).
    pub(super) fn restart(&mut self, connection: bool) {
        self.answer.clear();
        self.must_read = true;
        self.closed &= !connection;
    }
}

/// How an expect step went.
pub(super) enum Eval {
    Pass,
    Wait,
    Fail(Verdict),
}

impl Run {
    /// A run of `script` on a connection the probe has just opened.
    pub fn new(script: Script) -> Self {
        Self {
            script,
            at: 0,
            current: None,
            read: Reading::new(),
        }
    }
}

impl Steps for Run {
    fn received(&mut self, bytes: &[u8]) {
        self.read.received(bytes);
    }

    fn closed(&mut self) {
        self.read.closed();
    }

    /// What to do next.
    fn step(&mut self) -> Next {
        while let Some(step) = self.script.steps.get(self.at) {
            match step {
                Step::Comment => {}
                Step::Connect { .. } => {
                    self.current = Some(self.at);
                    self.read.restart(true);
                    if self.at > 0 {
                        let target = self.script.target_at(self.at);
                        self.at += 1;
                        return Next::Connect(target);
                    }
                }
                Step::Send(bytes) => {
                    self.current = Some(self.at);
                    self.read.restart(false);
                    let bytes = bytes.clone();
                    self.at += 1;
                    return Next::Send(bytes);
                }
                Step::Expect(e) => {
                    self.current = Some(self.at);
                    if self.read.awaits_read() {
                        return Next::Read;
                    }
                    match self.evaluate(e) {
                        Eval::Pass => {}
                        // Every matcher decides on a last read; never hang.
                        Eval::Wait if self.read.closed => {
                            return Next::Finish(verdict(e.error, None, None))
                        }
                        Eval::Wait => return Next::Read,
                        Eval::Fail(v) => return Next::Finish(v),
                    }
                }
            }
            self.at += 1;
        }
        Next::Finish(self.success())
    }

    /// Where the run stands, in the words haproxy adds to a timeout or a
    /// connection error of the backend's own rules (` at step 2 of
    /// tcp-check (expect string 'x')`); `None` for protocol checks.
    fn whereabouts(&self) -> Option<String> {
        if !self.script.own_rules {
            return None;
        }
        let explicit_first = matches!(
            self.script.steps.first(),
            Some(Step::Connect { explicit: true, .. })
        );
        let Some(at) = self.current.or(explicit_first.then_some(0)) else {
            return Some(" at initial connection step of tcp-check".into());
        };
        let mut words = format!(" at step {} of tcp-check", at + 1);
        match &self.script.steps[at] {
            Step::Connect { port: Some(p), .. } => words.push_str(&format!(" (connect port {p})")),
            Step::Connect { port: None, .. } => words.push_str(" (connect)"),
            Step::Send(_) => words.push_str(" (send)"),
            Step::Expect(e) => words.push_str(&match &e.matcher {
                Matcher::Contains {
                    bytes,
                    binary: false,
                } => format!(" (expect string '{}')", String::from_utf8_lossy(bytes)),
                Matcher::Contains { bytes, .. } => {
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    format!(" (expect binary '{hex}')")
                }
                Matcher::Regex(_) => " (expect regex)".into(),
                Matcher::HexRegex(_) => " (expect binary regex)".into(),
                Matcher::Mysql { .. } | Matcher::LdapBind | Matcher::SpopHello => {
                    " (expect custom function)".into()
                }
            }),
            Step::Comment => {}
        }
        if let Some(c) = &self.script.comments[at] {
            words.push_str(&format!(" comment: '{c}'"));
        }
        Some(words)
    }

    /// The verdict when a connection the script asked for failed with
    /// `error` (`Connection refused`).
    fn connect_failed(&self, error: &str) -> Verdict {
        let info = format!("{error}{}", self.whereabouts().unwrap_or_default());
        verdict(CheckStatus::L4Con, None, Some(info))
    }
}

impl Run {
    /// The verdict once every step passed.
    fn success(&self) -> Verdict {
        let own = self.script.own_rules.then(|| "(tcp-check)".to_owned());
        match self.current.and_then(|i| self.script.steps.get(i)) {
            Some(Step::Expect(e)) => {
                if matches!(e.matcher, Matcher::Mysql { .. }) {
                    return Verdict {
                        status: e.ok,
                        code: None,
                        info: mysql_version(&self.read.answer),
                    };
                }
                if matches!(e.matcher, Matcher::LdapBind) {
                    return verdict(e.ok, None, Some("Success".into()));
                }
                if matches!(e.matcher, Matcher::SpopHello) {
                    return verdict(e.ok, None, Some("SPOA server is ok".into()));
                }
                let info = e.on_success.as_ref().map(|m| self.message(m)).or(own);
                verdict(e.ok, self.code(e), info)
            }
            Some(Step::Connect { explicit, .. }) => {
                verdict(CheckStatus::L4Ok, None, own.filter(|_| *explicit))
            }
            _ => verdict(CheckStatus::L7Ok, None, Some("(tcp-check)".into())),
        }
    }

    /// Evaluates expect step `e` on the answer so far.
    fn evaluate(&self, e: &Expect) -> Eval {
        let last_read = self.read.last_read();
        let data = &self.read.answer;
        if !last_read {
            let short = match &e.matcher {
                Matcher::Contains { bytes, .. } => data.len() < bytes.len(),
                _ => false,
            };
            if short || e.min_recv.is_some_and(|m| data.len() < m) {
                return Eval::Wait;
            }
        }
        let matched = match &e.matcher {
            Matcher::Contains { bytes, .. } => {
                bytes.is_empty() || data.windows(bytes.len()).any(|w| w == bytes.as_slice())
            }
            Matcher::Regex(r) => regex::bytes::Regex::new(r).is_ok_and(|re| re.is_match(data)),
            Matcher::HexRegex(r) => {
                let hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
                regex::Regex::new(r).is_ok_and(|re| re.is_match(&hex))
            }
            Matcher::Mysql { after_greeting } => return self.mysql(e, *after_greeting, last_read),
            Matcher::LdapBind => return self.ldap(e, last_read),
            Matcher::SpopHello => {
                return match super::spop::judge(data, last_read) {
                    None => Eval::Wait,
                    Some(Ok(())) => Eval::Pass,
                    Some(Err(words)) => {
                        Eval::Fail(self.failure(e, false, None, Some(words.into())))
                    }
                }
            }
        };
        if !matched && !last_read && e.min_recv.is_none() {
            return Eval::Wait;
        }
        if matched != e.negate {
            return Eval::Pass;
        }
        Eval::Fail(self.failure(e, matched, None, None))
    }

    /// The verdict of a failed expect `e`: its status, and the info
    /// haproxy writes (a protocol's own words `said`, the rule's
    /// `on-error`, or the generic words for the backend's own rules),
    /// with the rule's comment.
    fn failure(
        &self,
        e: &Expect,
        matched: bool,
        code: Option<u16>,
        said: Option<String>,
    ) -> Verdict {
        let mut info = match (said, &e.on_error) {
            (Some(s), _) => s,
            (None, Some(m)) => self.message(m),
            (None, None) if self.script.own_rules => self.generic_failure(e, matched),
            (None, None) => String::new(),
        };
        if let Some(c) = &e.comment {
            info.push_str(" comment: ");
            info.push_str(c);
        }
        let code = code.or_else(|| self.code(e));
        verdict(e.error, code, Some(info).filter(|i| !i.is_empty()))
    }

    /// `TCPCHK did not match content 'x' at step N`, as haproxy words it.
    fn generic_failure(&self, e: &Expect, matched: bool) -> String {
        let what = if matched {
            "TCPCHK matched unwanted content"
        } else {
            "TCPCHK did not match content"
        };
        let step = self.current.map_or(1, |i| i + 1);
        match &e.matcher {
            Matcher::Contains {
                bytes,
                binary: false,
            } => format!("{what} '{}' at step {step}", String::from_utf8_lossy(bytes)),
            Matcher::Contains { binary: true, .. } => format!("{what} (binary) at step {step}"),
            Matcher::Regex(_) => format!("{what} (regex) at step {step}"),
            Matcher::HexRegex(_) => format!("{what} (binary regex) at step {step}"),
            Matcher::Mysql { .. } | Matcher::LdapBind | Matcher::SpopHello => {
                format!("{what} (custom function) at step {step}")
            }
        }
    }

    /// The code an SMTP-like answer starts with.
    fn code(&self, e: &Expect) -> Option<u16> {
        if !e.code_from_answer {
            return None;
        }
        std::str::from_utf8(self.read.answer.get(..3)?)
            .ok()?
            .parse()
            .ok()
    }

    fn message(&self, m: &Message) -> String {
        match m {
            Message::Text(t) => t.clone(),
            Message::Answer { from, ltrim } => {
                let rest = self.read.answer.get(*from..).unwrap_or_default();
                let rest = if *ltrim {
                    let spaces = rest.iter().take_while(|b| **b == b' ').count();
                    &rest[spaces..]
                } else {
                    rest
                };
                // Cut at the line's end, or at a NUL as haproxy's C
                // strings are.
                let end = rest
                    .iter()
                    .position(|b| matches!(b, b'\r' | b'\n' | 0))
                    .unwrap_or(rest.len());
                String::from_utf8_lossy(&rest[..end]).into_owned()
            }
        }
    }

    /// A MySQL packet at the start of the answer, or after the greeting:
    /// an error packet fails with its code and message.
    fn mysql(&self, e: &Expect, after_greeting: bool, last_read: bool) -> Eval {
        let data = &self.read.answer;
        let packet_len = |at: usize| -> Option<usize> {
            let h = data.get(at..at + 3)?;
            Some(usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16)
        };
        let offset = if after_greeting {
            packet_len(0).map_or(0, |l| l + 4)
        } else {
            0
        };
        let whole = packet_len(offset).filter(|l| data.len() >= offset + l + 4);
        if whole.is_none() {
            if !last_read {
                return Eval::Wait;
            }
            return Eval::Fail(self.failure(e, false, None, None));
        }
        if data.get(offset + 4) == Some(&0xff) {
            let code = data
                .get(offset + 5..offset + 7)
                .map(|c| u16::from(c[0]) | u16::from(c[1]) << 8);
            let text = data.get(offset + 7..).unwrap_or_default();
            let text = text.split(|b| *b == 0).next().unwrap_or_default();
            let said = String::from_utf8_lossy(text).into_owned();
            let failed = Expect {
                error: CheckStatus::L7Sts,
                ..e.clone()
            };
            return Eval::Fail(self.failure(&failed, false, code, Some(said)));
        }
        Eval::Pass
    }

    /// An LDAPv3 bind response whose result code is 0; it waits for
    /// the bytes it needs (lengths may be in BER's long form).
    fn ldap(&self, e: &Expect, last_read: bool) -> Eval {
        let data = &self.read.answer;
        let not_ldap = || {
            let said = Some("Not LDAPv3 protocol".to_owned());
            Eval::Fail(self.failure(e, false, None, said))
        };
        let short = || if last_read { not_ldap() } else { Eval::Wait };
        let long_form = |b: u8| {
            if b & 0x80 != 0 {
                usize::from(b & 0x7f)
            } else {
                0
            }
        };
        let Some(&size) = data.get(1) else {
            return short();
        };
        let mut len = long_form(size);
        match data.get(2 + len..6 + len) {
            None => return short(),
            Some(op) if op != [0x02, 0x01, 0x01, 0x61] => return not_ldap(),
            Some(_) => {}
        }
        let Some(&size) = data.get(len + 6) else {
            return short();
        };
        len += long_form(size);
        match data.get(7 + len..9 + len) {
            None => return short(),
            Some(tag) if tag != [0x0a, 0x01] => return not_ldap(),
            Some(_) => {}
        }
        let Some(&result) = data.get(len + 9) else {
            return short();
        };
        if result != 0 {
            let failed = Expect {
                error: CheckStatus::L7Sts,
                ..e.clone()
            };
            let said = Some("See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9".into());
            return Eval::Fail(self.failure(&failed, false, Some(u16::from(result)), said));
        }
        Eval::Pass
    }
}

fn verdict(status: CheckStatus, code: Option<u16>, info: Option<String>) -> Verdict {
    Verdict { status, code, info }
}

/// The server version a MySQL greeting names (from byte 5, up to its NUL).
fn mysql_version(answer: &[u8]) -> Option<String> {
    let rest = answer.get(5..)?;
    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

#[cfg(test)]
mod tests;
