//! The raw VRRP socket of one interface: IP protocol 112, bound to the
//! interface, joined to the multicast group there, our own adverts not
//! looped back; adverts go out with the IP header core builds (IP_HDRINCL,
//! keepalived's fields) and come in whole, IP header included.

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use tokio::io::unix::AsyncFd;

/// IP protocol number of VRRP.
const IPPROTO_VRRP: i32 = 112;

/// Largest packet read: an IPv4 header with options, AH, 255 addresses.
const MAX_PACKET: usize = 2048;

/// A VRRP socket on one interface.
#[derive(Debug)]
pub(crate) struct VrrpSocket {
    socket: AsyncFd<Socket>,
}

impl VrrpSocket {
    /// Opens the socket on interface `name` (index `index`), joined to
    /// `group`.
    pub(crate) fn open(name: &str, index: u32, group: Ipv4Addr) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        socket.set_header_included_v4(true)?;
        socket.bind_device(Some(name.as_bytes()))?;
        socket.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(index))?;
        socket.set_multicast_loop_v4(false)?;
        socket.set_nonblocking(true)?;
        // `AsyncFd::new` is deprecated because a caller could close the fd
        // while it is registered; here the `Socket` owns its fd and is
        // moved into the `AsyncFd`, so nothing else can close it.
        #[allow(deprecated)]
        let socket = AsyncFd::new(socket)?;
        Ok(Self { socket })
    }

    /// Sends a whole IPv4 packet to `dst`. A full socket buffer drops it,
    /// as a lost advert on the wire would be.
    pub(crate) fn send(&self, packet: &[u8], dst: Ipv4Addr) -> std::io::Result<()> {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.socket.get_ref().send_to(packet, &to).map(drop)
    }

    /// Waits for the next packet: its bytes from the IP header on.
    pub(crate) async fn recv(&self) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            let mut ready = self.socket.readable().await?;
            match ready.try_io(|fd| (&mut fd.get_ref()).read(&mut buf)) {
                Ok(Ok(n)) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }
}
