//! `option httpchk` and the `http-check` rules: the ruleset of a backend's
//! HTTP health check, built as haproxy 2.6 builds it. Each section has its
//! own ruleset: the first rule a section writes replaces what it took
//! from `defaults`, and the request `option httpchk` describes merges
//! with the first `http-check send`. [`crate::health::http_script`] turns
//! the ruleset into the steps a probe runs.

use super::lexer::Word;
use super::parser::Parser;
use crate::config::Form;
use crate::sample::{Expr, Format, VarName};
use serde::Serialize;
use std::net::IpAddr;

/// The HTTP health check of a backend: its rules in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpCheck {
    /// The rules, with the request of `option httpchk` among them.
    pub rules: Vec<HttpCheckRule>,
}

impl HttpCheck {
    /// The first request the check sends.
    pub fn first_send(&self) -> Option<&HttpSend> {
        self.rules.iter().find_map(|r| match r {
            HttpCheckRule::Send(s) => Some(s),
            _ => None,
        })
    }
}

/// One `http-check` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HttpCheckRule {
    /// `http-check connect [addr A] [port P]`: a new connection.
    Connect {
        /// The address to connect to instead of the server's.
        addr: Option<IpAddr>,
        /// The port to connect to instead of the server's.
        port: Option<u16>,
        /// `linger`: it closes gracefully, not with haproxy's reset.
        linger: bool,
    },
    /// `http-check send ...`, or the request of `option httpchk`.
    Send(HttpSend),
    /// `http-check expect ...`.
    Expect(HttpExpect),
    /// `http-check set-var(check.name) <expr>`.
    SetVar(VarName, Expr),
    /// `http-check unset-var(check.name)`.
    UnsetVar(VarName),
}

/// The request an HTTP check sends; what is not given takes haproxy's
/// default when sent (`OPTIONS / HTTP/1.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpSend {
    /// `meth`.
    pub method: Option<String>,
    /// `uri` (a format of plain text) or `uri-lf`.
    pub uri: Option<Format>,
    /// `ver`.
    pub version: Option<String>,
    /// `hdr <name> <log-format value>`, in order.
    pub headers: Vec<(String, Format)>,
    /// `body` (a format of plain text) or `body-lf`.
    pub body: Option<Format>,
    /// Written by `option httpchk`, not by `http-check send`.
    pub from_option: bool,
}

impl HttpExpect {
    /// Looking for `matcher`, every option at haproxy's default.
    pub fn new(matcher: HttpMatch) -> Self {
        Self {
            negate: false,
            matcher,
            ok_status: None,
            error_status: None,
            on_success: None,
            on_error: None,
            comment: None,
        }
    }
}

impl HttpSend {
    /// The method sent.
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("OPTIONS")
    }

    /// The URI sent when it is fixed text.
    pub fn fixed_uri(&self) -> Option<&str> {
        self.uri.as_ref().map_or(Some("/"), Format::fixed)
    }

    /// The version sent.
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or("HTTP/1.0")
    }

    /// The version is HTTP/1.1 or later, as haproxy reads it (`HTTP/2`,
    /// or `HTTP/x.y` from 1.1 up): a connection persists unless told.
    pub fn persists_by_default(&self) -> bool {
        match self.version().as_bytes() {
            [b'H', b'T', b'T', b'P', b'/', major] => *major == b'2',
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] => {
                *major > b'1' || (*major == b'1' && *minor >= b'1')
            }
            _ => false,
        }
    }

    /// Takes what `newer` says, keeping the rest (haproxy's merge of an
    /// `option httpchk` request with an `http-check send`).
    fn overwrite_with(&mut self, newer: Self) {
        self.method = newer.method.or(self.method.take());
        self.uri = newer.uri.or(self.uri.take());
        self.version = newer.version.or(self.version.take());
        if !newer.headers.is_empty() {
            self.headers = newer.headers;
        }
        self.body = newer.body.or(self.body.take());
    }
}

