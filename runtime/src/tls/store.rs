//! The runtime API's TLS commands, answered as haproxy 2.6 answers them:
//! certificate, CA and CRL files shown, created, replaced in a
//! transaction (`set` then `commit` or `abort`) and deleted; crt-list
//! lines shown, added and deleted. A change reaches every listener and
//! server that uses the file from its next handshake on; connections
//! already open keep what they shook hands with.

use super::detail::{self, Status};
use super::files::{ca_certificates, revocation_lists, CertFile, Files};
use super::load::from_pem;
use super::ocsp;
use super::{ServerHandshake, TlsListener};
use haven_core::config::haproxy::{parse_crt_list, ServerTls};
use haven_core::stats::{SslCommand, SslFile};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A server's place in the config: backend and server indexes.
pub(crate) type ServerKey = (usize, usize);

/// Every file TLS uses, every TLS listener and `ssl` server of the
/// process, and the open transaction of each kind of file.
#[derive(Debug, Default)]
pub(crate) struct CertStore {
    files: Files,
    listeners: Vec<Arc<TlsListener>>,
    /// Each `ssl` server's line and the handshake made of it.
    servers: BTreeMap<ServerKey, (ServerTls, Arc<ServerHandshake>)>,
    /// By kind: the file being replaced and its new contents (a CA or
    /// CRL file's PEM as a certificate file's).
    transactions: BTreeMap<SslFile, (String, CertFile)>,
}

impl CertStore {
    /// The store of `listeners` and `servers`, whose files `files` hold.
    pub(crate) fn new(
        files: Files,
        listeners: Vec<Arc<TlsListener>>,
        servers: BTreeMap<ServerKey, (ServerTls, Arc<ServerHandshake>)>,
    ) -> Self {
        Self {
            files,
            listeners,
            servers,
            transactions: BTreeMap::new(),
        }
    }

    /// The handshake of the `ssl` server at `key`, once made.
    pub(crate) fn made(&self, key: ServerKey) -> Option<Arc<ServerHandshake>> {
        self.servers.get(&key).map(|(_, made)| Arc::clone(made))
    }

    /// The handshake of the `ssl` server at `key`, whose line is `tls`,
    /// made from its files (a server added at run time, at its first
    /// connection).
    pub(crate) fn server(
        &mut self,
        key: ServerKey,
        tls: &ServerTls,
    ) -> Result<Arc<ServerHandshake>, String> {
        if let Some(made) = self.made(key) {
            return Ok(made);
        }
        self.files.read_server(tls)?;
        let made = Arc::new(ServerHandshake::new(tls, &self.files)?);
        self.servers.insert(key, (tls.clone(), Arc::clone(&made)));
        Ok(made)
    }

    /// Forgets the server at `key`, deleted: its files are no longer in
    /// use by it.
    pub(crate) fn forget(&mut self, key: ServerKey) {
        self.servers.remove(&key);
    }

    /// The answer to `command`.
    pub(crate) fn answer(&mut self, command: SslCommand) -> String {
        match command {
            SslCommand::Show(kind, None) => self.list(kind),
            SslCommand::Show(kind, Some(name)) => self.detail(kind, &name),
            SslCommand::New(kind, name) => self.create(kind, &name),
            SslCommand::Set(kind, name, payload) => self.set(kind, &name, &payload),
            SslCommand::Commit(kind, name) => self.commit(kind, &name),
            SslCommand::Abort(kind, name) => self.abort(kind, &name),
            SslCommand::Del(kind, name) => self.delete(kind, &name),
            SslCommand::ShowCrtList { list, numbered } => self.show_list(list.as_deref(), numbered),
            SslCommand::AddCrtList { list, line } => self.add_line(&list, &line),
            SslCommand::DelCrtList { list, cert } => self.delete_line(&list, &cert),
            SslCommand::ShowOcspResponse(id) => self.show_ocsp(id.as_deref()),
            SslCommand::SetOcspResponse(base64) => self.set_ocsp_response(&base64),
        }
    }

    /// Whether the store has a file of `kind` named `name`.
    fn has(&self, kind: SslFile, name: &str) -> bool {
        match kind {
            SslFile::Cert => self.files.certs.contains_key(name),
            SslFile::CaFile => self.files.cas.contains_key(name),
            SslFile::CrlFile => self.files.crls.contains_key(name),
        }
    }

    /// How many listeners and servers use file `name`.
    fn users(&self, name: &str) -> usize {
        let listeners = self.listeners.iter().filter(|l| l.uses(name)).count();
        let servers = self.servers.values();
        listeners + servers.filter(|(tls, _)| server_uses(tls, name)).count()
    }

