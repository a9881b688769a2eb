//! `tcp-request inspect-delay`, and `tcp-request connection|session|content
//! accept|reject|set-src|set-dst|set-var(...) [if|unless <cond>]`: who is
//! let in on a frontend, and the addresses and variables each level of a
//! connection starts with, before a backend is chosen; and `tcp-request
//! content switch-mode http`, which turns a `mode tcp` connection into
//! HTTP.

use super::counter_action::{self, CounterAction};
use super::lexer::Word;
use super::model::{BindProto, Condition};
use super::parser::Parser;
use super::values::parse_time;
use crate::config::{Form, Severity};
use crate::sample::{Expr, VarName};
use serde::Serialize;

/// When a `tcp-request` rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpLayer {
    /// `connection`: at accept, before any byte is read.
    Connection,
    /// `session`: once the connection is set up (PROXY header, TLS).
    Session,
    /// `content`: on the first bytes, within `inspect-delay` (in `mode
    /// http`, on each request).
    Content,
}

/// What a `tcp-request` rule does when its condition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpAction {
    /// `accept`: the rules of this layer stop, the connection goes on.
    Accept,
    /// `reject`: the connection closes.
    Reject,
    /// `silent-drop`: the connection closes without a word to the client
    /// (at the connection level, before its socket is set up, haproxy
    /// 2.6 resets it as `reject` does).
    SilentDrop,
    /// `set-src <expr>`: this level's source address.
    SetSrc(Expr),
    /// `set-dst <expr>`: this level's destination address.
    SetDst(Expr),
    /// `set-var(<name>) <expr>`.
    SetVar(VarName, Expr),
    /// `track-sc<N> <key> [table <t>]`: the connection is counted for
    /// `key` in the table (the rule's proxy's by default) and tracked in
    /// slot N for the rest of its life.
    Track {
        /// The slot, 0 to 2.
        slot: usize,
        /// The key.
        key: Expr,
        /// The table's proxy, when not the rule's own.
        table: Option<String>,
    },
    /// `sc-inc-gpc0|1(N)`, `sc-set-gpt0(N)`: a change to the entry slot N
    /// tracks.
    Counter(CounterAction),
    /// `switch-mode http [proto h1|h2]` (content rules only): the
    /// connection becomes HTTP, with that version (`Auto`: as its bytes
    /// say); the rules stop there.
    SwitchToHttp(BindProto),
}

/// One `tcp-request connection|session|content` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpRequestRule {
    /// When it is evaluated.
    pub layer: TcpLayer,
    /// What it does.
    pub action: TcpAction,
    /// The condition; `None` means always.
    pub cond: Option<Condition>,
    /// Line of the rule.
    pub line: u32,
}

