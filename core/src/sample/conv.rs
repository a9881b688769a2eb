//! Converters: what follows the fetch in a sample expression.

use super::expr::Call;
use super::fetch::TimeUnit;
use super::map::{self, Map};
use super::pattern::Pattern;
use super::vars::VarName;
use super::ReadFile;
use super::Value;
use crate::route::RequestHead;
use base64::Engine;
use serde::Serialize;
use std::borrow::Cow;
use std::net::IpAddr;

/// An integer argument: a number, or a variable holding one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    /// A literal.
    Int(i64),
    /// A variable's value.
    Var(VarName),
}

/// Integer operations of `add`, `sub`...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arith {
    /// `add`.
    Add,
    /// `sub`.
    Sub,
    /// `mul`.
    Mul,
    /// `div` (by zero: the largest integer, as haproxy).
    Div,
    /// `mod` (by zero: 0).
    Mod,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `xor`.
    Xor,
    /// `eq`: 1 when equal.
    Eq,
    /// `ge`.
    Ge,
    /// `gt`.
    Gt,
    /// `le`.
    Le,
    /// `lt`.
    Lt,
}

/// A converter haven applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conv {
    /// `lower`.
    Lower,
    /// `upper`.
    Upper,
    /// `length`, `len`: the string's length.
    Len,
    /// `base64`.
    Base64,
    /// `b64dec`.
    B64dec,
    /// `sha1`: the SHA-1 digest, as bytes.
    Sha1,
    /// `sha2([bits])`: the SHA-2 digest of that size (224, 256, 384,
    /// 512; 256 by default), as bytes.
    Sha2(u16),
    /// `hex`: upper-case hex of the bytes.
    Hex,
    /// `hex2i`: a hex string as a signed integer.
    Hex2i,
    /// `json`: escaped for a JSON string.
    Json,
    /// `bytes(offset[,length])`.
    Bytes {
        /// First byte.
        offset: usize,
        /// How many (to the end when `None`).
        length: Option<usize>,
    },
    /// `field(index,delimiters[,count])`: fields split on any delimiter.
    Field {
        /// 1-based; negative counts from the end.
        index: i64,
        /// Any of these characters splits.
        delims: String,
        /// Fields to keep (0: to the end).
        count: i64,
        /// `word`: empty fields are skipped.
        words: bool,
    },
    /// `concat([start][,var][,end])`.
    Concat {
        /// Text after the input.
        start: String,
        /// A variable's value after it.
        var: Option<VarName>,
        /// Text at the end.
        end: String,
    },
    /// Integer arithmetic and comparisons.
    Arith(Arith, Operand),
    /// `neg`.
    Neg,
    /// `bool`: non-zero is true.
    Bool,
    /// `not`: zero is true.
    Not,
    /// `odd`.
    Odd,
    /// `even`.
    Even,
    /// `http_date([offset[,unit]])`: a time as an HTTP date.
    HttpDate {
        /// Seconds added.
        offset: i64,
        /// What the input counts.
        unit: TimeUnit,
    },
    /// `ipmask(v4mask[,v6mask])`.
    Ipmask {
        /// The bits kept of an IPv4 address.
        v4: u32,
        /// The bits kept of an IPv6 address (no IPv6 result when `None`).
        v6: Option<u128>,
    },
    /// `regsub(regex,subst[,flags])`.
    Regsub {
        /// The regex.
        pattern: Pattern,
        /// The replacement, `\N` back-references as the regex crate writes them.
        subst: String,
        /// `g`: every match.
        global: bool,
    },
    /// `strcmp(var)`: 0 when equal, else the sign of the comparison.
    Strcmp(VarName),
    /// `ltrim(chars)`.
    Ltrim(String),
    /// `rtrim(chars)`.
    Rtrim(String),
    /// `url_dec`: percent-decoding.
    UrlDec,
    /// `crc32([avalanche])`: the CRC-32 (IEEE) of the bytes.
    Crc32,
    /// `map*(file[,default])`.
    Map(Box<Map>),
    /// `iif(true,false)`: the first string for a true boolean, else the
    /// second.
    Iif(String, String),
}

