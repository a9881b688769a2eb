//! Real mode serves `mode tcp` proxies: loopback echo servers behind a
//! `listen` section, bytes checked end to end, servers picked as the
//! `balance` line says, dead ones skipped after their checks, and the
//! `option tcplog` line as haproxy writes it.

#[allow(dead_code)]
mod common;

use common::raw::Syslog;
use common::{config, first_read, free_port, listener, send_raw, DEFAULTS};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(10);

/// An echo server that greets each connection with `name` and a newline,
/// then sends back every byte it reads until the client closes.
async fn echo_server(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                if s.write_all(format!("{name}\n").as_bytes()).await.is_err() {
                    return;
                }
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// A loopback address nothing listens on.
fn dead_server() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// haven serving `listen` section `body` (its lines after `bind`).
async fn haven(global: &str, body: &str) -> (haven_runtime::Running, SocketAddr) {
    let port = free_port();
    let text = format!(
        "{global}defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten db\n    bind 127.0.0.1:{port}\n{body}"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    (running, fe)
}

/// Connects to `fe`: the greeting of the server it reached.
async fn greeting(c: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        let n = timeout(DEADLINE, c.read(&mut byte))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "closed before a greeting: {line:?}");
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).trim().to_owned()
}

// Input: a `listen` in `mode tcp`, `balance roundrobin` over two echo
// servers; four connections, each sending 5 MB then closing its side.
// Output: the servers alternate; every byte comes back intact and in
// order, then the connection closes.
#[tokio::test]
async fn a_tcp_listen_balances_round_robin_and_echoes_intact() {
    let (a, b) = (echo_server("a").await, echo_server("b").await);
    let body = format!("    balance roundrobin\n    server a {a}\n    server b {b}\n");
    let (running, fe) = haven("", &body).await;
    let data: Vec<u8> = (0..5 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut c = TcpStream::connect(fe).await.expect("connect");
        seen.push(greeting(&mut c).await);
        let (mut r, mut w) = c.into_split();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            w.write_all(&sent).await.expect("send");
            w.shutdown().await.expect("close our side");
        });
        let mut back = Vec::with_capacity(data.len());
        timeout(DEADLINE, r.read_to_end(&mut back))
            .await
            .expect("in time")
            .expect("read");
        writer.await.expect("writer");
        assert_eq!(back.len(), data.len());
        assert!(back == data, "echoed intact");
    }
    assert_eq!(seen, ["a", "b", "a", "b"]);
    running.stop();
}

// Input: two servers under `check inter 100 fall 1`, one of them dead.
// Output: once its check fails, every connection reaches the live one.
#[tokio::test]
async fn a_dead_server_is_skipped_after_its_checks() {
    let a = echo_server("a").await;
    let body = format!(
        "    balance roundrobin\n    server a {a} check inter 100 fall 1 rise 1\n    server b {} check inter 100 fall 1 rise 1\n",
        dead_server()
    );
    let (running, fe) = haven("", &body).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut in_a_row = 0;
    while in_a_row < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead server was never skipped"
        );
        let mut c = TcpStream::connect(fe).await.expect("connect");
        let mut byte = [0u8; 1];
        match timeout(DEADLINE, c.peek(&mut byte)).await {
            Ok(Ok(1)) => {
                assert_eq!(greeting(&mut c).await, "a");
                in_a_row += 1;
            }
            _ => in_a_row = 0,
        }
    }
    running.stop();
}

