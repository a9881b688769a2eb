//! `haven sim`: run a scenario and write what every host logged,
//! `timeline.csv` and `summary.json`; exit 1 when an expectation failed.

use crate::fs_loader::read_text;
use crate::{LogStyle, SimArgs};
use anyhow::{Context, Result};
use haven_core::config::keepalived::Compat;
use std::path::Path;
use std::process::ExitCode;

/// Runs `haven sim`.
pub(crate) fn run(args: &SimArgs) -> Result<ExitCode> {
    let text = read_text(&args.scenario)?;
    let base = args
        .scenario
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let read = |rel: &str| -> Result<String, String> {
        read_text(&base.join(rel)).map_err(|e| format!("{e:#}"))
    };
    let style = args.log_style.map(|s| match s {
        LogStyle::V1 => Compat::V1_2,
        LogStyle::V2 => Compat::V2_2,
    });
    let name = args.scenario.to_string_lossy();
    let loaded = match haven_sim::load(&name, &text, &read, style) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let rec = haven_sim::run(&loaded, args.seed);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&loaded.name));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create '{}'", out.display()))?;
    let write = |file: &str, body: &str| -> Result<()> {
        let p = out.join(file);
        std::fs::write(&p, body).with_context(|| format!("cannot write '{}'", p.display()))
    };
    for (host, body) in rec.syslog_files() {
        write(&format!("{host}.log"), &body)?;
    }
    write("timeline.csv", &rec.timeline_csv())?;
    if rec.has_requests() {
        write("requests.csv", &rec.requests_csv())?;
    }
    write("summary.json", &rec.summary_json())?;
    write("scenario.toml", &text)?;
    print!("{}", rec.summary_text());
    println!("outputs in {}", out.display());
    if args.report {
        crate::report::render(&out)?;
    }
    Ok(if rec.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
