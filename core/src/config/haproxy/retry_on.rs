//! `retry-on <keywords>`: which failures a backend retries, with haproxy
//! 2.6's keywords and error texts.

use super::lexer::Word;
use super::model::{ProxyKind, RetryOn};
use super::parser::{Parser, Section};
use crate::config::Form;

/// Statuses `retry-on` accepts.
const STATUSES: [u16; 10] = [401, 403, 404, 408, 425, 500, 501, 502, 503, 504];

impl Parser<'_> {
    /// `retry-on`: in `defaults`, `backend` and `listen`; an error in a
    /// `frontend`, without keywords, with an unknown one, or with `none`
    /// among others.
    pub(super) fn retry_on(&mut self, words: &[Word]) {
        let col = words[0].col;
        let in_frontend = matches!(self.section, Section::Proxy(i)
            if self.drafts[i].proxy.kind == ProxyKind::Frontend);
        if in_frontend {
            let msg = "'retry-on' only available in backend or listen section";
            return self.error(Form::Parsing, col, msg.into());
        }
        if words.len() < 2 {
            let msg = "'retry-on' needs at least one keyword to specify when to retry";
            return self.error(Form::Parsing, col, msg.into());
        }
        let mut on = RetryOn {
            conn_failure: false,
            ..RetryOn::default()
        };
        for word in &words[1..] {
            match word.text.as_str() {
                "none" if words.len() > 2 => {
                    let msg = "'retry-on' 'none' keyworld only usable alone";
                    return self.error(Form::Parsing, col, msg.into());
                }
                "none" => {}
                "conn-failure" => on.conn_failure = true,
                "empty-response" => on.empty_response = true,
                "junk-response" => on.junk_response = true,
                "response-timeout" => on.response_timeout = true,
                // Early data needs TLS, which haven does not terminate.
                "0rtt-rejected" => {}
                "all-retryable-errors" => {
                    on.conn_failure = true;
                    on.empty_response = true;
                    on.junk_response = true;
                    on.response_timeout = true;
                    on.statuses.extend([500, 502, 503, 504]);
                }
                other => match other.parse::<u16>().ok().filter(|s| STATUSES.contains(s)) {
                    Some(status) => on.statuses.push(status),
                    None => {
                        let msg = format!("'retry-on': unknown keyword '{other}'");
                        return self.error(Form::Parsing, col, msg);
                    }
                },
            }
        }
        on.statuses.sort_unstable();
        on.statuses.dedup();
        self.draft().proxy.retry_on = on;
    }
}
