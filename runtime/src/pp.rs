//! The PROXY protocol header that clients of an `accept-proxy` listener
//! send first, read with core's parser; and the one a `send-proxy`
//! server gets.

use crate::body;
use crate::stream::Stream;
use bytes::{Buf, BytesMut};
use haven_core::config::haproxy::ProxyVersion;
use haven_core::proxy_protocol::{encode_v1, encode_v2, parse, ProxyHeader, PP2_TYPE_UNIQUE_ID};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// Reads the PROXY header `stream` starts with, within `timeout`; what
/// follows it stays in `buf`. `None`: no valid header came (the
/// connection is then closed without a word, as haproxy does).
pub(crate) async fn read_header(
    stream: &mut Stream,
    buf: &mut BytesMut,
    timeout: Option<Duration>,
) -> Option<ProxyHeader> {
    let until = timeout.map(|t| Instant::now() + t);
    loop {
        if let Some((header, len)) = parse(buf).ok()? {
            buf.advance(len);
            return Some(header);
        }
        buf.reserve(512);
        let left = until.map(|u| u.saturating_duration_since(Instant::now()));
        if !matches!(body::read(stream, buf, left).await, Ok(true)) {
            return None;
        }
    }
}

/// Reads the PROXY header `stream` starts with, within `timeout`, and
/// nothing after it: what follows (a TLS handshake) stays in the socket.
pub(crate) async fn read_header_alone(
    stream: &mut Stream,
    timeout: Option<Duration>,
) -> Option<ProxyHeader> {
    let work = async {
        // The bytes of an unfinished header, taken from the socket.
        let mut taken = BytesMut::new();
        let mut ahead = [0u8; 256];
        loop {
            let n = stream.peek(&mut ahead).await.ok().filter(|n| *n > 0)?;
            let mut candidate = taken.clone();
            candidate.extend_from_slice(&ahead[..n]);
            let take = match parse(&candidate).ok()? {
                Some((header, len)) => Err((header, len - taken.len())),
                None => Ok(n),
            };
            let len = take.as_ref().map_or_else(|(_, len)| *len, |n| *n);
            let mut chunk = vec![0; len];
            stream.read_exact(&mut chunk).await.ok()?;
            match take {
                Err((header, _)) => return Some(header),
                Ok(_) => taken.extend_from_slice(&chunk),
            }
        }
    };
    match timeout {
        Some(t) => tokio::time::timeout(t, work).await.ok()?,
        None => work.await,
    }
}

/// The header a server gets for a connection from `client` to `local`
/// (version 2 with the request's `unique_id` when given).
pub(crate) fn greeting(
    version: ProxyVersion,
    (client, local): (SocketAddr, SocketAddr),
    unique_id: Option<&str>,
) -> Vec<u8> {
    match version {
        ProxyVersion::V1 => encode_v1(client, local),
        ProxyVersion::V2 => {
            let tlvs: Vec<(u8, &[u8])> = unique_id
                .map(|id| (PP2_TYPE_UNIQUE_ID, id.as_bytes()))
                .into_iter()
                .collect();
            encode_v2(client, local, &tlvs)
        }
    }
}
