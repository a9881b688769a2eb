//! Capture slots of a frontend (`capture request|response header`,
//! `declare capture`, `http-request capture ... len`): what the log's
//! `{...}` blocks and `capture.req.hdr(N)` show, with haproxy 2.6's
//! error texts.

use super::lexer::Word;
use super::model::ProxyKind;
use super::parser::{Parser, Section};
use crate::config::Form;
use serde::Serialize;

/// One capture slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureSlot {
    /// The header it captures (`capture ... header`); `None` for a slot
    /// rules fill.
    pub header: Option<String>,
    /// The longest value kept.
    pub len: usize,
}

/// A frontend's capture slots, request and response numbered apart.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CaptureSlots {
    /// Request slots, `capture.req.hdr(0)` first.
    pub request: Vec<CaptureSlot>,
    /// Response slots.
    pub response: Vec<CaptureSlot>,
}

impl CaptureSlots {
    /// No slot is declared.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }
}

impl Parser<'_> {
    /// `capture request|response header <name> len <n>` (frontends);
    /// `capture cookie` is read and reported.
    pub(super) fn capture_keyword(&mut self, words: &[Word]) {
        let col = words[0].col;
        let text = |i: usize| words.get(i).map_or("", |w| w.text.as_str());
        let side = match (text(1), text(2)) {
            ("cookie", _) => return self.not_supported(col, "capture cookie"),
            ("request", "header") => true,
            ("response", "header") => false,
            _ => {
                let msg = "'capture' expects 'cookie' or 'request header' or 'response header'.";
                return self.error(Form::Parsing, col, msg.into());
            }
        };
        if matches!(self.section, Section::Defaults) {
            let msg = format!("'capture {}' not allowed in 'defaults' section.", text(1));
            return self.error(Form::Parsing, col, msg);
        }
        if text(3).is_empty() || text(4) != "len" || text(5).is_empty() {
            let msg = format!(
                "'capture {}' expects 'header' <header_name> 'len' <len>.",
                text(1)
            );
            return self.error(Form::Parsing, col, msg);
        }
        if !self.is_frontend() {
            let msg = "'capture' ignored because this proxy has no frontend capability.";
            return self.warn(Form::Parsing, col, msg.into());
        }
        let slot = CaptureSlot {
            header: Some(text(3).to_ascii_lowercase()),
            len: atoi(text(5)),
        };
        self.add_capture(side, slot);
    }

    /// `declare capture request|response len <n>`.
    pub(super) fn declare_keyword(&mut self, words: &[Word]) {
        let col = words[0].col;
        let text = |i: usize| words.get(i).map_or("", |w| w.text.as_str());
        if text(1) != "capture" {
            let msg = format!("unknown declaration type '{}'", text(1));
            return self.error(Form::Parsing, col, msg);
        }
        let side = match text(2) {
            "request" => true,
            "response" => false,
            _ => {
                let msg = "'declare capture' expects 'request' or 'response'.";
                return self.error(Form::Parsing, col, msg.into());
            }
        };
        if text(3) != "len" || text(4).is_empty() {
            let msg = "'declare capture' expects 'len' <length>.";
            return self.error(Form::Parsing, col, msg.into());
        }
        if !self.is_frontend() {
            let msg = "'declare capture' ignored because this proxy has no frontend capability.";
            return self.warn(Form::Parsing, col, msg.into());
        }
        let len = atoi(text(4));
        self.add_capture(side, CaptureSlot { header: None, len });
    }

    /// Adds a slot to the current section (request side when `request`);
    /// its index.
    pub(super) fn add_capture(&mut self, request: bool, slot: CaptureSlot) -> usize {
        let slots = &mut self.draft().proxy.captures;
        let list = if request {
            &mut slots.request
        } else {
            &mut slots.response
        };
        list.push(slot);
        list.len() - 1
    }

    /// The current section can hold capture slots (`defaults` can: its
    /// frontends inherit them).
    fn is_frontend(&self) -> bool {
        match self.section {
            Section::Proxy(i) => self.drafts[i].proxy.kind != ProxyKind::Backend,
            _ => true,
        }
    }
}

/// C's `atol` on a length: leading digits, else 0.
fn atoi(text: &str) -> usize {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}
