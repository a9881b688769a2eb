//! TLS on `bind` lines: `ssl`, the certificates (`crt`, `crt-list`) and
//! the handshake's settings, with the `global` defaults they start from
//! (`ssl-default-bind-*`, `crt-base`, `ca-base`). Core reads no files: it
//! says which to load; the runtime loads them.

use super::lexer::Word;
use super::parser::Parser;
use crate::config::{Form, Severity};
use serde::Serialize;

/// A TLS protocol version as haproxy names it (`TLSv1.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TlsVersion {
    /// `SSLv3`.
    Ssl3,
    /// `TLSv1.0`.
    Tls10,
    /// `TLSv1.1`.
    Tls11,
    /// `TLSv1.2`.
    Tls12,
    /// `TLSv1.3`.
    Tls13,
}

impl TlsVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 5] = [
        Self::Ssl3,
        Self::Tls10,
        Self::Tls11,
        Self::Tls12,
        Self::Tls13,
    ];

    /// As `ssl-min-ver` names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ssl3 => "SSLv3",
            Self::Tls10 => "TLSv1.0",
            Self::Tls11 => "TLSv1.1",
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The version a `no-…` or `force-…` flag names.
    fn of_flag(flag: &str) -> Option<Self> {
        match flag {
            "sslv3" => Some(Self::Ssl3),
            "tlsv10" => Some(Self::Tls10),
            "tlsv11" => Some(Self::Tls11),
            "tlsv12" => Some(Self::Tls12),
            "tlsv13" => Some(Self::Tls13),
            _ => None,
        }
    }
}

/// `verify`: whether a client certificate is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// Not asked for (the default).
    #[default]
    None,
    /// Asked for; a client without one is let in, one with a bad one is not.
    Optional,
    /// Asked for and needed.
    Required,
}

/// `ca-ignore-err`, `crt-ignore-err`: the verification errors (OpenSSL's
/// codes) a client certificate (or a CA of its chain) may have and still
/// be let in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum IgnoredErrors {
    /// `all`.
    All,
    /// These codes.
    Codes(Vec<i64>),
}

impl IgnoredErrors {
    /// `text` (`all`, or codes separated by commas) for `keyword`.
    fn parse(keyword: &str, text: &str) -> Result<Self, String> {
        if text == "all" {
            return Ok(Self::All);
        }
        let codes = text.split(',').map(|code| {
            code.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("'{keyword}' : ignored error ID '{code}' is not a number."))
        });
        codes.collect::<Result<_, _>>().map(Self::Codes)
    }

    /// Whether error `code` is among them.
    pub fn covers(&self, code: i64) -> bool {
        match self {
            Self::All => true,
            Self::Codes(codes) => codes.contains(&code),
        }
    }
}

/// The handshake settings a `bind` line, a `crt-list` line or
/// `ssl-default-bind-options` can give; `None` leaves the one below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsOptions {
    /// `alpn`: the protocols offered, in order.
    pub alpn: Option<Vec<String>>,
    /// `ssl-min-ver`.
    pub min: Option<TlsVersion>,
    /// `ssl-max-ver`.
    pub max: Option<TlsVersion>,
    /// `no-sslv3`, `no-tlsv10` … : versions refused.
    pub refused: Vec<TlsVersion>,
    /// `force-tlsv1x`: the one version allowed.
    pub forced: Option<TlsVersion>,
    /// `ciphers`: OpenSSL's cipher string, for TLS 1.2.
    pub ciphers: Option<String>,
    /// `ciphersuites`: the TLS 1.3 suites, `:`-separated.
    pub ciphersuites: Option<String>,
    /// `curves` (or `ecdhe`, one curve): the key exchange groups.
    pub curves: Option<String>,
    /// `verify`.
    pub verify: Option<Verify>,
    /// `ca-file`: the CAs client certificates are checked against (their
    /// names sent with the request for one).
    pub ca_file: Option<String>,
    /// `ca-verify-file`: more CAs to check against, their names not sent.
    pub ca_verify_file: Option<String>,
    /// `crl-file`: revoked client certificates.
    pub crl_file: Option<String>,
    /// `ca-ignore-err`: errors let pass in a client's chain above its
    /// certificate.
    pub ca_ignore_err: Option<IgnoredErrors>,
    /// `crt-ignore-err`: errors let pass in a client's certificate.
    pub crt_ignore_err: Option<IgnoredErrors>,
    /// `no-tls-tickets`: no session tickets (session IDs still resume).
    pub no_tickets: bool,
    /// `prefer-client-ciphers`: the client's order of ciphers wins.
    pub prefer_client_ciphers: bool,
}

