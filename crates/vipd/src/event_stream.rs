//! The watchers of the event stream (`vipctl watch`): the main loop hands each event the
//! node published to every watcher that wants it, without ever waiting for one.
//!
//! Each watcher has a bounded channel to the task that writes to its connection
//! (`control::write_events`); the loop only `try_send`s. When a watcher's channel is full (it
//! reads too slowly, or not at all), its events are dropped and counted; once there is
//! room again it gets one `missed` record with the count before the next event, so it
//! knows what it did not see and the rest stays in order. A watcher whose connection
//! closed is forgotten at the next event (or the next watch request); so is one whose
//! socket has not taken a line for [`LINE_WRITE_TIME`] (its writer gives it up), so
//! watchers that stopped reading cannot hold every place.

use std::sync::Arc;

use tokio::sync::mpsc;
use vipd_api::{WatchEvent, WatchLine, PROTOCOL_VERSION};

/// Watchers at once; more are refused.
pub const MAX_WATCHERS: usize = 64;

/// Lines buffered for one watcher.
pub const WATCH_BUFFER: usize = 1024;

/// How long a watcher's socket may take to accept one line (its send buffer full: it
/// stopped reading long ago); then the writer drops the connection and its place. Long
/// enough for a reader that pauses (a pager, Ctrl-S) to be told what it missed instead.
pub const LINE_WRITE_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a stopping vipd waits for its watchers to take the `end` record.
pub const END_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// One line for a watcher's connection, newline included.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub line: Arc<str>,
    /// The stream ends after this line.
    pub last: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WatchError {
    #[error("too many watchers (limit {MAX_WATCHERS}); try again later")]
    TooMany,
}

/// Every watcher.
#[derive(Debug, Default)]
pub struct Watchers {
    clients: Vec<Client>,
}

#[derive(Debug)]
struct Client {
    /// The instances it watches (every one when empty).
    instances: Vec<String>,
    tx: mpsc::Sender<Outgoing>,
    /// Events dropped since the last one it got.
    missed: u64,
}

fn encode(time: &str, event: WatchEvent) -> Option<Arc<str>> {
    let line = WatchLine {
        v: PROTOCOL_VERSION,
        time: time.to_string(),
        event,
    };
    let mut text = serde_json::to_string(&line).ok()?;
    text.push('\n');
    Some(text.into())
}

impl Client {
    fn wants(&self, event: &WatchEvent) -> bool {
        match event.instance() {
            Some(name) => self.instances.is_empty() || self.instances.iter().any(|i| i == name),
            None => true,
        }
    }

    /// Queues `line` without waiting: after a gap, a `missed` record first, and only
    /// when both fit (the loop is the only sender, so the room it sees stays).
    fn deliver(&mut self, time: &str, line: &Arc<str>) {
        let item = Outgoing {
            line: line.clone(),
            last: false,
        };
        if self.missed == 0 {
            if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(item) {
                self.missed = 1;
            }
            return;
        }
        if self.tx.capacity() < 2 {
            self.missed += 1;
            return;
        }
        let count = self.missed;
        if let Some(missed) = encode(time, WatchEvent::Missed { count }) {
            let _ = self.tx.try_send(Outgoing {
                line: missed,
                last: false,
            });
        }
        let _ = self.tx.try_send(item);
        self.missed = 0;
    }
}

impl Watchers {
    /// A new watcher of `instances` (every one when empty), writing through `tx`.
    pub fn add(
        &mut self,
        instances: Vec<String>,
        tx: mpsc::Sender<Outgoing>,
    ) -> Result<(), WatchError> {
        self.clients.retain(|c| !c.tx.is_closed());
        if self.clients.len() >= MAX_WATCHERS {
            return Err(WatchError::TooMany);
        }
        self.clients.push(Client {
            instances,
            tx,
            missed: 0,
        });
        Ok(())
    }

    /// Watchers now (those whose connection closed included, until the next event).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Hands `event`, stamped `time`, to every watcher that wants it.
    pub fn publish(&mut self, time: &str, event: WatchEvent) {
        self.clients.retain(|c| !c.tx.is_closed());
        if self.clients.is_empty() {
            return;
        }
        let wanted: Vec<bool> = self.clients.iter().map(|c| c.wants(&event)).collect();
        let Some(line) = encode(time, event) else {
            return;
        };
        for (c, wants) in self.clients.iter_mut().zip(wanted) {
            if wants {
                c.deliver(time, &line);
            }
        }
    }

