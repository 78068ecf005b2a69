//! Health checks and what the instances make of them.
//!
//! Each check has a state: up or down, since when, and the newest result. The node
//! decides when checks run and what their results mean; the shell only runs them:
//! - **polled** kinds (http, tcp, exec, file): `Command::RunCheck` every `interval`
//!   (counted from the start of one run to the start of the next), never a second run
//!   of a check while one is under way; `rise` successes in a row bring a check up,
//!   `fall` failures bring it down. A run that has not answered `timeout` +
//!   [`OVERDUE_GRACE`] after it began counts as a failure (a shell that cannot end a
//!   run still lets the check go down); the next run waits for its answer all the same.
//! - **process** checks: `Command::WatchProcess`; the shell reports the processes it
//!   finds the moment that changes (a death at once, through a pidfd), and each change
//!   counts at once.
//! - **interface** checks: decided here from the kernel's link events and reads.
//!
//! Before its first result a check is in its `init` state (default down); the first
//! result counts at once (a first success brings a check up whatever `rise` is), so a
//! node whose service is dead at start never takes the VIP, and one whose service is
//! healthy does not wait `rise` intervals.
//!
//! Whenever what a check means to the instances changes, every instance tracking it
//! hears the sum of its weights and whether a fault-tracked check fails
//! (`Input::Tracked`); a router starting hears it before its Startup.
//!
//! This is the checks' own part (their states and what a result means); `check_runs` is
//! the node's side (runs asked for, results and link news applied, instances told).

use std::collections::BTreeMap;
use std::time::Duration;

use vipd_api::TrackStatus;
use vipd_engine::Instant;

use crate::config::{CheckConfig, CheckInit, CheckKind, InstanceConfig, StatusMatch, Track};
use crate::io::{CheckResult, CheckRunId};

/// How long after its timeout a run without an answer counts as failed.
pub const OVERDUE_GRACE: Duration = Duration::from_secs(1);

/// Below this, a file check's value × weight puts the instance in Fault (keepalived).
const FILE_FAULT_BELOW: i64 = -253;

/// Every check's state.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    pub(crate) next_id: u64,
    pub states: BTreeMap<String, CheckState>,
    /// Runs still under way of checks that were removed or changed, by name: a check
    /// of that name waits for the run before it starts one of its own.
    pub(crate) leftover: BTreeMap<String, CheckRunId>,
}

#[derive(Debug)]
pub(crate) struct CheckState {
    pub cfg: CheckConfig,
    pub up: bool,
    /// Since when `up` holds (or since the check was set up).
    pub since: Instant,
    /// A file check's value (0 until read).
    pub value: i64,
    /// Whether any result came yet.
    pub(crate) known: bool,
    /// Added or changed by a reload and no result yet: it changes nothing for the
    /// instances until its first result (a running node does not drop its VIP because
    /// its configuration gained a check).
    pub(crate) pending: bool,
    pub(crate) successes: u32,
    pub(crate) failures: u32,
    /// The newest result and when it came.
    pub last: Option<(Instant, CheckResult)>,
    pub results: u64,
    pub failed: u64,
    /// How long the newest answered run of a polled check took.
    pub last_duration: Option<std::time::Duration>,
    pub(crate) sched: Sched,
}

