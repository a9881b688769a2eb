//! VRRP codec vectors (spec/vrrp-keepalived.md §1.4, byte-identical to
//! keepalived 2.2.7 on the wire) and one rejection per receive check.

use haven_core::vrrp::packet::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const A: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 11);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 66, 10);

/// The §1.4 advert: v2, VRID 51, priority `prio`, VIP .10, 2 s, PASS "1111".
fn book_advert(prio: u8) -> Advert {
    Advert {
        version: Version::V2,
        kind: 1,
        vrid: 51,
        priority: prio,
        adver_int: 2,
        auth_type: auth_type::PASS,
        auth_data: pass_bytes("1111"),
        addrs: vec![VIP.into()],
        checksum: 0,
    }
}

fn rx_config() -> RxConfig {
    RxConfig {
        iname: "HA_1".into(),
        version: Version::V2,
        auth_type: auth_type::PASS,
        auth_data: pass_bytes("1111"),
        adver_int_secs: 2,
        vips: vec![VIP.into()],
        unicast: false,
        peers: vec![],
        check_unicast_src: false,
    }
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

#[test]
fn v2_ipv4_matches_keepalived_byte_for_byte() {
    let wire = book_advert(100).encode_ipv4(A, MCAST_V4, 1);
    assert_eq!(
        wire,
        hex(
            "45 c0 00 28 00 01 00 00 ff 70 d7 de c0 a8 42 0b e0 00 00 12 \
             21 33 64 01 01 02 14 b4 c0 a8 42 0a 31 31 31 31 00 00 00 00"
        )
    );
    // The IP header checksum drops by one per ID step.
    assert_eq!(
        &book_advert(100).encode_ipv4(A, MCAST_V4, 2)[10..12],
        &[0xd7, 0xdd]
    );
}

#[test]
fn v2_checksums_at_other_priorities() {
    for (prio, csum) in [(121, 0xffb3u16), (111, 0x09b4), (0, 0x78b4)] {
        let bytes = book_advert(prio).encode(A.into(), MCAST_V4.into());
        assert_eq!(
            u16::from_be_bytes([bytes[6], bytes[7]]),
            csum,
            "priority {prio}"
        );
    }
}

#[test]
fn v3_vectors_ipv4_and_ipv6() {
    let mut adv = book_advert(100);
    adv.version = Version::V3;
    adv.adver_int = 200;
    adv.auth_type = 0;
    assert_eq!(
        adv.encode(A.into(), MCAST_V4.into()),
        hex("31 33 64 01 00 c8 84 0d c0 a8 42 0a")
    );
    let vip6: Ipv6Addr = "2001:db8::10".parse().expect("v6");
    let src6: Ipv6Addr = "fe80::1".parse().expect("v6");
    adv.addrs = vec![vip6.into()];
    assert_eq!(
        adv.encode(src6.into(), MCAST_V6.into()),
        hex("31 33 64 01 00 c8 3e 1b 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10")
    );
}

#[test]
fn captured_keepalived_advert_decodes_to_its_fields() {
    let wire = hex(
        "45 c0 00 28 00 01 00 00 ff 70 d7 de c0 a8 42 0b e0 00 00 12 \
         21 33 64 01 01 02 14 b4 c0 a8 42 0a 31 31 31 31 00 00 00 00",
    );
    let pkt = decode_ipv4(&wire).expect("well-formed IPv4");
    assert_eq!(
        (pkt.src, pkt.dst, pkt.ttl),
        (IpAddr::from(A), IpAddr::from(MCAST_V4), Some(255))
    );
    assert_eq!(vrid(&pkt), 51);
    let adv = check(&pkt, &rx_config(), true).expect("valid for HA_1");
    assert_eq!(
        (adv.vrid, adv.priority, adv.adver_int, adv.checksum),
        (51, 100, 2, 0x14b4)
    );
    assert_eq!(adv.addrs, [IpAddr::from(VIP)]);
    assert_eq!(adv.auth_data, pass_bytes("1111"));
}

/// Receives `wire` with the book config changed by `cfg`, returning the log line.
fn reject(wire: &[u8], cfg: impl FnOnce(&mut RxConfig)) -> String {
    let mut c = rx_config();
    cfg(&mut c);
    let pkt = decode_ipv4(wire).expect("decodes");
    check(&pkt, &c, true)
        .expect_err("must be refused")
        .to_string()
}

fn good() -> Vec<u8> {
    book_advert(100).encode_ipv4(A, MCAST_V4, 1)
}

#[test]
fn each_receive_check_has_keepalived_s_words() {
    let mut ah = good();
    ah[9] = IPPROTO_AH;
    ah.extend_from_slice(&[0; 24]);
    assert_eq!(
        reject(&ah, |_| {}),
        "(HA_1) Received AH header but auth type not AH"
    );
    assert_eq!(
        reject(&good(), |c| c.auth_type = auth_type::AH),
        "(HA_1) No AH header but auth type is AH"
    );

    let mut long = good();
    long.push(0);
    assert_eq!(
        reject(&long, |_| {}),
        "(HA_1) vrrp packet too long, length 41 and expect 40"
    );

    let mut ttl = good();
    ttl[8] = 64;
    assert_eq!(
        reject(&ttl, |_| {}),
        "(HA_1) invalid TTL/HL. Received 64 and expect 255"
    );

    assert_eq!(
        reject(&good(), |c| c.version = Version::V3),
        "(HA_1) wrong version. Received 2 and expect 3"
    );

    let mut at = book_advert(100);
    at.auth_type = 7;
    assert_eq!(
        reject(&at.encode_ipv4(A, MCAST_V4, 1), |_| {}),
        "(HA_1) Invalid auth type: 7"
    );
    assert_eq!(
        reject(&good(), |c| c.auth_type = 0),
        "(HA_1) received a 1 auth, expecting 0!"
    );
    assert_eq!(
        reject(&good(), |c| c.auth_data = pass_bytes("2222")),
        "(HA_1) received an invalid passwd!"
    );

    let drop = check(
        &decode_ipv4(&good()).expect("decodes"),
        &RxConfig {
            adver_int_secs: 1,
            ..rx_config()
        },
        true,
    )
    .expect_err("dropped");
    assert_eq!(
        drop.to_string(),
        "(HA_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"
    );
    assert_eq!(drop.severity(), Severity::Dropped);

    let mut kind = book_advert(100);
    kind.kind = 2;
    assert_eq!(
        reject(&kind.encode_ipv4(A, MCAST_V4, 1), |_| {}),
        "(HA_1) Invalid packet type. 2 and expect 1"
    );

    assert_eq!(
        reject(&good(), |c| c.vips.push(Ipv4Addr::new(10, 0, 0, 1).into())),
        "(HA_1) received an unexpected ip number count 1, expected 2!"
    );

    let mut total = good();
    total[3] = 0x29;
    assert_eq!(
        reject(&total, |_| {}),
        "(HA_1) ip_tot_len mismatch against received length. 41 and received 40"
    );

    let mut csum = good();
    csum[27] ^= 1;
    assert_eq!(reject(&csum, |_| {}), "(HA_1) Invalid VRRPv2 checksum");

    assert_eq!(
        reject(&good(), |c| c.unicast = true),
        "(HA_1) Expected unicast packet but received multicast packet"
    );

    assert_eq!(
        reject(&good(), |c| c.vips =
            vec![Ipv4Addr::new(10, 0, 0, 1).into()]),
        "(HA_1) ip address associated with VRID 51 not present in MASTER advert: 10.0.0.1"
    );

    let unicast = book_advert(100).encode_ipv4(A, Ipv4Addr::new(192, 168, 66, 12), 1);
    assert_eq!(
        reject(&unicast, |c| {
            c.unicast = true;
            c.check_unicast_src = true;
            c.peers = vec![Ipv4Addr::new(192, 168, 66, 13).into()];
        }),
        "(HA_1) unicast source address 192.168.66.11 not a unicast peer"
    );
}

#[test]
fn each_decode_error() {
    let g = good();
    assert_eq!(decode_ipv4(&g[..10]), Err(DecodeError::ShortIp(10)));
    let mut v6 = g.clone();
    v6[0] = 0x65;
    assert_eq!(decode_ipv4(&v6), Err(DecodeError::NotIpv4(6)));
    let mut ihl = g.clone();
    ihl[0] = 0x44;
    assert_eq!(decode_ipv4(&ihl), Err(DecodeError::BadIhl(16)));
    let mut udp = g.clone();
    udp[9] = 17;
    assert_eq!(decode_ipv4(&udp), Err(DecodeError::NotVrrp(17)));
    assert_eq!(decode_ipv4(&g[..24]), Err(DecodeError::ShortVrrp(4)));
}

fn advert() -> impl Strategy<Value = Advert> {
    (
        any::<bool>(),
        1u8..=255,
        any::<u8>(),
        1u16..=255,
        proptest::collection::vec(any::<[u8; 4]>(), 0..8),
        any::<[u8; 8]>(),
    )
        .prop_map(|(v3, vrid, priority, int, addrs, pass)| Advert {
            version: if v3 { Version::V3 } else { Version::V2 },
            kind: 1,
            vrid,
            priority,
            adver_int: if v3 { int * 10 } else { int },
            auth_type: if v3 { 0 } else { auth_type::PASS },
            auth_data: if v3 { [0; 8] } else { pass },
            addrs: addrs.into_iter().map(IpAddr::from).collect(),
            checksum: 0,
        })
}

proptest! {
    /// decode(encode(x)) == x, for both versions.
    #[test]
    fn encode_then_check_round_trips(adv in advert(), id in any::<u16>()) {
        let wire = adv.encode_ipv4(A, MCAST_V4, id);
        let pkt = decode_ipv4(&wire).expect("own packets decode");
        let cfg = RxConfig {
            version: adv.version,
            auth_type: adv.auth_type,
            auth_data: adv.auth_data,
            adver_int_secs: u32::from(adv.adver_int),
            vips: adv.addrs.clone(),
            ..rx_config()
        };
        let got = check(&pkt, &cfg, true).expect("own packets pass");
        prop_assert_eq!(Advert { checksum: 0, ..got }, adv);
    }

    /// Arbitrary bytes never panic the decoder or the checks.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(pkt) = decode_ipv4(&bytes) {
            let _ = check(&pkt, &rx_config(), true);
            let _ = check(&pkt, &RxConfig { version: Version::V3, ..rx_config() }, false);
        }
    }
}
