//! `haven`: HAProxy + Keepalived high availability, one core, simulated or
//! real. This binary parses the command line and hands over to a command.

mod chaos;
mod check;
mod cluster;
mod compare;
mod fs_loader;
mod limits;
mod personality;
mod privileges;
mod reload;
mod reload_simulate;
mod replay;
mod report;
mod run;
mod sim;
mod simulate;
mod sweep;
mod unsupported;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc: glibc's malloc and free took a sixth of the proxy's user
/// time (bench/proxy.sh under perf). Built without transparent huge pages
/// (Cargo.toml: `no_thp`): with them the heap grows by 2 MiB at a time, a
/// sixth of a proxy's whole footprint in one step (bench/soak.sh saw one
/// and called it growth), and the simulator took 19 MB where 10 MB do,
/// at the same speed. Version 2 (Cargo.toml: `v2`): Rust asks every
/// allocation aligned, and version 3 over-allocates such a request when
/// its page runs out where version 2 takes the plain path; with 2, an
/// idle connection costs 0.96 kB against 1.09 (bench/idle.sh), and a
/// request fewer instructions (callgrind).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run as the load balancer: serve the frontends of haproxy.cfg for
    /// real (HTTP), with health checks, and the VRRP instances of
    /// keepalived.conf, until interrupted.
    Run(RunArgs),
    /// Make a running `haven run` re-read its config (SIGHUP), after
    /// checking the new one.
    Reload(ReloadArgs),
    /// Run a scenario over parameter combinations and many seeds, in
    /// parallel, and write sweep.csv (one row per run).
    Sweep(SweepArgs),
    /// Render the plots and report.html of a run or sweep directory.
    Report(ReportArgs),
    /// Turn an incident's logs and the cluster's configs into a scenario
    /// that reproduces them, run it, and print the real log against the
    /// simulated one.
    Replay(ReplayArgs),
    /// Print a shell completion script: `haven completions bash >
    /// /etc/bash_completion.d/haven`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Behave as haproxy with its own flags (as when started as
    /// `haproxy`): `haven haproxy -c -f haproxy.cfg`.
    #[command(disable_help_flag = true)]
    Haproxy {
        /// haproxy's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Behave as keepalived with its own flags (as when started as
    /// `keepalived`): `haven keepalived -t -f keepalived.conf`.
    #[command(disable_help_flag = true)]
    Keepalived {
        /// keepalived's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Arguments of `haven run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// haproxy.cfg file or directory of *.cfg files (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR")]
    haproxy: Vec<PathBuf>,
    /// keepalived.conf: run its VRRP instances too (or alone).
    #[arg(short = 'k', long = "keepalived", value_name = "FILE")]
    keepalived: Option<PathBuf>,
    /// Also print the VRRP lines keepalived prints only with -D.
    #[arg(short = 'D', long = "log-detail")]
    log_detail: bool,
    /// Write the process id here (default: the config's `pidfile`).
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// Start even when the config holds keywords haven does not honour
    /// that change who is let in, where traffic goes or what is served
    /// (each is said at start).
    #[arg(long)]
    accept_unsupported: bool,
}

/// `--load` of a command's `--simulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadArg {
    /// The load of --simulate: requests per second, at a fixed rate.
    #[arg(
        long = "load",
        value_name = "REQ/S",
        default_value_t = 20.0,
        requires = "simulate"
    )]
    pub(crate) per_second: f64,
}

/// Arguments of `haven reload`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReloadArgs {
    /// The new haproxy.cfg (repeatable): checked first, and its `pidfile`
    /// names the process when --pidfile is not given.
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR")]
    haproxy: Vec<PathBuf>,
    /// The new keepalived.conf: checked first.
    #[arg(short = 'k', long = "keepalived", value_name = "FILE")]
    keepalived: Option<PathBuf>,
    /// The pidfile of the running `haven run`.
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// Before signalling, run the standard faults on the new configs with
    /// the peers' keepalived.conf (`--peer`), print their figures (beside
    /// the previous configs' with `--previous-*`), and send nothing when
    /// the simulation finds a problem (exit 1).
    #[arg(long, requires_all = ["keepalived", "peer"])]
    simulate: bool,
    /// A peer's keepalived.conf, for --simulate (repeatable).
    #[arg(long, value_name = "FILE", requires = "simulate")]
    peer: Vec<PathBuf>,
    /// The keepalived.conf the daemon runs now, for --simulate's
    /// comparison.
    #[arg(long, value_name = "FILE", requires = "simulate")]
    previous_keepalived: Option<PathBuf>,
    /// The haproxy.cfg the daemon runs now (repeatable), for --simulate's
    /// comparison.
    #[arg(long, value_name = "FILE", requires = "simulate")]
    previous_file: Vec<PathBuf>,
    #[command(flatten)]
    load: LoadArg,
}

