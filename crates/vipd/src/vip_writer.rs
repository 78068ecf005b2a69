//! Runs the node's VIP jobs in tasks of their own, one per interface, so the main loop
//! never waits for the kernel: a slow netlink answer delays the VIP change it is for,
//! never another instance's adverts.
//!
//! One task per interface keeps the jobs of an interface in the order the node gave
//! them (a master that steps down at once removes what it was still adding). Every job
//! is answered with `Event::VipJobDone`, success too.
//!
//! An added VIP is reported only once the kernel delivers its packets: an IPv6 address
//! gets its `local` route from the kernel's address configuration work, which runs
//! after the add has been answered (for a `nodad` address too, and without the address
//! ever being marked tentative) — microseconds later, or milliseconds on a loaded host.
//! A VIP reported at the answer had the new master advertise and send its unsolicited
//! NA (RFC 4861 §7.2.6) while packets to the VIP were still dropped: the client,
//! following the NA (§7.2.5), lost the probe it sent in that window (captured in the
//! e2e handover test: NA at .403011, the client's echo request at .403139 unanswered,
//! the local route in place at .403437). So IPv6 VIPs are looked up until their route is
//! local (every [`USABLE_POLL`], for at most [`USABLE_WAIT`] in all); IPv4 addresses get
//! theirs within the add itself. The wait is short on purpose: until the add is answered
//! the new master does not advertise, and a silent new master lets a lower-priority
//! backup take over too (or an old master's handover bound run out); past the bound the
//! VIP is reported added, as before, with a warning.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};
use vipd_node::{Event, VipJob, VipJobError, VipOp};

use crate::netlink::{Netlink, NetlinkError};

/// How long to wait between lookups of an added IPv6 VIP's route.
pub const USABLE_POLL: Duration = Duration::from_millis(1);

/// How long an added IPv6 VIP's route is waited for, lookups included, before the VIP
/// is reported added anyway (with a warning). The route came within 0.5 ms in the
/// captures; this is the Skew_Time difference of two routers 13 priorities apart at
/// 10 ms adverts, and well under one at any longer interval.
pub const USABLE_WAIT: Duration = Duration::from_millis(5);

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
                VipOp::Remove | VipOp::AddLocal | VipOp::RemoveLocal => job.vips.clone(),
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
            VipOp::AddLocal | VipOp::RemoveLocal => {
                crate::announce_iface::local_routes(&nl, &job).await
            }
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
            Ok(()) => {
                if vip.addr.is_ipv6() {
                    wait_usable(nl, job, vip).await;
                }
                info!(instance, interface = %job.interface, vip = %vip, "VIP added");
            }
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

/// Waits until the kernel delivers packets for the just-added `vip` (module docs),
/// for at most [`USABLE_WAIT`]. Only this interface's jobs wait meanwhile.
async fn wait_usable(nl: &Netlink, job: &VipJob, vip: &vipd_node::config::Vip) {
    let instance = job.instance.as_deref().unwrap_or("");
    let deadline = tokio::time::Instant::now() + USABLE_WAIT;
    let mut lookups = 0u32;
    loop {
        lookups += 1;
        match tokio::time::timeout_at(deadline, nl.is_local(vip.addr)).await {
            Ok(Ok(true)) => {
                if lookups > 1 {
                    debug!(
                        instance,
                        vip = %vip,
                        lookups,
                        "VIP delivered locally after its route appeared"
                    );
                }
                return;
            }
            Ok(Ok(false)) if tokio::time::Instant::now() + USABLE_POLL < deadline => {
                tokio::time::sleep(USABLE_POLL).await;
            }
            Ok(Err(e)) => {
                warn!(instance, vip = %vip, "cannot tell whether the VIP is usable yet: {e}");
                return;
            }
            Ok(Ok(false)) | Err(_) => break,
        }
    }
    warn!(
        instance,
        interface = %job.interface,
        vip = %vip,
        lookups,
        "the kernel had no local route for the VIP {USABLE_WAIT:?} after adding it; \
         reported as added all the same"
    );
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
            Err(NetlinkError::Gone { .. }) => {
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
