//! Maps the runtime's monotonic clock onto the engine's plain-value time.

use vipd_engine::Instant;

/// The daemon's epoch: engine instants are nanoseconds since it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: tokio::time::Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            base: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Instant {
        self.to_engine(tokio::time::Instant::now())
    }

    pub fn to_engine(&self, t: tokio::time::Instant) -> Instant {
        let ns = t.saturating_duration_since(self.base).as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    pub fn to_tokio(&self, t: Instant) -> tokio::time::Instant {
        self.base + std::time::Duration::from_nanos(t.as_nanos())
    }
}
