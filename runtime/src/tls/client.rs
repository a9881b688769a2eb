//! TLS to servers (`server ... ssl`): the handshake settings of each
//! server as haproxy reads its line. The server's certificate is checked
//! against `ca-file` (and `crl-file`) unless `verify none`; its name when
//! `verifyhost` gives one, else when an SNI was sent (`sni str(NAME)`,
//! `check-sni`), as haproxy checks it.

use super::load::{from_pem, Companions};
use super::settings::{alpn, crls, crypto, roots};
use crate::stream::Stream;
use haven_core::config::haproxy::{ServerTls, Verify};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, Resumption, Tls12Resumption, WebPkiServerVerifier};
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
    /// The handshake `tls` asks for (its `verify` settled by the parser).
    pub(crate) fn new(tls: &ServerTls) -> Result<Self, String> {
        let o = &tls.options;
        let (versions, provider) = crypto(o)?;
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| format!("unusable TLS settings: {e}."))?;
        let webpki = match o.verify.unwrap_or(Verify::Required) {
            Verify::None => None,
            _ => {
                let ca = o.ca_file.as_deref().unwrap_or_default();
                let mut webpki =
                    WebPkiServerVerifier::builder_with_provider(roots(ca)?, Arc::clone(&provider));
                if let Some(crl) = &o.crl_file {
                    webpki = webpki.with_crls(crls(crl)?);
                }
                let built = webpki
                    .build()
                    .map_err(|e| format!("unable to use CA file '{ca}' : {e}."))?;
                Some(built)
            }
        };
        let verifier = Arc::new(Verifier {
            webpki,
            verifyhost: name_of(tls.verifyhost.as_deref(), "verifyhost")?,
            provider,
        });
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &tls.crt {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    format!("unable to load SSL certificate from PEM file '{path}' : {e}.")
                })?;
                // Read as a listener's certificate: chain, key, match.
                let companions = Companions::on_disk(tls.extra_del_ext);
                let loaded = from_pem(path, &bytes, companions)?;
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

    /// Shakes hands with the server at `addr` over `tcp`, for traffic.
    pub(crate) async fn connect(&self, tcp: Stream, addr: SocketAddr) -> io::Result<Shaken> {
        self.shake(tcp, addr, self.sni.as_ref()).await
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
fn name_of(name: Option<&str>, keyword: &str) -> Result<Option<ServerName<'static>>, String> {
    name.map(|n| {
        ServerName::try_from(n.to_owned()).map_err(|_| format!("'{keyword}' : invalid name '{n}'."))
    })
    .transpose()
}

/// How a server's certificate is checked: under `verify required`
/// (`webpki`) the chain against the CAs, and its name when there is one
/// to check, `verifyhost`'s, else the SNI sent; under `verify none` not
/// at all. The handshake's signatures are checked either way.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    verifyhost: Option<ServerName<'static>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        // Without SNI the name is the server's address: not checked.
        let named = self.verifyhost.is_some() || matches!(server_name, ServerName::DnsName(_));
        let name = self.verifyhost.as_ref().unwrap_or(server_name);
        match webpki.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !named => Ok(ServerCertVerified::assertion()),
            checked => checked,
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
