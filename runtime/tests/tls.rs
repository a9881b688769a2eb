//! TLS on client connections (`bind ... ssl`) against real sockets, with
//! certificates made by each test: the versions curl negotiates, the
//! certificate SNI chooses (folders, wildcards, `crt-list` filters,
//! `strict-sni`), client certificates, `mode tcp` and the PROXY header
//! before the handshake, and the log lines of failed handshakes.

#[allow(dead_code)]
mod common;

use common::pki::{handshake, handshake_with, presented, Pki};
use common::raw::{raw_server, Syslog, DEADLINE};
use common::{config, free_port, DEFAULTS};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a TLS frontend's `http-request return` tells of the session.
const SESSION_REPLY: &str = "    http-request return status 200 content-type text/plain lf-string \"%[ssl_fc] %[ssl_fc_sni] %[ssl_fc_protocol] %[ssl_fc_cipher] %[ssl_c_used]\"\n";

/// Runs curl with `args` against `https://a.test:PORT/` on `addr`: its
/// output when it succeeded.
async fn curl(addr: SocketAddr, args: &[&str]) -> Option<String> {
    let url = format!("https://a.test:{}/", addr.port());
    let resolve = format!("a.test:{}:{}", addr.port(), addr.ip());
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--resolve", &resolve])
        .args(args)
        .arg(&url)
        .output()
        .await;
    match out {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(_) => None,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "curl is needed in CI: {e}"
            );
            eprintln!("skipped: curl is not installed");
            Some(String::new())
        }
    }
}

// Input: a TLS frontend with a CA-signed certificate for a.test whose
// rules answer with what the handshake agreed; curl trusting that CA,
// once limited to TLS 1.2, once asking for TLS 1.3.
// Output: both succeed (the certificate verifies for a.test), and the
// fetches tell the SNI, the version and OpenSSL's name of the cipher.
#[tokio::test]
async fn curl_speaks_tls_1_2_and_1_3_and_rules_read_the_session() {
    let pki = Pki::serving_a_test();
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {}\n{SESSION_REPLY}",
        pki.path("a.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let ca = pki.path("ca.pem");
    let v13 = curl(fe, &["--cacert", &ca, "--tlsv1.3"]).await;
    let v12 = curl(fe, &["--cacert", &ca, "--tls-max", "1.2"]).await;
    running.stop();
    if v13.as_deref() == Some("") {
        return;
    }
    assert_eq!(
        v13.as_deref(),
        Some("1 a.test TLSv1.3 TLS_AES_256_GCM_SHA384 0")
    );
    assert_eq!(
        v12.as_deref(),
        Some("1 a.test TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384 0")
    );
}

// Input: `crt` naming a folder with a.pem (a.test, its key in a.pem.key)
// and w.pem (*.w.test); a second listener on the same folder with
// `strict-sni`.
// Output: the exact name, the wildcard for one label (not two), the first
// certificate of the folder for a stranger or no SNI; under strict-sni a
// stranger's handshake fails.
#[tokio::test]
async fn sni_chooses_among_a_folder_exact_then_wildcard_then_default() {
    let pki = Pki::new();
    let folder = tempfile::tempdir().expect("tempdir");
    let a = pki.issue("a.pem", &["a.test"], true);
    let w = pki.issue("w.pem", &["*.w.test"], false);
    for file in ["a.pem", "a.pem.key", "w.pem"] {
        std::fs::copy(pki.path(file), folder.path().join(file)).expect("copy");
    }
    let (open, strict) = (free_port(), free_port());
    let dir = folder.path().display();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{open} ssl crt {dir}\n    bind 127.0.0.1:{strict} ssl crt {dir} strict-sni\n{SESSION_REPLY}"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let (fe, fe_strict) = (running.listeners[0].1, running.listeners[1].1);
    let cert = |sni: &'static str, to: SocketAddr| async move {
        handshake(to, sni, &[]).await.map(|s| presented(&s)).ok()
    };
    assert_eq!(cert("a.test", fe).await.as_ref(), Some(&a));
    assert_eq!(cert("x.w.test", fe).await.as_ref(), Some(&w));
    assert_eq!(
        cert("X.W.Test", fe).await.as_ref(),
        Some(&w),
        "names match in any case"
    );
    assert_eq!(
        cert("y.x.w.test", fe).await.as_ref(),
        Some(&a),
        "a wildcard covers one label"
    );
    assert_eq!(cert("stranger.test", fe).await.as_ref(), Some(&a));
    assert_eq!(
        cert("127.0.0.1", fe).await.as_ref(),
        Some(&a),
        "no SNI: the default"
    );
    assert_eq!(cert("x.w.test", fe_strict).await.as_ref(), Some(&w));
    assert_eq!(cert("stranger.test", fe_strict).await, None);
    assert_eq!(cert("127.0.0.1", fe_strict).await, None);
    running.stop();
}

