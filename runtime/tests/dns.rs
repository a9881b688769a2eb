//! Server names re-resolved at run time through a `resolvers` section,
//! against a DNS server the test runs on loopback.

// Shared with the proxy tests, which use all of it.
#[allow(dead_code)]
mod common;

use common::*;
use simple_dns::rdata::{RData, A};
use simple_dns::{Name, Packet, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// The zone: the one name's IPv4 address, or none (NXDOMAIN).
type Zone = Arc<Mutex<Option<Ipv4Addr>>>;

/// A DNS server on loopback answering A queries from `zone`.
async fn dns_server(zone: Zone) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let Some(name) = query.questions.first().map(|q| q.qname.to_string()) else {
                continue;
            };
            let wants_a = query.questions[0].qtype == QTYPE::TYPE(TYPE::A);
            let mut reply = query.into_reply();
            match *zone.lock().expect("zone") {
                Some(ip) if wants_a => reply.answers.push(ResourceRecord::new(
                    Name::new_unchecked(&name),
                    CLASS::IN,
                    1,
                    RData::A(A {
                        address: u32::from(ip),
                    }),
                )),
                Some(_) => {}
                None => *reply.rcode_mut() = RCODE::NameError,
            }
            if let Ok(bytes) = reply.build_bytes_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    addr
}

/// A server on `ip:port` answering every request with `name`.
async fn named_server(ip: &str, port: u16, name: &'static str) {
    let listener = TcpListener::bind((ip, port)).await.expect("bind");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if s.read(&mut buf).await.unwrap_or(0) > 0 {
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{name}",
                        name.len()
                    );
                    let _ = s.write_all(reply.as_bytes()).await;
                }
            });
        }
    });
}

/// Polls `fe` until a GET gets `want` (status and body), for up to 5 s.
async fn until_answer(fe: SocketAddr, want: (u16, &str)) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let got = get(fe, "x", "/").await;
        if (got.0, got.1.as_str()) == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {got:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Input: `server s app1:P resolvers dns init-addr none`; the name does not
// exist, then points at 127.0.0.2, then at 127.0.0.3 (a server on each,
// same port), then no longer exists (`hold nx 200ms`).
// Output: 503 while the server has no address; then answers from the
// first address, then from the second; 503 again once NX outlasts its
// hold.
#[tokio::test]
async fn dns_answers_move_a_server_and_take_it_away() {
    let port = free_port();
    named_server("127.0.0.2", port, "first").await;
    named_server("127.0.0.3", port, "second").await;
    let zone: Zone = Arc::new(Mutex::new(None));
    let ns = dns_server(Arc::clone(&zone)).await;
    let fe_port = free_port();
    let text = format!(
        "resolvers dns\n    nameserver ns1 {ns}\n    hold valid 100ms\n    hold nx 200ms\n    timeout retry 100ms\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{fe_port}\n    default_backend be\nbackend be\n    server s app1.test:{port} resolvers dns resolve-prefer ipv4 init-addr none\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    assert_eq!(get(fe, "x", "/").await.0, 503, "no address yet");
    *zone.lock().expect("zone") = Some(Ipv4Addr::new(127, 0, 0, 2));
    until_answer(fe, (200, "first")).await;
    *zone.lock().expect("zone") = Some(Ipv4Addr::new(127, 0, 0, 3));
    until_answer(fe, (200, "second")).await;
    *zone.lock().expect("zone") = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while get(fe, "x", "/").await.0 != 503 {
        assert!(tokio::time::Instant::now() < deadline, "still served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop();
}
