//! Accepting connections. Each `bind` address has one socket, so one
//! queue of newcomers, and every serving thread accepts from its own copy
//! of it: at `maxconn` a thread takes a slot before it accepts, so
//! whichever thread holds a free slot takes the next newcomer, and none
//! waits in a queue no free thread looks at.

use crate::front::{connection, tls_connection, Bound, TlsBind};
use crate::request::Shared;
use crate::workers::Accepted;
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A `bind` address's socket as every thread sees it: `None` while its
/// frontend is disabled.
pub(crate) type SharedSocket = watch::Receiver<Option<Arc<std::net::TcpListener>>>;

/// Shares `socket`, listening on `addr`, and keeps it open while
/// `enabled` is true: `disable frontend` closes it (new connections are
/// refused) and `enable frontend` binds `addr` again. Ends, and with it
/// every thread's accept loop, once `enabled`'s sender is gone.
pub(crate) fn keep_socket(
    (socket, addr): (std::net::TcpListener, SocketAddr),
    frontend: String,
    mut enabled: watch::Receiver<bool>,
) -> (SharedSocket, impl std::future::Future<Output = ()>) {
    let (shared, seen) = watch::channel(Some(Arc::new(socket)));
    let keeper = async move {
        while enabled.changed().await.is_ok() {
            let on = *enabled.borrow_and_update();
            if on == shared.borrow().is_some() {
                continue;
            }
            if !on {
                shared.send_replace(None);
                continue;
            }
            match listen_on(addr) {
                Ok(socket) => {
                    shared.send_replace(Some(Arc::new(socket)));
                }
                Err(e) => crate::eprintln_whole!(
                    "[ALERT]    : Resuming frontend {frontend}: cannot bind socket [{addr}]: {e}"
                ),
            }
        }
    };
    (seen, keeper)
}

/// Accepts connections from `socket` on serving thread `thread` (the
/// calling one), each served by [`connection`] (or its TLS or `mode tcp`
/// form) and counted in `accepted`; they close after their current
/// request once `draining` turns true.
pub(crate) async fn accept(
    (mut socket, bound, tls): (SharedSocket, Bound, Option<Arc<TlsBind>>),
    shared: Arc<Shared>,
    draining: watch::Receiver<bool>,
    (accepted, thread): (Arc<Accepted>, usize),
) {
    loop {
        let copy = socket.borrow_and_update().as_ref().map(|s| s.try_clone());
        let Some(Ok(open)) = copy.map(|c| c.and_then(TcpListener::from_std)) else {
            if socket.changed().await.is_err() {
                return;
            }
            continue;
        };
        loop {
            // At `maxconn`, accept nothing more (the kernel's backlog
            // holds newcomers) until a connection closes, as haproxy does.
            let mut held = Vec::with_capacity(shared.slots.len());
            for slots in &shared.slots {
                if let Ok(permit) = Arc::clone(slots).acquire_owned().await {
                    held.push(permit);
                }
            }
            tokio::select! {
                taken = open.accept() => {
                    let Ok((stream, client)) = taken else { continue };
                    accepted.count(thread);
                    let _ = stream.set_nodelay(true);
                    if shared.nolinger {
                        crate::outbound::no_linger(&stream);
                    }
                    let shared = Arc::clone(&shared);
                    if let Some(tls) = &tls {
                        let tls = (draining.clone(), Arc::clone(tls));
                        tokio::spawn(tls_connection(stream, shared, (client, bound), tls, held));
                    } else if shared.tcp {
                        let client = (client, bound.accept_proxy);
                        tokio::spawn(crate::tcp::connection(stream, shared, client, held));
                    } else {
                        let client = (client, bound);
                        tokio::spawn(connection(stream, shared, client, draining.clone(), held));
                    }
                }
                changed = socket.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// A listening socket on `addr` with SO_REUSEADDR and SO_REUSEPORT, so a
/// reload can bind the same address while the old one drains.
pub(crate) fn listen_on(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
