//! Notify hooks: programs run on an instance's state transitions, decided here and run
//! by the shell (`Command::RunHook`, answered by `Event::HookDone`).
//!
//! - **What runs.** On a transition to Master, Backup, Fault or Stopped the state's
//!   hook (`master`, `backup`, `fault`, `stop`) runs, then `any`: two runs, one after
//!   the other. A transition to Initialize runs nothing.
//! - **Order.** Runs are queued per owner (an instance, or a sync group: see
//!   [`crate::group_notify`] for when a group's hooks run) and run
//!   one at a time, in order: a run starts only after the previous one's `HookDone`
//!   (or its overdue bound, below). Owners do not wait for each other.
//! - **Bound.** At most [`MAX_PENDING`] transitions wait per owner besides the one
//!   under way; a newer one pushes out the oldest waiting one (all of its runs), which
//!   is logged and counted (`dropped`): a flapping instance runs its newest transitions,
//!   never an ever-growing backlog. A transition to Stopped pushes out every transition
//!   still waiting before it (they are history once the instance stops), so a stopping
//!   node waits for at most the run under way, the rest of its transition, and the
//!   stop transition's two runs.
//! - **Overdue.** A run with no answer `timeout` + [`ANSWER_GRACE`] after it started
//!   counts as failed and the queue moves on (the shell kills a run at its timeout and
//!   answers; this only guards against an answer that never comes).
//! - **Environment.** Decided here, in full: the shell clears its own environment for
//!   the hook and sets only [`env`]'s list (see the README's "Notify hooks").
//!
//! This is the hooks' own part (the queues, `Hooks`); `hook_runs` is the node's side
//! (which transition queues what, and what is logged).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use vipd_engine::{Instant, Reason, State};

use crate::config::Vip;
use crate::io::{Command, HookResult, HookRunId};
pub use crate::notify_config::{HookOwner, HookState, NotifyConfig, DEFAULT_TIMEOUT};

/// Transitions that may wait per owner besides the one under way.
pub const MAX_PENDING: usize = 8;

/// How long past its timeout a run's answer may take before the run counts as failed
/// and the next one starts (the shell answers within its timeout plus the reaping of
/// the killed group, about 2 s).
pub const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// The only `PATH` a hook sees.
pub const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A transition as the hooks are told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub reason: Reason,
    /// The effective priority at the transition (an instance's; 0 for a group, as
    /// keepalived passes its group scripts).
    pub priority: u8,
    /// The instance's VIPs; a group's members' VIPs, member by member.
    pub vips: Vec<Vip>,
    /// A group's members, in configuration order (empty for an instance).
    pub members: Vec<String>,
    /// The instance left Master handing over make-before-break: its VIPs stay until the
    /// new master is heard (`VIPD_HANDOVER=1`). Always false for a group.
    pub handover: bool,
}

/// The environment of a hook: exactly these variables (and nothing the daemon has).
/// An instance's hook gets `VIPD_INSTANCE` and `VIPD_PRIORITY`; a group's gets
/// `VIPD_GROUP` and `VIPD_INSTANCES` (its members, space-separated) instead; an
/// instance that left Master handing over make-before-break also `VIPD_HANDOVER=1`.
pub fn env(owner: &HookOwner, hook: &str, t: &Transition) -> Vec<(String, String)> {
    let vips: Vec<String> = t.vips.iter().map(ToString::to_string).collect();
    let (who, extra) = match owner {
        HookOwner::Instance(n) => (
            ("VIPD_INSTANCE", n.clone()),
            ("VIPD_PRIORITY", t.priority.to_string()),
        ),
        HookOwner::Group(n) => (
            ("VIPD_GROUP", n.clone()),
            ("VIPD_INSTANCES", t.members.join(" ")),
        ),
    };
    [
        who,
        ("VIPD_STATE", t.to.as_str().to_string()),
        ("VIPD_PREVIOUS", t.from.as_str().to_string()),
        ("VIPD_REASON", t.reason.as_str().to_string()),
        extra,
        ("VIPD_VIPS", vips.join(" ")),
        ("VIPD_HOOK", hook.to_string()),
        ("PATH", HOOK_PATH.to_string()),
    ]
    .into_iter()
    .chain(t.handover.then(|| ("VIPD_HANDOVER", "1".to_string())))
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The runs of one transition of `owner` to `state` under `cfg`, in order: the
/// state's hook, then `any`; each with its environment and, in keepalived's form, the
/// positional arguments. Any owner's (an instance's or a sync group's).
pub(crate) fn runs(
    owner: &HookOwner,
    cfg: &NotifyConfig,
    state: HookState,
    t: &Transition,
) -> Vec<Run> {
    cfg.hooks_for(state)
        .into_iter()
        .map(|(hook, argv)| {
            let mut argv = argv.clone();
            if cfg.positional {
                argv.extend([
                    owner.keepalived_type().to_string(),
                    owner.name().to_string(),
                    state.keepalived_word().to_string(),
                    t.priority.to_string(),
                ]);
            }
            Run {
                hook,
                argv,
                env: env(owner, hook, t),
                timeout: cfg.timeout,
            }
        })
        .collect()
}

/// Counters and what is under way, per owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookStats {
    /// Runs that ended (whatever their result).
    pub runs: u64,
    /// Runs that could not start, exited non-zero, were ended by a signal, or had no
    /// answer in time.
    pub failed: u64,
    /// Runs killed at their timeout (also counted in `failed`).
    pub timed_out: u64,
    /// Runs dropped unstarted (the queue bound, or a stop).
    pub dropped: u64,
    /// The newest failure, in words.
    pub last_failure: Option<String>,
}

