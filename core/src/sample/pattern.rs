//! A compiled regular expression that the config model can hold: compared
//! and serialized by its source text.

use serde::{Serialize, Serializer};

/// A regex from a config (`-m reg`, `regsub`, `replace-header`).
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles `source`, case-insensitively when `ignore_case`; the error
    /// is the regex crate's explanation.
    pub fn new(source: &str, ignore_case: bool) -> Result<Self, String> {
        regex::RegexBuilder::new(source)
            .case_insensitive(ignore_case)
            .build()
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// The compiled regex.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}