/// `http-check expect [!] <match> <pattern> [options]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpExpect {
    /// `!`: the check fails when the match holds.
    pub negate: bool,
    /// What is matched.
    pub matcher: HttpMatch,
    /// `ok-status`: haproxy's status name when the check passes here.
    pub ok_status: Option<String>,
    /// `error-status`: the status name when it fails here.
    pub error_status: Option<String>,
    /// `on-success <fmt>`: the info of the log line when it passes.
    pub on_success: Option<Format>,
    /// `on-error <fmt>`: the info of the log line when it fails.
    pub on_error: Option<Format>,
    /// `comment <text>`, added to the info of a failure.
    pub comment: Option<String>,
}

/// What an `http-check expect` looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpMatch {
    /// `status 200,300-310`: inclusive ranges.
    Status(Vec<(u16, u16)>),
    /// `rstatus <regex>`.
    Rstatus(String),
    /// `string <text>`: the body contains it.
    String(String),
    /// `rstring <regex>`: over the body.
    Rstring(String),
    /// `string-lf <fmt>`: the body contains what the format gives.
    StringLf(Format),
    /// `hdr` / `fhdr name ... [value ...]`.
    Header {
        /// `fhdr`: values are whole, not split at commas.
        full: bool,
        /// How the name is matched (case-insensitively).
        name: HeaderPattern,
        /// How a value is matched; without one, the name is enough.
        value: Option<HeaderPattern>,
    },
}

/// A header name or value pattern of `http-check expect hdr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderPattern {
    /// `-m str|beg|end|sub|reg`.
    pub method: PatternMethod,
    /// The text (a format for `name-lf`/`value-lf`, else fixed text).
    pub text: Format,
}

/// The `-m` of a header pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternMethod {
    /// Equal.
    Str,
    /// Begins with.
    Beg,
    /// Ends with.
    End,
    /// Contains.
    Sub,
    /// A regex that matches somewhere.
    Reg,
}

/// Status names an `http-check expect` may set.
const STATUSES: [&str; 9] = [
    "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7OK", "L7RSP", "L7STS",
];

