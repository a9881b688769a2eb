//! HTTP/2 from clients against real sockets: the implicit upgrade of a
//! clear connection that opens with the preface, `bind ... proto h2`,
//! ALPN `h2` under TLS (curl `--http2`), many streams on one connection,
//! bodies both ways under flow control, the log line of an h2 request,
//! and requests to a server with `proto h2`; trailers, backends' HTTP/2
//! counters and the `sess.` variables a connection's streams share, each
//! in a module of its own.

#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod server_counters;
mod session_vars;
mod trailers;

use bytes::Bytes;
use common::pki::Pki;
use common::raw::{Syslog, DEADLINE};
use common::{config, free_port, Backend, DEFAULTS};
use h2::client::SendRequest;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// An HTTP/2 connection to `addr` (prior knowledge), ready for requests.
async fn h2_connect(addr: SocketAddr) -> SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (send, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send.ready().await.expect("ready")
}

/// Sends `request` with `body` (in pieces of at most 16 kB, as the
/// window lets them go) on `send`: the answer's status and whole body.
async fn exchange(
    send: &SendRequest<Bytes>,
    request: http::Request<()>,
    body: Option<Vec<u8>>,
) -> (u16, Vec<u8>) {
    let mut send = send.clone().ready().await.expect("ready");
    let (answer, mut upload) = send
        .send_request(request, body.is_none())
        .expect("send request");
    if let Some(body) = body {
        for piece in body.chunks(16_384) {
            upload.reserve_capacity(piece.len());
            while upload.capacity() < piece.len() {
                let got = std::future::poll_fn(|cx| upload.poll_capacity(cx)).await;
                got.expect("capacity").expect("capacity");
            }
            upload
                .send_data(Bytes::copy_from_slice(piece), false)
                .expect("send data");
        }
        upload.send_data(Bytes::new(), true).expect("end");
    }
    let (status, bytes, _) = read_answer(answer).await;
    (status, bytes)
}

/// An answer read to the end of its body: its status, its body, and its
/// stream (trailers may follow).
async fn read_answer(answer: h2::client::ResponseFuture) -> (u16, Vec<u8>, h2::RecvStream) {
    let answer = timeout(DEADLINE, answer)
        .await
        .expect("answered in time")
        .expect("an answer");
    let status = answer.status().as_u16();
    let mut body = answer.into_body();
    let mut bytes = Vec::new();
    while let Some(data) = timeout(DEADLINE, body.data()).await.expect("body in time") {
        let data = data.expect("data");
        let _ = body.flow_control().release_capacity(data.len());
        bytes.extend_from_slice(&data);
    }
    (status, bytes, body)
}

