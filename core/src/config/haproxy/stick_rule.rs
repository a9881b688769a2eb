//! `stick match|on|store-request|store-response <pattern> [table <t>]
//! [if|unless <cond>]`: persistence by stick table, read with haproxy
//! 2.6's messages.

use super::http_rule::Failure;
use super::lexer::Word;
use super::parser::Parser;
use super::Condition;
use crate::config::Form;
use crate::sample::Expr;
use serde::Serialize;

/// What a `stick` rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StickKind {
    /// `stick match`: a request whose key the table knows goes to the
    /// server stored for it.
    Match,
    /// `stick on`: `match`, then `store-request`.
    On,
    /// `stick store-request`: the request's key is stored with the server
    /// that answers it.
    StoreRequest,
    /// `stick store-response`: the key read from the response is stored
    /// with the server that sent it.
    StoreResponse,
}

impl StickKind {
    /// The rule looks the key up.
    pub fn matches(self) -> bool {
        matches!(self, Self::Match | Self::On)
    }

    /// The rule stores the key.
    pub fn stores(self) -> bool {
        !matches!(self, Self::Match)
    }
}

/// One `stick` rule of a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StickRule {
    /// What it does.
    pub kind: StickKind,
    /// The key's pattern.
    pub expr: Expr,
    /// The table's proxy, when not the rule's own.
    pub table: Option<String>,
    /// The condition; `None` means always.
    pub cond: Option<Condition>,
}

impl Parser<'_> {
    /// A `stick` line.
    pub(super) fn stick_rule(&mut self, words: &[Word]) {
        let col = words[0].col;
        let kind = match words.get(1).map(|w| w.text.as_str()) {
            Some("match") => StickKind::Match,
            Some("on") => StickKind::On,
            Some("store-request") => StickKind::StoreRequest,
            Some("store-response") => StickKind::StoreResponse,
            _ => {
                let msg = "'stick' expects 'on', 'match', or 'store'.".to_owned();
                return self.error(Form::Parsing, col, msg);
            }
        };
        let Some(pattern) = words
            .get(2)
            .filter(|w| !matches!(w.text.as_str(), "if" | "unless"))
        else {
            return self.error(Form::Parsing, col, "'stick' expects a fetch method.".into());
        };
        let expr = match self.sample(&pattern.text) {
            Ok(e) => e,
            Err(Failure::Unsupported(what)) => return self.not_supported(pattern.col, &what),
            Err(Failure::Bad(msg)) => {
                return self.error(Form::Parsing, pattern.col, format!("'stick': {msg}"))
            }
        };
        if kind != StickKind::StoreResponse {
            if let Some(part) = expr.fetch.response_only() {
                let msg = format!("'stick': fetch method '{}' extracts information from '{part}', none of which is available during request.", pattern.text.split(['(', ',']).next().unwrap_or(""));
                return self.error(Form::Parsing, pattern.col, msg);
            }
        }
        let mut at = 3;
        let mut table = None;
        if words.get(at).is_some_and(|w| w.text == "table") {
            let Some(name) = words.get(at + 1) else {
                let msg = "'stick' : missing table name.".to_owned();
                return self.error(Form::Parsing, words[at].col, msg);
            };
            table = Some(name.text.clone());
            at += 2;
        }
        let cond = match words.get(at) {
            None => None,
            Some(_) => match self.condition(&words[at..], "'stick' rule") {
                Some(c) => Some(c),
                None => return,
            },
        };
        self.draft().proxy.stick_rules.push(StickRule {
            kind,
            expr,
            table,
            cond,
        });
    }
}
