//! `keepalived ARGS`: keepalived 2.2's command line for the VRRP side.
//! `-t` checks the config and this host (interfaces, scripts) and exits
//! as 2.2.7 does ([`config_test`]); `-v` prints the version. Otherwise
//! VRRP runs: in the foreground with `-n`, else in the background, its pid
//! in `-p` (and `-r`); its lines go to syslog (facility `-S`, none with
//! `-G`) and, with `-l`, to the console. `-C` (checkers only) is
//! refused: haven has no LVS checkers. Signals: SIGTERM and SIGINT stop
//! gracefully; SIGHUP re-reads the config, instances keeping their state;
//! SIGUSR1 writes `/tmp/keepalived.data` and SIGUSR2
//! `/tmp/keepalived.stats`, in keepalived's layouts.

use super::value;
use crate::run::{launch, Action, Ended, Launch};
use haven_core::config::keepalived::KeepalivedConfig;
use haven_core::config::Parsed;
use haven_core::log::syslog::facility_code;
use haven_runtime::VrrpLog;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::SignalKind;

/// keepalived's default config file.
const DEFAULT_CONF: &str = "/etc/keepalived/keepalived.conf";

/// `--help` and `-h`: a manual page (also shown after a bad option).
const MANUAL: &str = include_str!("help/keepalived.txt");

/// keepalived's signals.
const SIGNALS: &[(SignalKind, Action)] = &[
    (SignalKind::terminate(), Action::Graceful),
    (SignalKind::interrupt(), Action::Graceful),
    (SignalKind::hangup(), Action::Reload),
    (SignalKind::user_defined1(), Action::DumpData),
    (SignalKind::user_defined2(), Action::DumpStats),
];

/// What the command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    file: Option<PathBuf>,
    test: bool,
    version: bool,
    help: bool,
    foreground: bool,
    detail: bool,
    console: bool,
    no_syslog: bool,
    /// `-S`: the syslog facility code.
    facility: Option<u8>,
    checkers_only: bool,
    pidfile: Option<PathBuf>,
    vrrp_pidfile: Option<PathBuf>,
    /// haven's `--accept-unsupported`.
    accept_unsupported: bool,
}

/// Reads keepalived's flags, short and long, `--opt=value` too.
fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args::default();
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (args[i].clone(), None),
        };
        let arg = |i: &mut usize| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => value(args, i, &flag).map(str::to_owned),
            }
        };
        match flag.as_str() {
            "-f" | "--use-file" => out.file = Some(arg(&mut i)?.into()),
            "-t" | "--config-test" => out.test = true,
            "-v" | "--version" => out.version = true,
            "-h" | "--help" => out.help = true,
            "-n" | "--dont-fork" => out.foreground = true,
            "-D" | "--log-detail" => out.detail = true,
            "-C" | "--check" => out.checkers_only = true,
            "-p" | "--pid" => out.pidfile = Some(arg(&mut i)?.into()),
            "-r" | "--vrrp_pid" => out.vrrp_pidfile = Some(arg(&mut i)?.into()),
            "-S" | "--log-facility" => out.facility = Some(facility(&arg(&mut i)?)?),
            "-l" | "--log-console" => out.console = true,
            "-G" | "--no-syslog" => out.no_syslog = true,
            "--accept-unsupported" => out.accept_unsupported = true,
            "-c" | "--checkers_pid" | "-u" | "--umask" | "-i" | "--config-id" => {
                arg(&mut i)?;
            }
            "-P" | "--vrrp" | "-B" | "--no_bfd" | "-R" | "--dont-respawn" | "-e"
            | "--all-config" | "-m" | "--core-dump" | "-X" | "--release-vips" => {}
            other => {
                return Err(format!(
                    "invalid option -- '{}'",
                    other.trim_start_matches('-')
                ))
            }
        }
        i += 1;
    }
    Ok(out)
}

/// The `daemon` syslog facility, keepalived's default.
const DAEMON: u8 = 3;

/// `-S`'s facility: `0`..`7` for local0..local7, or a name (`local3`,
/// `daemon`, `user`).
fn facility(value: &str) -> Result<u8, String> {
    match value.parse::<u8>() {
        Ok(n) if n <= 7 => Ok(16 + n),
        Ok(_) => Err(format!("invalid log facility '{value}'")),
        Err(_) => facility_code(value).ok_or_else(|| format!("invalid log facility '{value}'")),
    }
}

