//! TLS on client connections (`bind ... ssl`): a listener's certificates,
//! the one each handshake gets (by SNI, as haproxy chooses), the
//! handshake itself within `timeout client`, and what it agreed on for
//! the fetches and logs.

mod chain;
mod client;
mod client_auth;
mod count;
mod detail;
mod files;
mod generate;
mod load;
mod ocsp;
mod settings;
mod store;
mod x509;

pub(crate) use client::ServerHandshake;
pub(crate) use count::{accepted, rate_lines, shaken, tls_connections, Counted};
pub(crate) use files::Files;
pub(crate) use load::peer_facts;
pub use load::CertError;
pub(crate) use store::{CertStore, ServerKey};

use haven_core::config::haproxy::{BindTls, CertSource};
use haven_core::sample::{CertFacts, ServerTls, TlsSession};
use rustls::ServerConfig;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

/// One certificate a listener may present, with its handshake settings.
#[derive(Debug)]
struct Presented {
    config: Arc<ServerConfig>,
    excluded: Vec<String>,
    ecdsa: bool,
    /// What the `ssl_f_*` fetches read of its leaf certificate.
    facts: Option<Arc<CertFacts>>,
    /// How it checks client certificates (`verify optional|required`).
    clients: Option<Arc<client_auth::ClientCheck>>,
}

/// A TLS listener: its `bind` line's TLS and the certificates it
/// presents now (the runtime API may replace them).
#[derive(Debug)]
pub(crate) struct TlsListener {
    tls: BindTls,
    /// Its `bind` line.
    line: u32,
    presenting: RwLock<Arc<Certificates>>,
}

/// A listener's certificates and how a handshake chooses among them.
#[derive(Debug)]
pub(crate) struct Certificates {
    /// In load order: the first is the default.
    certificates: Vec<Arc<Presented>>,
    /// Exact names, each with the certificates that serve it, in order.
    exact: BTreeMap<String, Vec<usize>>,
    /// Wildcard names by what follows `*` (`.example.com`).
    wildcard: BTreeMap<String, Vec<usize>>,
    strict_sni: bool,
    /// The files each uses: its certificate file, then the CA and CRL
    /// files its settings name.
    files: Vec<Vec<String>>,
    /// What their `crt-list` lines ask for that haven does not offer.
    unoffered: Vec<String>,
    /// `generate-certificates`: what makes a certificate for an SNI none
    /// of them serves.
    generator: Option<generate::Generator>,
}

/// Why a handshake failed, as haproxy logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeFailed {
    /// The client closed before the end.
    Closed,
    /// The connection broke (a reset).
    Broken,
    /// `timeout client` passed.
    Timeout,
    /// The client's certificate was refused.
    Untrusted,
    /// Anything else: a protocol error, no common cipher, no certificate
    /// for its SNI under `strict-sni`.
    Failed,
}

impl HandshakeFailed {
    /// How a handshake's I/O error reads in haproxy's log.
    pub(crate) fn of(e: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match e.kind() {
            UnexpectedEof => Self::Closed,
            ConnectionReset | ConnectionAborted | BrokenPipe => Self::Broken,
            _ => match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(rustls::Error::InvalidCertificate(_)) => Self::Untrusted,
                _ => Self::Failed,
            },
        }
    }

    /// haproxy's words for it in the connection's log line.
    pub(crate) fn words(self) -> &'static str {
        match self {
            Self::Closed => "Connection closed during SSL handshake",
            Self::Broken => "Connection error during SSL handshake",
            Self::Timeout => "Timeout during SSL handshake",
            Self::Untrusted => "SSL client certificate not trusted",
            Self::Failed => "SSL handshake failure",
        }
    }

    /// Whether `option dontlognull` keeps it out of the log (the client
    /// sent nothing that counts).
    pub(crate) fn is_null(self) -> bool {
        matches!(self, Self::Closed | Self::Broken)
    }
}

impl TlsListener {
    /// Reads the files of `tls`, the `bind` on `line`, into `files` and
    /// loads its certificates: why they cannot be used, in haproxy's
    /// words, if so.
    pub(crate) fn load(tls: &BindTls, line: u32, files: &mut Files) -> Result<Self, String> {
        files.read_bind(tls)?;
        let presenting = Certificates::load(tls, files)?;
        Ok(Self {
            tls: tls.clone(),
            line,
            presenting: RwLock::new(Arc::new(presenting)),
        })
    }

    /// Whether it uses file `name`: a certificate, a crt-list or
    /// folder, a CA or CRL file.
    pub(crate) fn uses(&self, name: &str) -> bool {
        self.instances(name) > 0 || self.sources().any(|path| path == name)
    }

    /// The files and lists its `crt` and `crt-list` name, in order.
    fn sources(&self) -> impl Iterator<Item = &str> {
        self.tls.certificates.iter().map(CertSource::path)
    }