#[derive(Debug)]
pub(crate) enum Sched {
    Polled {
        next: Instant,
        flight: Option<Flight>,
    },
    Watched(CheckRunId),
    /// An interface check: the interface's index while it exists.
    Link(Option<u32>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Flight {
    pub(crate) id: CheckRunId,
    pub(crate) started: Instant,
    /// Failures counted while it was overdue (one at its timeout + grace, one more
    /// every interval after): its answer, if it ever comes, changes nothing then.
    pub(crate) counted: u32,
    /// From before a reload changed the check: its answer changes nothing.
    pub(crate) stale: bool,
}

impl CheckState {
    pub(crate) fn new(now: Instant, cfg: CheckConfig) -> CheckState {
        CheckState {
            up: cfg.init == CheckInit::Up,
            since: now,
            value: 0,
            known: false,
            pending: false,
            successes: 0,
            failures: 0,
            last: None,
            results: 0,
            failed: 0,
            last_duration: None,
            sched: if cfg.kind.polled() {
                Sched::Polled {
                    next: now,
                    flight: None,
                }
            } else {
                Sched::Link(None)
            },
            cfg,
        }
    }

    /// When this check needs the node next.
    pub(crate) fn due(&self) -> Option<Instant> {
        match &self.sched {
            Sched::Polled { next, flight: None } => Some(*next),
            Sched::Polled {
                flight: Some(f), ..
            } if !f.stale => {
                Some(f.started + self.cfg.timeout + OVERDUE_GRACE + self.cfg.interval * f.counted)
            }
            _ => None,
        }
    }

    pub(crate) fn is_file(&self) -> bool {
        matches!(self.cfg.kind, CheckKind::File(_))
    }
}

/// What a check means to an instance tracking it with `weight`.
pub(crate) fn effect(st: &CheckState, weight: i32) -> TrackStatus {
    let w = i64::from(weight);
    let (failing, adds, fault) = if st.pending {
        (false, 0, false)
    } else if st.is_file() {
        let v = st.value.saturating_mul(if w == 0 { 1 } else { w });
        if w == 0 {
            (v != 0, 0, v != 0)
        } else {
            (v < 0, v, v < FILE_FAULT_BELOW)
        }
    } else {
        let failing = !st.up;
        match w {
            0 => (failing, 0, failing),
            w if w < 0 => (failing, if failing { w } else { 0 }, false),
            w => (failing, if failing { 0 } else { w }, false),
        }
    };
    TrackStatus {
        check: String::new(),
        weight,
        failing,
        adds,
        fault,
    }
}

impl Checks {
    pub fn new(now: Instant, checks: &BTreeMap<String, CheckConfig>) -> Checks {
        Checks {
            next_id: 0,
            states: checks
                .iter()
                .map(|(n, c)| (n.clone(), CheckState::new(now, c.clone())))
                .collect(),
            leftover: BTreeMap::new(),
        }
    }

    pub(crate) fn next_id(&mut self) -> CheckRunId {
        self.next_id += 1;
        CheckRunId(self.next_id)
    }

    /// When the checks need the node next.
    pub fn next_due(&self) -> Option<Instant> {
        self.states.values().filter_map(CheckState::due).min()
    }

    /// The interfaces interface checks look at.
    pub fn interfaces(&self) -> impl Iterator<Item = &str> {
        self.states.values().filter_map(|s| match &s.cfg.kind {
            CheckKind::Interface(i) => Some(i.as_str()),
            _ => None,
        })
    }

    /// What one tracked check does now: its effect on the priority, or a fault.
    /// Validation guarantees every tracked check exists; a missing one fails.
    pub fn track_status(&self, t: &Track) -> TrackStatus {
        let mut e = match self.states.get(&t.check) {
            Some(st) => effect(st, t.weight),
            None => TrackStatus {
                check: String::new(),
                weight: t.weight,
                failing: true,
                adds: 0,
                fault: true,
            },
        };
        e.check = t.check.clone();
        e
    }

    /// What `inst`'s track list amounts to: the sum of the weights, whether any
    /// fault-tracked check fails, and each entry.
    pub fn tracked(&self, inst: &InstanceConfig) -> (i32, bool, Vec<TrackStatus>) {
        let mut sum: i64 = 0;
        let mut fault = false;
        let mut entries = Vec::with_capacity(inst.track.len());
        for t in &inst.track {
            let e = self.track_status(t);
            sum = sum.saturating_add(e.adds);
            fault |= e.fault;
            entries.push(e);
        }
        let weight =
            i32::try_from(sum.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or_default();
        (weight, fault, entries)
    }
}

/// Whether `result` counts as a success for a check configured as `cfg`, and the
/// result in words.
pub(crate) fn judge(cfg: &CheckConfig, result: &CheckResult) -> (bool, String) {
    match result {
        CheckResult::Exited {
            code,
            signal,
            output,
        } => {
            let mut s = match (code, signal) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                (None, None) => "ended".to_owned(),
            };
            if !output.is_empty() {
                s.push_str(&format!(": {output}"));
            }
            (*code == Some(0), s)
        }
        CheckResult::Http {
            status,
            body_matched,
        } => {
            let expected: &[StatusMatch] = match &cfg.kind {
                CheckKind::Http(h) => &h.expect_status,
                _ => &[],
            };
            let status_ok = expected.iter().any(|m| m.matches(*status));
            let mut s = format!("HTTP {status}");
            if !status_ok {
                let e: Vec<String> = expected.iter().map(|m| m.to_string()).collect();
                s.push_str(&format!(" (expected {})", e.join(" or ")));
            }
            if *body_matched == Some(false) {
                s.push_str(", body lacks the expected text");
            }
            (status_ok && *body_matched != Some(false), s)
        }
        CheckResult::Connected => match cfg.kind {
            CheckKind::Interface(_) => (true, "link up".to_owned()),
            _ => (true, "connected".to_owned()),
        },
        CheckResult::Process { pids, why } => {
            if pids.is_empty() {
                (
                    false,
                    why.clone().unwrap_or_else(|| "no such process".to_owned()),
                )
            } else {
                let p: Vec<String> = pids.iter().map(u32::to_string).collect();
                (
                    true,
                    format!(
                        "pid{} {}",
                        if pids.len() == 1 { "" } else { "s" },
                        p.join(" ")
                    ),
                )
            }
        }
        CheckResult::Value { value, note } => match note {
            None => (true, format!("value {value}")),
            Some(n) => (false, format!("value {value} ({n})")),
        },
        CheckResult::TimedOut(d) => (false, format!("timed out after {d:?}")),
        CheckResult::Error(e) => (false, e.clone()),
    }
}
