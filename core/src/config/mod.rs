//! Config files in the real programs' own syntax: `haproxy.cfg` and
//! `keepalived.conf`, read into typed, resolved models.
//!
//! Parsers never stop at the first problem: they collect every
//! [`Diagnostic`] they can (errors and warnings) and return a model only
//! when no error was found.

mod diag;
pub mod haproxy;
pub mod keepalived;
pub mod support;

pub use diag::{not_supported, Diagnostic, Diagnostics, Form, Severity, NOT_SUPPORTED};

/// Fetches the text of files a config includes (keepalived's `include`).
///
/// Core does no file I/O: the caller (the CLI, the simulator's scenario
/// loader, a test) answers these requests.
pub trait SourceLoader {
    /// Every file matching `pattern` (a path or glob, resolved relative to
    /// `from`, the including file), as `(name, text)` in sorted name order.
    /// An `Err` is a message saying why nothing could be read.
    fn load(&self, pattern: &str, from: &str) -> Result<Vec<(String, String)>, String>;
}

/// A loader that refuses every include: for parsing a lone string.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoIncludes;

impl SourceLoader for NoIncludes {
    fn load(&self, pattern: &str, _from: &str) -> Result<Vec<(String, String)>, String> {
        Err(format!("no include loader available for '{pattern}'"))
    }
}

/// What a parser returns: the model when there was no error, and every
/// diagnostic either way.
#[derive(Debug)]
pub struct Parsed<T> {
    /// The resolved model; `None` when any error was found.
    pub config: Option<T>,
    /// Errors and warnings in file order (post-parse checks last).
    pub diagnostics: Diagnostics,
}
