//! VIP jobs: every add and removal the node asks of the kernel, by id, until its answer
//! comes back; removals that failed, retried once a second.
//!
//! Because every job reports back (success too), the node knows per interface which
//! changes are under way and how many were asked for or finished: a kernel read that
//! began before the newest of them, or while one was under way, may not show it yet and
//! is not taken as the truth about VIPs (see `kernel`).

use std::collections::BTreeMap;
use std::time::Duration;

use vipd_engine::{Input, Instant, State, VipJobId};

use crate::config::Vip;
use crate::io::{Command, JobId, Level, VipJob, VipJobError, VipOp};
use crate::node::Node;

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
    pub pending: BTreeMap<JobId, Pending>,
    /// Per interface: VIP changes asked for or finished so far (only grows).
    changes: BTreeMap<String, u64>,
    /// VIPs whose removal failed (interface, VIP).
    pub stray: Vec<(String, Vip)>,
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

    fn bump(&mut self, interface: &str) {
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
}

impl Node {
    /// Hands a VIP job to the shell.
    pub(crate) fn submit_job(
        &mut self,
        owner: Option<Owner>,
        interface: String,
        ifindex: u32,
        op: VipOp,
        vips: Vec<Vip>,
        instance: Option<String>,
    ) -> JobId {
        self.jobs.next += 1;
        let id = JobId(self.jobs.next);
        self.jobs.bump(&interface);
        self.jobs.pending.insert(
            id,
            Pending {
                owner,
                interface: interface.clone(),
                add: matches!(op, VipOp::Add { .. }),
                vips: vips.clone(),
                local: matches!(op, VipOp::AddLocal | VipOp::RemoveLocal),
            },
        );
        self.push(Command::VipJob(VipJob {
            id,
            interface,
            ifindex,
            op,
            vips,
            instance,
        }));
        id
    }

    /// A VIP job finished: its router (if it still runs) hears the result; VIPs a
    /// removal left behind are retried.
    pub(crate) fn on_job_done(&mut self, now: Instant, id: JobId, result: Result<(), VipJobError>) {
        let Some(job) = self.jobs.pending.remove(&id) else {
            return;
        };
        // An announced instance's add: it says what follows itself.
        let announced = self.announces.list.iter().any(|a| a.adding == Some(id));
        self.announce_job_done(now, id, result.is_ok());
        self.jobs.bump(&job.interface);
        if let Err(e) = &result {
            let what = if job.add { "VIP add" } else { "VIP removal" };
            let failed: Vec<String> = e.failed.iter().map(|v| v.to_string()).collect();
            let live = job.owner.is_some_and(|o| {
                self.instances
                    .iter()
                    .any(|i| i.router().is_some() && i.run == o.run)
            });
            let then = match (job.add, live) {
                _ if job.local => "the next start removes what is left",
                _ if announced => "withdrawn; trying again at the next read",
                (true, true) => "going to fault so another router takes over",
                // The instance that asked has restarted or gone since.
                (true, false) => "the instance that asked for it no longer runs",
                (false, _) => "retrying every second",
            };
            self.note(
                Level::Warn,
                None,
                format!(
                    "{what} failed on {} ({}): {}; {then}",
                    job.interface,
                    failed.join(", "),
                    e.message
                ),
            );
            if !job.add && !job.local {
                for vip in &e.failed {
                    self.jobs.note_stray(now, &job.interface, *vip);
                }
            }
        }
        if let Some(owner) = job.owner {
            let input = Input::VipApplied {
                id: owner.engine_id,
                ok: result.is_ok(),
            };
            self.feed_run(now, owner.run, input);
        }
        self.stop_progress(now);
    }

    /// Retries the removals that failed, except for VIPs a master now holds again and
    /// those on interfaces that are gone (their addresses went with them).
    pub(crate) fn retry_stray(&mut self) {
        self.jobs.retry_at = None;
        for (interface, vip) in std::mem::take(&mut self.jobs.stray) {
            if self.vip_wanted(&interface, &vip) {
                continue;
            }
            let Some(index) = self.ifindex(&interface) else {
                continue;
            };
            self.submit_job(None, interface, index, VipOp::Remove, vec![vip], None);
        }
    }

    /// Whether a master on `interface` holds `vip`.
    pub(crate) fn vip_wanted(&self, interface: &str, vip: &Vip) -> bool {
        self.announce_wants(interface, vip)
            || self.instances.iter().any(|i| {
                i.cfg.interface == interface
                    && i.cfg.vips.contains(vip)
                    && i.router().is_some_and(|r| r.state() == State::Master)
            })
    }
}
