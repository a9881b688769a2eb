//! Unix sockets against real sockets: `bind /path` (and `abns@name`)
//! listens on one, `server s /path` (and `unix@`, `abns@`) connects to
//! one, as haproxy chains its own sections and reaches local
//! application servers.

#[allow(dead_code)]
mod common;

use common::{cli, config, free_port, get, listener, DEFAULTS};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// Input: a frontend whose server is `<dir>/app.sock`, a socket the same
// process listens on (`bind <dir>/app.sock mode 600`, a section that
// answers with the path it was asked); a stale file at that path left
// by an earlier run. Then a client straight on the unix socket.
// Output: the request crosses the unix socket both ways; the socket's
// file replaced the stale one, with mode 0600; the unix listener serves
// its own clients too.
#[tokio::test]
async fn a_section_listens_on_a_unix_socket_and_a_server_is_reached_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("app.sock");
    std::fs::write(&app, b"stale").expect("stale file");
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server app {}\nlisten app\n    bind {} mode 600\n    http-request return status 200 content-type text/plain lf-string \"unix %[path]\"\n",
        app.display(),
        app.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = listener(&running, "fe");
    assert_eq!(
        get(fe, "x", "/hello").await,
        (200, "unix /hello".to_owned())
    );
    let meta = std::fs::metadata(&app).expect("the socket's file");
    assert!(meta.file_type().is_socket(), "{meta:?}");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    let mut direct = tokio::net::UnixStream::connect(&app)
        .await
        .expect("connect");
    direct
        .write_all(b"GET /direct HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut reply = String::new();
    direct.read_to_string(&mut reply).await.expect("read");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("unix /direct"), "{reply}");
    running.stop();
}

// Input: a server `abns@NAME` with `check`, NAME a socket in Linux's
// abstract namespace that the test serves itself (one fixed answer per
// connection, as an application server would).
// Output: the health check reaches it (the server turns UP in `show
// stat`, its address shown as haproxy shows it) and a request through
// the frontend gets the application's answer.
#[tokio::test]
async fn a_server_in_the_abstract_namespace_is_checked_and_served() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("haven-test-{}-app", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).expect("name");
    let app = std::os::unix::net::UnixListener::bind_addr(&addr).expect("bind");
    app.set_nonblocking(true).expect("nonblocking");
    let app = tokio::net::UnixListener::from_std(app).expect("listener");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = app.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 512];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer =
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\napp";
                let _ = conn.write_all(answer).await;
            });
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server app abns@{name} check inter 100ms rise 1\n",
        sock.display(),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let row = loop {
        let stat = cli(&sock, "show stat").await;
        let row = stat
            .lines()
            .find(|l| l.starts_with("be,app,"))
            .map(str::to_owned);
        if let Some(row) = row.filter(|r| r.contains(",UP,")) {
            break row;
        }
        assert!(tokio::time::Instant::now() < deadline, "never UP: {stat}");
        tokio::task::yield_now().await;
    };
    assert!(row.contains(&format!(",abns@{name},")), "{row}");
    let fe = listener(&running, "fe");
    assert_eq!(get(fe, "x", "/").await, (200, "app".to_owned()));
    running.stop();
}
