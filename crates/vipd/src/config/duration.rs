//! Human-readable durations: `250ms`, `1s`, `1.5s`, `2m`, `0s`.
//!
//! The number is decimal (no sign, no exponent) and the unit is mandatory, so `200`
//! is rejected rather than guessed at. Parsing is exact: `1.5s` is 1500 ms, not
//! whatever a float rounds it to.

use std::fmt;
use std::time::Duration;

/// Units accepted after the number, with their length in nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Shown after every duration error, so the fix is in the message.
const ACCEPTED: &str = "expected a number and a unit (ms, s, m or h), e.g. 200ms, 1s, 1.5s, 2m";

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; {ACCEPTED}")]
    Empty,
    #[error("`{0}` is negative; durations cannot be negative ({ACCEPTED})")]
    Negative(String),
    #[error("`{0}` has no unit; {ACCEPTED}")]
    MissingUnit(String),
    #[error("`{0}` has an unknown unit; {ACCEPTED}")]
    UnknownUnit(String),
    #[error("`{0}` is not a duration; {ACCEPTED}")]
    Malformed(String),
    #[error("`{0}` is finer than a nanosecond")]
    TooPrecise(String),
    #[error("`{0}` is too long")]
    TooLarge(String),
}

/// Parses a human duration such as `200ms`, `1.5s` or `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let owned = || s.to_owned();
    if s.starts_with('-') {
        return Err(DurationError::Negative(owned()));
    }
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(number_end);
    if number.is_empty() {
        return Err(DurationError::Malformed(owned()));
    }
    if unit.is_empty() {
        return Err(DurationError::MissingUnit(owned()));
    }
    let Some(&(_, unit_ns)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return if unit.chars().all(|c| c.is_ascii_alphabetic()) {
            Err(DurationError::UnknownUnit(owned()))
        } else {
            Err(DurationError::Malformed(owned()))
        };
    };

    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() || fraction.contains('.') || (number.contains('.') && fraction.is_empty()) {
        return Err(DurationError::Malformed(owned()));
    }
    let too_large = || DurationError::TooLarge(owned());
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let mut nanos = whole.checked_mul(unit_ns).ok_or_else(too_large)?;
    // Each fractional digit is worth a tenth of the previous one; the result must stay
    // a whole number of nanoseconds.
    let mut place = unit_ns;
    for digit in fraction.bytes().map(|b| u128::from(b - b'0')) {
        if place % 10 != 0 {
            if digit == 0 {
                continue;
            }
            return Err(DurationError::TooPrecise(owned()));
        }
        place /= 10;
        nanos = nanos.checked_add(digit * place).ok_or_else(too_large)?;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_large())?;
    let sub = u32::try_from(nanos % 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, sub))
}

/// Formats a duration the way the config file spells it (`200ms`, `1.5s`, `2m`).
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let ms = d.as_millis();
        if d.is_zero() {
            f.write_str("0s")
        } else if !d.subsec_nanos().is_multiple_of(1_000_000) {
            write!(f, "{}ns", d.as_nanos())
        } else if ms < 1000 {
            write!(f, "{ms}ms")
        } else if ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            let text = format!("{}.{:03}", ms / 1000, ms % 1000);
            write!(f, "{}s", text.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        parse_duration(s).expect("valid duration")
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("200ms"), Duration::from_millis(200));
        assert_eq!(ok("1s"), Duration::from_secs(1));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok(" 3s "), Duration::from_secs(3));
        assert_eq!(ok("0.01s"), Duration::from_millis(10));
        assert_eq!(ok("2.5ms"), Duration::from_micros(2500));
        assert_eq!(ok("1.000000000s"), Duration::from_secs(1));
        assert_eq!(ok("0.1s"), Duration::from_millis(100));
    }

    #[test]
    fn rejects_bad_input_with_the_accepted_units() {
        let cases: &[(&str, DurationError)] = &[
            ("", DurationError::Empty),
            ("200", DurationError::MissingUnit("200".into())),
            ("1.5", DurationError::MissingUnit("1.5".into())),
            ("fast", DurationError::Malformed("fast".into())),
            ("-1s", DurationError::Negative("-1s".into())),
            ("5 s", DurationError::Malformed("5 s".into())),
            ("5sec", DurationError::UnknownUnit("5sec".into())),
            ("5us", DurationError::UnknownUnit("5us".into())),
            (".5s", DurationError::Malformed(".5s".into())),
            ("5.s", DurationError::Malformed("5.s".into())),
            ("1.2.3s", DurationError::Malformed("1.2.3s".into())),
            ("1s5", DurationError::Malformed("1s5".into())),
            (
                "0.0000000001s",
                DurationError::TooPrecise("0.0000000001s".into()),
            ),
            (
                "99999999999999999999999999999999999999999h",
                DurationError::TooLarge("99999999999999999999999999999999999999999h".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input).as_ref(), Err(want), "input {input:?}");
        }
        let msg = DurationError::MissingUnit("200".into()).to_string();
        assert!(msg.contains("ms, s, m or h"), "{msg}");
    }

    #[test]
    fn formats_like_the_config_file() {
        let show = |d| HumanDuration(d).to_string();
        assert_eq!(show(Duration::ZERO), "0s");
        assert_eq!(show(Duration::from_millis(200)), "200ms");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_secs(1)), "1s");
        assert_eq!(show(Duration::from_secs(120)), "2m");
        assert_eq!(show(Duration::from_micros(1500)), "1500000ns");
    }
}
