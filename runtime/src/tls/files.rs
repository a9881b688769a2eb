//! What TLS reads from files — certificates with their chain, key and
//! OCSP answer, crt-lists and the folders `crt` names, CA and CRL files —
//! read once, at start. Handshakes are made from these copies and the
//! runtime API edits them, as haproxy's stores are: after start nothing
//! is read from the disk again.

use haven_core::config::haproxy::{
    parse_crt_list, BindTls, CertSource, CrtListLine, ServerTls, TlsOptions,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::collections::BTreeMap;

/// A certificate file as read.
#[derive(Debug, Clone, Default)]
pub(crate) struct CertFile {
    /// Its PEM: the chain, and the key (from its companion file when not
    /// in the file). Empty when `new ssl cert` made it and nothing was
    /// set yet.
    pub(crate) pem: Vec<u8>,
    /// The stapled OCSP answer, from its `.ocsp` companion.
    pub(crate) ocsp: Option<Vec<u8>>,
    /// Its issuer's certificate (DER), from its `.issuer` companion: the
    /// OCSP answer's key when the chain does not hold the issuer.
    pub(crate) issuer: Option<Vec<u8>>,
}

/// A crt-list, or a folder `crt` names (haproxy keeps both as lists).
#[derive(Debug, Clone)]
pub(crate) struct CrtList {
    /// Its lines, in order.
    pub(crate) lines: Vec<CrtListLine>,
    /// A folder: its files in name order, without settings or filters.
    pub(crate) folder: bool,
    /// The last line number given; a line added at run time takes the
    /// next.
    pub(crate) last_line: u32,
}

/// Every file TLS uses, by path as the config (or the runtime API)
/// names it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Files {
    pub(crate) certs: BTreeMap<String, CertFile>,
    pub(crate) lists: BTreeMap<String, CrtList>,
    /// CA files: their certificates in file order (none: made by `new
    /// ssl ca-file`).
    pub(crate) cas: BTreeMap<String, Vec<CertificateDer<'static>>>,
    /// CRL files: their revocation lists in file order.
    pub(crate) crls: BTreeMap<String, Vec<CertificateRevocationListDer<'static>>>,
    /// `ca-sign-file` files: the PEM of the CA (certificate and key)
    /// that signs the certificates `generate-certificates` makes.
    pub(crate) signing: BTreeMap<String, Vec<u8>>,
}

