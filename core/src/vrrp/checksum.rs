//! The Internet checksum (RFC 1071): 16-bit one's complement of the one's
//! complement sum, as VRRP and IPv4 headers use it.

/// Adds `data` to a running 32-bit sum, big-endian 16-bit words, an odd
/// last byte padded with zero.
pub(crate) fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds a running sum and complements it.
pub(crate) fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_folds_to_0x14b4() {
        // spec/vrrp-keepalived.md §1.4: the words sum to 0x1eb4a.
        let vrrp = [
            0x21, 0x33, 0x64, 0x01, 0x01, 0x02, 0x00, 0x00, 0xc0, 0xa8, 0x42, 0x0a, 0x31, 0x31,
            0x31, 0x31, 0, 0, 0, 0,
        ];
        assert_eq!(sum(0, &vrrp), 0x1eb4a);
        assert_eq!(finish(sum(0, &vrrp)), 0x14b4);
        assert_eq!(finish(sum(0, &[0xff])), !0xff00);
    }
}
