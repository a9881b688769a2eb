//! ACL match methods (`-m str|beg|end|sub|dom|dir|reg|len|int|ip|bool|
//! found|bin`): a sample against an ACL's values. String comparisons
//! allocate nothing: `-i` folds ASCII case on the fly.

use super::pattern::Pattern;
use super::Value;
use serde::Serialize;
use std::net::IpAddr;

/// How an ACL compares a sample with its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// `str`: the whole string.
    Str,
    /// `beg`: a prefix.
    Beg,
    /// `end`: a suffix.
    End,
    /// `sub`: a substring.
    Sub,
    /// `dom`: a domain bounded by `.` `:` `/` `?`.
    Dom,
    /// `dir`: a path segment bounded by `/` `?`.
    Dir,
    /// `reg`: any of these regexes.
    Reg(Vec<Pattern>),
    /// `len`: the string's length, compared as integers.
    Len,
    /// `int`: integers, ranges and operators.
    Int,
    /// `ip`: addresses and networks.
    Ip,
    /// `bool`: the sample as a boolean.
    Bool,
    /// `found`: the sample exists.
    Found,
    /// `bin`: bytes against hex strings.
    Bin,
}

impl Match {
    /// The method named by `-m name`; `None` for an unknown one.
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "str" => Self::Str,
            "beg" => Self::Beg,
            "end" => Self::End,
            "sub" => Self::Sub,
            "dom" => Self::Dom,
            "dir" => Self::Dir,
            "reg" => Self::Reg(Vec::new()),
            "len" => Self::Len,
            "int" => Self::Int,
            "ip" => Self::Ip,
            "bool" => Self::Bool,
            "found" => Self::Found,
            "bin" => Self::Bin,
            _ => return None,
        })
    }

    /// True when `v` matches any of `values` (`ci`: ignoring ASCII case).
    pub fn hit(&self, v: &Value<'_>, values: &[String], ci: bool) -> bool {
        let text = |how: StrMatch| {
            let s = v.to_bytes();
            values.iter().any(|p| str_match(&s, p.as_bytes(), how, ci))
        };
        match self {
            Self::Str => text(StrMatch::Exact),
            Self::Beg => text(StrMatch::Beg),
            Self::End => text(StrMatch::End),
            Self::Sub => text(StrMatch::Sub),
            Self::Dom => text(StrMatch::Dom),
            Self::Dir => text(StrMatch::Dir),
            Self::Reg(res) => {
                let s = v.to_text();
                res.iter().any(|r| r.regex().is_match(&s))
            }
            Self::Len => int_match(values, v.to_bytes().len() as i64),
            Self::Int => v.to_int().is_some_and(|n| int_match(values, n)),
            Self::Ip => v
                .to_ip()
                .is_some_and(|ip| values.iter().any(|n| in_network(ip, n))),
            Self::Bool => v.to_bool(),
            Self::Found => true,
            Self::Bin => {
                let b = v.to_bytes();
                values.iter().any(|h| hex_eq(&b, h))
            }
        }
    }
}

/// How a string is compared with a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StrMatch {
    /// `str`: the whole string.
    Exact,
    /// `beg`: a prefix.
    Beg,
    /// `end`: a suffix.
    End,
    /// `sub`: a substring.
    Sub,
    /// `dom`: a dot-bounded domain.
    Dom,
    /// `dir`: a slash-bounded path segment.
    Dir,
}

/// `s` against one pattern `v`, compared as `how` says.
pub fn str_match(s: &[u8], v: &[u8], how: StrMatch, ci: bool) -> bool {
    match how {
        StrMatch::Exact => s.len() == v.len() && eq(s, v, ci),
        StrMatch::Beg => s.len() >= v.len() && eq(&s[..v.len()], v, ci),
        StrMatch::End => s.len() >= v.len() && eq(&s[s.len() - v.len()..], v, ci),
        StrMatch::Sub => find(s, v, ci, 0).is_some(),
        StrMatch::Dom => bounded_match(s, v, ci, |c| matches!(c, b'.' | b':' | b'/' | b'?')),
        StrMatch::Dir => bounded_match(s, v, ci, |c| matches!(c, b'/' | b'?')),
    }
}

