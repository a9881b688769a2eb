//! Config diagnostics: one problem, where it is, and how to print it the way
//! the real program would.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config is accepted; the operator should look.
    Warning,
    /// The config is refused.
    Error,
}

/// How the location is printed, mirroring each program's habits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// haproxy: `parsing [file:line] : message`.
    Parsing,
    /// haproxy: `parsing [file:line]: message` (lexer-level problems).
    ParsingTight,
    /// haproxy: `Parsing [file:line]: message` (duplicate proxy names).
    ParsingCapital,
    /// The same, found once the file was read (a `log-format`): haproxy
    /// does not count it among the file's errors.
    ParsingCapitalLate,
    /// haproxy: `[file:line] : message` (server lines).
    Bracket,
    /// haproxy: the message alone (post-parse checks).
    Unplaced,
    /// keepalived and haven: `file:line:col: message`.
    Colon,
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file's name as given to the parser.
    pub file: String,
    /// 1-based line; 0 when the problem has no single place.
    pub line: u32,
    /// 1-based column of the offending token; 0 when not known.
    pub col: u32,
    /// What is wrong, in the real program's words where it has some.
    pub message: String,
    /// How the location prints.
    pub form: Form,
    /// The source line, for a caret under `col`.
    #[serde(skip)]
    pub source_line: Option<String>,
}

/// The words of haven's note on something it reads but does not act on
/// (the real program says nothing there).
pub const NOT_SUPPORTED: &str = "parsed, not supported yet";

/// haven's note that `what` is read but not acted on.
pub fn not_supported(what: &str) -> String {
    format!("'{what}' {NOT_SUPPORTED}")
}

impl Diagnostic {
    /// True for haven's own notes, which the real program does not print
    /// (and which so never change its exit code).
    pub fn is_haven_note(&self) -> bool {
        self.message.contains(NOT_SUPPORTED)
    }

    /// The source line and a caret under the column, when both are known.
    pub fn caret(&self) -> Option<String> {
        let text = self.source_line.as_deref()?;
        if self.col == 0 {
            return None;
        }
        let pad: String = text
            .chars()
            .take(self.col as usize - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!("  {text}\n  {pad}^"))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, line, msg) = (&self.file, self.line, &self.message);
        match self.form {
            Form::Parsing => write!(f, "parsing [{file}:{line}] : {msg}"),
            Form::ParsingTight => write!(f, "parsing [{file}:{line}]: {msg}"),
            Form::ParsingCapital | Form::ParsingCapitalLate => {
                write!(f, "Parsing [{file}:{line}]: {msg}")
            }
            Form::Bracket => write!(f, "[{file}:{line}] : {msg}"),
            Form::Unplaced => write!(f, "{msg}"),
            Form::Colon => {
                let sev = match self.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                match (line, self.col) {
                    (0, _) => write!(f, "{file}: {sev}: {msg}"),
                    (l, 0) => write!(f, "{file}:{l}: {sev}: {msg}"),
                    (l, c) => write!(f, "{file}:{l}:{c}: {sev}: {msg}"),
                }
            }
        }
    }
}

impl std::error::Error for Diagnostic {}

/// The diagnostics of one parse, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Records one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// True when at least one error was recorded.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// All diagnostics in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }
    /// Only the warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }
    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Adds every diagnostic of `other` after ours.
    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