impl TlsOptions {
    /// These settings over `below`: each one given here wins.
    pub fn over(&self, below: &Self) -> Self {
        let mut refused = below.refused.clone();
        refused.extend(self.refused.iter().copied());
        Self {
            alpn: self.alpn.clone().or_else(|| below.alpn.clone()),
            min: self.min.or(below.min),
            max: self.max.or(below.max),
            refused,
            forced: self.forced.or(below.forced),
            ciphers: self.ciphers.clone().or_else(|| below.ciphers.clone()),
            ciphersuites: self
                .ciphersuites
                .clone()
                .or_else(|| below.ciphersuites.clone()),
            curves: self.curves.clone().or_else(|| below.curves.clone()),
            verify: self.verify.or(below.verify),
            ca_file: self.ca_file.clone().or_else(|| below.ca_file.clone()),
            ca_verify_file: self
                .ca_verify_file
                .clone()
                .or_else(|| below.ca_verify_file.clone()),
            crl_file: self.crl_file.clone().or_else(|| below.crl_file.clone()),
            ca_ignore_err: self
                .ca_ignore_err
                .clone()
                .or_else(|| below.ca_ignore_err.clone()),
            crt_ignore_err: self
                .crt_ignore_err
                .clone()
                .or_else(|| below.crt_ignore_err.clone()),
            no_tickets: self.no_tickets || below.no_tickets,
            prefer_client_ciphers: self.prefer_client_ciphers || below.prefer_client_ciphers,
        }
    }

    /// The versions allowed, oldest first: haproxy 2.6's default range is
    /// TLSv1.2 to TLSv1.3.
    pub fn versions(&self) -> Vec<TlsVersion> {
        if let Some(only) = self.forced {
            return vec![only];
        }
        let min = self.min.unwrap_or(TlsVersion::Tls12);
        let max = self.max.unwrap_or(TlsVersion::Tls13);
        TlsVersion::ALL
            .into_iter()
            .filter(|v| (min..=max).contains(v) && !self.refused.contains(v))
            .collect()
    }

    /// Reads one setting at `words[0]`: how many words it took, `Ok(0)`
    /// when it is not a TLS setting, `Err` (a message) when its argument
    /// is missing or wrong. `base` is `ca-base`, for relative CA and CRL
    /// files.
    pub(crate) fn read(&mut self, words: &[&str], ca_base: Option<&str>) -> Result<usize, String> {
        let name = words[0];
        let arg = || {
            words
                .get(1)
                .copied()
                .ok_or_else(|| format!("'{name}' : missing argument"))
        };
        let version = |text: &str| {
            TlsVersion::parse(text).ok_or_else(|| {
                format!("'{name}' : unknown version '{text}'. Possible values are 'SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2' or 'TLSv1.3'.")
            })
        };
        match name {
            "no-tls-tickets" => self.no_tickets = true,
            "prefer-client-ciphers" => self.prefer_client_ciphers = true,
            _ if name.starts_with("no-") && TlsVersion::of_flag(&name[3..]).is_some() => {
                self.refused.extend(TlsVersion::of_flag(&name[3..]));
            }
            _ if name.starts_with("force-") && TlsVersion::of_flag(&name[6..]).is_some() => {
                self.forced = TlsVersion::of_flag(&name[6..]);
            }
            "alpn" => self.alpn = Some(arg()?.split(',').map(str::to_owned).collect()),
            "ssl-min-ver" => self.min = Some(version(arg()?)?),
            "ssl-max-ver" => self.max = Some(version(arg()?)?),
            "ciphers" => self.ciphers = Some(arg()?.to_owned()),
            "ciphersuites" => self.ciphersuites = Some(arg()?.to_owned()),
            "curves" | "ecdhe" => {
                // `curves` wins over `ecdhe` whatever their order.
                if name == "curves" || self.curves.is_none() {
                    self.curves = Some(arg()?.to_owned());
                }
            }
            "verify" => {
                self.verify = Some(match arg()? {
                    "none" => Verify::None,
                    "optional" => Verify::Optional,
                    "required" => Verify::Required,
                    other => {
                        return Err(format!("'verify' : unknown verify method '{other}', only 'none', 'optional', and 'required' are supported"))
                    }
                })
            }
            "ca-file" => self.ca_file = Some(based(ca_base, arg()?)),
            "ca-verify-file" => self.ca_verify_file = Some(based(ca_base, arg()?)),
            "crl-file" => self.crl_file = Some(based(ca_base, arg()?)),
            "ca-ignore-err" => self.ca_ignore_err = Some(IgnoredErrors::parse(name, arg()?)?),
            "crt-ignore-err" => self.crt_ignore_err = Some(IgnoredErrors::parse(name, arg()?)?),
            _ => return Ok(0),
        }
        Ok(1 + usize::from(takes_argument(name)))
    }
}

