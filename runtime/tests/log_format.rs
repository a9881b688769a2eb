//! Real mode writes a frontend's `log-format` lines: its fields, flags,
//! variables and captures as haproxy 2.6 prints them, for a request and
//! for a `mode tcp` connection.

#[allow(dead_code)]
mod common;

use common::raw::Syslog;
use common::{config, free_port, send_raw, DEFAULTS};
use std::net::SocketAddr;

// Input: an HTTP frontend whose format prints the client, the quoted
// request line, status, backend/server, the server's and the frontend's
// addresses, a variable a rule set, the captured Host,
// `%ft`, a quoted sample and the server connection's source (`%bi:%bp`); a `mode tcp` frontend into the same server
// whose format prints its bytes both ways and termination. One request
// through each.
// Output: each line's message is exactly the format filled in, as
// haproxy 2.6.12 fills it on loopback.
#[tokio::test]
async fn log_format_lines_are_the_format_filled_in() {
    let syslog = Syslog::new().await;
    let (fe, tcp, echo) = (free_port(), free_port(), free_port());
    let text = format!(
        "{}{DEFAULTS}    log global\n\
         frontend fe\n    bind 127.0.0.1:{fe}\n    http-request set-var(txn.who) str(alice)\n    capture request header host len 32\n    log-format \"%ci %{{+Q}}r  %ST %b/%s %si:%sp %fi:%fp %[var(txn.who)] %hr %ft %{{+Q}}[fe_name] %tsc %bi:%bp\"\n    default_backend be\n\
         frontend tcp\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    log-format \"%ci %b/%s %U %B %ts\"\n    default_backend raw\n\
         backend be\n    server s 127.0.0.1:{echo}\n\
         backend raw\n    mode tcp\n    server s 127.0.0.1:{echo}\n\
         {DEFAULTS}frontend echo\n    bind 127.0.0.1:{echo}\n    http-request return status 200 content-type text/plain string ok\n",
        syslog.global
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let request = "GET /x?y=1 HTTP/1.1\r\nHost: h.example\r\nConnection: close\r\n\r\n";
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let answer = send_raw(addr(fe), request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let line = syslog.next().await;
    let message = line.split_once("]: ").map_or("", |(_, m)| m.trim_end());
    // The server connection's source port is the kernel's choice.
    let (message, source) = message.rsplit_once(' ').unwrap_or_default();
    let want = format!(
        "127.0.0.1 \"GET /x?y=1 HTTP/1.1\" 200 be/s 127.0.0.1:{echo} 127.0.0.1:{fe} alice {{h.example}} fe \"fe\" ----"
    );
    assert_eq!(message, want, "{line}");
    let source: SocketAddr = source.parse().expect("%bi:%bp is an address");
    assert!(source.ip().is_loopback() && source.port() != 0, "{line}");

    let answer = send_raw(addr(tcp), request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let line = syslog.next().await;
    let message = line.split_once("]: ").map_or("", |(_, m)| m.trim_end());
    let want = format!("127.0.0.1 raw/s {} {} --", request.len(), answer.len());
    assert_eq!(message, want, "{line}");
    running.stop();
}
