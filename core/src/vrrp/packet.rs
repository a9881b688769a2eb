//! VRRP advertisements on the wire (spec/vrrp-keepalived.md §1; RFC 3768,
//! RFC 5798): encoding, decoding, and the receive checks keepalived makes,
//! in its order and with its log texts.
//!
//! Decoding never panics: every length is checked before it is read.

use super::checksum;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH.
pub const IPPROTO_AH: u8 = 51;
/// The TTL / hop limit VRRP is sent with and must be received with.
pub const VRRP_TTL: u8 = 255;
/// The IPv4 multicast group of VRRP.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Bytes of authentication data in a VRRPv2 IPv4 advert.
pub const AUTH_LEN: usize = 8;
/// Length of the fixed VRRP header.
pub const HEADER_LEN: usize = 8;
/// Length of an IPsec AH header as keepalived builds it.
const AH_LEN: usize = 24;

/// The VRRP version of an advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// RFC 3768: whole-second interval, optional PASS authentication.
    V2,
    /// RFC 5798: centisecond interval, pseudo-header checksum.
    V3,
}

impl Version {
    /// The number in the version nibble.
    pub fn number(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// VRRPv2 authentication types.
pub mod auth_type {
    /// No authentication.
    pub const NONE: u8 = 0;
    /// Simple text password.
    pub const PASS: u8 = 1;
    /// IPsec AH.
    pub const AH: u8 = 2;
}

/// One VRRP advertisement.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    | Count IPvX Addr|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// v2: |  Auth Type    |   Adver Int   |          Checksum         |
/// v3: |(rsvd) |     Max Adver Int     |          Checksum         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IPvX Address(es)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// v2 over IPv4 only:  |        Authentication Data (8 bytes)      |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// Version 2 or 3.
    pub version: Version,
    /// Packet type (1 = advertisement).
    pub kind: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Sender's priority; 0 means the master is resigning.
    pub priority: u8,
    /// v2: seconds; v3: centiseconds (12 bits).
    pub adver_int: u16,
    /// v2 authentication type (0 for v3).
    pub auth_type: u8,
    /// v2 IPv4 authentication data (PASS: the password, NUL-padded).
    pub auth_data: [u8; AUTH_LEN],
    /// The virtual addresses, all of one family.
    pub addrs: Vec<IpAddr>,
    /// The checksum as sent (filled by [`Advert::encode`]).
    pub checksum: u16,
}

impl Advert {
    /// Length of the VRRP part for this advert.
    pub fn vrrp_len(&self) -> usize {
        vrrp_len(
            self.version,
            self.addrs.first().is_none_or(IpAddr::is_ipv4),
            self.addrs.len(),
        )
    }

    /// Encodes the VRRP part, computing the checksum (v3 over the
    /// pseudo-header of `src` → `dst`).
    pub fn encode(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.vrrp_len());
        out.push((self.version.number() << 4) | (self.kind & 0x0f));
        out.push(self.vrid);
        out.push(self.priority);
        out.push(self.addrs.len() as u8);
        match self.version {
            Version::V2 => {
                out.push(self.auth_type);
                out.push(self.adver_int as u8);
            }
            Version::V3 => out.extend_from_slice(&(self.adver_int & 0x0fff).to_be_bytes()),
        }
        out.extend_from_slice(&[0, 0]);
        for a in &self.addrs {
            match a {
                IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
                IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
            }
        }
        let v4 = self.addrs.first().is_none_or(IpAddr::is_ipv4);
        if self.version == Version::V2 && v4 {
            out.extend_from_slice(&self.auth_data);
        }
        let csum = vrrp_checksum(self.version, &out, src, dst);
        out[6..8].copy_from_slice(&csum.to_be_bytes());
        out
    }

