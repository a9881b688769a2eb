//! OCSP responses as haproxy 2.6 handles the ones it staples: the
//! certificate ID that keys each (its certificate's serial and issuer,
//! hashed with SHA-1), the checks a new response must pass (`set ssl
//! ocsp-response`), and the response printed as OpenSSL prints it (`show
//! ssl ocsp-response`). Read from DER by hand: RFC 6960's structures are
//! few and x509-parser has none of them.

use super::detail::{asn1_time, dn_spaced, hex, sha1};
use super::files::CertFile;
use super::x509::{der, element, raw_element};
use rustls::pki_types::CertificateDer;
use std::fmt::Write as _;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::time::ASN1Time;

/// DER tags met in a response.
mod tag {
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const BIT_STRING: u8 = 0x03;
    pub(super) const OCTET_STRING: u8 = 0x04;
    pub(super) const OID: u8 = 0x06;
    pub(super) const ENUMERATED: u8 = 0x0a;
    pub(super) const SEQUENCE: u8 = 0x30;
}

/// `id-pkix-ocsp-basic`, the one response type there is.
const BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
/// `id-pkix-ocsp-nonce`.
const NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
/// SHA-1's `AlgorithmIdentifier`, as OpenSSL writes it in a certificate ID.
const SHA1_ALGORITHM: &[u8] = &[
    0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
];

/// What a certificate's status is, as the responder says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status<'a> {
    Good,
    /// Revoked at that time (DER), for that reason (a CRL reason code).
    Revoked(&'a [u8], Option<u8>),
    Unknown,
}

/// The one single response haproxy takes from a basic response.
#[derive(Debug)]
struct Single<'a> {
    /// The certificate ID, as DER: what keys the response.
    id: &'a [u8],
    status: Status<'a>,
    this_update: &'a [u8],
    next_update: Option<&'a [u8]>,
}

/// An OCSP response, read.
#[derive(Debug)]
struct Response<'a> {
    /// `responseStatus`: 0 is successful.
    status: u8,
    /// The basic response, when the status is successful.
    basic: Option<Basic<'a>>,
}

/// A basic OCSP response.
#[derive(Debug)]
struct Basic<'a> {
    version: u8,
    /// `byName` (a name's DER) or `byKey` (a key hash).
    responder: Result<&'a [u8], &'a [u8]>,
    produced_at: &'a [u8],
    responses: Vec<Single<'a>>,
    /// The response's extensions' DER (a SEQUENCE of them).
    extensions: Option<&'a [u8]>,
    signature_algorithm: String,
    signature: &'a [u8],
    certificates: Vec<&'a [u8]>,
}

/// Reads element `want` at the start of `input`: its contents and what
/// follows.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = element(input)?;
    (tag == want).then_some((contents, rest))
}

/// Reads an OCSP response from `der`.
fn read(der: &[u8]) -> Option<Response<'_>> {
    let (outer, _) = expect(der, tag::SEQUENCE)?;
    let (status, rest) = expect(outer, tag::ENUMERATED)?;
    let status = *status.last()?;
    if rest.is_empty() {
        return Some(Response {
            status,
            basic: None,
        });
    }
    let (bytes, _) = expect(rest, 0xa0)?;
    let (bytes, _) = expect(bytes, tag::SEQUENCE)?;
    let (kind, rest) = expect(bytes, tag::OID)?;
    if kind != BASIC {
        return None;
    }
    let (basic, _) = expect(rest, tag::OCTET_STRING)?;
    Some(Response {
        status,
        basic: Some(read_basic(basic)?),
    })
}