// Input: a crt-list: the default certificate with `!*`, a wildcard one
// that excludes secure.w.test and private.w.test, and one for secure.w.test with its own
// ALPN; a client offering that protocol.
// Output: each name gets its line's certificate; the default serves a
// name its own certificate has only as the fallback; ALPN is agreed only
// with the certificate whose line offers it.
#[tokio::test]
async fn a_crt_list_filters_names_and_sets_each_certificates_settings() {
    let pki = Pki::new();
    let d = pki.issue("d.pem", &["default.test", "x.w.test"], false);
    let w = pki.issue("w.pem", &["*.w.test"], false);
    let s = pki.issue("s.pem", &["secure.w.test"], false);
    let list = format!(
        "# the default, serving no name of its own\n{} !*\n\n{} *.w.test !secure.w.test !private.w.test\n{} [alpn x-test,http/1.1] secure.w.test\n",
        pki.path("d.pem"),
        pki.path("w.pem"),
        pki.path("s.pem")
    );
    std::fs::write(pki.path("list.txt"), list).expect("write crt-list");
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt-list {}\n{SESSION_REPLY}",
        pki.path("list.txt")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let with = |sni: &'static str| async move {
        let s = handshake(fe, sni, &["x-test"]).await.expect("handshake");
        let alpn = s.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        (presented(&s), alpn)
    };
    assert_eq!(
        with("x.w.test").await,
        (w.clone(), None),
        "!* hides the default's names"
    );
    assert_eq!(with("secure.w.test").await, (s, Some(b"x-test".to_vec())));
    assert_eq!(with("default.test").await.0, d, "the fallback");
    assert_eq!(with("other.w.test").await.0, w);
    assert_eq!(
        with("private.w.test").await.0,
        d,
        "excluded from the wildcard"
    );
    running.stop();
}

// Input: `verify required ca-file` on a frontend logging to a syslog
// target; curl without a certificate, with one the CA signed, with one
// signed by another CA.
// Output: only the CA's client is served (`ssl_c_used` 1); the foreign
// certificate's handshake is logged as haproxy words it, with the
// listener's name.
#[tokio::test]
async fn a_required_client_certificate_is_checked_and_failures_are_logged() {
    let pki = Pki::serving_a_test();
    pki.issue("client.pem", &["client.test"], true);
    let other = Pki::new();
    other.issue("foreign.pem", &["client.test"], true);
    let syslog = Syslog::new().await;
    let port = free_port();
    let text = format!(
        "{}{DEFAULTS}    log global\n    option httplog\nfrontend fe\n    bind 127.0.0.1:{port} name secure ssl crt {} verify required ca-file {}\n{SESSION_REPLY}",
        syslog.global,
        pki.path("a.pem"),
        pki.path("ca.pem"),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let ca = pki.path("ca.pem");
    let (client, client_key) = (pki.path("client.pem"), pki.path("client.pem.key"));
    let (foreign, foreign_key) = (other.path("foreign.pem"), other.path("foreign.pem.key"));
    let none = curl(fe, &["--cacert", &ca]).await;
    let good = curl(
        fe,
        &["--cacert", &ca, "--cert", &client, "--key", &client_key],
    )
    .await;
    let bad = curl(
        fe,
        &["--cacert", &ca, "--cert", &foreign, "--key", &foreign_key],
    )
    .await;
    if good.as_deref() == Some("") {
        running.stop();
        return;
    }
    assert_eq!(none, None);
    assert_eq!(
        good.as_deref(),
        Some("1 a.test TLSv1.3 TLS_AES_256_GCM_SHA384 1")
    );
    assert_eq!(bad, None);
    let lines = syslog
        .until(&[
            "fe/secure: SSL client certificate not trusted",
            "fe~ fe/<NOSRV>",
        ])
        .await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("fe/secure: SSL handshake failure")),
        "the client without a certificate: {lines:?}"
    );
    running.stop();
}

