//! Time as a plain value. The engine never reads a clock: every call is given `now`.
//!
//! An [`Instant`] is nanoseconds since an epoch the caller picks (the daemon: its
//! start; the simulator: zero). Durations are `std::time::Duration`, which is exact
//! to the nanosecond, so RFC intervals in centiseconds convert without rounding.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, in nanoseconds since the caller's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_nanos(ns: u64) -> Self {
        Instant(ns)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Time since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ns))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / 1_000_000_000;
        let frac = self.0 % 1_000_000_000;
        write!(f, "t{s}.{frac:09}")
    }
}

/// Centiseconds, the unit of RFC 5798 intervals, as an exact `Duration`.
pub const fn centis(cs: u64) -> Duration {
    Duration::from_nanos(cs * 10_000_000)
}
