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
use std::sync::atomic::{AtomicU64, Ordering};
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
}

impl VipWriter {
    pub fn new(nl: Netlink, epoch: Arc<AtomicU64>, done: mpsc::UnboundedSender<Done>) -> Self {
        VipWriter {
            nl,
            epoch,
            done,
            workers: BTreeMap::new(),
        }
    }

    /// Queues `job` for `interface`'s task (started on first use).
    pub fn submit(&mut self, interface: &str, job: Job) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let worker = self
            .workers
            .entry(interface.to_string())
            .or_insert_with(|| {
                let (jobs, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(work(
                    interface.to_string(),
                    self.nl.clone(),
                    self.epoch.clone(),
                    rx,
                    self.done.clone(),
                ));
                Worker { jobs, task }
            });
        if let Err(mpsc::error::SendError(job)) = worker.jobs.send(job) {
            // The task is gone (it only ends when its sender is dropped): report the
            // job as failed rather than lose it.
            error!(interface, "VIP task gone; {job:?} not done");
            fail(interface, job, &self.done);
        }
    }

    /// Lets every task finish what it was given, for at most `within`. Returns whether
    /// all did.
    pub async fn finish(&mut self, within: Duration) -> bool {
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut self.workers)
            .into_values()
            .map(|w| w.task)
            .collect();
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        tokio::time::timeout(within, all).await.is_ok()
    }
}

/// Reports a job that was never carried out.
fn fail(interface: &str, job: Job, done: &mpsc::UnboundedSender<Done>) {
    let _ = match job {
        Job::Add {
            instance,
            generation,
            ..
        } => done.send(Done::Added {
            instance,
            generation,
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

async fn work(
    interface: String,
    nl: Netlink,
    epoch: Arc<AtomicU64>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    done: mpsc::UnboundedSender<Done>,
) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Add {
                instance,
                generation,
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
                epoch.fetch_add(1, Ordering::SeqCst);
                let _ = done.send(Done::Added {
                    instance,
                    generation,
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
                epoch.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}