// Input: a `mode tcp` frontend that terminates TLS and expects a PROXY
// header before the handshake, in front of a raw server; a client that
// sends the header, shakes hands, then "ping".
// Output: the server gets "ping" in clear, the client its "pong" back
// through TLS.
#[tokio::test]
async fn mode_tcp_terminates_tls_after_a_proxy_header() {
    let pki = Pki::serving_a_test();
    let server = raw_server(|mut s| async move {
        let mut got = [0u8; 4];
        if s.read_exact(&mut got).await.is_ok() && &got == b"ping" {
            let _ = s.write_all(b"pong").await;
        }
    })
    .await;
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    mode tcp\n    bind 127.0.0.1:{port} accept-proxy ssl crt {}\n    default_backend be\nbackend be\n    mode tcp\n    server s {server}\n",
        pki.path("a.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(fe).await.expect("connect");
        tcp.write_all(b"PROXY TCP4 10.1.2.3 10.0.0.1 1111 443\r\n")
            .await
            .expect("header");
        let mut config = rustls::ClientConfig::builder()
            .with_root_certificates({
                let mut roots = rustls::RootCertStore::empty();
                let ca = std::fs::read(pki.path("ca.pem")).expect("CA");
                use rustls::pki_types::pem::PemObject;
                for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
                    roots.add(cert.expect("a certificate")).expect("a root");
                }
                roots
            })
            .with_no_client_auth();
        config.alpn_protocols.clear();
        let name = rustls::pki_types::ServerName::try_from("a.test").expect("name");
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let mut tls = connector.connect(name, tcp).await.expect("handshake");
        tls.write_all(b"ping").await.expect("ping");
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        answer
    };
    let answer = tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("in time");
    assert_eq!(answer, b"pong");
    running.stop();
}

/// Runs `openssl` with `args` in `dir`: its output, or `None` when it
/// failed; skips (`Some("")`) outside CI when there is no openssl.
async fn openssl(dir: &std::path::Path, args: &[&str], input: &[u8]) -> Option<String> {
    let child = tokio::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssl is needed in CI: {e}"
            );
            eprintln!("skipped: openssl is not installed");
            return Some(String::new());
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).await.expect("stdin");
    }
    let out = child.wait_with_output().await.expect("openssl runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

// Input: a certificate (its CA in the chain) with an OCSP answer from
// its CA beside it in `FILE.ocsp` (made by openssl's own responder);
// `openssl s_client -status`.
// Output: the handshake carries the stapled answer: successful, good.
#[tokio::test]
async fn the_ocsp_answer_beside_a_certificate_is_stapled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let steps: [&[&str]; 5] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3",
            "-subj",
            "/CN=haven test CA",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "a.key",
            "-out",
            "a.csr",
            "-subj",
            "/CN=a.test",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "a.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "0x1234",
            "-days",
            "2",
            "-out",
            "a.pem",
        ],
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "a.pem",
            "-reqout",
            "req.der",
            "-no_nonce",
        ],
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "req.der",
            "-respout",
            "a.pem.ocsp",
            "-ndays",
            "1",
        ],
    ];
    std::fs::write(
        d.join("index.txt"),
        "V\t301231000000Z\t\t1234\tunknown\t/CN=a.test\n",
    )
    .expect("index");
    for step in steps {
        match openssl(d, step, b"").await.as_deref() {
            Some("") if step[0] == "req" && !d.join("ca.pem").exists() => return,
            Some(_) => {}
            None => panic!("openssl {step:?} failed"),
        }
    }
    // The chain holds the issuer, as the answer's certificate ID needs
    // (haproxy does not start without it, nor does haven).
    let key = std::fs::read_to_string(d.join("a.key")).expect("key");
    let ca = std::fs::read_to_string(d.join("ca.pem")).expect("CA");
    let mut bundle = std::fs::OpenOptions::new()
        .append(true)
        .open(d.join("a.pem"))
        .expect("bundle");
    std::io::Write::write_all(&mut bundle, format!("{ca}{key}").as_bytes()).expect("append");
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {}\n{SESSION_REPLY}",
        d.join("a.pem").display()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let connect = format!("127.0.0.1:{port}");
    let args = [
        "s_client",
        "-connect",
        &connect,
        "-servername",
        "a.test",
        "-status",
    ];
    let out = openssl(d, &args, b"").await.expect("s_client");
    running.stop();
    assert!(out.contains("OCSP Response Status: successful"), "{out}");
    assert!(out.contains("Cert Status: good"), "{out}");
}

// Input: a PEM file holding a certificate and the key of another one.
// Output: haven does not start, in haproxy's words.
#[tokio::test]
async fn a_certificate_with_another_key_is_refused() {
    let pki = Pki::new();
    let (cert, _, _) = pki.make(&["a.test"]);
    let (_, other_key, _) = pki.make(&["a.test"]);
    std::fs::write(pki.path("a.pem"), format!("{cert}{other_key}")).expect("write");
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {}\n{SESSION_REPLY}",
        pki.path("a.pem")
    );
    let refused = haven_runtime::start(config(&text))
        .await
        .err()
        .map(|e| e.to_string());
    let expected = format!(
        "[ALERT]    : config : parsing [test.cfg:9] : 'bind 127.0.0.1:{port}' in section 'frontend' : inconsistencies between private key and certificate loaded from PEM file '{}'.",
        pki.path("a.pem")
    );
    assert_eq!(refused, Some(expected));
}

