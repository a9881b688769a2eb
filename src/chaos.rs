//! `haven sim SCENARIO --chaos N`: N random fault schedules over the
//! scenario's cluster, seeds `--seed` (1 by default) onwards, on all cores;
//! prints each broken invariant with the command that reproduces it, and
//! exits 1 when one broke. With N = 1 the run's outputs are written too.

use crate::SimArgs;
use anyhow::Result;
use haven_sim::chaos::ChaosRun;
use rayon::prelude::*;
use std::process::ExitCode;

/// Runs `haven sim --chaos`.
pub(crate) fn run(args: &SimArgs, count: u64) -> Result<ExitCode> {
    let Some((loaded, text)) = crate::sim::load_scenario(&args.scenario, args.output.log_style)?
    else {
        return Ok(ExitCode::from(1));
    };
    let first = args.seed.unwrap_or(1);
    if count == 1 {
        // One schedule: its outputs too, to see what happened.
        let chaotic = haven_sim::chaos::schedule(&loaded, first);
        let out = args.output.out.clone().unwrap_or_else(|| {
            std::path::Path::new("out").join(format!("{}-chaos-{first}", loaded.name))
        });
        let rec = haven_sim::run(&chaotic, Some(first));
        crate::sim::write_outputs(&rec, &text, &out)?;
    }
    let started = std::time::Instant::now();
    let runs: Vec<ChaosRun> = (first..first + count)
        .into_par_iter()
        .map(|seed| haven_sim::chaos::run(&loaded, seed))
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let mut broken = 0;
    for r in runs.iter().filter(|r| !r.violations.is_empty()) {
        broken += 1;
        for v in &r.violations {
            println!("seed {}: {} at {}: {}", r.seed, v.invariant, v.at, v.detail);
        }
        println!(
            "  reproduce: haven sim {} --chaos 1 --seed {}",
            args.scenario.display(),
            r.seed
        );
    }
    let faults: usize = runs.iter().map(|r| r.faults).sum();
    let steps: u64 = runs.iter().map(|r| r.steps).sum();
    println!(
        "chaos: {count} schedules ({faults} faults, {steps} checked steps) in {elapsed:.1} s: {broken} broke an invariant"
    );
    Ok(if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
