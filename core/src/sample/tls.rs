//! The `ssl_fc*` and `ssl_c_*` fetches: what a client connection's TLS
//! handshake agreed on.

use super::value::Value;
use serde::Serialize;

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
}

/// What the `ssl_c_*` fetches read of a certificate.
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
    /// `ssl_c_s_dn`, `ssl_c_i_dn`: the client certificate's subject or
    /// issuer, or one entry of it.
    ClientDn(DnPart),
    /// `ssl_c_serial`: its serial number (binary).
    ClientSerial,
    /// `ssl_c_notbefore`, `ssl_c_notafter`: its validity (`YYMMDDhhmmssZ`).
    ClientValidity {
        /// The end (else the start).
        end: bool,
    },
}

impl TlsFetch {
    /// The fetch `name` (with `args`) stands for, if it is a TLS one.
    pub fn parse(name: &str, args: &[String]) -> Result<Option<Self>, String> {
        if let Some(subject) = match name {
            "ssl_c_s_dn" => Some(true),
            "ssl_c_i_dn" => Some(false),
            _ => None,
        } {
            let occ =
                match args.get(1) {
                    Some(n) => n.parse::<i64>().ok().filter(|n| *n != 0).ok_or_else(|| {
                        format!("fetch method '{name}' : invalid occurrence '{n}'")
                    })?,
                    None => 1,
                };
            let entry = args.first().filter(|e| !e.is_empty()).cloned();
            return Ok(Some(Self::ClientDn(DnPart {
                subject,
                entry,
                occ,
            })));
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
            "ssl_c_serial" => Self::ClientSerial,
            "ssl_c_notbefore" => Self::ClientValidity { end: false },
            "ssl_c_notafter" => Self::ClientValidity { end: true },
            _ => return None,
        })
    }

    /// Its value on a connection with `tls` (`None`: clear text): on a
    /// clear connection only the booleans have one, false.
    pub fn eval(&self, tls: Option<&TlsSession>) -> Option<Value<'static>> {
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
            Self::ClientVerify => Some(Value::Int(0)),
            Self::ClientDn(part) => {
                let cert = tls.client_certificate.as_deref()?;
                let dn = if part.subject {
                    &cert.subject
                } else {
                    &cert.issuer
                };
                part.of(dn).map(Value::string)
            }
            Self::ClientSerial => {
                let cert = tls.client_certificate.as_deref()?;
                Some(Value::Bin(std::borrow::Cow::Owned(cert.serial.clone())))
            }
            Self::ClientValidity { end } => {
                let cert = tls.client_certificate.as_deref()?;
                let at = if *end {
                    &cert.not_after
                } else {
                    &cert.not_before
                };
                Some(Value::string(at.clone()))
            }
        }
    }

    /// The fetch yields a boolean.
    pub fn yields_bool(&self) -> bool {
        matches!(
            self,
            Self::Fc | Self::HasSni | Self::Resumed | Self::ClientCertificate
        )
    }

    /// The fetch yields an integer.
    pub fn yields_int(&self) -> bool {
        *self == Self::ClientVerify
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
            f.eval(Some(&tls)).map(|v| v.to_text().into_owned())
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

    #[test]
    fn clear_connections_answer_only_the_booleans() {
        assert_eq!(TlsFetch::Fc.eval(None), Some(Value::Bool(false)));
        assert_eq!(TlsFetch::Sni.eval(None), None);
        let tls = TlsSession {
            sni: Some("a.test".into()),
            protocol: "TLSv1.3",
            cipher: "TLS_AES_256_GCM_SHA384",
            ..TlsSession::default()
        };
        assert_eq!(TlsFetch::Fc.eval(Some(&tls)), Some(Value::Bool(true)));
        assert_eq!(
            TlsFetch::Sni.eval(Some(&tls)),
            Some(Value::string("a.test"))
        );
        assert_eq!(TlsFetch::Alpn.eval(Some(&tls)), None);
        assert_eq!(
            TlsFetch::parse("ssl_fc_has_crt", &[]),
            Ok(Some(TlsFetch::ClientCertificate))
        );
    }
}
