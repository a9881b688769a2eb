//! Log-format strings (`"%[req.hdr(host)]:%cp"`), as rules use them for
//! the text they set: literal text, `%[sample]`, `%%` and the few `%`
//! variables a rule can mean.

use super::{Expr, ParseError, ReadFile};
use crate::route::RequestHead;
use serde::Serialize;

/// A `%` variable of haproxy's log format that rules may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alias {
    /// `%ci`: client address.
    ClientIp,
    /// `%cp`: client port.
    ClientPort,
    /// `%fi`: frontend address.
    FrontendIp,
    /// `%fp`: frontend port.
    FrontendPort,
    /// `%f`: frontend name.
    Frontend,
    /// `%b`: backend name.
    Backend,
    /// `%s`: server name.
    Server,
    /// `%ID`: the request's unique id.
    UniqueId,
}

/// One piece of a format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Text as written.
    Text(String),
    /// `%[expr]`.
    Sample(Expr),
    /// A `%` variable.
    Alias(Alias),
}

/// A parsed log-format string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Format {
    /// Its pieces in order.
    pub parts: Vec<Part>,
}

impl Format {
    /// Reads a log-format string; maps are left empty.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_with(text, None)
    }

    /// Reads a log-format string, with `files` to read the map files its
    /// samples name.
    pub fn parse_with(text: &str, files: Option<ReadFile>) -> Result<Self, ParseError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            lit.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('%') {
                lit.push('%');
                rest = after;
                continue;
            }
            // Flags such as `%{+Q}` change quoting in logs; rules ignore them.
            if rest.starts_with('{') {
                let close = rest.find('}').ok_or_else(|| {
                    ParseError::Bad(format!("missing '}}' in log-format '{text}'"))
                })?;
                rest = &rest[close + 1..];
            }
            // `%o` only carries flags for the fields after it.
            if let Some(after) = rest
                .strip_prefix('o')
                .filter(|a| !a.starts_with(|c: char| c.is_ascii_alphanumeric()))
            {
                rest = after;
                continue;
            }
            if !lit.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut lit)));
            }
            if let Some(inner) = rest.strip_prefix('[') {
                let close = closing_bracket(inner).ok_or_else(|| {
                    ParseError::Bad(format!("missing ']' after sample expression in '{text}'"))
                })?;
                parts.push(Part::Sample(Expr::parse_with(&inner[..close], files)?));
                rest = &inner[close + 1..];
                continue;
            }
            let name_len = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let alias = match &rest[..name_len] {
                "ci" => Alias::ClientIp,
                "cp" => Alias::ClientPort,
                "fi" => Alias::FrontendIp,
                "fp" => Alias::FrontendPort,
                "f" => Alias::Frontend,
                "b" => Alias::Backend,
                "s" => Alias::Server,
                "ID" => Alias::UniqueId,
                "" => {
                    return Err(ParseError::Bad(format!(
                        "unexpected '%' at the end of log-format '{text}'. If you wanted to emit the '%' character verbatim, you need to use '%%'"
                    )))
                }
                other => return Err(ParseError::UnknownAlias(other.to_owned())),
            };
            parts.push(Part::Alias(alias));
            rest = &rest[name_len..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Self { parts })
    }

    /// A format of plain text.
    pub fn text(text: &str) -> Self {
        Self {
            parts: vec![Part::Text(text.to_owned())],
        }
    }

    /// The text the format gives for `req`; an absent sample gives nothing.
    pub fn render(&self, req: &RequestHead<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Sample(e) => {
                    if let Some(v) = e.eval(req) {
                        out.push_str(&v.to_text());
                    }
                }
                Part::Alias(a) => {
                    let around = &req.around;
                    let text = match a {
                        Alias::ClientIp => req.client.map(|ip| ip.to_string()),
                        Alias::ClientPort => around.src_port.map(|p| p.to_string()),
                        Alias::FrontendIp => around.dst.map(|d| d.ip().to_string()),
                        Alias::FrontendPort => around.dst.map(|d| d.port().to_string()),
                        Alias::Frontend => Some(around.frontend.to_owned()),
                        Alias::Backend => Some(around.backend.to_owned()),
                        Alias::Server => Some(around.server.to_owned()),
                        Alias::UniqueId => around.unique_id.map(str::to_owned),
                    };
                    out.push_str(text.as_deref().unwrap_or("-"));
                }
            }
        }
        out
    }

    /// The format has no `%` part: its text is fixed.
    pub fn fixed(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }
}

/// The index of the `]` closing a sample expression, past nested `[ ]`.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return Some(i),
            ']' => depth -= 1,
            _ => {}
        }
    }
    None
}
