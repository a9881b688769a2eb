//! Entry points for the fuzz targets (`fuzz/`): haven's TLS and HTTP/2
//! front sides fed whatever bytes a client might send, on an in-memory
//! connection. Each call must end, whatever the bytes, without a panic.

use crate::http2::{self, H2Stream};
use crate::tls::TlsListener;
use haven_core::config::haproxy::BindTls;
use haven_core::http2::Limits;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a fuzzed exchange may take: bytes that stall it end there.
const PATIENCE: Duration = Duration::from_millis(200);

/// A TLS listener, as a `bind ... ssl` line makes it, to shake hands on.
pub struct TlsFront {
    listener: TlsListener,
    runtime: Runtime,
}

impl TlsFront {
    /// The listener of `tls` (its certificates loaded), or why not.
    pub fn new(tls: &BindTls) -> Result<Self, String> {
        Ok(Self {
            listener: TlsListener::load(tls, 0, &mut crate::tls::Files::default())?,
            runtime: runtime().map_err(|e| e.to_string())?,
        })
    }

    /// Runs a handshake on a connection whose client sends `bytes`, then
    /// closes (answers are read and dropped).
    pub fn handshake(&self, bytes: &[u8]) {
        self.runtime.block_on(async {
            let server = client_sending(bytes);
            let _ = self.listener.accept(server, Some(PATIENCE)).await;
        });
    }
}

/// haven's HTTP/2 front side on its own: core's connection driven as a
/// client's is, each stream's request read as the exchange reads it, and
/// an answer written back through the same adapter.
pub struct H2Front {
    runtime: Runtime,
}

impl H2Front {
    /// The front side, with the runtime it runs on.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            runtime: runtime()?,
        })
    }

    /// Serves a connection whose client sends `bytes`, then closes.
    pub fn serve(&self, bytes: &[u8]) {
        self.runtime.block_on(async {
            let server = client_sending(bytes);
            let _ = tokio::time::timeout(PATIENCE, connection(server)).await;
        });
    }
}

/// Serves the HTTP/2 connection `io`: each stream's request read whole,
/// answered 200.
async fn connection(io: DuplexStream) {
    let (_drain, draining) = watch::channel(false);
    http2::drive(
        io,
        (Limits::default(), (None, None)),
        draining,
        |mut opened| {
            tokio::spawn(async move {
                let Some((_, read)) = http2::read(&mut opened, (Instant::now(), true)) else {
                    return;
                };
                let head = read.read.manner.head;
                let upload = (read.upload, opened.bodiless);
                let mut stream = H2Stream::new(opened.link, upload, (head, false), None);
                let mut chunk = [0u8; 4096];
                while !stream.request_read() {
                    if !matches!(stream.read(&mut chunk).await, Ok(n) if n > 0) {
                        return;
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                stream.finish();
            });
        },
    )
    .await;
}

/// The server's end of an in-memory connection whose client sends
/// `bytes`, closes its sending side, and drops what it is sent.
fn client_sending(bytes: &[u8]) -> DuplexStream {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let bytes = bytes.to_vec();
    tokio::spawn(async move {
        let _ = client.write_all(&bytes).await;
        let _ = client.shutdown().await;
        drain(&mut client).await;
    });
    server
}

/// Reads `from` to its end.
async fn drain(from: &mut (impl AsyncRead + Unpin)) {
    let mut chunk = [0u8; 4096];
    while matches!(from.read(&mut chunk).await, Ok(n) if n > 0) {}
}

/// A runtime on the calling thread, with timers.
fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
}
