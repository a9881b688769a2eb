//! HTTP health checks: [`HttpProbe`], a backend's `http-check` ruleset
//! for one server, and [`HttpRun`], the sans-IO machine a probe drives
//! through it — connections, requests built from log-format strings and
//! check variables, and each `expect` judged on the parsed answer with
//! haproxy's statuses and words.

use super::script::{status_named, Eval, Next, Reading, Steps, Target, Verdict};
use super::CheckStatus;
use crate::config::haproxy::{
    HeaderPattern, HttpCheckRule, HttpExpect, HttpMatch, HttpSend, PatternMethod,
};
use crate::http1::{parse_response_head, ChunkedDecoder, ResponseFraming};
use crate::route::RequestHead;
use crate::sample::{Around, HeaderView, Response, Vars};

/// The HTTP check of one server: the rules and what they may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProbe {
    /// The backend's rules, in order.
    pub rules: Vec<HttpCheckRule>,
    /// The backend's name (`be_name`).
    pub backend: String,
    /// The server's name (`srv_name`).
    pub server: String,
    /// `http-check send-state`: the server's state goes in an
    /// `X-Haproxy-Server-State` header.
    pub send_state: bool,
    /// That header's value ([`format_state`]), given by the driver, which
    /// knows the server's address and load.
    pub state: Option<String>,
}

impl HttpProbe {
    /// Where the probe's first connection goes: the first rule's when it
    /// is a `connect`.
    pub fn first_target(&self) -> Target {
        self.target_at(0)
    }

    /// Where the `connect` rule at `at` goes (at 0 with none, the
    /// implicit one: the server), and how.
    fn target_at(&self, at: usize) -> Target {
        let (addr, port, linger, rest) = match self.rules.get(at) {
            Some(HttpCheckRule::Connect { addr, port, linger }) => (*addr, *port, *linger, at + 1),
            _ => (None, None, false, at),
        };
        let next = self
            .rules
            .iter()
            .skip(rest)
            .find(|r| !matches!(r, HttpCheckRule::SetVar(..) | HttpCheckRule::UnsetVar(_)));
        Target {
            addr,
            port,
            linger,
            delayed_ack: !matches!(next, Some(HttpCheckRule::Expect(_))),
        }
    }

    /// The URI of the first request when it is fixed text.
    pub fn first_uri(&self) -> Option<&str> {
        self.rules.iter().find_map(|r| match r {
            HttpCheckRule::Send(s) => Some(s.fixed_uri()),
            _ => None,
        })?
    }

    /// The verdict on `answer`, given whole as the only answer to every
    /// request (the simulator's servers answer this way).
    pub fn judge(&self, answer: &[u8]) -> Verdict {
        let mut run = HttpRun::new(self.clone());
        loop {
            match run.step() {
                Next::Finish(v) => return v,
                Next::Read => {
                    run.received(answer);
                    run.closed();
                }
                Next::Connect(_) | Next::Send(_) => {}
            }
        }
    }
}

/// One run of an HTTP check, on a connection the probe has opened.
#[derive(Debug, Clone)]
pub struct HttpRun {
    probe: HttpProbe,
    /// The next rule.
    at: usize,
    /// The `check.` variables.
    vars: Vars,
    read: Reading,
    /// The last connect, send or expect rule reached.
    current: Option<usize>,
    /// The status of the last answer.
    code: Option<u16>,
}

/// A response read far enough to be judged.
struct Answer {
    code: u16,
    reason: String,
    headers: Vec<(String, String)>,
    /// The body as read so far, de-chunked.
    body: Vec<u8>,
    /// The body is whole (or no more will come).
    complete: bool,
}

impl HttpRun {
    /// A run of `probe`.
    pub fn new(probe: HttpProbe) -> Self {
        Self {
            probe,
            at: 0,
            vars: Vars::default(),
            read: Reading::new(),
            current: None,
            code: None,
        }
    }

