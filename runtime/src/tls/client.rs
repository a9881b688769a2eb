//! TLS to servers (`server ... ssl`): the handshake settings of each
//! server as haproxy reads its line. The server's certificate is checked
//! against `ca-file` (and `crl-file`) unless `verify none`; its name only
//! when `verifyhost` gives one, as haproxy checks it. No SNI is sent.

use super::load::from_pem;
use super::settings::{alpn, crls, crypto, roots};
use haven_core::config::haproxy::{ServerTls, Verify};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, Tls12Resumption, WebPkiServerVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;

/// How connections to one server shake hands.
#[derive(Debug)]
pub(crate) struct ServerHandshake {
    config: Arc<ClientConfig>,
    /// The name the server's certificate must carry (`verifyhost`).
    name: Option<ServerName<'static>>,
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
            check_name: tls.verifyhost.is_some(),
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
                // The file as a listener's certificate: chain, key, match.
                from_pem(path, &bytes, true)?;
                let chain = CertificateDer::pem_slice_iter(&bytes)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        format!("unable to load SSL certificate from PEM file '{path}' : {e}.")
                    })?;
                let key = PrivateKeyDer::from_pem_slice(&bytes)
                    .or_else(|_| PrivateKeyDer::from_pem_file(format!("{path}.key")))
                    .map_err(|_| {
                        format!("unable to load SSL private key from PEM file '{path}'.")
                    })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("unable to use the certificate of '{path}' : {e}."))?
            }
        };
        config.enable_sni = false;
        config.alpn_protocols = alpn(o);
        if o.no_tickets {
            config.resumption = Resumption::in_memory_sessions(256)
                .tls12_resumption(Tls12Resumption::SessionIdOnly);
        }
        let name = match &tls.verifyhost {
            Some(host) => Some(
                ServerName::try_from(host.clone())
                    .map_err(|_| format!("'verifyhost' : invalid name '{host}'."))?,
            ),
            None => None,
        };
        Ok(Self {
            config: Arc::new(config),
            name,
        })
    }

    /// Shakes hands with the server at `addr` over `tcp`.
    pub(crate) async fn connect(
        &self,
        tcp: tokio::net::TcpStream,
        addr: SocketAddr,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let name = self
            .name
            .clone()
            .unwrap_or(ServerName::IpAddress(addr.ip().into()));
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
    }
}

/// How a server's certificate is checked: under `verify required`
/// (`webpki`) the chain against the CAs, the name only when `verifyhost`
/// gives one; under `verify none` not at all. The handshake's signatures
/// are checked either way.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
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
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            checked => checked,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
