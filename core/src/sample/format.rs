//! Log-format strings (`"%[req.hdr(host)]:%cp"`): literal text,
//! `%[sample]`, `%%` and haproxy's `%` variables, each with its `%{+Q}`
//! flags. Rules render them from the request; access log lines are
//! rendered by `log::access_format` from the finished request.

use super::{Expr, ParseError, ReadFile, Value};
use crate::route::RequestHead;
use serde::Serialize;

/// Bytes a rendered format is given at first: most (a header value, a
/// variable) fit.
const RENDERED_GUESS: usize = 64;

pub use super::alias::Alias;

/// How a `%` part prints: haproxy's `+Q` (quoted), `+X` (hexadecimal),
/// `+E` (escaped) and `M` (`-` when empty) flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// `+Q`: strings in double quotes.
    pub quote: bool,
    /// `+X`: addresses, ports and counters in hexadecimal.
    pub hex: bool,
    /// `+E`: `"`, `\` and `]` escaped with a backslash.
    pub escape: bool,
    /// `+M`: an empty value prints `-` (on by default in log lines).
    pub mandatory: bool,
}

/// One piece of a format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Text as written.
    Text(String),
    /// Spaces in a log line's format: one space, never two in a row.
    Separator,
    /// `%[expr]`.
    Sample(Expr, Flags),
    /// A `%` variable.
    Alias(Alias, Flags),
}

/// A parsed log-format string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Format {
    /// Its pieces in order.
    pub parts: Vec<Part>,
}

/// Where a format is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// A rule's argument: the variables of the request only.
    Rule,
    /// A `log-format` line, of a `mode http` proxy (`http`) or not.
    Log { http: bool },
}

impl Format {
    /// Reads a rule's log-format string; maps are left empty.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_with(text, None)
    }

    /// Reads a rule's log-format string, with `files` to read the map
    /// files its samples name.
    pub fn parse_with(text: &str, files: Option<ReadFile<'_>>) -> Result<Self, ParseError> {
        parse(text, files, Use::Rule)
    }

    /// Reads a `log-format` line of a proxy in `mode http` (`http`) or
    /// not: spaces merge, and empty values print `-` unless `%{-M}`.
    pub fn parse_log(
        text: &str,
        files: Option<ReadFile<'_>>,
        http: bool,
    ) -> Result<Self, ParseError> {
        parse(text, files, Use::Log { http })
    }

    /// A format of plain text.
    pub fn text(text: &str) -> Self {
        Self {
            parts: vec![Part::Text(text.to_owned())],
        }
    }

    /// True when one of its `%` variables is among `aliases`: what a
    /// line needs gathered for it.
    pub fn names_any(&self, aliases: &[Alias]) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Alias(a, _) if aliases.contains(a)))
    }

    /// The text the format gives for `req`; an absent sample gives
    /// nothing, an absent variable `-`.
    pub fn render(&self, req: &RequestHead<'_>) -> String {
        let mut out = String::with_capacity(RENDERED_GUESS);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Separator => out.push(' '),
                Part::Sample(e, flags) => {
                    let v = e.eval(req);
                    put_text(&mut out, v.as_ref().map(Value::to_text).as_deref(), *flags);
                }
                Part::Alias(a, _) => {
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
                        // Parsing keeps the others out of rules.
                        _ => None,
                    };
                    out.push_str(text.as_deref().unwrap_or("-"));
                }
            }
        }
        out
    }

    /// Some sample of the format reads a variable.
    pub fn reads_vars(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Sample(e, _) if matches!(e.fetch, super::Fetch::Var(..))))
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

