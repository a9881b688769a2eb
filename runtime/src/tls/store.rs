//! The runtime API's certificate commands, as haproxy 2.6 answers them:
//! `show ssl cert`, and a certificate replaced without a reload by `set
//! ssl cert FILE <<` (its PEM with the key as payload), then `commit ssl
//! cert FILE` (or `abort ssl cert FILE`). Connections already open keep
//! the certificate they shook hands with.

use super::load::{from_pem, Companions, Replaced};
use super::TlsListener;
use std::sync::Arc;

/// Every TLS listener of the process, what replaced their files, and the
/// one transaction open.
#[derive(Debug, Default)]
pub(crate) struct CertStore {
    listeners: Vec<Arc<TlsListener>>,
    replaced: Replaced,
    /// The file being replaced and its new contents.
    transaction: Option<(String, Vec<u8>)>,
}

impl CertStore {
    /// The store of `listeners`.
    pub(crate) fn new(listeners: Vec<Arc<TlsListener>>) -> Self {
        Self {
            listeners,
            ..Self::default()
        }
    }

    /// `show ssl cert`: the transaction's file, then every certificate
    /// file in use, in name order.
    pub(crate) fn show(&self) -> String {
        let mut out = String::new();
        if let Some((file, _)) = &self.transaction {
            out.push_str(&format!("# transaction\n*{file}\n"));
        }
        out.push_str("# filename\n");
        let mut files: Vec<String> = self.listeners.iter().flat_map(|l| l.files()).collect();
        files.sort();
        files.dedup();
        for file in files {
            out.push_str(&file);
            out.push('\n');
        }
        out
    }

    /// `show ssl cert FILE`: the file's certificate in detail; `*FILE`,
    /// the open transaction's.
    pub(crate) fn detail(&self, file: &str) -> String {
        const NOT_FOUND: &str =
            "Can't display the certificate: Not found or the certificate is a bundle!\n";
        let (name, pending) = match file.strip_prefix('*') {
            Some(name) => (name, true),
            None => (file, false),
        };
        let used = self.listeners.iter().any(|l| l.presents(name));
        let bytes = match (pending, &self.transaction) {
            (true, Some((open, bytes))) if open == name => Some(bytes.clone()),
            (true, _) => None,
            (false, _) if used => match self.replaced.get(name) {
                Some(bytes) => Some(bytes.clone()),
                None => std::fs::read(name).ok(),
            },
            (false, _) => None,
        };
        let Some(bytes) = bytes else {
            return NOT_FOUND.to_owned();
        };
        // A transaction's certificate is in no listener yet.
        match super::detail::show(name, &bytes, used && !pending, pending) {
            Ok(text) => text,
            Err(_) => NOT_FOUND.to_owned(),
        }
    }

    /// `set ssl cert FILE` with `payload`: opens (or updates) the
    /// transaction.
    pub(crate) fn set(&mut self, file: &str, payload: &str) -> String {
        let refused = |why: String| format!("{why}Can't update {file}!\n");
        if let Some(other) = self.other_transaction(file) {
            return refused(format!(
                "The ongoing transaction is about '{other}' but you are trying to set '{file}'\n"
            ));
        }
        if !self.listeners.iter().any(|l| l.presents(file)) {
            return refused(
                "Can't replace a certificate which is not referenced by the configuration!\n"
                    .into(),
            );
        }
        let certificates = rustls::pki_types::pem::PemObject::pem_slice_iter(payload.as_bytes());
        let parsed: Result<Vec<rustls::pki_types::CertificateDer<'_>>, _> = certificates.collect();
        if parsed.map_or(true, |c| c.is_empty()) {
            return refused("Can't load the payload\n".into());
        }
        let said = match self.transaction {
            None => "created",
            Some(_) => "updated",
        };
        self.transaction = Some((file.to_owned(), payload.as_bytes().to_vec()));
        format!("Transaction {said} for certificate {file}!\n")
    }

    /// `commit ssl cert FILE`: every listener presenting FILE presents
    /// the transaction's certificate from its next handshake on.
    pub(crate) fn commit(&mut self, file: &str) -> String {
        let refused = |why: String| format!("{why}Can't commit {file}!\n");
        let Some((open, bytes)) = &self.transaction else {
            return refused("No ongoing transaction! !\n".into());
        };
        if open != file {
            return refused(format!(
                "The ongoing transaction is about '{open}' but you are trying to set '{file}'\n"
            ));
        }
        if let Err(e) = from_pem(file, bytes, Companions::Nowhere) {
            let why = match e.starts_with("inconsistencies") {
                true => format!(
                    "inconsistencies between private key and certificate loaded '{file}'.\n"
                ),
                false => "The transaction must contain at least a certificate and a private key!\n"
                    .into(),
            };
            return refused(why);
        }
        let mut replaced = self.replaced.clone();
        replaced.insert(file.to_owned(), bytes.clone());
        let using: Vec<&Arc<TlsListener>> =
            self.listeners.iter().filter(|l| l.presents(file)).collect();
        let mut fresh = Vec::new();
        for listener in &using {
            match listener.reload(&replaced) {
                Ok(certificates) => fresh.push(certificates),
                Err(e) => return refused(format!("{e}\n")),
            }
        }
        for (listener, certificates) in using.iter().zip(fresh) {
            listener.present(certificates);
        }
        self.replaced = replaced;
        self.transaction = None;
        format!("Committing {file}{}\nSuccess!\n", ".".repeat(using.len()))
    }

    /// `abort ssl cert FILE`: the transaction is dropped.
    pub(crate) fn abort(&mut self, file: &str) -> String {
        match self.other_transaction(file) {
            _ if self.transaction.is_none() => "No ongoing transaction!\n".into(),
            Some(other) => format!("The ongoing transaction is about '{other}' but you are trying to abort a transaction for '{file}'\n"),
            None => {
                self.transaction = None;
                format!("Transaction aborted for certificate '{file}'!\n")
            }
        }
    }

    /// The file of the open transaction when it is not `file`.
    fn other_transaction(&self, file: &str) -> Option<String> {
        self.transaction
            .as_ref()
            .map(|(open, _)| open.clone())
            .filter(|open| open != file)
    }
}