/// Sends `input` to the runtime API socket at `sock`: its answer.
async fn cli(sock: &std::path::Path, input: &str) -> String {
    let mut s = tokio::net::UnixStream::connect(sock)
        .await
        .expect("connect");
    s.write_all(input.as_bytes()).await.expect("send");
    let mut out = String::new();
    let read = s.read_to_string(&mut out);
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("in time")
        .expect("read");
    out
}

/// One GET on the kept-alive `tls` connection: the answer's body.
async fn get_over<S: AsyncReadExt + AsyncWriteExt + Unpin>(tls: &mut S) -> String {
    tls.write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        .await
        .expect("request");
    let mut got = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.parse::<usize>().ok());
            if length.is_some_and(|n| body.len() >= n) {
                return body.to_owned();
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(DEADLINE, tls.read(&mut chunk))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "closed: {text}");
        got.extend_from_slice(&chunk[..n]);
    }
}

// Input: a TLS listener presenting a.pem and a connection kept open to
// it; on the runtime API, `set ssl cert a.pem` with another certificate
// and its key, then `commit ssl cert a.pem`.
// Output: haproxy's answers; new handshakes get the new certificate, the
// open connection goes on being served; `show ssl cert` lists the file
// and shows it in detail (serial and SHA-1 as openssl reads them), the
// transaction's as `*FILE`, unused;
// a commit without a transaction, or a file the config does not name,
// is refused in haproxy's words.
#[tokio::test]
async fn set_ssl_cert_swaps_a_certificate_without_dropping_connections() {
    let pki = Pki::new();
    let before = pki.issue("a.pem", &["a.test"], false);
    let (cert, key, after) = pki.make(&["a.test"]);
    let sock = pki.dir.path().join("admin.sock");
    let port = free_port();
    let file = pki.path("a.pem");
    let text = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {file}\n{SESSION_REPLY}",
        sock.display()
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let mut open = handshake(fe, "a.test", &[]).await.expect("handshake");
    assert_eq!(presented(&open), before);
    assert!(get_over(&mut open).await.starts_with("1 a.test"));
    assert_eq!(
        cli(&sock, "show ssl cert\n").await,
        format!("# filename\n{file}\n\n")
    );
    // The file in detail, its serial and fingerprint as openssl reads them.
    let openssl = |what: &str| {
        let out = std::process::Command::new("openssl")
            .args(["x509", "-noout", what, "-in", &file])
            .output()
            .expect("openssl runs");
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let (_, value) = text.split_once('=').expect("name=value");
        value.replace(':', "")
    };
    let detail = cli(&sock, &format!("show ssl cert {file}\n")).await;
    let serial = openssl("-serial");
    assert!(
        detail.starts_with(&format!(
            "Filename: {file}\nStatus: Used\nSerial: {serial}\n"
        )),
        "{detail}"
    );
    for line in [
        format!("SHA1 FingerPrint: {}", openssl("-fingerprint")),
        "Subject Alternative Name: DNS:a.test".to_owned(),
        "Subject: /CN=rcgen self signed cert".to_owned(),
        "Issuer: /CN=haven test CA".to_owned(),
    ] {
        assert!(detail.contains(&format!("{line}\n")), "{line}: {detail}");
    }
    assert_eq!(
        cli(&sock, &format!("show ssl cert {}\n", pki.path("other.pem"))).await,
        "Can't display the certificate: Not found or the certificate is a bundle!\n\n"
    );
    assert_eq!(
        cli(&sock, &format!("commit ssl cert {file}\n")).await,
        format!("No ongoing transaction! !\nCan't commit {file}!\n\n")
    );
    let elsewhere = pki.path("other.pem");
    assert_eq!(
        cli(&sock, &format!("set ssl cert {elsewhere} <<\n{cert}{key}\n")).await,
        format!("Can't replace a certificate which is not referenced by the configuration!\nCan't update {elsewhere}!\n\n")
    );
    assert_eq!(
        cli(&sock, &format!("set ssl cert {file} <<\n{cert}{key}\n")).await,
        format!("Transaction created for certificate {file}!\n\n")
    );
    assert_eq!(
        cli(&sock, "show ssl cert\n").await,
        format!("# transaction\n*{file}\n# filename\n{file}\n\n")
    );
    let pending = cli(&sock, &format!("show ssl cert *{file}\n")).await;
    assert!(
        pending.starts_with(&format!("Filename: *{file}\nStatus: Unused\n")),
        "{pending}"
    );
    let fresh = handshake(fe, "a.test", &[]).await.expect("handshake");
    assert_eq!(
        presented(&fresh),
        before,
        "nothing changes before the commit"
    );
    assert_eq!(
        cli(&sock, &format!("commit ssl cert {file}\n")).await,
        format!("Committing {file}.\nSuccess!\n\n")
    );
    let fresh = handshake(fe, "a.test", &[]).await.expect("handshake");
    assert_eq!(presented(&fresh), after);
    assert!(
        get_over(&mut open).await.starts_with("1 a.test"),
        "the open connection is served"
    );
    running.stop();
}