/// Reads a `BasicOCSPResponse`.
fn read_basic(der: &[u8]) -> Option<Basic<'_>> {
    let (basic, _) = expect(der, tag::SEQUENCE)?;
    let (data, rest) = expect(basic, tag::SEQUENCE)?;
    let (algorithm, rest) = expect(rest, tag::SEQUENCE)?;
    let (oid, _) = expect(algorithm, tag::OID)?;
    let (signature, rest) = expect(rest, tag::BIT_STRING)?;
    let mut certificates = Vec::new();
    if let Some((listed, _)) = expect(rest, 0xa0) {
        let (mut listed, _) = expect(listed, tag::SEQUENCE)?;
        while !listed.is_empty() {
            let (raw, rest) = raw_element(listed)?;
            certificates.push(raw);
            listed = rest;
        }
    }
    let (mut version, mut data) = (0, data);
    if let Some((explicit, rest)) = expect(data, 0xa0) {
        let (number, _) = expect(explicit, tag::INTEGER)?;
        version = *number.last()?;
        data = rest;
    }
    let (responder_tag, responder, rest) = element(data)?;
    let responder = match responder_tag {
        0xa1 => Ok(raw_element(responder)?.0),
        0xa2 => Err(expect(responder, tag::OCTET_STRING)?.0),
        _ => return None,
    };
    let (produced_at, rest) = raw_element(rest)?;
    let (mut listed, rest) = expect(rest, tag::SEQUENCE)?;
    let mut responses = Vec::new();
    while !listed.is_empty() {
        let (single, after) = expect(listed, tag::SEQUENCE)?;
        responses.push(read_single(single)?);
        listed = after;
    }
    let extensions = expect(rest, 0xa1).map(|(explicit, _)| explicit);
    Some(Basic {
        version,
        responder,
        produced_at,
        responses,
        extensions,
        signature_algorithm: oid_text(oid),
        signature: signature.get(1..)?,
        certificates,
    })
}

/// Reads a `SingleResponse`'s contents.
fn read_single(der: &[u8]) -> Option<Single<'_>> {
    let (id, rest) = raw_element(der)?;
    let (status_tag, status, rest) = element(rest)?;
    let status = match status_tag {
        0x80 => Status::Good,
        0xa1 => {
            let (time, rest) = raw_element(status)?;
            let reason = expect(rest, 0xa0)
                .and_then(|(explicit, _)| expect(explicit, tag::ENUMERATED))
                .and_then(|(code, _)| code.last().copied());
            Status::Revoked(time, reason)
        }
        _ => Status::Unknown,
    };
    let (this_update, rest) = raw_element(rest)?;
    let next_update = expect(rest, 0xa0).and_then(|(explicit, _)| Some(raw_element(explicit)?.0));
    Some(Single {
        id,
        status,
        this_update,
        next_update,
    })
}

/// The certificate ID haproxy keys the OCSP response of certificate
/// `cert`, issued by `issuer`, by: SHA-1 of the issuer's name and key,
/// and the serial (OpenSSL's `OCSP_cert_to_id`, as DER).
pub(crate) fn certificate_id(cert: &[u8], issuer: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(cert).ok()?;
    let (_, issuer) = X509Certificate::from_der(issuer).ok()?;
    let name_hash = sha1(issuer.subject().as_raw());
    let key_hash = sha1(&issuer.public_key().subject_public_key.data);
    Some(der(
        tag::SEQUENCE,
        &[
            SHA1_ALGORITHM,
            &der(tag::OCTET_STRING, &[name_hash.as_ref()]),
            &der(tag::OCTET_STRING, &[key_hash.as_ref()]),
            &der(tag::INTEGER, &[cert.raw_serial()]),
        ],
    ))
}

/// The key of certificate file `file`'s OCSP answer: its certificate's
/// ID, the issuer found in its chain, else in its `.issuer` companion.
pub(crate) fn key_of(file: &CertFile) -> Option<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    let chain: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(&file.pem)
        .filter_map(Result::ok)
        .collect();
    let leaf = chain.first()?;
    let issuer = chain[1..]
        .iter()
        .map(|c| c.as_ref())
        .find(|c| issued(c, leaf))
        .or(file.issuer.as_deref())?;
    certificate_id(leaf, issuer)
}

/// Whether `issuer` issued `cert` (its subject is the certificate's
/// issuer, and its key signed it).
pub(crate) fn issued(issuer: &[u8], cert: &[u8]) -> bool {
    let read = |der| X509Certificate::from_der(der).ok().map(|(_, c)| c);
    let (Some(issuer), Some(parsed)) = (read(issuer), read(cert)) else {
        return false;
    };
    issuer.subject().as_raw() == parsed.issuer().as_raw()
        && super::x509::signed_by(cert, issuer.public_key().raw)
}

/// The time skew haproxy allows an OCSP response, in seconds.
const SKEW: i64 = 300;

/// An OCSP response haproxy takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Its single response's certificate ID (DER): what keys it.
    pub(crate) id: Vec<u8>,
    /// When it is no longer stapled: its `nextUpdate` less the skew, in
    /// seconds since the epoch.
    pub(crate) expires: i64,
}

