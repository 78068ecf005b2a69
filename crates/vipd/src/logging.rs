//! Logs to stderr without ever blocking the main loop: lines go through a bounded queue
//! to a thread of their own, and when the reader does not keep up (a full pipe, a stuck
//! journald) lines are dropped and counted, never waited for — adverts go on.
//!
//! Where stderr is the journal (under systemd) entries go to journald natively instead,
//! with fields of their own ([`crate::journal`]), through the same kind of queue.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::warn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::log_queue::{Flush, LineQueue};

/// Lines queued for stderr at most; more are dropped.
pub const QUEUE_LINES: usize = 8192;

/// How long the exit waits for queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// How often dropped lines are reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// How many log lines were dropped so far.
pub struct Dropped(Arc<AtomicU64>);

impl Dropped {
    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What flushes the log's queue when dropped (keep it until exit); none if the
/// logging thread could not be started (then lines go to stderr from the caller).
pub struct FlushOnExit {
    _flush: Option<Flush>,
}

/// Installs the logger at `level` (`RUST_LOG` overrides): to the journal with fields
/// when stderr is the journal, else lines to stderr. Keep the guard alive until exit:
/// dropping it flushes what is queued.
pub fn init(level: &str) -> (FlushOnExit, Dropped) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    if crate::journal::stderr_is_journal() {
        if let Some((layer, dropped, flush)) = crate::journal::layer(QUEUE_LINES) {
            tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .init();
            return (
                FlushOnExit {
                    _flush: Some(flush),
                },
                Dropped(dropped),
            );
        }
    }
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match LineQueue::spawn("vipd-log", QUEUE_LINES, FLUSH_WAIT, |line| {
        let _ = std::io::stderr().write_all(line);
    }) {
        Ok((queue, flush)) => {
            let dropped = queue.dropped();
            fmt.with_writer(queue).init();
            (
                FlushOnExit {
                    _flush: Some(flush),
                },
                Dropped(dropped),
            )
        }
        Err(e) => {
            // Without its thread, lines are written where they are logged.
            fmt.with_writer(std::io::stderr).init();
            warn!("cannot start the logging thread ({e}); logging to stderr directly");
            (
                FlushOnExit { _flush: None },
                Dropped(Arc::new(AtomicU64::new(0))),
            )
        }
    }
}

/// Says (in the log, once the queue has room again) how many lines were dropped.
pub fn report_drops(dropped: Dropped) {
    tokio::spawn(async move {
        let mut reported = 0;
        let mut tick = tokio::time::interval(REPORT_EVERY);
        loop {
            tick.tick().await;
            let now = dropped.count();
            if now > reported {
                warn!(
                    dropped = now - reported,
                    total = now,
                    "log lines dropped: stderr's reader is not keeping up"
                );
                reported = now;
            }
        }
    });
}
