//! Logs to stderr without ever blocking the main loop: lines go through a bounded queue
//! to a thread of their own, and when the reader does not keep up (a full pipe, a stuck
//! journald) lines are dropped and counted, never waited for — adverts go on.
//!
//! Where stderr is the journal (under systemd) entries go to journald natively instead,
//! with fields of their own ([`crate::journal`]), through the same kind of queue.

use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing::warn;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Lines queued for stderr at most; more are dropped.
pub const QUEUE_LINES: usize = 8192;

/// How often dropped lines are reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// How many log lines were dropped so far.
pub enum Dropped {
    Stderr(ErrorCounter),
    Journal(Arc<AtomicU64>),
}

impl Dropped {
    fn count(&self) -> usize {
        match self {
            Dropped::Stderr(c) => c.dropped_lines(),
            Dropped::Journal(c) => usize::try_from(c.load(Ordering::Relaxed)).unwrap_or(usize::MAX),
        }
    }
}

/// What flushes the log's queue when dropped (keep it until exit).
pub enum Flush {
    Stderr(WorkerGuard),
    Journal(crate::journal::Flush),
}

/// Installs the logger at `level` (`RUST_LOG` overrides): to the journal with fields
/// when stderr is the journal, else lines to stderr. Keep the guard alive until exit:
/// dropping it flushes what is queued.
pub fn init(level: &str) -> (Flush, Dropped) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    if crate::journal::stderr_is_journal() {
        if let Some((layer, dropped, flush)) = crate::journal::layer(QUEUE_LINES) {
            tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .init();
            return (Flush::Journal(flush), Dropped::Journal(dropped));
        }
    }
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("vipd-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    (Flush::Stderr(guard), Dropped::Stderr(dropped))
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