    /// The status of file `name` of `kind`.
    fn status(&self, kind: SslFile, name: &str) -> Status {
        let empty = match kind {
            SslFile::Cert => self.files.certs.get(name).is_some_and(|c| c.pem.is_empty()),
            SslFile::CaFile => self.files.cas.get(name).is_some_and(Vec::is_empty),
            SslFile::CrlFile => self.files.crls.get(name).is_some_and(Vec::is_empty),
        };
        match (empty, self.users(name)) {
            (true, _) => Status::Empty,
            (false, 0) => Status::Unused,
            _ => Status::Used,
        }
    }

    /// `show ssl KIND`: the open transaction's file, then every file of
    /// that kind in name order (with its count of certificates for CA
    /// files).
    fn list(&self, kind: SslFile) -> String {
        let counted = |name: &str, count: usize| match kind {
            SslFile::CaFile => format!("{name} - {count} certificate(s)\n"),
            _ => format!("{name}\n"),
        };
        let mut out = String::new();
        if let Some((name, file)) = self.transactions.get(&kind) {
            let count = ca_certificates(&file.pem).map_or(0, |c| c.len());
            out.push_str(&format!("# transaction\n*{}", counted(name, count)));
        }
        out.push_str("# filename\n");
        let names: Vec<(&String, usize)> = match kind {
            SslFile::Cert => self.files.certs.keys().map(|n| (n, 1)).collect(),
            SslFile::CaFile => self.files.cas.iter().map(|(n, c)| (n, c.len())).collect(),
            SslFile::CrlFile => self.files.crls.iter().map(|(n, c)| (n, c.len())).collect(),
        };
        for (name, count) in names {
            out.push_str(&counted(name, count));
        }
        out
    }

    /// `show ssl KIND NAME`: the file in detail; `*NAME`, the open
    /// transaction's; `NAME:N`, a CA or CRL file's Nth certificate or
    /// list.
    fn detail(&self, kind: SslFile, asked: &str) -> String {
        let not_found = match kind {
            SslFile::Cert => {
                "Can't display the certificate: Not found or the certificate is a bundle!\n"
            }
            SslFile::CaFile => "Can't display the CA file : Not found!\n",
            SslFile::CrlFile => "Can't display the CRL file : Not found!\n",
        };
        let (asked, index) = match (kind, asked.split_once(':')) {
            (SslFile::Cert, _) | (_, None) => (asked, None),
            (_, Some((name, n))) => match n.parse::<usize>() {
                Ok(n) if n > 0 => (name, Some(n)),
                _ => {
                    let what = if kind == SslFile::CaFile { "CA" } else { "CRL" };
                    return format!("wrong {what} index after colons in '{asked}'!");
                }
            },
        };
        let (name, pending) = match asked.strip_prefix('*') {
            Some(name) => (name, true),
            None => (asked, false),
        };
        if let Some(target) = self.companion_of(kind, name, ".ocsp") {
            let file = match pending {
                true => self.transactions.get(&kind).map(|(_, file)| file),
                false => self.files.certs.get(&target),
            };
            return match file.and_then(|f| f.ocsp.as_deref()) {
                Some(answer) => ocsp::print(answer),
                None => not_found.to_owned(),
            };
        }
        let Some(items) = self.items(kind, name, pending) else {
            return not_found.to_owned();
        };
        // A transaction's file is in no listener yet.
        let status = match pending {
            true => Status::Unused,
            false => self.status(kind, name),
        };
        let shown = match kind {
            SslFile::Cert => {
                let key = match pending {
                    true => self
                        .transactions
                        .get(&kind)
                        .and_then(|(_, f)| ocsp::key_of(f)),
                    false => self.files.certs.get(name).and_then(ocsp::key_of),
                };
                detail::show(name, &items[0], status, pending, key.as_deref())
            }
            SslFile::CaFile => {
                let each: Shower = ("Certificate", detail::certificate);
                numbered(name, status, pending, (&items, index), each)
            }
            SslFile::CrlFile => {
                let each: Shower = ("Certificate Revocation List", detail::revocation_list);
                numbered(name, status, pending, (&items, index), each)
            }
        };
        shown.unwrap_or_else(|_| not_found.to_owned())
    }

