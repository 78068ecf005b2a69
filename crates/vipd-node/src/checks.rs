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

use std::collections::BTreeMap;
use std::time::Duration;

use vipd_api::{CheckStatus, TrackStatus};
use vipd_engine::{Input, Instant};

use crate::config::{CheckConfig, CheckInit, CheckKind, InstanceConfig, StatusMatch};
use crate::io::{CheckResult, CheckRunId, Command, IfaceRead, Level, Link, LinkReadError};
use crate::node::Node;

/// How long after its timeout a run without an answer counts as failed.
pub const OVERDUE_GRACE: Duration = Duration::from_secs(1);

/// Below this, a file check's value × weight puts the instance in Fault (keepalived).
const FILE_FAULT_BELOW: i64 = -253;

/// Every check's state.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    next_id: u64,
    pub states: BTreeMap<String, CheckState>,
    /// Runs still under way of checks that were removed or changed, by name: a check
    /// of that name waits for the run before it starts one of its own.
    leftover: BTreeMap<String, CheckRunId>,
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
    known: bool,
    /// Added or changed by a reload and no result yet: it changes nothing for the
    /// instances until its first result (a running node does not drop its VIP because
    /// its configuration gained a check).
    pending: bool,
    successes: u32,
    failures: u32,
    /// The newest result and when it came.
    pub last: Option<(Instant, CheckResult)>,
    pub results: u64,
    pub failed: u64,
    /// How long the newest answered run of a polled check took.
    pub last_duration: Option<std::time::Duration>,
    sched: Sched,
}

#[derive(Debug)]
enum Sched {
    Polled {
        next: Instant,
        flight: Option<Flight>,
    },
    Watched(CheckRunId),
    /// An interface check: the interface's index while it exists.
    Link(Option<u32>),
}

#[derive(Debug, Clone, Copy)]
struct Flight {
    id: CheckRunId,
    started: Instant,
    /// Failures counted while it was overdue (one at its timeout + grace, one more
    /// every interval after): its answer, if it ever comes, changes nothing then.
    counted: u32,
    /// From before a reload changed the check: its answer changes nothing.
    stale: bool,
}

