//! `haven report DIR`: plots (PNG and SVG) and report.html for a run.

use anyhow::{Context, Result};
use haven_reports::{render_all, write_report, Run};
use std::path::Path;

/// Renders every plot of run directory `dir` and its report.html.
pub(crate) fn render(dir: &Path) -> Result<()> {
    let run =
        Run::load(dir).with_context(|| format!("cannot read run directory '{}'", dir.display()))?;
    let plots = render_all(&run, dir).map_err(|e| anyhow::anyhow!("cannot draw plots: {e}"))?;
    let page = write_report(&run, dir, &plots)
        .with_context(|| format!("cannot write the report in '{}'", dir.display()))?;
    let names: Vec<&str> = plots.iter().map(|p| p.stem()).collect();
    println!("report: {} (plots: {})", page.display(), names.join(", "));
    Ok(())
}
