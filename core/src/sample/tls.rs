//! The `ssl_fc*`, `ssl_c_*` and `ssl_f_*` fetches: what a client
//! connection's TLS handshake agreed on, and the certificates each side
//! presented.

use super::value::Value;
use serde::Serialize;
use std::sync::Arc;

/// What a TLS client connection agreed on, as the fetches and the logs
/// name it (haproxy's and OpenSSL's names).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TlsSession {
    /// The server name the client asked for (SNI), lower case.
    pub sni: Option<String>,
    /// `TLSv1.2`, `TLSv1.3`.
    pub protocol: &'static str,
    /// The cipher, by OpenSSL's name (`ECDHE-RSA-AES128-GCM-SHA256`,
    /// `TLS_AES_256_GCM_SHA384`).
    pub cipher: &'static str,
    /// The protocol agreed by ALPN.
    pub alpn: Option<String>,
    /// The session was resumed rather than negotiated afresh.
    pub resumed: bool,
    /// The certificate the client presented (verified: one that fails
    /// ends the handshake).
    pub client_certificate: Option<Box<CertFacts>>,
    /// The certificate this side presented to the client.
    pub frontend_certificate: Option<Arc<CertFacts>>,
    /// The client certificate's verification result, by OpenSSL's code
    /// (0: none; else an error `crt-ignore-err` or `ca-ignore-err` let
    /// pass).
    pub client_verify: i64,
}

/// What a TLS connection to a server agreed on (`ssl_bc_*`), and the
/// certificate the server presented (`ssl_s_*`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ServerTls {
    /// `TLSv1.2`, `TLSv1.3`.
    pub protocol: &'static str,
    /// The cipher, by OpenSSL's name.
    pub cipher: &'static str,
    /// The protocol agreed by ALPN.
    pub alpn: Option<String>,
    /// The session was resumed rather than negotiated afresh.
    pub resumed: bool,
    /// What the server's certificate says.
    pub certificate: Option<CertFacts>,
}

/// What the `ssl_c_*` and `ssl_f_*` fetches read of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CertFacts {
    /// The subject's entries in order, by their short names (`CN`).
    pub subject: Vec<(String, String)>,
    /// The issuer's entries.
    pub issuer: Vec<(String, String)>,
    /// The serial number's bytes.
    pub serial: Vec<u8>,
    /// Validity start as the certificate writes it (`YYMMDDhhmmssZ`).
    pub not_before: String,
    /// Validity end.
    pub not_after: String,
    /// The whole certificate, DER.
    pub der: Vec<u8>,
    /// Its signature's algorithm, by OpenSSL's name (`RSA-SHA256`).
    pub sig_alg: String,
    /// Its public key's algorithm, by OpenSSL's name (`rsaEncryption`).
    pub key_alg: String,
    /// Its X.509 version (3 for v3).
    pub version: i64,
    /// The chain the peer sent, DER after DER: a server's from its own
    /// certificate on; a client's without its own (as OpenSSL keeps it).
    pub chain_der: Vec<u8>,
}

/// Whose certificate a fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CertOf {
    /// The client's (`ssl_c_*`).
    Client,
    /// This side's, as presented to the client (`ssl_f_*`).
    Frontend,
    /// The server's, on the connection to it (`ssl_s_*`).
    Server,
}

/// What a fetch reads of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CertField {
    /// `s_dn`, `i_dn`: the subject or issuer, or one entry of it.
    Dn(DnPart),
    /// `serial` (binary).
    Serial,
    /// `notbefore`, `notafter` (`YYMMDDhhmmssZ`).
    Validity {
        /// The end (else the start).
        end: bool,
    },
    /// `der`: the whole certificate (binary).
    Der,
    /// `sha1`: the SHA-1 of its DER (binary).
    Sha1,
    /// `sig_alg`.
    SigAlg,
    /// `key_alg`.
    KeyAlg,
    /// `version` (integer).
    Version,
    /// `chain_der`: the chain the peer sent (binary).
    ChainDer,
}