impl Files {
    /// Reads what the `bind` line `tls` names: why it cannot, in
    /// haproxy's words, if so.
    pub(crate) fn read_bind(&mut self, tls: &BindTls) -> Result<(), String> {
        let companions = Companions::on_disk(tls.extra_del_ext);
        self.read_trust(&tls.options)?;
        if let (true, Some(path)) = (tls.generate_certificates, &tls.ca_sign_file) {
            if !self.signing.contains_key(path) {
                let pem = std::fs::read(path)
                    .map_err(|_| format!("failed to read CA certificate file '{path}'."))?;
                self.signing.insert(path.clone(), pem);
            }
        }
        for source in &tls.certificates {
            match source {
                CertSource::Crt(path) => self.read_crt(path, companions)?,
                CertSource::CrtList(path) => {
                    if self.lists.contains_key(path) {
                        continue;
                    }
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("unable to load crt-list file '{path}' : {e}."))?;
                    let (crt_base, ca_base) = &tls.bases;
                    let lines = parse_crt_list(&text, (crt_base.as_deref(), ca_base.as_deref()))
                        .map_err(|(n, e)| format!("crt-list file '{path}', line {n} : {e}."))?;
                    for line in &lines {
                        let at =
                            |e: String| format!("crt-list file '{path}', line {} : {e}", line.line);
                        stat(&line.path).map_err(at)?;
                        self.read_cert(&line.path, companions).map_err(at)?;
                        self.read_trust(&line.options).map_err(at)?;
                    }
                    let last_line = text.lines().count() as u32;
                    let list = CrtList {
                        lines,
                        folder: false,
                        last_line,
                    };
                    self.lists.insert(path.clone(), list);
                }
            }
        }
        Ok(())
    }

    /// Reads what the `server` line `tls` names: its certificate, CA and
    /// CRL files.
    pub(crate) fn read_server(&mut self, tls: &ServerTls) -> Result<(), String> {
        if let Some(path) = &tls.crt {
            self.read_cert(path, Companions::on_disk(tls.extra_del_ext))?;
        }
        self.read_trust(&tls.options)
    }

    /// Reads the CA and CRL files settings `o` name.
    pub(crate) fn read_trust(&mut self, o: &TlsOptions) -> Result<(), String> {
        for ca in [&o.ca_file, &o.ca_verify_file].into_iter().flatten() {
            if !self.cas.contains_key(ca) {
                let read = std::fs::read(ca)
                    .map_err(|e| format!("unable to load CA file '{ca}' : {}.", io_reason(&e)))?;
                let certificates = ca_certificates(&read)
                    .map_err(|e| format!("unable to load CA file '{ca}' : {e}."))?;
                self.cas.insert(ca.clone(), certificates);
            }
        }
        if let Some(path) = &o.crl_file {
            if !self.crls.contains_key(path) {
                let read = std::fs::read(path).map_err(|e| {
                    format!("unable to load CRL file '{path}' : {}.", io_reason(&e))
                })?;
                let lists = revocation_lists(&read)
                    .map_err(|e| format!("unable to load CRL file '{path}' : {e}."))?;
                self.crls.insert(path.clone(), lists);
            }
        }
        Ok(())
    }

    /// Reads `path`: a certificate file, or a folder of them (kept as a
    /// list of its files).
    fn read_crt(&mut self, path: &str, companions: Companions) -> Result<(), String> {
        if self.certs.contains_key(path) || self.lists.contains_key(path) {
            return Ok(());
        }
        if !stat(path)?.is_dir() {
            return self.read_cert(path, companions);
        }
        let mut files: Vec<String> = std::fs::read_dir(path)
            .map_err(|e| format!("unable to scan directory '{path}' : {}.", io_reason(&e)))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .map(|e| e.path().to_string_lossy().into_owned())
            .filter(|p| {
                let companion = [".key", ".ocsp", ".issuer", ".sctl"];
                !companion.iter().any(|ext| p.ends_with(ext))
            })
            .collect();
        files.sort();
        let mut lines = Vec::new();
        for file in files {
            self.read_cert(&file, companions)?;
            lines.push(CrtListLine {
                line: 0,
                path: file,
                options: TlsOptions::default(),
                filters: Vec::new(),
                early_data: false,
            });
        }
        let list = CrtList {
            lines,
            folder: true,
            last_line: 0,
        };
        self.lists.insert(path.to_owned(), list);
        Ok(())
    }

    /// Reads the certificate file `path`, its key (when not in it) and
    /// OCSP answer from its `companions`.
    fn read_cert(&mut self, path: &str, companions: Companions) -> Result<(), String> {
        if self.certs.contains_key(path) {
            return Ok(());
        }
        let mut pem = std::fs::read(path).map_err(|e| {
            format!(
                "unable to load SSL certificate from PEM file '{path}' : {}.",
                io_reason(&e)
            )
        })?;
        if PrivateKeyDer::from_pem_slice(&pem).is_err() {
            let key = companions
                .of(path, "key")
                .and_then(|f| std::fs::read(f).ok());
            if let Some(key) = key {
                pem.push(b'\n');
                pem.extend(key);
            }
        }
        let companion = |ext: &str| companions.of(path, ext).and_then(|f| std::fs::read(f).ok());
        let issuer = companion("issuer").and_then(|pem| {
            let first = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
            Some(first.to_vec())
        });
        let file = CertFile {
            pem,
            ocsp: companion("ocsp"),
            issuer,
        };
        self.certs.insert(path.to_owned(), file);
        Ok(())
    }
}

/// The certificates of a CA file's `pem`, each readable.
pub(crate) fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let read: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for certificate in &read {
        X509Certificate::from_der(certificate).map_err(|e| e.to_string())?;
    }
    Ok(read)
}

/// The revocation lists of a CRL file's `pem`, each readable.
pub(crate) fn revocation_lists(
    pem: &[u8],
) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    use x509_parser::prelude::{CertificateRevocationList, FromDer};
    let read: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    for list in &read {
        CertificateRevocationList::from_der(list).map_err(|e| e.to_string())?;
    }
    Ok(read)
}

