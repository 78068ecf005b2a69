//! The node's side of health checks ([`crate::checks`]): runs and watches asked of the
//! shell, results and link news applied to the checks' states, and the instances
//! tracking a check told what it now means.

use vipd_api::CheckStatus;
use vipd_engine::{Input, Instant};

use crate::checks::{judge, CheckState, Flight, Sched};
use crate::config::CheckKind;
use crate::instances::InstanceId;
use crate::io::{CheckResult, CheckRunId, Command, IfaceRead, Level, Link, LinkReadError};
use crate::node::Node;

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
        for id in self.instances.ids_where(|i| i.router().is_some()) {
            self.feed_tracked(now, id);
        }
        self.announce_apply_all(now);
    }

    /// Tells instance `id`'s router what its tracked checks amount to (also before its
    /// Startup, so that it starts in Fault when a fault-tracked check is down).
    pub(crate) fn feed_tracked(&mut self, now: Instant, id: InstanceId) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let (weight, fault, _) = self.checks.tracked(&inst.cfg);
        self.feed(now, id, Input::Tracked { weight, fault });
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
