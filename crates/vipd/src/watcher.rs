//! Runs the node's kernel reads (links and addresses of the interfaces in use) in a task
//! of its own, one after the other, and answers each with `Event::KernelRead`.
//!
//! The main loop never waits for these reads: a kernel that is slow to answer (the rtnl
//! lock held through a burst of route or interface changes) delays a read, never an
//! advert. When and what to read is the node's decision.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vipd_node::{Event, IfaceRead, LinkReadError, ReadId};

use crate::netlink::{Netlink, NetlinkError};

/// The handle the main loop keeps; dropping it stops the task.
pub struct Watcher {
    reads: mpsc::UnboundedSender<(ReadId, Vec<String>)>,
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    pub fn spawn(nl: Netlink, results: mpsc::UnboundedSender<Event>) -> Watcher {
        let (reads, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(nl, rx, results));
        Watcher { reads, task }
    }

    /// Reads `interfaces`; the answer comes back as `Event::KernelRead { id, .. }`.
    pub fn read(&self, id: ReadId, interfaces: Vec<String>) {
        // The task only ends with this handle.
        let _ = self.reads.send((id, interfaces));
    }
}

async fn run(
    nl: Netlink,
    mut reads: mpsc::UnboundedReceiver<(ReadId, Vec<String>)>,
    results: mpsc::UnboundedSender<Event>,
) {
    while let Some((id, names)) = reads.recv().await {
        let mut interfaces = Vec::with_capacity(names.len());
        for name in names {
            let link = match nl.link_by_name(&name).await {
                Ok(l) => Ok(l),
                Err(NetlinkError::NoSuchInterface(_)) => Err(LinkReadError::NoSuchInterface),
                Err(e) => Err(LinkReadError::Failed(e.to_string())),
            };
            let addrs = match &link {
                Ok(l) => Some(nl.addresses(l.index).await.map_err(|e| e.to_string())),
                Err(_) => None,
            };
            interfaces.push(IfaceRead { name, link, addrs });
        }
        if results.send(Event::KernelRead { id, interfaces }).is_err() {
            return;
        }
    }
}
