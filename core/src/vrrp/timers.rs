//! keepalived's timer formulas (spec/vrrp-keepalived.md §2.2), in integer
//! microseconds exactly as `include/vrrp.h` computes them.

use super::packet::Version;
use crate::time::Duration;

/// Priority of the address owner.
pub const PRIO_OWNER: u8 = 255;
/// Adverts missed before a backup takes over (`down_timer_adverts`).
pub const DOWN_TIMER_ADVERTS: u64 = 3;

/// Skew time for priority `prio`: v2 `(256-p)/256 s` (independent of the
/// interval, RFC 3768), v3 `(256-p) * master_adver_int / 256`.
pub fn skew(version: Version, prio: u8, master_adver_int: Duration) -> Duration {
    let p = 256 - u64::from(prio);
    let us = match version {
        Version::V2 => p * 1_000_000 / 256,
        Version::V3 => p * (master_adver_int.as_micros() / 10_000) * 625 / 16,
    };
    Duration::from_micros(us)
}

/// Master down interval: three intervals plus the skew of `prio`.
pub fn master_down(version: Version, prio: u8, master_adver_int: Duration) -> Duration {
    master_adver_int * DOWN_TIMER_ADVERTS + skew(version, prio, master_adver_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table_for_advert_int_2() {
        let two = Duration::from_secs(2);
        for (prio, skew_us, down_us) in [
            (90, 648_437, 6_648_437),
            (100, 609_375, 6_609_375),
            (111, 566_406, 6_566_406),
            (121, 527_343, 6_527_343),
        ] {
            assert_eq!(
                skew(Version::V2, prio, two),
                Duration::from_micros(skew_us),
                "skew {prio}"
            );
            assert_eq!(
                master_down(Version::V2, prio, two),
                Duration::from_micros(down_us),
                "down {prio}"
            );
        }
        assert_eq!(skew(Version::V2, 255, two), Duration::from_micros(3906));
        assert_eq!(
            skew(Version::V3, 100, two),
            Duration::from_micros(1_218_750)
        );
        assert_eq!(
            master_down(Version::V3, 100, two),
            Duration::from_micros(7_218_750)
        );
    }
}