fn takes_argument(name: &str) -> bool {
    matches!(
        name,
        "alpn"
            | "ssl-min-ver"
            | "ssl-max-ver"
            | "ciphers"
            | "ciphersuites"
            | "curves"
            | "ecdhe"
            | "verify"
            | "ca-file"
            | "ca-verify-file"
            | "crl-file"
            | "ca-ignore-err"
            | "crt-ignore-err"
    )
}

/// `path` under `base` unless it is absolute (haproxy's `crt-base`,
/// `ca-base`).
pub(crate) fn based(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) if !path.starts_with('/') => format!("{}/{path}", base.trim_end_matches('/')),
        _ => path.to_owned(),
    }
}

/// Where a bind line's certificates come from, in the order given (the
/// first certificate loaded is the default one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CertSource {
    /// `crt`: a PEM file, or a folder of them.
    Crt(String),
    /// `crt-list`: a file naming certificates with settings and SNI
    /// filters (read with [`parse_crt_list`]).
    CrtList(String),
}

impl CertSource {
    /// The file (or folder) it names.
    pub fn path(&self) -> &str {
        match self {
            Self::Crt(path) | Self::CrtList(path) => path,
        }
    }
}

/// TLS on a `bind` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BindTls {
    /// The certificates, in order.
    pub certificates: Vec<CertSource>,
    /// The handshake settings, `ssl-default-bind-*` applied.
    pub options: TlsOptions,
    /// `strict-sni`: a client whose SNI matches no certificate (or that
    /// sends none) is refused rather than given the default one.
    pub strict_sni: bool,
    /// Where the `bind` line is, for messages about its certificates:
    /// its config file, its section's keyword (`frontend`, `listen`) and
    /// its address as written.
    pub written: (String, &'static str, String),
    /// `crt-base` and `ca-base` in force, for the entries of its
    /// `crt-list` files (as haproxy reads them).
    pub bases: (Option<String>, Option<String>),
    /// `ssl-load-extra-del-ext` in force.
    pub extra_del_ext: bool,
    /// `generate-certificates` with `ca-sign-file FILE`: a client whose
    /// SNI no certificate serves gets one made for its name, signed by
    /// FILE's CA (certificate and key).
    pub ca_sign_file: Option<String>,
    /// `generate-certificates` was given.
    pub generate_certificates: bool,
}

impl ServerTls {
    /// Traffic or checks shake hands with the server.
    pub fn used(&self) -> bool {
        self.enabled || self.checks == Some(true)
    }
}

/// The `global` TLS settings binds and servers start from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GlobalTls {
    /// `crt-base`: where relative `crt` paths are.
    pub crt_base: Option<String>,
    /// `ca-base`: where relative `ca-file` and `crl-file` paths are.
    pub ca_base: Option<String>,
    /// `ssl-default-bind-options`, `-ciphers`, `-ciphersuites`, `-curves`.
    pub bind_defaults: TlsOptions,
    /// `ssl-default-server-options`, `-ciphers`, `-ciphersuites`.
    pub server_defaults: TlsOptions,
    /// `ssl-server-verify none`: servers' certificates are not checked
    /// unless a `server` line says `verify required`.
    pub server_verify_none: bool,
    /// `ssl-load-extra-del-ext`: a `.crt` file's key is `NAME.key`, not
    /// `NAME.crt.key` (and its OCSP answer `NAME.ocsp`).
    pub extra_del_ext: bool,
}

impl super::Server {
    /// Its health checks shake hands over TLS: `check-ssl` (`no-check-
    /// ssl`) says so, else it says `ssl` and its checks go where its
    /// traffic goes (no `port` or `addr` of their own), as haproxy
    /// decides.
    pub fn checks_over_tls(&self) -> bool {
        let inherited = self.tls.enabled && self.check_port.is_none() && self.check_addr.is_none();
        self.tls.checks.unwrap_or(inherited)
    }
}

