//! VIP jobs: every add and removal the node asks of the kernel, by id, until its answer
//! comes back; removals that failed, retried once a second.
//!
//! Because every job reports back (success too), the node knows per interface which
//! changes are under way and how many were asked for or finished: a kernel read that
//! began before the newest of them, or while one was under way, may not show it yet and
//! is not taken as the truth about VIPs (see `reconcile`).

use std::collections::BTreeMap;
use std::time::Duration;

use vipd_engine::{Instant, VipJobId};

use crate::config::Vip;
use crate::io::{JobId, VipOp};

/// How long a failed removal waits before it is tried again.
pub const REMOVE_RETRY: Duration = Duration::from_secs(1);

/// The router run and engine job a VIP job answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub run: crate::io::RunId,
    pub engine_id: VipJobId,
}

#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub owner: Option<Owner>,
    pub interface: String,
    pub add: bool,
    pub vips: Vec<Vip>,
    /// A local route change ([`VipOp::AddLocal`], [`VipOp::RemoveLocal`]): a failure
    /// is not an address to retry removing.
    pub local: bool,
}

/// The jobs under way and the removals to retry.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    next: u64,
    pending: BTreeMap<JobId, Pending>,
    /// Per interface: VIP changes asked for or finished so far (only grows).
    changes: BTreeMap<String, u64>,
    /// VIPs whose removal failed (interface, VIP).
    stray: Vec<(String, Vip)>,
    retry_at: Option<Instant>,
}

impl Jobs {
    /// Changes of `interface` asked for or finished so far.
    pub fn epoch(&self, interface: &str) -> u64 {
        self.changes.get(interface).copied().unwrap_or(0)
    }

    /// Whether a change of `interface` is under way: the kernel may be half-way.
    pub fn busy(&self, interface: &str) -> bool {
        self.pending.values().any(|p| p.interface == interface)
    }

    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// One more change of `interface` asked for or finished.
    pub fn changed(&mut self, interface: &str) {
        *self.changes.entry(interface.to_string()).or_default() += 1;
    }

    pub fn note_stray(&mut self, now: Instant, interface: &str, vip: Vip) {
        let key = (interface.to_string(), vip);
        if !self.stray.contains(&key) {
            self.stray.push(key);
        }
        if self.retry_at.is_none() {
            self.retry_at = Some(now + REMOVE_RETRY);
        }
    }

    /// A new job for `owner` (none: the node's own), changing `vips` of `interface` by
    /// `op`: under way from now on, and counted as a change of `interface`.
    pub fn start(
        &mut self,
        owner: Option<Owner>,
        interface: &str,
        op: &VipOp,
        vips: &[Vip],
    ) -> JobId {
        self.next += 1;
        let id = JobId(self.next);
        self.changed(interface);
        self.pending.insert(
            id,
            Pending {
                owner,
                interface: interface.to_string(),
                add: matches!(op, VipOp::Add { .. }),
                vips: vips.to_vec(),
                local: matches!(op, VipOp::AddLocal | VipOp::RemoveLocal),
            },
        );
        id
    }

    /// Job `id` answered: no longer under way (`None` for an id not under way). Its
    /// change of the interface counts once the node has taken in the answer
    /// ([`Self::changed`]).
    pub fn finish(&mut self, id: JobId) -> Option<Pending> {
        self.pending.remove(&id)
    }

    /// Whether no job is under way.
    pub fn idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// The jobs under way.
    pub fn pending(&self) -> impl Iterator<Item = &Pending> {
        self.pending.values()
    }

    /// The VIPs whose removal failed (interface, VIP).
    pub fn stray(&self) -> &[(String, Vip)] {
        &self.stray
    }

    /// The VIPs whose removal failed, to be tried again (no longer listed).
    pub fn take_stray(&mut self) -> Vec<(String, Vip)> {
        std::mem::take(&mut self.stray)
    }

    /// The retry is under way: nothing is due until a removal fails again.
    pub fn retrying(&mut self) {
        self.retry_at = None;
    }
}
