//! `haven sim`: run a scenario and write what every host logged,
//! `timeline.csv` and `summary.json`; exit 1 when an expectation failed.

use crate::fs_loader::read_text;
use crate::{LogStyle, SimArgs};
use anyhow::{Context, Result};
use haven_core::config::keepalived::Compat;
use haven_sim::{Loaded, Recorder};
use std::path::Path;
use std::process::ExitCode;

/// Reads and loads scenario `path`: `Ok(None)` when it has errors, which
/// are printed (`file:line:col: ...`).
pub(crate) fn load_scenario(
    path: &Path,
    log_style: Option<LogStyle>,
) -> Result<Option<(Loaded, String)>> {
    let text = read_text(path)?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let read = |rel: &str| -> Result<String, String> {
        read_text(&base.join(rel)).map_err(|e| format!("{e:#}"))
    };
    let style = log_style.map(|s| match s {
        LogStyle::V1 => Compat::V1_2,
        LogStyle::V2 => Compat::V2_2,
    });
    match haven_sim::load(&path.to_string_lossy(), &text, &read, style) {
        Ok(l) => Ok(Some((l, text))),
        Err(e) => {
            haven_runtime::eprintln_whole!("{e}");
            Ok(None)
        }
    }
}

/// Runs `haven sim`.
pub(crate) fn run(args: &SimArgs) -> Result<ExitCode> {
    let Some((loaded, text)) = load_scenario(&args.scenario, args.output.log_style)? else {
        return Ok(ExitCode::from(1));
    };
    let out = args
        .output
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&loaded.name));
    create_dir(&out)?;
    // Streamed: a long run's memory stays flat.
    let path = out.join("requests.csv");
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot write '{}'", path.display()))?;
    let mut rec = haven_sim::run_streaming(&loaded, args.seed, Box::new(file));
    rec.close_requests()
        .with_context(|| format!("cannot write '{}'", path.display()))?;
    if !rec.has_requests() {
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove '{}'", path.display()))?;
    }
    write_outputs(&rec, &text, &out)?;
    if args.output.report {
        crate::report::render(&out)?;
    }
    Ok(if rec.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn create_dir(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create '{}'", out.display()))
}

/// Writes a run's syslog files, `timeline.csv`, `requests.csv` (unless
/// written already), `summary.json` and the scenario `text` to `out`, and
/// prints the summary.
pub(crate) fn write_outputs(rec: &Recorder, text: &str, out: &Path) -> Result<()> {
    create_dir(out)?;
    let write = |file: &str, body: &str| -> Result<()> {
        let p = out.join(file);
        std::fs::write(&p, body).with_context(|| format!("cannot write '{}'", p.display()))
    };
    for (host, body) in rec.syslog_files() {
        write(&format!("{host}.log"), &body)?;
    }
    write("timeline.csv", &rec.timeline_csv())?;
    if rec.has_requests() && !rec.requests_streamed() {
        write("requests.csv", &rec.requests_csv())?;
    }
    write("summary.json", &rec.summary_json())?;
    write("scenario.toml", text)?;
    print!("{}", rec.summary_text());
    println!("outputs in {}", out.display());
    Ok(())
}
