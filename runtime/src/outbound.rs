//! Connections to servers, leaving from the local end a `source` line
//! asks for: a fixed address, a port out of a range, a device, or with
//! `usesrc` an address this host need not own (`IP_TRANSPARENT`, which
//! needs CAP_NET_ADMIN and routing that brings the answers back); and
//! through the SOCKS4 proxy a server's `socks4` names.

use crate::stream::{Peer, Stream};
use haven_core::config::haproxy::LocalEnd;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV4};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The socket closes with a reset rather than a graceful close
/// (`SO_LINGER` 0: haproxy's `nolinger`).
pub(crate) fn no_linger(stream: &impl std::os::fd::AsFd) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(std::time::Duration::ZERO));
}

/// A connection to `to`, from `local` when given, through the SOCKS4
/// proxy `socks4` when given (its CONNECT granted before this returns);
/// with `delayed_ack`, the handshake's last ACK waits to leave with the
/// first bytes sent (`TCP_QUICKACK` off, haproxy's smart connect). A
/// unix socket is reached directly.
pub(crate) async fn connect_via(
    to: &Peer,
    leaving: (Option<&LocalEnd>, bool),
    socks4: Option<SocketAddr>,
) -> io::Result<Stream> {
    match to {
        Peer::Inet(to) => connect_tcp(*to, leaving, socks4).await.map(Stream::Tcp),
        Peer::Unix(to) => Stream::connect_unix(to).await,
    }
}

/// A TCP connection to `to`, as [`connect_via`] makes it.
async fn connect_tcp(
    to: SocketAddr,
    (local, delayed_ack): (Option<&LocalEnd>, bool),
    socks4: Option<SocketAddr>,
) -> io::Result<TcpStream> {
    let Some(proxy) = socks4 else {
        return connect(to, local, delayed_ack).await;
    };
    let SocketAddr::V4(target) = to else {
        let why = "SOCKS4 reaches IPv4 addresses only";
        return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
    };
    let mut stream = connect(proxy, local, delayed_ack).await?;
    stream.write_all(&socks4_request(target)).await?;
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply).await?;
    if reply[1] != SOCKS4_GRANTED {
        let why = format!("SOCKS4 proxy refused (status {:#04x})", reply[1]);
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, why));
    }
    Ok(stream)
}

/// The status byte of a granted SOCKS4 request.
const SOCKS4_GRANTED: u8 = 0x5a;

/// A SOCKS4 CONNECT request for `to`, with haproxy's user id.
fn socks4_request(to: SocketAddrV4) -> Vec<u8> {
    let mut out = vec![4, 1];
    out.extend_from_slice(&to.port().to_be_bytes());
    out.extend_from_slice(&to.ip().octets());
    out.extend_from_slice(b"HAProxy\0");
    out
}

/// A connection to `to`, from `local` when given, else from where the
/// system chooses, its last handshake ACK held when `delayed_ack`. Over
/// a port range, the first port free is used.
async fn connect(
    to: SocketAddr,
    local: Option<&LocalEnd>,
    delayed_ack: bool,
) -> io::Result<TcpStream> {
    let socket = || -> io::Result<TcpSocket> {
        let socket = match to {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if delayed_ack {
            socket2::SockRef::from(&socket).set_tcp_quickack(false)?;
        }
        Ok(socket)
    };
    let Some(end) = local else {
        return socket()?.connect(to).await;
    };
    // `source 0.0.0.0` means "any address" in either family.
    let addr = match end.addr {
        IpAddr::V4(v4) if v4.is_unspecified() && to.is_ipv6() => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => other,
    };
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for port in end.ports.0..=end.ports.1 {
        let socket = socket()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    // Input: on loopback, a connection made with a delayed ACK, then
    // one without; the first then sends a byte.
    // Output: the first is not yet in the server's accept queue when
    // connect returns (the handshake's last ACK waits for data), and
    // is once its byte goes; the second is there at once.
    #[tokio::test]
    async fn a_delayed_ack_waits_for_the_first_bytes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let to = listener.local_addr().expect("addr");
        for delayed_ack in [true, false] {
            let mut stream = connect_via(&Peer::Inet(to), (None, delayed_ack), None)
                .await
                .expect("connect");
            assert_eq!(listener.accept().is_ok(), !delayed_ack);
            if delayed_ack {
                stream.write_all(b"x").await.expect("send");
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
                while listener.accept().is_err() {
                    assert!(tokio::time::Instant::now() < deadline, "never accepted");
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    // Input: a connection through a SOCKS4 proxy on loopback that grants
    // it, then one that refuses.
    // Output: haproxy's 16-byte request (version 4, CONNECT, port, IPv4,
    // "HAProxy\0"), then the stream; a refusal is an error.
    #[tokio::test]
    async fn socks4_asks_as_haproxy_and_honours_the_answer() {
        let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let via = proxy.local_addr().expect("addr");
        let target: SocketAddr = "127.0.0.2:8080".parse().expect("addr");
        let target = Peer::Inet(target);
        let serve = |status: u8| {
            let proxy = &proxy;
            async move {
                let (mut s, _) = proxy.accept().await.expect("accept");
                let mut asked = [0u8; 16];
                s.read_exact(&mut asked).await.expect("request");
                s.write_all(&[0, status, 0, 0, 0, 0, 0, 0])
                    .await
                    .expect("reply");
                (asked, s)
            }
        };
        let (granted, client) =
            tokio::join!(serve(0x5a), connect_via(&target, (None, false), Some(via)));
        let (asked, mut server_side) = granted;
        assert_eq!(asked, *b"\x04\x01\x1f\x90\x7f\x00\x00\x02HAProxy\0");
        let mut client = client.expect("granted");
        client.write_all(b"hello").await.expect("write");
        let mut got = [0u8; 5];
        server_side.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello", "the stream goes on to the target");
        let (_, refused) =
            tokio::join!(serve(0x5b), connect_via(&target, (None, false), Some(via)));
        assert_eq!(
            refused.expect_err("refused").kind(),
            io::ErrorKind::ConnectionRefused
        );
    }
}