impl Parser<'_> {
    /// `option httpchk [[<method>] <uri> [<version>]]`: the check becomes
    /// an HTTP check; its request joins the section's ruleset.
    pub(crate) fn httpchk_option(&mut self, words: &[Word], col: u32) {
        let arg = |i: usize| words.get(i).map(|w| w.text.clone());
        let (method, uri, version) = match (arg(2), arg(3), arg(4)) {
            (Some(uri), None, None) => (None, Some(uri), None),
            (m, u, v) => (m, u, v),
        };
        // Headers and a body hidden after the version, as haproxy still
        // reads them (and warns).
        let mut send = HttpSend {
            method,
            uri: uri.map(|u| Format::text(&u)),
            version: None,
            headers: Vec::new(),
            body: None,
            from_option: true,
        };
        if let Some(v) = version {
            let (line, rest) = v.split_once("\r\n").unwrap_or((&v, ""));
            send.version = Some(line.to_owned());
            if v.contains("\r\n") {
                self.warn(Form::ParsingTight, col, "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.".into());
            }
            let (head, body) = match rest.split_once("\r\n\r\n") {
                Some((h, b)) => (h, Some(b)),
                None if rest.starts_with("\r\n") => ("", Some(&rest[2..])),
                None => (rest, None),
            };
            for field in head.split("\r\n").filter(|f| !f.is_empty()) {
                let (name, value) = field.split_once(':').unwrap_or((field, ""));
                match self.check_lf(value.trim(), col) {
                    Some(f) => send.headers.push((name.trim().to_owned(), f)),
                    None => return,
                }
            }
            send.body = body.map(Format::text);
        }
        let d = self.draft();
        if !d.own_http_check_rules {
            d.own_http_check_rules = true;
            d.proxy.http_check = Some(HttpCheck {
                rules: vec![HttpCheckRule::Send(send)],
            });
            return;
        }
        let rules = &mut d.proxy.http_check.get_or_insert_with(empty).rules;
        let first = usize::from(matches!(rules.first(), Some(HttpCheckRule::Connect { .. })));
        match rules.get_mut(first) {
            Some(HttpCheckRule::Send(s)) if s.from_option => {
                rules.remove(first);
                rules.insert(0, HttpCheckRule::Send(send));
            }
            Some(HttpCheckRule::Send(s)) => s.overwrite_with(send),
            _ => rules.insert(0, HttpCheckRule::Send(send)),
        }
    }

    /// One `http-check` line.
    pub(crate) fn http_check(&mut self, words: &[Word]) {
        let Some(sub) = words.get(1) else {
            return self.error(Form::Parsing, words[0].col, "'http-check' expects 'comment', 'connect', 'disable-on-404', 'expect', 'send', 'send-state' or 'set-var'.".into());
        };
        let line = self.line;
        self.draft().http_check_line.get_or_insert(line);
        let args = &words[2..];
        let verb = sub.text.as_str();
        let rule = match verb {
            "send-state" => {
                self.draft().proxy.options.http_check_send_state = true;
                return;
            }
            "disable-on-404" => return self.not_supported(sub.col, "http-check disable-on-404"),
            "comment" => return self.not_supported(sub.col, "http-check comment"),
            "connect" => self.http_check_connect(args),
            "send" => self
                .http_check_send(args)
                .map(|s| s.map(HttpCheckRule::Send)),
            "expect" => self
                .http_check_expect(args)
                .map(|e| e.map(HttpCheckRule::Expect)),
            _ if verb.starts_with("set-var(") || verb.starts_with("unset-var(") => {
                self.http_check_var(verb, args)
            }
            other => {
                let msg = format!("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{other}'");
                return self.error(Form::Parsing, sub.col, msg);
            }
        };
        let rule = match rule {
            Ok(Some(rule)) => rule,
            Ok(None) => return,
            Err(msg) => {
                let msg = format!("'http-check {verb}' : {msg}.");
                return self.error(Form::Parsing, sub.col, msg);
            }
        };
        if let Err(msg) = self.add_http_check_rule(rule) {
            self.error(
                Form::Parsing,
                sub.col,
                format!("'http-check {verb}' : {msg}."),
            );
        }
    }

    /// Appends `rule` to the section's own ruleset (started afresh by the
    /// section's first rule), in the order haproxy accepts.
    fn add_http_check_rule(&mut self, rule: HttpCheckRule) -> Result<(), String> {
        let d = self.draft();
        if !d.own_http_check_rules {
            d.own_http_check_rules = true;
            d.proxy.http_check = Some(empty());
        }
        let rules = &mut d.proxy.http_check.get_or_insert_with(empty).rules;
        let step = rules.len() + 1;
        let last = rules.iter().rev().find(|r| !is_action(r));
        let implicit_send = matches!(last, Some(HttpCheckRule::Send(s)) if s.from_option);
        if !implicit_send {
            match (last, &rule) {
                (Some(l), HttpCheckRule::Send(_))
                    if !matches!(l, HttpCheckRule::Connect { .. }) =>
                {
                    return Err(format!(
                        "unable to add http-check send rule at step {step} (missing connect rule)"
                    ))
                }
                (Some(l), HttpCheckRule::Expect(_))
                    if !matches!(l, HttpCheckRule::Send(_) | HttpCheckRule::Expect(_)) =>
                {
                    return Err(format!(
                        "unable to add http-check expect rule at step {step} (missing send rule)"
                    ))
                }
                (Some(l), HttpCheckRule::Connect { .. })
                    if !matches!(l, HttpCheckRule::Expect(_)) =>
                {
                    return Err(format!(
                        "unable to add http-check connect rule at step {step} (missing expect rule)"
                    ))
                }
                _ => {}
            }
        }
        // A send takes over the request of `option httpchk` (and moves
        // to the end).
        let mut rule = rule;
        if let HttpCheckRule::Send(newer) = &mut rule {
            let first_from_option =
                matches!(rules.first(), Some(HttpCheckRule::Send(s)) if s.from_option);
            if first_from_option {
                if let HttpCheckRule::Send(mut merged) = rules.remove(0) {
                    merged.overwrite_with(newer.clone());
                    merged.from_option = false;
                    *newer = merged;
                }
            }
        }
        rules.push(rule);
        Ok(())
    }

    fn http_check_connect(&mut self, args: &[Word]) -> Result<Option<HttpCheckRule>, String> {
        let (mut addr, mut port, mut linger) = (None, None, false);
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let value = args.get(i + 1).map(|v| v.text.as_str());
            match w.text.as_str() {
                "default" => {}
                "linger" => linger = true,
                "comment" => i += 1,
                "port" => {
                    port = match value.and_then(|v| v.parse::<u16>().ok()) {
                        Some(p) if p > 0 => Some(p),
                        _ => return Err(format!("expects a valid TCP port (from range 1 to 65535) or a sample expression, got {}.", value.unwrap_or(""))),
                    };
                    i += 1;
                }
                "addr" => {
                    let text = value.unwrap_or("");
                    // `addr IP:PORT` gives both.
                    let parsed = text
                        .parse::<std::net::SocketAddr>()
                        .map(|s| (s.ip(), Some(s.port())))
                        .or_else(|_| text.parse::<IpAddr>().map(|ip| (ip, None)));
                    match parsed {
                        Ok((ip, p)) => {
                            addr = Some(ip);
                            port = p.filter(|p| *p > 0).or(port);
                        }
                        Err(_) => return Err(format!("'addr' : unknown host in '{text}'")),
                    }
                    i += 1;
                }
                "proto" | "sni" | "alpn" | "ssl" | "send-proxy" | "via-socks4" => {
                    self.not_supported(w.col, &format!("http-check connect {}", w.text));
                    return Ok(None);
                }
                other => return Err(format!("expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '{other}' as argument")),
            }
            i += 1;
        }
        Ok(Some(HttpCheckRule::Connect { addr, port, linger }))
    }

    fn http_check_send(&mut self, args: &[Word]) -> Result<Option<HttpSend>, String> {
        let mut send = HttpSend {
            method: None,
            uri: None,
            version: None,
            headers: Vec::new(),
            body: None,
            from_option: false,
        };
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let key = w.text.as_str();
            let Some(v) = args.get(i + 1).map(|v| v.text.as_str()) else {
                return Err(format!("'{key}' expects a string as argument"));
            };
            let lf = |p: &mut Self, text: &str| p.check_lf(text, w.col).ok_or_else(String::new);
            match key {
                "meth" => send.method = Some(v.to_owned()),
                "uri" => send.uri = Some(Format::text(v)),
                "uri-lf" => send.uri = Some(lf(self, v)?),
                "ver" => send.version = Some(v.to_owned()),
                "body" => send.body = Some(Format::text(v)),
                "body-lf" => send.body = Some(lf(self, v)?),
                "comment" => {}
                "hdr" => {
                    let Some(value) = args.get(i + 2) else {
                        return Err("'hdr' expects <name> and <value> as arguments".into());
                    };
                    send.headers.push((v.to_owned(), lf(self, &value.text)?));
                    i += 1;
                }
                other => return Err(format!("expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '{other}' as argument")),
            }
            i += 2;
        }
        Ok(Some(send))
    }

    fn http_check_expect(&mut self, args: &[Word]) -> Result<Option<HttpExpect>, String> {
        let mut expect = HttpExpect::new(HttpMatch::Status(Vec::new()));
        let mut matcher = None;
        let mut i = 0;
        let text = |i: usize| args.get(i).map(|w| w.text.as_str());
        while let Some(word) = text(i) {
            let col = args[i].col;
            let (negate, kw) = match word.strip_prefix('!') {
                Some("") => {
                    expect.negate = true;
                    i += 1;
                    continue;
                }
                Some(k) => (true, k),
                None => (expect.negate, word),
            };
            let value = text(i + 1);
            let need = || value.ok_or_else(|| format!("'{kw}' expects a <pattern> as argument"));
            match kw {
                "min-recv" => {
                    self.not_supported(col, "http-check expect min-recv");
                    i += 1;
                }
                "comment" => {
                    expect.comment = Some(need()?.to_owned());
                    i += 1;
                }
                "ok-status" | "error-status" | "tout-status" => {
                    let v = need()?;
                    if !STATUSES.contains(&v) {
                        return Err(format!("'{kw}' only supports 'L4OK', 'L6OK', 'L7OK', 'L7OKC', 'L4TOUT', 'L6TOUT', 'L7TOUT', 'L4CON', 'L6RSP', 'L7RSP' or 'L7STS' status (got '{v}')"));
                    }
                    match kw {
                        "ok-status" => expect.ok_status = Some(v.to_owned()),
                        "error-status" => expect.error_status = Some(v.to_owned()),
                        _ => self.not_supported(col, "http-check expect tout-status"),
                    }
                    i += 1;
                }
                "on-success" | "on-error" => {
                    let f = self.check_lf(need()?, col).ok_or_else(String::new)?;
                    if kw == "on-success" {
                        expect.on_success = Some(f);
                    } else {
                        expect.on_error = Some(f);
                    }
                    i += 1;
                }
                "status-code" => {
                    self.not_supported(col, "http-check expect status-code");
                    return Ok(None);
                }
                "status" | "rstatus" | "string" | "rstring" | "string-lf" => {
                    if matcher.is_some() {
                        return Err("only on pattern expected".into());
                    }
                    let v = need()?;
                    expect.negate = negate;
                    matcher = Some(match kw {
                        "status" => HttpMatch::Status(status_ranges(v)?),
                        "rstatus" => HttpMatch::Rstatus(regex(v)?),
                        "string" => HttpMatch::String(v.to_owned()),
                        "rstring" => HttpMatch::Rstring(regex(v)?),
                        _ => HttpMatch::StringLf(self.check_lf(v, col).ok_or_else(String::new)?),
                    });
                    i += 1;
                }
                "hdr" | "fhdr" => {
                    if matcher.is_some() {
                        return Err("only on pattern expected".into());
                    }
                    expect.negate = negate;
                    let (m, used) = self.header_match(kw, &args[i + 1..], col)?;
                    matcher = Some(m);
                    i += used;
                }
                "binary" | "rbinary" | "binary-lf" | "custom" => {
                    return Err(format!("'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got '{kw}' as argument."))
                }
                other => return Err(format!("'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got '{other}' as argument.")),
            }
            i += 1;
        }
        expect.matcher =
            matcher.ok_or_else(|| "expects at least a matching pattern as arguments".to_owned())?;
        Ok(Some(expect))
    }

    /// `name[-lf] [-m M] P [value[-lf] [-m M] P]` after `hdr`/`fhdr`; the
    /// match and how many words it took.
    fn header_match(
        &mut self,
        kw: &str,
        args: &[Word],
        col: u32,
    ) -> Result<(HttpMatch, usize), String> {
        let text = |i: usize| args.get(i).map(|w| w.text.as_str());
        let (name, mut used) = match text(0) {
            Some(k @ ("name" | "name-lf")) if text(1).is_some() => {
                self.header_pattern(kw, k == "name-lf", &args[1..], col)?
            }
            _ => {
                return Err(format!(
                    "'{kw}' expects at the name keyword as first argument followed by a pattern"
                ))
            }
        };
        used += 1;
        let value = match text(used) {
            Some(k @ ("value" | "value-lf")) => {
                let (p, n) = self.header_pattern(kw, k == "value-lf", &args[used + 1..], col)?;
                used += n + 1;
                Some(p)
            }
            _ => None,
        };
        let full = kw == "fhdr";
        Ok((HttpMatch::Header { full, name, value }, used))
    }

    /// `[-m M] P`: a pattern and how many words it took.
    fn header_pattern(
        &mut self,
        kw: &str,
        lf: bool,
        args: &[Word],
        col: u32,
    ) -> Result<(HeaderPattern, usize), String> {
        let text = |i: usize| args.get(i).map(|w| w.text.as_str());
        let (method, at) = match text(0) {
            Some("-m") => {
                let m = match text(1) {
                    Some("str") => PatternMethod::Str,
                    Some("beg") => PatternMethod::Beg,
                    Some("end") => PatternMethod::End,
                    Some("sub") => PatternMethod::Sub,
                    Some("reg") if lf => return Err(format!("'{kw}': log-format string is not supported with a regex matching method")),
                    Some("reg") => PatternMethod::Reg,
                    Some(other) => return Err(format!("'{kw}' : '-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '{other}')")),
                    None => return Err(format!("'{kw}' : '-m' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')")),
                };
                (m, 2)
            }
            _ => (PatternMethod::Str, 0),
        };
        let Some(pattern) = text(at) else {
            return Err(format!("'{kw}' expect a pattern with the value keyword"));
        };
        if method == PatternMethod::Reg {
            regex(pattern)?;
        }
        let text = if lf {
            self.check_lf(pattern, col).ok_or_else(String::new)?
        } else {
            Format::text(pattern)
        };
        Ok((HeaderPattern { method, text }, at + 1))
    }

    /// `set-var(check.name) <expr>` or `unset-var(check.name)`.
    fn http_check_var(
        &mut self,
        verb: &str,
        args: &[Word],
    ) -> Result<Option<HttpCheckRule>, String> {
        let (action, rest) = verb.split_once('(').unwrap_or((verb, ""));
        let name = VarName::parse(rest.trim_end_matches(')'))?;
        if action == "unset-var" {
            return Ok(Some(HttpCheckRule::UnsetVar(name)));
        }
        let Some(e) = args.first() else {
            return Err("expects a sample expression".into());
        };
        match Expr::parse_with(&e.text, self.files()) {
            Ok(expr) => Ok(Some(HttpCheckRule::SetVar(name, expr))),
            Err(err) => Err(format!(
                "failed to parse sample expression <{}> : {err}",
                e.text
            )),
        }
    }

    /// A log-format string of a check; `None` once the error is reported.
    fn check_lf(&mut self, text: &str, col: u32) -> Option<Format> {
        match Format::parse_with(text, self.files()) {
            Ok(f) => Some(f),
            Err(e) => {
                let msg = format!("'http-check' : invalid log-format string '{text}' ({e}).");
                self.error(Form::Parsing, col, msg);
                None
            }
        }
    }
}

