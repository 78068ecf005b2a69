//! SIGTERM / SIGINT: every instance leaves (a master sends priority 0 and hands over
//! make-before-break: it keeps its VIPs until the new master's advert is heard, or for
//! Master_Down_Interval, then removes them); the node waits for the handovers and the
//! removals, retries a failed one once, and then asks to exit — with an error naming
//! every VIP it could not remove. A second signal, or
//! [`SHUTDOWN_WAIT`] without the last answers, ends the wait. A handover still under
//! way at [`HANDOVER_WAIT`] (long adverts make Master_Down_Interval outlast the wait) is
//! cut there: its VIPs are removed in the time left, never kept past the exit.
//!
//! Each instance's `stop` notify hook (then `any`) is queued as its router stops
//! ([`crate::notify`]); the node exits only once every hook queue is empty as well, or
//! when the hooks' bound passes: each run still to come (the one under way included)
//! given the longest `notify_timeout` among them plus [`crate::notify::ANSWER_GRACE`],
//! reckoned when the stop began. A second signal exits without waiting for hooks too.
//!
//! This is the stop's own state; `shutdown` is the node's side (what a stop does to the
//! instances, jobs and hooks).

use std::time::Duration;

use vipd_engine::Instant;

use crate::config::Vip;
use crate::io::ExitError;

/// How long a stopping node waits for its last VIP removals (the systemd unit's
/// TimeoutStopSec leaves room for this).
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(20);

/// How long a stopping node keeps VIPs for a make-before-break handover at most: the
/// rest of [`SHUTDOWN_WAIT`] is for removing them.
pub const HANDOVER_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug)]
pub(crate) struct Stopping {
    /// The bound of the wait for VIP removals.
    pub deadline: Instant,
    /// The bound of the handovers, until it has passed.
    pub handover_deadline: Option<Instant>,
    /// The bound of the wait for notify hooks, while some are under way.
    pub hooks_deadline: Option<Instant>,
    /// How the VIP part ended, once it has: the exit waits for the hooks.
    pub(crate) vips_done: Option<Result<(), ExitError>>,
    /// Removals already retried once: a second failure is final.
    pub(crate) retried: Vec<(String, Vip)>,
    /// VIPs whose removal failed for good.
    pub(crate) left: Vec<(String, Vip)>,
    pub(crate) done: bool,
}

impl Stopping {
    /// A stop that began at `now`: VIP removals are waited for [`SHUTDOWN_WAIT`].
    pub(crate) fn new(now: Instant) -> Stopping {
        Stopping {
            deadline: now + SHUTDOWN_WAIT,
            handover_deadline: Some(now + HANDOVER_WAIT),
            hooks_deadline: None,
            vips_done: None,
            retried: Vec::new(),
            left: Vec::new(),
            done: false,
        }
    }

    /// The deadlines still waited for.
    pub(crate) fn deadlines(&self) -> Deadlines {
        if self.done {
            return Deadlines::default();
        }
        let waiting = self.vips_done.is_none();
        Deadlines {
            handovers: self.handover_deadline.filter(|_| waiting),
            vips: waiting.then_some(self.deadline),
            hooks: self.hooks_deadline,
        }
    }

    /// Whether the node has asked to exit.
    pub(crate) fn exited(&self) -> bool {
        self.done
    }
}

/// What a stopping node still waits for, each until when.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Deadlines {
    /// Make-before-break handovers: cut then.
    pub handovers: Option<Instant>,
    /// VIP removals: given up then.
    pub vips: Option<Instant>,
    /// Notify hooks: no longer waited for then.
    pub hooks: Option<Instant>,
}

impl Deadlines {
    pub(crate) fn earliest(&self) -> Option<Instant> {
        [self.handovers, self.vips, self.hooks]
            .into_iter()
            .flatten()
            .min()
    }
}

pub(crate) fn describe(left: &[(String, Vip)]) -> String {
    let items: Vec<String> = left
        .iter()
        .map(|(iface, vip)| format!("{vip} on {iface}"))
        .collect();
    items.join(", ")
}
