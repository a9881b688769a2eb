//! Hash-based selection (spec/haproxy.md §3.5): `source` and `uri` keys,
//! sdbm, Bob Jenkins' avalanche, and the consistent-hash ring.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// sdbm, haproxy's default hash function (32-bit wrapping).
pub fn sdbm(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |h, c| {
        u32::from(*c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

/// haproxy's `full_hash`: Bob Jenkins' 6-step integer hash, then a
/// multiply by a large prime.
pub fn avalanche(mut a: u32) -> u32 {
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// The `source` key: an IPv4 address as a host-order integer, an IPv6
/// address as the XOR of its four 32-bit words.
pub fn source_key(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4),
        IpAddr::V6(v6) => v6
            .octets()
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .fold(0, |a, b| a ^ b),
    }
}

/// The `uri` key: the URI up to the first `?` (all of it with `whole`),
/// cut to `len` bytes and `depth` slashes, hashed with sdbm.
pub fn uri_key(uri: &str, whole: bool, len: Option<u32>, depth: Option<u32>) -> u32 {
    let bytes = uri.as_bytes();
    let limit = len.map_or(bytes.len(), |l| bytes.len().min(l as usize));
    let mut slashes = 0;
    let mut end = 0;
    while end < limit {
        match bytes[end] {
            b'/' => {
                slashes += 1;
                if depth.is_some_and(|d| slashes == d + 1) {
                    break;
                }
            }
            b'?' if !whole => break,
            _ => {}
        }
        end += 1;
    }
    sdbm(&bytes[..end])
}

/// The consistent-hash ring of one group.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    /// Point → server, points ordered; equal keys keep server order.
    points: BTreeMap<(u32, usize), usize>,
}

impl Ring {
    /// A ring for `servers` = (index, 1-based id, user weight): each server
    /// gets `weight * 16` points at `avalanche(id * 4096 + i)`.
    pub fn new(servers: &[(usize, u32, u32)]) -> Self {
        let mut points = BTreeMap::new();
        for &(idx, puid, w) in servers {
            for i in 0..w * 16 {
                points.insert(
                    (avalanche(puid.wrapping_mul(4096).wrapping_add(i)), idx),
                    idx,
                );
            }
        }
        Self { points }
    }

    /// The server closest to `hash` (the earlier point wins ties), moving
    /// on clockwise past `avoid`.
    pub fn lookup(&self, hash: u32, avoid: Option<usize>) -> Option<usize> {
        let next = self
            .points
            .range((hash, 0)..)
            .next()
            .or_else(|| self.points.iter().next())?;
        let prev = self
            .points
            .range(..(next.0 .0, *next.1))
            .next_back()
            .or_else(|| self.points.iter().next_back())?;
        let dp = hash.wrapping_sub(prev.0 .0);
        let dn = next.0 .0.wrapping_sub(hash);
        let mut at = if dp <= dn { prev } else { next };
        let mut laps = 0;
        while Some(*at.1) == avoid {
            at = match self
                .points
                .range((std::ops::Bound::Excluded(*at.0), std::ops::Bound::Unbounded))
                .next()
            {
                Some(n) => n,
                None => {
                    laps += 1;
                    if laps > 1 {
                        break;
                    }
                    self.points.iter().next()?
                }
            };
        }
        Some(*at.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::map::WeightMap;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn map_based_source_and_uri_as_real_haproxy() {
        let map = WeightMap::new(&[(0, 1), (1, 1), (2, 1)]);
        let src: Vec<Option<usize>> = (1..=5)
            .map(|i| map.by_hash(source_key(ip(&format!("127.0.0.{i}")))))
            .collect();
        assert_eq!(src, [Some(2), Some(0), Some(1), Some(2), Some(0)]);
        let uri: Vec<Option<usize>> = ["/u/a", "/u/b", "/u/c", "/u/d", "/u/a?x=1"]
            .iter()
            .map(|u| map.by_hash(uri_key(u, false, None, None)))
            .collect();
        assert_eq!(uri, [Some(1), Some(2), Some(0), Some(1), Some(1)]);
    }

    #[test]
    fn consistent_source_and_uri_as_real_haproxy() {
        let ring = Ring::new(&[(0, 1, 1), (1, 2, 1), (2, 3, 1)]);
        let src: Vec<Option<usize>> = (1..=5)
            .map(|i| ring.lookup(avalanche(source_key(ip(&format!("127.0.0.{i}")))), None))
            .collect();
        assert_eq!(src, [Some(1), Some(0), Some(2), Some(0), Some(1)]);
        let uri: Vec<Option<usize>> = ["/u/a", "/u/b", "/u/c", "/u/d"]
            .iter()
            .map(|u| ring.lookup(avalanche(uri_key(u, false, None, None)), None))
            .collect();
        assert_eq!(uri, [Some(0), Some(1), Some(2), Some(1)]);
        let first = ring.lookup(avalanche(source_key(ip("127.0.0.1"))), None);
        let other = ring.lookup(avalanche(source_key(ip("127.0.0.1"))), first);
        assert!(
            other.is_some() && other != first,
            "redispatch moves to another server"
        );
    }
}