    /// What file `name` of `kind` holds (or, when `pending`, the open
    /// transaction's new contents for it): a certificate file's PEM, a
    /// CA file's certificates, a CRL file's lists.
    fn items(&self, kind: SslFile, name: &str, pending: bool) -> Option<Vec<Vec<u8>>> {
        if pending {
            let (_, file) = self
                .transactions
                .get(&kind)
                .filter(|(open, _)| open == name)?;
            let bytes = &file.pem;
            return Some(match kind {
                SslFile::Cert => vec![bytes.clone()],
                SslFile::CaFile => ca_certificates(bytes)
                    .ok()?
                    .iter()
                    .map(|c| c.to_vec())
                    .collect(),
                SslFile::CrlFile => revocation_lists(bytes)
                    .ok()?
                    .iter()
                    .map(|c| c.to_vec())
                    .collect(),
            });
        }
        Some(match kind {
            SslFile::Cert => vec![self.files.certs.get(name)?.pem.clone()],
            SslFile::CaFile => self
                .files
                .cas
                .get(name)?
                .iter()
                .map(|c| c.to_vec())
                .collect(),
            SslFile::CrlFile => self
                .files
                .crls
                .get(name)?
                .iter()
                .map(|c| c.to_vec())
                .collect(),
        })
    }

    /// `new ssl KIND NAME`: an empty file, for `set` to fill.
    fn create(&mut self, kind: SslFile, name: &str) -> String {
        let (exists, made) = match kind {
            SslFile::Cert => (
                "Certificate",
                format!("New empty certificate store '{name}'!\n"),
            ),
            SslFile::CaFile => ("CA file", format!("New CA file created '{name}'!\n")),
            SslFile::CrlFile => ("CRL file", format!("New CRL file created '{name}'!\n")),
        };
        if self.has(kind, name) {
            return format!("{exists} '{name}' already exists!\n");
        }
        match kind {
            SslFile::Cert => drop(
                self.files
                    .certs
                    .insert(name.to_owned(), CertFile::default()),
            ),
            SslFile::CaFile => drop(self.files.cas.insert(name.to_owned(), Vec::new())),
            SslFile::CrlFile => drop(self.files.crls.insert(name.to_owned(), Vec::new())),
        }
        made
    }

    /// `set ssl KIND NAME` with `payload`: opens (or updates) the
    /// transaction.
    fn set(&mut self, kind: SslFile, name: &str, payload: &str) -> String {
        if let Some(target) = self.companion_of(kind, name, ".key") {
            return self.set_key(&target, payload);
        }
        if let Some(target) = self.companion_of(kind, name, ".ocsp") {
            return self.set_ocsp(&target, payload);
        }
        let refused = |why: String| format!("{why}Can't update {name}!\n");
        if let Some(other) = self.other_transaction(kind, name) {
            return refused(format!(
                "The ongoing transaction is about '{other}' but you are trying to set '{name}'\n"
            ));
        }
        if !self.has(kind, name) {
            let what = match kind {
                SslFile::Cert => "a certificate",
                SslFile::CaFile => "a CA file",
                SslFile::CrlFile => "a CRL file",
            };
            return refused(format!(
                "Can't replace {what} which is not referenced by the configuration!\n"
            ));
        }
        let bytes = payload.as_bytes();
        let readable = match kind {
            SslFile::Cert => ca_certificates(bytes).is_ok_and(|c| !c.is_empty()),
            SslFile::CaFile => ca_certificates(bytes).is_ok_and(|c| !c.is_empty()),
            SslFile::CrlFile => revocation_lists(bytes).is_ok_and(|c| !c.is_empty()),
        };
        if !readable {
            return refused(match kind {
                SslFile::Cert => "Can't load the payload\n".into(),
                _ => "Invalid payload\n".into(),
            });
        }
        let file = match kind {
            // The OCSP answer and issuer stay until set on their own.
            SslFile::Cert => CertFile {
                pem: bytes.to_vec(),
                ..self.pending(name)
            },
            _ => CertFile {
                pem: bytes.to_vec(),
                ..CertFile::default()
            },
        };
        self.open(kind, name, file)
    }

    /// The certificate file whose companion `set ssl cert NAME.EXT`
    /// (`.key`, `.ocsp`) names: `NAME`, else `NAME.crt` (its companions
    /// beside it under `ssl-load-extra-del-ext`).
    fn companion_of(&self, kind: SslFile, name: &str, ext: &str) -> Option<String> {
        let base = name.strip_suffix(ext).filter(|_| kind == SslFile::Cert)?;
        let known = |file: &String| {
            self.files.certs.contains_key(file)
                || self
                    .transactions
                    .get(&kind)
                    .is_some_and(|(open, _)| open == file)
        };
        [base.to_owned(), format!("{base}.crt")]
            .into_iter()
            .find(known)
    }