    /// Encodes a whole IPv4 packet as keepalived builds it: TOS 0xc0, no
    /// DF, TTL 255, protocol 112, header checksum filled in.
    pub fn encode_ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr, ip_id: u16) -> Vec<u8> {
        let vrrp = self.encode(src.into(), dst.into());
        let total = (20 + vrrp.len()) as u16;
        let mut ip = vec![0x45, 0xc0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&ip_id.to_be_bytes());
        ip.extend_from_slice(&[0, 0, VRRP_TTL, IPPROTO_VRRP, 0, 0]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let csum = checksum::finish(checksum::sum(0, &ip));
        ip[10..12].copy_from_slice(&csum.to_be_bytes());
        ip.extend_from_slice(&vrrp);
        ip
    }
}

/// Length of a VRRP part with `n` addresses.
pub fn vrrp_len(version: Version, ipv4: bool, n: usize) -> usize {
    let addr = if ipv4 { 4 } else { 16 };
    let auth = if version == Version::V2 && ipv4 {
        AUTH_LEN
    } else {
        0
    };
    HEADER_LEN + n * addr + auth
}

/// The checksum of a VRRP part whose checksum field is zero (v2: the part
/// alone; v3: with the IPv4 or IPv6 pseudo-header).
pub fn vrrp_checksum(version: Version, vrrp: &[u8], src: IpAddr, dst: IpAddr) -> u16 {
    let mut acc = 0;
    if version == Version::V3 {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                acc = checksum::sum(acc, &s.octets());
                acc = checksum::sum(acc, &d.octets());
                acc = checksum::sum(acc, &[0, IPPROTO_VRRP]);
                acc = checksum::sum(acc, &(vrrp.len() as u16).to_be_bytes());
            }
            (s, d) => {
                for a in [s, d] {
                    let bytes = match a {
                        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                        IpAddr::V6(v6) => v6.octets(),
                    };
                    acc = checksum::sum(acc, &bytes);
                }
                acc = checksum::sum(acc, &(vrrp.len() as u32).to_be_bytes());
                acc = checksum::sum(acc, &[0, 0, 0, IPPROTO_VRRP]);
            }
        }
    }
    checksum::finish(checksum::sum(acc, vrrp))
}

/// A received packet as the socket layer hands it over: the VRRP part and
/// what the IP layer said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address (multicast group or ours).
    pub dst: IpAddr,
    /// TTL / hop limit, when known.
    pub ttl: Option<u8>,
    /// IPv4: header length, AH included; IPv6: 0.
    pub header_len: usize,
    /// IPv4: the header's total-length field.
    pub ip_total_len: Option<u16>,
    /// An AH header sat between IP and VRRP.
    pub ah: bool,
    /// The whole received length (IPv4: from the IP header on).
    pub len: usize,
    /// The VRRP part.
    pub vrrp: &'a [u8],
}

/// Why bytes could not even be looked at as a VRRP packet (before any
/// instance is known). keepalived drops these silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than an IPv4 header.
    #[error("packet too short for an IPv4 header ({0} bytes)")]
    ShortIp(usize),
    /// Version nibble is not 4.
    #[error("not an IPv4 packet (version {0})")]
    NotIpv4(u8),
    /// Header length below 20 or past the end.
    #[error("bad IPv4 header length {0}")]
    BadIhl(usize),
    /// Neither VRRP nor AH.
    #[error("not a VRRP packet (protocol {0})")]
    NotVrrp(u8),
    /// Not even the fixed VRRP header (after AH, if any).
    #[error("packet too short for a VRRP header ({0} bytes)")]
    ShortVrrp(usize),
}

