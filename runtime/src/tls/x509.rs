//! Signatures of X.509 certificates and revocation lists, and of TLS
//! handshakes, checked whatever the certificate's version: OpenSSL (so
//! haproxy) takes X.509 v1 certificates and v1 CRLs, which webpki does
//! not read. The signed parts are found by their DER framing alone (the
//! same for a certificate and a CRL), a certificate's key by
//! x509-parser; the cryptography is aws-lc-rs's (rustls's own provider).

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, SubjectPublicKeyInfoDer};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// OpenSSL's short and long names of a signature or key algorithm, by
/// OID.
pub(crate) fn algorithm_names(oid: &str) -> Option<(&'static str, &'static str)> {
    Some(match oid {
        "1.2.840.113549.1.1.1" => ("rsaEncryption", "rsaEncryption"),
        "1.2.840.113549.1.1.5" => ("RSA-SHA1", "sha1WithRSAEncryption"),
        "1.2.840.113549.1.1.10" => ("RSASSA-PSS", "rsassaPss"),
        "1.2.840.113549.1.1.11" => ("RSA-SHA256", "sha256WithRSAEncryption"),
        "1.2.840.113549.1.1.12" => ("RSA-SHA384", "sha384WithRSAEncryption"),
        "1.2.840.113549.1.1.13" => ("RSA-SHA512", "sha512WithRSAEncryption"),
        "1.2.840.10045.2.1" => ("id-ecPublicKey", "id-ecPublicKey"),
        "1.2.840.10045.4.1" => ("ecdsa-with-SHA1", "ecdsa-with-SHA1"),
        "1.2.840.10045.4.3.2" => ("ecdsa-with-SHA256", "ecdsa-with-SHA256"),
        "1.2.840.10045.4.3.3" => ("ecdsa-with-SHA384", "ecdsa-with-SHA384"),
        "1.2.840.10045.4.3.4" => ("ecdsa-with-SHA512", "ecdsa-with-SHA512"),
        "1.3.101.112" => ("ED25519", "ED25519"),
        "1.3.101.113" => ("ED448", "ED448"),
        _ => return None,
    })
}

/// An INTEGER's contents without the zero byte DER puts before a high
/// bit: the number as OpenSSL keeps and prints it (a serial).
pub(crate) fn magnitude(contents: &[u8]) -> &[u8] {
    match contents {
        [0, next, ..] if next & 0x80 != 0 => &contents[1..],
        _ => contents,
    }
}

/// An element of `tag` holding `parts` in order, as DER.
pub(crate) fn der(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let contents = parts.concat();
    let mut out = vec![tag];
    match contents.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n if n < 0x1_0000 => out.extend([0x82, (n >> 8) as u8, n as u8]),
        n => out.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
    }
    out.extend(contents);
    out
}

/// One DER element of `input`, whole (tag and length included), and
/// what follows.
pub(crate) fn raw_element(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, rest) = element(input)?;
    Some((&input[..input.len() - rest.len()], rest))
}

/// One DER element of `input`: its tag, its contents and what follows.
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let (digits, rest) = rest.split_at_checked(count)?;
            let len = digits
                .iter()
                .fold(0usize, |len, &d| (len << 8) | usize::from(d));
            (len, rest)
        }
        _ => return None,
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The contents of a BIT STRING with no unused bits.
fn bits(contents: &[u8]) -> Option<&[u8]> {
    contents
        .split_first()
        .filter(|(&unused, _)| unused == 0)
        .map(|(_, b)| b)
}

/// DER tags read here.
const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

/// A signed structure (a certificate, a revocation list): the bytes
/// signed, the signature's algorithm (its identifier's contents) and the
/// signature.
struct Signed<'a> {
    message: &'a [u8],
    algorithm: &'a [u8],
    signature: &'a [u8],
}

impl<'a> Signed<'a> {
    fn read(der: &'a [u8]) -> Option<Self> {
        let (SEQUENCE, body, _) = element(der)? else {
            return None;
        };
        let (SEQUENCE, _, after_tbs) = element(body)? else {
            return None;
        };
        let message = &body[..body.len() - after_tbs.len()];
        let (SEQUENCE, algorithm, rest) = element(after_tbs)? else {
            return None;
        };
        let (BIT_STRING, signature, _) = element(rest)? else {
            return None;
        };
        Some(Self {
            message,
            algorithm,
            signature: bits(signature)?,
        })
    }
}

/// A subject public key: its algorithm (the identifier's contents) and
/// the key's bytes.
struct PublicKey<'a> {
    algorithm: &'a [u8],
    key: &'a [u8],
}

impl<'a> PublicKey<'a> {
    /// The key of a SubjectPublicKeyInfo.
    fn read(spki: &'a [u8]) -> Option<Self> {
        let (SEQUENCE, body, _) = element(spki)? else {
            return None;
        };
        let (SEQUENCE, algorithm, rest) = element(body)? else {
            return None;
        };
        let (BIT_STRING, key, _) = element(rest)? else {
            return None;
        };
        Some(Self {
            algorithm,
            key: bits(key)?,
        })
    }

    /// The OID of its algorithm, and of its parameters' (an EC curve).
    fn oids(&self) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        let (OID, oid, rest) = element(self.algorithm)? else {
            return None;
        };
        let curve = match element(rest) {
            Some((OID, curve, _)) => Some(curve),
            _ => None,
        };
        Some((oid, curve))
    }
}