    /// The request `send` describes, as bytes (haproxy's header order).
    fn request(&self, send: &HttpSend) -> Vec<u8> {
        let answer = self.parse().ok().flatten();
        self.with_samples(answer.as_ref(), |head| {
            let uri = send.uri.as_ref().map(|f| f.render(head));
            let uri = uri.as_deref().filter(|u| !u.is_empty()).unwrap_or("/");
            let mut out = format!("{} {uri} {}\r\n", send.method(), send.version());
            let mut connection = false;
            for (name, value) in &send.headers {
                let value = value.render(head);
                if value.is_empty() {
                    continue;
                }
                connection |= name.eq_ignore_ascii_case("connection");
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            if let Some(state) = &self.probe.state {
                out.push_str(&format!("x-haproxy-server-state: {state}\r\n"));
            }
            let body = send
                .body
                .as_ref()
                .map(|b| b.render(head))
                .unwrap_or_default();
            // HTTP/1.0 closes without being told.
            if !connection && send.persists_by_default() {
                out.push_str("connection: close\r\n");
            }
            let bodyless = matches!(send.method(), "OPTIONS" | "GET" | "HEAD" | "DELETE");
            if !bodyless || !body.is_empty() {
                out.push_str(&format!("content-length: {}\r\n", body.len()));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            out.into_bytes()
        })
    }

    /// Calls `f` with what samples see in a check: the names, the
    /// variables and the last answer.
    fn with_samples<R>(&self, answer: Option<&Answer>, f: impl FnOnce(&RequestHead<'_>) -> R) -> R {
        let headers: Vec<(&str, &str)> = answer
            .map(|a| {
                a.headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let around = Around {
            backend: &self.probe.backend,
            server: &self.probe.server,
            vars: Some(&self.vars),
            response: answer.map(|a| Response {
                status: a.code,
                headers: HeaderView::Pairs(&headers),
                cache: None,
                server_tls: None,
            }),
            ..Around::default()
        };
        let head = RequestHead {
            method: "",
            uri: "",
            headers: HeaderView::default(),
            client: None,
            payload: answer.map_or(&[][..], |a| &a.body),
            around,
        };
        f(&head)
    }

    /// The answer so far: `Ok(None)` while its head is incomplete.
    fn parse(&self) -> Result<Option<Answer>, ()> {
        let Some((head, len)) = parse_response_head(&self.read.answer, false).map_err(|_| ())?
        else {
            return Ok(None);
        };
        let rest = &self.read.answer[len..];
        let (body, complete) = match head.body {
            ResponseFraming::Empty => (Vec::new(), true),
            ResponseFraming::Length(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                (rest[..rest.len().min(n)].to_vec(), rest.len() >= n)
            }
            ResponseFraming::Chunked => {
                let mut decoder = ChunkedDecoder::default();
                let mut body = Vec::new();
                decoder.feed(rest, &mut body).map_err(|_| ())?;
                (body, decoder.is_done())
            }
            ResponseFraming::UntilClose => (rest.to_vec(), false),
        };
        Ok(Some(Answer {
            code: head.code,
            reason: head.reason,
            headers: head
                .headers
                .iter()
                .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            body,
            complete: complete || self.read.last_read(),
        }))
    }

    /// Judges expect rule `e` on the answer so far.
    fn evaluate(&mut self, e: &HttpExpect) -> Eval {
        let answer = match self.parse() {
            Err(()) => return Eval::Fail(verdict(CheckStatus::L7Rsp, None, None)),
            Ok(None) if self.read.last_read() => {
                return Eval::Fail(verdict(CheckStatus::L7Rsp, None, None))
            }
            Ok(None) => return Eval::Wait,
            Ok(Some(a)) => a,
        };
        self.code = Some(answer.code);
        let (matched, error, desc) = match &e.matcher {
            HttpMatch::Status(ranges) => {
                let hit = ranges.iter().any(|(a, b)| (*a..=*b).contains(&answer.code));
                (hit, CheckStatus::L7Sts, Some(answer.reason.clone()))
            }
            HttpMatch::Rstatus(re) => {
                let hit = regex_matches(re, false, &answer.code.to_string());
                (hit, CheckStatus::L7Sts, Some(answer.reason.clone()))
            }
            HttpMatch::Header { full, name, value } => {
                let Some(name) = self.pattern_text(name, &answer) else {
                    return Eval::Fail(empty_format());
                };
                let value = match value {
                    None => None,
                    Some(v) => match self.pattern_text(v, &answer) {
                        Some(v) => Some(v),
                        None => return Eval::Fail(empty_format()),
                    },
                };
                let hit = header_matches(&answer.headers, *full, &name, value.as_ref());
                (hit, CheckStatus::L7Sts, Some(answer.reason.clone()))
            }
            HttpMatch::String(_) | HttpMatch::Rstring(_) | HttpMatch::StringLf(_) => {
                if !answer.complete {
                    return Eval::Wait;
                }
                if answer.body.is_empty() {
                    let info = "HTTP content check could not find a response body";
                    let status = e.error_status.as_deref().and_then(status_named);
                    let status = status.unwrap_or(CheckStatus::L7Rsp);
                    return Eval::Fail(self.failure(e, status, Some(info.into()), &answer));
                }
                let body = String::from_utf8_lossy(&answer.body);
                let hit = match &e.matcher {
                    HttpMatch::String(s) => body.contains(s.as_str()),
                    HttpMatch::Rstring(re) => regex_matches(re, false, &body),
                    HttpMatch::StringLf(f) => {
                        let wanted = self.with_samples(Some(&answer), |h| f.render(h));
                        if wanted.is_empty() {
                            return Eval::Fail(empty_format());
                        }
                        body.contains(wanted.as_str())
                    }
                    _ => false,
                };
                let words = if e.negate {
                    "HTTP check matched unwanted content"
                } else {
                    "HTTP content check did not match"
                };
                (hit, CheckStatus::L7Rsp, Some(words.to_owned()))
            }
        };
        if matched != e.negate {
            return Eval::Pass;
        }
        let status = e.error_status.as_deref().and_then(status_named);
        Eval::Fail(self.failure(e, status.unwrap_or(error), desc, &answer))
    }

    /// A failing expect's verdict: its `on-error` text, else `desc`, with
    /// its comment.
    fn failure(
        &self,
        e: &HttpExpect,
        status: CheckStatus,
        desc: Option<String>,
        answer: &Answer,
    ) -> Verdict {
        let mut info = match &e.on_error {
            Some(f) => Some(self.with_samples(Some(answer), |h| f.render(h))),
            None => desc,
        };
        if let Some(c) = &e.comment {
            let text = info.get_or_insert_with(String::new);
            text.push_str(" comment: ");
            text.push_str(c);
        }
        verdict(status, self.code, info)
    }

    /// A header pattern's text, rendered when it is a format; `None` when
    /// the format gives nothing.
    fn pattern_text(&self, p: &HeaderPattern, answer: &Answer) -> Option<(PatternMethod, String)> {
        let text = match p.text.fixed() {
            Some(t) => t.to_owned(),
            None => {
                let t = self.with_samples(Some(answer), |h| p.text.render(h));
                if t.is_empty() {
                    return None;
                }
                t
            }
        };
        Some((p.method, text))
    }

    /// The verdict once every rule passed.
    fn success(&self) -> Verdict {
        match self.current.map(|i| &self.probe.rules[i]) {
            Some(HttpCheckRule::Expect(e)) => {
                let status = e.ok_status.as_deref().and_then(status_named);
                let answer = self.parse().ok().flatten();
                let info = e
                    .on_success
                    .as_ref()
                    .map(|f| self.with_samples(answer.as_ref(), |h| f.render(h)));
                verdict(status.unwrap_or(CheckStatus::L7Ok), self.code, info)
            }
            _ => verdict(CheckStatus::L4Ok, None, None),
        }
    }
}

impl Steps for HttpRun {
    fn received(&mut self, bytes: &[u8]) {
        self.read.received(bytes);
    }

    fn closed(&mut self) {
        self.read.closed();
    }

    fn step(&mut self) -> Next {
        while let Some(rule) = self.probe.rules.get(self.at).cloned() {
            match &rule {
                HttpCheckRule::Connect { .. } => {
                    self.current = Some(self.at);
                    self.read.restart(true);
                    if self.at > 0 {
                        let target = self.probe.target_at(self.at);
                        self.at += 1;
                        return Next::Connect(target);
                    }
                }
                HttpCheckRule::Send(send) => {
                    self.current = Some(self.at);
                    let bytes = self.request(send);
                    self.read.restart(false);
                    self.at += 1;
                    return Next::Send(bytes);
                }
                HttpCheckRule::Expect(e) => {
                    self.current = Some(self.at);
                    if self.read.awaits_read() {
                        return Next::Read;
                    }
                    match self.evaluate(e) {
                        Eval::Pass => {}
                        Eval::Wait if self.read.closed => {
                            return Next::Finish(verdict(CheckStatus::L7Rsp, self.code, None))
                        }
                        Eval::Wait => return Next::Read,
                        Eval::Fail(v) => return Next::Finish(v),
                    }
                }
                HttpCheckRule::SetVar(name, expr) => {
                    let answer = self.parse().ok().flatten();
                    let value = self
                        .with_samples(answer.as_ref(), |h| expr.eval(h).map(|v| v.into_owned()));
                    if let Some(v) = value {
                        self.vars.set(name, v);
                    }
                }
                HttpCheckRule::UnsetVar(name) => self.vars.unset(name),
            }
            self.at += 1;
        }
        Next::Finish(self.success())
    }

    fn whereabouts(&self) -> Option<String> {
        // haproxy names the step of tcp-check rulesets only.
        None
    }

    fn connect_failed(&self, error: &str) -> Verdict {
        verdict(CheckStatus::L4Con, None, Some(error.to_owned()))
    }
}

/// True when some header matches `name` and, given one, `value` (each
/// comma-separated value unless `full`).
fn header_matches(
    headers: &[(String, String)],
    full: bool,
    name: &(PatternMethod, String),
    value: Option<&(PatternMethod, String)>,
) -> bool {
    headers
        .iter()
        .filter(|(n, _)| text_matches(name.0, true, &name.1, n))
        .any(|(_, v)| match value {
            None => true,
            Some((method, pattern)) if full => text_matches(*method, false, pattern, v.trim()),
            Some((method, pattern)) => v
                .split(',')
                .any(|part| text_matches(*method, false, pattern, part.trim())),
        })
}

/// `text` matches `pattern` by `method` (`icase`: ignoring case).
fn text_matches(method: PatternMethod, icase: bool, pattern: &str, text: &str) -> bool {
    let (p, t) = if icase {
        (pattern.to_ascii_lowercase(), text.to_ascii_lowercase())
    } else {
        (pattern.to_owned(), text.to_owned())
    };
    match method {
        PatternMethod::Str => t == p,
        PatternMethod::Beg => t.starts_with(&p),
        PatternMethod::End => t.ends_with(&p),
        PatternMethod::Sub => t.contains(&p),
        PatternMethod::Reg => regex_matches(pattern, icase, text),
    }
}

/// A regex the parser has checked; one that no longer compiles matches
/// nothing.
fn regex_matches(pattern: &str, icase: bool, text: &str) -> bool {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(icase)
        .build()
        .is_ok_and(|re| re.is_match(text))
}

fn empty_format() -> Verdict {
    let info = "log-format string evaluated to an empty string";
    verdict(CheckStatus::L7Rsp, None, Some(info.into()))
}

fn verdict(status: CheckStatus, code: Option<u16>, info: Option<String>) -> Verdict {
    Verdict { status, code, info }
}

/// The `X-Haproxy-Server-State` value haproxy sends with
/// `http-check send-state`: `health; address=A; port=P; name=B/S;
/// node=N; weight=W/T; scur=C/B; qcur=Q`.
pub fn format_state(
    health: &str,
    at: std::net::SocketAddr,
    names: (&str, &str),
    node: &str,
    load: ServerLoad,
) -> String {
    format!(
        "{health}; address={}; port={}; name={}/{}; node={node}; weight={}/{}; scur={}/{}; qcur={}",
        at.ip(),
        at.port(),
        names.0,
        names.1,
        load.weight,
        load.total_weight,
        load.sessions,
        load.backend_sessions,
        load.queued
    )
}

/// What `http-check send-state` tells of a server's load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerLoad {
    /// Its current weight.
    pub weight: u32,
    /// The backend's total weight.
    pub total_weight: u32,
    /// Its current sessions.
    pub sessions: u32,
    /// The backend's current sessions, less its queue.
    pub backend_sessions: u32,
    /// Requests queued for it.
    pub queued: u32,
}

#[cfg(test)]
mod tests;
