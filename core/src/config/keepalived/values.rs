//! keepalived.conf value syntaxes: integers with ranges, decimal seconds,
//! addresses with prefixes, booleans, and the "missing parameter" rule.

use super::syntax::{diag, Node, Token};
use crate::config::support::{self, Gap, Impact, Unsupported};
use crate::config::{not_supported, Diagnostics, Severity};
use crate::time::Duration;
use std::net::IpAddr;

/// Reads node arguments and reports problems in keepalived's words.
pub(crate) struct Args<'a> {
    pub(crate) diags: &'a mut Diagnostics,
    /// Keywords read but not honoured.
    pub(crate) unsupported: Vec<Unsupported>,
}

impl Args<'_> {
    /// Argument `idx` (0 = first after the keyword), or an error naming the
    /// missing word position as keepalived does.
    pub(crate) fn get<'n>(&mut self, node: &'n Node, idx: usize) -> Option<&'n Token> {
        let t = node.args.get(idx);
        if t.is_none() {
            let kw = &node.key.text;
            let msg = format!(
                "Configuration line starting `{kw}` is missing a parameter after keyword `{kw}` at word position {}",
                idx + 2
            );
            self.diags.push(diag(&node.key, Severity::Error, msg));
        }
        t
    }

    /// An error at a token.
    pub(crate) fn error(&mut self, t: &Token, msg: String) {
        self.diags.push(diag(t, Severity::Error, msg));
    }

    /// Whether `table` lists the keyword `kw`.
    pub(crate) fn lists(table: &'static [Gap], kw: &str) -> bool {
        support::listed(table, kw).is_some()
    }

    /// Records `what` at `t`, covered by a row of `table`, and warns of it
    /// unless nobody could see the difference.
    pub(crate) fn unsupported(&mut self, t: &Token, table: &'static [Gap], what: &str) {
        let Some(gap) = support::covering(table, what) else {
            return self.error(
                t,
                format!("'{what}' is not in haven's table of unsupported keywords"),
            );
        };
        if gap.impact != Impact::Unseen {
            self.warn(t, format!("{}: {}.", not_supported(what), gap.differs));
        }
        self.unsupported.push(Unsupported {
            file: t.file.clone(),
            line: t.line,
            what: what.to_owned(),
            gap: *gap,
        });
    }

    /// A warning at a token.
    pub(crate) fn warn(&mut self, t: &Token, msg: String) {
        self.diags.push(diag(t, Severity::Warning, msg));
    }

    /// An integer in `lo..=hi`.
    pub(crate) fn int(&mut self, node: &Node, idx: usize, lo: i64, hi: i64) -> Option<i64> {
        let t = self.get(node, idx)?;
        match t.text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(_) => {
                self.error(t, format!("number '{}' outside range [{lo}, {hi}]", t.text));
                None
            }
            Err(_) => {
                self.error(t, format!("invalid number '{}'", t.text));
                None
            }
        }
    }

    /// Decimal seconds (`2`, `1.5`, `0.000001`) in `lo_us..=hi_us`.
    pub(crate) fn seconds(
        &mut self,
        node: &Node,
        idx: usize,
        lo_us: u64,
        hi_us: u64,
    ) -> Option<Duration> {
        self.seconds_or(node, idx, lo_us, hi_us, Severity::Error)
    }

    /// Like [`Self::seconds`], reporting a bad value with `severity`.
    pub(crate) fn seconds_or(
        &mut self,
        node: &Node,
        idx: usize,
        lo_us: u64,
        hi_us: u64,
        severity: Severity,
    ) -> Option<Duration> {
        let t = self.get(node, idx)?;
        match decimal_micros(&t.text) {
            Some(us) if (lo_us..=hi_us).contains(&us) => Some(Duration::from_micros(us)),
            _ => {
                let range = format!("[{}, {}]", fmt_secs(lo_us), fmt_secs(hi_us));
                let msg = format!("number '{}' outside range {range}", t.text);
                self.diags.push(diag(t, severity, msg));
                None
            }
        }
    }

    /// An IPv4 or IPv6 address.
    pub(crate) fn ip(&mut self, node: &Node, idx: usize) -> Option<IpAddr> {
        let t = self.get(node, idx)?;
        match t.text.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.error(t, format!("invalid IP address '{}'", t.text));
                None
            }
        }
    }

    /// An optional boolean argument (`smtp_alert`, `smtp_alert false`).
    pub(crate) fn flag(&mut self, node: &Node) -> Option<bool> {
        match node.args.first().map(|t| t.text.to_ascii_lowercase()) {
            None => Some(true),
            Some(v) if matches!(v.as_str(), "true" | "yes" | "on" | "1") => Some(true),
            Some(v) if matches!(v.as_str(), "false" | "no" | "off" | "0") => Some(false),
            Some(_) => {
                let t = &node.args[0];
                self.error(
                    t,
                    format!("invalid boolean '{}' for {}", t.text, node.key.text),
                );
                None
            }
        }
    }
}

/// The rest of a line as one command (`notify_master /x.sh master`).
pub(crate) fn command(node: &Node) -> Option<String> {
    let parts: Vec<&str> = node.args.iter().map(|t| t.text.as_str()).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// `1.5` → 1 500 000 µs, exactly; `None` for anything else.
pub fn decimal_micros(text: &str) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 6
    {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_us: u64 = format!("{frac:0<6}").parse().ok()?;
    whole.checked_mul(1_000_000)?.checked_add(frac_us)
}

fn fmt_secs(us: u64) -> String {
    if us % 1_000_000 == 0 {
        (us / 1_000_000).to_string()
    } else {
        format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_are_exact() {
        assert_eq!(decimal_micros("2"), Some(2_000_000));
        assert_eq!(decimal_micros("1.5"), Some(1_500_000));
        assert_eq!(decimal_micros("0.000001"), Some(1));
        assert_eq!(decimal_micros(".5"), Some(500_000));
        assert_eq!(decimal_micros("1.0000001"), None);
        assert_eq!(decimal_micros("-1"), None);
        assert_eq!(decimal_micros("x"), None);
        assert_eq!(fmt_secs(1), "0.000001");
        assert_eq!(fmt_secs(4_294_967_295_000), "4294967.295000");
    }
}
