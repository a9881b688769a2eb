//! `haven sweep`: one scenario over every combination of `--set` values and
//! many seeds, run in parallel; one `sweep.csv` row per run, in an order
//! that depends on neither `--jobs` nor sharding.

use crate::SweepArgs;
use anyhow::{anyhow, bail, Context, Result};
use haven_reports::{shard_file, Sweep, SweepRow};
use haven_sim::{Loaded, Outcome, Param};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

/// `--shard I/N`: this process runs the runs whose index is I-1 modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    index: u32,
    count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}': expected I/N with 1 <= I <= N, e.g. 2/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) =
            (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// Every combination of the parameters' values, the last parameter
/// varying fastest.
fn combinations(params: &[Param]) -> Vec<Vec<String>> {
    params.iter().fold(vec![Vec::new()], |acc, p| {
        acc.iter()
            .flat_map(|prefix| {
                p.values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(v.clone());
                    c
                })
            })
            .collect()
    })
}

/// Seconds with microsecond precision.
fn secs(d: haven_core::time::Duration) -> f64 {
    d.as_micros() as f64 / 1e6
}

fn row(run: u64, values: &[String], seed: u64, o: &Outcome) -> SweepRow {
    SweepRow {
        run,
        values: values.to_vec(),
        seed,
        detection_s: o.detection.map(secs),
        vip_move_s: o.vip_move.map(secs),
        client_downtime_s: secs(o.client_downtime),
        failed_requests: o.failed_requests,
        p99_ms: o.p99_ms,
        two_masters_s: secs(o.two_masters),
        passed: o.passed,
    }
}

/// A progress bar on a terminal; plain lines every tenth otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    done: AtomicU64,
    total: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "sweep {bar:40} {pos}/{len} runs, {per_sec}, eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            done: AtomicU64::new(0),
            total,
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if done * 10 / self.total != (done - 1) * 10 / self.total => {
                haven_runtime::eprintln_whole!("sweep: {done}/{} runs", self.total);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `haven sweep`.
pub(crate) fn run(args: &SweepArgs) -> Result<ExitCode> {
    let Some((base, _)) = crate::sim::load_scenario(&args.scenario, args.output.log_style)? else {
        return Ok(ExitCode::from(1));
    };
    if args.output.report && args.shard.is_some() {
        bail!("--report needs the whole sweep: run `haven report DIR` once every shard is in DIR");
    }
    let combos = combinations(&args.set);
    let scenarios: Vec<Loaded> = combos
        .iter()
        .map(|values| {
            let mut sc = base.clone();
            for (p, v) in args.set.iter().zip(values) {
                haven_sim::apply(&mut sc, &p.name, v).map_err(|e| anyhow!("--set {e}"))?;
            }
            Ok(sc)
        })
        .collect::<Result<_>>()?;
    let seeds = args.seeds;
    let total = combos.len() as u64 * seeds;
    let shard = args.shard.unwrap_or(Shard { index: 1, count: 1 });
    let runs: Vec<u64> = (0..total)
        .filter(|k| k % u64::from(shard.count) == u64::from(shard.index - 1))
        .collect();
    let jobs = args.jobs.map_or(0, usize::from);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let progress = Progress::new(runs.len().max(1) as u64);
    let started = std::time::Instant::now();
    let rows: Vec<SweepRow> = pool.install(|| {
        runs.par_iter()
            .map(|&k| {
                let c = (k / seeds) as usize;
                let seed = args.first_seed + k % seeds;
                let outcome = haven_sim::run(&scenarios[c], Some(seed)).outcome();
                progress.tick();
                row(k, &combos[c], seed, &outcome)
            })
            .collect()
    });
    progress.finish();
    let elapsed = started.elapsed();
    let sweep = Sweep {
        params: args.set.iter().map(|p| p.name.clone()).collect(),
        rows,
    };
    let out = args
        .output
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(format!("{}-sweep", base.name)));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create '{}'", out.display()))?;
    let file = match args.shard {
        Some(s) => shard_file(s.index, s.count),
        None => "sweep.csv".to_owned(),
    };
    let path = out.join(&file);
    std::fs::write(&path, sweep.to_csv())
        .with_context(|| format!("cannot write '{}'", path.display()))?;
    println!(
        "sweep {}: {} runs ({} combinations x {seeds} seeds{}) in {:.1} s -> {}",
        base.name,
        runs.len(),
        combos.len(),
        args.shard.map_or(String::new(), |s| format!(
            ", shard {}/{}",
            s.index, s.count
        )),
        elapsed.as_secs_f64(),
        path.display()
    );
    if args.output.report {
        crate::report::render(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