impl CertField {
    /// The field the fetch suffix `name` (with `args`) reads, if any.
    fn parse(name: &str, args: &[String]) -> Result<Option<Self>, String> {
        Ok(Some(match name {
            "s_dn" | "i_dn" => Self::Dn(DnPart::parse(name == "s_dn", name, args)?),
            "serial" => Self::Serial,
            "notbefore" => Self::Validity { end: false },
            "notafter" => Self::Validity { end: true },
            "der" => Self::Der,
            "sha1" => Self::Sha1,
            "sig_alg" => Self::SigAlg,
            "key_alg" => Self::KeyAlg,
            "version" => Self::Version,
            "chain_der" => Self::ChainDer,
            _ => return Ok(None),
        }))
    }

    /// Its value in `cert`.
    fn of(&self, cert: &CertFacts) -> Option<Value<'static>> {
        let bin = |bytes: Vec<u8>| Some(Value::Bin(std::borrow::Cow::Owned(bytes)));
        match self {
            Self::Dn(part) => {
                let dn = if part.subject {
                    &cert.subject
                } else {
                    &cert.issuer
                };
                part.of(dn).map(Value::string)
            }
            Self::Serial => bin(cert.serial.clone()),
            Self::Validity { end: true } => Some(Value::string(cert.not_after.clone())),
            Self::Validity { end: false } => Some(Value::string(cert.not_before.clone())),
            Self::Der => bin(cert.der.clone()),
            Self::Sha1 => {
                use sha1::Digest;
                bin(sha1::Sha1::digest(&cert.der).to_vec())
            }
            Self::SigAlg => Some(Value::string(cert.sig_alg.clone())),
            Self::KeyAlg => Some(Value::string(cert.key_alg.clone())),
            Self::Version => Some(Value::Int(cert.version)),
            Self::ChainDer => bin(cert.chain_der.clone()),
        }
    }
}

/// A distinguished name, or one of its entries: `ssl_c_s_dn([entry[,
/// occ]])`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnPart {
    /// The subject (else the issuer).
    pub subject: bool,
    /// The entry's short name (`CN`), any case; `None`: the whole DN.
    pub entry: Option<String>,
    /// Which occurrence: from the start (1 = first), or from the end when
    /// negative.
    pub occ: i64,
}

impl DnPart {
    /// The part fetch `name`'s `args` (`[entry[, occ]]`) name.
    fn parse(subject: bool, name: &str, args: &[String]) -> Result<Self, String> {
        let occ = match args.get(1) {
            Some(n) => n
                .parse::<i64>()
                .ok()
                .filter(|n| *n != 0)
                .ok_or_else(|| format!("fetch method '{name}' : invalid occurrence '{n}'"))?,
            None => 1,
        };
        let entry = args.first().filter(|e| !e.is_empty()).cloned();
        Ok(Self {
            subject,
            entry,
            occ,
        })
    }

    /// Its value in `dn`: the entry's, or the whole DN in OpenSSL's
    /// one-line form (`/C=FR/CN=www.example.com`).
    fn of(&self, dn: &[(String, String)]) -> Option<String> {
        let Some(entry) = &self.entry else {
            return Some(dn.iter().map(|(k, v)| format!("/{k}={v}")).collect());
        };
        let found: Vec<&String> = dn
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(entry))
            .map(|(_, v)| v)
            .collect();
        let at = match self.occ {
            n if n > 0 => usize::try_from(n - 1).ok()?,
            n => found.len().checked_sub(usize::try_from(-n).ok()?)?,
        };
        found.get(at).map(|v| (*v).clone())
    }
}

