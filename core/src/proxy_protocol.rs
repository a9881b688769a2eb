//! The PROXY protocol, versions 1 (text) and 2 (binary), as haproxy reads
//! it on `accept-proxy` listeners and writes it toward `send-proxy` /
//! `send-proxy-v2` servers: parsing and encoding only, no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version 2 signature.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest version 1 line, `\r\n` included.
const V1_MAX: usize = 107;

/// What a PROXY header says of the connection it precedes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client's address and port; `None` for `UNKNOWN` or `LOCAL`.
    pub source: Option<SocketAddr>,
    /// The address the client reached.
    pub destination: Option<SocketAddr>,
    /// Version 2 TLVs (type, value), in order.
    pub tlvs: Vec<(u8, Vec<u8>)>,
}

/// TLV type of the authority (the TLS SNI the first proxy saw).
pub const PP2_TYPE_AUTHORITY: u8 = 0x02;
/// TLV type of a unique id.
pub const PP2_TYPE_UNIQUE_ID: u8 = 0x05;

impl ProxyHeader {
    /// The value of the first TLV of type `kind`.
    pub fn tlv(&self, kind: u8) -> Option<&[u8]> {
        self.tlvs
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
    }
}

/// Why the bytes are not a PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyError {
    /// Neither signature.
    NotProxy,
    /// A signature, then something invalid.
    Malformed,
}

/// Reads a PROXY header at the start of `buf`: `Ok(None)` when more bytes
/// are needed, else the header and its length.
pub fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let sig = V2_SIGNATURE.len().min(buf.len());
    if buf[..sig] == V2_SIGNATURE[..sig] {
        return if buf.len() < 16 {
            Ok(None)
        } else {
            parse_v2(buf)
        };
    }
    let prefix = b"PROXY ".len().min(buf.len());
    if buf[..prefix] != b"PROXY "[..prefix] {
        return Err(ProxyError::NotProxy);
    }
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(end) if end + 2 <= V1_MAX => parse_v1(&buf[..end]).map(|h| Some((h, end + 2))),
        Some(_) => Err(ProxyError::Malformed),
        None if buf.len() >= V1_MAX => Err(ProxyError::Malformed),
        None => Ok(None),
    }
}

/// `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>` or `PROXY UNKNOWN ...`.
fn parse_v1(line: &[u8]) -> Result<ProxyHeader, ProxyError> {
    let line = std::str::from_utf8(line).map_err(|_| ProxyError::Malformed)?;
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(ProxyHeader::default()),
        ["PROXY", family @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let ip = |text: &str| -> Result<IpAddr, ProxyError> {
                let ip: IpAddr = text.parse().map_err(|_| ProxyError::Malformed)?;
                if ip.is_ipv4() == (*family == "TCP4") {
                    Ok(ip)
                } else {
                    Err(ProxyError::Malformed)
                }
            };
            let port = |text: &str| text.parse::<u16>().map_err(|_| ProxyError::Malformed);
            Ok(ProxyHeader {
                source: Some(SocketAddr::new(ip(src)?, port(sport)?)),
                destination: Some(SocketAddr::new(ip(dst)?, port(dport)?)),
                tlvs: Vec::new(),
            })
        }
        _ => Err(ProxyError::Malformed),
    }
}

/// The binary header: version and command, family, length, addresses,
/// then TLVs that must fill the rest exactly.
fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let (ver_cmd, family) = (buf[12], buf[13]);
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Malformed);
    }
    let Some(body) = buf.get(16..16 + len) else {
        return Ok(None);
    };
    let total = 16 + len;
    let (addrs, rest) = match (ver_cmd & 0x0f, family) {
        // LOCAL: the connection is the proxy's own.
        (0, _) => return Ok(Some((ProxyHeader::default(), total))),
        (1, 0x11) if len >= 12 => {
            let ip = |at: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    body[at],
                    body[at + 1],
                    body[at + 2],
                    body[at + 3],
                ))
            };
            let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
            let addrs = (
                SocketAddr::new(ip(0), port(8)),
                SocketAddr::new(ip(4), port(10)),
            );
            (Some(addrs), &body[12..])
        }
        (1, 0x21) if len >= 36 => {
            let ip = |at: usize| {
                let mut b = [0u8; 16];
                b.copy_from_slice(&body[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(b))
            };
            let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
            let addrs = (
                SocketAddr::new(ip(0), port(32)),
                SocketAddr::new(ip(16), port(34)),
            );
            (Some(addrs), &body[36..])
        }
        // Unix sockets and unknown families: no addresses to use.
        (1, _) => (None, &[][..]),
        _ => return Err(ProxyError::Malformed),
    };
    let mut tlvs = Vec::new();
    let mut at = 0;
    while at < rest.len() {
        let Some(head) = rest.get(at..at + 3) else {
            return Err(ProxyError::Malformed);
        };
        let n = usize::from(u16::from_be_bytes([head[1], head[2]]));
        let Some(value) = rest.get(at + 3..at + 3 + n) else {
            return Err(ProxyError::Malformed);
        };
        tlvs.push((head[0], value.to_vec()));
        at += 3 + n;
    }
    let header = ProxyHeader {
        source: addrs.map(|a| a.0),
        destination: addrs.map(|a| a.1),
        tlvs,
    };
    Ok(Some((header, total)))
}

