//! The node's side of notify hooks ([`crate::notify`]): an instance's transition queued
//! as its runs, each answer or overdue bound logged, and the next run handed to the shell.

use vipd_engine::{Instant, Reason, State};

use crate::instances::InstanceId;
use crate::io::{HookResult, HookRunId, Level};
use crate::node::Node;
use crate::notify::{runs, HookOwner, HookState, Run, Transition};

impl Node {
    /// Queues the hooks of instance `id`'s transition, and starts one if none runs.
    pub(crate) fn notify_transition(
        &mut self,
        now: Instant,
        id: InstanceId,
        from: State,
        to: State,
        reason: Reason,
    ) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let Some(state) = HookState::of(to) else {
            return;
        };
        let cfg = &inst.cfg.notify;
        if cfg.hooks_for(state).is_empty() {
            return;
        }
        let owner = HookOwner::Instance(inst.cfg.name.clone());
        let t = Transition {
            from,
            to,
            reason,
            priority: inst
                .router()
                .map_or(inst.cfg.priority, |r| r.status().effective_priority),
            vips: inst.cfg.vips.clone(),
            members: Vec::new(),
            // Left Master keeping its VIPs for the new master (stop, maintenance, a
            // failed check with two routers): the handover began with this transition.
            handover: from == State::Master && inst.handing_over(),
        };
        let runs = runs(&owner, cfg, state, &t);
        self.queue_hooks(now, owner, runs, state == HookState::Stop);
    }

    /// Queues one transition's runs for `owner` (see [`runs`]); `last` (a stop) pushes
    /// out every transition still waiting.
    pub(crate) fn queue_hooks(
        &mut self,
        now: Instant,
        owner: HookOwner,
        runs: Vec<Run>,
        last: bool,
    ) {
        let (lost, transitions) = self.hooks.queue(&owner, runs, last);
        if lost > 0 {
            let why = if last {
                match owner {
                    HookOwner::Instance(_) => "the instance stopped",
                    HookOwner::Group(_) => "the group stopped",
                }
            } else {
                "too many transitions waiting"
            };
            self.note(
                Level::Warn,
                owner.instance(),
                format!(
                    "{}notify: dropped {lost} hook run{} of {} earlier transition{} not yet \
                     started ({why})",
                    owner.prefix(),
                    if lost == 1 { "" } else { "s" },
                    transitions,
                    if transitions == 1 { "" } else { "s" },
                ),
            );
        }
        self.next_hook(now, &owner);
    }

    /// Starts `owner`'s next run if none is under way.
    fn next_hook(&mut self, now: Instant, owner: &HookOwner) {
        if let Some(command) = self.hooks.start_next(now, owner) {
            self.push(command);
        }
    }

    pub(crate) fn on_hook_done(&mut self, now: Instant, id: HookRunId, result: HookResult) {
        let Some((owner, hook)) = self.hooks.done(id, &result) else {
            // Overdue already, or from before a restart of the queue: nothing waits.
            return;
        };
        let failure = match result {
            HookResult::Exited {
                code: Some(0),
                signal: None,
                output,
            } => {
                let said = if output.is_empty() {
                    String::new()
                } else {
                    format!(": {output}")
                };
                self.record_hook(&owner, Level::Debug, hook, format!("ran{said}"));
                self.next_hook(now, &owner);
                return;
            }
            HookResult::Exited {
                code,
                signal,
                output,
            } => {
                let how = match (code, signal) {
                    (_, Some(s)) => format!("was ended by signal {s}"),
                    (Some(c), None) => format!("exited with {c}"),
                    (None, None) => "ended without an exit code".to_string(),
                };
                if output.is_empty() {
                    how
                } else {
                    format!("{how}: {output}")
                }
            }
            HookResult::TimedOut(t) => {
                format!(
                    "ran longer than {}ms; its process group was killed",
                    t.as_millis()
                )
            }
            HookResult::Error(e) => format!("could not run: {e}"),
        };
        self.hook_failed(&owner, hook, failure);
        self.next_hook(now, &owner);
    }

    /// Runs under way with no answer by their overdue bound count as failed; their
    /// queues move on.
    pub(crate) fn hooks_due(&mut self, now: Instant) {
        for (owner, hook, given) in self.hooks.take_overdue(now) {
            self.hook_failed(
                &owner,
                hook,
                format!(
                    "no answer {}ms after it started; counted as failed",
                    given.as_millis()
                ),
            );
            self.next_hook(now, &owner);
        }
    }

    fn hook_failed(&mut self, owner: &HookOwner, hook: &str, why: String) {
        self.hooks.failed(owner, hook, &why);
        self.record_hook(owner, Level::Warn, hook, why);
    }

    fn record_hook(&mut self, owner: &HookOwner, level: Level, hook: &str, what: String) {
        let text = format!("{}notify hook {hook} {what}", owner.prefix());
        self.note(level, owner.instance(), text);
    }
}
