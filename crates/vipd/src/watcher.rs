//! Reads the kernel's view of the interfaces vipd uses — link state and addresses — in
//! a task of its own, once a second and whenever an address event says something
//! changed, and hands the result to the main loop as a [`Snapshot`].
//!
//! The main loop never waits for these reads: a kernel that is slow to answer (the
//! rtnl lock held through a burst of route or interface changes) delays a snapshot,
//! never an advert. (VIP changes are made off the loop too: see `vip_writer`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::netlink::{Addr, Link, Netlink, NetlinkError};
use crate::vip_writer::VipChanges;

/// How often the kernel is read when nothing prompts it.
pub const POLL: Duration = Duration::from_secs(1);

/// One interface as the kernel showed it.
#[derive(Debug)]
pub struct Snapshot {
    pub name: String,
    pub link: Result<Link, NetlinkError>,
    /// The interface's addresses; `None` when the link could not be read.
    pub addrs: Option<Result<Vec<Addr>, NetlinkError>>,
    /// [`VipChanges::count`] of this interface when the read began: a snapshot older
    /// than vipd's own last VIP change may not show it yet, and must not be taken for a
    /// VIP that vanished or appeared behind vipd's back.
    pub epoch: u64,
    /// [`Watcher::link_events`] when the read began: link state older than the last
    /// link event the main loop handled is not applied over it.
    pub link_epoch: u64,
}

/// The handle the main loop keeps; dropping it stops the task.
pub struct Watcher {
    names: watch::Sender<Vec<String>>,
    poke: Arc<Notify>,
    link_events: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Starts watching `names`; snapshots arrive on `tx`, the first ones at once.
    pub fn spawn(
        nl: Netlink,
        names: Vec<String>,
        changes: Arc<VipChanges>,
        tx: mpsc::Sender<Snapshot>,
    ) -> Watcher {
        let (names, names_rx) = watch::channel(names);
        let poke = Arc::new(Notify::new());
        let link_events = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(
            nl,
            names_rx,
            poke.clone(),
            Counters {
                changes,
                link_events: link_events.clone(),
            },
            tx,
        ));
        Watcher {
            names,
            poke,
            link_events,
            task,
        }
    }

    /// Watches these interfaces from now on (after a reload), reading them at once.
    pub fn set_names(&self, names: Vec<String>) {
        self.names.send_replace(names);
        self.poke();
    }

    /// Reads every interface again soon (an address event arrived). Pokes while a read
    /// is under way coalesce into one more read.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Marks a link event the main loop handled (from the event monitor).
    pub fn link_event(&self) {
        self.link_events.fetch_add(1, Ordering::SeqCst);
    }

    /// The current link-event count.
    pub fn link_events(&self) -> u64 {
        self.link_events.load(Ordering::SeqCst)
    }
}

struct Counters {
    changes: Arc<VipChanges>,
    link_events: Arc<AtomicU64>,
}

async fn run(
    nl: Netlink,
    names: watch::Receiver<Vec<String>>,
    poke: Arc<Notify>,
    counters: Counters,
    tx: mpsc::Sender<Snapshot>,
) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = poke.notified() => {}
        }
        let list = names.borrow().clone();
        for name in list {
            let epoch = counters.changes.count(&name);
            let link_epoch = counters.link_events.load(Ordering::SeqCst);
            let link = nl.link_by_name(&name).await;
            let addrs = match &link {
                Ok(l) => Some(nl.addresses(l.index).await),
                Err(_) => None,
            };
            let snap = Snapshot {
                name,
                link,
                addrs,
                epoch,
                link_epoch,
            };
            if tx.send(snap).await.is_err() {
                return;
            }
        }
    }
}
