//! keepalived.conf in keepalived's own syntax (spec/vrrp-keepalived.md),
//! with keepalived 2.2.7's validation and warnings.
//!
//! [`parse`] follows `include` through the caller's loader, reports every
//! problem as `file:line:col: message`, and returns the resolved
//! [`KeepalivedConfig`] when there is no error.

mod global;
mod instance;
mod model;
mod parse;
mod syntax;
mod validate;
mod values;

pub use model::*;
pub use parse::parse;
pub use values::decimal_micros;