/// haven with one frontend bound with `bind_options` (and `lines` after
/// it) in front of `backend`.
async fn haven_before(
    backend: &Backend,
    (global, bind_options, lines): (&str, &str, &str),
) -> (haven_runtime::Running, SocketAddr) {
    let port = free_port();
    let text = format!(
        "{global}{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}{bind_options}\n{lines}    default_backend be\nbackend be\n    server s {}\n",
        backend.addr
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    (running, fe)
}

// Input: a plain HTTP frontend (no `proto`); an HTTP/2 client with prior
// knowledge opening 64 streams at once on one connection, each POSTing
// its number.
// Output: the connection is served as HTTP/2 (the implicit upgrade),
// with haproxy's limit of 100 concurrent streams; each stream gets the
// backend's answer to its own body.
#[tokio::test]
async fn many_streams_on_one_upgraded_connection_each_get_their_answer() {
    let backend = Backend::start("b").await;
    let (running, fe) = haven_before(&backend, ("", "", "")).await;
    let send = h2_connect(fe).await;
    let mut streams = tokio::task::JoinSet::new();
    for n in 0..64 {
        let send = send.clone();
        streams.spawn(async move {
            let request = http::Request::post(format!("http://a.test/{n}"))
                .body(())
                .expect("request");
            (
                n,
                exchange(&send, request, Some(n.to_string().into_bytes())).await,
            )
        });
    }
    let mut answered = 0;
    while let Some(done) = streams.join_next().await {
        let (n, (status, body)) = done.expect("stream task");
        assert_eq!(status, 200);
        assert_eq!(String::from_utf8_lossy(&body), format!("b:{n}"));
        answered += 1;
    }
    // haven's SETTINGS came before its first answer.
    let limit = send.current_max_send_streams();
    running.stop();
    assert_eq!(answered, 64);
    assert_eq!(limit, 100);
}

// Input: a 1 MiB request body sent without content-length (so it goes on
// chunked to the server) to a backend that echoes it; the answer is read
// back through HTTP/2 flow control (the client's window starts at 64 kB).
// Output: both ways carry every byte, in order.
#[tokio::test]
async fn a_large_body_goes_both_ways_under_flow_control() {
    let backend = Backend::start("e").await;
    let (running, fe) = haven_before(&backend, ("", " proto h2", "")).await;
    let send = h2_connect(fe).await;
    // Letters: the backend echoes the body as text.
    let body: Vec<u8> = (0..1_048_576u32).map(|i| b'a' + (i % 26) as u8).collect();
    let request = http::Request::post("http://a.test/up")
        .body(())
        .expect("request");
    let (status, answer) = exchange(&send, request, Some(body.clone())).await;
    running.stop();
    assert_eq!(status, 200);
    assert_eq!(answer.len(), body.len() + 2);
    assert!(answer[2..] == body[..], "the echoed body differs");
}

// Input: a frontend with `option disable-h2-upgrade`; a client that opens
// with the HTTP/2 preface.
// Output: no HTTP/2: the preface is an HTTP/1 request haproxy refuses
// with 400.
#[tokio::test]
async fn disable_h2_upgrade_refuses_the_preface_as_http1() {
    let backend = Backend::start("b").await;
    let lines = "    option disable-h2-upgrade\n";
    let (running, fe) = haven_before(&backend, ("", "", lines)).await;
    let answer = common::send_raw(fe, PREFACE).await;
    running.stop();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
}

// Input: a TLS frontend offering `alpn h2,http/1.1` and logging with
// `option httplog`; curl `--http2`, then curl `--http1.1`.
// Output: curl speaks HTTP/2 with the first and HTTP/1.1 with the second;
// the h2 request is logged as haproxy logs it, in absolute form with
// `HTTP/2.0`, on the frontend marked `~`.
#[tokio::test]
async fn curl_negotiates_h2_by_alpn_and_the_request_is_logged_as_haproxy_does() {
    let pki = Pki::serving_a_test();
    let backend = Backend::start("b").await;
    let syslog = Syslog::new().await;
    let bind = format!(" ssl crt {} alpn h2,http/1.1", pki.path("a.pem"));
    let haven = haven_before(
        &backend,
        (
            &syslog.global,
            &bind,
            "    log global\n    option httplog\n",
        ),
    );
    let (running, fe) = haven.await;
    let versions = [
        curl_version(fe, &pki, "--http2").await,
        curl_version(fe, &pki, "--http1.1").await,
    ];
    if versions[0].is_none() {
        running.stop();
        return;
    }
    let wanted = format!("\"GET https://a.test:{}/h HTTP/2.0\"", fe.port());
    let lines = syslog.until(&[&wanted, "\"GET /h HTTP/1.1\""]).await;
    running.stop();
    assert_eq!(versions, [Some("b 2 200".into()), Some("b 1.1 200".into())]);
    let h2_line = lines.iter().find(|l| l.contains(&wanted)).expect("h2 line");
    assert!(h2_line.contains(" fe~ be/s "), "{h2_line}");
}

/// curl asked for `version` against `https://a.test:PORT/h` on `addr`:
/// the body, the HTTP version it spoke and the status; `None` without
/// curl (outside CI).
async fn curl_version(addr: SocketAddr, pki: &Pki, version: &str) -> Option<String> {
    let url = format!("https://a.test:{}/h", addr.port());
    let resolve = format!("a.test:{}:{}", addr.port(), addr.ip());
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--resolve", &resolve])
        .args(["--cacert", &pki.path("ca.pem"), version])
        .args(["-w", " %{http_version} %{http_code}"])
        .arg(&url)
        .output()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "curl is needed in CI: {e}"
            );
            eprintln!("skipped: curl is not installed");
            return None;
        }
    };
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An HTTP/2 server (prior knowledge) answering each stream, without a
/// length, with its authority, path and body; it counts its connections.
async fn h2_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = connection.accept().await {
                    tokio::spawn(answer_stream(request, respond));
                }
            });
        }
    });
    (addr, connections)
}

