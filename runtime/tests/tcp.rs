//! Real mode serves `mode tcp` proxies: loopback echo servers behind a
//! `listen` section, bytes checked end to end, servers picked as the
//! `balance` line says, dead ones skipped after their checks, and the
//! `option tcplog` line as haproxy writes it.

#[allow(dead_code)]
mod common;

use common::{config, free_port};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
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
    let syslog = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let a = echo_server("a").await;
    let global = format!(
        "global\n    log {} local0\n",
        syslog.local_addr().expect("addr")
    );
    let body = format!("    log global\n    option tcplog\n    retries 1\n    server a {a}\n");
    let (running, fe) = haven(&global, &body).await;
    let next = || async {
        let mut buf = vec![0u8; 2048];
        let n = timeout(DEADLINE, syslog.recv(&mut buf))
            .await
            .expect("a datagram in time")
            .expect("recv");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
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
    assert!(line.ends_with(" 6 -- 0/0/0/0/0 0/0\n"), "{line}");
    running.stop();

    let dead = format!(
        "    log global\n    option tcplog\n    retries 1\n    server a {}\n",
        dead_server()
    );
    let (running, fe) = haven(&global, &dead).await;
    let mut c = TcpStream::connect(fe).await.expect("connect");
    let mut rest = Vec::new();
    let _ = timeout(DEADLINE, c.read_to_end(&mut rest)).await;
    assert!(rest.is_empty());
    let line = next().await;
    assert!(line.contains("] db db/a 0/-1/"), "{line}");
    assert!(line.ends_with(" 0 SC 0/0/0/0/1 0/0\n"), "{line}");
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
    let syslog = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let good = fake_mysql("8.0.19-good", MYSQL_OK).await;
    let bad = fake_mysql("8.0.19-bad", MYSQL_1251).await;
    let global = format!(
        "global\n    log {} local0\n",
        syslog.local_addr().expect("addr")
    );
    let body = format!(
        "    log global\n    option log-health-checks\n    balance roundrobin\n    option mysql-check user root\n    server good {good} check inter 100 rise 1 fall 1\n    server bad {bad} check inter 100 rise 1 fall 1\n"
    );
    let (running, fe) = haven(&global, &body).await;
    let mut lines = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !(lines
        .iter()
        .any(|l: &String| l.contains("server db/bad failed"))
        && lines.iter().any(|l| l.contains("server db/good succeeded")))
    {
        let mut buf = vec![0u8; 2048];
        let n = tokio::time::timeout_at(deadline, syslog.recv(&mut buf))
            .await
            .expect("both verdicts logged in time")
            .expect("recv");
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
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