/// TLS to a server: `ssl` on a `server` line and what goes with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerTls {
    /// `ssl` (`no-ssl` undoes a `default-server`'s).
    pub enabled: bool,
    /// The handshake settings, `ssl-default-server-*` applied; `verify`
    /// is set once the line is read (`ssl-server-verify` for the default).
    pub options: TlsOptions,
    /// `crt`: the client certificate (PEM, its key with it) shown to the
    /// server.
    pub crt: Option<String>,
    /// `ssl-load-extra-del-ext` in force (for the key beside `crt`).
    pub extra_del_ext: bool,
    /// `verifyhost`: the name the server's certificate must carry.
    pub verifyhost: Option<String>,
    /// `check-ssl` (true) or `no-check-ssl` (false): whether health checks
    /// use TLS whatever the traffic does.
    pub checks: Option<bool>,
    /// `sni str(NAME)`: the server name sent (and checked, without
    /// `verifyhost`).
    pub sni: Option<String>,
    /// `sni EXPR` of any other expression (`req.hdr(host)`,
    /// `var(sess.sni)`): the server name sent is computed for each
    /// request; a connection is reused only for requests of its name.
    pub sni_expr: Option<crate::sample::Expr>,
    /// `check-sni NAME`: the server name the health checks send.
    pub check_sni: Option<String>,
}

/// One line of a `crt-list` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrtListLine {
    /// Its line number.
    pub line: u32,
    /// The certificate file.
    pub path: String,
    /// `[…]`: settings for this certificate over the bind line's.
    pub options: TlsOptions,
    /// The SNI filters (`*.example.com`, `!secure.example.com`); empty
    /// means the certificate's own names.
    pub filters: Vec<String>,
    /// `allow-0rtt` among its settings: kept and shown, though haven
    /// takes no early data.
    pub early_data: bool,
}

impl CrtListLine {
    /// The line as `show ssl crt-list` shows it: the certificate (with
    /// `:LINE` when `numbered`), the settings it gave in haproxy's order,
    /// its filters.
    pub fn shown(&self, numbered: bool) -> String {
        let mut out = self.path.clone();
        if numbered {
            out.push_str(&format!(":{}", self.line));
        }
        let o = &self.options;
        let mut settings: Vec<String> = Vec::new();
        if let Some(alpn) = &o.alpn {
            settings.push(format!("alpn {}", alpn.join(",")));
        }
        if let Some(verify) = o.verify {
            let word = match verify {
                Verify::None => "none",
                Verify::Optional => "optional",
                Verify::Required => "required",
            };
            settings.push(format!("verify {word}"));
        }
        if self.early_data {
            settings.push("allow-0rtt".into());
        }
        let named = [
            ("ca-file", &o.ca_file),
            ("crl-file", &o.crl_file),
            ("ciphers", &o.ciphers),
            ("ciphersuites", &o.ciphersuites),
            ("curves", &o.curves),
        ];
        for (name, value) in named {
            if let Some(value) = value {
                settings.push(format!("{name} {value}"));
            }
        }
        for (name, version) in [("ssl-min-ver", o.min), ("ssl-max-ver", o.max)] {
            if let Some(version) = version {
                settings.push(format!("{name} {}", version.name()));
            }
        }
        if !settings.is_empty() || self.early_data {
            out.push_str(&format!(" [{}]", settings.join(" ")));
        }
        for filter in &self.filters {
            out.push(' ');
            out.push_str(filter);
        }
        out
    }
}

/// Reads a `crt-list` file's `text` (`crt_base` for relative paths):
/// its lines, or the first bad one's message with its line number.
pub fn parse_crt_list(
    text: &str,
    bases: (Option<&str>, Option<&str>),
) -> Result<Vec<CrtListLine>, (u32, String)> {
    let (crt_base, ca_base) = bases;
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n as u32 + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let (path, rest) = content
            .split_once(char::is_whitespace)
            .unwrap_or((content, ""));
        let mut options = TlsOptions::default();
        let mut early_data = false;
        let mut rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('[') {
            let Some((settings, after)) = inner.split_once(']') else {
                return Err((line, "missing ']' after the certificate's settings".into()));
            };
            let words: Vec<&str> = settings.split_whitespace().collect();
            let mut i = 0;
            while i < words.len() {
                if words[i] == "allow-0rtt" {
                    early_data = true;
                    i += 1;
                    continue;
                }
                match options.read(&words[i..], ca_base) {
                    Ok(0) => return Err((line, format!("unknown ssl keyword {}", words[i]))),
                    Ok(n) => i += n,
                    Err(e) => return Err((line, e)),
                }
            }
            rest = after;
        }
        out.push(CrtListLine {
            line,
            path: based(crt_base, path),
            options,
            filters: rest
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect(),
            early_data,
        });
    }
    Ok(out)
}

