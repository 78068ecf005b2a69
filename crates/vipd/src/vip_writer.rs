//! Adds and removes VIPs in tasks of their own, one per interface, so the main loop
//! never waits for the kernel: a slow netlink answer delays the VIP change it is for,
//! never another instance's adverts.
//!
//! One task per interface keeps the changes to an interface in the order they were
//! asked for (a master that steps down at once removes what it was still adding),
//! including across instances that stop and start again on a reload. Results go back
//! to the main loop as [`Done`]; the engine waits for an add's result (its VIPs are
//! "pending" meanwhile) and never assumes one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::Vip;
use crate::netlink::{Netlink, NetlinkError};

/// A change of VIPs on one interface.
#[derive(Debug)]
pub enum Job {
    /// Add all of `vips`; stop at the first failure (the engine then gives them up).
    Add {
        instance: String,
        /// Which start of the instance asked (a restarted one ignores older results).
        generation: u64,
        /// Which add of that start: only the newest one's result counts.
        seq: u64,
        index: u32,
        vips: Vec<Vip>,
        label: Option<String>,
    },
    /// Remove `vips` (absent ones are fine).
    Remove {
        /// For the log; empty for a retry of an earlier failure.
        instance: String,
        index: u32,
        vips: Vec<Vip>,
    },
}

/// A result for the main loop.
#[derive(Debug)]
pub enum Done {
    Added {
        instance: String,
        generation: u64,
        seq: u64,
        ok: bool,
    },
    /// This VIP could not be removed: retry later.
    RemoveFailed { interface: String, vip: Vip },
}

struct Worker {
    jobs: mpsc::UnboundedSender<Job>,
    task: JoinHandle<()>,
}

/// The per-interface tasks.
pub struct VipWriter {
    nl: Netlink,
    /// Bumped when a change is asked for and when it is made (see
    /// [`crate::watcher::Snapshot::epoch`]).
    epoch: Arc<AtomicU64>,
    done: mpsc::UnboundedSender<Done>,
    workers: BTreeMap<String, Worker>,
    /// Jobs asked for and not finished.
    unfinished: Arc<AtomicUsize>,
}

impl VipWriter {
    pub fn new(nl: Netlink, epoch: Arc<AtomicU64>, done: mpsc::UnboundedSender<Done>) -> Self {
        VipWriter {
            nl,
            epoch,
            done,
            workers: BTreeMap::new(),
            unfinished: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Whether some VIP change is still under way: the kernel may be half-way.
    pub fn busy(&self) -> bool {
        self.unfinished.load(Ordering::SeqCst) > 0
    }

    /// Queues `job` for `interface`'s task (started on first use).
    pub fn submit(&mut self, interface: &str, job: Job) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        let worker = self
            .workers
            .entry(interface.to_string())
            .or_insert_with(|| {
                let (jobs, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(work(
                    interface.to_string(),
                    self.nl.clone(),
                    Marks {
                        epoch: self.epoch.clone(),
                        unfinished: self.unfinished.clone(),
                    },
                    rx,
                    self.done.clone(),
                ));
                Worker { jobs, task }
            });
        if let Err(mpsc::error::SendError(job)) = worker.jobs.send(job) {
            // The task is gone (it only ends when its sender is dropped): report the
            // job as failed rather than lose it.
            error!(interface, "VIP task gone; {job:?} not done");
            self.unfinished.fetch_sub(1, Ordering::SeqCst);
            fail(interface, job, &self.done);
        }
    }

    /// Lets every task finish what it was given, for at most `within`; what is left
    /// then is abandoned. Returns whether all finished.
    pub async fn finish(&mut self, within: Duration) -> bool {
        let mut tasks: Vec<JoinHandle<()>> = std::mem::take(&mut self.workers)
            .into_values()
            .map(|w| w.task)
            .collect();
        let all = async {
            for t in tasks.iter_mut() {
                let _ = t.await;
            }
        };
        let finished = tokio::time::timeout(within, all).await.is_ok();
        for t in &tasks {
            t.abort();
        }
        finished
    }
}

/// Reports a job that was never carried out.
fn fail(interface: &str, job: Job, done: &mpsc::UnboundedSender<Done>) {
    let _ = match job {
        Job::Add {
            instance,
            generation,
            seq,
            ..
        } => done.send(Done::Added {
            instance,
            generation,
            seq,
            ok: false,
        }),
        Job::Remove { vips, .. } => {
            for vip in vips {
                let _ = done.send(Done::RemoveFailed {
                    interface: interface.to_string(),
                    vip,
                });
            }
            Ok(())
        }
    };
}

/// What a task marks when a job is done.
struct Marks {
    epoch: Arc<AtomicU64>,
    unfinished: Arc<AtomicUsize>,
}

impl Marks {
    fn done(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.unfinished.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn work(
    interface: String,
    nl: Netlink,
    marks: Marks,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    done: mpsc::UnboundedSender<Done>,
) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Add {
                instance,
                generation,
                seq,
                index,
                vips,
                label,
            } => {
                let mut ok = true;
                for vip in &vips {
                    match nl.add_vip(index, vip, label.as_deref()).await {
                        Ok(()) => info!(instance = %instance, vip = %vip, "VIP added"),
                        Err(e) => {
                            error!(instance = %instance, vip = %vip, "VIP add failed: {e}; going to fault so another router takes over");
                            ok = false;
                            break;
                        }
                    }
                }
                marks.done();
                let _ = done.send(Done::Added {
                    instance,
                    generation,
                    seq,
                    ok,
                });
            }
            Job::Remove {
                instance,
                index,
                vips,
            } => {
                for vip in vips {
                    match nl.del_vip(index, &vip).await {
                        Ok(true) if instance.is_empty() => {
                            info!(interface = %interface, vip = %vip, "VIP removed (retry)");
                        }
                        Ok(true) => info!(instance = %instance, vip = %vip, "VIP removed"),
                        Ok(false) => {}
                        Err(NetlinkError::DeviceGone(_)) => {
                            info!(interface = %interface, vip = %vip, "VIP gone with its interface");
                        }
                        Err(e) => {
                            warn!(interface = %interface, vip = %vip, "VIP removal failed: {e}; retrying every second");
                            let _ = done.send(Done::RemoveFailed {
                                interface: interface.clone(),
                                vip,
                            });
                        }
                    }
                }
                marks.done();
            }
        }
    }
}