/// Where a certificate file's key and OCSP answer are read from when
/// the file holds no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Companions {
    /// Beside it, an extension added: `site.pem.key`, `site.pem.ocsp`.
    Beside,
    /// Beside it, a `.crt` extension replaced: `site.key` for
    /// `site.crt` (`ssl-load-extra-del-ext`).
    InPlaceOfCrt,
}

impl Companions {
    /// The companion of certificate file `path` with extension `ext`.
    fn of(self, path: &str, ext: &str) -> Option<String> {
        match self {
            Self::InPlaceOfCrt if path.ends_with(".crt") => {
                Some(format!("{}.{ext}", &path[..path.len() - 4]))
            }
            Self::Beside | Self::InPlaceOfCrt => Some(format!("{path}.{ext}")),
        }
    }

    /// Those of files on disk, under `ssl-load-extra-del-ext` when
    /// `del_ext`.
    pub(crate) fn on_disk(del_ext: bool) -> Self {
        match del_ext {
            true => Self::InPlaceOfCrt,
            false => Self::Beside,
        }
    }
}

/// What the file system says of `path`, or haproxy's words when it
/// cannot be found.
fn stat(path: &str) -> Result<std::fs::Metadata, String> {
    std::fs::metadata(path).map_err(|e| {
        format!(
            "unable to stat SSL certificate from file '{path}' : {}.",
            io_reason(&e)
        )
    })
}

/// An I/O error as C's `strerror` words it.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: the key's and OCSP answer's files of `site.crt` and
    // `site.pem`, each way companions are found.
    // Output: an extension added by default; under
    // `ssl-load-extra-del-ext` a `.crt` one replaced (only `.crt`).
    #[test]
    fn companions_are_named_as_haproxy_names_them() {
        let of = |c: Companions, path: &str, ext: &str| c.of(path, ext);
        assert_eq!(
            of(Companions::Beside, "/a/site.crt", "key").as_deref(),
            Some("/a/site.crt.key")
        );
        let del_ext = Companions::on_disk(true);
        assert_eq!(
            of(del_ext, "/a/site.crt", "key").as_deref(),
            Some("/a/site.key")
        );
        assert_eq!(
            of(del_ext, "/a/site.crt", "ocsp").as_deref(),
            Some("/a/site.ocsp")
        );
        assert_eq!(
            of(del_ext, "/a/site.pem", "key").as_deref(),
            Some("/a/site.pem.key")
        );
    }

    // Input: a folder with two certificates (one with its key beside
    // it), a companion file, and a crt-list naming one of them twice.
    // Output: each certificate read once, its key joined to its PEM; the
    // folder kept as a list of its files in name order; the crt-list's
    // lines kept with their numbers.
    #[test]
    fn a_folder_and_a_crt_list_are_read_into_lists() {
        let dir = tempfile::tempdir().expect("dir");
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).expect("certs dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["a.test".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let both = format!("{}{}", cert.pem(), key.serialize_pem());
        std::fs::write(certs.join("b.pem"), &both).expect("b");
        std::fs::write(certs.join("a.pem"), cert.pem()).expect("a");
        std::fs::write(certs.join("a.pem.key"), key.serialize_pem()).expect("a key");
        let list = dir.path().join("list");
        let b = certs.join("b.pem").to_string_lossy().into_owned();
        std::fs::write(&list, format!("{b} x.test\n\n{b} [verify none]\n")).expect("list");
        let (certs, list) = (
            certs.to_string_lossy().into_owned(),
            list.to_string_lossy().into_owned(),
        );
        let tls = BindTls {
            certificates: vec![
                CertSource::Crt(certs.clone()),
                CertSource::CrtList(list.clone()),
            ],
            ..BindTls::default()
        };
        let mut files = Files::default();
        files.read_bind(&tls).expect("read");
        assert_eq!(files.certs.len(), 2);
        let a = &files.certs[&format!("{certs}/a.pem")];
        assert!(PrivateKeyDer::from_pem_slice(&a.pem).is_ok(), "key joined");
        let folder = &files.lists[&certs];
        assert!(folder.folder);
        let names: Vec<&str> = folder.lines.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(names, [format!("{certs}/a.pem"), format!("{certs}/b.pem")]);
        let read = &files.lists[&list];
        let numbers: Vec<u32> = read.lines.iter().map(|l| l.line).collect();
        assert_eq!((numbers, read.last_line), (vec![1, 3], 3));
    }
}
