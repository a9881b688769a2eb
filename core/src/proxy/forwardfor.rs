//! `option forwardfor`: whether a request gets the client's address in
//! `X-Forwarded-For` (or the configured header).

use crate::config::haproxy::Forwardfor;
use std::net::IpAddr;

/// True when the header is added for a request from `client`;
/// `has_header` tells whether the request already carries it. Clients in
/// the `except` network and, with `if-none`, requests that have the header
/// are left alone.
pub fn adds_forwarded_for(f: &Forwardfor, client: IpAddr, has_header: bool) -> bool {
    if f.if_none && has_header {
        return false;
    }
    !f.except
        .as_deref()
        .is_some_and(|net| in_network(client, net))
}

/// Whether `ip` is in `net`, written `ADDR`, `ADDR/BITS` or `ADDR/MASK`
/// as haproxy accepts; an unreadable network contains nothing.
fn in_network(ip: IpAddr, net: &str) -> bool {
    let (addr, len) = net.split_once('/').unwrap_or((net, ""));
    let Ok(base) = addr.parse::<IpAddr>() else {
        return false;
    };
    let width = if base.is_ipv4() { 32 } else { 128 };
    let bits = if len.is_empty() {
        width
    } else if let Ok(n) = len.parse::<u32>() {
        n.min(width)
    } else if let Ok(std::net::IpAddr::V4(mask)) = len.parse::<IpAddr>() {
        u32::from(mask).leading_ones()
    } else {
        return false;
    };
    let (a, b) = match (ip, base) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (
            u128::from(u32::from(a)) << 96,
            u128::from(u32::from(b)) << 96,
        ),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => return false,
    };
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ff(except: Option<&str>, if_none: bool) -> Forwardfor {
        Forwardfor {
            header: "X-Forwarded-For".into(),
            except: except.map(str::to_owned),
            if_none,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn except_networks_and_if_none_leave_the_request_alone() {
        assert!(adds_forwarded_for(&ff(None, false), ip("10.0.0.1"), true));
        assert!(!adds_forwarded_for(&ff(None, true), ip("10.0.0.1"), true));
        assert!(adds_forwarded_for(&ff(None, true), ip("10.0.0.1"), false));
        let local = ff(Some("127.0.0.0/8"), false);
        assert!(!adds_forwarded_for(&local, ip("127.9.9.9"), false));
        assert!(adds_forwarded_for(&local, ip("10.0.0.1"), false));
        let masked = ff(Some("192.168.0.0/255.255.0.0"), false);
        assert!(!adds_forwarded_for(&masked, ip("192.168.4.2"), false));
        assert!(!adds_forwarded_for(
            &ff(Some("10.0.0.7"), false),
            ip("10.0.0.7"),
            false
        ));
        assert!(!adds_forwarded_for(
            &ff(Some("::1/128"), false),
            ip("::1"),
            false
        ));
        assert!(adds_forwarded_for(
            &ff(Some("::1/128"), false),
            ip("127.0.0.1"),
            false
        ));
    }
}