/// A TLS fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TlsFetch {
    /// `ssl_fc`: the client connection is TLS.
    Fc,
    /// `ssl_fc_sni`.
    Sni,
    /// `ssl_fc_has_sni`.
    HasSni,
    /// `ssl_fc_protocol`.
    Protocol,
    /// `ssl_fc_cipher`.
    Cipher,
    /// `ssl_fc_alpn`.
    Alpn,
    /// `ssl_fc_is_resumed`.
    Resumed,
    /// `ssl_c_used`, `ssl_fc_has_crt`: the client sent a certificate.
    ClientCertificate,
    /// `ssl_c_verify`: the verification's error code (0: none).
    ClientVerify,
    /// `ssl_c_*`, `ssl_f_*`, `ssl_s_*`: what a certificate says.
    Cert(CertOf, CertField),
    /// `ssl_bc`: the server connection is TLS.
    Bc,
    /// `ssl_bc_protocol`.
    BcProtocol,
    /// `ssl_bc_cipher`.
    BcCipher,
    /// `ssl_bc_alpn`.
    BcAlpn,
    /// `ssl_bc_is_resumed`.
    BcResumed,
}

impl TlsFetch {
    /// The fetch `name` (with `args`) stands for, if it is a TLS one.
    pub fn parse(name: &str, args: &[String]) -> Result<Option<Self>, String> {
        let of = match name.get(..6) {
            Some("ssl_c_") => Some(CertOf::Client),
            Some("ssl_f_") => Some(CertOf::Frontend),
            Some("ssl_s_") => Some(CertOf::Server),
            _ => None,
        };
        if let Some(of) = of {
            if let Some(field) = CertField::parse(&name[6..], args)? {
                return Ok(Some(Self::Cert(of, field)));
            }
        }
        Ok(Self::simple(name))
    }

    /// The fetch `name` stands for, if it is a TLS one without arguments.
    fn simple(name: &str) -> Option<Self> {
        Some(match name {
            "ssl_fc" => Self::Fc,
            "ssl_fc_sni" => Self::Sni,
            "ssl_fc_has_sni" => Self::HasSni,
            "ssl_fc_protocol" => Self::Protocol,
            "ssl_fc_cipher" => Self::Cipher,
            "ssl_fc_alpn" => Self::Alpn,
            "ssl_fc_is_resumed" => Self::Resumed,
            "ssl_c_used" | "ssl_fc_has_crt" => Self::ClientCertificate,
            "ssl_c_verify" => Self::ClientVerify,
            "ssl_bc" => Self::Bc,
            "ssl_bc_protocol" => Self::BcProtocol,
            "ssl_bc_cipher" => Self::BcCipher,
            "ssl_bc_alpn" => Self::BcAlpn,
            "ssl_bc_is_resumed" => Self::BcResumed,
            _ => return None,
        })
    }

