//! Certificates made for a test, never kept: a CA, the certificates it
//! signs for given names (with their keys) in a temporary folder, and a
//! TLS client that shows which certificate a listener presented.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A CA and the folder its certificates are written to.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    /// A new CA, its certificate in `ca.pem`.
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "haven test CA");
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
        let ca = CertifiedIssuer::self_signed(params, key).expect("CA");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA");
        Self { dir, ca }
    }

    /// A new CA and `a.pem`, its certificate for `a.test` with the key.
    pub(crate) fn serving_a_test() -> Self {
        let pki = Self::new();
        pki.issue("a.pem", &["a.test"], false);
        pki
    }

    /// The path of `file` in the folder.
    pub(crate) fn path(&self, file: &str) -> String {
        self.dir.path().join(file).to_string_lossy().into_owned()
    }

    /// Writes `file`: a certificate for `names` signed by the CA with its
    /// key after it (in `file.key` when `key_apart`). Its DER.
    pub(crate) fn issue(&self, file: &str, names: &[&str], key_apart: bool) -> Vec<u8> {
        let (pem, key, der) = self.make(names);
        let path: PathBuf = self.dir.path().join(file);
        if key_apart {
            std::fs::write(&path, pem).expect("write certificate");
            std::fs::write(format!("{}.key", path.display()), key).expect("write key");
        } else {
            std::fs::write(&path, format!("{pem}{key}")).expect("write certificate");
        }
        der
    }

    /// A certificate for `names` signed by the CA: its PEM, its key's PEM
    /// and its DER.
    pub(crate) fn make(&self, names: &[&str]) -> (String, String, Vec<u8>) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = CertificateParams::new(names).expect("params");
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

/// Handshakes with `addr` asking for `sni` (none when it is an IP
/// address), offering `alpn`, trusting any certificate.
pub(crate) async fn handshake(
    addr: SocketAddr,
    sni: &str,
    alpn: &[&str],
) -> std::io::Result<TlsStream<TcpStream>> {
    handshake_with(&client(alpn, rustls::DEFAULT_VERSIONS), addr, sni).await
}

/// A client offering `alpn` and `versions`, trusting any certificate;
/// it keeps the sessions it was given, to resume them.
pub(crate) fn client(
    alpn: &[&str],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_protocol_versions(versions)
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Arc::new(config)
}

/// Handshakes with `addr` as `config` says, asking for `sni`.
pub(crate) async fn handshake_with(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
    sni: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(sni.to_owned()).expect("a server name");
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::clone(config))
        .connect(name, tcp)
        .await
}

/// The leaf certificate `stream`'s server presented (DER).
pub(crate) fn presented(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    let certs = stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("certificates");
    certs[0].to_vec()
}

/// Trusts every certificate: the tests look at which one came.
#[derive(Debug)]
struct AnyCertificate;

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