/// Splits a received IPv4 datagram into an [`RxPacket`].
pub fn decode_ipv4(bytes: &[u8]) -> Result<RxPacket<'_>, DecodeError> {
    if bytes.len() < 20 {
        return Err(DecodeError::ShortIp(bytes.len()));
    }
    if bytes[0] >> 4 != 4 {
        return Err(DecodeError::NotIpv4(bytes[0] >> 4));
    }
    let ihl = usize::from(bytes[0] & 0x0f) * 4;
    if ihl < 20 || ihl > bytes.len() {
        return Err(DecodeError::BadIhl(ihl));
    }
    let proto = bytes[9];
    let ah = match proto {
        IPPROTO_VRRP => false,
        IPPROTO_AH => true,
        p => return Err(DecodeError::NotVrrp(p)),
    };
    let header_len = ihl + if ah { AH_LEN } else { 0 };
    let vrrp = bytes.get(header_len..).unwrap_or_default();
    if vrrp.len() < HEADER_LEN {
        return Err(DecodeError::ShortVrrp(vrrp.len()));
    }
    let addr = |at: usize| IpAddr::from([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Ok(RxPacket {
        src: addr(12),
        dst: addr(16),
        ttl: Some(bytes[8]),
        header_len,
        ip_total_len: Some(u16::from_be_bytes([bytes[2], bytes[3]])),
        ah,
        len: bytes.len(),
        vrrp,
    })
}

/// The VRID of a packet, to find its instance (keepalived looks it up
/// before any check).
pub fn vrid(pkt: &RxPacket<'_>) -> u8 {
    pkt.vrrp[1]
}

/// What a receiving instance expects (its configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxConfig {
    /// Instance name, for messages.
    pub iname: String,
    /// Configured version.
    pub version: Version,
    /// Configured auth type (v2).
    pub auth_type: u8,
    /// Configured password, NUL-padded (PASS).
    pub auth_data: [u8; AUTH_LEN],
    /// v2: configured interval in seconds.
    pub adver_int_secs: u32,
    /// The configured VIPs.
    pub vips: Vec<IpAddr>,
    /// Unicast mode (`unicast_peer` given).
    pub unicast: bool,
    /// Unicast peers.
    pub peers: Vec<IpAddr>,
    /// Require the source to be a unicast peer.
    pub check_unicast_src: bool,
}

/// How bad a rejected packet is (keepalived's KO vs DROP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Invalid: counted as an error.
    Invalid,
    /// Ignored (v2 interval mismatch).
    Dropped,
}

/// Why an instance refused a packet; `Display` is keepalived's log line.
/// Fields: `iname` the instance, `got` / `expected` the two values compared.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// AH present but not configured, or the reverse.
    #[error("({iname}) {}", if *got_ah { "Received AH header but auth type not AH" } else { "No AH header but auth type is AH" })]
    AhMismatch { iname: String, got_ah: bool },
    /// Length differs from what the address count implies.
    #[error("({iname}) vrrp packet too {}, length {len} and expect {expected}", if len > expected { "long" } else { "short" })]
    Length {
        iname: String,
        len: usize,
        expected: usize,
    },
    /// TTL / hop limit not 255 (multicast).
    #[error("({iname}) invalid TTL/HL. Received {ttl} and expect {VRRP_TTL}")]
    Ttl { iname: String, ttl: u8 },
    /// Version differs from the configured one.
    #[error("({iname}) wrong version. Received {got} and expect {expected}")]
    Version {
        iname: String,
        got: u8,
        expected: u8,
    },
    /// v2 auth type outside 0..=2.
    #[error("({iname}) Invalid auth type: {got}")]
    InvalidAuthType { iname: String, got: u8 },
    /// v2 auth type differs from the configured one.
    #[error("({iname}) received a {got} auth, expecting {expected}!")]
    AuthTypeMismatch {
        iname: String,
        got: u8,
        expected: u8,
    },
    /// PASS password differs.
    #[error("({iname}) received an invalid passwd!")]
    BadPassword { iname: String },
    /// AH authentication is not implemented by haven.
    #[error("({iname}) IPsec AH authentication is not supported by haven - packet ignored")]
    AhUnsupported { iname: String },
    /// v2 interval differs (dropped).
    #[error("({iname}) advertisement interval mismatch mine={mine} sec rcv'd={got} sec")]
    IntervalMismatch { iname: String, mine: u32, got: u16 },
    /// Type is not 1 (advertisement).
    #[error("({iname}) Invalid packet type. {got} and expect 1")]
    Type { iname: String, got: u8 },
    /// Address count differs from the configured VIP count.
    #[error("({iname}) received an unexpected ip number count {got}, expected {expected}!")]
    AddrCount {
        iname: String,
        got: usize,
        expected: usize,
    },
    /// IPv4 total length differs from the received length.
    #[error("({iname}) ip_tot_len mismatch against received length. {total} and received {len}")]
    TotalLength {
        iname: String,
        total: u16,
        len: usize,
    },
    /// Checksum wrong.
    #[error("({iname}) Invalid VRRPv{version} checksum")]
    Checksum { iname: String, version: u8 },
    /// Multicast packet on a unicast instance or the reverse.
    #[error("({iname}) Expected {}icast packet but received {}icast packet", if *unicast { "un" } else { "mult" }, if *unicast { "mult" } else { "un" })]
    CastMismatch { iname: String, unicast: bool },
    /// A configured VIP is missing from the advert.
    #[error(
        "({iname}) ip address associated with VRID {vrid} not present in MASTER advert: {addr}"
    )]
    MissingVip {
        iname: String,
        vrid: u8,
        addr: IpAddr,
    },
    /// Unicast source is not a configured peer.
    #[error("({iname}) unicast source address {src} not a unicast peer")]
    NotAPeer { iname: String, src: IpAddr },
}