    /// Its value on a client connection with `tls` (`None`: clear
    /// text), whose server connection agreed on `server` (`None`: none
    /// yet, or clear): on a clear connection only the booleans have one,
    /// false.
    pub fn eval(
        &self,
        tls: Option<&TlsSession>,
        server: Option<&ServerTls>,
    ) -> Option<Value<'static>> {
        match self {
            Self::Cert(CertOf::Server, field) => return field.of(server?.certificate.as_ref()?),
            Self::Bc => return Some(Value::Bool(server.is_some())),
            Self::BcProtocol => return Some(Value::string(server?.protocol)),
            Self::BcCipher => return Some(Value::string(server?.cipher)),
            Self::BcAlpn => return server?.alpn.clone().map(Value::string),
            Self::BcResumed => return Some(Value::Bool(server?.resumed)),
            _ => {}
        }
        let Some(tls) = tls else {
            return self.yields_bool().then_some(Value::Bool(false));
        };
        match self {
            Self::Fc => Some(Value::Bool(true)),
            Self::Sni => tls.sni.clone().map(Value::string),
            Self::HasSni => Some(Value::Bool(tls.sni.is_some())),
            Self::Protocol => Some(Value::string(tls.protocol)),
            Self::Cipher => Some(Value::string(tls.cipher)),
            Self::Alpn => tls.alpn.clone().map(Value::string),
            Self::Resumed => Some(Value::Bool(tls.resumed)),
            Self::ClientCertificate => Some(Value::Bool(tls.client_certificate.is_some())),
            Self::ClientVerify => Some(Value::Int(tls.client_verify)),
            Self::Cert(CertOf::Client, field) => field.of(tls.client_certificate.as_deref()?),
            Self::Cert(CertOf::Frontend, field) => field.of(tls.frontend_certificate.as_deref()?),
            Self::Cert(CertOf::Server, _)
            | Self::Bc
            | Self::BcProtocol
            | Self::BcCipher
            | Self::BcAlpn
            | Self::BcResumed => None,
        }
    }

    /// The fetch yields a boolean.
    pub fn yields_bool(&self) -> bool {
        matches!(
            self,
            Self::Fc
                | Self::HasSni
                | Self::Resumed
                | Self::ClientCertificate
                | Self::Bc
                | Self::BcResumed
        )
    }

    /// The fetch yields an integer.
    pub fn yields_int(&self) -> bool {
        matches!(self, Self::ClientVerify | Self::Cert(_, CertField::Version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_certificate_dn_reads_whole_or_by_entry() {
        let facts = CertFacts {
            subject: vec![
                ("C".into(), "FR".into()),
                ("OU".into(), "a".into()),
                ("OU".into(), "b".into()),
                ("CN".into(), "client.test".into()),
            ],
            ..CertFacts::default()
        };
        let tls = TlsSession {
            client_certificate: Some(Box::new(facts)),
            ..TlsSession::default()
        };
        let fetch = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            let f = TlsFetch::parse("ssl_c_s_dn", &args)
                .expect("valid")
                .expect("tls");
            f.eval(Some(&tls), None).map(|v| v.to_text().into_owned())
        };
        assert_eq!(
            fetch(&[]).as_deref(),
            Some("/C=FR/OU=a/OU=b/CN=client.test")
        );
        assert_eq!(fetch(&["cn"]).as_deref(), Some("client.test"));
        assert_eq!(fetch(&["OU", "2"]).as_deref(), Some("b"));
        assert_eq!(fetch(&["OU", "-1"]).as_deref(), Some("b"));
        assert_eq!(fetch(&["OU", "-2"]).as_deref(), Some("a"));
        assert_eq!(fetch(&["O"]), None);
        assert!(TlsFetch::parse("ssl_c_s_dn", &["CN".into(), "x".into()]).is_err());
    }

    // Input: `ssl_f_*` and `ssl_c_*` fetches over a session whose
    // presented certificate is known and whose client sent none.
    // Output: each field as haproxy gives it (the SHA-1 computed from
    // the DER, the version an integer); the client's fields have no
    // value; an unknown suffix is no TLS fetch.
    #[test]
    fn certificate_fetches_read_the_presented_certificate() {
        let facts = CertFacts {
            der: b"abc".to_vec(),
            serial: vec![2],
            sig_alg: "RSA-SHA256".into(),
            key_alg: "rsaEncryption".into(),
            version: 3,
            not_after: "180116230238Z".into(),
            ..CertFacts::default()
        };
        let tls = TlsSession {
            frontend_certificate: Some(Arc::new(facts)),
            ..TlsSession::default()
        };
        let read = |name: &str| {
            let fetch = TlsFetch::parse(name, &[]).expect("valid").expect("tls");
            fetch
                .eval(Some(&tls), None)
                .map(|v| v.to_text().into_owned())
        };
        let sha1_of_abc = [
            0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
            0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
        ];
        let sha1 = TlsFetch::parse("ssl_f_sha1", &[])
            .expect("valid")
            .expect("tls");
        assert_eq!(
            sha1.eval(Some(&tls), None),
            Some(Value::Bin(std::borrow::Cow::Owned(sha1_of_abc.to_vec())))
        );
        assert_eq!(read("ssl_f_sig_alg").as_deref(), Some("RSA-SHA256"));
        assert_eq!(read("ssl_f_key_alg").as_deref(), Some("rsaEncryption"));
        assert_eq!(read("ssl_f_notafter").as_deref(), Some("180116230238Z"));
        let version = TlsFetch::parse("ssl_f_version", &[])
            .expect("valid")
            .expect("tls");
        assert!(version.yields_int());
        assert_eq!(version.eval(Some(&tls), None), Some(Value::Int(3)));
        assert_eq!(read("ssl_c_der"), None);
        assert_eq!(TlsFetch::parse("ssl_f_nothing", &[]), Ok(None));
    }

    // Input: `ssl_s_version` and `ssl_s_chain_der` with and without a
    // server certificate, on a clear client connection.
    // Output: they read the server's certificate, whatever the client
    // connection is; without one, no value.
    #[test]
    fn server_certificate_fetches_read_the_servers_certificate() {
        let server = ServerTls {
            certificate: Some(CertFacts {
                version: 3,
                chain_der: vec![0x30, 0x82],
                ..CertFacts::default()
            }),
            ..ServerTls::default()
        };
        let fetch = |name: &str| TlsFetch::parse(name, &[]).expect("valid").expect("tls");
        let version = fetch("ssl_s_version");
        assert_eq!(version.eval(None, Some(&server)), Some(Value::Int(3)));
        assert_eq!(version.eval(None, None), None);
        assert_eq!(
            fetch("ssl_s_chain_der").eval(None, Some(&server)),
            Some(Value::Bin(std::borrow::Cow::Owned(vec![0x30, 0x82])))
        );
    }

    // Input: the `ssl_bc*` fetches over a resumed TLS 1.3 server
    // connection with ALPN, and without a TLS server connection.
    // Output: what the server connection agreed on; without one, only
    // `ssl_bc` has a value, false.
    #[test]
    fn backend_fetches_read_the_server_connection() {
        let server = ServerTls {
            protocol: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
            alpn: Some("h2".into()),
            resumed: true,
            certificate: None,
        };
        let eval = |name: &str, server: Option<&ServerTls>| {
            let fetch = TlsFetch::parse(name, &[]).expect("valid").expect("tls");
            fetch.eval(None, server).map(|v| v.to_text().into_owned())
        };
        let names = [
            "ssl_bc",
            "ssl_bc_protocol",
            "ssl_bc_cipher",
            "ssl_bc_alpn",
            "ssl_bc_is_resumed",
        ];
        let on_tls: Vec<_> = names.iter().map(|n| eval(n, Some(&server))).collect();
        assert_eq!(
            on_tls,
            [
                Some("1".to_owned()),
                Some("TLSv1.3".into()),
                Some("TLS_AES_128_GCM_SHA256".into()),
                Some("h2".into()),
                Some("1".into())
            ]
        );
        assert_eq!(eval("ssl_bc", None).as_deref(), Some("0"));
        assert_eq!(eval("ssl_bc_is_resumed", None), None);
        assert_eq!(eval("ssl_bc_protocol", None), None);
    }

    #[test]
    fn clear_connections_answer_only_the_booleans() {
        assert_eq!(TlsFetch::Fc.eval(None, None), Some(Value::Bool(false)));
        assert_eq!(TlsFetch::Sni.eval(None, None), None);
        let tls = TlsSession {
            sni: Some("a.test".into()),
            protocol: "TLSv1.3",
            cipher: "TLS_AES_256_GCM_SHA384",
            ..TlsSession::default()
        };
        assert_eq!(TlsFetch::Fc.eval(Some(&tls), None), Some(Value::Bool(true)));
        assert_eq!(
            TlsFetch::Sni.eval(Some(&tls), None),
            Some(Value::string("a.test"))
        );
        assert_eq!(TlsFetch::Alpn.eval(Some(&tls), None), None);
        assert_eq!(
            TlsFetch::parse("ssl_fc_has_crt", &[]),
            Ok(Some(TlsFetch::ClientCertificate))
        );
    }
}
