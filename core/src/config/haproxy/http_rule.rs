//! `http-request`, `http-response` and `http-after-response` rules: each
//! an action, its arguments and an optional `if` / `unless` condition.

use super::capture::CaptureSlot;
use super::counter_action::{self, CounterAction};
use super::lexer::Word;
use super::model::Condition;
use super::parser::Parser;
use super::values::{parse_size, parse_time};
use crate::config::Form;
use crate::sample::{Expr, Format, ParseError, Pattern, PatternEdit, PatternFiles, VarName};
use crate::time::Duration;
use serde::Serialize;

/// When a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RulePhase {
    /// `http-request`: on the request head, before a server is chosen.
    Request,
    /// `http-response`: on a server's response head.
    Response,
    /// `http-after-response`: on every response, haproxy's own included.
    AfterResponse,
}

impl RulePhase {
    /// The keyword that declares it.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Request => "http-request",
            Self::Response => "http-response",
            Self::AfterResponse => "http-after-response",
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRule {
    /// What it does.
    pub action: HttpAction,
    /// When it applies; `None` means always.
    pub cond: Option<Condition>,
    /// Line of the rule.
    pub line: u32,
}

/// The part of the request line a `set-*` / `replace-*` action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinePart {
    /// The method.
    Method,
    /// The path (the query stays).
    Path,
    /// Path and query.
    Pathq,
    /// The query, past `?` (`set-query`).
    Query,
    /// The whole target.
    Uri,
}

/// The time `set-timeout` gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutValue {
    /// A fixed time.
    Fixed(Duration),
    /// A sample expression, in milliseconds.
    Expr(Expr),
}

/// A URI normalizer of `normalize-uri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalizer {
    /// `path-merge-slashes`.
    MergeSlashes,
    /// `path-strip-dot`.
    StripDot,
    /// `path-strip-dotdot [full]`.
    StripDotdot {
        /// `..` past the root are dropped too.
        full: bool,
    },
    /// `query-sort-by-name`.
    SortQuery,
    /// `percent-to-uppercase [strict]`.
    PercentUpper {
        /// A broken `%` sequence makes the request invalid.
        strict: bool,
    },
    /// `percent-decode-unreserved [strict]`.
    PercentDecode {
        /// A broken `%` sequence makes the request invalid.
        strict: bool,
    },
    /// `fragment-strip`.
    FragmentStrip,
    /// `fragment-encode`.
    FragmentEncode,
}

/// How `del-header -m` compares header names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// The whole name, any case (the default).
    Str,
    /// A prefix.
    Beg,
    /// A suffix.
    End,
    /// A substring.
    Sub,
    /// A regex.
    Reg(Pattern),
}

