//! A certificate's handshake settings as rustls takes them: versions,
//! ciphers and curves by their OpenSSL names, ALPN, client certificates,
//! session resumption. The crypto is aws-lc-rs: rustls's default
//! provider, the fastest it has on x86-64 and ARM, and it builds with the
//! C compiler alone.

use super::client_auth::ClientCheck;
use haven_core::config::haproxy::{
    select_ciphers, select_suites, TlsOptions, TlsVersion, TLS13_SUITES,
};
use rustls::crypto::aws_lc_rs::{cipher_suite as cs, kx_group, Ticketer};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::{
    ClientHello, ProducesTickets, ResolvesServerCert, ServerSessionMemoryCache,
    StoresServerSessions,
};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use std::sync::{Arc, OnceLock};

/// The ciphers haven offers, by their OpenSSL names.
const SUITES: [(&str, SupportedCipherSuite); 9] = [
    ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
];

/// The process's crypto provider.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider())))
}

/// A cipher's OpenSSL name (`ssl_fc_cipher`, `%sslc`).
pub(crate) fn openssl_name(suite: CipherSuite) -> &'static str {
    SUITES
        .iter()
        .find(|(_, s)| s.suite() == suite)
        .map_or("(NONE)", |(name, _)| name)
}

/// What every certificate of a bind line shares, so a session begun with
/// one resumes with any: the ticket keys and the session cache
/// (haproxy's `tune.ssl.cachesize` default, 20000 sessions).
#[derive(Debug, Clone)]
pub(crate) struct Resumption {
    tickets: Arc<dyn ProducesTickets>,
    cache: Arc<dyn StoresServerSessions>,
}

impl Resumption {
    /// Fresh ticket keys and an empty cache.
    pub(crate) fn new() -> Result<Self, String> {
        Ok(Self {
            tickets: Ticketer::new()
                .map_err(|e| format!("cannot make session ticket keys: {e}"))?,
            cache: ServerSessionMemoryCache::new(20_000),
        })
    }
}

/// The versions and the crypto (ciphers and curves by their OpenSSL
/// names) options `o` allow, for either side of a connection.
pub(crate) type Crypto = (Vec<&'static SupportedProtocolVersion>, Arc<CryptoProvider>);

/// The versions and crypto `o` allows.
pub(crate) fn crypto(o: &TlsOptions) -> Result<Crypto, String> {
    let allowed = o.versions();
    let mut versions = Vec::new();
    if allowed.contains(&TlsVersion::Tls12) {
        versions.push(&rustls::version::TLS12);
    }
    if allowed.contains(&TlsVersion::Tls13) {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err("no TLS version is left that haven offers (TLSv1.2, TLSv1.3).".into());
    }
    let tls13: Vec<&str> = match &o.ciphersuites {
        Some(text) => select_suites(text).ciphers,
        None => TLS13_SUITES.to_vec(),
    };
    let tls12 = select_ciphers(o.ciphers.as_deref().unwrap_or("DEFAULT")).ciphers;
    let cipher_suites: Vec<SupportedCipherSuite> = tls13
        .iter()
        .chain(&tls12)
        .filter_map(|name| SUITES.iter().find(|(n, _)| n == name).map(|(_, s)| *s))
        .collect();
    if cipher_suites.is_empty() {
        return Err("no cipher is left that haven offers.".into());
    }
    let kx_groups = match &o.curves {
        Some(text) => curves(text)?,
        None => provider().kx_groups.clone(),
    };
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        kx_groups,
        ..(*provider()).clone()
    });
    Ok((versions, provider))
}

/// ALPN as `o` offers it.
pub(crate) fn alpn(o: &TlsOptions) -> Vec<Vec<u8>> {
    o.alpn
        .iter()
        .flatten()
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

/// The handshake settings for certificate `key` (its OCSP answer
/// stapled until `staple_expires`, seconds since the epoch) under
/// options `o`, client certificates checked by `clients` when given.
pub(crate) fn server_config(
    o: &TlsOptions,
    (key, staple_expires): (Arc<CertifiedKey>, Option<i64>),
    (resumption, clients): (&Resumption, Option<Arc<ClientCheck>>),
) -> Result<Arc<ServerConfig>, String> {
    let (versions, provider) = crypto(o)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("unusable TLS settings: {e}."))?;
    let builder = match clients {
        None => builder.with_no_client_auth(),
        Some(clients) => builder.with_client_cert_verifier(clients),
    };
    let mut config = builder.with_cert_resolver(Arc::new(Fixed::new(key, staple_expires)));
    config.alpn_protocols = alpn(o);
    config.ignore_client_order = !o.prefer_client_ciphers;
    config.session_storage = Arc::clone(&resumption.cache);
    if o.no_tickets {
        // TLS 1.3 then resumes from the session cache alone.
        config.ticketer = Arc::new(NeverTickets);
    } else {
        config.ticketer = Arc::clone(&resumption.tickets);
    }
    Ok(Arc::new(config))
}

