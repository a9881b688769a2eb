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
        let verifier: Arc<dyn ServerCertVerifier> = match o.verify.unwrap_or(Verify::Required) {
            Verify::None => Arc::new(Unchecked(provider)),
            _ => {
                let ca = o.ca_file.as_deref().unwrap_or_default();
                let mut webpki = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider);
                if let Some(crl) = &o.crl_file {
                    webpki = webpki.with_crls(crls(crl)?);
                }
                let inner = webpki
                    .build()
                    .map_err(|e| format!("unable to use CA file '{ca}' : {e}."))?;
                Arc::new(Checked {
                    inner,
                    check_name: tls.verifyhost.is_some(),
                })
            }
        };
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

/// `verify required`: the chain is checked against the CAs; the name
/// only when `verifyhost` gives one.
#[derive(Debug)]
struct Checked {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let checked =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        match checked {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `verify none`: any certificate, its signatures still checked.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
