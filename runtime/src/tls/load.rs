//! A bind line's certificates as haproxy loads them, from the files read
//! at start (`files.rs`): each PEM's chain and key, its stapled OCSP
//! answer, the files of a folder in name order, and `crt-list` lines
//! with their settings and SNI filters.

use super::files::{CertFile, Files};
use super::x509::algorithm_names;
use haven_core::config::haproxy::{BindTls, TlsOptions};
use haven_core::sample::CertFacts;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

/// Why a bind line's certificates cannot be used: haproxy's words, with
/// the config line they belong to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parsing [{file}:{line}] : {}", self.in_section())]
pub struct CertError {
    /// The config file.
    pub file: String,
    /// The `bind` line.
    pub line: u32,
    /// The section's keyword (`frontend`, `listen`).
    pub section: &'static str,
    /// The address as written.
    pub addr: String,
    /// What is wrong.
    pub message: String,
}

impl CertError {
    /// `message` about the certificates of `tls`, the `bind` on `line`.
    pub(crate) fn new(tls: &BindTls, line: u32, message: String) -> Self {
        let (file, section, addr) = &tls.written;
        Self {
            file: file.clone(),
            line,
            section,
            addr: addr.clone(),
            message,
        }
    }

    /// The message after the place: `'bind ADDR' in section 'frontend' : …`.
    pub fn in_section(&self) -> String {
        let (addr, section, message) = (&self.addr, self.section, &self.message);
        format!("'bind {addr}' in section '{section}' : {message}")
    }
}

/// One certificate of a bind line, with what chooses it and the settings
/// its handshakes use.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The file it came from.
    pub(crate) path: String,
    /// Its chain and key (and stapled OCSP answer).
    pub(crate) key: Arc<CertifiedKey>,
    /// When its OCSP answer stops being stapled (seconds since the
    /// epoch), if it has one.
    pub(crate) staple_expires: Option<i64>,
    /// Why the OCSP answer beside it was not taken, if it was not.
    pub(crate) ignored_ocsp: Option<String>,
    /// The names it serves: its SNI filters, else its own DNS names
    /// (subject alternative names, else the common name), lower case;
    /// `*.example.com` for wildcards.
    pub(crate) names: Vec<String>,
    /// Names its negative filters (`!secure.example.com`) exclude.
    pub(crate) excluded: Vec<String>,
    /// Its key is ECDSA (else RSA or EdDSA).
    pub(crate) ecdsa: bool,
    /// Its `crt-list` settings over the bind line's.
    pub(crate) options: TlsOptions,
}

/// Every certificate of `tls`, in order (the first is the default one),
/// as `files` hold them.
pub(crate) fn load_bind(tls: &BindTls, files: &Files) -> Result<Vec<Loaded>, String> {
    let mut out = Vec::new();
    for source in &tls.certificates {
        let path = source.path();
        let Some(list) = files.lists.get(path) else {
            out.push(certificate(path, files)?);
            continue;
        };
        for line in &list.lines {
            let mut loaded = certificate(&line.path, files).map_err(|e| match list.folder {
                true => e,
                false => format!("crt-list file '{path}', line {} : {e}", line.line),
            })?;
            apply_filters(&mut loaded, &line.filters);
            loaded.options = line.options.clone();
            out.push(loaded);
        }
    }
    Ok(out)
}

/// The certificate of `path` in `files`.
pub(crate) fn certificate(path: &str, files: &Files) -> Result<Loaded, String> {
    match files.certs.get(path) {
        Some(file) => from_pem(path, file),
        None => Err(format!(
            "unable to load SSL certificate from PEM file '{path}'."
        )),
    }
}

/// A crt-list line's SNI filters: its positive ones replace the
/// certificate's own names, its negative ones exclude names (`!*`: all of
/// them, the certificate then serving only as the default).
fn apply_filters(loaded: &mut Loaded, filters: &[String]) {
    let (negative, positive): (Vec<&String>, Vec<&String>) =
        filters.iter().partition(|f| f.starts_with('!'));
    if !positive.is_empty() {
        loaded.names = positive.into_iter().cloned().collect();
    }
    for name in negative {
        let name = &name[1..];
        if name == "*" {
            loaded.names.clear();
        } else {
            loaded.excluded.push(name.to_owned());
        }
    }
}

