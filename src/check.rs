//! `haven check`: read the configs like `haproxy -c` / `keepalived -t`,
//! print what was read, every problem with its place, and exit 0 (valid),
//! 1 (errors) or 2 (valid but no listener, as haproxy says).

use crate::fs_loader::{expand_cfg_paths, read_text, FsLoader};
use crate::{CheckArgs, DumpFormat};
use anyhow::Result;
use haven_core::config::haproxy::{self, Account, HaproxyConfig, ParseOptions};
use haven_core::config::keepalived::{self, KeepalivedConfig};
use haven_core::config::{Diagnostics, Form, Parsed, Severity};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `haven check`.
pub(crate) fn run(args: &CheckArgs) -> Result<ExitCode> {
    if args.list_unsupported {
        print!("{}", haven_core::config::support::markdown());
        return Ok(ExitCode::SUCCESS);
    }
    if args.simulate {
        let simulation = crate::simulate::Simulation {
            haproxy: &args.haproxy,
            keepalived: &args.keepalived,
            load: args.load.per_second,
        };
        return crate::simulate::run(&simulation);
    }
    if args.haproxy.is_empty() && args.keepalived.is_empty() {
        anyhow::bail!("nothing to check: give -f haproxy.cfg and/or -k keepalived.conf");
    }
    let mut failed = false;

    let haproxy_model = if args.haproxy.is_empty() {
        None
    } else {
        // A dump owns stdout.
        let report = if args.dump.is_some() {
            Report::Run
        } else {
            Report::Check
        };
        let model = load_haproxy(&args.haproxy, report)?;
        failed |= model.is_none();
        model
    };

    let mut keepalived_models = Vec::new();
    for path in &args.keepalived {
        let model = load_keepalived(path)?;
        failed |= model.is_none();
        keepalived_models.extend(model);
    }

    if failed {
        return Ok(ExitCode::from(1));
    }
    if let Some(DumpFormat::Json) = args.dump {
        // One keepalived.conf dumps as itself; several as a list.
        let keepalived = match keepalived_models.as_slice() {
            [] => serde_json::Value::Null,
            [one] => serde_json::json!(one),
            many => serde_json::json!(many),
        };
        let dump = serde_json::json!({ "haproxy": haproxy_model, "keepalived": keepalived });
        println!("{}", serde_json::to_string_pretty(&dump)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(h) = &haproxy_model {
        println!("{}", summarize_haproxy(h));
    }
    for k in &keepalived_models {
        println!("{}", summarize_keepalived(k));
    }
    if haproxy_model.as_ref().is_some_and(|h| !h.has_listener()) {
        println!("Configuration file has no error but will not start (no listener) => exit(2).");
        return Ok(ExitCode::from(2));
    }
    println!("Configuration file is valid");
    Ok(ExitCode::SUCCESS)
}

/// Reads keepalived.conf (and its includes), printing every diagnostic as
/// `keepalived -t` does; `None` when there are errors.
pub(crate) fn load_keepalived(path: &Path) -> Result<Option<KeepalivedConfig>> {
    let parsed = parse_keepalived(path)?;
    Ok(parsed.config.filter(|_| !parsed.diagnostics.has_errors()))
}

/// Reads keepalived.conf (and its includes), printing every diagnostic.
pub(crate) fn parse_keepalived(path: &Path) -> Result<Parsed<KeepalivedConfig>> {
    let name = path.to_string_lossy();
    let parsed = keepalived::parse(&name, &read_text(path)?, &FsLoader);
    for d in &parsed.diagnostics {
        haven_runtime::eprintln_whole!("{d}");
    }
    Ok(parsed)
}

/// How reading haproxy.cfg shows its diagnostics, as haproxy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// `haproxy -c`: each on stderr, then "Warnings were found." on stdout.
    Check,
    /// Starting or reloading: each on stderr.
    Run,
    /// `-q`: nothing.
    Quiet,
}

/// Reads haproxy.cfg files and directories as one configuration, showing
/// every diagnostic as `report` says; `None` when there are errors.
pub(crate) fn load_haproxy(paths: &[PathBuf], report: Report) -> Result<Option<HaproxyConfig>> {
    read_haproxy(paths, report, Some(account_exists))
}

/// Reads haproxy.cfg as [`load_haproxy`] does, for another host: its
/// `user` and `group` are not looked up on this one.
pub(crate) fn load_haproxy_elsewhere(paths: &[PathBuf]) -> Result<Option<HaproxyConfig>> {
    read_haproxy(paths, Report::Run, None)
}

/// Reads haproxy.cfg, `accounts` telling which users and groups exist.
fn read_haproxy(
    paths: &[PathBuf],
    report: Report,
    accounts: Option<fn(Account, &str) -> bool>,
) -> Result<Option<HaproxyConfig>> {
    let paths = expand_cfg_paths(paths)?;
    let mut sources = Vec::new();
    for p in &paths {
        sources.push((p.to_string_lossy().into_owned(), read_text(p)?));
    }
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let opts = ParseOptions {
        env: std::env::vars().collect(),
        accounts,
        files: Some(|path| std::fs::read(path)),
        certificates: Some(haven_runtime::check_certificates),
    };
    let parsed = haproxy::parse(&refs, &opts);
    if report != Report::Quiet {
        print_haproxy_diags(&parsed.diagnostics, std::process::id());
    }
    // haven's own notes are not haproxy's warnings: stdout stays haproxy's.
    let warned = parsed.diagnostics.warnings().any(|d| !d.is_haven_note());
    if report == Report::Check && warned && !parsed.diagnostics.has_errors() {
        println!("Warnings were found.");
    }
    Ok(parsed.config.filter(|_| !parsed.diagnostics.has_errors()))
}

/// Whether this host knows the user or group `name` (haproxy's check).
fn account_exists(account: Account, name: &str) -> bool {
    use nix::unistd::{Group, User};
    match account {
        Account::User => matches!(User::from_name(name), Ok(Some(_))),
        Account::Group => matches!(Group::from_name(name), Ok(Some(_))),
    }
}

/// Prints haproxy diagnostics in haproxy's layout on stderr, after the
/// two notices haproxy starts any report with.
fn print_haproxy_diags(diags: &Diagnostics, pid: u32) {
    if diags.iter().next().is_none() {
        return;
    }
    let notice = format!("[NOTICE]   ({pid}) : ");
    let version = crate::personality::haproxy::version();
    haven_runtime::eprintln_whole!("{notice}haproxy version is {version}");
    if let Ok(exe) = std::env::current_exe() {
        haven_runtime::eprintln_whole!("{notice}path to executable is {}", exe.display());
    }
    let prefix = |sev: Severity| match sev {
        Severity::Error => format!("[ALERT]    ({pid}) : config : "),
        Severity::Warning => format!("[WARNING]  ({pid}) : config : "),
    };
    let mut files_with_errors: Vec<&str> = Vec::new();
    for d in diags {
        haven_runtime::eprintln_whole!("{}{d}", prefix(d.severity));
        if d.severity == Severity::Error {
            if let Some(caret) = d.caret() {
                haven_runtime::eprintln_whole!("{caret}");
            }
            let late = matches!(d.form, Form::Unplaced | Form::ParsingCapitalLate);
            if !late && !files_with_errors.contains(&d.file.as_str()) {
                files_with_errors.push(&d.file);
            }
        }
    }
    for f in &files_with_errors {
        haven_runtime::eprintln_whole!(
            "{}Error(s) found in configuration file : {f}",
            prefix(Severity::Error)
        );
    }
    let aborted = diags
        .iter()
        .any(|d| d.message == haproxy::ZERO_WARNING_ABORT);
    if diags.has_errors() && !aborted {
        haven_runtime::eprintln_whole!(
            "{}Fatal errors found in configuration.",
            prefix(Severity::Error)
        );
    }
}

fn summarize_haproxy(h: &HaproxyConfig) -> String {
    let mut out = String::from("haproxy:");
    for p in &h.proxies {
        out.push_str(&format!(
            "\n  {} {} (mode {}",
            p.kind.keyword(),
            p.name,
            p.mode.as_str()
        ));
        for b in &p.binds {
            let addr = b.addr.map_or_else(|| "*".to_owned(), |a| a.to_string());
            out.push_str(&format!(", bind {addr}:{}", b.port));
        }
        if p.kind.is_backend() && !p.servers.is_empty() {
            out.push_str(&format!(
                ", {} server(s), balance {}",
                p.servers.len(),
                p.balance.name()
            ));
        }
        out.push(')');
    }
    out
}

fn summarize_keepalived(k: &KeepalivedConfig) -> String {
    let mut out = String::from("keepalived:");
    for i in &k.instances {
        out.push_str(&format!(
            "\n  vrrp_instance {} (VRID {}, priority {}, state {}, {} on {}, {} VIP(s))",
            i.name,
            i.vrid,
            i.priority,
            i.state.as_str(),
            if i.nopreempt { "nopreempt" } else { "preempt" },
            i.interface,
            i.vips.len()
        ));
    }
    for s in &k.scripts {
        out.push_str(&format!("\n  vrrp_script {} (weight {})", s.name, s.weight));
    }
    out
}
