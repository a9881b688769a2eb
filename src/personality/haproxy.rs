//! `haproxy ARGS`: haproxy 2.6's command line. `-c` checks (exit 0, 1, or
//! 2 for a valid config without a listener), `-cc` evaluates a condition,
//! `-v` / `-vv` print the version; otherwise the proxy runs: in the
//! foreground with `-d` / `-db` (or without `daemon`), in the background
//! with `-D` or the config's `daemon`, its pid in `-p`. `-sf` / `-st PIDS`
//! tell the old processes to finish (SIGUSR1) or stop (SIGTERM) once the
//! new one listens. Signals as haproxy: SIGUSR1 soft stop, SIGTERM and
//! SIGINT stop at once, SIGUSR2 and SIGHUP reload (master-worker).

use super::master::{self, Master, WORKER_ENV};
use super::value;
use crate::check::Report;
use crate::run::{launch, Action, Ended, Launch};
use haven_core::config::haproxy::{eval_condition, ConditionError, FEATURES, MAX_THREADS};
use haven_runtime::VrrpLog;
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::SignalKind;

/// The version haproxy-reading tools see: compares as 2.6.12.
pub(crate) fn version() -> String {
    format!("2.6.12-haven-{}", env!("CARGO_PKG_VERSION"))
}

/// The version line: haproxy's layout, so scripts that read the third word
/// get [`version`].
fn version_line() -> String {
    format!(
        "HAProxy version {} 2026/11/24 - https://haproxy.org/",
        version()
    )
}

/// `haproxy -h`'s text (and the answer to an unknown option).
const USAGE: &str =
    "Usage : haproxy [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -p <pidfile> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -V enters verbose mode (disables quiet mode)
        -D goes daemon
        -W master-worker mode.
        -Ws master-worker mode with systemd notify support.
        -q quiet mode : don't display messages
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -L set local peer name (default to hostname)
        -p writes pids of all children to this file
        -sf/-st [pid ]* finishes/terminates old pids.
        -S <bind>[,<bind options>...] new master CLI
haven: the haproxy of the haven load balancer; see `haven --help`.
";

/// `--help`: a manual page.
const MANUAL: &str = include_str!("help/haproxy.txt");

/// haproxy's signals.
const SIGNALS: &[(SignalKind, Action)] = &[
    (SignalKind::user_defined1(), Action::Graceful),
    (SignalKind::terminate(), Action::Immediate(Signal::SIGTERM)),
    (SignalKind::interrupt(), Action::Immediate(Signal::SIGINT)),
    (SignalKind::user_defined2(), Action::Reload),
    (SignalKind::hangup(), Action::Reload),
];

/// What the command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    files: Vec<PathBuf>,
    check: bool,
    condition: Option<String>,
    version: u8,
    manual: bool,
    foreground: bool,
    daemon: bool,
    quiet: bool,
    pidfile: Option<PathBuf>,
    finish: Vec<i32>,
    terminate: Vec<i32>,
    master_worker: bool,
    /// `-Ws`: master-worker with systemd notifications.
    systemd: bool,
    /// `-S`: master CLI addresses.
    master_cli: Vec<String>,
    /// haven's `--accept-unsupported`.
    accept_unsupported: bool,
}