/// The key exchange groups `text` names (`X25519:P-256`).
fn curves(text: &str) -> Result<Vec<&'static dyn SupportedKxGroup>, String> {
    let groups: Vec<&'static dyn SupportedKxGroup> = text
        .split(':')
        .filter_map(|name| match name {
            "X25519" => Some(kx_group::X25519),
            "P-256" | "prime256v1" | "secp256r1" => Some(kx_group::SECP256R1),
            "P-384" | "secp384r1" => Some(kx_group::SECP384R1),
            _ => None,
        })
        .collect();
    if groups.is_empty() {
        return Err(format!(
            "no curve of '{text}' is one haven offers (X25519, P-256, P-384)."
        ));
    }
    Ok(groups)
}

/// Always the one certificate: the choice among a bind line's
/// certificates is made before the handshake goes on. Its OCSP answer
/// is stapled until it expires, as haproxy staples one.
#[derive(Debug)]
struct Fixed {
    key: Arc<CertifiedKey>,
    /// When the answer expires, and the certificate without it.
    unstapled: Option<(i64, Arc<CertifiedKey>)>,
}

impl Fixed {
    fn new(key: Arc<CertifiedKey>, staple_expires: Option<i64>) -> Self {
        let unstapled = staple_expires.map(|at| {
            let bare = CertifiedKey {
                ocsp: None,
                ..(*key).clone()
            };
            (at, Arc::new(bare))
        });
        Self { key, unstapled }
    }

    /// The certificate presented at `now` (seconds since the epoch).
    fn presented(&self, now: i64) -> Arc<CertifiedKey> {
        match &self.unstapled {
            Some((at, bare)) if now > *at => Arc::clone(bare),
            _ => Arc::clone(&self.key),
        }
    }
}

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.presented(crate::clock::unix_seconds()))
    }
}

/// `no-tls-tickets`: no session tickets (TLS 1.2 resumes by session ID).
#[derive(Debug)]
struct NeverTickets;

impl ProducesTickets for NeverTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a certificate with an OCSP answer that expires at 1000.
    // Output: stapled up to 1000 included, not after; one without an
    // expiry is presented as it is.
    #[test]
    fn an_ocsp_answer_is_stapled_until_it_expires() {
        let made = rcgen::generate_simple_self_signed(vec!["a.test".into()]).expect("made");
        let der = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
            .expect("key");
        let signing = provider()
            .key_provider
            .load_private_key(der)
            .expect("usable");
        let mut key = CertifiedKey::new(vec![made.cert.der().clone()], signing);
        key.ocsp = Some(b"answer".to_vec());
        let key = Arc::new(key);
        let fixed = Fixed::new(Arc::clone(&key), Some(1000));
        assert_eq!(fixed.presented(1000).ocsp.as_deref(), Some(&b"answer"[..]));
        assert_eq!(fixed.presented(1001).ocsp, None);
        assert!(Arc::ptr_eq(
            &Fixed::new(key.clone(), None).presented(5000),
            &key
        ));
    }

    #[test]
    fn every_cipher_core_names_is_one_rustls_has() {
        let core_names = TLS13_SUITES
            .iter()
            .copied()
            .chain(select_ciphers("ALL").ciphers);
        for name in core_names {
            assert!(SUITES.iter().any(|(n, _)| *n == name), "{name}");
        }
        assert_eq!(
            openssl_name(CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
    }

    #[test]
    fn unknown_curves_alone_leave_nothing() {
        assert_eq!(curves("X448:P-256").map(|g| g.len()), Ok(1));
        assert!(curves("X448").is_err());
    }
}