/// A rule's action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpAction {
    /// `allow`: stop evaluating this phase's rules.
    Allow,
    /// `deny`: answer `status` (403; 502 for responses) and stop.
    Deny(Reply),
    /// `return`: answer with this reply.
    Return(Reply),
    /// `tarpit`: hold the request for `timeout tarpit`, then answer as
    /// `deny` would (500 by default).
    Tarpit(Reply),
    /// `redirect`.
    Redirect(Redirect),
    /// `set-header` (`add: false`) or `add-header`.
    SetHeader {
        /// Header name.
        name: String,
        /// Its value.
        value: Format,
        /// Add beside existing values rather than replace them.
        add: bool,
    },
    /// `del-header <name> [-m <method>]`.
    DelHeader {
        /// Name or pattern.
        name: String,
        /// How names are compared.
        how: NameMatch,
    },
    /// `replace-header` (whole values) or `replace-value` (each
    /// comma-separated value).
    ReplaceHeader {
        /// Header name.
        name: String,
        /// What to match.
        pattern: Pattern,
        /// The replacement, with `\N` back-references.
        with: Format,
        /// `replace-value`.
        each_value: bool,
    },
    /// `set-method`, `set-path`, `set-pathq`, `set-query`, `set-uri`.
    SetLine(LinePart, Format),
    /// `replace-path`, `replace-pathq`, `replace-uri`.
    ReplaceLine(LinePart, Pattern, Format),
    /// `set-status <code> [reason <text>]`.
    SetStatus {
        /// The status.
        status: u16,
        /// The reason phrase; the standard one when `None`.
        reason: Option<String>,
    },
    /// `set-var(name) <expr>`.
    SetVar(VarName, Expr),
    /// `set-var-fmt(name) <fmt>`.
    SetVarFmt(VarName, Format),
    /// `unset-var(name)`.
    UnsetVar(VarName),
    /// `add-acl(<file>) <fmt>`, `del-acl(<file>) <fmt>`, `set-map(<file>)
    /// <fmt> <fmt>`, `del-map(<file>) <fmt>`: the file's entries change
    /// for every converter and ACL reading it.
    EditPatterns {
        /// Which edit.
        edit: PatternEdit,
        /// The file as named.
        file: String,
        /// The key.
        key: Format,
        /// The value (`set-map`).
        value: Option<Format>,
        /// The readings of the file, linked once the configuration is
        /// read.
        #[serde(skip)]
        files: PatternFiles,
    },
    /// `set-src <expr>`.
    SetSrc(Expr),
    /// `set-dst <expr>`.
    SetDst(Expr),
    /// `set-src-port <expr>`.
    SetSrcPort(Expr),
    /// `set-dst-port <expr>`.
    SetDstPort(Expr),
    /// `track-sc<N> <key> [table <t>]`: the request is counted for `key`
    /// in the table (its own proxy's by default), tracked in slot N.
    Track {
        /// The slot, 0 to 2.
        slot: usize,
        /// The key.
        key: Expr,
        /// The table's proxy, when not the rule's own.
        table: Option<String>,
    },
    /// `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N)`: a change to
    /// the entry slot N tracks.
    Counter(CounterAction),
    /// `reject`: the connection closes with no answer.
    Reject,
    /// `silent-drop`: the connection closes without a word to the client:
    /// no answer, no FIN, no reset reaches it.
    SilentDrop,
    /// `auth [realm <realm>]`: haproxy's 401 asking for credentials.
    Auth {
        /// The realm; the rule's proxy's name when `None`.
        realm: Option<String>,
    },
    /// `strict-mode on|off`: whether a rewrite that does not fit fails
    /// the message (on, haproxy's default) or is skipped.
    StrictMode(bool),
    /// `wait-for-body time <time> [at-least <bytes>]`: the rules wait for
    /// the message's body (the runtime reads it before they run).
    WaitForBody(BodyWait),
    /// `set-timeout server|tunnel <time>|<expr>`: this stream's `timeout
    /// server` or `timeout tunnel`.
    SetTimeout {
        /// `tunnel` (else `server`).
        tunnel: bool,
        /// The time.
        value: TimeoutValue,
    },
    /// `early-hint <name> <fmt>`: a `103 Early Hints` with this header
    /// goes to the client at once.
    EarlyHint {
        /// Header name.
        name: String,
        /// Its value.
        value: Format,
    },
    /// `normalize-uri <normalizer>`: the target, normalized.
    NormalizeUri(Normalizer),
    /// `set-log-level <level>|silent`: the syslog severity of the
    /// stream's log line (`None`: no line).
    SetLogLevel(Option<u8>),
    /// `cache-use <name>`: a fresh copy in the cache answers the request.
    CacheUse(String),
    /// `cache-store <name>`: the response is kept in the cache, with its
    /// headers as rules left them at this point.
    CacheStore(String),
    /// `capture <expr> len <n>|id <n>`: the value goes to a capture slot.
    Capture {
        /// What is captured.
        expr: Expr,
        /// The slot: a request slot in `http-request`, a response slot in
        /// `http-response`.
        slot: usize,
    },
}

/// How long `wait-for-body` waits, and for how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BodyWait {
    /// The longest wait: a request still short of its body then gets a
    /// 408, a response a 504.
    pub time: Duration,
    /// Bytes of body enough to go on (0: the whole body).
    pub at_least: u64,
}

/// The answer of `return` or `deny`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// Its status.
    pub status: u16,
    /// `content-type`.
    pub content_type: Option<String>,
    /// Its body.
    pub body: ReplyBody,
    /// `hdr <name> <fmt>` headers.
    pub headers: Vec<(String, Format)>,
}

/// A reply's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody {
    /// No body given: `deny` sends haproxy's page (or the `errorfile`)
    /// for its status, `return` an empty body.
    Default,
    /// `string` or `file`: fixed bytes.
    Fixed(#[serde(skip)] Vec<u8>),
    /// `lf-string` or `lf-file`: a format.
    Format(Format),
}