/// haproxy's integer matching: each value is a number, a range `a:b`, or
/// an operator (`eq`, `ge`, `gt`, `le`, `lt`) for the number after it.
pub fn int_match(values: &[String], n: i64) -> bool {
    let mut op = "eq";
    for v in values {
        if matches!(v.as_str(), "eq" | "ge" | "gt" | "le" | "lt") {
            op = v;
            continue;
        }
        let hit = match v.split_once(':') {
            Some((lo, hi)) => {
                let lo = lo.parse().unwrap_or(i64::MIN);
                let hi = hi.parse().unwrap_or(i64::MAX);
                (lo..=hi).contains(&n)
            }
            None => v.parse::<i64>().is_ok_and(|x| match op {
                "ge" => n >= x,
                "gt" => n > x,
                "le" => n <= x,
                "lt" => n < x,
                _ => n == x,
            }),
        };
        if hit {
            return true;
        }
        op = "eq";
    }
    false
}

/// `ip` is the address or in the network (`a.b.c.d/len`) `v` names.
pub fn in_network(ip: IpAddr, v: &str) -> bool {
    let (addr, bits) = match v.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (v, None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `bytes` equal the hex string `v`.
pub fn hex_eq(bytes: &[u8], v: &str) -> bool {
    v.len() == bytes.len() * 2
        && bytes.iter().zip(v.as_bytes().chunks(2)).all(|(b, h)| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                == Some(*b)
        })
}

/// `a` equals `b`, ignoring ASCII case when `ci`.
pub fn eq(a: &[u8], b: &[u8], ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// First position at or after `from` where `needle` occurs in `hay`.
fn find(hay: &[u8], needle: &[u8], ci: bool, from: usize) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    let (first, rest) = (needle[0], &needle[1..]);
    let starts = |b: u8| b == first || (ci && b.eq_ignore_ascii_case(&first));
    (from..=hay.len() - needle.len())
        .find(|&i| starts(hay[i]) && eq(&hay[i + 1..i + needle.len()], rest, ci))
}

/// `pattern`, stripped of delimiters at its ends, occurs in `subject`
/// bounded on both sides by the string's edge or a delimiter (`hdr_dom`,
/// `path_dir`).
fn bounded_match(subject: &[u8], pattern: &[u8], ci: bool, delim: fn(u8) -> bool) -> bool {
    let start = pattern
        .iter()
        .position(|&c| !delim(c))
        .unwrap_or(pattern.len());
    let end = pattern
        .iter()
        .rposition(|&c| !delim(c))
        .map_or(start, |e| e + 1);
    let pattern = &pattern[start..end];
    let mut from = 0;
    while let Some(at) = find(subject, pattern, ci, from) {
        let before = at.checked_sub(1).map(|i| subject[i]);
        let after = subject.get(at + pattern.len()).copied();
        if before.is_none_or(delim) && after.is_none_or(delim) {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_networks_match_as_haproxy_reads_them() {
        let v = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(int_match(&v(&["eq", "14"]), 14));
        assert!(!int_match(&v(&["eq", "14"]), 13));
        assert!(int_match(&v(&["1"]), 1));
        assert!(
            int_match(&v(&["gt", "5", "2"]), 2),
            "the operator binds one value"
        );
        assert!(int_match(&v(&["10:20"]), 15));
        assert!(!int_match(&v(&["lt", "3"]), 3));
        assert!(int_match(&v(&["lt", "0"]), -1));
        let ip = |s: &str| s.parse().expect("ip");
        assert!(in_network(ip("127.0.0.1"), "127.0.0.0/8"));
        assert!(in_network(ip("10.1.2.3"), "10.1.2.3"));
        assert!(!in_network(ip("10.1.2.4"), "10.1.2.3"));
        assert!(in_network(ip("10.1.2.4"), "0.0.0.0/0"));
        assert!(in_network(ip("::1"), "::1/128"));
        assert!(!in_network(ip("::1"), "127.0.0.1"));
    }

    #[test]
    fn domains_and_directories_are_bounded() {
        for (subject, hit) in [
            ("example.com", true),
            ("www.example.com", true),
            ("example.com:8080", true),
            ("example.com.evil.org", true),
            ("notexample.com", false),
            ("example.community", false),
        ] {
            let got = str_match(subject.as_bytes(), b"example.com", StrMatch::Dom, false);
            assert_eq!(got, hit, "{subject}");
        }
        assert!(str_match(
            b"WWW.Example.COM:80",
            b"example.com",
            StrMatch::Dom,
            true
        ));
        assert!(!str_match(
            b"WWW.Example.COM:80",
            b"example.com",
            StrMatch::Dom,
            false
        ));
        assert!(str_match(b"/a/img/x.png", b"img", StrMatch::Dir, false));
        assert!(!str_match(b"/a/images/x.png", b"img", StrMatch::Dir, false));
        for odd in [&b""[..], b".", b"a"] {
            let _ = str_match(odd, b".", StrMatch::Dom, true);
        }
    }
}