/// The converter named by `call`: `Ok(None)` when haven does not know it.
/// `files` reads map files (without it, maps are empty).
pub(crate) fn parse(call: &Call, files: Option<ReadFile<'_>>) -> Result<Option<Conv>, String> {
    let name = call.name.as_str();
    if let Some((how, output, backrefs)) = map::kind(name) {
        let file = call
            .args
            .first()
            .ok_or_else(|| format!("converter '{name}' : expects a map file name"))?;
        let compiled = matches!(how, super::Match::Reg(_));
        let entries = map::shared(file, compiled, || match files {
            Some(read) => {
                let bytes = read(file).map_err(|e| {
                    format!("converter '{name}' : failed to load map file '{file}' : {e}")
                })?;
                map::entries(&String::from_utf8_lossy(&bytes), &how)
                    .map_err(|e| format!("converter '{name}' : map file '{file}' : {e}"))
            }
            None => Ok(Vec::new()),
        })?;
        return Ok(Some(Conv::Map(Box::new(Map {
            file: file.clone(),
            how,
            backrefs,
            output,
            default: call.args.get(1).cloned(),
            entries,
        }))));
    }
    let arg = |i: usize| call.args.get(i).map(String::as_str);
    let need =
        |i: usize| arg(i).ok_or_else(|| format!("converter '{name}' : missing argument {}", i + 1));
    let int = |s: &str| -> Result<i64, String> {
        s.trim()
            .parse()
            .map_err(|_| format!("converter '{name}' : expects an integer, got '{s}'"))
    };
    let var = |s: &str| VarName::parse(s).map_err(|e| format!("converter '{name}' : {e}"));
    let operand = |s: &str| -> Result<Operand, String> {
        match s.trim().parse() {
            Ok(n) => Ok(Operand::Int(n)),
            Err(_) => var(s).map(Operand::Var),
        }
    };
    let arith = |op| -> Result<Conv, String> { Ok(Conv::Arith(op, operand(need(0)?)?)) };
    Ok(Some(match name {
        "lower" => Conv::Lower,
        "upper" => Conv::Upper,
        "length" | "len" => Conv::Len,
        "base64" => Conv::Base64,
        "b64dec" => Conv::B64dec,
        "sha1" => Conv::Sha1,
        "sha2" => match arg(0).unwrap_or("256") {
            bits @ ("224" | "256" | "384" | "512") => Conv::Sha2(bits.parse().unwrap_or(256)),
            bits => {
                return Err(format!(
                    "invalid args in converter 'sha2' : Unsupported number of bits: '{bits}'"
                ))
            }
        },
        "hex" => Conv::Hex,
        "hex2i" => Conv::Hex2i,
        "json" => Conv::Json,
        "bytes" => Conv::Bytes {
            offset: usize::try_from(int(need(0)?)?).map_err(|e| e.to_string())?,
            length: arg(1)
                .map(|l| usize::try_from(int(l)?).map_err(|e| e.to_string()))
                .transpose()?,
        },
        "field" | "word" => Conv::Field {
            index: int(need(0)?)?,
            delims: need(1)?.to_owned(),
            count: arg(2).map(int).transpose()?.unwrap_or(1),
            words: name == "word",
        },
        "concat" => Conv::Concat {
            start: arg(0).unwrap_or("").to_owned(),
            var: arg(1).filter(|v| !v.is_empty()).map(var).transpose()?,
            end: arg(2).unwrap_or("").to_owned(),
        },
        "add" => arith(Arith::Add)?,
        "sub" => arith(Arith::Sub)?,
        "mul" => arith(Arith::Mul)?,
        "div" => arith(Arith::Div)?,
        "mod" => arith(Arith::Mod)?,
        "and" => arith(Arith::And)?,
        "or" => arith(Arith::Or)?,
        "xor" => arith(Arith::Xor)?,
        "eq" => arith(Arith::Eq)?,
        "ge" => arith(Arith::Ge)?,
        "gt" => arith(Arith::Gt)?,
        "le" => arith(Arith::Le)?,
        "lt" => arith(Arith::Lt)?,
        "neg" => Conv::Neg,
        "bool" => Conv::Bool,
        "iif" => Conv::Iif(need(0)?.to_owned(), need(1)?.to_owned()),
        "not" => Conv::Not,
        "odd" => Conv::Odd,
        "even" => Conv::Even,
        "http_date" => Conv::HttpDate {
            offset: arg(0).map(int).transpose()?.unwrap_or(0),
            unit: TimeUnit::parse(arg(1)).map_err(|u| format!("converter '{name}' : {u}"))?,
        },
        "ipmask" => Conv::Ipmask {
            v4: mask4(need(0)?).ok_or_else(|| {
                format!(
                    "converter '{name}' : invalid IPv4 mask '{}'",
                    need(0).unwrap_or("")
                )
            })?,
            v6: arg(1)
                .map(|m| {
                    mask6(m).ok_or_else(|| format!("converter '{name}' : invalid IPv6 mask '{m}'"))
                })
                .transpose()?,
        },
        "regsub" => {
            let flags = arg(2).unwrap_or("");
            Conv::Regsub {
                pattern: Pattern::new(need(0)?, flags.contains('i'))
                    .map_err(|e| format!("converter '{name}' : {e}"))?,
                subst: backrefs(need(1)?),
                global: flags.contains('g'),
            }
        }
        "strcmp" => Conv::Strcmp(var(need(0)?)?),
        "ltrim" => Conv::Ltrim(need(0)?.to_owned()),
        "rtrim" => Conv::Rtrim(need(0)?.to_owned()),
        "url_dec" => Conv::UrlDec,
        "crc32" if arg(0).is_none_or(|a| a == "0") => Conv::Crc32,
        _ => return Ok(None),
    }))
}