/// `redirect location|prefix|scheme <fmt> [code N] [options]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// Which kind.
    pub kind: RedirectKind,
    /// The target.
    pub target: Format,
    /// The status (302 by default).
    pub code: u16,
    /// `drop-query`.
    pub drop_query: bool,
    /// `append-slash`.
    pub append_slash: bool,
    /// `set-cookie NAME[=value]`.
    pub set_cookie: Option<String>,
    /// `clear-cookie NAME`.
    pub clear_cookie: Option<String>,
}

/// What a redirect's target replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    /// `location`: the whole `Location`.
    Location,
    /// `prefix`: put before the request's path.
    Prefix,
    /// `scheme`: the scheme, with the request's host and path.
    Scheme,
}

/// Actions haproxy 2.6 has that haven does not run.
const NOT_RUN: &[&str] = &[
    "disable-l7-retry",
    "do-resolve",
    "lua",
    "sc-inc-gpc",
    "sc-set-gpt",
    "send-spoe-group",
    "set-bandwidth-limit",
    "set-mark",
    "set-nice",
    "set-priority-class",
    "set-priority-offset",
    "set-tos",
    "use-service",
    "wait-for-handshake",
];

/// `<normalizer> [full|strict]`, with haproxy's messages.
fn normalizer(args: &mut Args<'_>) -> Result<Normalizer, Failure> {
    let name = args
        .next()
        .ok_or("missing argument <normalizer>.")?
        .text
        .clone();
    let flag = |args: &mut Args<'_>, word: &str| -> Result<bool, Failure> {
        match args.peek() {
            Some(w) if w == word => {
                args.next();
                Ok(true)
            }
            Some(w) if w != "if" && w != "unless" => {
                Err(format!("unknown argument '{w}' for '{name}' normalizer.").into())
            }
            _ => Ok(false),
        }
    };
    Ok(match name.as_str() {
        "path-merge-slashes" => Normalizer::MergeSlashes,
        "path-strip-dot" => Normalizer::StripDot,
        "path-strip-dotdot" => Normalizer::StripDotdot {
            full: flag(args, "full")?,
        },
        "query-sort-by-name" => Normalizer::SortQuery,
        "percent-to-uppercase" => Normalizer::PercentUpper {
            strict: flag(args, "strict")?,
        },
        "percent-decode-unreserved" => Normalizer::PercentDecode {
            strict: flag(args, "strict")?,
        },
        "fragment-strip" => Normalizer::FragmentStrip,
        "fragment-encode" => Normalizer::FragmentEncode,
        other => return Err(format!("unknown normalizer '{other}'.").into()),
    })
}

/// The cache a `cache-use` or `cache-store` rule names.
fn cache_name(args: &mut Args<'_>) -> Result<String, Failure> {
    match args.peek() {
        Some(name) if name != "if" && name != "unless" => {
            let name = name.to_owned();
            args.next();
            Ok(name)
        }
        _ => Err("expects a cache name".into()),
    }
}

/// `time <time> [at-least <bytes>]`, in either order, with haproxy's
/// messages.
fn wait_for_body(args: &mut Args<'_>) -> Result<BodyWait, Failure> {
    const USAGE: &str = "expects time <time> [ at-least <bytes> ].";
    let (mut time, mut at_least) = (None, 0);
    while let Some(key) = args.peek().filter(|k| matches!(*k, "time" | "at-least")) {
        let key = key.to_owned();
        args.next();
        let value = args
            .next()
            .ok_or_else(|| format!("missing argument for '{key}'."))?;
        let text = value.text.as_str();
        if key == "time" {
            let t = parse_time(text).map_err(|c| match c {
                Some(c) => format!("unexpected character '{c}'."),
                None => "time overflow (maximum value is 2147483647 ms or ~24.8 days).".to_owned(),
            })?;
            time = Some(t);
        } else {
            let bytes = parse_size(text).ok_or_else(|| {
                let bad = text.chars().find(|c| !c.is_ascii_digit()).unwrap_or(' ');
                format!("unexpected character '{bad}'.")
            })?;
            at_least = bytes as u64;
        }
    }
    let time = time.ok_or(USAGE)?;
    Ok(BodyWait { time, at_least })
}

/// A rule's arguments, read from the words after its action.
struct Args<'w> {
    words: &'w [Word],
    at: usize,
}

impl<'w> Args<'w> {
    fn next(&mut self) -> Option<&'w Word> {
        let w = self.words.get(self.at)?;
        self.at += 1;
        Some(w)
    }

    fn peek(&self) -> Option<&'w str> {
        self.words.get(self.at).map(|w| w.text.as_str())
    }
}

