//! Fuzzes a TLS listener's handshake with what a client sends first: the
//! ClientHello read, the certificate chosen by SNI and signature schemes
//! (an exact name, a wildcard, the default), ALPN agreed. Any bytes: the
//! handshake ends (agreed, refused or timed out), no panic.
#![no_main]

use haven_core::config::haproxy::{BindTls, CertSource};
use haven_runtime::fuzzing::TlsFront;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A listener with one certificate for `a.test` and `*.w.test`, made for
/// this run, offering `h2,http/1.1`.
fn front() -> &'static TlsFront {
    static FRONT: OnceLock<TlsFront> = OnceLock::new();
    FRONT.get_or_init(|| {
        let key = rcgen::KeyPair::generate().expect("a key");
        let names = vec!["a.test".to_owned(), "*.w.test".to_owned()];
        let certificate = rcgen::CertificateParams::new(names)
            .and_then(|p| p.self_signed(&key))
            .expect("a certificate");
        let path = std::env::temp_dir().join(format!("haven-fuzz-{}.pem", std::process::id()));
        std::fs::write(&path, certificate.pem() + &key.serialize_pem()).expect("written");
        let mut tls = BindTls::default();
        let file = path.to_string_lossy().into_owned();
        tls.certificates.push(CertSource::Crt(file));
        tls.options.alpn = Some(vec!["h2".into(), "http/1.1".into()]);
        TlsFront::new(&tls).expect("the listener")
    })
}

fuzz_target!(|data: &[u8]| front().handshake(data));