/// Ends a backend's ruleset as haproxy does once the section is read: the
/// request of `option httpchk` moves past a first `connect`, and a last
/// `send` gets the implicit `expect status 200-399`.
pub(crate) fn finish(check: &mut HttpCheck) {
    let rules = &mut check.rules;
    if let (Some(HttpCheckRule::Send(s)), Some(HttpCheckRule::Connect { .. })) =
        (rules.first(), rules.get(1))
    {
        if s.from_option {
            rules.swap(0, 1);
        }
    }
    if let Some(HttpCheckRule::Send(_)) = rules.iter().rev().find(|r| !is_action(r)) {
        let implicit = HttpExpect::new(HttpMatch::Status(vec![(200, 399)]));
        rules.push(HttpCheckRule::Expect(implicit));
    }
}

fn empty() -> HttpCheck {
    HttpCheck { rules: Vec::new() }
}

/// Variable rules do not count when checking the order of the others.
fn is_action(rule: &HttpCheckRule) -> bool {
    matches!(rule, HttpCheckRule::SetVar(..) | HttpCheckRule::UnsetVar(_))
}

/// `200,300-310` as inclusive ranges.
fn status_ranges(text: &str) -> Result<Vec<(u16, u16)>, String> {
    text.split(',')
        .map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) => Ok((a, b)),
                _ => Err(format!("invalid range of status codes '{part}'")),
            }
        })
        .collect()
}

/// A regex checked now, so that a bad one is a config error.
fn regex(text: &str) -> Result<String, String> {
    regex::Regex::new(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("regex '{text}' is invalid ({e})"))
}