// Input: `option tcplog` with a syslog target; one echo closed by the
// client, one connection to a `listen` whose only server is dead.
// Output: `fe be/a Tw/Tc/Tt <bytes> --` with the bytes the client got,
// and `SC` with `-1` for Tc and the retries made.
#[tokio::test]
async fn tcplog_lines_say_what_happened() {
    let syslog = Syslog::new().await;
    let global = &syslog.global;
    let a = echo_server("a").await;
    let body = format!("    log global\n    option tcplog\n    retries 1\n    server a {a}\n");
    let (running, fe) = haven(global, &body).await;
    let next = || syslog.next();
    let mut c = TcpStream::connect(fe).await.expect("connect");
    assert_eq!(greeting(&mut c).await, "a");
    c.write_all(b"ping").await.expect("send");
    c.shutdown().await.expect("close");
    let mut rest = Vec::new();
    timeout(DEADLINE, c.read_to_end(&mut rest))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(rest, b"ping");
    let line = next().await;
    assert!(line.starts_with("<134>"), "{line}");
    assert!(line.contains("] db db/a 0/"), "{line}");
    assert!(line.ends_with(" 6 -- 1/1/0/0/0 0/0\n"), "{line}");
    running.stop();

    let dead = format!(
        "    log global\n    option tcplog\n    retries 1\n    server a {}\n",
        dead_server()
    );
    let (running, fe) = haven(global, &dead).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    let mut rest = Vec::new();
    let _ = timeout(DEADLINE, c.read_to_end(&mut rest)).await;
    assert!(rest.is_empty());
    let line = next().await;
    assert!(line.contains("] db db/a 0/-1/"), "{line}");
    assert!(line.ends_with(" 0 SC 1/1/0/0/1 0/0\n"), "{line}");
    running.stop();
}

/// A MySQL 8-style greeting naming server version `version`.
fn mysql_greeting(version: &str) -> Vec<u8> {
    let mut body = vec![0x0a];
    body.extend_from_slice(version.as_bytes());
    body.push(0);
    body.extend_from_slice(&[0x0a, 0, 0, 0]);
    body.extend_from_slice(b"saltsalt\0");
    body.extend_from_slice(&[0xff, 0xff, 0xff, 0x02, 0x00, 0xff, 0xc7, 0x15]);
    body.extend_from_slice(&[0; 10]);
    body.extend_from_slice(b"saltsaltsalt\0caching_sha2_password\0");
    let len = body.len();
    let mut packet = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, 0];
    packet.extend_from_slice(&body);
    packet
}

/// A fake MySQL server: greets every connection as `version`, then
/// answers the first packet it reads with `answer` (an OK or an error
/// packet) and closes.
async fn fake_mysql(version: &'static str, answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                if s.write_all(&mysql_greeting(version)).await.is_err() {
                    return;
                }
                let mut buf = [0u8; 512];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    let _ = s.write_all(answer).await;
                }
            });
        }
    });
    addr
}

/// MySQL's OK packet, second in its exchange.
const MYSQL_OK: &[u8] = b"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00";
/// MySQL's error 1251 packet.
const MYSQL_1251: &[u8] = b"\x1b\x00\x00\x02\xff\xe3\x04Client does not support it";

// Input: a MySQL `listen` as in the corpus (`option mysql-check user
// root`, `option log-health-checks`), one server that lets the user in
// and one that answers error 1251.
// Output: the second goes DOWN with haproxy's words (`Layer7 wrong
// status, code: 1251, info: "..."`), the first passes with its version
// as info; clients are then greeted by the first only.
#[tokio::test]
async fn mysql_check_logs_in_and_marks_a_refusing_server_down() {
    let syslog = Syslog::new().await;
    let good = fake_mysql("8.0.19-good", MYSQL_OK).await;
    let bad = fake_mysql("8.0.19-bad", MYSQL_1251).await;
    let body = format!(
        "    log global\n    option log-health-checks\n    balance roundrobin\n    option mysql-check user root\n    server good {good} check inter 100 rise 1 fall 1\n    server bad {bad} check inter 100 rise 1 fall 1\n"
    );
    let (running, fe) = haven(&syslog.global, &body).await;
    let lines = syslog
        .until(&["server db/bad failed", "server db/good succeeded"])
        .await;
    let failed = lines
        .iter()
        .find(|l| l.contains("db/bad failed"))
        .expect("bad");
    assert!(
        failed.contains("reason: Layer7 wrong status, code: 1251, info: \"Client does not support it\", check duration: ")
            && failed.contains("status: 0/1 DOWN."),
        "{failed}"
    );
    let passed = lines
        .iter()
        .find(|l| l.contains("db/good succeeded"))
        .expect("good");
    assert!(
        passed.contains("reason: Layer7 check passed, code: 0, info: \"8.0.19-good\""),
        "{passed}"
    );
    for _ in 0..4 {
        let mut c = TcpStream::connect(fe).await.expect("connect");
        let mut greeting = vec![0u8; 128];
        let n = timeout(DEADLINE, c.read(&mut greeting))
            .await
            .expect("in time")
            .expect("read");
        let text = String::from_utf8_lossy(&greeting[..n]).into_owned();
        assert!(text.contains("8.0.19-good"), "{text}");
    }
    running.stop();
}

