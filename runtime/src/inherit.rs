//! Listening sockets the process inherits (`bind fd@N`, as systemd socket
//! activation or a test rig hands them over). Each fd is adopted once per
//! process and checked to be a listening socket first; every start (a
//! reload included) gets its own duplicate, so closing one never closes
//! the inherited socket under another.

use socket2::{Domain, Socket};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::sync::{Mutex, OnceLock};

/// The sockets adopted so far, by inherited fd number.
static ADOPTED: OnceLock<Mutex<BTreeMap<i32, Socket>>> = OnceLock::new();

/// An inherited listening socket, by family.
#[derive(Debug)]
pub enum Inherited {
    /// TCP, IPv4 or IPv6.
    Tcp(std::net::TcpListener),
    /// A unix stream socket (a `stats socket fd@N`).
    Unix(std::os::unix::net::UnixListener),
}

/// A listener on inherited socket `fd`.
pub fn inherited(fd: i32) -> io::Result<Inherited> {
    let adopted = ADOPTED.get_or_init(Mutex::default);
    let mut adopted = adopted.lock().map_err(|_| io::Error::other("poisoned"))?;
    let copy = match adopted.get(&fd) {
        Some(s) => s.try_clone()?,
        None => {
            let socket = adopt(fd)?;
            let copy = socket.try_clone()?;
            adopted.insert(fd, socket);
            copy
        }
    };
    copy.set_nonblocking(true)?;
    match copy.domain()? {
        Domain::UNIX => Ok(Inherited::Unix(copy.into())),
        _ => Ok(Inherited::Tcp(copy.into())),
    }
}

/// A TCP listener on inherited socket `fd` (`bind fd@N`).
pub(crate) fn inherited_tcp(fd: i32) -> io::Result<std::net::TcpListener> {
    match inherited(fd)? {
        Inherited::Tcp(l) => Ok(l),
        Inherited::Unix(_) => Err(io::Error::other("a unix socket, not TCP")),
    }
}

/// Takes ownership of `fd` once it is known to be an open socket that
/// listens.
#[allow(unsafe_code)]
fn adopt(fd: i32) -> io::Result<Socket> {
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
    let socket = unsafe { Socket::from_raw_fd(fd) };
    if !socket.is_listener().unwrap_or(false) {
        // Not ours to close.
        let _ = socket.into_raw_fd();
        return Err(io::Error::other("not a listening socket"));
    }
    Ok(socket)
}
