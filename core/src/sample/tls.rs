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
    /// The client presented a certificate (then verified: one that fails
    /// ends the handshake).
    pub client_certificate: bool,
}

/// A TLS fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

impl TlsFetch {
    /// The fetch `name` stands for, if it is a TLS one.
    pub fn parse(name: &str) -> Option<Self> {
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
            _ => return None,
        })
    }

    /// Its value on a connection with `tls` (`None`: clear text): on a
    /// clear connection only the booleans have one, false.
    pub fn eval(self, tls: Option<&TlsSession>) -> Option<Value<'static>> {
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
            Self::ClientCertificate => Some(Value::Bool(tls.client_certificate)),
            Self::ClientVerify => Some(Value::Int(0)),
        }
    }

    /// The fetch yields a boolean.
    pub fn yields_bool(self) -> bool {
        matches!(
            self,
            Self::Fc | Self::HasSni | Self::Resumed | Self::ClientCertificate
        )
    }

    /// The fetch yields an integer.
    pub fn yields_int(self) -> bool {
        self == Self::ClientVerify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            TlsFetch::parse("ssl_fc_has_crt"),
            Some(TlsFetch::ClientCertificate)
        );
    }
}