/// Writes `text` as haproxy writes a string field: in quotes with `+Q`,
/// escaped with `+E`, `-` for an empty one under `M` (unquoted).
pub fn put_text(out: &mut String, text: Option<&str>, flags: Flags) {
    if flags.quote {
        out.push('"');
    }
    match text.filter(|t| !t.is_empty()) {
        Some(t) if flags.escape => {
            for c in t.chars() {
                if matches!(c, '"' | '\\' | ']') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        Some(t) => out.push_str(t),
        None if flags.mandatory && !flags.quote => out.push('-'),
        None => {}
    }
    if flags.quote {
        out.push('"');
    }
}

/// Reads `text` for `usage`.
fn parse(text: &str, files: Option<ReadFile<'_>>, usage: Use) -> Result<Format, ParseError> {
    let log = matches!(usage, Use::Log { .. });
    let mut defaults = Flags {
        mandatory: log,
        ..Flags::default()
    };
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    let flush = |lit: &mut String, parts: &mut Vec<Part>| {
        if !lit.is_empty() {
            parts.push(Part::Text(std::mem::take(lit)));
        }
    };
    while let Some(at) = rest.find(|c| c == '%' || log && c == ' ') {
        lit.push_str(&rest[..at]);
        if rest[at..].starts_with(' ') {
            flush(&mut lit, &mut parts);
            if parts.last() != Some(&Part::Separator) {
                parts.push(Part::Separator);
            }
            rest = &rest[at + 1..];
            continue;
        }
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            lit.push('%');
            rest = after;
            continue;
        }
        let mut flags = defaults;
        let mut modifier = None;
        if let Some(inner) = rest.strip_prefix('{') {
            let close = inner
                .find('}')
                .ok_or_else(|| ParseError::Bad(format!("missing '}}' in log-format '{text}'")))?;
            modifier = Some(&inner[..close]);
            apply_flags(&mut flags, &inner[..close]);
            rest = &inner[close + 1..];
        }
        flush(&mut lit, &mut parts);
        if let Some(inner) = rest.strip_prefix('[') {
            let close = closing_bracket(inner).ok_or_else(|| {
                ParseError::Bad(format!("missing ']' after sample expression in '{text}'"))
            })?;
            let expr = Expr::parse_with(&inner[..close], files)?;
            if log {
                if let Some(needs) = expr.fetch.unavailable_at_log_time() {
                    // haproxy quotes the format from the fetch to its end.
                    return Err(ParseError::Bad(format!("sample fetch <{inner}> may not be reliably used here because it needs '{needs}' which is not available here")));
                }
            }
            parts.push(Part::Sample(expr, flags));
            rest = &inner[close + 1..];
            continue;
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        rest = &rest[name_len..];
        match (name, modifier) {
            ("", Some(m)) => {
                return Err(ParseError::Bad(format!(
                    "parse argument modifier without variable name near '%{{{m}}}'"
                )))
            }
            ("", None) => {
                return Err(ParseError::Bad(format!(
                    "unexpected '%' at the end of log-format '{text}'. If you wanted to emit the '%' character verbatim, you need to use '%%'"
                )))
            }
            // `%o` sets the flags of the fields after it.
            ("o", _) => defaults = flags,
            _ => {
                let alias = Alias::named(name)
                    .filter(|a| log || a.in_rules())
                    .ok_or_else(|| ParseError::UnknownAlias(name.to_owned()))?;
                if usage == (Use::Log { http: false }) && alias.needs_http() {
                    return Err(ParseError::Bad(format!(
                        "format variable '{name}' is reserved for HTTP mode"
                    )));
                }
                parts.push(Part::Alias(alias, flags));
            }
        }
    }
    lit.push_str(rest);
    flush(&mut lit, &mut parts);
    Ok(Format { parts })
}

/// Applies `%{+Q,-M}`-style flags to `flags`; unknown ones are ignored,
/// as haproxy does.
fn apply_flags(flags: &mut Flags, list: &str) {
    for item in list.split(',') {
        let (on, name) = match item.split_at_checked(1) {
            Some(("+", name)) => (true, name),
            Some(("-", name)) => (false, name),
            _ => continue,
        };
        match name {
            "Q" => flags.quote = on,
            "X" => flags.hex = on,
            "E" => flags.escape = on,
            "M" => flags.mandatory = on,
            _ => {}
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
