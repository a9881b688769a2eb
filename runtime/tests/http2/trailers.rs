//! Trailers across haven as gRPC uses them: an HTTP/2 client's request
//! trailers and a server's answer trailers, through an HTTP/1 server
//! (as a chunked body's trailer section) and through a `proto h2` one
//! (as HEADERS frames that end the streams).

use crate::common::raw::DEADLINE;
use crate::{haven_before_server, read_answer};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

/// The value of the field `name` among `fields`.
fn field<'a>(fields: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    fields.get(name).map(HeaderValue::as_bytes)
}

/// What an HTTP/2 client got: the answer's status, body and trailers.
struct Answered {
    status: u16,
    body: Vec<u8>,
    trailers: Option<HeaderMap>,
}

/// A POST of `body` with the trailer `x-req: sum` over HTTP/2 (prior
/// knowledge) to `addr`, read back whole.
async fn post_with_trailers(addr: SocketAddr, body: &'static [u8]) -> Answered {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (send, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut send = send.ready().await.expect("ready");
    let request = http::Request::post("http://a.test/rpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (answer, mut upload) = send.send_request(request, false).expect("send");
    upload
        .send_data(Bytes::from_static(body), false)
        .expect("data");
    let mut trailers = HeaderMap::new();
    trailers.insert("x-req", HeaderValue::from_static("sum"));
    upload.send_trailers(trailers).expect("trailers");
    let (status, body, mut stream) = read_answer(answer).await;
    let trailers = timeout(DEADLINE, stream.trailers())
        .await
        .expect("in time")
        .expect("trailers read");
    Answered {
        status,
        body,
        trailers,
    }
}

/// An HTTP/1 server for one request: it sends back the request it read
/// (up to the end of its chunked body) on `seen`, then answers a chunked
/// body with trailers.
async fn chunked_server() -> (SocketAddr, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tell, seen) = oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0; 4096];
        // The body ends at the empty line after its last chunk.
        let last_chunk = |r: &[u8]| r.windows(5).any(|w| w == b"\r\n0\r\n");
        while !(last_chunk(&request) && request.ends_with(b"\r\n\r\n")) {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let _ = tell.send(String::from_utf8_lossy(&request).into_owned());
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nGrpc-Status: 0\r\nConnection: x\r\nX-Done: yes\r\n\r\n";
        let _ = tcp.write_all(answer).await;
        let _ = tcp.shutdown().await;
    });
    (addr, seen)
}

// Input: an HTTP/2 POST with a body and the trailer `x-req: sum`, to an
// HTTP/1 server that answers a chunked body whose trailer section holds
// `Grpc-Status: 0`, a `Connection` field and `X-Done: yes`.
// Output: the server reads the request body chunked with `x-req: sum`
// in its trailer section; the client gets the body, then the trailers
// as HTTP/2 carries them (lower-case, the connection's field left out).
#[tokio::test]
async fn trailers_cross_between_http2_and_a_chunked_http1_body() {
    let (server, seen) = chunked_server().await;
    let (running, fe) = haven_before_server(server, "").await;
    let got = post_with_trailers(fe, b"abc").await;
    let request = timeout(DEADLINE, seen)
        .await
        .expect("in time")
        .expect("read");
    running.stop();
    assert!(
        request
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{request}"
    );
    assert!(
        request.ends_with("3\r\nabc\r\n0\r\nx-req: sum\r\n\r\n"),
        "{request:?}"
    );
    assert_eq!((got.status, got.body.as_slice()), (200, &b"hello"[..]));
    let trailers = got.trailers.expect("trailers");
    assert_eq!(field(&trailers, "grpc-status"), Some(&b"0"[..]));
    assert_eq!(field(&trailers, "x-done"), Some(&b"yes"[..]));
    assert_eq!(trailers.len(), 2, "{trailers:?}");
}

/// An HTTP/2 server that answers each stream with its request body and,
/// as trailers, `grpc-status: 0` and the request's `x-req` trailer as
/// `x-got`.
async fn trailing_h2_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = connection.accept().await {
                    tokio::spawn(echo_with_trailers(request, respond));
                }
            });
        }
    });
    addr
}

/// Answers one stream of [`trailing_h2_server`].
async fn echo_with_trailers(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
) {
    let mut body = request.into_body();
    let mut received = Vec::new();
    while let Some(Ok(data)) = body.data().await {
        let _ = body.flow_control().release_capacity(data.len());
        received.extend_from_slice(&data);
    }
    let got = body.trailers().await.ok().flatten();
    let x_req = got.as_ref().and_then(|t| t.get("x-req").cloned());
    let Ok(mut sending) = respond.send_response(http::Response::new(()), false) else {
        return;
    };
    let _ = sending.send_data(Bytes::from(received), false);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    if let Some(v) = x_req {
        trailers.insert("x-got", v);
    }
    let _ = sending.send_trailers(trailers);
}

// Input: an HTTP/2 POST with the trailer `x-req: sum`, to a `proto h2`
// server that echoes the body and answers trailers `grpc-status: 0` and
// `x-got` (the request trailer it read).
// Output: the client gets the body back, then both trailers: the request
// trailer reached the server and the server's trailers reached the
// client, across haven's two HTTP/2 hops.
#[tokio::test]
async fn trailers_cross_an_http2_hop_both_ways() {
    let server = trailing_h2_server().await;
    let (running, fe) = haven_before_server(server, " proto h2").await;
    let got = post_with_trailers(fe, b"ping").await;
    running.stop();
    assert_eq!((got.status, got.body.as_slice()), (200, &b"ping"[..]));
    let trailers = got.trailers.expect("trailers");
    assert_eq!(field(&trailers, "grpc-status"), Some(&b"0"[..]));
    assert_eq!(field(&trailers, "x-got"), Some(&b"sum"[..]));
}