// Input: a listener with two certificates, one of them with
// `no-tls-tickets` on its own listener; a client that keeps its
// sessions, connecting twice over TLS 1.3, then twice over TLS 1.2.
// Output: every second handshake resumes (by ticket, or by session ID
// without tickets), and `ssl_fc_is_resumed` says so.
#[tokio::test]
async fn sessions_resume_by_ticket_and_by_session_id() {
    let pki = Pki::serving_a_test();
    let (tickets, no_tickets) = (free_port(), free_port());
    let a = pki.path("a.pem");
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{tickets} ssl crt {a}\n    bind 127.0.0.1:{no_tickets} ssl crt {a} no-tls-tickets\n    http-request return status 200 content-type text/plain lf-string \"%[ssl_fc_is_resumed]\"\n"
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let listeners: Vec<SocketAddr> = running.listeners.iter().map(|(_, a)| *a).collect();
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        for (i, fe) in listeners.iter().enumerate() {
            let client = common::pki::client(&[], versions);
            let mut said = Vec::new();
            for _ in 0..2 {
                let mut tls = common::pki::handshake_with(&client, *fe, "a.test")
                    .await
                    .expect("handshake");
                said.push(get_over(&mut tls).await);
                tls.shutdown().await.ok();
            }
            assert_eq!(said, ["0", "1"], "listener {i}, {versions:?}");
        }
    }
    running.stop();
}

// Input: a crt-list line asking for a DHE cipher and TLS 1.0 beside a
// cipher haven has, read with the certificate loader haven's `check`
// gives the parser; then a crt-list naming a missing file.
// Output: both unoffered settings are noted at the bind line (TLS 1.0 as
// one that stops `run`); the missing file is an error at that line.
#[test]
fn crt_list_settings_haven_lacks_are_said_where_the_bind_is() {
    use haven_core::config::haproxy::{parse, ParseOptions};
    use haven_core::config::support::Impact;
    let pki = Pki::serving_a_test();
    let line = format!(
        "{} [ciphers DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256 ssl-min-ver TLSv1.0]\n",
        pki.path("a.pem")
    );
    std::fs::write(pki.path("list.txt"), line).expect("write crt-list");
    std::fs::write(pki.path("missing.txt"), "/nowhere/b.pem\n").expect("write crt-list");
    let opts = ParseOptions {
        certificates: Some(haven_runtime::check_certificates),
        ..ParseOptions::default()
    };
    let read = |list: &str| {
        let text = format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:8443 ssl crt-list {}\n{SESSION_REPLY}",
            pki.path(list)
        );
        parse(&[("t.cfg", &text)], &opts)
    };
    let parsed = read("list.txt");
    let config = parsed.config.expect("valid");
    let noted: Vec<(&str, u32, Impact)> = config
        .unsupported
        .iter()
        .map(|u| (u.what.as_str(), u.line, u.gap.impact))
        .collect();
    assert_eq!(
        noted,
        [
            ("bind ssl-min-ver TLSv1.0", 9, Impact::Traffic),
            (
                "bind ciphers DHE-RSA-AES128-GCM-SHA256",
                9,
                Impact::Reported
            ),
        ]
    );
    let parsed = read("missing.txt");
    assert!(parsed.config.is_none());
    let errors: Vec<String> = parsed.diagnostics.errors().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("'bind 127.0.0.1:8443' in section 'frontend' : crt-list file")
            && errors[0].contains("line 1 : unable to stat SSL certificate from file '/nowhere/b.pem' : No such file or directory."),
        "{errors:?}"
    );
}

// Input: `crt-base DIR` in global and a crt-list whose line names its
// certificate relative to it (as haproxy's reg-tests write them).
// Output: the certificate is found under crt-base, as haproxy finds it;
// without crt-base the same list names a file that is not there.
#[test]
fn crt_list_entries_are_read_under_crt_base() {
    use haven_core::config::haproxy::{parse, ParseOptions};
    let pki = Pki::serving_a_test();
    std::fs::write(pki.path("list.txt"), "a.pem\n").expect("write crt-list");
    let opts = ParseOptions {
        certificates: Some(haven_runtime::check_certificates),
        ..ParseOptions::default()
    };
    let base = pki.path("a.pem");
    let dir = std::path::Path::new(&base).parent().expect("a folder");
    let read = |global: &str| {
        let text = format!(
            "global\n{global}\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:8443 ssl crt-list {}\n{SESSION_REPLY}",
            pki.path("list.txt")
        );
        parse(&[("t.cfg", &text)], &opts)
    };
    let based = read(&format!("    crt-base {}", dir.display()));
    assert!(based.config.is_some(), "{:?}", based.diagnostics);
    let unbased = read("");
    assert!(unbased.config.is_none());
}