/// OCSP response `der` as haproxy takes it (its one single response's
/// certificate ID and when it expires), or why haproxy would not take
/// it, in its words; `now` in seconds since the epoch.
pub(crate) fn checked(der: &[u8], now: i64) -> Result<Checked, String> {
    let response = read(der).ok_or("Unable to parse OCSP response")?;
    if response.status != 0 {
        return Err("OCSP response status not successful".into());
    }
    let basic = response
        .basic
        .ok_or("Failed to get basic response from OCSP Response")?;
    let single = match basic.responses.as_slice() {
        [one] => one,
        many => {
            return Err(format!(
                "OCSP response ignored because contains multiple single responses ({})",
                many.len()
            ))
        }
    };
    if single.status == Status::Unknown {
        return Err("OCSP single response: certificate status is unknown".into());
    }
    let next = single
        .next_update
        .ok_or("OCSP single response: missing nextupdate")?;
    // OpenSSL's check, with haproxy's five minutes of skew.
    let seconds = |t: &[u8]| ASN1Time::from_der(t).ok().map(|(_, t)| t.timestamp());
    let (this, next) = (seconds(single.this_update), seconds(next));
    let valid = match (this, next) {
        (Some(this), Some(next)) => this <= now + SKEW && next >= now - SKEW && next >= this,
        _ => false,
    };
    match (valid, next) {
        (true, Some(next)) => Ok(Checked {
            id: single.id.to_vec(),
            expires: next - SKEW,
        }),
        _ => Err("OCSP single response: no longer valid.".into()),
    }
}

/// `show ssl ocsp-response`'s lines for the response keyed by `id` (a
/// certificate ID's DER).
pub(crate) fn show_id(id: &[u8]) -> String {
    let key: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = format!("Certificate ID key : {key}\n");
    if let Some(text) = certificate_id_text(id, 1, false) {
        out.push_str(&text);
    }
    out
}

/// A certificate ID as OpenSSL prints it, `indent` spaces in, with its
/// hash algorithm when `algorithm`.
fn certificate_id_text(id: &[u8], indent: usize, algorithm: bool) -> Option<String> {
    let (contents, _) = expect(id, tag::SEQUENCE)?;
    let (hash, rest) = expect(contents, tag::SEQUENCE)?;
    let (hash_oid, _) = expect(hash, tag::OID)?;
    let (name_hash, rest) = expect(rest, tag::OCTET_STRING)?;
    let (key_hash, rest) = expect(rest, tag::OCTET_STRING)?;
    let (serial, _) = expect(rest, tag::INTEGER)?;
    let (pad, inner) = (" ".repeat(indent), " ".repeat(indent + 2));
    let mut out = format!("{pad}Certificate ID:\n");
    if algorithm {
        let _ = writeln!(out, "{inner}Hash Algorithm: {}", oid_text(hash_oid));
    }
    let _ = writeln!(out, "{inner}Issuer Name Hash: {}", hex(name_hash));
    let _ = writeln!(out, "{inner}Issuer Key Hash: {}", hex(key_hash));
    let serial = super::x509::magnitude(serial);
    let _ = writeln!(out, "{inner}Serial Number: {}", hex(serial));
    Some(out)
}