/// Reads haproxy's flags; `Err` for an unknown one or a missing value.
fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-f" => out.files.push(value(args, &mut i, a)?.into()),
            "--" => {
                out.files.extend(args[i + 1..].iter().map(PathBuf::from));
                break;
            }
            "-c" => out.check = true,
            "-cc" => out.condition = Some(value(args, &mut i, a)?.to_owned()),
            "-v" => out.version = out.version.max(1),
            "-vv" => out.version = 2,
            "--help" => out.manual = true,
            "-d" | "-db" => out.foreground = true,
            "-D" => out.daemon = true,
            "-q" => out.quiet = true,
            "-V" => out.quiet = false,
            "-W" => out.master_worker = true,
            "-Ws" => {
                out.master_worker = true;
                out.systemd = true;
            }
            "-S" => out.master_cli.push(value(args, &mut i, a)?.to_owned()),
            "-p" => out.pidfile = Some(value(args, &mut i, a)?.into()),
            "--accept-unsupported" => out.accept_unsupported = true,
            "-L" | "-x" | "-C" | "-n" | "-N" | "-m" => {
                value(args, &mut i, a)?;
            }
            "-sf" | "-st" => {
                let pids = args[i + 1..]
                    .iter()
                    .take_while(|p| !p.starts_with('-'))
                    .map(|p| p.parse::<i32>().map_err(|_| format!("invalid pid '{p}'")))
                    .collect::<Result<Vec<_>, _>>()?;
                i += pids.len();
                if a == "-sf" {
                    out.finish.extend(pids);
                } else {
                    out.terminate.extend(pids);
                }
            }
            _ if a.starts_with("-d") => {}
            _ => return Err(format!("unknown option '{a}'")),
        }
        i += 1;
    }
    Ok(out)
}