    /// How many of the certificates it presents use file `name` (each
    /// is one of haproxy's certificate instances).
    pub(crate) fn instances(&self, name: &str) -> usize {
        let now = self.now();
        now.files
            .iter()
            .filter(|used| used.iter().any(|f| f == name))
            .count()
    }

    /// Whether it lets handshakes go on without a certificate for their
    /// SNI (no `strict-sni`): its first certificate is then needed.
    pub(crate) fn has_default(&self) -> bool {
        !self.tls.strict_sni
    }

    /// Whether its first certificate (the default one) comes from the
    /// crt-list or folder `list`.
    pub(crate) fn starts_with(&self, list: &str) -> bool {
        self.sources().next() == Some(list)
    }

    /// `crt-base` and `ca-base`, for the relative paths of a crt-list
    /// line added at run time.
    pub(crate) fn bases(&self) -> (Option<String>, Option<String>) {
        self.tls.bases.clone()
    }

    /// Where its `bind` line is: `FILE:LINE`.
    pub(crate) fn place(&self) -> String {
        format!("{}:{}", self.tls.written.0, self.line)
    }

    /// Its certificates loaded again from `files`: the new set, to
    /// [`Self::present`], or why it cannot be used.
    pub(crate) fn reload(&self, files: &Files) -> Result<Arc<Certificates>, String> {
        Certificates::load(&self.tls, files).map(Arc::new)
    }

    /// Presents `certificates` from the next handshake on.
    pub(crate) fn present(&self, certificates: Arc<Certificates>) {
        let mut presenting = self.presenting.write().unwrap_or_else(|e| e.into_inner());
        *presenting = certificates;
    }

    /// The certificates it presents now.
    fn now(&self) -> Arc<Certificates> {
        let presenting = self.presenting.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&presenting)
    }

    /// Runs the handshake on `tcp` (a client connection) within
    /// `timeout`: the TLS stream and what it agreed on.
    pub(crate) async fn accept<IO: AsyncRead + AsyncWrite + Unpin>(
        &self,
        tcp: IO,
        timeout: Option<Duration>,
    ) -> Result<(TlsStream<IO>, TlsSession), HandshakeFailed> {
        let handshake = async {
            let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp)
                .await
                .map_err(|e| HandshakeFailed::of(&e))?;
            let hello = start.client_hello();
            let sni = hello.server_name().map(str::to_ascii_lowercase);
            let ecdsa = hello.signature_schemes().iter().any(|s| {
                use rustls::SignatureScheme::*;
                matches!(
                    s,
                    ECDSA_NISTP256_SHA256 | ECDSA_NISTP384_SHA384 | ECDSA_NISTP521_SHA512
                )
            });
            let certificates = self.now();
            let chosen = certificates
                .choose(sni.as_deref(), ecdsa)
                .ok_or(HandshakeFailed::Failed)?;
            let stream = start
                .into_stream(Arc::clone(&chosen.config))
                .await
                .map_err(|e| HandshakeFailed::of(&e))?;
            let clients = chosen.clients.clone();
            Ok((stream, (sni, chosen.facts.clone(), clients)))
        };
        let (stream, (sni, presented, clients)) = match timeout {
            Some(t) => tokio::time::timeout(t, handshake)
                .await
                .map_err(|_| HandshakeFailed::Timeout)??,
            None => handshake.await?,
        };
        let mut session = session_of(stream.get_ref().1, sni);
        session.frontend_certificate = presented;
        if let (Some(clients), Some(chain)) = (clients, stream.get_ref().1.peer_certificates()) {
            let errors = clients.errors(chain, rustls::pki_types::UnixTime::now());
            session.client_verify = chain::verify_result(&errors);
        }
        Ok((stream, session))
    }
}

impl Certificates {
    /// The certificates of `tls`, as `files` hold them.
    fn load(tls: &BindTls, files: &Files) -> Result<Self, String> {
        let loaded = load::load_bind(tls, files)?;
        let resumption = settings::Resumption::new()?;
        let mut out = Self {
            certificates: Vec::new(),
            exact: BTreeMap::new(),
            wildcard: BTreeMap::new(),
            strict_sni: tls.strict_sni,
            files: Vec::new(),
            unoffered: Vec::new(),
            generator: None,
        };
        for (i, cert) in loaded.into_iter().enumerate() {
            for what in haven_core::config::haproxy::unoffered(&cert.options) {
                if !out.unoffered.contains(&what) {
                    out.unoffered.push(what);
                }
            }
            let options = cert.options.over(&tls.options);
            let facts = cert.key.cert.first().and_then(load::facts_of).map(Arc::new);
            let clients = client_auth::ClientCheck::of(&options, files)
                .map_err(|m| format!("'{}' : {m}", cert.path))?
                .map(Arc::new);
            if i == 0 {
                out.generator = generator(tls, files, (&cert.key, &resumption, clients.clone()))?;
            }
            if let Some(why) = &cert.ignored_ocsp {
                crate::eprintln_whole!(
                    "[WARNING]  ({}) : Loading: {why}. Content will be ignored.",
                    std::process::id()
                );
            }
            let shared = (&resumption, clients.clone());
            let served = (cert.key, cert.staple_expires);
            let config = settings::server_config(&options, served, shared)
                .map_err(|m| format!("'{}' : {m}", cert.path))?;
            for name in cert.names {
                let table = match name.strip_prefix('*') {
                    Some(rest) => out.wildcard.entry(rest.to_owned()),
                    None => out.exact.entry(name),
                };
                table.or_default().push(i);
            }
            let named = [&options.ca_file, &options.ca_verify_file, &options.crl_file];
            let mut used = vec![cert.path];
            used.extend(named.into_iter().flatten().cloned());
            out.files.push(used);
            out.certificates.push(Arc::new(Presented {
                config,
                excluded: cert.excluded,
                ecdsa: cert.ecdsa,
                facts,
                clients,
            }));
        }
        Ok(out)
    }

