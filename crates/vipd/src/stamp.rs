//! Wall-clock stamps for the event stream: the node gives each event the (monotonic)
//! instant it happened; the shell turns it into the wall-clock time it was, RFC 3339 in
//! UTC with milliseconds (`2026-12-01T02:30:05.123Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vipd_engine::Instant;

/// The wall-clock time at which `at` was, given that `now` (the same clock) is
/// `wall_now`. Events are stamped right after the node handled what caused them, so
/// `now - at` is small; a wall clock stepped since does not move them apart.
pub fn wall_time(at: Instant, now: Instant, wall_now: SystemTime) -> SystemTime {
    let ago = now.saturating_since(at);
    wall_now.checked_sub(ago).unwrap_or(UNIX_EPOCH)
}

/// RFC 3339, UTC, milliseconds. A time before 1970 is written as the epoch.
pub fn rfc3339_ms(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let ms = since.subsec_millis();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the days-to-civil
/// algorithm: 400-year eras of 146097 days, years starting in March).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms)
    }

    #[test]
    fn formats_rfc3339_with_milliseconds() {
        assert_eq!(rfc3339_ms(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // `date -u -d @1796092205`: Tue Dec  1 02:30:05 UTC 2026.
        assert_eq!(
            rfc3339_ms(at(1_796_092_205, 123)),
            "2026-12-01T02:30:05.123Z"
        );
        // A leap day, and the last second of a year.
        assert_eq!(rfc3339_ms(at(951_782_400, 0)), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_ms(at(1_798_761_599, 999)),
            "2026-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn an_instant_is_placed_before_now_by_how_long_ago_it_was() {
        let now = Instant::from_nanos(5_000_000_000);
        let wall = at(1_796_092_205, 500);
        let t = wall_time(Instant::from_nanos(4_750_000_000), now, wall);
        assert_eq!(rfc3339_ms(t), "2026-12-01T02:30:05.250Z");
        // An instant after now (it cannot be) is now.
        assert_eq!(
            wall_time(Instant::from_nanos(6_000_000_000), now, wall),
            wall
        );
    }
}
