//! A peer's certificate chain checked as haproxy's OpenSSL checks it,
//! for client certificates (`verify optional|required` on a `bind`) and
//! for servers' (`verify required` on a `server`): built by names up to
//! a CA of the CA files, X.509 v1 certificates and v1 revocation lists
//! included (webpki refuses both, OpenSSL takes them), each error by
//! OpenSSL's code and depth.

use super::files::Files;
use super::x509::signed_by;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::{CertificateError, Error};
use x509_parser::prelude::{CertificateRevocationList, FromDer, X509Certificate};

/// OpenSSL's verification error codes (`X509_V_ERR_*`) haven reports.
mod code {
    pub(super) const UNSPECIFIED: i64 = 1;
    pub(super) const UNABLE_TO_GET_CRL: i64 = 3;
    pub(super) const CERT_SIGNATURE_FAILURE: i64 = 7;
    pub(super) const CRL_SIGNATURE_FAILURE: i64 = 8;
    pub(super) const CERT_NOT_YET_VALID: i64 = 9;
    pub(super) const CERT_HAS_EXPIRED: i64 = 10;
    pub(super) const CRL_NOT_YET_VALID: i64 = 11;
    pub(super) const CRL_HAS_EXPIRED: i64 = 12;
    pub(super) const DEPTH_ZERO_SELF_SIGNED_CERT: i64 = 18;
    pub(super) const SELF_SIGNED_CERT_IN_CHAIN: i64 = 19;
    pub(super) const UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i64 = 20;
    pub(super) const CERT_REVOKED: i64 = 23;
    pub(super) const INVALID_CA: i64 = 24;
    pub(super) const INVALID_PURPOSE: i64 = 26;
}

/// The longest chain followed (OpenSSL's default depth).
const MAX_DEPTH: usize = 100;

/// An error found in a chain: OpenSSL's code, and the depth of the
/// certificate it is about (0: the peer's own).
pub(crate) type Found = (i64, usize);

/// What a chain's checks read of one certificate.
struct Link<'a> {
    der: &'a [u8],
    subject: &'a [u8],
    issuer: &'a [u8],
    spki: &'a [u8],
    serial: &'a [u8],
    valid: (i64, i64),
    /// It may sign others: a CA by its basic constraints, or (as OpenSSL
    /// takes them) a self-signed X.509 v1 certificate.
    ca: bool,
    /// What its extended key usage, if it has one, allows: a TLS
    /// client, a TLS server.
    usage: (bool, bool),
}

impl<'a> Link<'a> {
    fn of(der: &'a [u8], parsed: &'a X509Certificate<'a>) -> Self {
        let validity = parsed.validity();
        let constrained = parsed.basic_constraints().ok().flatten();
        let self_issued = parsed.subject().as_raw() == parsed.issuer().as_raw();
        let ca = match constrained {
            Some(constraints) => constraints.value.ca,
            None => parsed.version().0 == 0 && self_issued,
        };
        let usage = parsed.extended_key_usage().ok().flatten();
        let usage = usage.map_or((true, true), |u| {
            let any = u.value.any;
            (any || u.value.client_auth, any || u.value.server_auth)
        });
        Self {
            der,
            subject: parsed.subject().as_raw(),
            issuer: parsed.issuer().as_raw(),
            spki: parsed.public_key().raw,
            serial: parsed.raw_serial(),
            valid: (
                validity.not_before.timestamp(),
                validity.not_after.timestamp(),
            ),
            ca,
            usage,
        }
    }
}

/// Whose certificate a chain begins with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A client's (`ssl_client`, as OpenSSL's servers check).
    Client,
    /// A server's (`ssl_server`, as OpenSSL's clients check).
    Server,
}

/// The CAs a chain may end at and the revocation lists its certificates
/// are checked against.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    anchors: Vec<CertificateDer<'static>>,
    /// `crl-file`: each certificate's issuer must have one here.
    crls: Option<Vec<CertificateRevocationListDer<'static>>>,
}

impl Trust {
    /// The CAs of the files `cas` and the lists of the file `crl`, as
    /// `files` hold them.
    pub(crate) fn of(
        files: &Files,
        cas: &[&Option<String>],
        crl: &Option<String>,
    ) -> Result<Self, String> {
        let mut anchors = Vec::new();
        for ca in cas.iter().filter_map(|f| f.as_deref()) {
            let read = files
                .cas
                .get(ca)
                .ok_or_else(|| format!("unable to load CA file '{ca}'."))?;
            anchors.extend(read.iter().cloned());
        }
        let crls = match crl {
            None => None,
            Some(path) => Some(
                files
                    .crls
                    .get(path)
                    .ok_or_else(|| format!("unable to load CRL file '{path}'."))?
                    .clone(),
            ),
        };
        Ok(Self { anchors, crls })
    }

