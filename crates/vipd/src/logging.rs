//! Logs to stderr without ever blocking the main loop: lines go through a bounded queue
//! to a thread of their own, and when the reader does not keep up (a full pipe, a stuck
//! journald) lines are dropped and counted, never waited for — adverts go on.

use std::time::Duration;

use tracing::warn;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines queued for stderr at most; more are dropped.
pub const QUEUE_LINES: usize = 8192;

/// How often dropped lines are reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Installs the logger at `level` (`RUST_LOG` overrides). Keep the guard alive until
/// exit: dropping it flushes what is queued.
pub fn init(level: &str) -> (WorkerGuard, ErrorCounter) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("vipd-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    (guard, dropped)
}

/// Says (in the log, once the queue has room again) how many lines were dropped.
pub fn report_drops(dropped: ErrorCounter) {
    tokio::spawn(async move {
        let mut reported = 0;
        let mut tick = tokio::time::interval(REPORT_EVERY);
        loop {
            tick.tick().await;
            let now = dropped.dropped_lines();
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
