//! The node's side of a stop ([`crate::stop`]): every instance leaves, failed removals
//! are retried once, and the node exits once the VIPs and hooks are done or their bounds
//! passed.

use vipd_engine::{Input, Instant};

use crate::io::{Command, ExitError, Level, VipOp};
use crate::node::Node;
use crate::stop::{describe, Deadlines, Stopping, HANDOVER_WAIT, SHUTDOWN_WAIT};

impl Node {
    pub(crate) fn stop(&mut self, now: Instant) {
        if let Some(s) = self.stopping.as_mut() {
            if !s.done {
                self.save_auth_final();
                if let Some(s) = self.stopping.as_mut() {
                    s.done = true;
                }
                self.push(Command::Exit(Err(ExitError::Impatient)));
            }
            return;
        }
        self.note(Level::Info, None, "stopping: every instance leaves");
        self.stopping = Some(Stopping::new(now));
        for id in self.instances.ids() {
            self.feed(now, id, Input::Shutdown);
        }
        self.announce_stop(now);
        // Every member has stopped: the groups' stop hooks join the wait below.
        self.notify_groups(now);
        // The stop hooks are queued now: the wait for them is bounded from here.
        if !self.hooks.idle() {
            let bound = self.hooks.worst_case();
            if let Some(s) = self.stopping.as_mut() {
                s.hooks_deadline = Some(now + bound);
            }
        }
        self.stop_progress(now);
    }

    /// The deadlines a stopping node still waits for.
    pub(crate) fn stop_deadlines(&self) -> Deadlines {
        self.stopping
            .as_ref()
            .map_or(Deadlines::default(), Stopping::deadlines)
    }

    /// [`HANDOVER_WAIT`] passed: a handover still under way (no new master heard, its
    /// Master_Down_Interval longer than the stop may wait) ends now, so that its VIPs
    /// are removed within [`SHUTDOWN_WAIT`] rather than left behind at the exit.
    pub(crate) fn handover_deadline(&mut self, now: Instant) {
        let Some(s) = self.stopping.as_mut() else {
            return;
        };
        s.handover_deadline = None;
        let handing_over = crate::instance::Instance::handing_over;
        let running = self.instances.ids_where(handing_over);
        let leaving: Vec<_> = self
            .instances
            .leaving_ids()
            .into_iter()
            .filter(|&k| self.instances.get(k).is_some_and(handing_over))
            .collect();
        if running.is_empty() && leaving.is_empty() {
            return;
        }
        let names: Vec<&str> = running
            .iter()
            .chain(&leaving)
            .filter_map(|&id| self.instances.get(id))
            .map(|i| i.cfg.name.as_str())
            .collect();
        self.note(
            Level::Warn,
            None,
            format!(
                "no new master heard {HANDOVER_WAIT:?} into the stop; removing the VIPs of {} now",
                names.join(", ")
            ),
        );
        for id in running {
            self.feed(now, id, Input::EndHandover);
        }
        // Latest first, as timeouts are (a leaving instance whose handover ends is gone).
        for k in leaving.into_iter().rev() {
            self.feed_leaving(now, k, Input::EndHandover);
        }
        self.stop_progress(now);
    }

    /// The VIP part of the stop is over with `result`: exit once the hooks are done.
    fn vips_finished(&mut self, result: Result<(), ExitError>) {
        if let Some(s) = self.stopping.as_mut() {
            if s.vips_done.is_none() {
                s.vips_done = Some(result);
            }
        }
        self.exit_when_done();
    }

    /// Asks to exit once the VIP part is over and no hook runs or waits (or their bound
    /// passed).
    fn exit_when_done(&mut self) {
        let idle = self.hooks.idle();
        let Some(s) = self.stopping.as_mut() else {
            return;
        };
        if s.done || !(idle || s.hooks_deadline.is_none()) {
            return;
        }
        let Some(result) = s.vips_done.take() else {
            return;
        };
        s.done = true;
        // The last accepted numbers are kept before the shell is asked to exit (it runs
        // nothing after that).
        self.save_auth_final();
        if result.is_ok() {
            self.note(Level::Info, None, "vipd stopped");
        }
        self.push(Command::Exit(result));
    }