/// `ip`, or the IPv4 address an IPv4-mapped IPv6 one holds.
fn plain_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An IPv4 mask: a prefix length (`24`) or any address (`255.255.0.255`),
/// as haproxy reads one.
fn mask4(text: &str) -> Option<u32> {
    match text.parse::<u32>() {
        Ok(n) if n <= 32 => Some(u32::MAX.checked_shl(32 - n).unwrap_or(0)),
        Ok(_) => None,
        Err(_) => text.parse::<std::net::Ipv4Addr>().ok().map(u32::from),
    }
}

/// An IPv6 mask: a prefix length (`64`) or any address.
fn mask6(text: &str) -> Option<u128> {
    match text.parse::<u32>() {
        Ok(n) if n <= 128 => Some(u128::MAX.checked_shl(128 - n).unwrap_or(0)),
        Ok(_) => None,
        Err(_) => text.parse::<std::net::Ipv6Addr>().ok().map(u128::from),
    }
}

/// haproxy's `\1` back-references written as the regex crate's `${1}`,
/// with `$` kept literal.
pub(crate) fn backrefs(subst: &str) -> String {
    let mut out = String::with_capacity(subst.len());
    let mut chars = subst.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let d = chars.next().unwrap_or('0');
                out.push_str(&format!("${{{d}}}"));
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

impl Conv {
    /// Applies the converter to `v`; `None` when it fails (the sample is
    /// then absent, as haproxy's).
    pub fn apply<'a>(&self, v: Value<'a>, req: &RequestHead<'_>) -> Option<Value<'a>> {
        let var = |n: &VarName| req.around.vars.and_then(|vars| vars.get(n));
        let text = |v: &Value<'_>| v.to_text().into_owned();
        Some(match self {
            // haproxy changes the case of ASCII letters only.
            Self::Lower => Value::string(v.to_text().to_ascii_lowercase()),
            Self::Upper => Value::string(v.to_text().to_ascii_uppercase()),
            Self::Len => Value::Int(v.to_bytes().len() as i64),
            Self::Base64 => {
                Value::string(base64::engine::general_purpose::STANDARD.encode(v.to_bytes()))
            }
            Self::B64dec => Value::Bin(Cow::Owned(
                base64::engine::general_purpose::STANDARD
                    .decode(v.to_bytes())
                    .ok()?,
            )),
            Self::Sha1 => {
                use sha1::Digest;
                Value::Bin(Cow::Owned(sha1::Sha1::digest(v.to_bytes()).to_vec()))
            }
            Self::Sha2(bits) => {
                use sha2::Digest;
                let bytes = v.to_bytes();
                let digest = match bits {
                    224 => sha2::Sha224::digest(&bytes).to_vec(),
                    384 => sha2::Sha384::digest(&bytes).to_vec(),
                    512 => sha2::Sha512::digest(&bytes).to_vec(),
                    _ => sha2::Sha256::digest(&bytes).to_vec(),
                };
                Value::Bin(Cow::Owned(digest))
            }
            Self::Hex => Value::string(
                v.to_bytes()
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>(),
            ),
            // haproxy reads hex digits up to the first other character.
            Self::Hex2i => {
                let text = v.to_text();
                let digits: String = text.chars().take_while(char::is_ascii_hexdigit).collect();
                Value::Int(u64::from_str_radix(&digits, 16).map_or(0, |n| n as i64))
            }
            Self::Json => Value::string(json(&v.to_text())),
            Self::Bytes { offset, length } => {
                let b = v.to_bytes();
                let end = length.map_or(b.len(), |l| (offset + l).min(b.len()));
                Value::Bin(Cow::Owned(b.get(*offset..end)?.to_vec()))
            }
            Self::Field {
                index,
                delims,
                count,
                words,
            } => Value::string(field(&v.to_text(), *index, delims, *count, *words)?),
            Self::Concat {
                start,
                var: name,
                end,
            } => {
                let middle = name.as_ref().and_then(var).map(text).unwrap_or_default();
                Value::string(format!("{}{start}{middle}{end}", v.to_text()))
            }
            Self::Arith(op, operand) => {
                let a = v.to_int()?;
                let b = match operand {
                    Operand::Int(n) => *n,
                    Operand::Var(n) => var(n)?.to_int()?,
                };
                Value::Int(arith(*op, a, b))
            }
            Self::Neg => Value::Int(v.to_int()?.wrapping_neg()),
            Self::Bool => Value::Bool(v.to_int()? != 0),
            Self::Iif(yes, no) => Value::string(if v.to_int()? != 0 { yes } else { no }.clone()),
            Self::Not => Value::Bool(v.to_int()? == 0),
            Self::Odd => Value::Bool(v.to_int()? & 1 == 1),
            Self::Even => Value::Bool(v.to_int()? & 1 == 0),
            Self::HttpDate { offset, unit } => {
                let secs = v.to_int()?.div_euclid(unit.per_second()) + offset;
                Value::string(crate::http_date::format_http_date(secs))
            }
            // A v4-mapped IPv6 address is masked as the IPv4 one it holds.
            Self::Ipmask { v4, v6 } => Value::Ip(match plain_ip(v.to_ip()?) {
                IpAddr::V4(a) => IpAddr::from((u32::from(a) & v4).to_be_bytes()),
                IpAddr::V6(a) => IpAddr::from((u128::from(a) & (*v6)?).to_be_bytes()),
            }),
            Self::Regsub {
                pattern,
                subst,
                global,
            } => {
                let s = v.to_text();
                let re = pattern.regex();
                let out = if *global {
                    re.replace_all(&s, subst.as_str())
                } else {
                    re.replace(&s, subst.as_str())
                };
                Value::string(out.into_owned())
            }
            Self::Strcmp(name) => {
                let other = var(name)?.to_text().into_owned();
                Value::Int(match v.to_text().as_ref().cmp(other.as_str()) {
                    std::cmp::Ordering::Less => -1,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => 1,
                })
            }
            Self::Ltrim(chars) => {
                Value::string(v.to_text().trim_start_matches(|c| chars.contains(c)))
            }
            Self::Rtrim(chars) => {
                Value::string(v.to_text().trim_end_matches(|c| chars.contains(c)))
            }
            Self::UrlDec => Value::string(url_decode(&v.to_text())?),
            Self::Crc32 => Value::Int(crc32(&v.to_bytes()).into()),
            Self::Map(m) => m.lookup(&v)?,
        })
    }
}

/// `a op b` as haproxy's integer converters compute it.
fn arith(op: Arith, a: i64, b: i64) -> i64 {
    match op {
        Arith::Add => a.saturating_add(b),
        Arith::Sub => a.saturating_sub(b),
        Arith::Mul => a.saturating_mul(b),
        Arith::Div => a.checked_div(b).unwrap_or(i64::MAX),
        Arith::Mod => a.checked_rem(b).unwrap_or(0),
        Arith::And => a & b,
        Arith::Or => a | b,
        Arith::Xor => a ^ b,
        Arith::Eq => i64::from(a == b),
        Arith::Ge => i64::from(a >= b),
        Arith::Gt => i64::from(a > b),
        Arith::Le => i64::from(a <= b),
        Arith::Lt => i64::from(a < b),
    }
}

/// `field` / `word`: fields `index..index+count` (1-based, negative from
/// the end) of `s` split on any of `delims`, joined by the delimiter
/// that separated them; `words` skips empty fields.
fn field(s: &str, index: i64, delims: &str, count: i64, words: bool) -> Option<String> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if delims.contains(c) {
            spans.push((start, i));
            start = i + c.len_utf8();
        }
    }
    spans.push((start, s.len()));
    if words {
        spans.retain(|(a, b)| a < b);
    }
    let n = spans.len() as i64;
    let first = if index > 0 { index - 1 } else { n + index };
    if index == 0 || first < 0 || first >= n {
        return None;
    }
    let (first, last) = if count == 0 {
        if index > 0 {
            (first, n - 1)
        } else {
            (0, first)
        }
    } else if index > 0 {
        (first, (first + count - 1).min(n - 1))
    } else {
        ((first - count + 1).max(0), first)
    };
    let (from, to) = (spans[first as usize].0, spans[last as usize].1);
    Some(s[from..to].to_owned())
}