/// haven with one frontend in front of `server`, which has `proto h2`.
async fn haven_before_h2(server: SocketAddr) -> (haven_runtime::Running, SocketAddr) {
    haven_before_server(server, " proto h2").await
}

/// haven with one frontend in front of `server`, `options` ending its
/// line.
async fn haven_before_server(
    server: SocketAddr,
    options: &str,
) -> (haven_runtime::Running, SocketAddr) {
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s {server}{options}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    (running, fe)
}

/// Answers one stream of [`h2_server`].
async fn answer_stream(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
) {
    let (parts, mut body) = request.into_parts();
    let mut received = Vec::new();
    while let Some(Ok(data)) = body.data().await {
        let _ = body.flow_control().release_capacity(data.len());
        received.extend_from_slice(&data);
    }
    let authority = parts.uri.authority().map_or("-", |a| a.as_str());
    let text = format!(
        "{authority} {} {}",
        parts.uri.path(),
        String::from_utf8_lossy(&received)
    );
    if parts.uri.path() == "/hints" {
        let hints = http::Response::builder()
            .status(103)
            .header("link", "</a.css>");
        let _ = respond.send_informational(hints.body(()).expect("a 103"));
    }
    let Ok(mut sending) = respond.send_response(http::Response::new(()), false) else {
        return;
    };
    let _ = sending.send_data(Bytes::from(text), true);
}

// Input: a backend whose server has `proto h2`; an HTTP/1.1 GET, then ten
// at once, then a POST with a chunked body, all through haven.
// Output: each answer carries the request's Host as the authority, its
// path and its body (the server's answer, sent without a length, reaches
// the client chunked); every request went over the one HTTP/2 connection
// the first one opened.
#[tokio::test]
async fn requests_reach_an_h2_server_as_streams_of_one_connection() {
    let (server, connections) = h2_server().await;
    let (running, fe) = haven_before_h2(server).await;
    let (status, body) = common::get(fe, "a.test", "/first").await;
    assert_eq!((status, dechunked(&body).as_str()), (200, "a.test /first "));
    let mut gets = tokio::task::JoinSet::new();
    for n in 0..10 {
        gets.spawn(async move { (n, common::get(fe, "a.test", &format!("/{n}")).await) });
    }
    while let Some(done) = gets.join_next().await {
        let (n, (status, body)) = done.expect("task");
        assert_eq!((status, dechunked(&body)), (200, format!("a.test /{n} ")));
    }
    let post = b"POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let answer = common::send_raw(fe, post).await;
    running.stop();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{answer}"
    );
    assert!(answer.contains("a.test /up hello world"), "{answer}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

// Input: a `proto h2` server that sends a 103 with a `link` before its
// answer; an HTTP/1.1 GET through haven.
// Output: the client gets the 103 with its `link`, then the 200.
#[tokio::test]
async fn an_interim_answer_from_an_h2_server_reaches_the_client() {
    let (server, _) = h2_server().await;
    let (running, fe) = haven_before_h2(server).await;
    let get = b"GET /hints HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";
    let answer = common::send_raw(fe, get).await;
    running.stop();
    assert!(
        answer.starts_with("HTTP/1.1 103 Early Hints\r\n"),
        "{answer}"
    );
    let hint = answer.find("link: </a.css>").expect("the hint");
    let final_head = answer.find("HTTP/1.1 200 ").expect("the answer");
    assert!(hint < final_head, "{answer}");
}

/// The data of a chunked `body`.
fn dechunked(body: &str) -> String {
    let mut data = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size, 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        data.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    data
}

/// An HTTP/2 frame: its type, flags, stream and payload, as sent.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("small");
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// `GET http://a/` as one HEADERS frame ending its stream: static table
/// entries for the method, path and scheme, the authority as a literal.
fn get_frame(stream: u32) -> Vec<u8> {
    frame(0x1, 0x5, stream, &[0x82, 0x84, 0x86, 0x01, 0x01, b'a'])
}

/// Reads frames from `c` until a GOAWAY: its error code.
async fn goaway(c: &mut TcpStream) -> u32 {
    use tokio::io::AsyncReadExt;
    loop {
        let mut head = [0u8; 9];
        timeout(DEADLINE, c.read_exact(&mut head))
            .await
            .expect("a frame in time")
            .expect("a frame");
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        c.read_exact(&mut payload).await.expect("its payload");
        if head[3] == 0x7 {
            return u32::from_be_bytes(payload[4..8].try_into().expect("4 bytes"));
        }
    }
}

// Input: a server that takes connections and never answers; a client
// that opens 100 streams, resetting each once its request reached the
// server (the "rapid reset" pattern), then opens more.
// Output: the resets do not free room for more requests: the server sees
// exactly 100, the streams beyond are refused, and the connection ends
// with GOAWAY ENHANCE_YOUR_CALM.
#[tokio::test]
async fn resetting_streams_does_not_send_more_requests_to_servers() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = listener.local_addr().expect("addr");
    let reached = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&reached);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(c);
        }
    });
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} proto h2\n    default_backend be\nbackend be\n    server s {server}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut c = TcpStream::connect(running.listeners[0].1)
        .await
        .expect("connect");
    c.write_all(PREFACE).await.expect("preface");
    c.write_all(&frame(0x4, 0, 0, &[])).await.expect("settings");
    for n in 0..100u32 {
        let stream = 2 * n + 1;
        c.write_all(&get_frame(stream)).await.expect("headers");
        let until = tokio::time::Instant::now() + DEADLINE;
        while reached.load(Ordering::SeqCst) <= n as usize {
            assert!(
                tokio::time::Instant::now() < until,
                "request {n} never reached the server"
            );
            tokio::task::yield_now().await;
        }
        let cancel = 0x8u32.to_be_bytes();
        c.write_all(&frame(0x3, 0, stream, &cancel))
            .await
            .expect("reset");
    }
    for n in 100..120u32 {
        c.write_all(&get_frame(2 * n + 1)).await.expect("headers");
    }
    let code = goaway(&mut c).await;
    running.stop();
    assert_eq!(code, 0xb, "ENHANCE_YOUR_CALM");
    assert_eq!(reached.load(Ordering::SeqCst), 100);
}