// Input: `option httpslog` on a frontend with a TLS and a clear listener,
// logging to a syslog target; a request on each.
// Output: haproxy's httpslog lines: the TLS one ends with its SNI,
// version and cipher after `fe~`, the clear one with dashes.
#[tokio::test]
async fn httpslog_lines_end_with_the_connections_tls() {
    let pki = Pki::serving_a_test();
    let syslog = Syslog::new().await;
    let (tls, clear) = (free_port(), free_port());
    let text = format!(
        "{}{DEFAULTS}    log global\n    option httpslog\nfrontend fe\n    bind 127.0.0.1:{tls} ssl crt {}\n    bind 127.0.0.1:{clear}\n    http-request return status 200 content-type text/plain string ok\n",
        syslog.global,
        pki.path("a.pem"),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let client = common::pki::client(&[], &[&rustls::version::TLS13]);
    let mut stream = common::pki::handshake_with(&client, running.listeners[0].1, "a.test")
        .await
        .expect("handshake");
    assert_eq!(get_over(&mut stream).await, "ok");
    let reply = common::send_raw(
        running.listeners[1].1,
        b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.ends_with("ok"), "{reply}");
    let lines = syslog
        .until(&[
            "\"GET / HTTP/1.1\" 0/0000000000000000/0/0/0 a.test/TLSv1.3/TLS_AES_256_GCM_SHA384",
            "\"GET /c HTTP/1.1\" 0/-/-/-/0 -/-/-",
        ])
        .await;
    assert!(
        lines.iter().any(|l| l.contains(" fe~ fe/<NOSRV> ")),
        "{lines:?}"
    );
    running.stop();
}

// Input: a clear frontend whose servers are a TLS frontend of the same
// process (its rules answer with what its handshake agreed): over `ssl
// verify required ca-file`, with a client certificate (`crt`), with
// `verifyhost` naming the certificate or another name, with the wrong
// CA, with `sni str(...)` naming the certificate or another name; and a
// `mode tcp` frontend to the same TLS server.
// Output: the server side sees TLS 1.3 (and the client certificate when
// one is given); a certificate that does not check out is a 503, never
// clear text; `mode tcp` bytes go through TLS too.
#[tokio::test]
async fn servers_are_reached_over_tls_and_checked() {
    let pki = Pki::serving_a_test();
    pki.issue("client.pem", &["client.test"], false);
    let other = Pki::new();
    std::fs::copy(other.path("ca.pem"), pki.path("other-ca.pem")).expect("copy");
    let (front, tcp, tls) = (free_port(), free_port(), free_port());
    let ca = pki.path("ca.pem");
    let servers = [
        format!("ssl verify required ca-file {ca}"),
        format!(
            "ssl verify required ca-file {ca} crt {}",
            pki.path("client.pem")
        ),
        format!("ssl verify required ca-file {ca} verifyhost a.test"),
        format!("ssl verify required ca-file {ca} verifyhost b.test"),
        format!("ssl verify required ca-file {}", pki.path("other-ca.pem")),
        "ssl verify none".to_owned(),
        format!("ssl verify required ca-file {ca} sni str(a.test)"),
        format!("ssl verify required ca-file {ca} sni str(b.test)"),
    ];
    let mut text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{front}\n    use_backend %[path,field(2,/)]\nfrontend plain\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    default_backend b5\nfrontend tls\n    bind 127.0.0.1:{tls} ssl crt {} verify optional ca-file {ca}\n{SESSION_REPLY}",
        pki.path("a.pem")
    );
    for (i, settings) in servers.iter().enumerate() {
        let mode = if i == 5 { "    mode tcp\n" } else { "" };
        text.push_str(&format!(
            "backend b{i}\n{mode}    server s 127.0.0.1:{tls} {settings}\n"
        ));
    }
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = common::listener(&running, "fe");
    let ask = |n: usize| async move { common::get(fe, "x", &format!("/b{n}")).await };
    // No SNI goes to servers: the fetch is empty.
    assert_eq!(
        ask(0).await,
        (200, "1  TLSv1.3 TLS_AES_256_GCM_SHA384 0".into())
    );
    assert_eq!(ask(0).await.0, 200, "again, on the pooled connection");
    assert_eq!(ask(1).await.1, "1  TLSv1.3 TLS_AES_256_GCM_SHA384 1");
    assert_eq!(ask(2).await.0, 200, "verifyhost names the certificate");
    assert_eq!(ask(3).await.0, 503, "verifyhost names another");
    assert_eq!(ask(4).await.0, 503, "another CA");
    assert_eq!(
        ask(6).await.1,
        "1 a.test TLSv1.3 TLS_AES_256_GCM_SHA384 0",
        "the SNI goes, and the certificate's name matches it"
    );
    assert_eq!(ask(7).await.0, 503, "an SNI the certificate does not name");
    let plain = common::listener(&running, "plain");
    let reply = common::send_raw(
        plain,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        reply.ends_with("TLSv1.3 TLS_AES_256_GCM_SHA384 0"),
        "{reply}"
    );
    running.stop();
}

