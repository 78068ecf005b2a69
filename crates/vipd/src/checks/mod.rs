//! Runs the node's health checks, away from the main loop: nothing a check does (a
//! server that never answers, a program that hangs, spins or floods its output, a
//! slow DNS lookup, a /proc scan) can delay an advert.
//!
//! - Polled checks (`Command::RunCheck`: http, tcp, exec, file) run as tasks of a
//!   runtime of their own, on a thread of their own ("vipd-checks", started with the
//!   first run), each bounded by its timeout; the answer is `Event::CheckResult`. The node never asks for a second
//!   run of a check while one is under way.
//! - Process watches (`Command::WatchProcess`) each run on a thread of their own,
//!   blocked in poll(2) on a pidfd per watched process (a death wakes it at once) and
//!   an inotify watch of the pidfile's directory (a new pidfile wakes it at once),
//!   looking again at least every `rescan`.
//!
//! The shell decides nothing here: it reports what it found, the node judges it.

mod exec;
mod file;
mod http;
mod process;
mod safe_file;
mod tcp;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use vipd_node::config::{CheckKind, ProcessMatch};
use vipd_node::{CheckResult, CheckRunId, Event};

/// One run for the checks' runtime.
struct Job {
    id: CheckRunId,
    check: String,
    kind: CheckKind,
    timeout: Duration,
}

/// The handle the main loop keeps: its commands go to the checks' thread and the
/// watch threads. Dropping it ends them.
pub struct CheckRunner {
    jobs: crate::worker::Worker<Job>,
    results: mpsc::UnboundedSender<Event>,
    /// Each watch's stop flag.
    watches: BTreeMap<CheckRunId, Arc<AtomicBool>>,
}

impl Drop for CheckRunner {
    fn drop(&mut self) {
        for stop in self.watches.values() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

impl CheckRunner {
    /// The checks' runner (the polled checks' thread starts with the first run);
    /// results come back on `results`.
    pub fn new(results: mpsc::UnboundedSender<Event>) -> CheckRunner {
        let jobs =
            crate::worker::Worker::new("vipd-checks", results.clone(), |job: Job| async move {
                let result = run(&job.check, &job.kind, job.timeout).await;
                Event::CheckResult { id: job.id, result }
            });
        CheckRunner {
            jobs,
            results,
            watches: BTreeMap::new(),
        }
    }

    /// Runs a polled check once; the answer is `Event::CheckResult { id, .. }`.
    pub fn run(&mut self, id: CheckRunId, check: String, kind: CheckKind, timeout: Duration) {
        let job = Job {
            id,
            check,
            kind,
            timeout,
        };
        if let Err((job, why)) = self.jobs.send(job) {
            let _ = self.results.send(Event::CheckResult {
                id: job.id,
                result: CheckResult::Error(format!("the check runner: {why}")),
            });
        }
    }

    /// Starts watching a process check's processes.
    pub fn watch(&mut self, id: CheckRunId, check: String, m: ProcessMatch, rescan: Duration) {
        let stop = Arc::new(AtomicBool::new(false));
        let results = self.results.clone();
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("vipd-watch-{}", id.0))
            .spawn(move || process::watch(id, &check, &m, rescan, &flag, &results));
        match spawned {
            Ok(_) => {
                self.watches.insert(id, stop);
            }
            Err(e) => {
                let _ = self.results.send(Event::CheckResult {
                    id,
                    result: CheckResult::Error(format!("cannot start a watch thread: {e}")),
                });
            }
        }
    }

    /// Ends a watch (its thread ends at its next wake-up and reports nothing more).
    pub fn stop(&mut self, id: CheckRunId) {
        if let Some(stop) = self.watches.remove(&id) {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// One run of a polled check, bounded by `timeout`.
async fn run(check: &str, kind: &CheckKind, timeout: Duration) -> CheckResult {
    let result = match kind {
        CheckKind::Http(h) => tokio::time::timeout(timeout, http::get(h)).await,
        CheckKind::Tcp(t) => tokio::time::timeout(timeout, tcp::connect(t)).await,
        // Bounds itself: it kills the process group at the timeout.
        CheckKind::Exec { argv, user } => {
            return exec::run(check, argv, user.as_deref(), timeout).await
        }
        CheckKind::File(p) => tokio::time::timeout(timeout, file::read(p)).await,
        CheckKind::Process(_) | CheckKind::Interface(_) => Ok(CheckResult::Error(format!(
            "a {} check is not run, it is watched",
            kind.name()
        ))),
    };
    result.unwrap_or(CheckResult::TimedOut(timeout))
}
