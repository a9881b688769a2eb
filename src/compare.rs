//! `haven report --compare A B`: two runs, or two combinations of sweeps,
//! side by side — client downtime, failed requests and the fault-to-VIP
//! move, with the other figures in the table — as one sweep report whose
//! two "combinations" are the sides.

use anyhow::{anyhow, bail, Context, Result};
use haven_reports::{load_sweep, render_sweep, write_comparison_report, Run, Sweep, SweepRow};
use std::path::Path;

/// Writes the comparison of `a` and `b` into `out` (plots and
/// report.html). Each is a run directory, a sweep directory of one
/// combination, or `DIR#name=value[,name=value...]`: a sweep's
/// combination.
pub(crate) fn compare(a: &str, b: &str, out: &Path) -> Result<()> {
    let (mut first, mut second) = (side(a)?, side(b)?);
    if first.0 == second.0 {
        first.0.insert_str(0, "A: ");
        second.0.insert_str(0, "B: ");
    }
    let mut rows = Vec::new();
    for (label, side_rows) in [first, second] {
        for mut row in side_rows {
            row.run = rows.len() as u64;
            row.values = vec![label.clone()];
            rows.push(row);
        }
    }
    let sweep = Sweep {
        params: vec!["compared".into()],
        rows,
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create '{}'", out.display()))?;
    let plots = render_sweep(&sweep, out).map_err(|e| anyhow!("cannot draw plots: {e}"))?;
    let page = write_comparison_report(&sweep, &format!("{a} against {b}"), out, &plots)
        .with_context(|| format!("cannot write the report in '{}'", out.display()))?;
    println!("comparison: {} ({} runs)", page.display(), sweep.rows.len());
    Ok(())
}

/// One side: its label and its rows.
fn side(spec: &str) -> Result<(String, Vec<SweepRow>)> {
    let (dir, pick) = match spec.split_once('#') {
        Some((dir, pick)) => (dir, Some(pick)),
        None => (spec, None),
    };
    let path = Path::new(dir);
    let name = path
        .file_name()
        .map_or_else(|| dir.to_owned(), |n| n.to_string_lossy().into_owned());
    let Some(sweep) = load_sweep(path)? else {
        if pick.is_some() {
            bail!("'{dir}' is a run, not a sweep: it has no combination to pick");
        }
        let run = Run::load(path).with_context(|| format!("cannot read run directory '{dir}'"))?;
        return Ok((name, vec![run.as_row(0, Vec::new())]));
    };
    let wanted = pick
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| anyhow!("'{p}' in '{spec}': expected name=value"))
        })
        .collect::<Result<Vec<_>>>()?;
    let combos = sweep.combinations();
    let matching: Vec<_> = combos
        .iter()
        .filter(|(values, _)| {
            wanted.iter().all(|(k, v)| {
                let at = sweep.params.iter().position(|p| p == k);
                at.is_some_and(|i| values[i] == *v)
            })
        })
        .collect();
    let [(values, rows)] = matching.as_slice() else {
        let known: Vec<String> = combos.iter().map(|(v, _)| sweep.label(v)).collect();
        bail!(
            "'{spec}' names {} of the sweep's combinations, not one: pick one as {dir}#name=value (known: {})",
            matching.len(),
            known.join("; ")
        );
    };
    let label = format!("{name} {}", sweep.label(values));
    Ok((label, rows.iter().map(|r| (*r).clone()).collect()))
}
