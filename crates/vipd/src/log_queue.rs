//! A bounded, lossy queue of log entries to a thread of their own, for stderr lines
//! ([`crate::logging`]) and journal entries ([`crate::journal`]): pushing never waits;
//! past the bound an entry is dropped and counted.
//!
//! The bound is a count, not a preallocated ring: entries live in a `std::sync::mpsc`
//! channel, which allocates its slots in small blocks as they fill and frees them as
//! they drain, so an idle daemon does not keep room for 8192 lines resident (a ring
//! of that many slots is a quarter of a megabyte, touched when it is made).

use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where entries are pushed; cheap to clone.
#[derive(Clone)]
pub struct LineQueue {
    tx: mpsc::Sender<Vec<u8>>,
    /// Entries pushed and not yet written.
    queued: Arc<AtomicUsize>,
    limit: usize,
    dropped: Arc<AtomicU64>,
}

impl LineQueue {
    /// Starts thread `name`, which hands each entry to `sink`, and returns the queue (at
    /// most `limit` entries waiting) and what waits, when dropped, at most `flush_wait`
    /// for the entries still queued.
    pub fn spawn(
        name: &str,
        limit: usize,
        flush_wait: Duration,
        mut sink: impl FnMut(&[u8]) + Send + 'static,
    ) -> std::io::Result<(LineQueue, Flush)> {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let written = queued.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for entry in rx {
                    // Blocking here is this thread's alone.
                    sink(&entry);
                    written.fetch_sub(1, Ordering::Release);
                }
            })?;
        let flush = Flush {
            queued: queued.clone(),
            wait: flush_wait,
        };
        let queue = LineQueue {
            tx,
            queued,
            limit,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        Ok((queue, flush))
    }

    /// Queues `entry`, or drops and counts it when `limit` entries are waiting already
    /// (or the thread is gone).
    pub fn push(&self, entry: Vec<u8>) {
        // Counted first: the thread may write it before send returns.
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.limit || self.tx.send(entry).is_err()
        {
            self.queued.fetch_sub(1, Ordering::Release);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many entries were dropped so far.
    pub fn dropped(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }
}

/// Lines for `tracing_subscriber::fmt`: each formatted event is one write.
impl Write for &LineQueue {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineQueue {
    type Writer = &'a LineQueue;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Held until exit: dropping it waits (at most its `flush_wait`) for the entries still
/// queued, so the last lines ("stopped", a final warning) are written.
pub struct Flush {
    queued: Arc<AtomicUsize>,
    wait: Duration,
}

impl Drop for Flush {
    fn drop(&mut self) {
        let end = Instant::now() + self.wait;
        while self.queued.load(Ordering::Acquire) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn past_the_bound_entries_are_dropped_and_counted_and_the_rest_written() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (gate_tx, gate) = mpsc::channel::<()>();
        let out = written.clone();
        let (q, flush) = LineQueue::spawn("vipd-test-logq", 3, Duration::from_secs(5), move |e| {
            // The first entry waits for the gate, so the rest pile up behind it.
            if out.lock().map(|w| w.is_empty()).unwrap_or(false) {
                let _ = gate.recv();
            }
            if let Ok(mut w) = out.lock() {
                w.push(e.to_vec());
            }
        })
        .expect("thread");
        for i in 0..10u8 {
            q.push(vec![i]);
        }
        assert_eq!(q.dropped().load(Ordering::Relaxed), 7);
        gate_tx.send(()).expect("gate");
        drop(flush);
        let w = written.lock().expect("lock").clone();
        assert_eq!(w, vec![vec![0], vec![1], vec![2]]);
    }
}