// Input: an HTTP/1.1 upgrade to `custom` through two haven proxies: the
// first reaches the second with `proto h2`, the second an HTTP/1.1
// server that switches and then echoes; "ping" sent in the tunnel.
// Output: the server sees the GET with `connection: upgrade` and
// `upgrade: custom` (the second proxy made it of the first one's
// extended CONNECT); the client gets the 101 and its "ping" back.
#[tokio::test]
async fn an_upgrade_crosses_an_h2_hop_as_an_extended_connect() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server_addr = server.local_addr().expect("address");
    let (seen_tx, seen) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let (mut c, _) = server.accept().await.expect("accept");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            c.read_exact(&mut byte).await.expect("head");
            head.push(byte[0]);
        }
        let _ = seen_tx.send(String::from_utf8_lossy(&head).into_owned());
        let switch =
            b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: custom\r\n\r\n";
        c.write_all(switch).await.expect("101");
        let mut ping = [0u8; 4];
        c.read_exact(&mut ping).await.expect("ping");
        c.write_all(&ping).await.expect("echo");
    });
    let (front, middle) = (free_port(), free_port());
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{front}\n    default_backend be\nbackend be\n    server mid 127.0.0.1:{middle} proto h2\nlisten mid\n    bind 127.0.0.1:{middle} proto h2\n    server s {server_addr}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut c = TcpStream::connect(("127.0.0.1", front))
        .await
        .expect("connect");
    let ask =
        b"GET /chat HTTP/1.1\r\nHost: a.test\r\nConnection: upgrade\r\nUpgrade: custom\r\n\r\n";
    c.write_all(ask).await.expect("send");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        timeout(DEADLINE, c.read_exact(&mut byte))
            .await
            .expect("in time")
            .expect("answer");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    assert!(head.contains("upgrade: custom\r\n"), "{head}");
    let seen = timeout(DEADLINE, seen)
        .await
        .expect("in time")
        .expect("head");
    let seen = seen.to_ascii_lowercase();
    assert!(seen.starts_with("get /chat http/1.1\r\n"), "{seen}");
    assert!(
        seen.contains("connection: upgrade\r\n") && seen.contains("upgrade: custom\r\n"),
        "{seen}"
    );
    c.write_all(b"ping").await.expect("ping");
    let mut echo = [0u8; 4];
    timeout(DEADLINE, c.read_exact(&mut echo))
        .await
        .expect("in time")
        .expect("echo");
    assert_eq!(&echo, b"ping");
    running.stop();
}