impl Parser<'_> {
    /// Reads a TLS setting of a `bind` line at `words[0]`: how many words
    /// it took (`Ok(0)`: not a TLS setting).
    pub(crate) fn bind_tls_word(&self, tls: &mut BindTls, words: &[&str]) -> Result<usize, String> {
        let crt_base = self.base_on_default_path(self.global.tls.crt_base.as_deref());
        let ca_base = self.base_on_default_path(self.global.tls.ca_base.as_deref());
        match words[0] {
            "ssl" => Ok(1),
            "strict-sni" => {
                tls.strict_sni = true;
                Ok(1)
            }
            "generate-certificates" => {
                tls.generate_certificates = true;
                Ok(1)
            }
            "ca-sign-file" => {
                let path = words
                    .get(1)
                    .ok_or_else(|| "'ca-sign-file' : missing CAfile path".to_owned())?;
                tls.ca_sign_file = Some(based(ca_base.as_deref(), path));
                Ok(2)
            }
            kw @ ("crt" | "crt-list") => {
                let path = words
                    .get(1)
                    .ok_or_else(|| format!("'{kw}' : missing certificate location"))?;
                let path = based(crt_base.as_deref(), path);
                tls.certificates.push(match kw {
                    "crt" => CertSource::Crt(path),
                    _ => CertSource::CrtList(path),
                });
                Ok(2)
            }
            _ => tls.options.read(words, ca_base.as_deref()),
        }
    }

    /// The TLS of the `bind` line `addr` (its keyword at `col`), read
    /// whole: the global defaults applied, haproxy's checks made, and
    /// what haven does not offer said.
    pub(crate) fn bind_tls_finish(&mut self, mut tls: BindTls, addr: &str, col: u32) -> BindTls {
        tls.options = tls.options.over(&self.global.tls.bind_defaults);
        let global = &self.global.tls;
        tls.extra_del_ext = global.extra_del_ext;
        tls.bases = (
            self.base_on_default_path(global.crt_base.as_deref()),
            self.base_on_default_path(global.ca_base.as_deref()),
        );
        let section = self.section_keyword();
        tls.written = (self.file.clone(), section, addr.to_owned());
        let (name, at) = (
            self.current().map(|(_, n)| n).unwrap_or_default(),
            format!("[{}:{}]", self.file, self.line),
        );
        if tls.certificates.is_empty() {
            let msg = format!("Proxy '{name}': no SSL certificate specified for bind '{addr}' at {at} (use 'crt').");
            self.push(Severity::Error, Form::Unplaced, 0, msg);
        }
        if tls.generate_certificates && tls.ca_sign_file.is_none() {
            let msg = format!("Proxy '{name}': cannot enable certificate generation, no CA certificate File configured at {at}.");
            self.push(Severity::Error, Form::Unplaced, 0, msg);
        }
        let o = &tls.options;
        let no_ca = o.ca_file.is_none() && o.ca_verify_file.is_none();
        if o.verify.is_some_and(|v| v != Verify::None) && no_ca {
            let msg = format!("Proxy '{name}': verify is enabled but no CA file specified for bind '{addr}' at {at}.");
            self.push(Severity::Error, Form::Unplaced, 0, msg);
        }
        for what in unoffered(o) {
            self.not_supported(col, &format!("bind {what}"));
        }
        let loaded = match self.opts.certificates {
            Some(load) if !tls.certificates.is_empty() => load(&tls),
            _ => Ok(Vec::new()),
        };
        match loaded {
            // What `crt-list` lines ask for that haven does not offer.
            Ok(unoffered) => {
                for what in unoffered {
                    self.not_supported(col, &format!("bind {what}"));
                }
            }
            Err(message) => {
                let (_, section, addr) = &tls.written;
                let at = (self.file.clone(), self.line);
                let message = format!("'bind {addr}' in section '{section}' : {message}");
                self.post_error_at(Severity::Error, at, message);
            }
        }
        tls
    }

    /// Reads a TLS setting of a `server` line at `words[0]`: how many
    /// words it took (`Ok(0)`: not a TLS setting).
    pub(crate) fn server_tls_word(
        &self,
        tls: &mut ServerTls,
        words: &[&str],
    ) -> Result<usize, String> {
        let arg = words.get(1).copied();
        match (words[0], arg) {
            ("ssl", _) => tls.enabled = true,
            ("no-ssl", _) => tls.enabled = false,
            ("no-verifyhost", _) => tls.verifyhost = None,
            ("check-ssl", _) => tls.checks = Some(true),
            ("no-check-ssl", _) => tls.checks = Some(false),
            ("crt", Some(path)) => {
                let base = self.base_on_default_path(self.global.tls.crt_base.as_deref());
                tls.crt = Some(based(base.as_deref(), path));
                return Ok(2);
            }
            ("verifyhost", Some(name)) => {
                tls.verifyhost = Some(name.to_owned());
                return Ok(2);
            }
            ("check-sni", Some(name)) => {
                tls.check_sni = Some(name.to_owned());
                return Ok(2);
            }
            ("sni", Some(expr)) => {
                // A fixed name is made once; any other expression is
                // computed for each request.
                let Ok(e) = crate::sample::Expr::parse(expr) else {
                    return Ok(0);
                };
                match (&e.fetch, e.convs.is_empty()) {
                    (crate::sample::Fetch::Constant(crate::sample::Constant::Str(name)), true) => {
                        tls.sni = Some(name.clone());
                    }
                    _ => tls.sni_expr = Some(e),
                }
                return Ok(2);
            }
            ("verify", Some("optional")) => {
                return Err("'verify' : unknown verify method 'optional', only 'none' and 'required' are supported".into())
            }
            // Not a setting for the server's own TLS connections.
            ("prefer-client-ciphers" | "strict-sni", _) => return Ok(0),
            _ => {
                let base = self.base_on_default_path(self.global.tls.ca_base.as_deref());
                return tls.options.read(words, base.as_deref());
            }
        }
        Ok(1)
    }

    /// The TLS of a `server` line (`who` names it, its keyword at `col`),
    /// read whole: the global defaults applied, the certificate check it
    /// makes settled, and what haven does not offer said.
    pub(crate) fn server_tls_finish(&mut self, tls: &mut ServerTls, who: &str, col: u32) {
        tls.options = tls.options.over(&self.global.tls.server_defaults);
        tls.extra_del_ext = self.global.tls.extra_del_ext;
        let by_default = !self.global.tls.server_verify_none;
        let verify = tls.options.verify.unwrap_or(match by_default {
            true => Verify::Required,
            false => Verify::None,
        });
        tls.options.verify = Some(verify);
        if verify == Verify::Required && tls.options.ca_file.is_none() {
            // haproxy's words depend on the global setting alone.
            let why = match by_default {
                true => "verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.",
                false => "verify is enabled but no CA file specified.",
            };
            let at = format!("[{}:{}] : ", self.file, self.line);
            self.push(
                Severity::Error,
                Form::Unplaced,
                0,
                format!("{at}{who}{why}"),
            );
        }
        for what in unoffered(&tls.options) {
            self.not_supported(col, &format!("server {what}"));
        }
    }

    /// A `global` TLS keyword (`crt-base`, `ssl-default-bind-…`); false
    /// when `words[0]` is none of them.
    pub(crate) fn global_tls(&mut self, words: &[Word]) -> bool {
        let kw = words[0].text.as_str();
        let arg = words.get(1).map(|w| w.text.clone());
        let defaults = &mut self.global.tls.bind_defaults;
        let slot = match kw {
            "crt-base" => &mut self.global.tls.crt_base,
            "ca-base" => &mut self.global.tls.ca_base,
            "ssl-default-bind-ciphers" => &mut defaults.ciphers,
            "ssl-default-bind-ciphersuites" => &mut defaults.ciphersuites,
            "ssl-default-bind-curves" => &mut defaults.curves,
            "ssl-default-server-ciphers" => &mut self.global.tls.server_defaults.ciphers,
            "ssl-default-server-ciphersuites" => &mut self.global.tls.server_defaults.ciphersuites,
            "ssl-load-extra-del-ext" => {
                self.global.tls.extra_del_ext = true;
                return true;
            }
            "ssl-server-verify" => {
                match words.get(1).map(|w| w.text.as_str()) {
                    Some("none") => self.global.tls.server_verify_none = true,
                    Some("required") => self.global.tls.server_verify_none = false,
                    _ => self.error(
                        Form::Parsing,
                        words[0].col,
                        "'ssl-server-verify' expects 'none' or 'required' as argument.".into(),
                    ),
                }
                return true;
            }
            "ssl-default-bind-options" | "ssl-default-server-options" => {
                let texts: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                let mut i = 0;
                while i < texts.len() {
                    let col = words[i + 1].col;
                    let target = match kw {
                        "ssl-default-bind-options" => &mut self.global.tls.bind_defaults,
                        _ => &mut self.global.tls.server_defaults,
                    };
                    match target.read(&texts[i..], None) {
                        Ok(0) => {
                            let msg = format!("'{kw}' : unknown option '{}'.", texts[i]);
                            self.error(Form::Parsing, col, msg);
                            i += 1;
                        }
                        Ok(n) => i += n,
                        Err(e) => {
                            self.error(Form::Parsing, col, format!("'{kw}' : {e}"));
                            i += 1;
                        }
                    }
                }
                return true;
            }
            _ => return false,
        };
        match arg {
            Some(v) => *slot = Some(v),
            None => self.error(
                Form::Parsing,
                words[0].col,
                format!("'{kw}' expects an argument."),
            ),
        }
        true
    }
}

