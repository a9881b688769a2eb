//! `show ssl cert|ca-file|crl-file FILE`: a file in haproxy 2.6's words —
//! its status, then each certificate's serial, validity, names, key,
//! SHA-1 fingerprint, subject and issuer (and those of a chain), or each
//! revocation list's issuer, updates and revoked serials.

use std::fmt::Write as _;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

/// How a file's detail begins: its name (`*` before a transaction's)
/// and whether anything uses it.
pub(crate) fn heading(file: &str, status: Status, pending: bool) -> String {
    let star = if pending { "*" } else { "" };
    let status = match status {
        Status::Empty => "Empty",
        Status::Unused => "Unused",
        Status::Used => "Used",
    };
    format!("Filename: {star}{file}\nStatus: {status}\n")
}

/// A file's status in `show ssl cert|ca-file|crl-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Made by a `new` command, nothing set in it yet.
    Empty,
    Unused,
    Used,
}

/// The answer for certificate file `file` read as `pem` (its chain
/// first): `pending` when it is the open transaction's; `ocsp_key`, the
/// key of its OCSP answer, when its issuer is known.
pub(crate) fn show(
    file: &str,
    pem: &[u8],
    status: Status,
    pending: bool,
    ocsp_key: Option<&[u8]>,
) -> Result<String, String> {
    let mut out = heading(file, status, pending);
    if status == Status::Empty {
        return Ok(out);
    }
    let chain: Vec<Vec<u8>> = rustls::pki_types::pem::PemObject::pem_slice_iter(pem)
        .filter_map(|c: Result<rustls::pki_types::CertificateDer<'_>, _>| c.ok())
        .map(|c| c.as_ref().to_vec())
        .collect();
    let leaf = chain.first().ok_or("no certificate")?;
    out.push_str(&certificate(leaf)?);
    for der in &chain[1..] {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
        let (subject, issuer) = (dn(cert.subject()), dn(cert.issuer()));
        let _ = writeln!(out, "Chain Subject: {subject}\nChain Issuer: {issuer}");
    }
    let key: String = ocsp_key
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let _ = writeln!(out, "OCSP Response Key: {key}");
    Ok(out)
}

/// One certificate in detail: serial, validity, names, key, SHA-1
/// fingerprint, subject and issuer.
pub(crate) fn certificate(der: &[u8]) -> Result<String, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let validity = cert.validity();
    let serial = super::x509::magnitude(cert.raw_serial());
    let _ = writeln!(out, "Serial: {}", hex(serial));
    let _ = writeln!(out, "notBefore: {}", asn1_time(&validity.not_before));
    let _ = writeln!(out, "notAfter: {}", asn1_time(&validity.not_after));
    let _ = writeln!(out, "Subject Alternative Name: {}", names(&cert));
    let _ = writeln!(out, "Algorithm: {}", algorithm(&cert));
    let _ = writeln!(out, "SHA1 FingerPrint: {}", hex(sha1(der).as_ref()));
    let _ = writeln!(out, "Subject: {}", dn(cert.subject()));
    let _ = writeln!(out, "Issuer: {}", dn(cert.issuer()));
    Ok(out)
}

/// One revocation list in detail, as `openssl crl -text` words it:
/// version, signature algorithm, issuer, updates, revoked serials.
pub(crate) fn revocation_list(der: &[u8]) -> Result<String, String> {
    use x509_parser::prelude::CertificateRevocationList;
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let version = crl.version().map_or(1, |v| v.0 + 1);
    let _ = writeln!(out, "Version {version}");
    let algorithm = crl.signature_algorithm.algorithm.to_id_string();
    let long = super::x509::algorithm_names(&algorithm).map_or(algorithm.as_str(), |(_, l)| l);
    let _ = writeln!(out, "Signature Algorithm: {long}");
    let _ = writeln!(out, "Issuer: {}", dn(crl.issuer()));
    let _ = writeln!(out, "Last Update: {}", asn1_time(&crl.last_update()));
    let next = crl.next_update().map(|t| asn1_time(&t)).unwrap_or_default();
    let _ = writeln!(out, "Next Update: {next}");
    let mut revoked = crl.iter_revoked_certificates().peekable();
    match revoked.peek() {
        Some(_) => out.push_str("Revoked Certificates:\n"),
        None => out.push_str("No Revoked Certificates.\n"),
    }
    for entry in revoked {
        let serial = match super::x509::magnitude(entry.raw_serial()) {
            [] => "00".to_owned(),
            bytes => hex(bytes),
        };
        let date = asn1_time(&entry.revocation_date);
        let _ = write!(
            out,
            "    Serial Number: {serial}\n        Revocation Date: {date}\n"
        );
    }
    Ok(out)
}

/// Upper-case hexadecimal, as haproxy dumps binary.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The SHA-1 digest of `der`.
pub(crate) fn sha1(der: &[u8]) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
}

/// OpenSSL's `ASN1_TIME_print`: `Jan 17 23:02:38 2016 GMT`.
pub(crate) fn asn1_time(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    let month = haven_core::log::syslog::MONTHS[usize::from(u8::from(d.month())) - 1];
    format!(
        "{month} {:>2} {:02}:{:02}:{:02} {} GMT",
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.year()
    )
}

/// The subject alternative names, as OpenSSL prints them in one line.
fn names(cert: &X509Certificate<'_>) -> String {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return String::new();
    };
    let shown: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
            GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
            GeneralName::URI(u) => Some(format!("URI:{u}")),
            GeneralName::IPAddress(ip) => Some(format!("IP Address:{}", ip_text(ip))),
            _ => None,
        })
        .collect();
    shown.join(", ")
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => hex(bytes),
    }
}

/// The key's type and size: `RSA2048`, `EC256`.
fn algorithm(cert: &X509Certificate<'_>) -> String {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA{}", rsa.key_size()),
        Ok(PublicKey::EC(ec)) => format!("EC{}", ec.key_size()),
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        _ => "Unknown".to_owned(),
    }
}

/// A name in OpenSSL's one-line form: `/C=FR/O=HAProxy/CN=www.test1.com`.
fn dn(name: &X509Name<'_>) -> String {
    attributes(name)
        .iter()
        .map(|(short, value)| format!("/{short}={value}"))
        .collect()
}

/// A name as OpenSSL's `XN_FLAG_ONELINE` prints it: `C = FR, O = HAProxy`.
pub(crate) fn dn_spaced(name: &X509Name<'_>) -> String {
    let shown: Vec<String> = attributes(name)
        .iter()
        .map(|(short, value)| format!("{short} = {value}"))
        .collect();
    shown.join(", ")
}

/// A name's attributes in order, each by OpenSSL's short name.
fn attributes(name: &X509Name<'_>) -> Vec<(String, String)> {
    let registry = x509_parser::objects::oid_registry();
    let mut out = Vec::new();
    for rdn in name.iter() {
        for attr in rdn.iter() {
            let oid = attr.attr_type();
            let short = match oid.to_id_string().as_str() {
                "2.5.4.6" => "C",
                "2.5.4.8" => "ST",
                "2.5.4.7" => "L",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.3" => "CN",
                "0.9.2342.19200300.100.1.25" => "DC",
                "1.2.840.113549.1.9.1" => "emailAddress",
                _ => x509_parser::objects::oid2sn(oid, registry).unwrap_or("UNDEF"),
            };
            let value = attr
                .as_str()
                .map_or_else(|_| hex(attr.attr_value().data), str::to_owned);
            out.push((short.to_owned(), value));
        }
    }
    out
}