/// Runs keepalived's command line `args` (without the program name).
pub(crate) fn main(args: &[String]) -> ExitCode {
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            haven_runtime::eprintln_whole!("keepalived: {e}\n{MANUAL}");
            return ExitCode::from(1);
        }
    };
    if args.help {
        print!("{MANUAL}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        haven_runtime::eprintln_whole!(
            "Keepalived v2.2.7 (haven {})\n\nhaven runs keepalived.conf's VRRP instances as keepalived 2.2.7 does.",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if args.checkers_only {
        haven_runtime::eprintln_whole!("keepalived: -C (checkers only) is not supported: haven has no LVS health checkers; run with -P or without -C");
        return ExitCode::from(1);
    }
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONF));
    if !file.is_file() {
        haven_runtime::eprintln_whole!("Configuration file '{}' does not exist", file.display());
        return ExitCode::from(2);
    }
    let parsed = match crate::check::parse_keepalived(&file) {
        Ok(parsed) => parsed,
        Err(e) => {
            haven_runtime::eprintln_whole!("{e:#}");
            return ExitCode::from(2);
        }
    };
    if args.test {
        return config_test(&parsed, &file.to_string_lossy());
    }
    let Some(cfg) = parsed.config.filter(|_| !parsed.diagnostics.has_errors()) else {
        return ExitCode::from(5);
    };
    if !crate::unsupported::may_start(&cfg.unsupported, args.accept_unsupported) {
        return ExitCode::from(1);
    }
    let result = launch(Launch {
        haproxy: None,
        keepalived: Some((cfg, file)),
        vrrp_log: VrrpLog {
            detail: args.detail,
            console: args.console,
            syslog: (!args.no_syslog).then_some(args.facility.unwrap_or(DAEMON)),
        },
        pidfile: args.pidfile.or(args.vrrp_pidfile),
        daemon: !args.foreground,
        signals: SIGNALS,
        on_ready: Box::new(|| {}),
        accept_unsupported: args.accept_unsupported,
    });
    match result {
        Ok(Ended::Code(code)) => code,
        // Its signals stop gracefully.
        Ok(Ended::Signal(_)) => ExitCode::SUCCESS,
        Err(e) => {
            haven_runtime::eprintln_whole!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// `-t`'s exit code, as keepalived 2.2.7 gives it: 0 when nothing at all
/// was reported; 2 when the file cannot be read as a config (a misplaced
/// `{` or an unset `${NAME}`, a keyword missing its parameter:
/// keepalived's fatal errors); 5 for
/// any other problem, warnings and missing interfaces or scripts of this
/// host included. haven's own notes ("not supported yet") do not count.
fn config_test(parsed: &Parsed<KeepalivedConfig>, file: &str) -> ExitCode {
    let reported: Vec<&str> = parsed
        .diagnostics
        .iter()
        .filter(|d| !d.is_haven_note())
        .map(|d| d.message.as_str())
        .collect();
    // keepalived reads an unset `${NAME}` as a stray `{`.
    let fatal = reported.iter().any(|m| {
        m.starts_with("Unexpected '{'")
            || m.contains("is missing a parameter")
            || m.starts_with("undefined variable '${")
    });
    let host = parsed
        .config
        .as_ref()
        .map(|cfg| host_problems(cfg, file))
        .unwrap_or_default();
    for p in &host {
        haven_runtime::eprintln_whole!("{p}");
    }
    match (fatal, reported.is_empty() && host.is_empty()) {
        (true, _) => ExitCode::from(2),
        (false, true) => ExitCode::SUCCESS,
        (false, false) => ExitCode::from(5),
    }
}

/// What keepalived finds missing on this host: interfaces the instances
/// use, scripts that cannot be run. In keepalived's words.
fn host_problems(cfg: &KeepalivedConfig, file: &str) -> Vec<String> {
    let name = std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned());
    let links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for i in &cfg.instances {
        if !links.contains(&i.interface) {
            out.push(format!(
                "({name}: Line {}) WARNING - interface {} for vrrp_instance {} doesn't exist",
                i.line, i.interface, i.name
            ));
        }
        for t in i
            .track_interfaces
            .iter()
            .filter(|t| !links.contains(&t.name))
        {
            out.push(format!(
                "({name}: Line {}) ({}) tracked interface {} doesn't exist",
                i.line, i.name, t.name
            ));
        }
    }
    for s in cfg.scripts.iter().filter(|s| !runnable(&s.script)) {
        out.push(format!(
            "Disabling track script {} since not found/accessible",
            s.name
        ));
    }
    out
}

/// Whether the program of command line `script` exists and is executable
/// (searched in PATH when it has no slash).
fn runnable(script: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(program) = script.split_whitespace().next() else {
        return false;
    };
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(std::path::Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_read_as_keepalived_reads_them() {
        let a = parse(&args(
            "-n -l -D -f /etc/k.conf --pid=/run/k.pid -r /run/v.pid",
        ))
        .expect("valid");
        assert_eq!(a.file, Some(PathBuf::from("/etc/k.conf")));
        assert!(a.foreground && a.detail);
        assert_eq!(a.pidfile, Some(PathBuf::from("/run/k.pid")));
        assert_eq!(a.vrrp_pidfile, Some(PathBuf::from("/run/v.pid")));
        assert!(parse(&args("-t")).expect("valid").test);
        assert_eq!(parse(&args("-S 3")).expect("valid").facility, Some(19));
        assert_eq!(
            parse(&args("--log-facility=local7"))
                .expect("valid")
                .facility,
            Some(23)
        );
        assert_eq!(parse(&args("-S daemon")).expect("valid").facility, Some(3));
        assert!(parse(&args("-S 9")).is_err());
        assert!(parse(&args("-Q")).is_err());
        assert!(parse(&args("-f")).is_err());
    }
}