impl CheckState {
    fn new(now: Instant, cfg: CheckConfig) -> CheckState {
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
    fn due(&self) -> Option<Instant> {
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

    fn is_file(&self) -> bool {
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

    fn next_id(&mut self) -> CheckRunId {
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

    /// What `inst`'s track list amounts to: the sum of the weights, whether any
    /// fault-tracked check fails, and each entry.
    pub fn tracked(&self, inst: &InstanceConfig) -> (i32, bool, Vec<TrackStatus>) {
        let mut sum: i64 = 0;
        let mut fault = false;
        let mut entries = Vec::with_capacity(inst.track.len());
        for t in &inst.track {
            // Validation guarantees every tracked check exists; a missing one fails.
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
fn judge(cfg: &CheckConfig, result: &CheckResult) -> (bool, String) {
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

impl Node {
    /// Starts what the checks need from the shell: process watches, and the polled
    /// checks that are due (every one, at start).
    pub(crate) fn start_checks(&mut self, now: Instant) {
        let names: Vec<String> = self.checks.states.keys().cloned().collect();
        for name in names {
            self.start_watch(&name);
        }
        self.checks_due(now);
    }

    fn start_watch(&mut self, name: &str) {
        let Some(st) = self.checks.states.get(name) else {
            return;
        };
        let CheckKind::Process(process) = &st.cfg.kind else {
            return;
        };
        let (process, rescan) = (process.clone(), st.cfg.interval);
        let id = self.checks.next_id();
        if let Some(st) = self.checks.states.get_mut(name) {
            st.sched = Sched::Watched(id);
        }
        self.push(Command::WatchProcess {
            id,
            check: name.to_owned(),
            process,
            rescan,
        });
    }

    /// Runs the polled checks that are due; counts overdue runs as failures.
    pub(crate) fn checks_due(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        let names: Vec<String> = self
            .checks
            .states
            .iter()
            .filter(|(_, s)| s.due().is_some_and(|t| t <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let id = self.checks.next_id();
            let Some(st) = self.checks.states.get_mut(&name) else {
                continue;
            };
            let Sched::Polled { next, flight } = &mut st.sched else {
                continue;
            };
            match flight {
                None => {
                    *flight = Some(Flight {
                        id,
                        started: now,
                        counted: 0,
                        stale: false,
                    });
                    *next = now + st.cfg.interval;
                    let command = Command::RunCheck {
                        id,
                        check: name.clone(),
                        kind: st.cfg.kind.clone(),
                        timeout: st.cfg.timeout,
                    };
                    self.push(command);
                }
                Some(f) => {
                    f.counted += 1;
                    let waited = now.saturating_since(f.started);
                    let result = CheckResult::Error(format!(
                        "no answer {waited:?} after the run began (timeout {:?}); counted as \
                         failed, and no new run starts until it ends",
                        st.cfg.timeout
                    ));
                    self.check_result(now, &name, result);
                }
            }
        }
    }

    /// A check's result (or a watch's news) came.
    pub(crate) fn on_check_result(&mut self, now: Instant, id: CheckRunId, result: CheckResult) {
        if self.checks.leftover.values().any(|l| *l == id) {
            self.checks.leftover.retain(|_, l| *l != id);
        }
        let found = self
            .checks
            .states
            .iter_mut()
            .find_map(|(name, st)| match &mut st.sched {
                Sched::Polled { flight, .. } if flight.is_some_and(|f| f.id == id) => {
                    let f = flight.take()?;
                    st.last_duration = Some(now.saturating_since(f.started));
                    Some((name.clone(), f.counted == 0 && !f.stale))
                }
                Sched::Watched(w) if *w == id => Some((name.clone(), true)),
                _ => None,
            });
        let Some((name, counts)) = found else {
            return;
        };
        if counts {
            self.check_result(now, &name, result);
        } else if let Some(st) = self.checks.states.get_mut(&name) {
            // Already counted (overdue) or from an old configuration: shown, not counted.
            st.last = Some((now, result));
        }
        // The next run may have been due while this one was under way.
        self.checks_due(now);
    }

    /// Counts one result of check `name`; tells the instances if that changed anything.
    fn check_result(&mut self, now: Instant, name: &str, result: CheckResult) {
        let Some(st) = self.checks.states.get_mut(name) else {
            return;
        };
        let (ok, words) = judge(&st.cfg, &result);
        st.results += 1;
        if !ok {
            st.failed += 1;
        }
        let first = !st.known;
        st.known = true;
        let was_pending = std::mem::take(&mut st.pending);
        let was = (st.up, st.value);
        if let CheckResult::Value { value, .. } = &result {
            st.value = *value;
            st.up = ok;
        } else if ok {
            st.failures = 0;
            st.successes = st.successes.saturating_add(1);
            // Process checks take each change at once; polled ones need `rise` in a row
            // (the first result counts at once).
            if first || !st.cfg.kind.polled() || st.successes >= st.cfg.rise {
                st.up = true;
            }
        } else {
            st.successes = 0;
            st.failures = st.failures.saturating_add(1);
            if first || !st.cfg.kind.polled() || st.failures >= st.cfg.fall {
                st.up = false;
            }
        }
        st.last = Some((now, result));
        let changed = (st.up, st.value) != was || was_pending;
        if st.up != was.0 {
            st.since = now;
        }
        if changed {
            let event = vipd_api::WatchEvent::Check {
                check: name.to_string(),
                up: st.up,
                saw: words.clone(),
            };
            let (level, text) = match (st.up, st.is_file()) {
                (_, true) => (Level::Info, format!("check {name}: {words}")),
                (true, false) => (Level::Info, format!("check {name} is up: {words}")),
                (false, false) => (Level::Warn, format!("check {name} is down: {words}")),
            };
            self.note(level, None, text);
            self.publish(now, event);
            self.apply_tracking(now);
        } else if !ok && st.up {
            let (failures, fall) = (st.failures, st.cfg.fall);
            self.note(
                Level::Info,
                None,
                format!("check {name} failed ({failures} of {fall} before down): {words}"),
            );
        }
    }

    /// Tells every running router what its tracked checks amount to now (one whose
    /// track list a reload emptied hears that nothing is tracked any more).
    pub(crate) fn apply_tracking(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if self.instances[i].router().is_some() {
                self.feed_tracked(now, i);
            }
        }
        self.announce_apply_all(now);
    }

    /// Tells instance `i`'s router what its tracked checks amount to (also before its
    /// Startup, so that it starts in Fault when a fault-tracked check is down).
    pub(crate) fn feed_tracked(&mut self, now: Instant, i: usize) {
        let (weight, fault, _) = self.checks.tracked(&self.instances[i].cfg);
        self.feed(now, i, Input::Tracked { weight, fault });
    }

    // ---- interface checks -------------------------------------------------------

    /// A link's state, from an event or a current read.
    pub(crate) fn checks_link(&mut self, now: Instant, link: &Link) {
        let names: Vec<String> = self
            .checks
            .states
            .iter()
            .filter(|(_, s)| s.cfg.kind == CheckKind::Interface(link.name.clone()))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            if let Some(st) = self.checks.states.get_mut(&name) {
                st.sched = Sched::Link(Some(link.index));
            }
            let result = if link.up {
                CheckResult::Connected
            } else {
                CheckResult::Error(format!("link {} is down", link.name))
            };
            self.link_result(now, &name, link.up, result);
        }
    }

    /// The interface with this index is gone.
    pub(crate) fn checks_link_gone(&mut self, now: Instant, index: u32) {
        let names: Vec<String> = self
            .checks
            .states
            .iter()
            .filter(|(_, s)| matches!(s.sched, Sched::Link(Some(i)) if i == index))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            if let Some(st) = self.checks.states.get_mut(&name) {
                st.sched = Sched::Link(None);
            }
            let why = CheckResult::Error("interface removed".to_owned());
            self.link_result(now, &name, false, why);
        }
    }

    /// A kernel read of an interface; `current` when no link event came since it began.
    pub(crate) fn checks_iface_read(&mut self, now: Instant, current: bool, read: &IfaceRead) {
        if !current || !self.checks.interfaces().any(|i| i == read.name) {
            return;
        }
        match &read.link {
            Ok(link) => self.checks_link(now, link),
            Err(LinkReadError::NoSuchInterface) => {
                let names: Vec<String> = self
                    .checks
                    .states
                    .iter()
                    .filter(|(_, s)| s.cfg.kind == CheckKind::Interface(read.name.clone()))
                    .map(|(n, _)| n.clone())
                    .collect();
                for name in names {
                    let why = CheckResult::Error(format!("no interface {}", read.name));
                    self.link_result(now, &name, false, why);
                }
            }
            // Nothing is known: nothing changes.
            Err(LinkReadError::Failed(_)) => {}
        }
    }

    /// Counts a link state for interface check `name`, unless it says what the check
    /// already knows.
    fn link_result(&mut self, now: Instant, name: &str, up: bool, result: CheckResult) {
        let Some(st) = self.checks.states.get_mut(name) else {
            return;
        };
        if st.known && st.up == up && !st.pending {
            st.last = Some((now, result));
            return;
        }
        let words = judge(&st.cfg, &result).1;
        // A link check's result is its state; no rise or fall.
        let was_pending = std::mem::take(&mut st.pending);
        st.known = true;
        st.results += 1;
        if !up {
            st.failed += 1;
        }
        st.last = Some((now, result));
        if st.up != up || was_pending {
            st.up = up;
            st.since = now;
            let (level, state) = if up {
                (Level::Info, "up")
            } else {
                (Level::Warn, "down")
            };
            self.note(level, None, format!("check {name} is {state}: {words}"));
            let event = vipd_api::WatchEvent::Check {
                check: name.to_string(),
                up,
                saw: words,
            };
            self.publish(now, event);
            self.apply_tracking(now);
        }
    }

    // ---- reload -------------------------------------------------------------------

    /// After a reload: checks removed or changed end (their watches stop, a run under
    /// way is waited for but not counted), new and changed ones start from their init
    /// state, unchanged ones keep theirs; every instance hears its tracking again.
    pub(crate) fn reload_checks(&mut self, now: Instant) {
        let wanted = self.config.checks.clone();
        let old = std::mem::take(&mut self.checks.states);
        let (mut added, mut removed, mut changed) = (0, 0, 0);
        for (name, st) in old {
            if wanted.get(&name) == Some(&st.cfg) {
                self.checks.states.insert(name, st);
                continue;
            }
            if wanted.contains_key(&name) {
                changed += 1;
            } else {
                removed += 1;
            }
            match st.sched {
                Sched::Watched(id) => self.push(Command::StopWatch { id }),
                Sched::Polled {
                    flight: Some(f), ..
                } => {
                    self.checks.leftover.insert(name, f.id);
                }
                _ => {}
            }
        }
        for (name, cfg) in wanted {
            if self.checks.states.contains_key(&name) {
                continue;
            }
            if !self.config.checks.contains_key(&name) {
                continue;
            }
            let mut st = CheckState::new(now, cfg);
            st.pending = true;
            if let (Some(id), Sched::Polled { flight, .. }) =
                (self.checks.leftover.get(&name), &mut st.sched)
            {
                *flight = Some(Flight {
                    id: *id,
                    started: now,
                    counted: 0,
                    stale: true,
                });
            }
            self.checks.states.insert(name.clone(), st);
            self.start_watch(&name);
            added += 1;
        }
        let added = added - changed.min(added);
        if added + removed + changed > 0 {
            self.note(
                Level::Info,
                None,
                format!("checks reloaded: added={added} removed={removed} changed={changed}"),
            );
        }
        self.checks_due(now);
        self.apply_tracking(now);
    }

    // ---- status -------------------------------------------------------------------

    /// Every check as status shows it.
    pub(crate) fn check_status(&self, now: Instant) -> Vec<CheckStatus> {
        self.checks
            .states
            .iter()
            .map(|(name, st)| {
                let mut s = CheckStatus {
                    name: name.clone(),
                    kind: st.cfg.kind.name().to_owned(),
                    target: st.cfg.kind.target(),
                    up: st.up,
                    since_s: now.saturating_since(st.since).as_secs_f64(),
                    last_result: None,
                    last_result_age_s: None,
                    exit_code: None,
                    http_status: None,
                    pids: Vec::new(),
                    value: st.is_file().then_some(st.value),
                    error: None,
                    last_duration_s: st.last_duration.map(|d| d.as_secs_f64()),
                    results: st.results,
                    failures: st.failed,
                };
                if let Some((at, r)) = &st.last {
                    let (ok, words) = judge(&st.cfg, r);
                    s.last_result_age_s = Some(now.saturating_since(*at).as_secs_f64());
                    match r {
                        CheckResult::Exited { code, .. } => s.exit_code = *code,
                        CheckResult::Http { status, .. } => s.http_status = Some(*status),
                        CheckResult::Process { pids, .. } => s.pids = pids.clone(),
                        _ => {}
                    }
                    if !ok {
                        s.error = Some(words.clone());
                    }
                    s.last_result = Some(words);
                }
                s
            })
            .collect()
    }
}
