//! Client certificates checked as haproxy's OpenSSL checks them (`verify
//! optional|required`, `ca-file`, `crl-file`, `ca-ignore-err`,
//! `crt-ignore-err`): the chain by `chain::Trust`, the errors each
//! ignore list lets pass, the last one kept for `ssl_c_verify`.

use super::chain::{refusal, Found, Purpose, Trust};
use super::files::Files;
use super::x509::{tls12_signed, tls13_signed};
use haven_core::config::haproxy::{IgnoredErrors, TlsOptions, Verify};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use x509_parser::prelude::{FromDer, X509Certificate};

/// A `bind` line's check of client certificates.
#[derive(Debug)]
pub(crate) struct ClientCheck {
    /// `ca-file`, `ca-verify-file`, `crl-file`.
    trust: Trust,
    required: bool,
    /// `ca-ignore-err`, `crt-ignore-err`.
    ignored: (Option<IgnoredErrors>, Option<IgnoredErrors>),
    /// The names of `ca-file`'s CAs, sent with the request for a
    /// certificate.
    hints: Vec<DistinguishedName>,
    supported: WebPkiSupportedAlgorithms,
}

impl ClientCheck {
    /// The check `o` asks for, with the CA and CRL files of `files`;
    /// `None` under `verify none`.
    pub(crate) fn of(o: &TlsOptions, files: &Files) -> Result<Option<Self>, String> {
        let verify = o.verify.unwrap_or_default();
        if verify == Verify::None {
            return Ok(None);
        }
        if o.ca_file.is_none() && o.ca_verify_file.is_none() {
            return Err("verify is enabled but no CA file specified.".into());
        }
        let trust = Trust::of(files, &[&o.ca_file, &o.ca_verify_file], &o.crl_file)?;
        let named = o.ca_file.as_ref().and_then(|ca| files.cas.get(ca));
        let hints = named
            .into_iter()
            .flatten()
            .filter_map(|ca| X509Certificate::from_der(ca).ok())
            .map(|(_, parsed)| DistinguishedName::from(parsed.subject().as_raw().to_vec()))
            .collect();
        Ok(Some(Self {
            trust,
            required: verify == Verify::Required,
            ignored: (o.ca_ignore_err.clone(), o.crt_ignore_err.clone()),
            hints,
            supported: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        }))
    }

    /// Every error of the client's `chain` at time `now`, as OpenSSL
    /// finds them.
    pub(crate) fn errors(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Vec<Found> {
        self.trust.errors(chain, now, Purpose::Client)
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
    use crate::tls::chain::verify_result;
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
            checked(&options)
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

    /// The check of `options`, their files read.
    fn checked(options: &TlsOptions) -> ClientCheck {
        let mut files = Files::default();
        files.read_trust(options).expect("readable files");
        ClientCheck::of(options, &files)
            .expect("usable")
            .expect("a check")
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
        let check = checked(&options);
        assert_eq!(check.errors(&[ca.client(1, 2090)], UnixTime::now()), []);
        assert!(check.root_hint_subjects().is_empty());
        assert_eq!(ca.check(false, None).root_hint_subjects().len(), 1);
    }
}