    /// `set ssl cert FILE.key`: the transaction of certificate file
    /// `target` (opened from its current contents) takes the payload's
    /// key in place of its own.
    fn set_key(&mut self, target: &str, payload: &str) -> String {
        let refused = |why: String| format!("{why}Can't update {target}.key!\n");
        if let Some(other) = self.other_transaction(SslFile::Cert, target) {
            return refused(format!(
                "The ongoing transaction is about '{other}' but you are trying to set '{target}'\n"
            ));
        }
        let key = pem_blocks(payload.as_bytes(), true);
        if key.is_empty() {
            return refused("Can't load the payload\n".into());
        }
        let mut file = self.pending(target);
        let mut joined = pem_blocks(&file.pem, false);
        joined.extend(key);
        file.pem = joined;
        self.open(SslFile::Cert, target, file)
    }

    /// `set ssl cert FILE.ocsp` with a base64 payload: the transaction of
    /// certificate file `target` takes it as its OCSP answer.
    fn set_ocsp(&mut self, target: &str, payload: &str) -> String {
        let refused = |why: String| format!("{why}Can't update {target}.ocsp!\n");
        if let Some(other) = self.other_transaction(SslFile::Cert, target) {
            return refused(format!(
                "The ongoing transaction is about '{other}' but you are trying to set '{target}'\n"
            ));
        }
        let Some(answer) = ocsp::from_base64(payload) else {
            return refused("Can't load the payload\n".into());
        };
        let mut file = self.pending(target);
        file.ocsp = Some(answer);
        self.open(SslFile::Cert, target, file)
    }

    /// What the certificate transaction holds for `target`: the open
    /// one's contents, else the file's.
    fn pending(&self, target: &str) -> CertFile {
        match self.transactions.get(&SslFile::Cert) {
            Some((_, file)) => file.clone(),
            None => self.files.certs[target].clone(),
        }
    }

    /// Opens (or updates) the transaction of `kind` on file `name` with
    /// its new contents `file`.
    fn open(&mut self, kind: SslFile, name: &str, file: CertFile) -> String {
        let opened = self.transactions.insert(kind, (name.to_owned(), file));
        let said = match (kind, opened) {
            (SslFile::Cert, None) => "Transaction created for certificate",
            (SslFile::Cert, Some(_)) => "Transaction updated for certificate",
            (SslFile::CaFile, None) => "transaction created for CA",
            (SslFile::CaFile, Some(_)) => "transaction updated for CA",
            (SslFile::CrlFile, None) => "transaction created for CRL",
            (SslFile::CrlFile, Some(_)) => "transaction updated for CRL",
        };
        format!("{said} {name}!\n")
    }

    /// `commit ssl KIND NAME`: every listener and server using the file
    /// takes its new contents from its next handshake on.
    fn commit(&mut self, kind: SslFile, name: &str) -> String {
        let refused = |why: String| format!("{why}Can't commit {name}!\n");
        let Some((open, pending)) = self.transactions.get(&kind) else {
            return refused("No ongoing transaction! !\n".into());
        };
        let bytes = &pending.pem;
        if open != name {
            return refused(format!(
                "The ongoing transaction is about '{open}' but you are trying to set '{name}'\n"
            ));
        }
        let mut files = self.files.clone();
        match kind {
            SslFile::Cert => {
                let file = pending.clone();
                if let Err(e) = from_pem(name, &file) {
                    let why = match e.starts_with("inconsistencies") {
                        true => format!(
                            "inconsistencies between private key and certificate loaded '{name}'.\n"
                        ),
                        false => {
                            "The transaction must contain at least a certificate and a private key!\n"
                                .into()
                        }
                    };
                    return refused(why);
                }
                files.certs.insert(name.to_owned(), file);
            }
            SslFile::CaFile => {
                let read = ca_certificates(bytes).unwrap_or_default();
                files.cas.insert(name.to_owned(), read);
            }
            SslFile::CrlFile => {
                let read = revocation_lists(bytes).unwrap_or_default();
                files.crls.insert(name.to_owned(), read);
            }
        }
        let out = match self.apply(files, name) {
            Ok(count) => format!("Committing {name}{}\nSuccess!\n", ".".repeat(count)),
            Err(e) => return refused(format!("{e}\n")),
        };
        self.transactions.remove(&kind);
        out
    }

    /// `files` in place of the store's, and every listener and server
    /// using `changed` (a file or a crt-list) made again from them: how
    /// many instances were, or why one cannot be (nothing then changes).
    fn apply(&mut self, files: Files, changed: &str) -> Result<usize, String> {
        let listeners: Vec<Arc<TlsListener>> = self
            .listeners
            .iter()
            .filter(|l| l.uses(changed))
            .cloned()
            .collect();
        let fresh = listeners
            .iter()
            .map(|l| l.reload(&files))
            .collect::<Result<Vec<_>, String>>()?;
        let mut servers = Vec::new();
        for (key, (tls, _)) in &self.servers {
            if server_uses(tls, changed) {
                servers.push((*key, Arc::new(ServerHandshake::new(tls, &files)?)));
            }
        }
        // One for each of haproxy's instances made again: a certificate
        // presented, or a bind line taking a crt-list's new line.
        let instances: usize = listeners.iter().map(|l| l.instances(changed).max(1)).sum();
        let count = instances + servers.len();
        for (listener, certificates) in listeners.iter().zip(fresh) {
            listener.present(certificates);
        }
        for (key, made) in servers {
            if let Some((_, handshake)) = self.servers.get_mut(&key) {
                *handshake = made;
            }
        }
        self.files = files;
        Ok(count)
    }