/// A TLS 1.2 client hello naming `db.example.com`, as `openssl s_client
/// -servername db.example.com` sent it.
const HELLO_DB: &str = "16030100ca010000c60303285ec588c38c8b6825077da955dbb87ae113c42f69036c95544aa16267a8183e000038c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff0100006500000013001100000e64622e6578616d706c652e636f6d000b000403000102000a000c000a001d0017001e001900180016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602";

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

// Input: TLS passthrough as real configs write it: `tcp-request
// inspect-delay`, `tcp-request content accept if { req_ssl_hello_type 1
// }`, `use_backend` by `req.ssl_sni`; a client hello for db.example.com
// sent in two pieces, then one with no TLS at all.
// Output: the hello reaches the db backend whole (the inspected bytes go
// first); the plain client, plainly no TLS, falls to the default backend.
#[tokio::test]
async fn tls_passthrough_routes_by_sni() {
    let (db, web) = (echo_server("db").await, echo_server("web").await);
    let port = free_port();
    let text = format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend tls\n    bind 127.0.0.1:{port}\n    tcp-request inspect-delay 300ms\n    tcp-request content accept if {{ req_ssl_hello_type 1 }}\n    use_backend db if {{ req.ssl_sni -i DB.example.com }}\n    default_backend web\nbackend db\n    server db {db}\nbackend web\n    server web {web}\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let hello = unhex(HELLO_DB);
    let mut c = TcpStream::connect(fe).await.expect("connect");
    c.write_all(&hello[..40]).await.expect("first piece");
    tokio::task::yield_now().await;
    c.write_all(&hello[40..]).await.expect("rest");
    assert_eq!(greeting(&mut c).await, "db");
    let mut echoed = vec![0u8; hello.len()];
    timeout(DEADLINE, c.read_exact(&mut echoed))
        .await
        .expect("in time")
        .expect("read");
    assert!(echoed == hello, "the hello went through whole");

    let mut plain = TcpStream::connect(fe).await.expect("connect");
    plain.write_all(b"PING\r\n").await.expect("send");
    assert_eq!(greeting(&mut plain).await, "web");
    running.stop();
}

