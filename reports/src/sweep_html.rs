//! The sweep's `report.html`: per parameter combination, how often the
//! expectations held and the spread of each figure, then the plots.

use crate::html::{esc, inline_svg, page_head, table_row};
use crate::plot::quantile;
use crate::sweep::{Sweep, SweepRow};
use crate::sweep_plot::SweepPlot;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `p50 / p95 / max` of a figure over rows with `decimals` decimals (0
/// for counts), or `-` when none has it.
fn spread(rows: &[&SweepRow], decimals: usize, value: impl Fn(&SweepRow) -> Option<f64>) -> String {
    let mut v: Vec<f64> = rows.iter().filter_map(|r| value(r)).collect();
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(f64::total_cmp);
    format!(
        "{:.d$} / {:.d$} / {:.d$}",
        quantile(&v, 0.5),
        quantile(&v, 0.95),
        v[v.len() - 1],
        d = decimals
    )
}

/// Writes `dir/report.html` for `sweep` named `name`, with `plots` already
/// rendered in `dir`; returns its path.
pub fn write_sweep_report(
    sweep: &Sweep,
    name: &str,
    dir: &Path,
    plots: &[SweepPlot],
) -> std::io::Result<PathBuf> {
    let intro = format!(
        "Parameter sweep: {} runs, {} combinations of {}.",
        sweep.rows.len(),
        sweep.combinations().len(),
        sweep.params.join(", ")
    );
    write_page(sweep, (name, &intro), dir, plots)
}

/// Writes `dir/report.html` comparing two runs or sweep combinations,
/// the two values of `sweep`'s one parameter, named `name`.
pub fn write_comparison_report(
    sweep: &Sweep,
    name: &str,
    dir: &Path,
    plots: &[SweepPlot],
) -> std::io::Result<PathBuf> {
    let intro = format!("Side by side: {} runs.", sweep.rows.len());
    write_page(sweep, (name, &intro), dir, plots)
}

/// The page: its `name` and `intro`, a table row per combination, the
/// plots.
fn write_page(
    sweep: &Sweep,
    (name, intro): (&str, &str),
    dir: &Path,
    plots: &[SweepPlot],
) -> std::io::Result<PathBuf> {
    let combos = sweep.combinations();
    let mut h = page_head(name);
    let _ = writeln!(
        h,
        "<p>{} Figures are p50 / p95 / max over seeds.</p>",
        esc(intro)
    );
    h.push_str("<table><tr><th>parameters</th><th>runs</th><th>expectations held</th><th>detection (s)</th><th>fault to VIP move (s)</th><th>client downtime (s)</th><th>failed requests</th><th>p99 latency (ms)</th><th>two MASTERs (s)</th></tr>\n");
    for (values, rows) in &combos {
        let passed = rows.iter().filter(|r| r.passed).count();
        let cells = [
            esc(&sweep.label(values)),
            rows.len().to_string(),
            passed.to_string(),
            spread(rows, 3, |r| r.detection_s),
            spread(rows, 3, |r| r.vip_move_s),
            spread(rows, 3, |r| Some(r.client_downtime_s)),
            spread(rows, 0, |r| Some(r.failed_requests as f64)),
            spread(rows, 3, |r| r.p99_ms),
            spread(rows, 3, |r| Some(r.two_masters_s)),
        ];
        table_row(&mut h, cells);
    }
    h.push_str("</table>\n");
    for plot in plots {
        let svg = inline_svg(&dir.join(format!("{}.svg", plot.stem())))?;
        let _ = writeln!(h, "<h2>{}</h2>\n<figure>{svg}</figure>", esc(plot.title()));
    }
    h.push_str("</body></html>\n");
    let path = dir.join("report.html");
    std::fs::write(&path, h)?;
    Ok(path)
}