    /// Every error of `chain` (the peer's certificate first) at time
    /// `now`, in the order OpenSSL finds them: building the chain, the
    /// revocation of each certificate, then each certificate's
    /// signature and dates from the top down; a certificate above the
    /// peer's that is no CA, or a peer's whose extended key usage leaves
    /// out its `purpose`, is an error too.
    pub(crate) fn errors(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
        purpose: Purpose,
    ) -> Vec<Found> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let sent: Option<Vec<X509Certificate<'_>>> = chain.iter().map(|c| read(c)).collect();
        let anchors: Vec<X509Certificate<'_>> =
            self.anchors.iter().filter_map(|c| read(c)).collect();
        let Some(sent) = sent.filter(|s| !s.is_empty()) else {
            return vec![(code::UNSPECIFIED, 0)];
        };
        let sent: Vec<Link<'_>> = chain
            .iter()
            .zip(&sent)
            .map(|(d, p)| Link::of(d, p))
            .collect();
        let anchors: Vec<Link<'_>> = self
            .anchors
            .iter()
            .zip(&anchors)
            .map(|(d, p)| Link::of(d, p))
            .collect();
        let mut errors = Vec::new();
        let path = Self::path(&sent, &anchors, &mut errors);
        for (depth, link) in path.iter().enumerate().skip(1) {
            if !link.ca {
                errors.push((code::INVALID_CA, depth));
            }
        }
        let (for_clients, for_servers) = path[0].usage;
        let allowed = match purpose {
            Purpose::Client => for_clients,
            Purpose::Server => for_servers,
        };
        if !allowed {
            errors.push((code::INVALID_PURPOSE, 0));
        }
        if let Some(crls) = &self.crls {
            // Every certificate of the chain, the CA's own included, as
            // haproxy asks OpenSSL (`X509_V_FLAG_CRL_CHECK_ALL`).
            for depth in 0..path.len() {
                if let Some(code) = Self::revocation(&path, depth, crls, now) {
                    errors.push((code, depth));
                }
            }
        }
        for depth in (0..path.len()).rev() {
            let link = path[depth];
            if let Some(issuer) = path.get(depth + 1) {
                if !signed_by(link.der, issuer.spki) {
                    errors.push((code::CERT_SIGNATURE_FAILURE, depth));
                }
            }
            if now < link.valid.0 {
                errors.push((code::CERT_NOT_YET_VALID, depth));
            } else if now > link.valid.1 {
                errors.push((code::CERT_HAS_EXPIRED, depth));
            }
        }
        errors
    }

    /// The chain from the peer's certificate up to a CA of the files
    /// (or as far as it goes, its end's error in `errors`).
    fn path<'l, 'a>(
        sent: &'l [Link<'a>],
        anchors: &'l [Link<'a>],
        errors: &mut Vec<Found>,
    ) -> Vec<&'l Link<'a>> {
        let mut path = vec![&sent[0]];
        while let Some(&top) = path.last() {
            let depth = path.len() - 1;
            if let Some(anchor) = anchors.iter().find(|a| a.subject == top.issuer) {
                if anchor.der != top.der {
                    path.push(anchor);
                }
                break;
            }
            if top.subject == top.issuer {
                let code = match depth {
                    0 => code::DEPTH_ZERO_SELF_SIGNED_CERT,
                    _ => code::SELF_SIGNED_CERT_IN_CHAIN,
                };
                errors.push((code, depth));
                break;
            }
            let next = sent[1..]
                .iter()
                .find(|c| c.subject == top.issuer && !path.iter().any(|p| p.der == c.der));
            match next.filter(|_| path.len() < MAX_DEPTH) {
                Some(next) => path.push(next),
                None => {
                    errors.push((code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, depth));
                    break;
                }
            }
        }
        path
    }

    /// The revocation of the certificate at `depth` of `path` by its
    /// issuer's list among `crls`, at time `now` (a self-signed one is
    /// its own issuer): OpenSSL's error code.
    fn revocation(
        path: &[&Link<'_>],
        depth: usize,
        crls: &[CertificateRevocationListDer<'_>],
        now: i64,
    ) -> Option<i64> {
        let link = path[depth];
        let issuer = match path.get(depth + 1) {
            Some(issuer) => issuer,
            None if link.subject == link.issuer => link,
            None => return None,
        };
        let of_issuer = |der: &&CertificateRevocationListDer<'_>| {
            CertificateRevocationList::from_der(der)
                .is_ok_and(|(_, crl)| crl.issuer().as_raw() == link.issuer)
        };
        let Some(der) = crls.iter().find(of_issuer) else {
            return Some(code::UNABLE_TO_GET_CRL);
        };
        let (_, crl) = CertificateRevocationList::from_der(der).ok()?;
        if !signed_by(der, issuer.spki) {
            return Some(code::CRL_SIGNATURE_FAILURE);
        }
        if crl.last_update().timestamp() > now {
            return Some(code::CRL_NOT_YET_VALID);
        }
        if crl.next_update().is_some_and(|t| t.timestamp() < now) {
            return Some(code::CRL_HAS_EXPIRED);
        }
        let revoked = crl
            .iter_revoked_certificates()
            .any(|r| r.raw_serial() == link.serial);
        revoked.then_some(code::CERT_REVOKED)
    }
}

/// Certificate `der`, read.
fn read(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().map(|(_, c)| c)
}

/// The `ssl_c_verify` of a chain's errors: the last one found.
pub(crate) fn verify_result(errors: &[Found]) -> i64 {
    errors.last().map_or(0, |&(code, _)| code)
}

/// rustls's word for OpenSSL's error `code`.
pub(crate) fn refusal(code: i64) -> Error {
    Error::InvalidCertificate(match code {
        code::CERT_HAS_EXPIRED => CertificateError::Expired,
        code::CERT_NOT_YET_VALID => CertificateError::NotValidYet,
        code::CERT_REVOKED => CertificateError::Revoked,
        code::CERT_SIGNATURE_FAILURE => CertificateError::BadSignature,
        code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | code::DEPTH_ZERO_SELF_SIGNED_CERT
        | code::SELF_SIGNED_CERT_IN_CHAIN => CertificateError::UnknownIssuer,
        _ => CertificateError::ApplicationVerificationFailure,
    })
}
