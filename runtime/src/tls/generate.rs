//! `generate-certificates`: a certificate made during the handshake for
//! a client whose SNI no certificate of the listener serves, as haproxy
//! makes it — X.509 v3, the default certificate's key, the CA's subject
//! with a common name for the SNI added, valid from a day ago for a
//! year, OpenSSL's extensions and the name as its alternative name,
//! signed by the `ca-sign-file` CA (SHA-256). The DER is written here:
//! rcgen's names cannot hold the CA's common name and the SNI's both.
//! Made ones are kept, a thousand names at most, as haproxy's cache.

use super::x509::{self, der};
use super::Presented;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::{ServerConfig, SignatureScheme};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use x509_parser::prelude::{FromDer, X509Certificate};

/// How many made certificates are kept (haproxy's default
/// `tune.ssl.ssl-ctx-cache-size`).
const KEPT: usize = 1000;

/// Makes the handshake settings of a made certificate.
pub(crate) type Settings =
    Box<dyn Fn(Arc<CertifiedKey>) -> Result<Arc<ServerConfig>, String> + Send + Sync>;

/// A listener's maker of certificates.
pub(crate) struct Generator {
    /// The CA's certificate (DER), then the rest of its chain.
    ca: Vec<CertificateDer<'static>>,
    /// The CA's key.
    signer: Arc<dyn SigningKey>,
    /// The default certificate's key, which every made one carries.
    key: Arc<dyn SigningKey>,
    /// The default certificate's public key (its SubjectPublicKeyInfo).
    spki: Vec<u8>,
    /// Makes the handshake settings of a made certificate.
    settings: Settings,
    /// What the client certificate check of the default one is.
    clients: Option<Arc<super::client_auth::ClientCheck>>,
    /// The last serial given.
    serial: AtomicU64,
    made: Mutex<HashMap<String, Arc<Presented>>>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator").finish_non_exhaustive()
    }
}

