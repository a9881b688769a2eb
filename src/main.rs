//! `haven`: HAProxy + Keepalived high availability, one core, simulated or
//! real. This binary parses the command line and hands over to a command.

mod check;
mod fs_loader;
mod report;
mod sim;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// haven: a HAProxy + Keepalived cluster in one program, simulated or real.
#[derive(Debug, Parser)]
#[command(name = "haven", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check haproxy.cfg and keepalived.conf files, like `haproxy -c` and
    /// `keepalived -t`: print what was read, then every problem found.
    Check(CheckArgs),
    /// Replay a scenario in the deterministic simulator and write each
    /// host's log, timeline.csv and summary.json.
    Sim(SimArgs),
    /// Render the plots and report.html of a run directory.
    Report(ReportArgs),
}

/// Arguments of `haven report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// A directory `haven sim` wrote.
    dir: PathBuf,
}

/// Arguments of `haven sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimArgs {
    /// The scenario file (TOML; see scenarios/README.md).
    scenario: PathBuf,
    /// Seed of the run (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: out/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// keepalived behaviour and log style for every host.
    #[arg(long, value_enum)]
    log_style: Option<LogStyle>,
    /// Also render the plots and report.html into the output directory.
    #[arg(long)]
    report: bool,
}

/// keepalived generations haven reproduces.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogStyle {
    /// keepalived 1.x (the book's April 4 log).
    #[value(name = "1x")]
    V1,
    /// keepalived 2.2.
    #[value(name = "2x")]
    V2,
}

/// Arguments of `haven check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// haproxy.cfg file or directory of *.cfg files (repeatable; read as one
    /// configuration, in order).
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR")]
    haproxy: Vec<PathBuf>,
    /// keepalived.conf file.
    #[arg(short = 'k', long = "keepalived", value_name = "FILE")]
    keepalived: Option<PathBuf>,
    /// Print the resolved model instead of the summary.
    #[arg(long, value_enum, value_name = "FORMAT")]
    dump: Option<DumpFormat>,
}

/// Output formats of `--dump`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DumpFormat {
    /// Pretty-printed JSON.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Sim(args) => sim::run(&args),
        Command::Report(args) => report::render(&args.dir).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("haven: {e:#}");
            ExitCode::from(1)
        }
    }
}