    /// `abort ssl KIND NAME`: the transaction is dropped.
    fn abort(&mut self, kind: SslFile, name: &str) -> String {
        match self.other_transaction(kind, name) {
            _ if !self.transactions.contains_key(&kind) => "No ongoing transaction!\n".into(),
            Some(other) => format!("The ongoing transaction is about '{other}' but you are trying to abort a transaction for '{name}'\n"),
            None => {
                self.transactions.remove(&kind);
                format!("Transaction aborted for certificate '{name}'!\n")
            }
        }
    }

    /// `del ssl KIND NAME`: a file nothing uses leaves the store.
    fn delete(&mut self, kind: SslFile, name: &str) -> String {
        let (what, prefix) = match kind {
            SslFile::Cert => ("certificate", "Can't remove the certificate: "),
            SslFile::CaFile => ("CA file", "Can't remove the CA file: "),
            SslFile::CrlFile => ("CRL file", "Can't remove the CRL file: "),
        };
        if !self.has(kind, name) {
            return format!("{prefix}{what} '{name}' doesn't exist!\n\n");
        }
        let mut listed = self.files.lists.values().flat_map(|l| &l.lines);
        let in_list = listed.any(|line| {
            let o = &line.options;
            line.path == name
                || [&o.ca_file, &o.ca_verify_file, &o.crl_file].contains(&&Some(name.to_owned()))
        });
        if self.users(name) > 0 || in_list {
            return format!("{prefix}{what} '{name}' in use, can't be deleted!\n\n");
        }
        match kind {
            SslFile::Cert => drop(self.files.certs.remove(name)),
            SslFile::CaFile => drop(self.files.cas.remove(name)),
            SslFile::CrlFile => drop(self.files.crls.remove(name)),
        }
        let what = match kind {
            SslFile::Cert => "Certificate",
            _ => what,
        };
        format!("{what} '{name}' deleted!\n")
    }

    /// `show ssl crt-list [-n] [LIST]`.
    fn show_list(&self, list: Option<&str>, numbered: bool) -> String {
        let Some(name) = list else {
            return self.files.lists.keys().map(|n| format!("{n}\n")).collect();
        };
        let Some(list) = self.files.lists.get(name) else {
            return "didn't find the specified filename\n".into();
        };
        let mut out = format!("# {name}\n");
        for line in &list.lines {
            out.push_str(&line.shown(numbered));
            out.push('\n');
        }
        out
    }