    /// The hooks' bound passed while some still run or wait: stop waiting for them.
    pub(crate) fn hooks_deadline(&mut self) {
        let Some(s) = self.stopping.as_mut() else {
            return;
        };
        if s.done || s.hooks_deadline.is_none() {
            return;
        }
        s.hooks_deadline = None;
        if !self.hooks.idle() {
            self.note(
                Level::Error,
                None,
                "notify hooks still under way at their bound; exiting without them",
            );
        }
        self.exit_when_done();
    }

    /// While stopping: retries failed removals once, and exits once nothing is left
    /// under way.
    pub(crate) fn stop_progress(&mut self, _now: Instant) {
        let Some(s) = self.stopping.as_mut() else {
            return;
        };
        if s.done {
            return;
        }
        if s.vips_done.is_some() {
            if self.hooks.idle() {
                if let Some(s) = self.stopping.as_mut() {
                    s.hooks_deadline = None;
                }
            }
            self.exit_when_done();
            return;
        }
        let stray = self.jobs.take_stray();
        let mut retry = Vec::new();
        for key in stray {
            if s.retried.contains(&key) {
                s.left.push(key);
            } else {
                s.retried.push(key.clone());
                retry.push(key);
            }
        }
        for (interface, vip) in retry {
            // An interface that is gone took its addresses with it.
            if let Some(index) = self.ifindex(&interface) {
                self.submit_job(None, interface, index, VipOp::Remove, vec![vip], None);
            }
        }
        if !self.jobs.idle() || self.handing_over() || self.announces.draining() {
            return;
        }
        let Some(s) = self.stopping.as_mut() else {
            return;
        };
        let result = if s.left.is_empty() {
            Ok(())
        } else {
            Err(ExitError::VipsLeftBehind(describe(&s.left)))
        };
        self.vips_finished(result);
    }

    /// The wait is over: whatever is still under way counts as left behind (an add
    /// under way too: it may still land).
    pub(crate) fn stop_deadline(&mut self) {
        let Some(s) = self.stopping.as_mut() else {
            return;
        };
        if s.done || s.vips_done.is_some() {
            return;
        }
        let mut left = std::mem::take(&mut s.left);
        for job in self.jobs.pending() {
            for vip in &job.vips {
                left.push((job.interface.clone(), *vip));
            }
        }
        left.extend(self.jobs.stray().iter().cloned());
        // A handover still under way (cut at HANDOVER_WAIT, so only if that removal
        // never came) keeps its VIPs: they are left behind too, never an "Ok" exit.
        for inst in self.instances.all() {
            if inst.handing_over() {
                let vips = inst.cfg.vips.iter();
                left.extend(vips.map(|v| (inst.cfg.interface.clone(), *v)));
            }
        }
        left.sort_by_key(|(i, v)| (i.clone(), v.to_string()));
        left.dedup();
        if left.is_empty() {
            self.vips_finished(Ok(()));
            return;
        }
        self.note(
            Level::Error,
            None,
            format!("VIP removals not done after {SHUTDOWN_WAIT:?}; giving up on them"),
        );
        self.vips_finished(Err(ExitError::VipsLeftBehind(describe(&left))));
    }

    /// Whether a router is still handing over make-before-break (its VIPs kept until
    /// the new master is heard or the bound passes).
    pub(crate) fn handing_over(&self) -> bool {
        self.instances
            .all()
            .any(crate::instance::Instance::handing_over)
    }

    /// Whether the node has asked to exit.
    pub fn finished(&self) -> bool {
        self.stopping.as_ref().is_some_and(|s| s.done)
    }
}
