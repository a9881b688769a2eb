//! `tcp-request inspect-delay`, and `tcp-request connection|content
//! accept|reject [if|unless <cond>]`: who is let in on a `mode tcp` (or
//! any) frontend, before a backend is chosen.

use super::lexer::Word;
use super::model::Condition;
use super::parser::Parser;
use super::values::parse_time;
use crate::config::Form;
use serde::Serialize;

/// When a `tcp-request` rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpLayer {
    /// `connection`: at accept, before any byte is read.
    Connection,
    /// `content`: on the first bytes, within `inspect-delay`.
    Content,
}

/// One `tcp-request connection|content accept|reject` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpRequestRule {
    /// When it is evaluated.
    pub layer: TcpLayer,
    /// `accept` (else `reject`).
    pub accept: bool,
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
            "content" => TcpLayer::Content,
            "session" => return self.not_supported(what.col, "tcp-request session"),
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
        let accept = match action.text.as_str() {
            "accept" => true,
            "reject" => false,
            other => {
                let rule = format!("tcp-request {} {other}", what.text);
                return self.not_supported(action.col, &rule);
            }
        };
        let cond = match words.get(3) {
            None => None,
            Some(_) => {
                let what = format!("'tcp-request {}' rule", what.text);
                match self.condition(&words[3..], &what) {
                    Some(c) => Some(c),
                    None => return,
                }
            }
        };
        let line = self.line;
        self.draft().proxy.tcp_request.push(TcpRequestRule {
            layer,
            accept,
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