impl Parser<'_> {
    /// Where a rule's `if` / `unless` starts (past its first `from`
    /// words) and the condition it reads; `None` after an error
    /// (reported).
    fn rule_condition(
        &mut self,
        words: &[Word],
        from: usize,
        what: &str,
    ) -> Option<(usize, Option<Condition>)> {
        let end = words
            .iter()
            .skip(from)
            .position(|w| w.text == "if" || w.text == "unless")
            .map_or(words.len(), |p| p + from);
        if end == words.len() {
            return Some((end, None));
        }
        Some((end, Some(self.condition(&words[end..], what)?)))
    }

    /// One `http-request`, `http-response` or `http-after-response` line.
    pub(crate) fn http_rule(&mut self, phase: RulePhase, words: &[Word]) {
        let kw = phase.keyword();
        let Some(action) = words.get(1) else {
            let msg = format!("'{kw}' expects an action.");
            return self.error(Form::Parsing, words[0].col, msg);
        };
        let place = self.place();
        let what = format!("'{kw} {}' rule", action.text);
        let Some((end, cond)) = self.rule_condition(words, 2, &what) else {
            return;
        };
        let mut args = Args {
            words: &words[..end],
            at: 2,
        };
        if action.text == "normalize-uri" && !self.global.experimental {
            let msg = "'normalize-uri' action is experimental, must be allowed via a global 'expose-experimental-directives'";
            return self.error(Form::Parsing, action.col, msg.to_owned());
        }
        let parsed = self.http_action(phase, &action.text, &mut args);
        let action = match parsed {
            Ok(a) => a,
            Err(Failure::Unsupported(what)) => return self.not_supported(action.col, &what),
            Err(Failure::Bad(msg)) => {
                let msg = format!(
                    "error detected in {place} while parsing '{kw} {}' rule : {msg}",
                    action.text
                );
                return self.error(Form::Parsing, action.col, msg);
            }
        };
        if let Some(extra) = args.next() {
            let msg = format!("error detected in {place} while parsing '{kw} {}' rule : unexpected argument '{}'.", words[1].text, extra.text);
            return self.error(Form::Parsing, extra.col, msg);
        }
        let line = self.line;
        let rule = HttpRule { action, cond, line };
        let proxy = &mut self.draft().proxy;
        match phase {
            RulePhase::Request => proxy.http_request.push(rule),
            RulePhase::Response => proxy.http_response.push(rule),
            RulePhase::AfterResponse => proxy.http_after_response.push(rule),
        }
    }

    /// The action `name` with its arguments.
    fn http_action(
        &mut self,
        phase: RulePhase,
        name: &str,
        args: &mut Args<'_>,
    ) -> Result<HttpAction, Failure> {
        let kw = phase.keyword();
        let request = phase == RulePhase::Request;
        let (base, var) = match name.split_once('(') {
            Some((b, rest)) => (
                b,
                Some(rest.strip_suffix(')').ok_or("missing closing ')'")?),
            ),
            None => (name, None),
        };
        let action = match (base, var) {
            ("allow", None) => HttpAction::Allow,
            ("deny", None) => {
                HttpAction::Deny(self.reply(args, true, if request { 403 } else { 502 })?)
            }
            ("tarpit", None) if request => HttpAction::Tarpit(self.reply(args, true, 500)?),
            ("return", None) if phase != RulePhase::AfterResponse => {
                HttpAction::Return(self.reply(args, false, 200)?)
            }
            ("redirect", None) if phase != RulePhase::AfterResponse => {
                HttpAction::Redirect(self.redirect(args)?)
            }
            ("set-header" | "add-header", None) => {
                let name = args
                    .next()
                    .ok_or("expects exactly 2 arguments.")?
                    .text
                    .to_ascii_lowercase();
                let value = self.format_arg(args, "exactly 2 arguments")?;
                HttpAction::SetHeader {
                    name,
                    value,
                    add: base == "add-header",
                }
            }
            ("del-header", None) => {
                let name = args
                    .next()
                    .ok_or("expects at least 1 argument.")?
                    .text
                    .clone();
                let how = match args.peek() {
                    Some("-m") => {
                        args.next();
                        let m = args.next().ok_or("-m expects a matching method.")?;
                        match m.text.as_str() {
                            "str" => NameMatch::Str,
                            "beg" => NameMatch::Beg,
                            "end" => NameMatch::End,
                            "sub" => NameMatch::Sub,
                            "reg" => NameMatch::Reg(Pattern::new(&name, true)?),
                            other => {
                                return Err(
                                    format!("-m : unsupported matching method '{other}'.").into()
                                )
                            }
                        }
                    }
                    _ => NameMatch::Str,
                };
                HttpAction::DelHeader {
                    name: name.to_ascii_lowercase(),
                    how,
                }
            }
            ("replace-header" | "replace-value", None) => {
                let (Some(n), Some(re)) = (args.next(), args.next()) else {
                    return Err("expects exactly 3 arguments.".into());
                };
                let pattern = Pattern::new(&re.text, false)?;
                let with = self.format_arg(args, "exactly 3 arguments")?;
                HttpAction::ReplaceHeader {
                    name: n.text.to_ascii_lowercase(),
                    pattern,
                    with,
                    each_value: base == "replace-value",
                }
            }
            ("set-method" | "set-path" | "set-pathq" | "set-query" | "set-uri", None)
                if request =>
            {
                let part = match base {
                    "set-method" => LinePart::Method,
                    "set-path" => LinePart::Path,
                    "set-pathq" => LinePart::Pathq,
                    "set-query" => LinePart::Query,
                    _ => LinePart::Uri,
                };
                HttpAction::SetLine(part, self.format_arg(args, "exactly 1 argument")?)
            }
            ("replace-path" | "replace-pathq" | "replace-uri", None) if request => {
                let part = match base {
                    "replace-path" => LinePart::Path,
                    "replace-pathq" => LinePart::Pathq,
                    _ => LinePart::Uri,
                };
                let re = args.next().ok_or("expects exactly 2 arguments.")?;
                let pattern = Pattern::new(&re.text, false)?;
                HttpAction::ReplaceLine(
                    part,
                    pattern,
                    self.format_arg(args, "exactly 2 arguments")?,
                )
            }
            ("set-status", None) if !request => {
                let code = args.next().ok_or("expects an HTTP status code.")?;
                let status = code
                    .text
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (100..=999).contains(s))
                    .ok_or_else(|| {
                        format!(
                            "expects an HTTP status code between 100 and 999, got '{}'.",
                            code.text
                        )
                    })?;
                let reason = match args.peek() {
                    Some("reason") => {
                        args.next();
                        Some(args.next().ok_or("'reason' expects a text.")?.text.clone())
                    }
                    _ => None,
                };
                HttpAction::SetStatus { status, reason }
            }
            ("set-var", Some(v)) => {
                let name = VarName::parse(v.split(',').next().unwrap_or(v))?;
                let e = args.next().ok_or("expects a sample expression.")?;
                HttpAction::SetVar(name, self.sample(&e.text)?)
            }
            ("set-var-fmt", Some(v)) => {
                let name = VarName::parse(v.split(',').next().unwrap_or(v))?;
                HttpAction::SetVarFmt(name, self.format_arg(args, "a log-format string")?)
            }
            ("unset-var", Some(v)) => HttpAction::UnsetVar(VarName::parse(v)?),
            ("add-acl" | "del-acl" | "set-map" | "del-map", Some(file))
                if phase != RulePhase::AfterResponse =>
            {
                self.edit_patterns(base, file, args)?
            }
            ("set-src" | "set-dst" | "set-src-port" | "set-dst-port", None) if request => {
                let e = args.next().ok_or("expects a sample expression.")?;
                let expr = self.sample(&e.text)?;
                match base {
                    "set-src" => HttpAction::SetSrc(expr),
                    "set-dst" => HttpAction::SetDst(expr),
                    "set-src-port" => HttpAction::SetSrcPort(expr),
                    _ => HttpAction::SetDstPort(expr),
                }
            }
            (track, None) if track.starts_with("track-sc") && phase != RulePhase::AfterResponse => {
                let slot = track["track-sc".len()..]
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n < 3)
                    .ok_or_else(|| format!("unknown action '{track}'."))?;
                let e = args.next().ok_or("expects a key.")?;
                let key = self.sample(&e.text)?;
                let table = match args.peek() {
                    Some("table") => {
                        args.next();
                        Some(
                            args.next()
                                .ok_or("'table' expects a table name.")?
                                .text
                                .clone(),
                        )
                    }
                    _ => None,
                };
                HttpAction::Track { slot, key, table }
            }
            ("sc-inc-gpc0" | "sc-inc-gpc1" | "sc-set-gpt0", _)
                if phase != RulePhase::AfterResponse =>
            {
                let parsed = counter_action::parse(name, args.peek(), |t| self.sample(t));
                let (action, took) = parsed.expect("a counter action name")?;
                if took {
                    args.next();
                }
                HttpAction::Counter(action)
            }
            ("reject", None) if request => HttpAction::Reject,
            ("silent-drop", None) if phase != RulePhase::AfterResponse => HttpAction::SilentDrop,
            ("auth", None) if request => {
                let realm = match args.peek() {
                    Some("realm") => {
                        args.next();
                        Some(args.next().ok_or("missing realm value.\n")?.text.clone())
                    }
                    _ => None,
                };
                HttpAction::Auth { realm }
            }
            ("capture", None) if phase != RulePhase::AfterResponse => {
                const USAGE: &str = "expects <expression> [ 'len' <length> | id <idx> ]";
                let e = args.next().ok_or(USAGE)?;
                let expr = self.sample(&e.text)?;
                let how = args.next().map(|w| w.text.clone());
                let n = args.next().map(|w| w.text.clone()).ok_or(USAGE)?;
                let slot = match how.as_deref() {
                    Some("len") if request => {
                        let len = n
                            .parse::<usize>()
                            .ok()
                            .filter(|l| *l > 0)
                            .ok_or("length must be > 0")?;
                        self.add_capture(true, CaptureSlot { header: None, len })
                    }
                    Some("id") => n
                        .parse::<usize>()
                        .map_err(|_| format!("cannot parse id '{n}'"))?,
                    _ => return Err(USAGE.into()),
                };
                HttpAction::Capture { expr, slot }
            }
            ("strict-mode", None) => {
                let value = args.next().ok_or("expects exactly 1 arguments.")?;
                match value.text.to_ascii_lowercase().as_str() {
                    "on" => HttpAction::StrictMode(true),
                    "off" => HttpAction::StrictMode(false),
                    other => {
                        let msg = format!(
                            "Unexpected value '{other}'. Only 'on' and 'off' are supported."
                        );
                        return Err(msg.into());
                    }
                }
            }
            ("normalize-uri", None) if request => HttpAction::NormalizeUri(normalizer(args)?),
            ("early-hint", None) if request => {
                let name = args
                    .next()
                    .ok_or("expects exactly 2 arguments.")?
                    .text
                    .clone();
                let value = self.format_arg(args, "exactly 2 arguments")?;
                HttpAction::EarlyHint { name, value }
            }
            ("set-timeout", None) if request => self.set_timeout(args)?,
            ("set-log-level", None) if phase != RulePhase::AfterResponse => {
                const LEVELS: [&str; 8] = [
                    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
                ];
                let usage = "expects exactly 1 argument (log level name or 'silent').";
                let level = args.next().ok_or(usage)?.text.as_str();
                match LEVELS.iter().position(|l| *l == level) {
                    Some(severity) => HttpAction::SetLogLevel(Some(severity as u8)),
                    None if level == "silent" => HttpAction::SetLogLevel(None),
                    None => return Err(usage.into()),
                }
            }
            ("cache-use", None) if request => HttpAction::CacheUse(cache_name(args)?),
            ("cache-store", None) if phase == RulePhase::Response => {
                HttpAction::CacheStore(cache_name(args)?)
            }
            ("wait-for-body", None) if phase != RulePhase::AfterResponse => {
                HttpAction::WaitForBody(wait_for_body(args)?)
            }
            _ if NOT_RUN.contains(&base)
                || base.starts_with("track-sc")
                || base.starts_with("sc-") =>
            {
                return Err(Failure::Unsupported(format!("{kw} {base}")));
            }
            _ => return Err(format!("unknown action '{name}'.").into()),
        };
        Ok(action)
    }

    /// `add-acl`, `del-acl`, `set-map` or `del-map` (`base`) of `file`,
    /// with haproxy's messages.
    fn edit_patterns(
        &mut self,
        base: &str,
        file: &str,
        args: &mut Args<'_>,
    ) -> Result<HttpAction, Failure> {
        let edit = match base {
            "add-acl" => PatternEdit::AddAcl,
            "del-acl" => PatternEdit::DelAcl,
            "set-map" => PatternEdit::SetMap,
            _ => PatternEdit::DelMap,
        };
        let key = args.next();
        let value = match edit {
            PatternEdit::SetMap => Some(args.next().ok_or("expects exactly 2 arguments.")?),
            _ => None,
        };
        let key = key.ok_or("expects exactly 1 arguments.")?;
        Ok(HttpAction::EditPatterns {
            edit,
            file: file.to_owned(),
            key: self.lf(&key.text)?,
            value: value.map(|v| self.lf(&v.text)).transpose()?,
            files: PatternFiles::default(),
        })
    }

    /// `set-timeout server|tunnel <time>|<expr>`, with haproxy's checks.
    fn set_timeout(&self, args: &mut Args<'_>) -> Result<HttpAction, Failure> {
        if let Some((kind, name)) = self.current().filter(|(k, _)| !k.is_backend()) {
            let _ = kind;
            return Err(format!("proxy '{name}' has no backend capability.").into());
        }
        let usage = "expects exactly 2 arguments.";
        let which = args.next().ok_or(usage)?.text.clone();
        let value = args.next().ok_or(usage)?.text.clone();
        let tunnel = match which.as_str() {
            "server" => false,
            "tunnel" => true,
            other => {
                return Err(format!(
                    "'set-timeout' rule supports 'server'/'tunnel' (got '{other}')."
                )
                .into())
            }
        };
        let value = match value.starts_with(|c: char| c.is_ascii_digit()) {
            true => TimeoutValue::Fixed(parse_time(&value).map_err(|c| {
                let c = c.unwrap_or(' ');
                format!("unexpected character '{c}' in rule 'set-timeout {which}'.")
            })?),
            false => TimeoutValue::Expr(self.sample(&value)?),
        };
        Ok(HttpAction::SetTimeout { tunnel, value })
    }

    /// A log-format string of a rule.
    pub(crate) fn lf(&self, text: &str) -> Result<Format, Failure> {
        Format::parse_with(text, self.files()).map_err(|e| sample_failure(text, e))
    }

    /// A sample expression of a rule.
    pub(crate) fn sample(&self, text: &str) -> Result<Expr, Failure> {
        Expr::parse_with(text, self.files()).map_err(|e| sample_failure(text, e))
    }

    /// Where a rule is, as haproxy's messages say it.
    pub(super) fn place(&self) -> String {
        match self.current() {
            Some((kind, name)) => format!("{} '{name}'", kind.type_str()),
            None => "defaults section".to_owned(),
        }
    }

    /// The next argument, a log-format string.
    fn format_arg(&mut self, args: &mut Args<'_>, what: &str) -> Result<Format, Failure> {
        let w = args.next().ok_or_else(|| format!("expects {what}."))?;
        self.lf(&w.text)
    }

    /// `deny` / `return` arguments; `deny` also takes `deny_status`.
    fn reply(&mut self, args: &mut Args<'_>, deny: bool, status: u16) -> Result<Reply, Failure> {
        let mut reply = Reply {
            status,
            content_type: None,
            body: ReplyBody::Default,
            headers: Vec::new(),
        };
        while let Some(key) = args.peek() {
            args.next();
            let mut value = || {
                args.next()
                    .map(|w| w.text.clone())
                    .ok_or_else(|| format!("'{key}' expects an argument."))
            };
            match key {
                "status" | "deny_status" if key == "status" || deny => {
                    let v = value()?;
                    reply.status = v
                        .parse::<u16>()
                        .ok()
                        .filter(|s| (200..=599).contains(s))
                        .ok_or_else(|| {
                            format!("'{key}' expects a status code between 200 and 599, got '{v}'.")
                        })?;
                }
                "content-type" => reply.content_type = Some(value()?),
                "string" => reply.body = ReplyBody::Fixed(value()?.into_bytes()),
                "lf-string" => {
                    let v = value()?;
                    reply.body = ReplyBody::Format(self.lf(&v)?);
                }
                "file" | "lf-file" => {
                    let path = value()?;
                    let Some(read) = self.files() else {
                        continue;
                    };
                    let bytes =
                        read(&path).map_err(|e| format!("failed to open file '{path}' : {e}."))?;
                    reply.body = if key == "file" {
                        ReplyBody::Fixed(bytes)
                    } else {
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        ReplyBody::Format(self.lf(&text)?)
                    };
                }
                "hdr" => {
                    let name = value()?.to_ascii_lowercase();
                    let v = value()?;
                    let fmt = self.lf(&v)?;
                    reply.headers.push((name, fmt));
                }
                "default-errorfiles" => {}
                "errorfile" | "errorfiles" => {
                    return Err(Failure::Unsupported(format!("http-request {key}")));
                }
                other => return Err(format!("unexpected argument '{other}'.").into()),
            }
        }
        // As haproxy: a content type without a body (or with an empty
        // one) is dropped, and so is an empty body.
        if matches!(&reply.body, ReplyBody::Fixed(b) if b.is_empty()) {
            reply.body = ReplyBody::Default;
        }
        if reply.body == ReplyBody::Default {
            reply.content_type = None;
        }
        Ok(reply)
    }

    /// The `redirect` keyword: a redirect rule run after the
    /// `http-request` rules.
    pub(crate) fn redirect_keyword(&mut self, words: &[Word]) {
        let place = self.place();
        let Some((end, cond)) = self.rule_condition(words, 1, "redirect rule") else {
            return;
        };
        let mut args = Args {
            words: &words[..end],
            at: 1,
        };
        match self.redirect(&mut args) {
            Ok(r) => {
                let line = self.line;
                self.draft().proxy.redirects.push(HttpRule {
                    action: HttpAction::Redirect(r),
                    cond,
                    line,
                });
            }
            Err(Failure::Unsupported(what)) => self.not_supported(words[0].col, &what),
            Err(Failure::Bad(msg)) => {
                let msg = format!("error detected in {place} while parsing redirect rule : {msg}");
                self.error(Form::Parsing, words[0].col, msg);
            }
        }
    }

    fn redirect(&mut self, args: &mut Args<'_>) -> Result<Redirect, Failure> {
        const EXPECTS: &str = "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash'.";
        let mut r = Redirect {
            kind: RedirectKind::Location,
            target: Format::text(""),
            code: 302,
            drop_query: false,
            append_slash: false,
            set_cookie: None,
            clear_cookie: None,
        };
        let mut has_target = false;
        // Options come in any order, the target among them.
        while let Some(opt) = args.peek() {
            args.next();
            match opt {
                "location" | "prefix" | "scheme" => {
                    r.kind = match opt {
                        "location" => RedirectKind::Location,
                        "prefix" => RedirectKind::Prefix,
                        _ => RedirectKind::Scheme,
                    };
                    let target = args.next().ok_or("expects a redirect target.")?;
                    r.target = self.lf(&target.text)?;
                    has_target = true;
                }
                "code" => {
                    let c = args.next().ok_or("'code' expects a status.")?;
                    r.code = c
                        .text
                        .parse()
                        .ok()
                        .filter(|c| matches!(c, 301 | 302 | 303 | 307 | 308))
                        .ok_or_else(|| {
                            format!(
                                "'code' expects 301, 302, 303, 307 or 308, got '{}'.",
                                c.text
                            )
                        })?;
                }
                "drop-query" => r.drop_query = true,
                "append-slash" => r.append_slash = true,
                "ignore-empty" => {}
                "set-cookie" => {
                    r.set_cookie = Some(
                        args.next()
                            .ok_or("'set-cookie' expects a cookie.")?
                            .text
                            .clone(),
                    )
                }
                "clear-cookie" => {
                    r.clear_cookie = Some(
                        args.next()
                            .ok_or("'clear-cookie' expects a cookie.")?
                            .text
                            .clone(),
                    )
                }
                other => return Err(format!("unexpected argument '{other}'.").into()),
            }
        }
        if !has_target {
            return Err(EXPECTS.into());
        }
        Ok(r)
    }
}