/// One run, ready to go.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    hook: &'static str,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl Run {
    /// One run of `hook` (a name for logs and `VIPD_HOOK`): `argv` with exactly `env`,
    /// killed after `timeout`. For owners whose transitions are not VRRP states
    /// (announced instances, [`crate::announce`]).
    pub(crate) fn new(
        hook: &'static str,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        timeout: Duration,
    ) -> Run {
        Run {
            hook,
            argv,
            env,
            timeout,
        }
    }
}

#[derive(Debug)]
struct Running {
    id: HookRunId,
    hook: &'static str,
    timeout: Duration,
    /// When the run counts as failed without an answer.
    overdue: Instant,
}

#[derive(Debug, Default)]
struct Queue {
    running: Option<Running>,
    /// The rest of the transition under way: never dropped.
    current: VecDeque<Run>,
    /// Transitions not started yet, oldest first.
    pending: VecDeque<Vec<Run>>,
    stats: HookStats,
}

impl Queue {
    fn idle(&self) -> bool {
        self.running.is_none() && self.current.is_empty() && self.pending.is_empty()
    }

    /// Runs still to come, the one under way included.
    fn outstanding(&self) -> usize {
        usize::from(self.running.is_some())
            + self.current.len()
            + self.pending.iter().map(Vec::len).sum::<usize>()
    }
}

/// Every owner's hook queue.
#[derive(Debug, Default)]
pub(crate) struct Hooks {
    next_id: u64,
    queues: BTreeMap<HookOwner, Queue>,
}

impl Hooks {
    /// When the earliest run under way becomes overdue.
    pub fn next_due(&self) -> Option<Instant> {
        self.queues
            .values()
            .filter_map(|q| q.running.as_ref().map(|r| r.overdue))
            .min()
    }

    /// Whether no run is under way or waiting.
    pub fn idle(&self) -> bool {
        self.queues.values().all(Queue::idle)
    }