/// Arguments of `haven sweep`.
#[derive(Debug, clap::Args)]
pub(crate) struct SweepArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// NAME=V1,V2,...: a config keyword and the values to try, in the
    /// keyword's own syntax (repeatable; every combination runs). Known:
    /// advert_int, preempt_delay, garp_master_delay, interval, fall, rise,
    /// weight (keepalived) and inter, fall, rise, weight (haproxy); a
    /// `keepalived.` or `haproxy.` prefix picks one program.
    #[arg(long = "set", value_name = "NAME=VALUES")]
    set: Vec<haven_sim::Param>,
    /// Seeds per combination.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// The first seed; a combination runs seeds first..first+seeds.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Runs at once (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Run only shard I of N (1-based) and write sweep-I-of-N.csv;
    /// `haven report` merges the shards of a directory. Without it, a
    /// Slurm array task or a Kubernetes Indexed Job's pod takes its shard
    /// from the job's variables.
    #[arg(long, value_name = "I/N")]
    shard: Option<sweep::Shard>,
    /// The number of shards of a Kubernetes Indexed Job (its
    /// `completions`): each pod runs shard JOB_COMPLETION_INDEX + 1 of N.
    #[arg(long, value_name = "N", conflicts_with = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    shards: Option<u32>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options `haven sim` and `haven sweep` share.
#[derive(Debug, clap::Args)]
pub(crate) struct OutputArgs {
    /// Output directory (default: out/<scenario name>, or
    /// out/<scenario name>-sweep for a sweep).
    #[arg(long)]
    out: Option<PathBuf>,
    /// keepalived behaviour and log style for every host.
    #[arg(long, value_enum)]
    log_style: Option<LogStyle>,
    /// Also render the plots and report.html into the output directory
    /// (a sharded sweep: once every shard is there, with `haven report`).
    #[arg(long)]
    report: bool,
}

/// Arguments of `haven report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// A directory `haven sim` or `haven sweep` wrote.
    #[arg(required_unless_present = "compare")]
    dir: Option<PathBuf>,
    /// Compare two runs or sweep combinations side by side instead: each
    /// a run directory, a sweep directory of one combination, or
    /// DIR#name=value[,name=value] (a sweep's combination).
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "dir")]
    compare: Option<Vec<String>>,
    /// Where --compare writes its plots and report.html.
    #[arg(long, default_value = "out/compare", requires = "compare")]
    out: PathBuf,
}

/// Arguments of `haven sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimArgs {
    /// The scenario file (TOML; see scenarios/README.md).
    scenario: PathBuf,
    /// Seed of the run (default: the scenario's); with --chaos, the first
    /// schedule's (default 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Run N random fault schedules over the scenario's cluster instead,
    /// checking its invariants after every step (no outputs written).
    #[arg(long, value_name = "N")]
    chaos: Option<u64>,
    #[command(flatten)]
    output: OutputArgs,
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
    /// keepalived.conf file (repeatable: one per node, for --simulate).
    #[arg(short = 'k', long = "keepalived", value_name = "FILE")]
    keepalived: Vec<PathBuf>,
    /// Run the standard faults (proxy death, keepalived killed or
    /// stopped, host crash, link down, backend down) in the simulator on
    /// these configs, one keepalived.conf per node, and print what each
    /// costs the clients; flag the classic mistakes. Exit 1 on a finding.
    #[arg(long)]
    simulate: bool,
    #[command(flatten)]
    load: LoadArg,
    /// Print the resolved model instead of the summary.
    #[arg(long, value_enum, value_name = "FORMAT")]
    dump: Option<DumpFormat>,
    /// Print the table of every keyword haven reads but does not honour,
    /// with what differs (Markdown), and nothing else.
    #[arg(long, exclusive = true)]
    list_unsupported: bool,
}

/// Arguments of `haven replay`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// Log files: syslog (keepalived's and haproxy's lines, 1.x or 2.x
    /// wording), `journalctl -o short|short-precise|short-iso` exports or
    /// keepalived's console log; HOST=FILE names the node of lines that
    /// carry no host (console logs, haproxy's `localhost`).
    #[arg(required = true, value_name = "[HOST=]LOG")]
    logs: Vec<String>,
    /// haproxy.cfg file or directory of *.cfg files (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR", required = true)]
    haproxy: Vec<PathBuf>,
    /// keepalived.conf of each node (repeatable); the node is named after
    /// its router_id or file name as its log lines name it, or NAME=.
    #[arg(
        short = 'k',
        long = "keepalived",
        value_name = "[NAME=]FILE",
        required = true
    )]
    keepalived: Vec<String>,
    /// The year of syslog dates, which have none (default: this year).
    #[arg(long, value_name = "YEAR")]
    year: Option<i64>,
    /// Where the scenario, its configs, the run's outputs and diff.txt go.
    #[arg(long, value_name = "DIR", default_value = "out/replay")]
    out: PathBuf,
}

/// Output formats of `--dump`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DumpFormat {
    /// Pretty-printed JSON.
    Json,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(personality) = argv.first().and_then(|a| personality::by_name(a)) {
        return personality(&argv[1..]);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Haproxy { args } => return personality::haproxy::main(&args),
        Command::Keepalived { args } => return personality::keepalived::main(&args),
        Command::Check(args) => check::run(&args),
        Command::Sim(args) => match args.chaos {
            Some(n) => chaos::run(&args, n),
            None => sim::run(&args),
        },
        Command::Run(args) => run::run(&args),
        Command::Reload(args) => reload::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Report(args) => match &args.compare {
            Some(sides) => compare::compare(&sides[0], &sides[1], &args.out),
            // clap asks for a directory without --compare.
            None => report::render(args.dir.as_deref().unwrap_or(Path::new("."))),
        }
        .map(|()| ExitCode::SUCCESS),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "haven", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            haven_runtime::eprintln_whole!("haven: {e:#}");
            ExitCode::from(1)
        }
    }
}
