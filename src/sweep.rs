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

impl Shard {
    /// The shard a job engine gives this process, read from its
    /// variables (`var`), and the engine's name: a Slurm array task
    /// (`SLURM_ARRAY_TASK_ID` among the array's `_MIN`, `_STEP` and
    /// `_COUNT`), or a pod of a Kubernetes Indexed Job
    /// (`JOB_COMPLETION_INDEX`, from 0, of `shards`, the Job's
    /// completions). `None` outside both.
    pub(crate) fn from_engine(
        var: impl Fn(&str) -> Option<String>,
        shards: Option<u32>,
    ) -> Result<Option<(Self, &'static str)>, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| format!("{name}='{v}' is not a number"))
                })
                .transpose()
        };
        let (slurm, kubernetes) = (
            number("SLURM_ARRAY_TASK_ID")?,
            number("JOB_COMPLETION_INDEX")?,
        );
        let (index, count, engine) = match (slurm, kubernetes) {
            (Some(_), Some(_)) => {
                return Err(
                    "both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set: pass --shard I/N"
                        .into(),
                )
            }
            (None, None) if shards.is_some() => {
                return Err("--shards N is for a Kubernetes Indexed Job: JOB_COMPLETION_INDEX is not set; pass --shard I/N".into())
            }
            (None, None) => return Ok(None),
            (Some(id), None) => {
                if shards.is_some() {
                    return Err("--shards N is for a Kubernetes Indexed Job; a Slurm array gives its own count".into());
                }
                let first = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
                let count = number("SLURM_ARRAY_TASK_COUNT")?
                    .ok_or("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT")?;
                let offset = id.checked_sub(first).filter(|o| o % step == 0).ok_or_else(|| {
                    format!("SLURM_ARRAY_TASK_ID {id} is not in the array from {first} by {step}")
                })?;
                (offset / step + 1, count, "Slurm array")
            }
            (None, Some(index)) => {
                let count = shards.ok_or(
                    "JOB_COMPLETION_INDEX is set: pass --shards N, the Indexed Job's completions",
                )?;
                (index + 1, count, "Kubernetes Indexed Job")
            }
        };
        if index == 0 || index > count {
            return Err(format!("{engine}: shard {index} of {count} does not exist"));
        }
        Ok(Some((Self { index, count }, engine)))
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
    let engine = Shard::from_engine(|name| std::env::var(name).ok(), args.shards)
        .map_err(|e| anyhow!("sweep shard: {e}"))?;
    let shard = args.shard.or(engine.map(|(shard, _)| shard));
    if args.output.report && shard.is_some() {
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
    let part = shard.unwrap_or(Shard { index: 1, count: 1 });
    let runs: Vec<u64> = (0..total)
        .filter(|k| k % u64::from(part.count) == u64::from(part.index - 1))
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
    let file = match shard {
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
        shard.map_or(String::new(), |s| format!(
            ", shard {}/{}{}",
            s.index,
            s.count,
            engine.map_or(String::new(), |(_, by)| format!(" from the {by}"))
        )),
        elapsed.as_secs_f64(),
        path.display()
    );
    if args.output.report {
        crate::report::render(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::Shard;

    /// The shard given by the variables `vars` and `--shards`.
    fn shard(vars: &[(&str, &str)], shards: Option<u32>) -> Result<Option<(u32, u32)>, String> {
        let var = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Shard::from_engine(var, shards).map(|s| s.map(|(s, _)| (s.index, s.count)))
    }

    #[test]
    fn slurm_array_tasks_map_to_shards_in_order() {
        let task = |id, min, step, count| {
            shard(
                &[
                    ("SLURM_ARRAY_TASK_ID", id),
                    ("SLURM_ARRAY_TASK_MIN", min),
                    ("SLURM_ARRAY_TASK_STEP", step),
                    ("SLURM_ARRAY_TASK_COUNT", count),
                ],
                None,
            )
        };
        assert_eq!(task("0", "0", "1", "4"), Ok(Some((1, 4))));
        assert_eq!(task("4", "1", "1", "4"), Ok(Some((4, 4))), "--array=1-4");
        assert_eq!(task("8", "0", "4", "4"), Ok(Some((3, 4))), "--array=0-12:4");
        assert!(task("5", "0", "4", "4").is_err(), "not a task of the array");
        assert!(task("9", "1", "1", "4").is_err(), "past the count");
        assert!(shard(&[("SLURM_ARRAY_TASK_ID", "1")], None).is_err());
    }

    #[test]
    fn indexed_job_pods_map_to_shards_of_the_completions() {
        let pod = |index, shards| shard(&[("JOB_COMPLETION_INDEX", index)], shards);
        assert_eq!(pod("0", Some(3)), Ok(Some((1, 3))));
        assert_eq!(pod("2", Some(3)), Ok(Some((3, 3))));
        assert!(pod("3", Some(3)).is_err(), "past the completions");
        assert!(pod("0", None).expect_err("no count").contains("--shards N"));
        assert!(pod("x", Some(3))
            .expect_err("no index")
            .contains("not a number"));
    }

    #[test]
    fn without_an_engine_there_is_no_shard() {
        assert_eq!(shard(&[], None), Ok(None));
        assert!(shard(&[], Some(3)).is_err(), "--shards alone");
        let both = [("SLURM_ARRAY_TASK_ID", "1"), ("JOB_COMPLETION_INDEX", "1")];
        assert!(shard(&both, Some(2)).is_err());
    }
}