/// The CRC-32 of `bytes` (IEEE 802.3, reflected, as zlib computes it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `s` escaped for a JSON string.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Percent-decoding; `None` on a bad escape.
fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_words_count_as_haproxy() {
        let f = |s, i, c, w| field(s, i, "|,", c, w);
        assert_eq!(f("a|b|c", 2, 1, false).as_deref(), Some("b"));
        assert_eq!(f("a|b|c", -1, 1, false).as_deref(), Some("c"));
        assert_eq!(f("a|b|c", 2, 0, false).as_deref(), Some("b|c"));
        assert_eq!(f("a|b|c", -2, 0, false).as_deref(), Some("a|b"));
        assert_eq!(f("a||b", 2, 1, false).as_deref(), Some(""));
        assert_eq!(f("a||b", 2, 1, true).as_deref(), Some("b"));
        assert_eq!(f("a|b", 3, 1, false), None);
        assert_eq!(f("a|b", 0, 1, false), None);
    }

    #[test]
    fn masks_arithmetic_and_backrefs() {
        assert_eq!(mask4("255.255.255.0"), Some(0xffff_ff00));
        assert_eq!(mask4("24"), Some(0xffff_ff00));
        assert_eq!(mask4("255.0.255.0"), Some(0xff00_ff00));
        assert_eq!(mask4("33"), None);
        assert_eq!(mask6("ffff::fee0"), Some(0xffff << 112 | 0xfee0));
        assert_eq!(arith(Arith::Div, 7, 0), i64::MAX);
        assert_eq!(arith(Arith::Mod, 7, 0), 0);
        assert_eq!(backrefs("\\1.x$"), "${1}.x$$");
        assert_eq!(url_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(url_decode("a%2"), None);
        assert_eq!(json("a\"b/"), "a\\\"b\\/");
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the standard check value");
        assert_eq!(mask6("ffff:ffff::"), Some(0xffff_ffff << 96));
    }
}
