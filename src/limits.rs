//! `ulimit-n`: the process's file descriptor limit, raised as haproxy
//! raises it before it binds: the soft limit to the number asked, the hard
//! one at least that; when the system refuses, as high as the hard limit
//! allows, with haproxy's warning.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Asks for `wanted` file descriptors; haproxy's warning when fewer are
/// granted (the limit then as high as allowed).
pub(crate) fn raise_fd_limit(wanted: u32) {
    let wanted = u64::from(wanted);
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((0, 0));
    if setrlimit(Resource::RLIMIT_NOFILE, wanted, hard.max(wanted)).is_ok() {
        return;
    }
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((0, 0));
    let program = std::env::args().next().unwrap_or_else(|| "haven".into());
    haven_runtime::eprintln_whole!(
        "[WARNING]  ({}) : [{program}.main()] Cannot raise FD limit to {wanted}, limit is {soft}.",
        std::process::id()
    );
}
