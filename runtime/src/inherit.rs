//! Listening sockets the process inherits (`bind fd@N`, as systemd socket
//! activation or a test rig hands them over). Each fd is adopted once per
//! process and checked to be a listening socket first; every start (a
//! reload included) gets its own duplicate, so closing one never closes
//! the inherited socket under another.

use std::collections::BTreeMap;
use std::io;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::sync::{Mutex, OnceLock};

/// The sockets adopted so far, by inherited fd number.
static ADOPTED: OnceLock<Mutex<BTreeMap<i32, TcpListener>>> = OnceLock::new();

/// A listener on inherited socket `fd`.
pub(crate) fn inherited(fd: i32) -> io::Result<TcpListener> {
    let adopted = ADOPTED.get_or_init(Mutex::default);
    let mut adopted = adopted.lock().map_err(|_| io::Error::other("poisoned"))?;
    if let Some(l) = adopted.get(&fd) {
        return l.try_clone();
    }
    let listener = adopt(fd)?;
    let copy = listener.try_clone()?;
    adopted.insert(fd, listener);
    Ok(copy)
}

/// Takes ownership of `fd` once it is known to be an open socket that
/// listens.
#[allow(unsafe_code)]
fn adopt(fd: i32) -> io::Result<TcpListener> {
    const EBADF: i32 = 9;
    const ENOTSOCK: i32 = 88;
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_err(|_| io::Error::from_raw_os_error(EBADF))?;
    if !link.to_string_lossy().starts_with("socket:") {
        return Err(io::Error::from_raw_os_error(ENOTSOCK));
    }
    // SAFETY: `fd` is open and a socket (checked just above), the config
    // names it as a socket handed to this process, and it is adopted only
    // here, once (the map above holds it for the process's life).
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    if !socket2::SockRef::from(&listener)
        .is_listener()
        .unwrap_or(false)
    {
        // Not ours to close.
        let _ = listener.into_raw_fd();
        return Err(io::Error::other("not a listening socket"));
    }
    Ok(listener)
}