    /// `add ssl crt-list LIST` with `text`, one line of a crt-list whose
    /// certificate (and CA and CRL files) the store already holds.
    fn add_line(&mut self, name: &str, text: &str) -> String {
        let refused = |why: String| format!("Can't edit the crt-list: {why}\n");
        let Some(list) = self.files.lists.get(name) else {
            return refused(format!("crt-list '{name}' does not exist!"));
        };
        let lines: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).collect();
        if lines.len() > 1 {
            return refused("only one line of payload is supported!".into());
        }
        let bases = self
            .listeners
            .iter()
            .find(|l| l.uses(name))
            .map(|l| l.bases())
            .unwrap_or_default();
        let (crt_base, ca_base) = (bases.0.as_deref(), bases.1.as_deref());
        let parsed = match parse_crt_list(
            lines.first().copied().unwrap_or_default(),
            (crt_base, ca_base),
        ) {
            Ok(parsed) => parsed,
            Err((_, e)) => return refused(format!("parsing [CLI:1]: {e}")),
        };
        let Some(mut line) = parsed.into_iter().next() else {
            return refused(
                "'add ssl crtlist' should contain the certificate name in the payload".into(),
            );
        };
        let cert = line.path.clone();
        if list.folder {
            let inside = cert.rsplit_once('/').is_some_and(|(dir, _)| dir == name);
            if !inside {
                return refused(format!("'{name}' is a directory, certificate path '{cert}' must contain the directory path"));
            }
        }
        match self.files.certs.get(&cert) {
            None => return refused(format!("certificate '{cert}' does not exist!")),
            Some(file) if file.pem.is_empty() => {
                return refused(format!("certificate '{cert}' is empty!"))
            }
            Some(_) => {}
        }
        let o = &line.options;
        let (cas, crls) = (&self.files.cas, &self.files.crls);
        // Files the store does not hold: none is read from disk now.
        let unknown = [
            (
                "ca-file",
                o.ca_file.as_deref().filter(|f| !cas.contains_key(*f)),
            ),
            (
                "ca-verify-file",
                o.ca_verify_file
                    .as_deref()
                    .filter(|f| !cas.contains_key(*f)),
            ),
            (
                "crl-file",
                o.crl_file.as_deref().filter(|f| !crls.contains_key(*f)),
            ),
        ];
        if let Some((keyword, Some(file))) = unknown.into_iter().find(|(_, f)| f.is_some()) {
            return refused(format!("'{keyword}' : unable to load {file}"));
        }
        if list.folder {
            if list.lines.iter().any(|l| l.path == cert) {
                return refused("file already exists in this directory!".into());
            }
            if line.options != Default::default() || !line.filters.is_empty() || line.early_data {
                return refused(
                    "this is a directory, SSL configuration and filters are not allowed".into(),
                );
            }
        }
        let mut files = self.files.clone();
        if let Some(list) = files.lists.get_mut(name) {
            list.last_line += 1;
            line.line = list.last_line;
            list.lines.push(line);
        }
        match self.apply(files, name) {
            Ok(count) => format!(
                "Inserting certificate '{cert}' in crt-list '{name}'{}\nSuccess!\n",
                ".".repeat(count)
            ),
            Err(e) => {
                format!("Inserting certificate '{cert}' in crt-list '{name}'\n{e}\nFailed!\n")
            }
        }
    }

    /// `del ssl crt-list LIST CERT[:LINE]`.
    fn delete_line(&mut self, name: &str, asked: &str) -> String {
        let refused = |why: String| format!("Can't delete the entry: {why}\n");
        let (cert, number) = match asked.split_once(':') {
            None => (asked, None),
            Some((cert, n)) => match n.parse::<u32>() {
                Ok(n) => (cert, Some(n)),
                Err(_) => return refused(format!("wrong line number after colons in '{asked}'!")),
            },
        };
        let Some(list) = self.files.lists.get(name) else {
            return refused(format!("crt-list '{name}' does not exist!"));
        };
        match self.files.certs.get(cert) {
            None => return refused(format!("certificate '{cert}' does not exist!")),
            Some(file) if file.pem.is_empty() => {
                return refused(format!("certificate '{cert}' is empty!"))
            }
            Some(_) => {}
        }
        let entries: Vec<usize> = (0..list.lines.len())
            .filter(|&i| list.lines[i].path == cert)
            .collect();
        if entries.is_empty() {
            return refused(format!(
                "certificate '{cert}' can't be found in crt-list '{name}'!"
            ));
        }
        let numbers: Vec<String> = entries
            .iter()
            .map(|&i| list.lines[i].line.to_string())
            .collect();
        let numbers = numbers.join(", ");
        let index = match number {
            Some(n) => match entries.iter().find(|&&i| list.lines[i].line == n) {
                Some(&i) => i,
                None => return refused(format!("found a certificate '{cert}' but the line number is incorrect, please specify a correct line number preceded by colons ({numbers})!")),
            },
            None if entries.len() > 1 => {
                return refused(format!("found the certificate '{cert}' in several entries, please specify a line number preceded by colons ({numbers})!"))
            }
            None => entries[0],
        };
        let defaults: Vec<String> = self
            .listeners
            .iter()
            .filter(|l| index == 0 && l.has_default() && l.starts_with(name))
            .map(|l| format!("\t- {}\n", l.place()))
            .collect();
        if !defaults.is_empty() {
            return refused(format!(
                "certificate '{cert}' cannot be deleted, it is used as default certificate by the following frontends:\n{}",
                defaults.concat()
            ));
        }
        let mut files = self.files.clone();
        if let Some(list) = files.lists.get_mut(name) {
            list.lines.remove(index);
        }
        match self.apply(files, name) {
            Ok(_) => format!("Entry '{cert}' deleted in crtlist '{name}'!\n"),
            Err(e) => refused(e),
        }
    }

    /// The OCSP answers stapled, by their key: the certificate files in
    /// use that have one.
    fn stapled(&self) -> BTreeMap<Vec<u8>, &String> {
        let with_answer = self.files.certs.iter().filter(|(_, f)| f.ocsp.is_some());
        with_answer
            .filter(|(name, _)| self.users(name) > 0)
            .filter_map(|(name, file)| Some((ocsp::key_of(file)?, name)))
            .collect()
    }

    /// `show ssl ocsp-response [ID]`: every stapled answer's key, or
    /// the answer of key `id` (hexadecimal) in detail.
    fn show_ocsp(&self, id: Option<&str>) -> String {
        let stapled = self.stapled();
        let Some(id) = id else {
            let keys = stapled.keys().map(|key| ocsp::show_id(key));
            return std::iter::once("# Certificate IDs\n".to_owned())
                .chain(keys)
                .collect();
        };
        if id.len() > 2 * 128 {
            return "'show ssl ocsp-response' received a too big key.\n".into();
        }
        let key = (0..id.len())
            .step_by(2)
            .map(|i| {
                id.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>();
        let answer = key
            .and_then(|key| stapled.get(&key).copied())
            .and_then(|name| self.files.certs[name].ocsp.as_deref());
        match answer {
            Some(answer) => ocsp::print(answer),
            None => "Certificate ID does not match any certificate.\n".into(),
        }
    }

    /// `set ssl ocsp-response`: `base64`, a new OCSP answer, replaces
    /// the one of the certificate it is about, once haproxy's checks
    /// pass.
    fn set_ocsp_response(&mut self, base64: &str) -> String {
        let Some(answer) = ocsp::from_base64(base64) else {
            return "'set ssl ocsp-response' received invalid base64 encoded response.\n".into();
        };
        let id = match ocsp::checked(&answer, crate::clock::unix_seconds()) {
            Ok(checked) => checked.id,
            Err(e) => return format!("{e}.\n"),
        };
        let Some(name) = self.stapled().get(&id).map(|n| (*n).clone()) else {
            return "OCSP single response: Certificate ID does not match any certificate or issuer.\n".into();
        };
        let mut files = self.files.clone();
        if let Some(file) = files.certs.get_mut(&name) {
            file.ocsp = Some(answer);
        }
        match self.apply(files, &name) {
            Ok(_) => "OCSP Response updated!\n".into(),
            Err(e) => format!("{e}\n"),
        }
    }

    /// The file of kind `kind`'s open transaction when it is not `name`.
    fn other_transaction(&self, kind: SslFile, name: &str) -> Option<String> {
        self.transactions
            .get(&kind)
            .map(|(open, _)| open.clone())
            .filter(|open| open != name)
    }
}

/// The PEM blocks of `pem`, in order: its private keys when `keys`,
/// else everything else (certificates).
fn pem_blocks(pem: &[u8], keys: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(pem);
    let mut out = String::new();
    let mut block: Option<(bool, String)> = None;
    for line in text.lines() {
        if let Some(label) = line.strip_prefix("-----BEGIN ") {
            block = Some((label.contains("PRIVATE KEY"), String::new()));
        }
        if let Some((is_key, lines)) = &mut block {
            lines.push_str(line);
            lines.push('\n');
            if line.starts_with("-----END ") {
                if *is_key == keys {
                    out.push_str(lines);
                }
                block = None;
            }
        }
    }
    out.into_bytes()
}

/// Whether the server line `tls` uses file `name`.
fn server_uses(tls: &ServerTls, name: &str) -> bool {
    let o = &tls.options;
    [&tls.crt, &o.ca_file, &o.crl_file]
        .into_iter()
        .any(|f| f.as_deref() == Some(name))
}

/// The title of each item of a file and how one is shown.
type Shower = (&'static str, fn(&[u8]) -> Result<String, String>);

/// A CA or CRL file in detail: its heading, then each of its `ders`
/// (only the `index`th, counted from 1, when given) under `TITLE #N:`,
/// as `each` shows one.
fn numbered(
    name: &str,
    status: Status,
    pending: bool,
    (ders, index): (&[Vec<u8>], Option<usize>),
    (title, each): Shower,
) -> Result<String, String> {
    let mut out = detail::heading(name, status, pending);
    for (i, der) in ders.iter().enumerate() {
        if index.is_some_and(|n| n != i + 1) {
            continue;
        }
        out.push_str(&format!(" \n{title} #{}:\n", i + 1));
        out.push_str(&each(der)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_core::config::haproxy::{BindTls, CertSource};

    /// A certificate for `name` with its key, as PEM.
    fn pem_for(name: &str) -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        format!("{}{}", cert.pem(), key.serialize_pem())
    }

    // Input: a listener on a crt-list of one certificate; a second
    // certificate made with `new`, `set` and `commit ssl cert`, then
    // added to the list with settings and a filter, shown, deleted.
    // Output: haproxy's answers at each step; the listener serves the
    // added certificate for its filter's name once added and no more
    // once deleted; the list's first line, its default certificate, is
    // not deleted; a certificate in use is not deleted, one unused is.
    #[test]
    fn crt_list_lines_come_and_go_at_run_time() {
        let dir = tempfile::tempdir().expect("dir");
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let (a, b, list) = (path("a.pem"), path("b.pem"), path("list"));
        std::fs::write(&a, pem_for("a.test")).expect("a");
        std::fs::write(&list, "a.pem\n").expect("list");
        let tls = BindTls {
            certificates: vec![CertSource::CrtList(list.clone())],
            bases: (Some(path("")), None),
            written: ("t.cfg".into(), "frontend", "127.0.0.1:443".into()),
            ..BindTls::default()
        };
        let mut files = Files::default();
        let listener = Arc::new(TlsListener::load(&tls, 7, &mut files).expect("loaded"));
        let mut store = CertStore::new(files, vec![Arc::clone(&listener)], BTreeMap::new());
        let mut say = |command: SslCommand| store.answer(command);
        let add = |line: &str| SslCommand::AddCrtList {
            list: list.clone(),
            line: line.to_owned(),
        };
        let serves_b = || {
            let now = listener.now();
            let chosen = now.choose(Some("b.test"), false).expect("a certificate");
            Arc::ptr_eq(&chosen.config, &now.certificates[0].config)
        };
        assert_eq!(
            say(add(&b)),
            format!("Can't edit the crt-list: certificate '{b}' does not exist!\n")
        );
        assert_eq!(
            say(SslCommand::New(SslFile::Cert, b.clone())),
            format!("New empty certificate store '{b}'!\n")
        );
        assert_eq!(
            say(add(&b)),
            format!("Can't edit the crt-list: certificate '{b}' is empty!\n")
        );
        say(SslCommand::Set(SslFile::Cert, b.clone(), pem_for("b.test")));
        assert_eq!(
            say(SslCommand::Commit(SslFile::Cert, b.clone())),
            format!("Committing {b}\nSuccess!\n")
        );
        assert_eq!(
            say(add("b.pem [allow-0rtt verify none] b.test")),
            format!("Inserting certificate '{b}' in crt-list '{list}'.\nSuccess!\n")
        );
        assert!(!serves_b(), "b.test now has its own certificate");
        assert_eq!(
            say(SslCommand::ShowCrtList {
                list: Some(list.clone()),
                numbered: true
            }),
            format!("# {list}\n{a}:1\n{b}:2 [verify none allow-0rtt] b.test\n")
        );
        assert_eq!(
            say(SslCommand::DelCrtList {
                list: list.clone(),
                cert: a.clone()
            }),
            format!("Can't delete the entry: certificate '{a}' cannot be deleted, it is used as default certificate by the following frontends:\n\t- t.cfg:7\n\n")
        );
        assert_eq!(
            say(SslCommand::Del(SslFile::Cert, b.clone())),
            format!(
                "Can't remove the certificate: certificate '{b}' in use, can't be deleted!\n\n"
            )
        );
        assert_eq!(
            say(SslCommand::DelCrtList {
                list: list.clone(),
                cert: format!("{b}:2")
            }),
            format!("Entry '{b}' deleted in crtlist '{list}'!\n")
        );
        assert!(serves_b(), "b.test falls back on the default certificate");
        assert_eq!(
            say(SslCommand::Del(SslFile::Cert, b.clone())),
            format!("Certificate '{b}' deleted!\n")
        );
    }

    // Input: a certificate set without its key, committed; then set
    // again and its key set alone as `NAME.key`, committed.
    // Output: the first commit is refused in haproxy's words (a payload
    // without a key leaves none); the second takes the key, as
    // `ssl-load-extra-del-ext` users set a `.crt` and its `.key`.
    #[test]
    fn a_key_is_set_alone_by_its_own_name() {
        let mut store = CertStore::default();
        let name = "/certs/site.crt".to_owned();
        store.answer(SslCommand::New(SslFile::Cert, name.clone()));
        let pem = pem_for("site.test");
        let (cert, key) = (
            pem_blocks(pem.as_bytes(), false),
            pem_blocks(pem.as_bytes(), true),
        );
        let (cert, key) = (
            String::from_utf8(cert).expect("pem"),
            String::from_utf8(key).expect("pem"),
        );
        store.answer(SslCommand::Set(SslFile::Cert, name.clone(), cert.clone()));
        assert_eq!(
            store.answer(SslCommand::Commit(SslFile::Cert, name.clone())),
            format!("The transaction must contain at least a certificate and a private key!\nCan't commit {name}!\n")
        );
        assert_eq!(
            store.answer(SslCommand::Set(
                SslFile::Cert,
                "/certs/site.key".into(),
                key
            )),
            format!("Transaction updated for certificate {name}!\n")
        );
        assert_eq!(
            store.answer(SslCommand::Commit(SslFile::Cert, name.clone())),
            format!("Committing {name}\nSuccess!\n")
        );
    }
}
