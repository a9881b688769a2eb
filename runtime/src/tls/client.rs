//! TLS to servers (`server ... ssl`): the handshake settings of each
//! server as haproxy reads its line. The server's certificate is checked
//! against `ca-file` (and `crl-file`) unless `verify none`; its name when
//! `verifyhost` gives one, else when an SNI was sent (`sni str(NAME)`,
//! `check-sni`), as haproxy checks it.

use super::chain::{refusal, Purpose, Trust};
use super::files::Files;
use super::load::{certificate, names_of};
use super::settings::{alpn, crypto};
use crate::stream::Stream;
use haven_core::config::haproxy::{ServerTls, Verify};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, Resumption, Tls12Resumption};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, SignatureScheme};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

/// How connections to one server shake hands.
#[derive(Debug)]
pub(crate) struct ServerHandshake {
    /// Without SNI.
    config: Arc<ClientConfig>,
    /// The same, sending SNI.
    named: Arc<ClientConfig>,
    /// The name traffic sends (`sni str(NAME)`).
    sni: Option<ServerName<'static>>,
    /// The name health checks send (`check-sni`).
    check_sni: Option<ServerName<'static>>,
}

impl ServerHandshake {
    /// The handshake `tls` asks for (its `verify` settled by the parser),
    /// with the certificate, CA and CRL files of `files`.
    pub(crate) fn new(tls: &ServerTls, files: &Files) -> Result<Self, String> {
        let o = &tls.options;
        let (versions, provider) = crypto(o)?;
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| format!("unusable TLS settings: {e}."))?;
        let trust = match o.verify.unwrap_or(Verify::Required) {
            Verify::None => None,
            _ => Some(Trust::of(files, &[&o.ca_file], &o.crl_file)?),
        };
        let verifier = Arc::new(Verifier {
            trust,
            verifyhost: name_of(tls.verifyhost.as_deref(), "verifyhost")?,
            provider,
        });
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &tls.crt {
            None => builder.with_no_client_auth(),
            Some(path) => {
                // Loaded as a listener's certificate: chain, key, match.
                let loaded = certificate(path, files)?;
                builder.with_client_cert_resolver(Arc::new(Presents(loaded.key)))
            }
        };
        config.enable_sni = false;
        config.alpn_protocols = alpn(o);
        if o.no_tickets {
            config.resumption = Resumption::in_memory_sessions(256)
                .tls12_resumption(Tls12Resumption::SessionIdOnly);
        }
        let mut named = config.clone();
        named.enable_sni = true;
        Ok(Self {
            config: Arc::new(config),
            named: Arc::new(named),
            sni: name_of(tls.sni.as_deref(), "sni")?,
            check_sni: name_of(tls.check_sni.as_deref(), "check-sni")?,
        })
    }

    /// Shakes hands with the server at `addr` over `tcp`, for traffic:
    /// sending `sni` when the request computed one (`sni EXPR`), else the
    /// line's fixed name.
    pub(crate) async fn connect(
        &self,
        tcp: Stream,
        addr: SocketAddr,
        sni: Option<&str>,
    ) -> io::Result<Shaken> {
        let computed = sni.and_then(|name| ServerName::try_from(name.to_owned()).ok());
        self.shake(tcp, addr, computed.as_ref().or(self.sni.as_ref()))
            .await
    }

    /// Shakes hands with the server at `addr` over `tcp`, for a check.
    pub(crate) async fn connect_check(&self, tcp: Stream, addr: SocketAddr) -> io::Result<Shaken> {
        self.shake(tcp, addr, self.check_sni.as_ref()).await
    }

    /// The handshake, sending `sni` when given.
    async fn shake(
        &self,
        tcp: Stream,
        addr: SocketAddr,
        sni: Option<&ServerName<'static>>,
    ) -> io::Result<Shaken> {
        let (config, name) = match sni {
            Some(name) => (&self.named, name.clone()),
            None => (&self.config, ServerName::IpAddress(addr.ip().into())),
        };
        tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
    }
}

/// A server connection after its handshake.
pub(crate) type Shaken = tokio_rustls::client::TlsStream<Stream>;

/// The server name `keyword` gives, if any.
/// Whether a certificate's name `pattern` covers `host`, as haproxy
/// checks a server's (RFC 6125): equal but for case, or a wildcard
/// within the leftmost label standing for part of one label.
fn host_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    if pattern == host {
        return true;
    }
    let (Some((left, rest)), Some((host_left, host_rest))) =
        (pattern.split_once('.'), host.split_once('.'))
    else {
        return false;
    };
    let Some((prefix, suffix)) = left.split_once('*') else {
        return false;
    };
    rest == host_rest
        && host_left.len() >= prefix.len() + suffix.len()
        && host_left.starts_with(prefix)
        && host_left.ends_with(suffix)
}

fn name_of(name: Option<&str>, keyword: &str) -> Result<Option<ServerName<'static>>, String> {
    name.map(|n| {
        ServerName::try_from(n.to_owned()).map_err(|_| format!("'{keyword}' : invalid name '{n}'."))
    })
    .transpose()
}

/// How a server's certificate is checked: under `verify required` the
/// chain against the CAs as OpenSSL checks it (`trust`), then its name
/// when there is one to check, `verifyhost`'s, else the SNI sent; under
/// `verify none` not at all. The handshake's signatures are checked
/// either way.
#[derive(Debug)]
struct Verifier {
    trust: Option<Trust>,
    verifyhost: Option<ServerName<'static>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(trust) = &self.trust else {
            return Ok(ServerCertVerified::assertion());
        };
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        if let Some(&(code, _)) = trust.errors(&chain, now, Purpose::Server).first() {
            return Err(refusal(code));
        }
        // Without SNI the name is the server's address: not checked.
        let name = match (&self.verifyhost, server_name) {
            (Some(ServerName::DnsName(name)), _) | (None, ServerName::DnsName(name)) => name,
            _ => return Ok(ServerCertVerified::assertion()),
        };
        let names = names_of(end_entity).unwrap_or_default();
        match names
            .iter()
            .any(|pattern| host_matches(pattern, name.as_ref()))
        {
            true => Ok(ServerCertVerified::assertion()),
            false => Err(Error::InvalidCertificate(CertificateError::NotValidForName)),
        }
    }

    // Checked with the certificate's key whatever its X.509 version:
    // OpenSSL takes v1 certificates, which webpki does not read.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        super::x509::tls12_signed(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        super::x509::tls13_signed(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client certificate a server connection presents when asked,
/// whatever its X.509 version (rustls's own loading takes v3 only).
#[derive(Debug)]
struct Presents(Arc<CertifiedKey>);

impl ResolvesClientCert for Presents {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::host_matches;

    // Input: certificate names against the names a server was reached by.
    // Output: equal names match whatever their case; a wildcard stands
    // for part or all of the leftmost label only, never for a dot.
    #[test]
    fn server_names_match_as_haproxy_checks_them() {
        assert!(host_matches("WWW.Test1.com", "www.test1.com"));
        assert!(host_matches("*.test1.com", "www.test1.com"));
        assert!(host_matches("w*.test1.com", "www.test1.com"));
        assert!(host_matches("*w.test1.com", "www.test1.com"));
        assert!(!host_matches("*.test1.com", "a.b.test1.com"));
        assert!(!host_matches("*.test1.com", "test1.com"));
        assert!(!host_matches("x*.test1.com", "www.test1.com"));
        assert!(!host_matches("www.test1.com", "www.test2.com"));
    }
}