    /// The longest any owner may still take, each run under way or waiting given its
    /// timeout and [`ANSWER_GRACE`]: the bound of a stopping node's wait.
    pub fn worst_case(&self) -> Duration {
        self.queues
            .values()
            .map(|q| {
                let per_run = q
                    .running
                    .as_ref()
                    .map(|r| r.timeout)
                    .into_iter()
                    .chain(q.current.iter().map(|r| r.timeout))
                    .chain(q.pending.iter().flatten().map(|r| r.timeout))
                    .max()
                    .unwrap_or(Duration::ZERO)
                    + ANSWER_GRACE;
                u32::try_from(q.outstanding())
                    .ok()
                    .and_then(|n| per_run.checked_mul(n))
                    .unwrap_or(Duration::MAX)
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    pub fn stats(&self, owner: &HookOwner) -> Option<(&HookStats, Option<&'static str>, usize)> {
        self.queues.get(owner).map(|q| {
            (
                &q.stats,
                q.running.as_ref().map(|r| r.hook),
                q.current.len() + q.pending.iter().map(Vec::len).sum::<usize>(),
            )
        })
    }

    /// Queues one transition's `runs` for `owner`; `last` (a stop) pushes out every
    /// transition still waiting. Returns the runs and the transitions pushed out
    /// (counted as dropped).
    pub(crate) fn queue(
        &mut self,
        owner: &HookOwner,
        runs: Vec<Run>,
        last: bool,
    ) -> (usize, usize) {
        let q = self.queues.entry(owner.clone()).or_default();
        let mut dropped = Vec::new();
        if last {
            dropped.extend(q.pending.drain(..));
        }
        q.pending.push_back(runs);
        while q.pending.len() > MAX_PENDING {
            if let Some(old) = q.pending.pop_front() {
                dropped.push(old);
            }
        }
        let lost: usize = dropped.iter().map(Vec::len).sum();
        if lost > 0 {
            q.stats.dropped += u64::try_from(lost).unwrap_or(u64::MAX);
        }
        (lost, dropped.len())
    }

    /// Starts `owner`'s next run if none is under way: the command that runs it.
    pub(crate) fn start_next(&mut self, now: Instant, owner: &HookOwner) -> Option<Command> {
        let q = self.queues.get_mut(owner)?;
        if q.running.is_some() {
            return None;
        }
        if q.current.is_empty() {
            if let Some(next) = q.pending.pop_front() {
                q.current = next.into();
            }
        }
        let run = q.current.pop_front()?;
        self.next_id += 1;
        let id = HookRunId(self.next_id);
        q.running = Some(Running {
            id,
            hook: run.hook,
            timeout: run.timeout,
            overdue: now + run.timeout + ANSWER_GRACE,
        });
        Some(Command::RunHook {
            id,
            owner: owner.clone(),
            hook: run.hook,
            argv: run.argv,
            env: run.env,
            timeout: run.timeout,
        })
    }

    /// Run `id` answered with `result`: it is counted (and, timed out, counted so), and
    /// its owner and hook returned; nothing if no such run is under way (overdue
    /// already, or from before a restart of the queue).
    pub(crate) fn done(
        &mut self,
        id: HookRunId,
        result: &HookResult,
    ) -> Option<(HookOwner, &'static str)> {
        let (owner, q) = self
            .queues
            .iter_mut()
            .find(|(_, q)| q.running.as_ref().is_some_and(|r| r.id == id))?;
        let running = q.running.take()?;
        q.stats.runs += 1;
        if matches!(result, HookResult::TimedOut(_)) {
            q.stats.timed_out += 1;
        }
        Some((owner.clone(), running.hook))
    }

    /// Takes the runs under way with no answer by their overdue bound (each counted as
    /// a run): their owners, hooks, and how long they were given.
    pub(crate) fn take_overdue(
        &mut self,
        now: Instant,
    ) -> Vec<(HookOwner, &'static str, Duration)> {
        let mut overdue = Vec::new();
        for (owner, q) in &mut self.queues {
            let Some(running) = q.running.take_if(|r| r.overdue <= now) else {
                continue;
            };
            q.stats.runs += 1;
            overdue.push((owner.clone(), running.hook, running.timeout + ANSWER_GRACE));
        }
        overdue
    }

    /// A run of `owner`'s `hook` failed for `why`: counted, and kept as the newest
    /// failure.
    pub(crate) fn failed(&mut self, owner: &HookOwner, hook: &str, why: &str) {
        if let Some(q) = self.queues.get_mut(owner) {
            q.stats.failed += 1;
            q.stats.last_failure = Some(format!("{hook}: {why}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(p: &str) -> Option<Vec<String>> {
        Some(vec![p.to_string()])
    }

    #[test]
    fn a_state_hook_runs_before_any() {
        let c = NotifyConfig {
            master: argv("/m"),
            any: argv("/a"),
            ..NotifyConfig::none()
        };
        let names: Vec<&str> = c
            .hooks_for(HookState::Master)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["master", "any"]);
        let names: Vec<&str> = c
            .hooks_for(HookState::Backup)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["any"]);
        assert!(!c.is_empty());
        assert!(NotifyConfig::none().is_empty());
    }
}
