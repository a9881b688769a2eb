//! Connections to servers, leaving from the local end a `source` line
//! asks for: a fixed address, a port out of a range, a device, or with
//! `usesrc` an address this host need not own (`IP_TRANSPARENT`, which
//! needs CAP_NET_ADMIN and routing that brings the answers back).

use haven_core::config::haproxy::LocalEnd;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};

/// A connection to `to`, from `local` when given, else from where the
/// system chooses. Over a port range, the first port free is used.
pub(crate) async fn connect(to: SocketAddr, local: Option<&LocalEnd>) -> io::Result<TcpStream> {
    let Some(end) = local else {
        return TcpStream::connect(to).await;
    };
    // `source 0.0.0.0` means "any address" in either family.
    let addr = match end.addr {
        IpAddr::V4(v4) if v4.is_unspecified() && to.is_ipv6() => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => other,
    };
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for port in end.ports.0..=end.ports.1 {
        let socket = if to.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        let options = socket2::SockRef::from(&socket);
        if end.transparent {
            match addr {
                IpAddr::V4(_) => options.set_ip_transparent_v4(true)?,
                IpAddr::V6(_) => options.set_ip_transparent_v6(true)?,
            }
        }
        if let Some(device) = &end.interface {
            options.bind_device(Some(device.as_bytes()))?;
        }
        socket.set_reuseaddr(true)?;
        match socket.bind(SocketAddr::new(addr, port)) {
            Ok(()) => return socket.connect(to).await,
            Err(e) => last = e,
        }
    }
    Err(last)
}