    /// The stream ends: every watcher that has room gets an `end` record saying why
    /// and is returned (its writer ends after it; wait with `Sender::closed`); the
    /// others are dropped (their writers end once their buffers are written).
    pub fn close(&mut self, time: &str, reason: &str) -> Vec<mpsc::Sender<Outgoing>> {
        let end = encode(
            time,
            WatchEvent::End {
                reason: reason.to_string(),
            },
        );
        let mut told = Vec::new();
        for c in std::mem::take(&mut self.clients) {
            let Some(line) = end.clone() else {
                continue;
            };
            if c.tx.try_send(Outgoing { line, last: true }).is_ok() {
                told.push(c.tx);
            }
        }
        told
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: u64) -> WatchEvent {
        WatchEvent::Check {
            check: format!("c{n}"),
            up: true,
            saw: String::new(),
        }
    }

    /// What the writer would write next, as (kind, check name or missed count).
    fn next(rx: &mut mpsc::Receiver<Outgoing>) -> Option<WatchEvent> {
        let item = rx.try_recv().ok()?;
        let line: WatchLine = serde_json::from_str(&item.line).expect("a watch line");
        Some(line.event)
    }

    #[test]
    fn a_full_buffer_drops_and_counts_then_one_missed_record_and_events_resume_in_order() {
        let mut w = Watchers::default();
        let (tx, mut rx) = mpsc::channel(4);
        w.add(Vec::new(), tx).expect("room");
        // 1..=4 fill the buffer; 5, 6, 7 are dropped.
        for n in 1..=7 {
            w.publish("t", check(n));
        }
        assert_eq!(next(&mut rx), Some(check(1)));
        // One slot free: not room for the missed record and an event, so 8 is dropped
        // as well.
        w.publish("t", check(8));
        assert_eq!(next(&mut rx), Some(check(2)));
        // Two free: the missed record (4: 5, 6, 7, 8), then 9.
        w.publish("t", check(9));
        w.publish("t", check(10));
        assert_eq!(next(&mut rx), Some(check(3)));
        assert_eq!(next(&mut rx), Some(check(4)));
        assert_eq!(next(&mut rx), Some(WatchEvent::Missed { count: 4 }));
        assert_eq!(next(&mut rx), Some(check(9)));
        // 10 did not fit behind 9 (the buffer was full again): counted, told later.
        assert_eq!(next(&mut rx), None);
        w.publish("t", check(11));
        assert_eq!(next(&mut rx), Some(WatchEvent::Missed { count: 1 }));
        assert_eq!(next(&mut rx), Some(check(11)));
        assert_eq!(next(&mut rx), None);
    }

    #[test]
    fn a_watcher_gets_its_instances_and_the_events_of_none() {
        let mut w = Watchers::default();
        let (tx, mut rx) = mpsc::channel(8);
        w.add(vec!["web".into()], tx).expect("room");
        let maintenance = |instance: &str| WatchEvent::Maintenance {
            instance: instance.into(),
            on: true,
            uid: 0,
        };
        w.publish("t", maintenance("db"));
        w.publish("t", maintenance("web"));
        w.publish("t", check(1));
        assert_eq!(next(&mut rx), Some(maintenance("web")));
        assert_eq!(next(&mut rx), Some(check(1)));
        assert_eq!(next(&mut rx), None);
    }

    #[test]
    fn watchers_are_bounded_and_a_closed_one_frees_its_place() {
        let mut w = Watchers::default();
        let mut receivers = Vec::new();
        for _ in 0..MAX_WATCHERS {
            let (tx, rx) = mpsc::channel(1);
            w.add(Vec::new(), tx).expect("room");
            receivers.push(rx);
        }
        let (tx, _rx) = mpsc::channel(1);
        assert_eq!(w.add(Vec::new(), tx.clone()), Err(WatchError::TooMany));
        // One disconnects (its writer ended): its place is taken at the next request.
        receivers.pop();
        assert_eq!(w.add(Vec::new(), tx), Ok(()));
        assert_eq!(w.len(), MAX_WATCHERS);
        // An event forgets the ones gone since.
        receivers.truncate(10);
        w.publish("t", check(1));
        assert_eq!(w.len(), 11);
    }

    #[test]
    fn closing_sends_a_last_end_record_to_those_with_room() {
        let mut w = Watchers::default();
        let (tx, mut rx) = mpsc::channel(2);
        let (full_tx, mut full_rx) = mpsc::channel(1);
        w.add(Vec::new(), tx).expect("room");
        w.add(Vec::new(), full_tx).expect("room");
        w.publish("t", check(1));
        let told = w.close("t", "vipd is stopping");
        assert_eq!(told.len(), 1);
        assert!(w.is_empty());
        assert_eq!(next(&mut rx), Some(check(1)));
        let end = rx.try_recv().expect("end");
        assert!(end.last);
        assert!(end
            .line
            .contains(r#""kind":"end","reason":"vipd is stopping""#));
        // The full one keeps what it had; its channel then closes.
        assert_eq!(next(&mut full_rx), Some(check(1)));
        assert!(matches!(
            full_rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }
}