// Input: a backend whose server line computes its SNI from the Host
// header (`sni req.hdr(host)`, `http-reuse always`), toward a TLS
// frontend of the same process presenting a.test's and b.test's
// certificates; requests for a.test, b.test, a.test again, and c.test.
// Output: each connection sends its request's name and gets its
// certificate, the name checked against it; the pooled connection opened
// for b.test never serves a.test; c.test, for which the server presents
// another name, is a 503.
#[tokio::test]
async fn a_computed_sni_goes_with_each_request_and_keys_its_connection() {
    let pki = Pki::serving_a_test();
    pki.issue("b.pem", &["b.test"], false);
    let (front, tls) = (free_port(), free_port());
    let ca = pki.path("ca.pem");
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{front}\n    default_backend b\nbackend b\n    http-reuse always\n    server s 127.0.0.1:{tls} ssl verify required ca-file {ca} sni req.hdr(host)\nfrontend tls\n    bind 127.0.0.1:{tls} ssl crt {} crt {}\n{SESSION_REPLY}",
        pki.path("a.pem"),
        pki.path("b.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = common::listener(&running, "fe");
    let sni_of = |host: &'static str| async move {
        let (status, body) = common::get(fe, host, "/").await;
        (
            status,
            body.split(' ').nth(1).unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(sni_of("a.test").await, (200, "a.test".into()));
    assert_eq!(sni_of("b.test").await, (200, "b.test".into()));
    assert_eq!(
        sni_of("a.test").await,
        (200, "a.test".into()),
        "not b.test's connection"
    );
    assert_eq!(sni_of("b.test").await, (200, "b.test".into()));
    assert_eq!(
        sni_of("c.test").await.0,
        503,
        "a.test's certificate does not name c.test"
    );
    running.stop();
}

// Input: `generate-certificates` with a `ca-sign-file` CA (P-256, its
// key after its certificate) beside a.test's certificate; handshakes
// asking for a.test, then twice for new.test, by a client that trusts
// the signing CA alone and checks names.
// Output: a.test gets its own certificate; new.test gets one made for
// it that the client accepts (signed by the CA, new.test its name, v3),
// its subject the CA's name with a common name for new.test added, the
// default certificate's key, ecdsa-with-SHA256; the second handshake
// gets the same one.
#[tokio::test]
async fn certificates_are_made_for_unknown_names() {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let pki = Pki::serving_a_test();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "signing CA");
    let ca = params.self_signed(&key).expect("CA");
    let signing = format!("{}{}", ca.pem(), key.serialize_pem());
    std::fs::write(pki.path("signing.pem"), signing).expect("signing CA");
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend tls\n    bind 127.0.0.1:{port} ssl crt {} generate-certificates ca-sign-file {}\n{SESSION_REPLY}",
        pki.path("a.pem"),
        pki.path("signing.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let addr = common::listener(&running, "tls");
    let a = handshake(addr, "a.test", &[]).await.expect("a.test");
    let a_leaf = presented(&a);
    let (_, a_cert) = X509Certificate::from_der(&a_leaf).expect("a.test's");
    assert!(a_cert.subject_alternative_name().expect("SAN").is_some());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let trusting = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let trusting = Arc::new(trusting);
    let made = handshake_with(&trusting, addr, "new.test")
        .await
        .expect("a made certificate, checked");
    let leaf = presented(&made);
    let (_, cert) = X509Certificate::from_der(&leaf).expect("readable");
    let names: Vec<&str> = cert
        .subject()
        .iter_common_name()
        .filter_map(|c| c.as_str().ok())
        .collect();
    assert_eq!(names, ["signing CA", "new.test"]);
    assert_eq!(cert.version().0, 2, "X.509 v3");
    assert_eq!(
        cert.public_key().raw,
        a_cert.public_key().raw,
        "the default certificate's key"
    );
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.3.2"
    );
    let again = handshake_with(&trusting, addr, "new.test")
        .await
        .expect("again");
    assert_eq!(presented(&again), leaf, "kept, not made again");
    running.stop();
}

// Input: backends checking a TLS server of the same process with
// `option log-health-checks`: one with `ssl verify none`, one whose CA
// is not the server's, one with `check-ssl` and `check-sni` alone against
// a `strict-sni` listener.
// Output: the first and last checks pass at layer 6 (the handshake; the
// last one's SNI let in), the second fails there with haproxy's words
// and takes the server down.
#[tokio::test]
async fn health_checks_shake_hands_with_tls_servers() {
    let pki = Pki::serving_a_test();
    let other = Pki::new();
    let syslog = Syslog::new().await;
    let (tls, strict) = (free_port(), free_port());
    let text = format!(
        "{}{DEFAULTS}    log global\n    option log-health-checks\nfrontend tls\n    bind 127.0.0.1:{tls} ssl crt {}\n    bind 127.0.0.1:{strict} ssl crt {} strict-sni\n{SESSION_REPLY}backend good\n    server s 127.0.0.1:{tls} ssl verify none check inter 100ms rise 1 fall 1\nbackend bad\n    server s 127.0.0.1:{tls} ssl verify required ca-file {} check inter 100ms rise 1 fall 1\nbackend named\n    server s 127.0.0.1:{strict} check-ssl check-sni a.test verify none check inter 100ms rise 1 fall 1\n",
        syslog.global,
        pki.path("a.pem"),
        pki.path("a.pem"),
        other.path("ca.pem"),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    syslog
        .until(&[
            "Health check for server good/s succeeded, reason: Layer6 check passed",
            "Health check for server bad/s failed, reason: Layer6 invalid response, info: \"SSL handshake failure\"",
            "Server bad/s is DOWN",
            "Health check for server named/s succeeded, reason: Layer6 check passed",
        ])
        .await;
    running.stop();
}

// Input: a TLS listener with `timeout client 300ms`; a client that sends
// the first bytes of a record and nothing more (a slow handshake).
// Output: haven closes the connection once the timeout passes and logs
// haproxy's line for it.
#[tokio::test]
async fn a_handshake_that_never_ends_is_cut_at_timeout_client() {
    let pki = Pki::serving_a_test();
    let syslog = Syslog::new().await;
    let port = free_port();
    let text = format!(
        "{}{DEFAULTS}    log global\n    option httplog\nfrontend fe\n    timeout client 300ms\n    bind 127.0.0.1:{port} ssl crt {}\n{SESSION_REPLY}",
        syslog.global,
        pki.path("a.pem"),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut slow = tokio::net::TcpStream::connect(running.listeners[0].1)
        .await
        .expect("connect");
    slow.write_all(&[0x16, 0x03, 0x01]).await.expect("send");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, slow.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");
    syslog.until(&["fe/1: Timeout during SSL handshake"]).await;
    running.stop();
}

// Input: `verify optional ca-file` on a frontend whose rules answer with
// the client certificate's DN fetches; curl with a certificate the CA
// signed, then without one.
// Output: its subject's CN and its issuer's whole DN in OpenSSL's form,
// and its serial in hex; without a certificate, nothing.
#[tokio::test]
async fn client_certificate_fetches_read_its_names() {
    let pki = Pki::serving_a_test();
    let der = pki.issue("client.pem", &["client.test"], true);
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} verify optional ca-file {}\n    http-request return status 200 content-type text/plain lf-string \"%[ssl_c_s_dn(CN)]|%[ssl_c_i_dn]|%[ssl_c_serial,hex]\"\n",
        pki.path("a.pem"),
        pki.path("ca.pem"),
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let fe = running.listeners[0].1;
    let ca = pki.path("ca.pem");
    let (client, client_key) = (pki.path("client.pem"), pki.path("client.pem.key"));
    let with = curl(
        fe,
        &["--cacert", &ca, "--cert", &client, "--key", &client_key],
    )
    .await;
    let without = curl(fe, &["--cacert", &ca]).await;
    running.stop();
    if with.as_deref() == Some("") {
        return;
    }
    use x509_parser::prelude::FromDer;
    let (_, parsed) = x509_parser::prelude::X509Certificate::from_der(&der).expect("DER");
    let serial: String = parsed
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(
        with,
        Some(format!("rcgen self signed cert|/CN=haven test CA|{serial}"))
    );
    assert_eq!(without.as_deref(), Some("||"));
}

// Input: a TLS frontend answering from a rule; a client that asks with
// `Connection: close` and reads to the end.
// Output: the end is a TLS close_notify, as haproxy sends it: rustls
// reads it as a clean end (without it, the read fails with "peer closed
// connection without sending TLS close_notify", and OpenSSL clients do
// not resume the session).
#[tokio::test]
async fn a_closed_tls_connection_ends_with_close_notify() {
    let pki = Pki::serving_a_test();
    let port = free_port();
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {}\n    http-request return status 200\n",
        pki.path("a.pem")
    );
    let running = haven_runtime::start(config(&text)).await.expect("starts");
    let mut tls = handshake(running.listeners[0].1, "a.test", &[])
        .await
        .expect("handshake");
    tls.write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(DEADLINE, tls.read_to_end(&mut answer))
        .await
        .expect("the end in time");
    running.stop();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    read.expect("a clean end: close_notify");
}
