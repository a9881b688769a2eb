//! The stats page: haproxy's title and one table per proxy with the
//! columns operators read first. The full figures are in the CSV.

use super::csv::{rows, Shown, Sources};
use super::typed::modules;
use crate::config::haproxy::{Global, Stats};

/// `s` safe inside HTML text.
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Columns the page shows, by CSV name.
const SHOWN: [&str; 12] = [
    "svname",
    "status",
    "weight",
    "act",
    "bck",
    "qcur",
    "scur",
    "smax",
    "stot",
    "lbtot",
    "check_status",
    "check_desc",
];

/// What the page says of the process above its tables.
#[derive(Debug, Clone, Default)]
pub struct Heading<'a> {
    /// The process id.
    pub pid: u32,
    /// `stats show-node`: the node name shown.
    pub node: Option<&'a str>,
    /// `stats show-desc`: the description shown.
    pub desc: Option<&'a str>,
    /// `stats show-legends`: each proxy's capabilities, mode and id.
    pub legends: bool,
    /// `stats show-modules`: each row's stats modules' counters.
    pub modules: bool,
}

impl<'a> Heading<'a> {
    /// The heading a stats page with settings `page` shows, in a process
    /// with `global` settings on host `host`.
    pub fn new(page: Option<&'a Stats>, global: &'a Global, host: &'a str, pid: u32) -> Self {
        let shown = |own: Option<&'a String>, default: Option<&'a str>| {
            own.map(|v| match v.is_empty() {
                true => default.unwrap_or_default(),
                false => v.as_str(),
            })
        };
        Self {
            pid,
            node: shown(
                page.and_then(|p| p.show_node.as_ref()),
                Some(global.node.as_deref().unwrap_or(host)),
            ),
            desc: shown(
                page.and_then(|p| p.show_desc.as_ref()),
                global.description.as_deref(),
            ),
            legends: page.is_some_and(|p| p.show_legends),
            modules: page.is_some_and(|p| p.show_modules),
        }
    }

    /// haproxy's title line: `Statistics Report for pid N on NODE: DESC`.
    fn title(&self) -> String {
        let mut t = format!("Statistics Report for pid {}", self.pid);
        if let Some(node) = self.node {
            t.push_str(&format!(" on {}", esc(node)));
        }
        if let Some(desc) = self.desc {
            t.push_str(&format!(": {}", esc(desc)));
        }
        t
    }
}

/// The HTML page, of the proxies `shown` lets through (the rows of the
/// CSV).
pub fn html(s: &Sources<'_>, shown: &Shown<'_>, heading: &Heading<'_>) -> String {
    let mut out = String::from("<html><head><title>Statistics Report for HAProxy");
    if let Some(node) = heading.node {
        out.push_str(&format!(" on {}", esc(node)));
    }
    out.push_str(&format!(
        "</title></head><body>\n<h1>Statistics Report for HAProxy</h1>\n<h2>{}</h2>\n",
        heading.title()
    ));
    let mut current = String::new();
    let all = rows(s, shown.legends);
    let in_scope = all
        .iter()
        .filter(|r| shown.shows(r.get("pxname").map_or("", String::as_str)));
    for r in in_scope {
        let proxy = r.get("pxname").map_or("", String::as_str);
        if proxy != current {
            if !current.is_empty() {
                out.push_str("</table>\n");
            }
            current = proxy.to_owned();
            out.push_str(&format!("<h2>{}</h2>\n", esc(proxy)));
            let found = s
                .config
                .proxies
                .iter()
                .enumerate()
                .find(|(_, p)| p.name == proxy);
            if let Some((index, p)) = found {
                if let Some(d) = &p.description {
                    out.push_str(&format!("<p class=\"desc\">{}</p>\n", esc(d)));
                }
                if heading.legends {
                    out.push_str(&format!(
                        "<p class=\"tips\">cap: {}, mode: {}, id: {}</p>\n",
                        p.kind.type_str(),
                        p.mode.as_str(),
                        super::proxy_id(s.config, index)
                    ));
                }
            }
            out.push_str("<table border=\"1\"><tr>");
            for c in SHOWN {
                out.push_str(&format!("<th>{c}</th>"));
            }
            if heading.modules {
                out.push_str("<th>ssl</th><th>h2</th><th>h1</th>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("<tr>");
        for c in SHOWN {
            let cell = r.get(c).map_or("", String::as_str);
            out.push_str(&format!("<td>{}</td>", esc(cell)));
        }
        if heading.modules {
            for (_, fields) in modules(r) {
                out.push_str("<td><table class=det>");
                for (name, _, value) in fields {
                    out.push_str(&format!("<tr><th>{name}</th><td>{value}</td></tr>"));
                }
                out.push_str("</table></td>");
            }
        }
        out.push_str("</tr>\n");
    }
    if !current.is_empty() {
        out.push_str("</table>\n");
    }
    out.push_str(&super::vrrp::vrrp_table(s.vrrp));
    out.push_str("</body></html>\n");
    out
}