/// The certificate of `path`, read as `file`: its chain, key and OCSP
/// answer.
pub(crate) fn from_pem(path: &str, file: &CertFile) -> Result<Loaded, String> {
    let bytes = &file.pem;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("unable to load SSL certificate from PEM file '{path}' : {e}."))?;
    let Some(leaf) = chain.first() else {
        return Err(format!(
            "unable to load SSL certificate from PEM file '{path}'."
        ));
    };
    let key = PrivateKeyDer::from_pem_slice(bytes)
        .map_err(|_| format!("unable to load SSL private key from PEM file '{path}'."))?;
    let provider = super::settings::provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("unable to load SSL private key from PEM file '{path}' : {e}."))?;
    let ecdsa = signing.algorithm() == rustls::SignatureAlgorithm::ECDSA;
    let names =
        names_of(leaf).map_err(|e| format!("unable to read the certificate in '{path}' : {e}."))?;
    let mut key = CertifiedKey::new(chain, signing);
    // Only a key that is not the certificate's is refused: a certificate
    // webpki cannot read (X.509 v1, as `openssl x509 -req` makes) is
    // served as haproxy serves it.
    let mismatch = rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch);
    if key.keys_match().is_err_and(|e| e == mismatch) {
        return Err(format!(
            "inconsistencies between private key and certificate loaded from PEM file '{path}'."
        ));
    }
    let (mut staple_expires, mut ignored_ocsp) = (None, None);
    match file
        .ocsp
        .as_deref()
        .map(|a| stapled(path, file, a))
        .transpose()?
    {
        Some(Staple::Until(answer, expires)) => {
            key.ocsp = Some(answer);
            staple_expires = Some(expires);
        }
        Some(Staple::Ignored(why)) => ignored_ocsp = Some(why),
        None => {}
    }
    Ok(Loaded {
        path: path.to_owned(),
        key: Arc::new(key),
        staple_expires,
        ignored_ocsp,
        names,
        excluded: Vec::new(),
        ecdsa,
        options: TlsOptions::default(),
    })
}

/// What becomes of the OCSP answer beside a certificate.
enum Staple {
    /// It is stapled until then (seconds since the epoch).
    Until(Vec<u8>, i64),
    /// haproxy would not take it, for this reason.
    Ignored(String),
}

/// The OCSP `answer` beside certificate file `file` (at `path`) as
/// haproxy takes it when it loads one: its certificate's ID must be
/// known (the issuer found in the chain or the `.issuer` file), else
/// the load fails; an answer that fails haproxy's checks or is about
/// another certificate is ignored (with a warning).
fn stapled(path: &str, file: &CertFile, answer: &[u8]) -> Result<Staple, String> {
    let Some(id) = super::ocsp::key_of(file) else {
        return Err(format!("'{path}.ocsp' is present and activates OCSP but it is impossible to compute the OCSP certificate ID (maybe the issuer could not be found)'."));
    };
    let checked = super::ocsp::checked(answer, crate::clock::unix_seconds());
    Ok(match checked {
        Ok(c) if c.id == id => Staple::Until(answer.to_vec(), c.expires),
        Ok(_) => Staple::Ignored(
            "OCSP single response: Certificate ID does not match certificate and issuer".into(),
        ),
        Err(why) => Staple::Ignored(why),
    })
}

/// The DNS names a certificate is for, lower case: its subject
/// alternative names, then its subject's common names (haproxy serves a
/// certificate for both).
pub(crate) fn names_of(cert: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, parsed) = X509Certificate::from_der(cert).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = match parsed.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let common_names = parsed
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_ascii_lowercase);
    for cn in common_names {
        if !names.contains(&cn) {
            names.push(cn);
        }
    }
    Ok(names)
}

/// What the `ssl_c_*` and `ssl_f_*` fetches read of certificate `cert`
/// (`None` when it cannot be read).
pub(crate) fn facts_of(cert: &CertificateDer<'_>) -> Option<CertFacts> {
    use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
    let (_, parsed) = X509Certificate::from_der(cert).ok()?;
    let entries = |name: &X509Name<'_>| -> Vec<(String, String)> {
        name.iter_attributes()
            .map(|a| {
                let oid = a.attr_type().to_id_string();
                let key = short_name(&oid).map_or(oid, str::to_owned);
                (key, a.as_str().unwrap_or_default().to_owned())
            })
            .collect()
    };
    let validity = parsed.validity();
    let algorithm = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        let oid = oid.to_id_string();
        algorithm_names(&oid).map_or(oid, |(short, _)| short.to_owned())
    };
    Some(CertFacts {
        subject: entries(parsed.subject()),
        issuer: entries(parsed.issuer()),
        serial: super::x509::magnitude(parsed.raw_serial()).to_vec(),
        not_before: asn1_time(&validity.not_before),
        not_after: asn1_time(&validity.not_after),
        der: cert.to_vec(),
        sig_alg: algorithm(&parsed.signature_algorithm.algorithm),
        key_alg: algorithm(&parsed.public_key().algorithm.algorithm),
        version: i64::from(parsed.version().0) + 1,
        chain_der: Vec::new(),
    })
}

