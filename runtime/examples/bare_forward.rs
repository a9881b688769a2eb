//! The ceiling of `bench/proxy.sh`'s keep-alive test: a forwarder that
//! does nothing but the four socket calls a proxy cannot avoid per
//! request (read the client, write the server, read the server, write the
//! client), on the same tokio single-thread runtime haven uses. No HTTP
//! parsing, no balancing decisions, no timers, no logs: each client
//! connection gets its own server connection (round robin at connect) and
//! bytes are relayed in turn, which is only right for a client that waits
//! for each answer, as wrk does. It is a measuring stick, not a proxy.
//!
//! Run: `cargo run --release -p haven-runtime --example bare_forward --
//! LISTEN_PORT SERVER_PORT...` (everything on 127.0.0.1).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Relays `client`'s requests to `server` and the answers back, one at a
/// time, until either side closes.
async fn relay(mut client: TcpStream, server: SocketAddr) -> io::Result<()> {
    let mut server = TcpStream::connect(server).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        server.write_all(&buf[..n]).await?;
        let n = server.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        client.write_all(&buf[..n]).await?;
    }
}

fn main() -> io::Result<()> {
    let ports: Vec<u16> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("a port: {e}")))?;
    let usage = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: bare_forward LISTEN_PORT SERVER_PORT...",
        )
    };
    let [listen, servers @ ..] = ports.as_slice() else {
        return Err(usage());
    };
    if servers.is_empty() {
        return Err(usage());
    }
    let servers: Vec<SocketAddr> = servers
        .iter()
        .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, *p)))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, *listen)).await?;
        for next in (0..servers.len()).cycle() {
            let (client, _) = listener.accept().await?;
            tokio::spawn(relay(client, servers[next]));
        }
        Ok(())
    })
}
