//! `haven report DIR`: plots (PNG and SVG) and report.html for a run, or
//! for a sweep (merging its shards first).

use anyhow::{Context, Result};
use haven_reports::{load_sweep, render_all, render_sweep, write_report, write_sweep_report, Run};
use std::path::Path;

/// Renders every plot of run or sweep directory `dir` and its report.html.
pub(crate) fn render(dir: &Path) -> Result<()> {
    if let Some(sweep) = load_sweep(dir)? {
        let plots =
            render_sweep(&sweep, dir).map_err(|e| anyhow::anyhow!("cannot draw plots: {e}"))?;
        let name = dir
            .file_name()
            .map_or("sweep".into(), |n| n.to_string_lossy().into_owned());
        let page = write_sweep_report(&sweep, &name, dir, &plots)
            .with_context(|| format!("cannot write the report in '{}'", dir.display()))?;
        let names: Vec<&str> = plots.iter().map(|p| p.stem()).collect();
        println!(
            "report: {} ({} runs; plots: {})",
            page.display(),
            sweep.rows.len(),
            names.join(", ")
        );
        return Ok(());
    }
    let run =
        Run::load(dir).with_context(|| format!("cannot read run directory '{}'", dir.display()))?;
    let plots = render_all(&run, dir).map_err(|e| anyhow::anyhow!("cannot draw plots: {e}"))?;
    let page = write_report(&run, dir, &plots)
        .with_context(|| format!("cannot write the report in '{}'", dir.display()))?;
    let names: Vec<String> = plots.iter().map(|p| p.stem()).collect();
    println!("report: {} (plots: {})", page.display(), names.join(", "));
    Ok(())
}