// Input: `tcp-request connection reject if { src 127.0.0.0/8 }` on one
// frontend; on another, content rules accepting a 4-byte greeting only
// (`req.len eq 4`), rejecting the rest after `inspect-delay`, with
// `option tcplog`.
// Output: the first resets every loopback client; the second passes
// "PING" through and closes on "abc", logging `PR` with `-1/-1/`.
#[tokio::test]
async fn tcp_request_rules_let_in_or_refuse() {
    let syslog = Syslog::new().await;
    let a = echo_server("a").await;
    let (closed_port, port) = (free_port(), free_port());
    let text = format!(
        "{}defaults\n    mode tcp\n    log global\n    option tcplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten closed\n    bind 127.0.0.1:{closed_port}\n    tcp-request connection reject if {{ src 127.0.0.0/8 }}\n    server a {a}\nlisten picky\n    bind 127.0.0.1:{port}\n    tcp-request inspect-delay 200ms\n    tcp-request content accept if {{ req.len eq 4 }}\n    tcp-request content reject\n    server a {a}\n",
        syslog.global
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (closed, picky) = (running.listeners[0].1, running.listeners[1].1);
    let read = first_read(closed, b"").await;
    assert!(
        matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "reset: {read:?}"
    );

    let mut ok = TcpStream::connect(picky).await.expect("connect");
    ok.write_all(b"PING").await.expect("send");
    assert_eq!(greeting(&mut ok).await, "a");
    let mut echo = [0u8; 4];
    timeout(DEADLINE, ok.read_exact(&mut echo))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&echo, b"PING");
    drop(ok);

    let mut short = TcpStream::connect(picky).await.expect("connect");
    short.write_all(b"abc").await.expect("send");
    let mut rest = Vec::new();
    timeout(DEADLINE, short.read_to_end(&mut rest))
        .await
        .expect("in time")
        .expect("closed");
    assert!(rest.is_empty());
    let lines = syslog.until(&[" PR "]).await;
    let refused = lines.iter().find(|l| l.contains(" PR ")).expect("PR");
    assert!(
        refused.contains("] picky picky/<NOSRV> -1/-1/"),
        "{refused}"
    );
    assert!(refused.ends_with(" 0 PR 1/1/0/0/0 0/0\n"), "{refused}");
    running.stop();
}

// Input: one echo through a `mode tcp` listen, then `show stat` on its
// stats socket.
// Output: sessions and bytes counted on the frontend, server and backend
// rows, and the HTTP-only cells empty as haproxy leaves them in tcp mode
// (but the frontend's req_tot, 0).
#[tokio::test]
async fn tcp_proxies_show_no_http_counters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let a = echo_server("a").await;
    let global = format!("global\n    stats socket {} level admin\n", sock.display());
    let (running, fe) = haven(&global, &format!("    server a {a}\n")).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    assert_eq!(greeting(&mut c).await, "a");
    c.write_all(b"ping").await.expect("send");
    c.shutdown().await.expect("close");
    let mut rest = Vec::new();
    timeout(DEADLINE, c.read_to_end(&mut rest))
        .await
        .expect("in time")
        .expect("read");
    let ask = || async {
        let mut s = tokio::net::UnixStream::connect(&sock)
            .await
            .expect("socket");
        s.write_all(b"show stat\n").await.expect("ask");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("answer");
        out
    };
    // The value of column `name` in row `row` of `csv`.
    let cell_of = |csv: &str, row: &str, name: &str| -> Option<String> {
        let header: Vec<&str> = csv.lines().next()?.get(2..)?.split(',').collect();
        let at = header.iter().position(|h| *h == name)?;
        let line = csv.lines().find(|l| l.starts_with(&format!("db,{row},")))?;
        Some(line.split(',').nth(at)?.to_owned())
    };
    // The session ends, then its bytes are counted: both are awaited.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut csv = ask().await;
    while !["FRONTEND", "a", "BACKEND"]
        .iter()
        .all(|row| cell_of(&csv, row, "bout").as_deref() == Some("6"))
    {
        assert!(tokio::time::Instant::now() < deadline, "{csv}");
        csv = ask().await;
    }
    let cell = |row: &str, name: &str| cell_of(&csv, row, name).expect("the cell");
    for row in ["FRONTEND", "a", "BACKEND"] {
        assert_eq!(cell(row, "stot"), "1", "{row}");
        assert_eq!(cell(row, "bout"), "6", "{row}: the greeting and the echo");
        assert_eq!(cell(row, "hrsp_2xx"), "", "{row}");
        assert_eq!(cell(row, "mode"), "tcp", "{row}");
    }
    assert_eq!(cell("FRONTEND", "req_tot"), "0");
    assert_eq!(cell("BACKEND", "req_tot"), "");
    running.stop();
}