/// The curve names haven offers, as OpenSSL and haproxy write them.
pub const CURVES: [&str; 6] = [
    "X25519",
    "P-256",
    "prime256v1",
    "secp256r1",
    "P-384",
    "secp384r1",
];

/// What `o` asks for that haven does not offer, each as its row in the
/// table of unsupported keywords names it (after `bind `).
pub fn unoffered(o: &TlsOptions) -> Vec<String> {
    let mut out = Vec::new();
    let versions = o.versions();
    if let Some(old) = versions.iter().find(|v| **v < TlsVersion::Tls12) {
        out.push(format!("ssl-min-ver {}", old.name()));
    }
    if let Some(text) = &o.ciphers {
        let selection = super::ciphers::select(text);
        if !selection.missing.is_empty() {
            out.push(format!("ciphers {}", selection.missing.join(":")));
        }
        if selection.ciphers.is_empty() && versions.contains(&TlsVersion::Tls12) {
            out.push("ciphers none".into());
        }
    }
    if let Some(text) = &o.ciphersuites {
        let selection = super::ciphers::select_suites(text);
        if !selection.missing.is_empty() {
            out.push(format!("ciphersuites {}", selection.missing.join(":")));
        }
    }
    if let Some(text) = &o.curves {
        let missing: Vec<&str> = text.split(':').filter(|c| !CURVES.contains(c)).collect();
        if !missing.is_empty() {
            out.push(format!("curves {}", missing.join(":")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a server sending a fixed SNI, one computing it from the
    // request.
    // Output: the fixed name is kept as a name, the other as its
    // expression; neither is said unsupported.
    #[test]
    fn a_server_sni_is_a_name_or_an_expression() {
        let text = "backend b\n    mode http\n    server a 127.0.0.1:1 ssl verify none sni str(a.test)\n    server h 127.0.0.1:2 ssl verify none sni req.hdr(host),lower\n";
        let parsed = crate::config::haproxy::parse(&[("t.cfg", text)], &Default::default());
        let cfg = parsed.config.expect("valid");
        let servers = &cfg.proxies[0].servers;
        assert_eq!(servers[0].tls.sni.as_deref(), Some("a.test"));
        assert_eq!(servers[0].tls.sni_expr, None);
        assert_eq!(servers[1].tls.sni, None);
        let computed = crate::sample::Expr::parse("req.hdr(host),lower").expect("expression");
        assert_eq!(servers[1].tls.sni_expr, Some(computed));
        assert!(cfg.unsupported.is_empty(), "{:?}", cfg.unsupported);
    }

    #[test]
    fn the_default_range_is_tls_1_2_to_1_3_narrowed_by_flags() {
        let mut o = TlsOptions::default();
        assert_eq!(o.versions(), [TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(o.read(&["no-tlsv13"], None), Ok(1));
        assert_eq!(o.versions(), [TlsVersion::Tls12]);
        assert_eq!(o.read(&["ssl-min-ver", "TLSv1.0"], None), Ok(2));
        assert_eq!(
            o.versions(),
            [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12]
        );
        assert_eq!(o.read(&["force-tlsv13"], None), Ok(1));
        assert_eq!(o.versions(), [TlsVersion::Tls13]);
        assert!(o.read(&["ssl-max-ver", "TLSv9"], None).is_err());
        assert_eq!(o.read(&["strict-sni"], None), Ok(0));
    }

    #[test]
    fn a_bind_setting_wins_over_the_global_default() {
        let mut global = TlsOptions::default();
        global.read(&["ciphers", "ECDHE+AESGCM"], None).ok();
        global.read(&["no-tls-tickets"], None).ok();
        let mut bind = TlsOptions::default();
        bind.read(&["ciphers", "ECDHE-RSA-AES128-GCM-SHA256"], None)
            .ok();
        let both = bind.over(&global);
        assert_eq!(both.ciphers.as_deref(), Some("ECDHE-RSA-AES128-GCM-SHA256"));
        assert!(both.no_tickets);
    }

    // Input: `ssl-load-extra-del-ext` in global; a TLS bind, a TLS server
    // with `crt`; `ca-ignore-err all` and `crt-ignore-err 10,23` on the
    // bind.
    // Output: both carry the setting; the ignore lists read as given.
    #[test]
    fn global_and_bind_settings_reach_binds_and_servers() {
        use crate::config::haproxy::{parse, ParseOptions};
        let text = "global\n  ssl-load-extra-del-ext\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten a\n  bind :443 ssl crt /etc/ssl/site.crt ca-file /etc/ca.pem verify optional ca-ignore-err all crt-ignore-err 10,23\n  server s 127.0.0.1:443 ssl verify none crt /etc/ssl/client.crt\n";
        let parsed = parse(&[("t.cfg", text)], &ParseOptions::default());
        let cfg = parsed.config.expect("valid");
        let bind = cfg.proxies[0].binds[0].tls.as_deref().expect("tls");
        assert!(bind.extra_del_ext);
        assert!(cfg.proxies[0].servers[0].tls.extra_del_ext);
        assert_eq!(bind.options.ca_ignore_err, Some(IgnoredErrors::All));
        assert_eq!(
            bind.options.crt_ignore_err,
            Some(IgnoredErrors::Codes(vec![10, 23]))
        );
        assert!(IgnoredErrors::Codes(vec![10, 23]).covers(23));
        assert!(!IgnoredErrors::Codes(vec![10, 23]).covers(20));
    }

    #[test]
    fn crt_list_lines_carry_settings_and_filters() {
        let text = "# certificates\n\ncert1.pem !*\ncertW.pem [alpn h2,http/1.1 verify required ca-file ca.pem] *.Domain.tld !secure.domain.tld\n/abs/c.pem\n";
        let lines = parse_crt_list(text, (Some("/etc/ssl"), Some("/etc/ca"))).expect("valid");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].path, "/etc/ssl/cert1.pem");
        assert_eq!(lines[0].filters, ["!*"]);
        assert_eq!(lines[1].line, 4);
        assert_eq!(lines[1].filters, ["*.domain.tld", "!secure.domain.tld"]);
        assert_eq!(lines[1].options.verify, Some(Verify::Required));
        assert_eq!(lines[1].options.ca_file.as_deref(), Some("/etc/ca/ca.pem"));
        assert_eq!(lines[2].path, "/abs/c.pem");
        assert_eq!(
            parse_crt_list("c.pem [alpn h2", (None, None)),
            Err((1, "missing ']' after the certificate's settings".into()))
        );
        assert!(parse_crt_list("c.pem [bogus 1]", (None, None)).is_err());
    }

    // Input: crt-list lines with settings in another order than
    // haproxy's, `allow-0rtt`, filters, and none of either.
    // Output: `show ssl crt-list` prints them in haproxy's order, with
    // the line number under `-n`, and no brackets for a line without.
    #[test]
    fn crt_list_lines_are_shown_in_haproxys_order() {
        let text = "/e.pem [ssl-min-ver SSLv3 verify none allow-0rtt ca-file /ca.pem] Localhost !www.test1.com\n/c.pem\n";
        let lines = parse_crt_list(text, (None, None)).expect("valid");
        assert!(lines[0].early_data);
        assert_eq!(
            lines[0].shown(false),
            "/e.pem [verify none allow-0rtt ca-file /ca.pem ssl-min-ver SSLv3] localhost !www.test1.com"
        );
        assert_eq!(lines[1].shown(true), "/c.pem:2");
    }
}