    /// The certificate for a client asking for `sni` that can check
    /// ECDSA signatures when `ecdsa`: an exact name, else a wildcard one
    /// (ECDSA first when the client can), else the default one unless
    /// `strict-sni`.
    fn choose(&self, sni: Option<&str>, ecdsa: bool) -> Option<Arc<Presented>> {
        let default = || {
            self.certificates
                .first()
                .filter(|_| !self.strict_sni)
                .cloned()
        };
        let Some(sni) = sni else {
            return default();
        };
        let pick = |found: Option<&Vec<usize>>| {
            let usable: Vec<&Arc<Presented>> = found?
                .iter()
                .map(|&i| &self.certificates[i])
                .filter(|c| !c.excluded.iter().any(|e| e == sni))
                .collect();
            let preferred = usable.iter().find(|c| c.ecdsa == ecdsa);
            preferred.or(usable.first()).map(|c| Arc::clone(c))
        };
        let wild = sni.find('.').and_then(|dot| self.wildcard.get(&sni[dot..]));
        pick(self.exact.get(sni))
            .or_else(|| pick(wild))
            .or_else(|| self.generator.as_ref()?.presented(sni))
            .or_else(default)
    }
}

/// The maker of certificates of `tls` under `generate-certificates`,
/// whose made certificates carry the key of the default one, `default`,
/// and share its `resumption` and client check.
fn generator(
    tls: &BindTls,
    files: &Files,
    (default, resumption, clients): (
        &Arc<rustls::sign::CertifiedKey>,
        &settings::Resumption,
        Option<Arc<client_auth::ClientCheck>>,
    ),
) -> Result<Option<generate::Generator>, String> {
    let Some(path) = tls
        .ca_sign_file
        .as_ref()
        .filter(|_| tls.generate_certificates)
    else {
        return Ok(None);
    };
    let pem = files
        .signing
        .get(path)
        .ok_or_else(|| format!("failed to read CA certificate file '{path}'."))?;
    let (options, resumption) = (tls.options.clone(), resumption.clone());
    let shared = clients.clone();
    let settings = Box::new(move |key| {
        settings::server_config(&options, (key, None), (&resumption, shared.clone()))
    });
    generate::Generator::new(pem, default, clients, settings)
        .map(Some)
        .map_err(|e| format!("unable to load the CA of '{path}' : {e}."))
}

/// What a finished handshake agreed on.
fn session_of(conn: &rustls::ServerConnection, sni: Option<String>) -> TlsSession {
    let (protocol, cipher, alpn, resumed) = agreed(conn);
    TlsSession {
        sni,
        protocol,
        cipher,
        alpn,
        resumed,
        client_certificate: conn
            .peer_certificates()
            .and_then(|chain| peer_facts(chain, false))
            .map(Box::new),
        frontend_certificate: None,
        client_verify: 0,
    }
}

/// What a finished handshake to a server agreed on, with what the
/// certificate the server presented says.
pub(crate) fn server_tls(conn: &rustls::ClientConnection) -> ServerTls {
    let (protocol, cipher, alpn, resumed) = agreed(conn);
    ServerTls {
        protocol,
        cipher,
        alpn,
        resumed,
        certificate: conn
            .peer_certificates()
            .and_then(|chain| peer_facts(chain, true)),
    }
}

/// What a finished handshake agreed on, either side: the protocol and
/// cipher by OpenSSL's names, the ALPN protocol, whether it resumed.
fn agreed(conn: &rustls::CommonState) -> (&'static str, &'static str, Option<String>, bool) {
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        _ => "",
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map_or("", |s| settings::openssl_name(s.suite()));
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let resumed = conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    (protocol, cipher, alpn, resumed)
}

/// Loads the certificates of a TLS `bind` as a start would (core's
/// parser asks while it reads, as haproxy does): what their `crt-list`
/// lines ask for that haven does not offer, or why they cannot be used,
/// in haproxy's words.
pub fn check_certificates(tls: &BindTls) -> Result<Vec<String>, String> {
    let mut files = Files::default();
    files.read_bind(tls)?;
    Certificates::load(tls, &files).map(|c| c.unoffered)
}
