//! The soak's randomness: its seed (`VIPD_SOAK_SEED`) and what it draws from
//! vipd-sim's [`SplitMix64`] generator.

use std::time::Duration;

use vipd_sim::SplitMix64;

use super::DEFAULT_SEED;

/// What the soak draws: an index and a duration.
pub trait Draw {
    /// Uniform-enough in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize;

    /// A duration of `lo..=hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration;
}

impl Draw for SplitMix64 {
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next_u64() % (hi - lo + 1))
    }
}

/// `VIPD_SOAK_SEED` (decimal or 0x-hex), else [`DEFAULT_SEED`].
pub fn seed() -> u64 {
    let Ok(s) = std::env::var("VIPD_SOAK_SEED") else {
        return DEFAULT_SEED;
    };
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    match parsed {
        Ok(v) => v,
        Err(e) => panic!("VIPD_SOAK_SEED={s:?} is not a decimal or 0x-hex u64: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_in_range() {
        let (mut x, mut y) = (SplitMix64::new(7), SplitMix64::new(7));
        let mut z = SplitMix64::new(0);
        for _ in 0..1000 {
            assert_eq!(x.next_u64(), y.next_u64());
            assert_ne!(z.next_u64(), 0);
            let d = x.millis(800, 2000);
            assert_eq!(d, y.millis(800, 2000));
            assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(2000));
            let k = x.below(3);
            assert!(k < 3 && k == y.below(3));
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }
}
