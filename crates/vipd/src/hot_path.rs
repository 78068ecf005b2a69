//! The order in which the main loop serves its two urgent sources: its own timers (the
//! next advert, Master_Down) and received packets. Under a flood of packets the loop must
//! still send its adverts on time, so a due timer always goes first: before the loop
//! waits on anything, and between any two received packets; and received packets are
//! taken in bounded batches, so the loop's other sources get their turn too.

use tokio::sync::mpsc;
use vipd_node::Event;

/// At most this many received packets are handled in a row before the loop looks at
/// its other sources again (timers are looked at between every two).
pub const RECV_BATCH: usize = 32;

/// What the hot path drives: the node, with a clock and whatever executes its commands.
pub trait Core {
    /// Whether a timer is due now.
    fn timer_due(&self) -> bool;
    /// Feeds one event (and carries out what it causes).
    fn handle(&mut self, event: Event);
}

/// Fires the timers while they are due; returns how many times.
pub fn fire_due_timers(core: &mut impl Core) -> usize {
    let mut fired = 0;
    // Bounded, should a timer keep itself due.
    while core.timer_due() && fired < RECV_BATCH {
        core.handle(Event::Timeout);
        fired += 1;
    }
    fired
}

/// Handles `first` (just received) and up to [`RECV_BATCH`]` - 1` more queued packets,
/// firing a timer that has come due before the next packet. Returns the packets handled.
pub fn packet_batch(
    first: Event,
    packets: &mut mpsc::Receiver<Event>,
    core: &mut impl Core,
) -> usize {
    core.handle(first);
    let mut handled = 1;
    while handled < RECV_BATCH {
        fire_due_timers(core);
        match packets.try_recv() {
            Ok(ev) => core.handle(ev),
            Err(_) => break,
        }
        handled += 1;
    }
    fire_due_timers(core);
    handled
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A node stand-in on a virtual clock: each packet takes `per_packet`; its one timer
    /// (the advert) is due at `deadline` and, once fired, again `interval` later.
    struct Fake {
        now: Duration,
        deadline: Duration,
        interval: Duration,
        per_packet: Duration,
        log: Vec<&'static str>,
    }

    impl Core for Fake {
        fn timer_due(&self) -> bool {
            self.now >= self.deadline
        }
        fn handle(&mut self, event: Event) {
            if matches!(event, Event::Timeout) {
                self.log.push("advert");
                self.deadline += self.interval;
            } else {
                self.log.push("packet");
                self.now += self.per_packet;
            }
        }
    }

    fn flood(n: usize) -> mpsc::Receiver<Event> {
        let (tx, rx) = mpsc::channel(n);
        for _ in 0..n {
            tx.try_send(Event::MonitorClosed).expect("room");
        }
        rx
    }

    /// The daemon's loop reduced to its hot path: due timers, then one batch.
    async fn turn(core: &mut Fake, rx: &mut mpsc::Receiver<Event>) -> usize {
        fire_due_timers(core);
        match rx.recv().await {
            Some(first) => packet_batch(first, rx, core),
            None => 0,
        }
    }

    fn adverts_at(log: &[&str]) -> Vec<usize> {
        log.iter()
            .enumerate()
            .filter(|(_, e)| **e == "advert")
            .map(|(i, _)| i)
            .collect()
    }

    #[tokio::test]
    async fn a_due_advert_goes_before_a_flood() {
        let mut rx = flood(1000);
        let mut core = Fake {
            now: Duration::ZERO,
            deadline: Duration::ZERO,
            interval: Duration::from_millis(10),
            per_packet: Duration::from_micros(100),
            log: Vec::new(),
        };
        // Due while 1000 packets wait: the advert goes first, then one bounded batch.
        assert_eq!(turn(&mut core, &mut rx).await, RECV_BATCH);
        assert_eq!(core.log[0], "advert");
        assert_eq!(core.log.len(), 1 + RECV_BATCH);
        // The next adverts come due in the middle of batches and go out before the next
        // packet: 10 ms of 100 µs packets, so one after every 100 packets, never later.
        while turn(&mut core, &mut rx).await > 0 {}
        let at = adverts_at(&core.log);
        assert_eq!(
            at.len(),
            11,
            "at 0 ms, then each 10 ms of the 100 ms: {at:?}"
        );
        for w in at.windows(2) {
            assert_eq!(w[1] - w[0], 101, "adverts at {at:?}");
        }
    }

    #[tokio::test]
    async fn a_timer_that_stays_due_cannot_hold_the_loop() {
        let mut rx = flood(10);
        let mut core = Fake {
            now: Duration::ZERO,
            deadline: Duration::ZERO,
            interval: Duration::ZERO,
            per_packet: Duration::from_micros(100),
            log: Vec::new(),
        };
        assert_eq!(fire_due_timers(&mut core), RECV_BATCH);
        assert_eq!(
            turn(&mut core, &mut rx).await,
            10,
            "packets still get through"
        );
    }
}
