//! The stats page: haproxy's title and one table per proxy with the
//! columns operators read first. The full figures are in the CSV.

use super::csv::{csv, Sources};

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

/// The HTML page, of the proxies `scope` names (see [`csv`]).
pub fn html(s: &Sources<'_>, scope: Option<&str>) -> String {
    let text = csv(s, scope);
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let at: Vec<usize> = SHOWN
        .iter()
        .filter_map(|c| header.iter().position(|h| h == c))
        .collect();
    let mut out = String::from("<html><head><title>Statistics Report for HAProxy</title></head><body>\n<h1>Statistics Report for HAProxy</h1>\n");
    let mut current = String::new();
    for l in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = l.split(',').collect();
        let proxy = cells.first().copied().unwrap_or("");
        if proxy != current {
            if !current.is_empty() {
                out.push_str("</table>\n");
            }
            current = proxy.to_owned();
            out.push_str(&format!(
                "<h2>{}</h2>\n<table border=\"1\"><tr>",
                esc(proxy)
            ));
            for c in SHOWN {
                out.push_str(&format!("<th>{c}</th>"));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("<tr>");
        for i in &at {
            out.push_str(&format!(
                "<td>{}</td>",
                esc(cells.get(*i).copied().unwrap_or(""))
            ));
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
