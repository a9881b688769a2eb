//! The gratuitous ARP frame keepalived sends for a VIP (spec §1.5): an
//! ARP request from the VIP to the VIP, broadcast, with the broadcast
//! address as target MAC.

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
}
