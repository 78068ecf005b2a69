//! RFC 5798 §6.1 timer arithmetic, exact to the nanosecond.

use std::time::Duration;

use vipd_wire::Version;

use crate::time::centis;

/// Skew_Time for a router of `priority` that believes the master advertises every
/// `master_adver_interval_cs` centiseconds.
///
/// - VRRPv3, RFC 5798 §6.1: `((256 - Priority) * Master_Adver_Interval) / 256` cs.
/// - VRRPv2, RFC 3768 §6.1: `(256 - Priority) / 256` seconds, whatever the interval.
///
/// Computed in nanoseconds: the division by 256 of a centisecond count times 10^7 is
/// exact whenever `(256 - priority) * interval` is even, and otherwise off by half a
/// nanosecond, never more (no truncation to whole centiseconds, no seconds-for-cs mix-up).
pub fn skew_time(version: Version, priority: u8, master_adver_interval_cs: u16) -> Duration {
    let weight = 256 - u64::from(priority);
    match version {
        Version::V3 => {
            Duration::from_nanos(weight * u64::from(master_adver_interval_cs) * 10_000_000 / 256)
        }
        Version::V2 => Duration::from_nanos(weight * 1_000_000_000 / 256),
    }
}

/// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 5798 §6.1;
/// RFC 3768 §6.1 with Advertisement_Interval).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval_cs: u16,
) -> Duration {
    centis(3 * u64::from(master_adver_interval_cs))
        + skew_time(version, priority, master_adver_interval_cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_skew_and_down_interval_are_exact() {
        // Priority 100 at 100 cs: skew = 156 * 100 / 256 = 60.9375 cs.
        assert_eq!(
            skew_time(Version::V3, 100, 100),
            Duration::from_nanos(609_375_000)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, 100),
            Duration::from_nanos(3_609_375_000)
        );
        // Priority 254 at 1 cs: 2 * 1 / 256 cs = 78125 ns, not zero.
        assert_eq!(skew_time(Version::V3, 254, 1), Duration::from_nanos(78_125));
        // Default 20 cs at priority 100: 156 * 20 / 256 cs = 121.875 ms.
        assert_eq!(
            master_down_interval(Version::V3, 100, 20),
            Duration::from_nanos(721_875_000)
        );
    }

    #[test]
    fn v2_skew_is_in_seconds() {
        // (256 - 100) / 256 s = 0.609375 s, independent of the interval.
        assert_eq!(
            skew_time(Version::V2, 100, 300),
            Duration::from_nanos(609_375_000)
        );
        assert_eq!(
            master_down_interval(Version::V2, 100, 100),
            Duration::from_nanos(3_609_375_000)
        );
    }
}
