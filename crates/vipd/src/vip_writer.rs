//! Runs the node's VIP jobs in tasks of their own, one per interface, so the main loop
//! never waits for the kernel: a slow netlink answer delays the VIP change it is for,
//! never another instance's adverts.
//!
//! One task per interface keeps the jobs of an interface in the order the node gave
//! them (a master that steps down at once removes what it was still adding). Every job
//! is answered with `Event::VipJobDone`, success too.

use std::collections::BTreeMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info};
use vipd_node::{Event, VipJob, VipJobError, VipOp};

use crate::netlink::{Netlink, NetlinkError};

struct Worker {
    jobs: mpsc::UnboundedSender<VipJob>,
    task: JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The per-interface tasks.
pub struct VipWriter {
    nl: Netlink,
    done: mpsc::UnboundedSender<Event>,
    workers: BTreeMap<String, Worker>,
}

impl VipWriter {
    pub fn new(nl: Netlink, done: mpsc::UnboundedSender<Event>) -> Self {
        VipWriter {
            nl,
            done,
            workers: BTreeMap::new(),
        }
    }

    /// Queues `job` for its interface's task (started on first use).
    pub fn submit(&mut self, job: VipJob) {
        let worker = self
            .workers
            .entry(job.interface.clone())
            .or_insert_with(|| {
                let (jobs, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(work(self.nl.clone(), rx, self.done.clone()));
                Worker { jobs, task }
            });
        if let Err(mpsc::error::SendError(job)) = worker.jobs.send(job) {
            // The task is gone (it only ends when its sender is dropped): report the job
            // as failed rather than lose it.
            error!(interface = %job.interface, "VIP task gone; job {:?} not done", job.id);
            let failed = match job.op {
                VipOp::Add { .. } => job.vips.first().copied().into_iter().collect(),
                VipOp::Remove => job.vips.clone(),
            };
            let _ = self.done.send(Event::VipJobDone {
                id: job.id,
                result: Err(VipJobError {
                    failed,
                    message: "the VIP task is gone".into(),
                }),
            });
        }
    }
}

async fn work(
    nl: Netlink,
    mut jobs: mpsc::UnboundedReceiver<VipJob>,
    done: mpsc::UnboundedSender<Event>,
) {
    while let Some(job) = jobs.recv().await {
        let result = match &job.op {
            VipOp::Add { label } => add(&nl, &job, label.as_deref()).await,
            VipOp::Remove => remove(&nl, &job).await,
        };
        if done.send(Event::VipJobDone { id: job.id, result }).is_err() {
            return;
        }
    }
}

/// Adds every VIP, stopping at the first failure.
async fn add(nl: &Netlink, job: &VipJob, label: Option<&str>) -> Result<(), VipJobError> {
    let instance = job.instance.as_deref().unwrap_or("");
    for vip in &job.vips {
        match nl.add_vip(job.ifindex, vip, label).await {
            Ok(()) => info!(instance, interface = %job.interface, vip = %vip, "VIP added"),
            Err(e) => {
                return Err(VipJobError {
                    failed: vec![*vip],
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Removes every VIP; reports those that are still there.
async fn remove(nl: &Netlink, job: &VipJob) -> Result<(), VipJobError> {
    let instance = job.instance.as_deref().unwrap_or("");
    let mut failed = Vec::new();
    let mut messages = Vec::new();
    for vip in &job.vips {
        match nl.del_vip(job.ifindex, vip).await {
            Ok(true) => info!(instance, interface = %job.interface, vip = %vip, "VIP removed"),
            Ok(false) => {}
            Err(NetlinkError::DeviceGone(_)) => {
                info!(interface = %job.interface, vip = %vip, "VIP gone with its interface");
            }
            Err(e) => {
                failed.push(*vip);
                messages.push(e.to_string());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(VipJobError {
            failed,
            message: messages.join("; "),
        })
    }
}