/// Both addresses in one family: IPv4 ones become IPv4-mapped IPv6 when
/// the other is IPv6.
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(ip) => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    if src.is_ipv4() == dst.is_ipv4() {
        (src, dst)
    } else {
        (v6(src), v6(dst))
    }
}

/// The version 1 line for a connection from `src` to `dst`.
pub fn encode_v1(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let family = if src.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {family} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
    .into_bytes()
}

/// The version 2 header for a connection from `src` to `dst`, with
/// `tlvs`.
pub fn encode_v2(src: SocketAddr, dst: SocketAddr, tlvs: &[(u8, &[u8])]) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let mut body = Vec::with_capacity(64);
    let family = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            body.extend_from_slice(&s.octets());
            body.extend_from_slice(&d.octets());
            0x11
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            body.extend_from_slice(&s.octets());
            body.extend_from_slice(&d.octets());
            0x21
        }
        _ => unreachable!("same_family gives one family"),
    };
    body.extend_from_slice(&src.port().to_be_bytes());
    body.extend_from_slice(&dst.port().to_be_bytes());
    for (kind, value) in tlvs {
        body.push(*kind);
        body.extend_from_slice(&(value.len() as u16).to_be_bytes());
        body.extend_from_slice(value);
    }
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(0x21);
    out.push(family);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("address")
    }

    #[test]
    fn version_1_lines_round_trip_and_need_their_end() {
        let line = encode_v1(addr("10.0.0.1:4000"), addr("10.0.0.2:80"));
        assert_eq!(line, b"PROXY TCP4 10.0.0.1 10.0.0.2 4000 80\r\n");
        assert_eq!(parse(&line[..10]), Ok(None));
        let (h, len) = parse(&line).expect("valid").expect("whole");
        assert_eq!(len, line.len());
        assert_eq!(h.source, Some(addr("10.0.0.1:4000")));
        assert_eq!(h.destination, Some(addr("10.0.0.2:80")));
        let mixed = encode_v1(addr("10.0.0.1:1"), addr("[::1]:2"));
        assert_eq!(mixed, b"PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n");
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(ProxyError::NotProxy));
        assert_eq!(
            parse(b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n"),
            Err(ProxyError::Malformed)
        );
        let (unknown, _) = parse(b"PROXY UNKNOWN\r\n").expect("valid").expect("whole");
        assert_eq!(unknown.source, None);
    }

    #[test]
    fn version_2_headers_carry_tlvs_that_must_fit_exactly() {
        let header = encode_v2(
            addr("127.0.0.1:42"),
            addr("127.0.0.1:1337"),
            &[(PP2_TYPE_AUTHORITY, b"12345")],
        );
        let (h, len) = parse(&header).expect("valid").expect("whole");
        assert_eq!(len, header.len());
        assert_eq!(h.source, Some(addr("127.0.0.1:42")));
        assert_eq!(h.tlv(PP2_TYPE_AUTHORITY), Some(&b"12345"[..]));
        assert_eq!(parse(&header[..20]), Ok(None));
        // A TLV longer than the header says.
        let mut long = header.clone();
        long[len - 6] = 0x0a;
        assert_eq!(parse(&long), Err(ProxyError::Malformed));
        // A TLV cut short by the header's end.
        let mut short = header[..len - 1].to_vec();
        short[15] -= 1;
        assert_eq!(parse(&short), Err(ProxyError::Malformed));
        let v6 = encode_v2(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2"), &[]);
        let (h, _) = parse(&v6).expect("valid").expect("whole");
        assert_eq!(h.destination, Some(addr("[2001:db8::2]:2")));
    }
}
