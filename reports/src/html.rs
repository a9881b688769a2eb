//! `report.html`: one self-contained page (inline SVG, no scripts, no
//! external files) with the plots, the summary tables, the scenario and
//! the log lines that tell the story.

use crate::plot::Plot;
use crate::run::Run;
use std::fmt::Write as _;
use std::path::Path;

/// Log lines worth reading in a report: state changes and their causes.
const KEY_WORDS: &[&str] = &[
    "Entering",
    "Transition",
    "forcing",
    "discarding",
    "priority",
    "VRRP_Script",
    "removing",
    "setting",
    " is DOWN",
    " is UP",
    "no server available",
    "Netlink reflector",
];

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn field(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(
            || n.to_string(),
            |f| format!("{}", (f * 1000.0).round() / 1000.0),
        ),
        // Counts and seeds, whole.
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// One `<tr>` of already escaped cells.
pub(crate) fn table_row(h: &mut String, cells: impl IntoIterator<Item = String>) {
    h.push_str("<tr>");
    for c in cells {
        let _ = write!(h, "<td>{c}</td>");
    }
    h.push_str("</tr>\n");
}

/// The page up to its title heading: `haven report: NAME`.
pub(crate) fn page_head(name: &str) -> String {
    let name = esc(name);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>haven report: {name}</title>\n<style>{STYLE}</style></head><body>\n<h1>haven report: {name}</h1>\n"
    )
}

/// The page's only styling.
const STYLE: &str = "body{font-family:sans-serif;max-width:1060px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}th{background:#eee}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}.ok{color:#2a7}.failed{color:#c22;font-weight:bold}";

/// An SVG file's text without its XML declaration, for inlining.
pub(crate) fn inline_svg(path: &Path) -> std::io::Result<String> {
    let svg = std::fs::read_to_string(path)?;
    Ok(svg
        .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .trim()
        .to_owned())
}

/// Writes `dir/report.html` for `run` with the `plots` already rendered in
/// `dir`; returns its path.
pub fn write_report(run: &Run, dir: &Path, plots: &[Plot]) -> std::io::Result<std::path::PathBuf> {
    let name = field(&run.summary["scenario"]);
    let mut h = page_head(&name);
    let _ = writeln!(h, "<p>Seed {}.</p>", esc(&field(&run.summary["seed"])));
    h.push_str("<h2>Summary</h2>\n");
    if let Some(l) = run.summary["latency"].as_object() {
        h.push_str("<table><tr><th>requests</th><th>failed</th><th>mean (ms)</th><th>p50 (ms)</th><th>p99 (ms)</th><th>max (ms)</th></tr>\n");
        let keys = [
            "requests", "failed", "mean_ms", "p50_ms", "p99_ms", "max_ms",
        ];
        table_row(&mut h, keys.map(|k| esc(&field(&l[k]))));
        h.push_str("</table>\n");
    }
    if let Some(fs) = run.summary["failovers"]
        .as_array()
        .filter(|f| !f.is_empty())
    {
        h.push_str("<table><tr><th>fault</th><th>at (s)</th><th>detected (s)</th><th>VIP moved (s)</th><th>new owner</th><th>ARP converged (s)</th><th>failed requests</th><th>client downtime (s)</th></tr>\n");
        let keys = [
            "fault",
            "at",
            "detected",
            "vip_moved",
            "new_owner",
            "arp_converged",
            "failed_requests",
            "client_downtime",
        ];
        for f in fs {
            table_row(&mut h, keys.map(|k| esc(&field(&f[k]))));
        }
        h.push_str("</table>\n");
    }
    if let Some(es) = run.summary["expectations"]
        .as_array()
        .filter(|e| !e.is_empty())
    {
        h.push_str("<table><tr><th>expectation</th><th>verdict</th><th>seen</th></tr>\n");
        for e in es {
            let ok = e["passed"].as_bool().unwrap_or(false);
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(&field(&e["expect"])),
                if ok { "ok" } else { "failed" },
                if ok { "passed" } else { "FAILED" },
                esc(&field(&e["seen"]))
            );
        }
        h.push_str("</table>\n");
    }
    for plot in plots {
        let svg = inline_svg(&dir.join(format!("{}.svg", plot.stem())))?;
        let _ = writeln!(h, "<h2>{}</h2>\n<figure>{svg}</figure>", esc(&plot.title()));
    }
    h.push_str("<h2>Key log lines</h2>\n");
    for (host, log) in &run.logs {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| KEY_WORDS.iter().any(|k| l.contains(k)))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<h3>{}</h3>\n<pre>{}</pre>\n",
            esc(host),
            esc(&lines.join("\n"))
        );
    }
    if let Some(sc) = &run.scenario {
        let _ = writeln!(h, "<h2>Scenario</h2>\n<pre>{}</pre>", esc(sc));
    }
    h.push_str("</body></html>\n");
    let path = dir.join("report.html");
    std::fs::write(&path, h)?;
    Ok(path)
}