/// What the fetches read of the certificate a peer presented with
/// `chain` (its own first); the chain they give keeps that certificate
/// when `own_in_chain` (a server's, as OpenSSL keeps it; a client's
/// chain goes without). `None` when it sent none.
pub(crate) fn peer_facts(chain: &[CertificateDer<'_>], own_in_chain: bool) -> Option<CertFacts> {
    let mut facts = facts_of(chain.first()?).unwrap_or_default();
    let kept = if own_in_chain { chain } else { &chain[1..] };
    facts.chain_der = kept.iter().flat_map(|c| c.as_ref()).copied().collect();
    Some(facts)
}

/// OpenSSL's short name of a distinguished name's attribute, by OID.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    })
}

/// A certificate time as it is written in it (`YYMMDDhhmmssZ`).
pub(crate) fn asn1_time(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        d.year() % 100,
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a certificate whose subject alternative names are `a.test`
    // and `b.test` and whose common name is `Www.C.Test`.
    // Output: it serves all three, lower case, SANs first (haproxy adds
    // the common name beside the SANs, not only without them).
    #[test]
    fn a_certificate_serves_its_alternative_names_and_its_common_name() {
        let mut params =
            rcgen::CertificateParams::new(vec!["a.test".into(), "b.test".into()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Www.C.Test");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("certificate");
        let names = names_of(cert.der()).expect("readable");
        assert_eq!(names, ["a.test", "b.test", "www.c.test"]);
    }

    // Input: a certificate signed by a CA, with an OCSP answer beside
    // it: good and about it; about another certificate; unreadable; and
    // the same certificate without its CA in the chain.
    // Output: the good answer is stapled until its nextUpdate less five
    // minutes; the others are ignored with haproxy's reason; without the
    // issuer, the load fails with haproxy's words.
    #[test]
    fn an_ocsp_answer_is_stapled_only_when_haproxy_would_take_it() {
        use super::super::ocsp::{certificate_id, fake};
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["a.test".into()])
            .expect("params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf");
        let id = certificate_id(leaf.der(), ca_cert.der()).expect("an ID");
        let alone = format!("{}{}", leaf.pem(), leaf_key.serialize_pem());
        let file = |pem: &str, ocsp: Vec<u8>| CertFile {
            pem: pem.as_bytes().to_vec(),
            ocsp: Some(ocsp),
            ..CertFile::default()
        };
        let chained = format!("{alone}{}", ca_cert.pem());
        let good = fake::response(&[fake::single(&id, false, "20350217085504Z")]);

        let loaded = from_pem("a.pem", &file(&chained, good.clone())).expect("loads");
        assert_eq!(loaded.key.ocsp.as_deref(), Some(&good[..]));
        assert_eq!(loaded.staple_expires, Some(2_055_315_304 - 300));
        assert_eq!(loaded.ignored_ocsp, None);

        let mut other = id.clone();
        *other.last_mut().expect("a serial") ^= 1;
        let elsewhere = fake::response(&[fake::single(&other, false, "20350217085504Z")]);
        let loaded = from_pem("a.pem", &file(&chained, elsewhere)).expect("loads");
        assert_eq!(loaded.key.ocsp, None);
        assert_eq!(loaded.staple_expires, None);
        assert_eq!(
            loaded.ignored_ocsp.as_deref(),
            Some("OCSP single response: Certificate ID does not match certificate and issuer")
        );

        let loaded = from_pem("a.pem", &file(&chained, b"junk".to_vec())).expect("loads");
        assert_eq!(loaded.key.ocsp, None);
        assert_eq!(
            loaded.ignored_ocsp.as_deref(),
            Some("Unable to parse OCSP response")
        );

        let refused = from_pem("a.pem", &file(&alone, good)).map(|_| ());
        assert_eq!(refused, Err("'a.pem.ocsp' is present and activates OCSP but it is impossible to compute the OCSP certificate ID (maybe the issuer could not be found)'.".into()));
    }
}
