//! What a sample fetch or converter yields, typed as haproxy types it.

use std::borrow::Cow;
use std::net::IpAddr;

/// A sample's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// A boolean (`ssl_fc`, `bool` converter).
    Bool(bool),
    /// A signed integer (`status`, `hdr_cnt`, arithmetic).
    Int(i64),
    /// An IPv4 or IPv6 address (`src`, `dst`, `ipmask`).
    Ip(IpAddr),
    /// Text (`path`, `hdr`); borrowed from the message when it can be.
    Str(Cow<'a, str>),
    /// Raw bytes (`req.body`, `base64` decoded).
    Bin(Cow<'a, [u8]>),
}

impl<'a> Value<'a> {
    /// A string value that owns its text.
    pub fn string(s: impl Into<String>) -> Self {
        Value::Str(Cow::Owned(s.into()))
    }

    /// The value as text, as haproxy casts it to a string.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Bool(b) => Cow::Borrowed(if *b { "1" } else { "0" }),
            Value::Int(n) => Cow::Owned(n.to_string()),
            Value::Ip(ip) => Cow::Owned(ip.to_string()),
            Value::Str(s) => Cow::Borrowed(s),
            Value::Bin(b) => String::from_utf8_lossy(b),
        }
    }

    /// The value as bytes.
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Value::Bin(b) => Cow::Borrowed(b),
            Value::Str(s) => Cow::Borrowed(s.as_bytes()),
            other => Cow::Owned(other.to_text().into_owned().into_bytes()),
        }
    }

    /// The value as an integer: a string casts by its leading digits, as
    /// haproxy's `strtoll`-like cast; `None` when it has none.
    pub fn to_int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(n) => Some(*n),
            Value::Ip(_) => None,
            Value::Str(_) | Value::Bin(_) => leading_int(&self.to_bytes()),
        }
    }

    /// The value as an address: strings parse as one.
    pub fn to_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Str(s) => s.trim().parse().ok(),
            Value::Bin(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
            Value::Int(n) => u32::try_from(*n)
                .ok()
                .map(|n| IpAddr::from(n.to_be_bytes())),
            Value::Bool(_) => None,
        }
    }

    /// The value as a boolean: non-zero integers and non-empty strings
    /// are true.
    pub fn to_bool(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Ip(_) => true,
            Value::Str(s) => !s.is_empty(),
            Value::Bin(b) => !b.is_empty(),
        }
    }

    /// The same value, owning what it borrowed (to be stored in a variable).
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Bool(b) => Value::Bool(b),
            Value::Int(n) => Value::Int(n),
            Value::Ip(ip) => Value::Ip(ip),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bin(b) => Value::Bin(Cow::Owned(b.into_owned())),
        }
    }
}

/// The integer at the start of `bytes` (optional sign, then digits).
fn leading_int(bytes: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(bytes).ok()?.trim_start();
    let digits = s
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')))
        .count();
    s[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::Value;

    #[test]
    fn casts_follow_haproxy() {
        assert_eq!(Value::string("42abc").to_int(), Some(42));
        assert_eq!(Value::string("-7").to_int(), Some(-7));
        assert_eq!(Value::string("x").to_int(), None);
        assert_eq!(Value::Bool(true).to_text(), "1");
        assert_eq!(
            Value::string(" 10.0.0.1").to_ip(),
            Some("10.0.0.1".parse().expect("valid"))
        );
        assert!(!Value::string("").to_bool());
        assert!(Value::Int(-1).to_bool());
    }
}