impl Generator {
    /// The maker signing with the CA of `pem` (its certificate, chain and
    /// key), for certificates carrying the key of `default`; `settings`
    /// makes their handshake settings.
    pub(crate) fn new(
        pem: &[u8],
        default: &CertifiedKey,
        clients: Option<Arc<super::client_auth::ClientCheck>>,
        settings: Settings,
    ) -> Result<Self, String> {
        let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let leaf = ca.first().ok_or("no CA certificate")?;
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| "no CA private key")?;
        let signer = super::settings::provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| e.to_string())?;
        X509Certificate::from_der(leaf).map_err(|e| e.to_string())?;
        let own = default.end_entity_cert().map_err(|e| e.to_string())?;
        let (_, own) = X509Certificate::from_der(own).map_err(|e| e.to_string())?;
        Ok(Self {
            spki: own.public_key().raw.to_vec(),
            ca,
            signer,
            key: Arc::clone(&default.key),
            settings,
            clients,
            serial: AtomicU64::new(0),
            made: Mutex::new(HashMap::new()),
        })
    }

    /// The certificate for SNI `name`, made now or before.
    pub(crate) fn presented(&self, name: &str) -> Option<Arc<Presented>> {
        let name = name.to_ascii_lowercase();
        if let Some(made) = self.made.lock().ok()?.get(&name) {
            return Some(Arc::clone(made));
        }
        let der = CertificateDer::from(self.certificate(&name)?);
        let facts = super::load::facts_of(&der).map(Arc::new);
        let mut chain = vec![der];
        chain.extend(self.ca.iter().cloned());
        let key = Arc::new(CertifiedKey::new(chain, Arc::clone(&self.key)));
        let presented = Arc::new(Presented {
            config: (self.settings)(key).ok()?,
            excluded: Vec::new(),
            ecdsa: self.key.algorithm() == rustls::SignatureAlgorithm::ECDSA,
            facts,
            clients: self.clients.clone(),
        });
        let mut made = self.made.lock().ok()?;
        if made.len() >= KEPT {
            made.clear();
        }
        made.insert(name, Arc::clone(&presented));
        Some(presented)
    }

    /// A certificate for `name`, signed: its DER.
    fn certificate(&self, name: &str) -> Option<Vec<u8>> {
        let (_, ca) = X509Certificate::from_der(&self.ca[0]).ok()?;
        let signer = self.signer.choose_scheme(&[
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
        ])?;
        let algorithm = match signer.scheme() {
            SignatureScheme::ECDSA_NISTP256_SHA256 => der(SEQUENCE, &[&der(OID, &[ECDSA_SHA256])]),
            SignatureScheme::ECDSA_NISTP384_SHA384 => der(SEQUENCE, &[&der(OID, &[ECDSA_SHA384])]),
            _ => der(SEQUENCE, &[&der(OID, &[RSA_SHA256]), &[0x05, 0x00]]),
        };
        let serial = self.serial.fetch_add(1, Ordering::Relaxed) + 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs() as i64;
        let validity = der(
            SEQUENCE,
            &[&utc_time(now - 86_400), &utc_time(now + 365 * 86_400)],
        );
        let issuer = ca.subject().as_raw();
        // The CA's name with a common name for the SNI added.
        let common_name = der(
            SET,
            &[&der(
                SEQUENCE,
                &[&der(OID, &[CN]), &der(UTF8_STRING, &[name.as_bytes()])],
            )],
        );
        let (_, names, _) = x509::element(issuer)?;
        let subject = der(SEQUENCE, &[names, &common_name]);
        let extensions = self.extensions(&ca, name)?;
        let tbs = der(
            SEQUENCE,
            &[
                &der(0xa0, &[&der(INTEGER, &[&[2]])]),
                &der(INTEGER, &[&integer(serial)]),
                &algorithm,
                issuer,
                &validity,
                &subject,
                &self.spki,
                &der(
                    0xa3,
                    &[&der(
                        SEQUENCE,
                        &extensions.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                    )],
                ),
            ],
        );
        let signature = signer.sign(&tbs).ok()?;
        Some(der(
            SEQUENCE,
            &[&tbs, &algorithm, &der(BIT_STRING, &[&[0], &signature])],
        ))
    }

    /// The extensions haproxy asks OpenSSL for, then the SNI as the
    /// subject's alternative name.
    fn extensions(&self, ca: &X509Certificate<'_>, name: &str) -> Option<Vec<Vec<u8>>> {
        let extension = |oid: &[u8], critical: bool, value: Vec<u8>| {
            let critical: &[u8] = if critical { &[0x01, 0x01, 0xff] } else { &[] };
            der(
                SEQUENCE,
                &[&der(OID, &[oid]), critical, &der(OCTET_STRING, &[&value])],
            )
        };
        let (_, spki, _) = x509::element(&self.spki)?;
        let (_, _, bits) = x509::element(spki)?;
        let (_, key_bits, _) = x509::element(bits)?;
        // As OpenSSL's `hash`: SHA-1 of the key.
        let key_id = super::detail::sha1(key_bits.get(1..)?);
        // keyid from the CA's own key identifier, issuer and serial always.
        let ca_key_id = ca
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                    Some(id.0.to_vec())
                }
                _ => None,
            });
        let mut authority = Vec::new();
        if let Some(id) = ca_key_id {
            authority.extend(der(0x80, &[&id]));
        }
        authority.extend(der(0xa1, &[&der(0xa4, &[ca.issuer().as_raw()])]));
        authority.extend(der(0x82, &[ca.raw_serial()]));
        Some(vec![
            extension(BASIC_CONSTRAINTS, false, der(SEQUENCE, &[])),
            extension(
                NS_COMMENT,
                false,
                der(IA5_STRING, &[b"OpenSSL Generated Certificate"]),
            ),
            extension(SUBJECT_KEY_ID, false, der(OCTET_STRING, &[key_id.as_ref()])),
            extension(AUTHORITY_KEY_ID, false, der(SEQUENCE, &[&authority])),
            // nonRepudiation, digitalSignature, keyEncipherment.
            extension(KEY_USAGE, false, der(BIT_STRING, &[&[0x05, 0xe0]])),
            extension(
                SUBJECT_ALT_NAME,
                false,
                der(SEQUENCE, &[&der(0x82, &[name.as_bytes()])]),
            ),
        ])
    }
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const IA5_STRING: u8 = 0x16;
const UTC_TIME: u8 = 0x17;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;

const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const CN: &[u8] = &[0x55, 0x04, 0x03];
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const NS_COMMENT: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x0d];
const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// A positive INTEGER's contents.
fn integer(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    let mut out = bytes[first..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

/// A UTCTime for `seconds` since the epoch.
fn utc_time(seconds: i64) -> Vec<u8> {
    let text = x509_parser::time::ASN1Time::from_timestamp(seconds)
        .map(|t| super::load::asn1_time(&t))
        .unwrap_or_default();
    der(UTC_TIME, &[text.as_bytes()])
}
