//! Client certificates checked as haproxy's OpenSSL checks them (`verify
//! optional|required`, `ca-file`, `crl-file`, `ca-ignore-err`,
//! `crt-ignore-err`): X.509 v1 certificates and v1 revocation lists
//! included, each error by OpenSSL's code and depth, the last one kept
//! for `ssl_c_verify`.

use super::x509::{signed_by, tls12_signed, tls13_signed};
use haven_core::config::haproxy::{IgnoredErrors, TlsOptions, Verify};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
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

/// A `bind` line's check of client certificates.
#[derive(Debug)]
pub(crate) struct ClientCheck {
    /// `ca-file`, `ca-verify-file`: the certificates a chain ends at.
    anchors: Vec<CertificateDer<'static>>,
    /// `crl-file`: each certificate's issuer must have one here.
    crls: Option<Vec<CertificateRevocationListDer<'static>>>,
    required: bool,
    /// `ca-ignore-err`, `crt-ignore-err`.
    ignored: (Option<IgnoredErrors>, Option<IgnoredErrors>),
    /// The names of `ca-file`'s CAs, sent with the request for a
    /// certificate.
    hints: Vec<DistinguishedName>,
    supported: WebPkiSupportedAlgorithms,
}

/// An error found in a chain: OpenSSL's code, and the depth of the
/// certificate it is about (0: the client's own).
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
    /// Its extended key usage, if it has one, allows a TLS client.
    for_clients: bool,
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
        let for_clients = usage.is_none_or(|u| u.value.any || u.value.client_auth);
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
            for_clients,
        }
    }
}

impl ClientCheck {
    /// The check `o` asks for; `None` under `verify none`.
    pub(crate) fn of(o: &TlsOptions) -> Result<Option<Self>, String> {
        let verify = o.verify.unwrap_or_default();
        if verify == Verify::None {
            return Ok(None);
        }
        let mut anchors = Vec::new();
        let mut hints = Vec::new();
        for (file, hinted) in [(&o.ca_file, true), (&o.ca_verify_file, false)] {
            let Some(ca) = file.as_deref() else { continue };
            let unusable =
                |e: &dyn std::fmt::Display| format!("unable to use CA file '{ca}' : {e}.");
            let read = CertificateDer::pem_file_iter(ca)
                .and_then(|all| all.collect::<Result<Vec<_>, _>>())
                .map_err(|e| unusable(&e))?;
            for anchor in read {
                let (_, parsed) = X509Certificate::from_der(&anchor).map_err(|e| unusable(&e))?;
                if hinted {
                    hints.push(DistinguishedName::from(parsed.subject().as_raw().to_vec()));
                }
                anchors.push(anchor);
            }
        }
        let crls = match &o.crl_file {
            None => None,
            Some(path) => {
                let crls = super::settings::crls(path)?;
                for crl in &crls {
                    CertificateRevocationList::from_der(crl)
                        .map_err(|e| format!("unable to load CRL file '{path}' : {e}."))?;
                }
                Some(crls)
            }
        };
        Ok(Some(Self {
            anchors,
            crls,
            required: verify == Verify::Required,
            ignored: (o.ca_ignore_err.clone(), o.crt_ignore_err.clone()),
            hints,
            supported: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        }))
    }

