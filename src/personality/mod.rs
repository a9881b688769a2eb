//! haven as a literal drop-in: started as `haproxy` or `keepalived` (by
//! name, or `haven haproxy ARGS` / `haven keepalived ARGS`), it reads that
//! program's own flags, prints its messages, and exits with its codes.

pub(crate) mod haproxy;
pub(crate) mod keepalived;
mod master;
mod master_cli;

use std::process::ExitCode;

/// The personality `argv0` names (its file name), if any.
pub(crate) fn by_name(argv0: &str) -> Option<fn(&[String]) -> ExitCode> {
    let name = std::path::Path::new(argv0).file_name()?.to_str()?;
    match name {
        "haproxy" => Some(haproxy::main),
        "keepalived" => Some(keepalived::main),
        _ => None,
    }
}

/// The arguments that follow `flag` at `i`: the next one, or an error
/// naming the flag.
fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("option '{flag}' requires an argument"))
}
