//! The frames keepalived announces a VIP with (spec §1.5): for IPv4 a
//! gratuitous ARP request from the VIP to the VIP, broadcast, with the
//! broadcast address as target MAC; for IPv6 an unsolicited Neighbour
//! Advertisement (override flag, target link-layer address) to all nodes.

/// Length of the frame: Ethernet header (14) and ARP (28), unpadded.
pub const GARP_LEN: usize = 42;

/// The frame announcing `vip` from the interface whose MAC is `mac`.
pub fn garp_frame(mac: [u8; 6], vip: std::net::Ipv4Addr) -> [u8; GARP_LEN] {
    const BROADCAST: [u8; 6] = [0xff; 6];
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    // htype Ethernet, ptype IPv4, hlen 6, plen 4, op 1 (request).
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&BROADCAST);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// Length of an unsolicited NA frame: Ethernet (14), IPv6 (40), ICMPv6
/// NA (24) and its target link-layer address option (8).
pub const NA_LEN: usize = 86;

/// The unsolicited Neighbour Advertisement for `vip` from the interface
/// whose MAC is `mac`, to ff02::1.
pub fn na_frame(mac: [u8; 6], vip: std::net::Ipv6Addr) -> [u8; NA_LEN] {
    let all_nodes = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut f = [0u8; NA_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    // IPv6: version 6, payload 32 bytes, next header ICMPv6, hop limit 255.
    f[14] = 0x60;
    f[18..20].copy_from_slice(&32u16.to_be_bytes());
    f[20] = 58;
    f[21] = 255;
    f[22..38].copy_from_slice(&vip.octets());
    f[38..54].copy_from_slice(&all_nodes.octets());
    // ICMPv6 NA: type 136, override flag, target, option 2 (our MAC).
    f[54] = 136;
    f[58] = 0x20;
    f[62..78].copy_from_slice(&vip.octets());
    f[78] = 2;
    f[79] = 1;
    f[80..86].copy_from_slice(&mac);
    let sum = icmpv6_checksum(&f[22..38], &f[38..54], &f[54..86]);
    f[56..58].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The ICMPv6 checksum over the pseudo-header and `message`.
fn icmpv6_checksum(src: &[u8], dst: &[u8], message: &[u8]) -> u16 {
    use super::checksum::{finish, sum};
    let length = (message.len() as u32).to_be_bytes();
    let acc = [src, dst, &length, &[0, 0, 0, 58], message]
        .iter()
        .fold(0, |acc, part| sum(acc, part));
    finish(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_is_keepalived_s() {
        let f = garp_frame([2, 0, 0, 0, 0, 1], "192.168.66.100".parse().expect("ip"));
        let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ffffffffffff020000000001080600010800060400010200000000\
             01c0a84264ffffffffffffc0a84264"
        );
    }

    #[test]
    fn the_na_frame_checks_out() {
        let mac = [2, 0, 0, 0, 0, 1];
        let vip: std::net::Ipv6Addr = "fd00::50".parse().expect("ip");
        let f = na_frame(mac, vip);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!((f[20], f[21], f[54], f[58]), (58, 255, 136, 0x20));
        assert_eq!(&f[62..78], &vip.octets());
        // A correct checksum makes the sum over everything come out 0.
        assert_eq!(icmpv6_checksum(&f[22..38], &f[38..54], &f[54..86]), 0);
    }
}