impl RxError {
    /// keepalived's KO (invalid) or DROP.
    pub fn severity(&self) -> Severity {
        match self {
            Self::IntervalMismatch { .. } => Severity::Dropped,
            _ => Severity::Invalid,
        }
    }

    /// A short stable name for statistics (`adverts rejected by reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::AhMismatch { .. } | Self::AuthTypeMismatch { .. } => "auth_type_mismatch",
            Self::Length { .. } | Self::TotalLength { .. } => "packet_length",
            Self::Ttl { .. } => "ip_ttl",
            Self::Version { .. } => "version",
            Self::InvalidAuthType { .. } => "invalid_auth_type",
            Self::BadPassword { .. } | Self::AhUnsupported { .. } => "auth_failure",
            Self::IntervalMismatch { .. } => "interval_mismatch",
            Self::Type { .. } => "invalid_type",
            Self::AddrCount { .. }
            | Self::MissingVip { .. }
            | Self::CastMismatch { .. }
            | Self::NotAPeer { .. } => "address_list",
            Self::Checksum { .. } => "checksum",
        }
    }
}

/// Checks `pkt` as keepalived 2.2.7's `vrrp_check_packet` does, in its
/// order, and decodes it. `check_vips`: compare the address list (skipped
/// for repeats from the same master with `vrrp_skip_check_adv_addr`).
pub fn check(pkt: &RxPacket<'_>, cfg: &RxConfig, check_vips: bool) -> Result<Advert, RxError> {
    let iname = || cfg.iname.clone();
    let ipv4 = pkt.src.is_ipv4();
    let v = pkt.vrrp;
    if pkt.ah != (cfg.auth_type == auth_type::AH && cfg.version == Version::V2) {
        return Err(RxError::AhMismatch {
            iname: iname(),
            got_ah: pkt.ah,
        });
    }
    let naddr = usize::from(v[3]);
    let pkt_version = if v[0] >> 4 == 3 {
        Version::V3
    } else {
        Version::V2
    };
    let expected = pkt.header_len + vrrp_len(pkt_version, ipv4, naddr);
    if pkt.len != expected {
        return Err(RxError::Length {
            iname: iname(),
            len: pkt.len,
            expected,
        });
    }
    if let Some(ttl) = pkt.ttl.filter(|t| !cfg.unicast && *t != VRRP_TTL) {
        return Err(RxError::Ttl {
            iname: iname(),
            ttl,
        });
    }
    let got_version = v[0] >> 4;
    if got_version != cfg.version.number() {
        return Err(RxError::Version {
            iname: iname(),
            got: got_version,
            expected: cfg.version.number(),
        });
    }
    let mut auth_data = [0u8; AUTH_LEN];
    let adver_int = match cfg.version {
        Version::V2 => {
            let at = v[4];
            if at > auth_type::AH {
                return Err(RxError::InvalidAuthType {
                    iname: iname(),
                    got: at,
                });
            }
            if at != cfg.auth_type {
                return Err(RxError::AuthTypeMismatch {
                    iname: iname(),
                    got: at,
                    expected: cfg.auth_type,
                });
            }
            if ipv4 {
                auth_data.copy_from_slice(&v[v.len() - AUTH_LEN..]);
            }
            if at == auth_type::PASS && !constant_time_eq(&auth_data, &cfg.auth_data) {
                return Err(RxError::BadPassword { iname: iname() });
            }
            if at == auth_type::AH {
                return Err(RxError::AhUnsupported { iname: iname() });
            }
            if u32::from(v[5]) != cfg.adver_int_secs {
                return Err(RxError::IntervalMismatch {
                    iname: iname(),
                    mine: cfg.adver_int_secs,
                    got: u16::from(v[5]),
                });
            }
            u16::from(v[5])
        }
        Version::V3 => u16::from_be_bytes([v[4], v[5]]) & 0x0fff,
    };
    let kind = v[0] & 0x0f;
    if kind != 1 {
        return Err(RxError::Type {
            iname: iname(),
            got: kind,
        });
    }
    if check_vips && naddr != cfg.vips.len() {
        return Err(RxError::AddrCount {
            iname: iname(),
            got: naddr,
            expected: cfg.vips.len(),
        });
    }
    if let Some(total) = pkt.ip_total_len.filter(|t| usize::from(*t) != pkt.len) {
        return Err(RxError::TotalLength {
            iname: iname(),
            total,
            len: pkt.len,
        });
    }
    if ipv4 {
        let mut zeroed = v.to_vec();
        zeroed[6] = 0;
        zeroed[7] = 0;
        let sent = u16::from_be_bytes([v[6], v[7]]);
        if vrrp_checksum(cfg.version, &zeroed, pkt.src, pkt.dst) != sent {
            return Err(RxError::Checksum {
                iname: iname(),
                version: cfg.version.number(),
            });
        }
    }
    let multicast = pkt.dst.is_multicast();
    if multicast == cfg.unicast {
        return Err(RxError::CastMismatch {
            iname: iname(),
            unicast: cfg.unicast,
        });
    }
    let width = if ipv4 { 4 } else { 16 };
    let addrs: Vec<IpAddr> = v[HEADER_LEN..HEADER_LEN + naddr * width]
        .chunks_exact(width)
        .map(|c| match <[u8; 4]>::try_from(c) {
            Ok(b4) => IpAddr::from(b4),
            Err(_) => {
                let mut b16 = [0u8; 16];
                b16.copy_from_slice(c);
                IpAddr::from(b16)
            }
        })
        .collect();
    if check_vips {
        if let Some(missing) = cfg.vips.iter().find(|vip| !addrs.contains(vip)) {
            return Err(RxError::MissingVip {
                iname: iname(),
                vrid: v[1],
                addr: *missing,
            });
        }
        if cfg.unicast && cfg.check_unicast_src && !cfg.peers.contains(&pkt.src) {
            return Err(RxError::NotAPeer {
                iname: iname(),
                src: pkt.src,
            });
        }
    }
    Ok(Advert {
        version: cfg.version,
        kind,
        vrid: v[1],
        priority: v[2],
        adver_int,
        auth_type: if cfg.version == Version::V2 { v[4] } else { 0 },
        auth_data,
        addrs,
        checksum: u16::from_be_bytes([v[6], v[7]]),
    })
}

/// Compares two secrets without an early exit.
fn constant_time_eq(a: &[u8; AUTH_LEN], b: &[u8; AUTH_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A password as it goes on the wire: NUL-padded (or cut) to 8 bytes.
pub fn pass_bytes(pass: &str) -> [u8; AUTH_LEN] {
    let mut out = [0u8; AUTH_LEN];
    for (o, b) in out.iter_mut().zip(pass.bytes()) {
        *o = b;
    }
    out
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}