/// Why a rule was not read.
pub(crate) enum Failure {
    /// haproxy runs it, haven does not: what to name as not supported.
    Unsupported(String),
    /// Malformed: haproxy's message.
    Bad(String),
}

impl From<String> for Failure {
    fn from(msg: String) -> Self {
        Self::Bad(msg)
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Self {
        Self::Bad(msg.to_owned())
    }
}

/// Why `text` was not read: unsupported when haproxy knows the fetch or
/// converter, else malformed.
fn sample_failure(text: &str, e: ParseError) -> Failure {
    match unsupported_sample(&e) {
        Some(what) => Failure::Unsupported(what),
        None => Failure::Bad(format!("failed to parse sample expression <{text}> : {e}.")),
    }
}

/// What haven lacks when `e` names a fetch or converter haproxy has
/// (`sample fetch NAME`); `None` when the sample is wrong for haproxy too.
pub(crate) fn unsupported_sample(e: &ParseError) -> Option<String> {
    match e {
        ParseError::UnknownFetch(f) if super::keywords::is_unsupported_fetch(f) => {
            Some(format!("sample fetch {f}"))
        }
        ParseError::UnknownConverter(c) if super::keywords::is_haproxy_converter(c) => {
            Some(format!("sample converter {c}"))
        }
        _ => None,
    }
}
