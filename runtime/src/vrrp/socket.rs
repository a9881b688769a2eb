//! The raw VRRP socket of one interface and address family: IP protocol
//! 112, bound to the interface, joined to the multicast group there, our
//! own adverts not looped back. IPv4 adverts go out with the IP header
//! core builds (IP_HDRINCL, keepalived's fields) and come in whole; IPv6
//! ones go out from the interface's link-local address with hop limit
//! 255 and come in with their source, destination and hop limit from the
//! control messages.

use haven_core::vrrp::packet::{MCAST_V4, MCAST_V6};
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn6};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io::{IoSliceMut, Read};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;

/// IP protocol number of VRRP.
const IPPROTO_VRRP: i32 = 112;

/// Largest packet read: an IPv4 header with options, AH, 255 addresses.
const MAX_PACKET: usize = 4200;

/// A packet as it arrived.
#[derive(Debug)]
pub(crate) enum Received {
    /// IPv4: the whole packet, IP header included.
    V4(Vec<u8>),
    /// IPv6: the VRRP part and what the IPv6 header said.
    V6 {
        src: IpAddr,
        dst: IpAddr,
        hop_limit: Option<u8>,
        vrrp: Vec<u8>,
    },
}

/// A VRRP socket on one interface.
#[derive(Debug)]
pub(crate) struct VrrpSocket {
    socket: AsyncFd<Socket>,
    index: u32,
}

impl VrrpSocket {
    /// Opens the IPv4 socket on interface `name` (index `index`).
    pub(crate) fn open_v4(name: &str, index: u32) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        socket.set_header_included_v4(true)?;
        socket.bind_device(Some(name.as_bytes()))?;
        socket.join_multicast_v4_n(&MCAST_V4, &InterfaceIndexOrAddress::Index(index))?;
        socket.set_multicast_loop_v4(false)?;
        Self::register(socket, index)
    }

    /// Opens the IPv6 socket on interface `name` (index `index`), sending
    /// from `link_local`.
    pub(crate) fn open_v6(name: &str, index: u32, link_local: Ipv6Addr) -> std::io::Result<Self> {
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        socket.bind_device(Some(name.as_bytes()))?;
        socket.bind(&SockAddr::from(SocketAddrV6::new(link_local, 0, 0, index)))?;
        socket.join_multicast_v6(&MCAST_V6, index)?;
        socket.set_multicast_if_v6(index)?;
        socket.set_multicast_hops_v6(255)?;
        socket.set_unicast_hops_v6(255)?;
        socket.set_multicast_loop_v6(false)?;
        socket.set_recv_hoplimit_v6(true)?;
        setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)?;
        Self::register(socket, index)
    }

    fn register(socket: Socket, index: u32) -> std::io::Result<Self> {
        socket.set_nonblocking(true)?;
        // `AsyncFd::new` is deprecated because a caller could close the fd
        // while it is registered; here the `Socket` owns its fd and is
        // moved into the `AsyncFd`, so nothing else can close it.
        #[allow(deprecated)]
        let socket = AsyncFd::new(socket)?;
        Ok(Self { socket, index })
    }

    /// Sends `packet` (IPv4: whole; IPv6: the VRRP part) to `dst`. A full
    /// socket buffer drops it, as a lost advert on the wire would be.
    pub(crate) fn send(&self, packet: &[u8], dst: IpAddr) -> std::io::Result<()> {
        let to = match dst {
            IpAddr::V4(a) => SockAddr::from(SocketAddrV4::new(a, 0)),
            IpAddr::V6(a) => SockAddr::from(SocketAddrV6::new(a, 0, 0, self.index)),
        };
        self.socket.get_ref().send_to(packet, &to).map(drop)
    }

    /// Waits for the next packet.
    pub(crate) async fn recv(&self) -> std::io::Result<Received> {
        loop {
            let mut ready = self.socket.readable().await?;
            match ready.try_io(|fd| read(fd.get_ref())) {
                Ok(result) => return result,
                Err(_would_block) => {}
            }
        }
    }
}

/// Reads one packet from `socket`.
fn read(socket: &Socket) -> std::io::Result<Received> {
    let mut buf = vec![0u8; MAX_PACKET];
    if socket.domain()? == Domain::IPV4 {
        let n = (&mut &*socket).read(&mut buf)?;
        buf.truncate(n);
        return Ok(Received::V4(buf));
    }
    let mut space = nix::cmsg_space!(nix::libc::c_int, nix::libc::in6_pktinfo);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<SockaddrIn6>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )?;
    let (mut hop_limit, mut dst) = (None, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    for c in msg.cmsgs()? {
        match c {
            ControlMessageOwned::Ipv6HopLimit(h) => hop_limit = u8::try_from(h).ok(),
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                dst = IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            _ => {}
        }
    }
    let src = msg
        .address
        .map(|a| SocketAddr::V6(SocketAddrV6::from(a)).ip())
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let n = msg.bytes;
    buf.truncate(n);
    Ok(Received::V6 {
        src,
        dst,
        hop_limit,
        vrrp: buf,
    })
}