/// The value of `counter` on the frontend's line of `show stat typed`.
fn typed_counter(typed: &str, counter: &str) -> Option<u64> {
    let needle = format!(".{counter}.1:");
    let line = typed
        .lines()
        .find(|l| l.starts_with("F.") && l.contains(&needle))?;
    line.rsplit(':').next()?.parse().ok()
}

// Input: a `proto h2` frontend with a stats socket; one client connection
// that makes a request, then one that sends DATA on a stream it never
// opened.
// Output: the second gets GOAWAY PROTOCOL_ERROR; once both ended, `show
// stat typed` counts two HTTP/2 connections, none open, one connection
// error answered with a GOAWAY, and the frames received by type.
#[tokio::test]
async fn the_http2_module_counters_count_frames_and_detected_errors() {
    use tokio::io::AsyncWriteExt;
    let backend = Backend::start("b").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let global = format!("global\n    stats socket {} level admin\n", sock.display());
    let (running, fe) = haven_before(&backend, (&global, " proto h2", "")).await;
    let send = h2_connect(fe).await;
    let get = http::Request::get(format!("http://{fe}/"))
        .body(())
        .expect("request");
    assert_eq!(exchange(&send, get, None).await.0, 200);
    drop(send);
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(PREFACE).await.expect("preface");
    c.write_all(&frame(0x4, 0, 0, &[])).await.expect("settings");
    c.write_all(&frame(0x0, 0, 9, b"x")).await.expect("data");
    assert_eq!(goaway(&mut c).await, 0x1, "PROTOCOL_ERROR");
    let until = tokio::time::Instant::now() + DEADLINE;
    let typed = loop {
        let typed = common::cli(&sock, "show stat typed").await;
        let over = typed_counter(&typed, "h2_total_connections") == Some(2)
            && typed_counter(&typed, "h2_open_connections") == Some(0);
        if over || tokio::time::Instant::now() > until {
            break typed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    running.stop();
    let count = |name| typed_counter(&typed, name);
    assert_eq!(count("h2_total_connections"), Some(2));
    assert_eq!(count("h2_open_connections"), Some(0));
    assert_eq!(count("h2_detected_conn_protocol_errors"), Some(1));
    assert_eq!(count("h2_goaway_resp"), Some(1));
    assert_eq!(count("h2_headers_rcvd"), Some(1));
    assert_eq!(count("h2_data_rcvd"), Some(1));
    assert_eq!(count("h2_settings_rcvd").map(|n| n >= 2), Some(true));
}

/// The HTTP/2 connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Input: `tune.h2.max-concurrent-streams 5` and
// `tune.h2.initial-window-size 1048576` in global; a client that sends
// the preface.
// Output: haven's first frame is its SETTINGS, saying both, after the
// extended CONNECT it offers, as haproxy orders them.
#[tokio::test]
async fn tune_h2_settings_reach_the_clients_settings() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let backend = Backend::start("b").await;
    let global =
        "global\n    tune.h2.max-concurrent-streams 5\n    tune.h2.initial-window-size 1048576\n";
    let (running, fe) = haven_before(&backend, (global, " proto h2", "")).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(PREFACE).await.expect("preface");
    let mut head = [0u8; 9];
    timeout(DEADLINE, c.read_exact(&mut head))
        .await
        .expect("a frame in time")
        .expect("a frame");
    let mut payload = vec![0u8; usize::from(head[2])];
    c.read_exact(&mut payload).await.expect("its payload");
    running.stop();
    assert_eq!(head[3], 0x4, "SETTINGS");
    let settings: Vec<(u16, u32)> = payload
        .chunks(6)
        .map(|e| {
            (
                u16::from_be_bytes([e[0], e[1]]),
                u32::from_be_bytes([e[2], e[3], e[4], e[5]]),
            )
        })
        .collect();
    assert_eq!(settings, [(8, 1), (4, 1_048_576), (3, 5)]);
}