// Input: a `mode tcp` listen with no server but `dispatch <addr>`, and
// `option tcplog`.
// Output: connections reach the dispatch address, logged as haproxy logs
// them, without a server name (`db/<NOSRV>`).
#[tokio::test]
async fn dispatch_sends_every_connection_to_its_address() {
    let syslog = Syslog::new().await;
    let a = echo_server("a").await;
    let body = format!("    log global\n    option tcplog\n    dispatch {a}\n");
    let (running, fe) = haven(&syslog.global, &body).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    assert_eq!(greeting(&mut c).await, "a");
    c.shutdown().await.expect("close");
    let mut rest = Vec::new();
    timeout(DEADLINE, c.read_to_end(&mut rest))
        .await
        .expect("in time")
        .expect("read");
    let line = syslog.next().await;
    assert!(line.contains("] db db/<NOSRV> 0/"), "{line}");
    assert!(line.contains(" 2 -- "), "{line}");
    running.stop();
}

// Input: two logged HTTP frontends, `fe2` with `option dontlognull`;
// clients that connect and close without a byte (to `fe2`, then `fe`),
// then one that sends `GE` and closes (to `fe2`).
// Output: as haproxy 2.6 logs them: the silent client of `fe` is a
// `400 ... CR-- "<BADREQ>"` line, the one of `fe2` is not logged; the
// client that sent something is logged on `fe2` too.
#[tokio::test]
async fn dontlognull_skips_only_connections_that_sent_nothing() {
    let syslog = Syslog::new().await;
    let (fe, fe2) = (free_port(), free_port());
    let text = format!(
        "{}{DEFAULTS}    log global\n    option httplog\nfrontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\nfrontend fe2\n    bind 127.0.0.1:{fe2}\n    option dontlognull\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n",
        syslog.global
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    drop(TcpStream::connect(addr(fe2)).await.expect("connect"));
    drop(TcpStream::connect(addr(fe)).await.expect("connect"));
    let mut partial = TcpStream::connect(addr(fe2)).await.expect("connect");
    partial.write_all(b"GE").await.expect("send");
    drop(partial);
    let lines = syslog
        .until(&[" fe fe/<NOSRV> ", " fe2 fe2/<NOSRV> "])
        .await;
    let of = |name: &str| {
        lines
            .iter()
            .filter(|l| l.contains(&format!(" {name} {name}/<NOSRV> ")))
            .count()
    };
    assert_eq!((of("fe"), of("fe2")), (1, 1), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" 400 0 - - CR-- ") && l.trim_end().ends_with("\"<BADREQ>\"")),
        "{lines:?}"
    );
    running.stop();
}

/// Two pipelined requests on one connection, the second closing it.
const TWO_REQUESTS: &[u8] =
    b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// An HTTP frontend on port `echo` that answers with the request's
/// `header` and path.
fn echo_frontend(echo: u16, header: &str) -> String {
    format!("frontend echo\n    mode http\n    bind 127.0.0.1:{echo}\n    http-request return status 200 content-type text/plain lf-string \"%[req.hdr({header})] %[path]\"\n")
}