/// OCSP response `der` as OpenSSL's `OCSP_RESPONSE_print` writes it,
/// each empty line given a space, as haproxy does; the responder's
/// certificates are given as PEM only, not decoded.
pub(crate) fn print(der: &[u8]) -> String {
    let Some(response) = read(der) else {
        return "Unable to parse OCSP response".into();
    };
    let mut out = String::from("OCSP Response Data:\n");
    let status = match response.status {
        0 => "successful",
        1 => "malformedrequest",
        2 => "internalerror",
        3 => "trylater",
        5 => "sigrequired",
        6 => "unauthorized",
        _ => "(UNKNOWN)",
    };
    let code = response.status;
    let _ = writeln!(out, "    OCSP Response Status: {status} ({code:#x})");
    let Some(basic) = response.basic else {
        return out;
    };
    out.push_str("    Response Type: Basic OCSP Response\n");
    let version = basic.version;
    let _ = writeln!(out, "    Version: {} ({version:#x})", version + 1);
    let responder = match basic.responder {
        Ok(name) => X509Name::from_der(name).map_or_else(|_| hex(name), |(_, n)| dn_spaced(&n)),
        Err(key) => hex(key),
    };
    let _ = writeln!(out, "    Responder Id: {responder}");
    let _ = writeln!(out, "    Produced At: {}", time(basic.produced_at));
    out.push_str("    Responses:\n");
    for single in &basic.responses {
        out.push_str(&certificate_id_text(single.id, 4, true).unwrap_or_default());
        match single.status {
            Status::Good => out.push_str("    Cert Status: good\n"),
            Status::Unknown => out.push_str("    Cert Status: unknown\n"),
            Status::Revoked(at, reason) => {
                out.push_str("    Cert Status: revoked\n");
                let _ = writeln!(out, "    Revocation Time: {}", time(at));
                if let Some(reason) = reason {
                    let _ = writeln!(
                        out,
                        "    Revocation Reason: {} ({reason:#x})",
                        reason_text(reason)
                    );
                }
            }
        }
        let _ = writeln!(out, "    This Update: {}", time(single.this_update));
        if let Some(next) = single.next_update {
            let _ = writeln!(out, "    Next Update: {}", time(next));
        }
        out.push('\n');
    }
    if let Some(extensions) = basic.extensions {
        out.push_str(&extensions_text(extensions));
    }
    let _ = writeln!(
        out,
        "    Signature Algorithm: {}",
        basic.signature_algorithm
    );
    out.push_str("    Signature Value:\n");
    for (i, chunk) in basic.signature.chunks(18).enumerate() {
        let last = (i + 1) * 18 >= basic.signature.len();
        let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(
            out,
            "        {}{}",
            bytes.join(":"),
            if last { "" } else { ":" }
        );
    }
    for certificate in &basic.certificates {
        out.push_str(&pem(certificate));
    }
    out.replace("\n\n", "\n \n")
}

/// A response's extensions as OpenSSL prints them: the nonce by name,
/// any other by its OID, each value in hexadecimal.
fn extensions_text(der: &[u8]) -> String {
    let mut out = String::from("    Response Extensions:\n");
    let Some((mut listed, _)) = expect(der, tag::SEQUENCE) else {
        return out;
    };
    while let Some((extension, rest)) = expect(listed, tag::SEQUENCE) {
        listed = rest;
        let Some((oid, rest)) = expect(extension, tag::OID) else {
            continue;
        };
        let value = expect(rest, tag::OCTET_STRING)
            .or_else(|| expect(element(rest)?.2, tag::OCTET_STRING))
            .map_or_else(String::new, |(v, _)| hex(v));
        let name = match oid {
            NONCE => "OCSP Nonce".to_owned(),
            other => oid_text(other),
        };
        let _ = write!(out, "        {name}: \n            {value}\n");
    }
    out
}

/// A DER time as OpenSSL prints it.
fn time(der: &[u8]) -> String {
    ASN1Time::from_der(der).map_or_else(|_| "Bad time value".into(), |(_, t)| asn1_time(&t))
}

/// An OID's name, as OpenSSL gives it: its long name when haven knows
/// it, else its dotted form.
fn oid_text(oid: &[u8]) -> String {
    let dotted = x509_parser::der_parser::oid::Oid::new(oid.into()).to_id_string();
    match dotted.as_str() {
        "1.3.14.3.2.26" => "sha1".into(),
        "2.16.840.1.101.3.4.2.1" => "sha256".into(),
        other => {
            super::x509::algorithm_names(other).map_or(dotted.clone(), |(_, long)| long.to_owned())
        }
    }
}

/// A CRL reason code's name, as OpenSSL words it.
fn reason_text(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "(UNKNOWN)",
    }
}

/// Certificate `der` as PEM.
fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// `set ssl ocsp-response`'s payload, base64 over any number of lines,
/// decoded.
pub(crate) fn from_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let joined: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    base64::engine::general_purpose::STANDARD
        .decode(joined.trim())
        .ok()
}

#[cfg(test)]
/// OCSP responses made for tests.
pub(crate) mod fake {
    use super::{der, tag, BASIC};

    /// A GeneralizedTime.
    fn at(text: &str) -> Vec<u8> {
        der(0x18, &[text.as_bytes()])
    }

    /// A successful basic response with `singles`, by a responder
    /// named by key hash, signed with junk (nothing checks it here).
    pub(crate) fn response(singles: &[Vec<u8>]) -> Vec<u8> {
        let data = der(
            tag::SEQUENCE,
            &[
                &der(0xa2, &[&der(tag::OCTET_STRING, &[&[0xab; 20]])]),
                &at("20210610085504Z"),
                &der(
                    tag::SEQUENCE,
                    &singles.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                ),
            ],
        );
        let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        let algorithm = der(tag::SEQUENCE, &[&der(tag::OID, &[&sha256_rsa])]);
        let basic = der(
            tag::SEQUENCE,
            &[
                &data,
                &algorithm,
                &der(tag::BIT_STRING, &[&[0], &[0x5a; 20]]),
            ],
        );
        let bytes = der(
            tag::SEQUENCE,
            &[&der(tag::OID, &[BASIC]), &der(tag::OCTET_STRING, &[&basic])],
        );
        der(
            tag::SEQUENCE,
            &[&der(tag::ENUMERATED, &[&[0]]), &der(0xa0, &[&bytes])],
        )
    }