/// Runs haproxy's command line `args` (without the program name).
pub(crate) fn main(args: &[String]) -> ExitCode {
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            haven_runtime::eprintln_whole!("{}\n{USAGE}[ALERT]    : {e}", version_line());
            return ExitCode::from(1);
        }
    };
    if args.manual {
        print!("{MANUAL}");
        return ExitCode::SUCCESS;
    }
    if args.version > 0 {
        println!("{}", version_line());
        println!(
            "Status: haven {}, reading configs as haproxy 2.6.12 does.",
            env!("CARGO_PKG_VERSION")
        );
        if args.version > 1 {
            // TLS is rustls's and regexes the regex crate's; `+OPENSSL` and
            // `+PCRE2` are the names haproxy's reg-tests and scripts look
            // for when they need TLS or Perl-style patterns.
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            let threads = haven_core::config::haproxy::Global::default().threads(cpus);
            println!("Build options :\n  OPTIONS = USE_LINUX_SPLICE=1 USE_OPENSSL=1 USE_PCRE2=1 USE_PROMEX=1 USE_THREAD=1\n\nFeature list : {FEATURES}\n\nBuilt with multi-threading support (MAX_THREADS={MAX_THREADS}, default={threads}).\nBuilt with TLS by rustls 0.23 (aws-lc-rs), TLSv1.2 TLSv1.3\nBuilt with regular expressions by the regex crate (Perl-style classes and lazy quantifiers as PCRE2; no look-around or back-references)\nBuilt with the Prometheus exporter as a service\n\nAvailable polling systems :\n  tokio : pref=300,  test result OK\n\nAvailable services : prometheus-exporter");
        }
        return ExitCode::SUCCESS;
    }
    if let Some(expr) = &args.condition {
        let env = std::env::vars().collect();
        return match eval_condition(expr, &env) {
            Ok(true) => ExitCode::SUCCESS,
            // An empty condition is false, as haproxy has it.
            Ok(false) | Err(ConditionError::Missing) => ExitCode::from(1),
            Err(e) => {
                let why = match e {
                    ConditionError::Unparsable(why) => why,
                    _ => format!("unparsable conditional expression '{expr}'"),
                };
                haven_runtime::eprintln_whole!(
                    "[ALERT]    ({}) : config : Failed to evaluate condition: {why}",
                    std::process::id()
                );
                ExitCode::from(2)
            }
        };
    }
    if args.files.is_empty() {
        haven_runtime::eprintln_whole!(
            "{}\n{USAGE}[ALERT]    : No configuration file specified.",
            version_line()
        );
        return ExitCode::from(1);
    }
    let report = match (args.quiet, args.check) {
        (true, _) => Report::Quiet,
        (false, true) => Report::Check,
        (false, false) => Report::Run,
    };
    let cfg = match crate::check::load_haproxy(&args.files, report) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => return ExitCode::from(1),
        Err(e) => {
            haven_runtime::eprintln_whole!("[ALERT]    : {e:#}");
            return ExitCode::from(1);
        }
    };
    let has_listener = cfg.has_listener();
    if args.check {
        if !has_listener {
            println!(
                "Configuration file has no error but will not start (no listener) => exit(2)."
            );
            return ExitCode::from(2);
        }
        if !args.quiet {
            println!("Configuration file is valid");
        }
        return ExitCode::SUCCESS;
    }
    if !crate::unsupported::may_start(&cfg.unsupported, args.accept_unsupported) {
        return ExitCode::from(1);
    }
    let daemon = (args.daemon || cfg.global.daemon) && !args.foreground && !args.systemd;
    let pidfile = args
        .pidfile
        .clone()
        .or(cfg.global.pidfile.as_ref().map(PathBuf::from));
    let worker = std::env::var_os(WORKER_ENV).is_some();
    if (args.master_worker || cfg.global.master_worker) && !worker {
        return master::run(Master {
            files: args.files,
            quiet: args.quiet,
            pidfile,
            daemon,
            systemd: args.systemd,
            cli: args.master_cli,
            accept_unsupported: args.accept_unsupported,
        });
    }
    if worker {
        master::follow_master();
    }
    // A worker's master owns the pidfile.
    let pidfile = pidfile.filter(|_| !worker);
    let (finish, terminate) = (args.finish, args.terminate);
    let replaces_others = !(finish.is_empty() && terminate.is_empty());
    if replaces_others && !migrates_queued_connections() {
        haven_runtime::eprintln_whole!("[WARNING]  ({}) : connections queued on the old process's sockets when it closes them are reset; set net.ipv4.tcp_migrate_req=1 (Linux 5.14+) for reloads that lose none.", std::process::id());
    }
    let result = launch(Launch {
        haproxy: Some((cfg, args.files)),
        keepalived: None,
        vrrp_log: VrrpLog::default(),
        pidfile,
        daemon,
        signals: SIGNALS,
        accept_unsupported: args.accept_unsupported,
        on_ready: Box::new(move || {
            use nix::sys::signal::{kill, Signal};
            use nix::unistd::Pid;
            for pid in finish {
                let _ = kill(Pid::from_raw(pid), Signal::SIGUSR1);
            }
            for pid in terminate {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }),
    });
    match result {
        Ok(Ended::Code(code)) => code,
        Ok(Ended::Signal(signal)) => die_by(signal),
        Err(e) => {
            haven_runtime::eprintln_whole!("[ALERT]    : {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Ends the process by `signal`'s default action, as haproxy's worker
/// ends on SIGTERM and SIGINT: its parent (a master, a shell, systemd)
/// sees it killed by the signal (143, 130), not an exit.
#[allow(unsafe_code)]
fn die_by(signal: Signal) -> ExitCode {
    // SAFETY: restoring the default action installs no handler code.
    let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
    let _ = nix::sys::signal::raise(signal);
    ExitCode::from(128 + signal as u8)
}

/// Whether the kernel hands connections queued on a closing listener to
/// another listener of the same port (`net.ipv4.tcp_migrate_req`).
fn migrates_queued_connections() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").is_ok_and(|v| v.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_read_as_haproxy_reads_them() {
        let a = parse(&args("-f a.cfg -f conf.d -db -p /run/h.pid -sf 12 13 -q")).expect("valid");
        assert_eq!(a.files, [PathBuf::from("a.cfg"), PathBuf::from("conf.d")]);
        assert!(a.foreground && a.quiet);
        assert_eq!(a.pidfile, Some(PathBuf::from("/run/h.pid")));
        assert_eq!(a.finish, [12, 13]);
        assert_eq!(
            parse(&args("-c -- x.cfg y.cfg"))
                .expect("valid")
                .files
                .len(),
            2
        );
        assert_eq!(parse(&args("-vv")).expect("valid").version, 2);
        assert!(parse(&args("-Z")).is_err());
        assert!(parse(&args("-f")).is_err());
        assert!(parse(&args("-st x")).is_err());
    }
}
