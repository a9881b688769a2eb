//! Value syntaxes of haproxy.cfg: times, integers as haproxy reads them,
//! addresses and ports.

use crate::time::Duration;
use std::net::IpAddr;

/// Parses a time such as `2000`, `5s`, `300ms`, `1m` (default unit: ms).
/// On error returns the first unexpected character.
pub fn parse_time(text: &str) -> Result<Duration, Option<char>> {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return Err(text.chars().next());
    }
    let value: u64 = text[..digits].parse().map_err(|_| None)?;
    let unit = &text[digits..];
    let d = match unit {
        "" | "ms" => Duration::from_millis(value),
        "us" => Duration::from_micros(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        "d" => Duration::from_secs(value.saturating_mul(86_400)),
        _ => {
            let after_unit = ["ms", "us", "s", "m", "h", "d"]
                .iter()
                .find_map(|u| unit.strip_prefix(u))
                .unwrap_or(unit);
            return Err(after_unit.chars().next());
        }
    };
    Ok(d)
}

/// A size with haproxy's `k`, `m`, `g` suffixes.
pub(crate) fn parse_size(text: &str) -> Option<usize> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: usize = digits.parse().ok()?;
    let factor = match &text[digits.len()..] {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Reads an integer the way C's `atol` does, as haproxy does for most
/// counts: leading digits, the rest ignored, nothing numeric gives 0.
pub(crate) fn atol(text: &str) -> i64 {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
    let v = digits
        .parse::<i64>()
        .unwrap_or(if digits.is_empty() { 0 } else { i64::MAX });
    if neg {
        -v
    } else {
        v
    }
}

/// Why an `addr:port` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddrError {
    /// A non-digit in the port.
    PortChar(char, String),
    /// A port out of 1..65535.
    PortRange(String),
    /// `a-b` where only one port is allowed.
    RangeNotPermitted,
    /// `+N` where no offset is allowed.
    OffsetNotPermitted,
    /// A port is required and missing.
    MissingPort,
    /// Not an address and not a plausible host name.
    Unresolvable(String),
}

/// A parsed `[family@]host[:port[-port]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// The host part: an IP, a name, or empty / `*` for "any".
    pub(crate) host: Host,
    /// Port text split: `None` when no port was given.
    pub(crate) port: Option<PortSpec>,
}

/// The host part of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// Empty or `*`: any address.
    Any,
    /// A literal IP.
    Ip(IpAddr),
    /// A DNS name.
    Name(String),
}

/// The port part of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortSpec {
    /// One port or a range.
    Range(u16, u16),
    /// `+N` / `-N`.
    Offset(i32),
}

/// Parses `[ipv4@|ipv6@]host[:port[-port]]`, splitting on the last colon
/// (so unbracketed IPv6 needs a port, as in haproxy) or `[v6]:port`.
pub(crate) fn parse_host_port(text: &str) -> Result<HostPort, AddrError> {
    let body = text
        .strip_prefix("ipv4@")
        .or_else(|| text.strip_prefix("ipv6@"))
        .unwrap_or(text);
    let (host, port) = if let Some(rest) = body.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Err(AddrError::Unresolvable(text.to_owned())),
        }
    } else {
        match body.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (body, None),
        }
    };
    let host = match host {
        "" | "*" => Host::Any,
        h => match h.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) if is_host_name(h) => Host::Name(h.to_owned()),
            Err(_) => return Err(AddrError::Unresolvable(h.to_owned())),
        },
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(parse_port_spec(p)?),
    };
    Ok(HostPort { host, port })
}

fn parse_port_spec(p: &str) -> Result<PortSpec, AddrError> {
    if let Some(off) = p.strip_prefix('+').or_else(|| p.strip_prefix('-')) {
        let n = parse_port(off)?;
        let n = i32::from(n);
        return Ok(PortSpec::Offset(if p.starts_with('-') { -n } else { n }));
    }
    match p.split_once('-') {
        Some((a, b)) => Ok(PortSpec::Range(parse_port(a)?, parse_port(b)?)),
        None => {
            let n = parse_port(p)?;
            Ok(PortSpec::Range(n, n))
        }
    }
}

fn parse_port(p: &str) -> Result<u16, AddrError> {
    if let Some(bad) = p.chars().find(|c| !c.is_ascii_digit()) {
        return Err(AddrError::PortChar(bad, p.to_owned()));
    }
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(AddrError::PortRange(p.to_owned())),
    }
}

fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// haproxy's expansion of environment variables inside an address
/// (`str2sa_range`), whatever the quoting: `$NAME` or `${NAME}`, a name
/// of letters, digits and `_`, an unset one expanding to nothing; no
/// default values (`${NAME-x}` expands `NAME` and keeps `-x}`).
pub(crate) fn env_expand(text: &str, env: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let braced = after.starts_with('{');
        let body = if braced { &after[1..] } else { after };
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        out.push_str(env.get(&body[..len]).map_or("", String::as_str));
        let skip = if braced && body[len..].starts_with('}') {
            1
        } else {
            0
        };
        rest = &body[len + skip..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_units() {
        assert_eq!(parse_time("2000"), Ok(Duration::from_millis(2000)));
        assert_eq!(parse_time("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_time("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_time("150us"), Ok(Duration::from_micros(150)));
        assert_eq!(parse_time("10q"), Err(Some('q')));
        assert_eq!(parse_time("x"), Err(Some('x')));
    }

    #[test]
    fn addresses_expand_the_environment_as_haproxy_does() {
        let env = std::collections::BTreeMap::from([("PORT".to_owned(), "8080".to_owned())]);
        assert_eq!(env_expand("127.0.0.1:${PORT}", &env), "127.0.0.1:8080");
        assert_eq!(env_expand("$PORT", &env), "8080");
        assert_eq!(env_expand("${NOPE}:${NOPE2}", &env), ":");
        assert_eq!(env_expand("1.2.3.4:${PORT-1}", &env), "1.2.3.4:8080-1}");
        assert_eq!(env_expand("plain", &env), "plain");
    }

    #[test]
    fn atol_is_lenient() {
        assert_eq!(atol("12abc"), 12);
        assert_eq!(atol("abc"), 0);
        assert_eq!(atol("-3"), -3);
    }

    #[test]
    fn addresses() {
        let hp = parse_host_port("192.168.66.20:80").expect("valid");
        assert_eq!(hp.host, Host::Ip("192.168.66.20".parse().expect("ip")));
        assert_eq!(hp.port, Some(PortSpec::Range(80, 80)));
        assert_eq!(parse_host_port("*:80").expect("valid").host, Host::Any);
        assert_eq!(
            parse_host_port("[::1]:8080").expect("valid").host,
            Host::Ip("::1".parse().expect("ip"))
        );
        assert_eq!(
            parse_host_port("web1:+1").expect("valid").port,
            Some(PortSpec::Offset(1))
        );
        assert_eq!(
            parse_host_port("1.2.3.4:abc"),
            Err(AddrError::PortChar('a', "abc".into()))
        );
        assert_eq!(
            parse_host_port("<pg-node1-ip>"),
            Err(AddrError::Unresolvable("<pg-node1-ip>".into()))
        );
    }
}