    /// Every error of `chain` (the client's certificate first) at time
    /// `now`, in the order OpenSSL finds them: building the chain, the
    /// revocation of each certificate, then each certificate's
    /// signature and dates from the top down; a certificate above the
    /// client's that is no CA, or a client's whose extended key usage
    /// leaves out TLS clients, is an error too.
    pub(crate) fn errors(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Vec<Found> {
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
        if !path[0].for_clients {
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

    /// The chain from the client's certificate up to a CA of the file
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

    /// The first of `errors` neither ignore list lets pass.
    fn refusing(&self, errors: &[Found]) -> Option<Found> {
        errors.iter().copied().find(|&(code, depth)| {
            let ignored = if depth == 0 {
                &self.ignored.1
            } else {
                &self.ignored.0
            };
            !ignored.as_ref().is_some_and(|i| i.covers(code))
        })
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
fn refusal(code: i64) -> Error {
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

impl ClientCertVerifier for ClientCheck {
    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        match self.refusing(&self.errors(&chain, now)) {
            None => Ok(ClientCertVerified::assertion()),
            Some((code, _)) => Err(refusal(code)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_signed(message, cert, dss, &self.supported)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signed(message, cert, dss, &self.supported)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.supported.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, IsCa,
        Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
    };

    /// A CA's files (its certificate, its revocation list naming serial
    /// 23) and what it signs.
    struct Authority {
        dir: tempfile::TempDir,
        issuer: Issuer<'static, KeyPair>,
    }

    impl Authority {
        /// A CA named `name`.
        fn new(name: &str) -> Self {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let key = KeyPair::generate().expect("key");
            let ca = params.self_signed(&key).expect("CA");
            let issuer = Issuer::new(params, key);
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("CA file");
            let crl = CertificateRevocationListParams {
                this_update: date_time_ymd(2020, 1, 1),
                next_update: date_time_ymd(2090, 1, 1),
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs: vec![RevokedCertParams {
                    serial_number: SerialNumber::from(23u64),
                    revocation_time: date_time_ymd(2020, 1, 1),
                    reason_code: None,
                    invalidity_date: None,
                }],
                key_identifier_method: KeyIdMethod::Sha256,
            };
            let crl = crl.signed_by(&issuer).expect("CRL");
            std::fs::write(dir.path().join("crl.pem"), crl.pem().expect("pem")).expect("CRL file");
            Self { dir, issuer }
        }

        /// A client certificate with `serial`, valid until `until`.
        fn client(&self, serial: u64, until: i32) -> CertificateDer<'static> {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "client");
            params.serial_number = Some(SerialNumber::from(serial));
            params.not_before = date_time_ymd(2010, 1, 1);
            params.not_after = date_time_ymd(until, 1, 1);
            let key = KeyPair::generate().expect("key");
            params
                .signed_by(&key, &self.issuer)
                .expect("client")
                .der()
                .clone()
        }

        /// The check of `verify required` with this CA, its list when
        /// `crl`, and `crt-ignore-err` when given.
        fn check(&self, crl: bool, crt_ignore_err: Option<IgnoredErrors>) -> ClientCheck {
            let file = |name: &str| self.dir.path().join(name).display().to_string();
            let options = TlsOptions {
                verify: Some(Verify::Required),
                ca_file: Some(file("ca.pem")),
                crl_file: crl.then(|| file("crl.pem")),
                crt_ignore_err,
                ..TlsOptions::default()
            };
            ClientCheck::of(&options).expect("usable").expect("a check")
        }
    }

    // Input: client certificates from a CA: valid, expired, revoked (its
    // serial in the CRL), self-signed; with and without `crl-file`, with
    // `crt-ignore-err 10`.
    // Output: OpenSSL's codes at depth 0: none, 10, 23, 18; 3 at each
    // depth with a `crl-file` that has no list from the issuers (the CA's
    // own included, as haproxy checks every certificate); `crt-ignore-err 10`
    // lets the expired one in (its code still reported), not the revoked.
    #[test]
    fn client_certificates_get_openssls_verdicts() {
        let ca = Authority::new("CA");
        let now = UnixTime::now();
        let check = ca.check(true, None);
        assert_eq!(check.errors(&[ca.client(1, 2090)], now), []);
        let expired = ca.client(2, 2019);
        assert_eq!(check.errors(std::slice::from_ref(&expired), now), [(10, 0)]);
        let revoked = ca.client(23, 2090);
        assert_eq!(check.errors(std::slice::from_ref(&revoked), now), [(23, 0)]);
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["self.test".into()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "self");
        let own = params.self_signed(&key).expect("self-signed").der().clone();
        // Untrusted, and no list of its issuer (itself) to check it by.
        assert_eq!(check.errors(&[own], now), [(18, 0), (3, 0)]);
        let other = Authority::new("another CA");
        let elsewhere = ca.check(true, None);
        assert_eq!(elsewhere.errors(&[other.client(1, 2090)], now), [(20, 0)]);
        assert_eq!(
            ca.check(false, None)
                .errors(std::slice::from_ref(&revoked), now),
            []
        );
        let lenient = ca.check(true, Some(IgnoredErrors::Codes(vec![10])));
        let errors = lenient.errors(&[expired], now);
        assert_eq!(
            (lenient.refusing(&errors), verify_result(&errors)),
            (None, 10)
        );
        assert_eq!(
            lenient.refusing(&lenient.errors(&[revoked], now)),
            Some((23, 0))
        );
        // A client's own certificate signs another: no CA, refused.
        let user_key = KeyPair::generate().expect("key");
        let mut user = CertificateParams::new(Vec::<String>::new()).expect("params");
        user.distinguished_name
            .push(rcgen::DnType::CommonName, "user");
        let user_cert = user
            .signed_by(&user_key, &ca.issuer)
            .expect("user")
            .der()
            .clone();
        let mut forged = CertificateParams::new(Vec::<String>::new()).expect("params");
        forged
            .distinguished_name
            .push(rcgen::DnType::CommonName, "forged");
        let forged_key = KeyPair::generate().expect("key");
        let forged = forged
            .signed_by(&forged_key, &Issuer::new(user, user_key))
            .expect("forged")
            .der()
            .clone();
        let errors = ca.check(false, None).errors(&[forged, user_cert], now);
        assert_eq!(errors, [(24, 1)]);
        // A certificate for servers only.
        let mut server = CertificateParams::new(Vec::<String>::new()).expect("params");
        server
            .distinguished_name
            .push(rcgen::DnType::CommonName, "server");
        server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("key");
        let server = server
            .signed_by(&key, &ca.issuer)
            .expect("server")
            .der()
            .clone();
        assert_eq!(ca.check(false, None).errors(&[server], now), [(26, 0)]);
        let listless = Authority::new("a third CA");
        std::fs::copy(
            listless.dir.path().join("crl.pem"),
            ca.dir.path().join("crl.pem"),
        )
        .expect("another CA's list");
        assert_eq!(
            ca.check(true, None).errors(&[ca.client(1, 2090)], now),
            [(3, 0), (3, 1)]
        );
    }

    // Input: the CA given by `ca-verify-file` rather than `ca-file`.
    // Output: it checks client certificates the same; its name is not
    // sent with the request for one (it is with `ca-file`).
    #[test]
    fn a_ca_verify_file_checks_without_naming_its_cas() {
        let ca = Authority::new("CA");
        let file = ca.dir.path().join("ca.pem").display().to_string();
        let options = TlsOptions {
            verify: Some(Verify::Required),
            ca_verify_file: Some(file),
            ..TlsOptions::default()
        };
        let check = ClientCheck::of(&options).expect("usable").expect("a check");
        assert_eq!(check.errors(&[ca.client(1, 2090)], UnixTime::now()), []);
        assert!(check.root_hint_subjects().is_empty());
        assert_eq!(ca.check(false, None).root_hint_subjects().len(), 1);
    }
}
