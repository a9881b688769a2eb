//! What haven reads but does not honour, in one place: for each keyword
//! (or keyword family) of haproxy.cfg and keepalived.conf that the parsers
//! accept without acting on it, what running without it changes and how
//! much that matters. The parsers warn from it, `haven run` refuses to
//! start on its [`Impact::Traffic`] rows, and the README's table is
//! printed from it.

mod haproxy;
mod keepalived;

pub use haproxy::{HAPROXY_GLOBAL, HAPROXY_PROXY};
pub use keepalived::{
    KEEPALIVED_GLOBAL, KEEPALIVED_INSTANCE, KEEPALIVED_SYNC_GROUP, KEEPALIVED_TOP,
};

use serde::Serialize;

/// How much running without a keyword changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// Nothing a client or an operator can see: listed here, not warned
    /// of.
    Unseen,
    /// What is logged, counted, shown or tuned differs: `check` warns,
    /// `run` starts.
    Reported,
    /// Who is let in, where traffic goes or what is served differs:
    /// `check` warns, `run` refuses to start unless told
    /// `--accept-unsupported`.
    Traffic,
}

impl Impact {
    /// The word the README's table uses.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unseen => "unseen",
            Self::Reported => "reported",
            Self::Traffic => "traffic",
        }
    }
}

/// One keyword (or family) haven parses without honouring it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// As the warning names it: `chroot`, `option logasap`, `bind ssl`.
    /// A trailing `.` or `-` covers every keyword it begins (`tune.`,
    /// `ssl-default-`); a row
    /// named by a keyword alone covers its arguments too (`server` covers
    /// `server agent-check`) when no longer row does.
    pub keyword: &'static str,
    /// How much it matters.
    pub impact: Impact,
    /// What haven does instead.
    pub differs: &'static str,
}

/// A row of a table.
pub(crate) const fn gap(keyword: &'static str, impact: Impact, differs: &'static str) -> Gap {
    Gap {
        keyword,
        impact,
        differs,
    }
}

/// The row of `table` named exactly `keyword`, or by a prefix of it.
pub fn listed(table: &'static [Gap], keyword: &str) -> Option<&'static Gap> {
    table.iter().find(|g| {
        let prefix = g.keyword.ends_with(['.', '-']);
        g.keyword == keyword || prefix && keyword.starts_with(g.keyword)
    })
}

/// The row of `table` that covers `what`: named exactly, by a prefix,
/// else the longest row whose words begin it.
pub fn covering(table: &'static [Gap], what: &str) -> Option<&'static Gap> {
    listed(table, what).or_else(|| {
        table
            .iter()
            .filter(|g| {
                what.strip_prefix(g.keyword)
                    .is_some_and(|rest| rest.starts_with(' '))
            })
            .max_by_key(|g| g.keyword.len())
    })
}

/// A use of an unhonoured keyword in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    /// The file's name as given to the parser.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// The keyword as written (`option logasap`, `bind ssl`).
    pub what: String,
    /// Its row.
    pub gap: Gap,
}

impl Unsupported {
    /// `file:line: 'what' is not honoured: differs`.
    pub fn describe(&self) -> String {
        format!(
            "{}:{}: '{}' is not honoured: {}",
            self.file, self.line, self.what, self.gap.differs
        )
    }
}

/// The README's table: every row of every table, as Markdown.
pub fn markdown() -> String {
    let sections: [(&str, &[Gap]); 6] = [
        ("haproxy.cfg, `global`", HAPROXY_GLOBAL),
        ("haproxy.cfg, proxies and `defaults`", HAPROXY_PROXY),
        ("keepalived.conf, top level", KEEPALIVED_TOP),
        ("keepalived.conf, `global_defs`", KEEPALIVED_GLOBAL),
        ("keepalived.conf, `vrrp_instance`", KEEPALIVED_INSTANCE),
        ("keepalived.conf, `vrrp_sync_group`", KEEPALIVED_SYNC_GROUP),
    ];
    let mut out = String::new();
    for (title, rows) in sections {
        out.push_str(&format!(
            "\n#### {title}\n\n| keyword | impact | what haven does instead |\n|---|---|---|\n"
        ));
        for g in rows {
            let keyword = g.keyword.replace('|', "\\|");
            out.push_str(&format!(
                "| `{keyword}` | {} | {} |\n",
                g.impact.word(),
                g.differs.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