    /// A single response about certificate `id`: good, or revoked.
    pub(crate) fn single(id: &[u8], revoked: bool, next: &str) -> Vec<u8> {
        let status = match revoked {
            false => vec![0x80, 0x00],
            true => der(0xa1, &[&at("20210610085736Z")]),
        };
        der(
            tag::SEQUENCE,
            &[
                id,
                &status,
                &at("20210610085504Z"),
                &der(0xa0, &[&at(next)]),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{response, single};
    use super::*;

    // Input: a CA and a certificate it signed; OCSP answers about it:
    // good, revoked, expired, and one with two single responses.
    // Output: the key is the certificate's ID, as OpenSSL builds it from
    // the certificate and its issuer; a good or revoked answer passes
    // haproxy's checks and is printed as OpenSSL prints it; the others
    // are refused in haproxy's words.
    #[test]
    fn answers_are_keyed_checked_and_printed_as_haproxy_does() {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "CA");
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let mut leaf = rcgen::CertificateParams::new(vec!["a.test".into()]).expect("params");
        leaf.serial_number = Some(rcgen::SerialNumber::from(vec![0x10, 0x0f]));
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
        assert!(issued(ca_cert.der(), leaf.der()));
        assert!(!issued(leaf.der(), ca_cert.der()));
        let id = certificate_id(leaf.der(), ca_cert.der()).expect("an ID");
        assert_eq!(
            &id[..13],
            &[0x30, 0x3b, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00]
        );
        assert!(id.ends_with(&[0x02, 0x02, 0x10, 0x0f]), "{id:02x?}");
        let file = CertFile {
            pem: format!("{}{}", leaf.pem(), ca_cert.pem()).into_bytes(),
            ..CertFile::default()
        };
        assert_eq!(
            key_of(&file),
            Some(id.clone()),
            "the issuer found in the chain"
        );

        let now = 1_700_000_000;
        let good = response(&[single(&id, false, "20350217085504Z")]);
        let taken = Checked {
            id: id.clone(),
            // Its nextUpdate less haproxy's five minutes.
            expires: 2055315304 - 300,
        };
        assert_eq!(checked(&good, now), Ok(taken));
        let printed = print(&good);
        assert!(printed.starts_with("OCSP Response Data:\n    OCSP Response Status: successful (0x0)\n    Response Type: Basic OCSP Response\n    Version: 1 (0x0)\n    Responder Id: ABABABAB"), "{printed}");
        assert!(
            printed.contains("      Hash Algorithm: sha1\n"),
            "{printed}"
        );
        assert!(printed.contains("      Serial Number: 100F\n    Cert Status: good\n    This Update: Jun 10 08:55:04 2021 GMT\n    Next Update: Feb 17 08:55:04 2035 GMT\n \n"), "{printed}");
        assert!(printed.ends_with("    Signature Algorithm: sha256WithRSAEncryption\n    Signature Value:\n        5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:5a:\n        5a:5a\n"), "{printed}");
        let revoked = response(&[single(&id, true, "20350217085504Z")]);
        assert_eq!(checked(&revoked, now).map(|c| c.id), Ok(id.clone()));
        assert!(print(&revoked)
            .contains("    Cert Status: revoked\n    Revocation Time: Jun 10 08:57:36 2021 GMT\n"));
        let expired = response(&[single(&id, false, "20220101000000Z")]);
        assert_eq!(
            checked(&expired, now),
            Err("OCSP single response: no longer valid.".into())
        );
        let two = response(&[
            single(&id, false, "20350217085504Z"),
            single(&id, false, "20350217085504Z"),
        ]);
        assert_eq!(
            checked(&two, now),
            Err("OCSP response ignored because contains multiple single responses (2)".into())
        );
        assert_eq!(
            checked(b"junk", now),
            Err("Unable to parse OCSP response".into())
        );
        assert_eq!(show_id(&id).lines().nth(1), Some(" Certificate ID:"));
    }
}
