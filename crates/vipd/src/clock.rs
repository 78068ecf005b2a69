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

    pub fn now(self) -> Instant {
        self.to_engine(tokio::time::Instant::now())
    }

    pub fn to_engine(self, t: tokio::time::Instant) -> Instant {
        let ns = t.saturating_duration_since(self.base).as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    pub fn to_tokio(self, t: Instant) -> tokio::time::Instant {
        self.base + std::time::Duration::from_nanos(t.as_nanos())
    }
}

/// How far ahead the wake-up is parked while no engine has a deadline.
const IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The select loop's one timer: fires at the engines' earliest deadline.
pub struct Wakeup {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    armed: Option<tokio::time::Instant>,
}

impl Default for Wakeup {
    fn default() -> Self {
        Wakeup {
            sleep: Box::pin(tokio::time::sleep(IDLE)),
            armed: None,
        }
    }
}

impl Wakeup {
    /// Sets the wake-up to `next` (none: idle), touching the timer only when it moved.
    pub fn arm(&mut self, next: Option<tokio::time::Instant>) {
        if next != self.armed {
            self.armed = next;
            let at = next.unwrap_or_else(|| tokio::time::Instant::now() + IDLE);
            self.sleep.as_mut().reset(at);
        }
    }

    /// Resolves when the wake-up is due. Afterwards it is idle until armed again: an
    /// elapsed `Sleep` stays ready, and a loop that polled it again would spin.
    pub async fn wait(&mut self) {
        self.sleep.as_mut().await;
        self.armed = None;
        self.sleep
            .as_mut()
            .reset(tokio::time::Instant::now() + IDLE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn fires_once_then_idles_until_armed_again() {
        let mut w = Wakeup::default();
        let t0 = tokio::time::Instant::now();
        w.arm(Some(t0 + Duration::from_millis(10)));
        w.wait().await;
        assert_eq!(tokio::time::Instant::now(), t0 + Duration::from_millis(10));
        // No deadline any more: it must not fire again at once (it did, and the
        // daemon's loop spun at 100 % CPU).
        w.arm(None);
        let again = tokio::time::timeout(Duration::from_secs(60), w.wait()).await;
        assert!(again.is_err(), "an idle wake-up fired");
        // Armed again, it fires at the new deadline.
        let t1 = tokio::time::Instant::now();
        w.arm(Some(t1 + Duration::from_millis(5)));
        w.wait().await;
        assert_eq!(tokio::time::Instant::now(), t1 + Duration::from_millis(5));
    }
}
