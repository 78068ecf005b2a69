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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use vipd_engine::VipJobId;

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
        /// The engine's id for this add, handed back with the result.
        id: VipJobId,
        index: u32,
        vips: Vec<Vip>,
        label: Option<String>,
    },
    /// Remove `vips` (absent ones are fine).
    Remove {
        /// For the log; empty for a retry of an earlier failure.
        instance: String,
        /// The start of the instance that asked and the engine's id for this removal,
        /// to hand back with the result; none for a retry of an earlier failure.
        asked_by: Option<(u64, VipJobId)>,
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
        id: VipJobId,
        ok: bool,
    },
    /// A removal the engine asked for is done; `ok` is false if a VIP could not be
    /// removed (it is also reported as `RemoveFailed`).
    Removed {
        instance: String,
        generation: u64,
        id: VipJobId,
        ok: bool,
    },
    /// This VIP could not be removed: retry later.
    RemoveFailed { interface: String, vip: Vip },
}

/// Per interface: how many VIP changes were asked for or finished (a count that only
/// grows) and how many are unfinished. A snapshot of an interface counts as the kernel's
/// truth about VIPs only if no change of that interface was asked for or finished while
/// it was read, and none is under way (see `crate::watcher::Snapshot::epoch`).
#[derive(Debug, Default)]
pub struct VipChanges(Mutex<BTreeMap<String, (u64, usize)>>);

impl VipChanges {
    fn with<R>(&self, interface: &str, f: impl FnOnce(&mut (u64, usize)) -> R) -> R {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(map.entry(interface.to_string()).or_default())
    }

    fn asked(&self, interface: &str) {
        self.with(interface, |c| {
            c.0 += 1;
            c.1 += 1;
        });
    }

    fn finished(&self, interface: &str) {
        self.with(interface, |c| {
            c.0 += 1;
            c.1 = c.1.saturating_sub(1);
        });
    }

    /// Changes of `interface` asked for or finished so far.
    pub fn count(&self, interface: &str) -> u64 {
        self.with(interface, |c| c.0)
    }

    /// Whether a change of `interface` is under way: the kernel may be half-way.
    pub fn busy(&self, interface: &str) -> bool {
        self.with(interface, |c| c.1 > 0)
    }
}

struct Worker {
    jobs: mpsc::UnboundedSender<Job>,
    task: JoinHandle<()>,
}

/// The per-interface tasks.
pub struct VipWriter {
    nl: Netlink,
    changes: Arc<VipChanges>,
    done: mpsc::UnboundedSender<Done>,
    workers: BTreeMap<String, Worker>,
}

impl VipWriter {
    pub fn new(nl: Netlink, changes: Arc<VipChanges>, done: mpsc::UnboundedSender<Done>) -> Self {
        VipWriter {
            nl,
            changes,
            done,
            workers: BTreeMap::new(),
        }
    }

    /// Queues `job` for `interface`'s task (started on first use).
    pub fn submit(&mut self, interface: &str, job: Job) {
        self.changes.asked(interface);
        let worker = self
            .workers
            .entry(interface.to_string())
            .or_insert_with(|| {
                let (jobs, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(work(
                    interface.to_string(),
                    self.nl.clone(),
                    self.changes.clone(),
                    rx,
                    self.done.clone(),
                ));
                Worker { jobs, task }
            });
        if let Err(mpsc::error::SendError(job)) = worker.jobs.send(job) {
            // The task is gone (it only ends when its sender is dropped): report the
            // job as failed rather than lose it.
            error!(interface, "VIP task gone; {job:?} not done");
            self.changes.finished(interface);
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
            id,
            ..
        } => done.send(Done::Added {
            instance,
            generation,
            seq,
            id,
            ok: false,
        }),
        Job::Remove {
            instance,
            asked_by,
            vips,
            ..
        } => {
            for vip in vips {
                let _ = done.send(Done::RemoveFailed {
                    interface: interface.to_string(),
                    vip,
                });
            }
            if let Some((generation, id)) = asked_by {
                let _ = done.send(Done::Removed {
                    instance,
                    generation,
                    id,
                    ok: false,
                });
            }
            Ok(())
        }
    };
}

async fn work(
    interface: String,
    nl: Netlink,
    changes: Arc<VipChanges>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    done: mpsc::UnboundedSender<Done>,
) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Add {
                instance,
                generation,
                seq,
                id,
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
                changes.finished(&interface);
                let _ = done.send(Done::Added {
                    instance,
                    generation,
                    seq,
                    id,
                    ok,
                });
            }
            Job::Remove {
                instance,
                asked_by,
                index,
                vips,
            } => {
                let mut ok = true;
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
                            ok = false;
                            let _ = done.send(Done::RemoveFailed {
                                interface: interface.clone(),
                                vip,
                            });
                        }
                    }
                }
                changes.finished(&interface);
                if let Some((generation, id)) = asked_by {
                    let _ = done.send(Done::Removed {
                        instance,
                        generation,
                        id,
                        ok,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_counted_per_interface() {
        let c = VipChanges::default();
        assert_eq!((c.count("eth0"), c.busy("eth0")), (0, false));
        c.asked("eth0");
        // A snapshot of eth0 taken now (count 1) is stale once the change is made...
        assert_eq!((c.count("eth0"), c.busy("eth0")), (1, true));
        // ...while eth1 is not affected at all.
        assert_eq!((c.count("eth1"), c.busy("eth1")), (0, false));
        c.asked("eth0");
        c.finished("eth0");
        assert_eq!((c.count("eth0"), c.busy("eth0")), (3, true));
        c.finished("eth0");
        assert_eq!((c.count("eth0"), c.busy("eth0")), (4, false));
        // A stray "finished" never underflows.
        c.finished("eth0");
        assert!(!c.busy("eth0"));
    }
}