impl Parser<'_> {
    /// One `tcp-request` line.
    pub(crate) fn tcp_request(&mut self, words: &[Word]) {
        let Some(what) = words.get(1) else {
            return self.error(
                Form::Parsing,
                words[0].col,
                "'tcp-request' expects 'connection', 'session', 'content', 'inspect-delay'.".into(),
            );
        };
        let layer = match what.text.as_str() {
            "inspect-delay" => return self.inspect_delay(words),
            "connection" => TcpLayer::Connection,
            "session" => TcpLayer::Session,
            "content" => TcpLayer::Content,
            other => {
                let msg = format!("'tcp-request' expects 'connection', 'session', 'content', 'inspect-delay', got '{other}'.");
                return self.error(Form::Parsing, what.col, msg);
            }
        };
        if !self.in_frontend() {
            return self
                .not_supported(what.col, &format!("tcp-request {} in a backend", what.text));
        }
        let Some(action) = words.get(2) else {
            let msg = format!("'tcp-request {}' expects an action.", what.text);
            return self.error(Form::Parsing, what.col, msg);
        };
        let end = words
            .iter()
            .skip(3)
            .position(|w| w.text == "if" || w.text == "unless")
            .map_or(words.len(), |p| p + 3);
        let args = &words[3..end];
        let name = action.text.as_str();
        let (base, var) = match name.split_once('(') {
            Some((b, rest)) => (b, rest.strip_suffix(')')),
            None => (name, None),
        };
        let expr = |p: &Self| -> Result<Expr, String> {
            let w = args.first().ok_or("expects a sample expression.")?;
            Expr::parse_with(&w.text, p.files()).map_err(|e| e.to_string())
        };
        let next = args.first().map(|w| w.text.as_str());
        let sample = |text: &str| match layer {
            // haproxy 2.6 has no sample for this action at this layer.
            TcpLayer::Connection => {
                Err("internal error, unexpected rule->from=0, please report this bug!".to_owned())
            }
            _ => Expr::parse_with(text, self.files()).map_err(|e| e.to_string()),
        };
        // These actions' messages are haproxy's own, unprefixed.
        let counter = counter_action::parse(name, next, sample).map(|r| {
            r.and_then(|(action, took)| match args.get(usize::from(took)) {
                Some(extra) => Err(format!(
                    "'tcp-request {} {name}' only accepts 'if' or 'unless', in {} (got '{}')",
                    what.text,
                    self.place(),
                    extra.text
                )),
                None => Ok(TcpAction::Counter(action)),
            })
        });
        let parsed = if let Some(counter) = counter {
            counter
        } else {
            let prefix = |msg: String| format!("'tcp-request {} {name}' : {msg}", what.text);
            match (base, var, args.len()) {
                ("accept", None, 0) => Ok(TcpAction::Accept),
                ("reject", None, 0) => Ok(TcpAction::Reject),
                ("silent-drop", None, 0) => Ok(TcpAction::SilentDrop),
                ("set-src", None, 1) => expr(self).map(TcpAction::SetSrc),
                ("set-dst", None, 1) => expr(self).map(TcpAction::SetDst),
                ("set-var", Some(v), 1) => {
                    VarName::parse(v).and_then(|name| Ok(TcpAction::SetVar(name, expr(self)?)))
                }
                ("accept" | "reject" | "silent-drop" | "set-src" | "set-dst" | "set-var", ..) => {
                    Err(format!("unexpected arguments after '{name}'."))
                }
                ("switch-mode", None, _) if layer == TcpLayer::Content => {
                    return self.switch_mode(words, args, end);
                }
                (track, None, 1 | 3) if track.starts_with("track-sc") => {
                    let slot = track["track-sc".len()..]
                        .parse::<usize>()
                        .ok()
                        .filter(|s| *s < 3)
                        .ok_or_else(|| format!("unknown action '{track}'."));
                    let table = match args.get(1..) {
                        Some([t, name]) if t.text == "table" => Ok(Some(name.text.clone())),
                        Some([]) => Ok(None),
                        _ => Err("expects a table name after 'table'.".to_owned()),
                    };
                    slot.and_then(|slot| {
                        Ok(TcpAction::Track {
                            slot,
                            key: expr(self)?,
                            table: table?,
                        })
                    })
                }
                _ => {
                    let rule = format!("tcp-request {} {base}", what.text);
                    return self.not_supported(action.col, &rule);
                }
            }
            .map_err(prefix)
        };
        let action = match parsed {
            Ok(a) => a,
            Err(msg) => return self.error(Form::Parsing, words[2].col, msg),
        };
        let cond = match words.get(end) {
            None => None,
            Some(_) => {
                let what = format!("'tcp-request {}' rule", what.text);
                match self.condition(&words[end..], &what) {
                    Some(c) => Some(c),
                    None => return,
                }
            }
        };
        let line = self.line;
        self.draft().proxy.tcp_request.push(TcpRequestRule {
            layer,
            action,
            cond,
            line,
        });
    }

    /// `tcp-request content switch-mode http [proto h1|h2] [if|unless
    /// ...]`, its `args` ending at `end`, in haproxy's words when wrong.
    fn switch_mode(&mut self, words: &[Word], args: &[Word], end: usize) {
        let col = words[2].col;
        let proto = match args.iter().map(|w| w.text.as_str()).collect::<Vec<_>>()[..] {
            [] => Err("'tcp-request switch-mode' expects a mode as argument.".to_owned()),
            ["http"] => Ok(BindProto::Auto),
            ["http", "proto"] => {
                Err("'tcp-request switch-mode': 'proto' expects a protocol as argument.".to_owned())
            }
            ["http", "proto", "h1"] => Ok(BindProto::H1),
            ["http", "proto", "h2"] => Ok(BindProto::H2),
            ["http", "proto", other @ ("none" | "fcgi" | "quic")] => {
                let name = &self.draft().proxy.name;
                let msg = format!(
                    "Proxy '{name}': MUX protocol '{other}' is not compatible with the selected mode."
                );
                return self.post_error(Severity::Error, msg);
            }
            ["http", "proto", other] => Err(format!(
                "'tcp-request switch-mode': 'proto' expects a valid MUX protocol, if specified (got '{other}')"
            )),
            ["http", extra, ..] => Err(format!(
                "'tcp-request content switch-mode' only accepts 'if' or 'unless', in {} (got '{}')",
                self.place(),
                if extra == "proto" { args[3].text.as_str() } else { extra }
            )),
            [mode, ..] => Err(format!(
                "'tcp-request switch-mode' expects a valid mode (got '{mode}')."
            )),
        };
        let action = match proto {
            Ok(proto) => TcpAction::SwitchToHttp(proto),
            Err(msg) => return self.error(Form::Parsing, col, msg),
        };
        let cond = match words.get(end) {
            None => None,
            Some(_) => match self.condition(&words[end..], "'tcp-request content' rule") {
                Some(c) => Some(c),
                None => return,
            },
        };
        let line = self.line;
        self.draft().proxy.tcp_request.push(TcpRequestRule {
            layer: TcpLayer::Content,
            action,
            cond,
            line,
        });
    }

    fn inspect_delay(&mut self, words: &[Word]) {
        let Some(value) = words.get(2) else {
            return self.error(
                Form::Parsing,
                words[1].col,
                "'tcp-request inspect-delay' expects a positive delay in milliseconds.".into(),
            );
        };
        match parse_time(&value.text) {
            Ok(d) => self.draft().proxy.inspect_delay = Some(d),
            Err(_) => {
                let msg = format!(
                    "'tcp-request inspect-delay' : unexpected character in '{}'.",
                    value.text
                );
                self.error(Form::Parsing, value.col, msg);
            }
        }
    }
}
