//! The node's side of VIP jobs ([`crate::jobs`] keeps them): handing a job to the shell,
//! what its answer means for the router that asked and for the log, and the retried
//! removals.

use vipd_engine::{Input, Instant, State};

use crate::config::Vip;
use crate::io::{Command, JobId, Level, VipJob, VipJobError, VipOp};
use crate::jobs::Owner;
use crate::node::Node;

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
        let id = self.jobs.start(owner, &interface, &op, &vips);
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
        let Some(job) = self.jobs.finish(id) else {
            return;
        };
        // An announced instance's add: it says what follows itself.
        let announced = self.announces.list.iter().any(|a| a.adding == Some(id));
        self.announce_job_done(now, id, result.is_ok());
        self.jobs.changed(&job.interface);
        if let Err(e) = &result {
            let what = if job.add { "VIP add" } else { "VIP removal" };
            let failed: Vec<String> = e.failed.iter().map(|v| v.to_string()).collect();
            let live = job.owner.is_some_and(|o| {
                self.instances
                    .current()
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
        self.jobs.retrying();
        for (interface, vip) in self.jobs.take_stray() {
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
            || self.instances.current().any(|i| {
                i.cfg.interface == interface
                    && i.cfg.vips.contains(vip)
                    && i.router().is_some_and(|r| r.state() == State::Master)
            })
    }
}