// Input: a `mode tcp` frontend whose default backend is `mode http` (its
// `http-request set-header` naming the backend), and a server that
// answers with that header and the path; two pipelined requests on one
// connection.
// Output: as haproxy 2.6 answers on loopback: both requests go through
// the backend's HTTP processing, each with its own answer.
#[tokio::test]
async fn a_tcp_frontend_upgrades_to_its_http_backend() {
    let (front, echo) = (free_port(), free_port());
    let text = format!(
        "defaults\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{front}\n    default_backend be\nbackend be\n    mode http\n    http-request set-header x-name %[be_name]\n    server s 127.0.0.1:{echo}\n{}",
        echo_frontend(echo, "x-name")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let reply = send_raw(listener(&running, "fe"), TWO_REQUESTS).await;
    assert_eq!(
        reply,
        "HTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-type: text/plain\r\n\r\nbe /oneHTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nbe /two"
    );
    running.stop();
}

// Input: a `mode tcp` frontend whose session rules set a variable and
// whose content rules record whether the stream is HTTP yet
// (`internal.strm.is_htx`), then `switch-mode http if HTTP`, else
// reject; its `http-request` rule sends both on to a server that answers
// with them and the path. Two pipelined requests on
// one connection; then bytes that are no HTTP; then a request to a
// `bind ... proto none` listener with the same rules.
// Output: as haproxy 2.6 on loopback (its reg-test
// connection/tcp_to_http_upgrade.vtc): the first request carries what
// the rules saw while the connection was TCP ("tcp"), the second was
// HTTP from its start ("http"), both with the session's variable; the
// other bytes are refused unanswered,
// and so is the request to the listener that cannot switch.
#[tokio::test]
async fn content_rules_switch_a_tcp_connection_to_http() {
    let (front, fixed, echo) = (free_port(), free_port(), free_port());
    let rules = "    tcp-request inspect-delay 1s\n    tcp-request session set-var(sess.who) str(alice)\n    tcp-request content set-var(req.mode) internal.strm.is_htx,iif(http,tcp)\n    tcp-request content switch-mode http if HTTP\n    tcp-request content reject\n    http-request set-header x-mode %[var(req.mode)]-%[var(sess.who)]\n    default_backend be\n";
    let text = format!(
        "defaults\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    mode tcp\n    bind 127.0.0.1:{front}\n{rules}frontend fixed\n    mode tcp\n    bind 127.0.0.1:{fixed} proto none\n{rules}backend be\n    mode http\n    server s 127.0.0.1:{echo}\n{}",
        echo_frontend(echo, "x-mode")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    let reply = send_raw(fe, TWO_REQUESTS).await;
    assert_eq!(
        reply,
        "HTTP/1.1 200 OK\r\ncontent-length: 14\r\ncontent-type: text/plain\r\n\r\ntcp-alice /oneHTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nhttp-alice /two"
    );
    assert_eq!(send_raw(fe, b"hello\r\n").await, "");
    let request = b"GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_eq!(send_raw(listener(&running, "fixed"), request).await, "");
    running.stop();
}

// Input: `option tcplog` with a syslog target on an HTTP frontend, and
// on a `mode tcp` frontend whose content rules switch its connections to
// HTTP; one request through each.
// Output: as haproxy 2.6.12 on loopback: each request is logged as a
// tcplog line (`fe be/s Tw/Tc/Tt <bytes> -- <counts>`), the bytes being
// the answer's.
#[tokio::test]
async fn http_requests_under_option_tcplog_are_logged_as_tcplog_lines() {
    let syslog = Syslog::new().await;
    let (http, switched, echo) = (free_port(), free_port(), free_port());
    let text = format!(
        "{}defaults\n    log global\n    option tcplog\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend http\n    mode http\n    bind 127.0.0.1:{http}\n    default_backend be\nfrontend switched\n    mode tcp\n    bind 127.0.0.1:{switched}\n    tcp-request inspect-delay 1s\n    tcp-request content switch-mode http if HTTP\n    tcp-request content reject\n    default_backend be\nbackend be\n    mode http\n    server s 127.0.0.1:{echo}\n{DEFAULTS}listen echo\n    bind 127.0.0.1:{echo}\n    http-request return status 200 content-type text/plain string ok\n",
        syslog.global
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for frontend in ["http", "switched"] {
        let answer = send_raw(listener(&running, frontend), request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let line = syslog.next().await;
        assert!(line.contains(&format!("] {frontend} be/s 0/0/")), "{line}");
        // The connection counts include the echo frontend's.
        let end = format!(" {} -- ", answer.len());
        assert!(
            line.contains(&end) && line.ends_with("/0/0/0 0/0\n"),
            "{line}"
        );
    }
    running.stop();
}