/// OIDs, as DER contents.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const SHA1_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// The verification for a signature by `algorithm` (its identifier's
/// contents) with a key of `key`'s kind, if haven checks that pair.
fn verification(
    algorithm: &[u8],
    key: &PublicKey<'_>,
) -> Option<&'static dyn VerificationAlgorithm> {
    let (OID, signed_with, _) = element(algorithm)? else {
        return None;
    };
    let (kind, curve) = key.oids()?;
    Some(match (signed_with, kind, curve) {
        (SHA1_WITH_RSA, RSA_ENCRYPTION, _) => {
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        (SHA256_WITH_RSA, RSA_ENCRYPTION, _) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (SHA384_WITH_RSA, RSA_ENCRYPTION, _) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SHA512_WITH_RSA, RSA_ENCRYPTION, _) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (ECDSA_SHA256, EC_PUBLIC_KEY, Some(P256)) => &signature::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SHA384, EC_PUBLIC_KEY, Some(P256)) => &signature::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SHA256, EC_PUBLIC_KEY, Some(P384)) => &signature::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SHA384, EC_PUBLIC_KEY, Some(P384)) => &signature::ECDSA_P384_SHA384_ASN1,
        (ED25519, ED25519, _) => &signature::ED25519,
        _ => return None,
    })
}

/// Whether `signed` (a certificate or a revocation list, DER) carries a
/// valid signature by the key of `issuer_spki` (a SubjectPublicKeyInfo).
pub(crate) fn signed_by(signed: &[u8], issuer_spki: &[u8]) -> bool {
    let (Some(signed), Some(key)) = (Signed::read(signed), PublicKey::read(issuer_spki)) else {
        return false;
    };
    let Some(algorithm) = verification(signed.algorithm, &key) else {
        return false;
    };
    UnparsedPublicKey::new(algorithm, key.key)
        .verify(signed.message, signed.signature)
        .is_ok()
}

/// The subject public key of `cert` (a SubjectPublicKeyInfo), read
/// whatever its X.509 version.
fn public_key_of(cert: &[u8]) -> Result<&[u8], Error> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(cert)
        .map(|(_, parsed)| parsed.tbs_certificate.subject_pki.raw)
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))
}

/// A TLS 1.2 handshake's signature `dss` over `message`, checked against
/// the key of `cert` with the algorithms `supported` maps its scheme to.
pub(crate) fn tls12_signed(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    supported: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let made = (message, dss.signature(), dss.scheme);
    match handshake_signed_by(made, public_key_of(cert)?, supported) {
        true => Ok(HandshakeSignatureValid::assertion()),
        false => Err(Error::InvalidCertificate(CertificateError::BadSignature)),
    }
}

/// A TLS 1.3 handshake's signature, as [`tls12_signed`] checks one (with
/// TLS 1.3's own rules on schemes).
pub(crate) fn tls13_signed(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    supported: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let spki = SubjectPublicKeyInfoDer::from(public_key_of(cert)?);
    rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, supported)
}

/// Whether `signature` over `message`, made with `scheme` in a TLS
/// handshake, is valid for the key of `spki` (a SubjectPublicKeyInfo),
/// with one of the algorithms `supported` maps the scheme to.
fn handshake_signed_by(
    (message, signature, scheme): (&[u8], &[u8], SignatureScheme),
    spki: &[u8],
    supported: &WebPkiSupportedAlgorithms,
) -> bool {
    let Some(key) = PublicKey::read(spki) else {
        return false;
    };
    let candidates = supported
        .mapping
        .iter()
        .filter(|(s, _)| *s == scheme)
        .flat_map(|(_, algorithms)| algorithms.iter());
    candidates
        .filter(|a| a.public_key_alg_id().as_ref() == key.algorithm)
        .any(|a| a.verify_signature(key.key, message, signature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData;

    // Input: serials as DER writes them: with the zero byte before a
    // high bit, a zero alone, a small one.
    // Output: the numbers as OpenSSL prints them, that zero byte gone.
    #[test]
    fn serials_lose_only_the_sign_byte() {
        assert_eq!(magnitude(&[0x00, 0x97, 0xff]), [0x97, 0xff]);
        assert_eq!(magnitude(&[0x00]), [0x00]);
        assert_eq!(magnitude(&[0x00, 0x10]), [0x00, 0x10]);
        assert_eq!(magnitude(&[0x10, 0x0f]), [0x10, 0x0f]);
    }

    // Input: a certificate signed by a CA (ECDSA P-256), its own key, a
    // byte of it changed, and the CA's key on a TLS 1.3 signature.
    // Output: the CA's key checks it; another key or a changed byte does
    // not; a handshake signature made by the CA's key checks with it.
    #[test]
    fn signatures_check_against_the_signers_key_only() {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["a.test".into()]).expect("params");
        let leaf = params.signed_by(&leaf_key, &issuer).expect("leaf");
        let ca_spki = ca_key.subject_public_key_info();
        assert!(signed_by(leaf.der(), &ca_spki));
        assert!(!signed_by(leaf.der(), &leaf_key.subject_public_key_info()));
        let mut changed = leaf.der().to_vec();
        let at = changed.len() / 2;
        changed[at] ^= 1;
        assert!(!signed_by(&changed, &ca_spki));
        assert!(signed_by(ca.der(), &ca_spki), "self-signed");
        assert_eq!(
            public_key_of(leaf.der()).ok(),
            Some(&leaf_key.subject_public_key_info()[..])
        );

        let message = b"handshake transcript";
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &ca_key.serialize_der(),
        )
        .expect("pkcs8");
        let signature = pair.sign(&rng, message).expect("sign");
        let supported =
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        let scheme = SignatureScheme::ECDSA_NISTP256_SHA256;
        let made = (&message[..], signature.as_ref(), scheme);
        assert!(handshake_signed_by(made, &ca_spki, &supported));
        assert!(!handshake_signed_by(
            made,
            &leaf_key.subject_public_key_info(),
            &supported
        ));
    }
}
