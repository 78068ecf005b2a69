//! The soak's invariant checker: what one sample saw of each router ([`View`]), the
//! checks it is held to, and the stretches of samples ([`Episode`]s) in which a check
//! failed, sorted into violations and transients allowed by [`GRACE`].

use std::collections::BTreeMap;

use vipd_api::State;

use super::GRACE;

/// What one sample saw of one router.
pub struct View {
    pub name: String,
    pub holds: bool,
    pub frozen: bool,
    /// `None`: not asked (stopped, shutting down, dead); `Some(Err)`: no answer.
    pub state: Option<Result<State, String>>,
}

/// A stretch of consecutive samples in which one check failed for one router (or for
/// the LAN as a whole).
#[derive(Clone)]
pub struct Episode {
    pub check: &'static str,
    pub who: String,
    pub from: f64,
    pub to: f64,
    pub samples: usize,
    pub first: String,
    pub last: String,
}

impl Episode {
    pub fn secs(&self) -> f64 {
        self.to - self.from
    }
}

/// The checks, as violations and transients name them (`tests/soak.rs` says what each
/// one means).
pub const CHECK_HOLDERS: &str = "1: several running routers hold the VIP outside the grace window";
pub const CHECK_OVERLAP: &str =
    "1b: several running routers hold the VIP for longer than the grace";
pub const CHECK_NON_MASTER: &str = "2: VIP held by a non-master";
pub const CHECK_MASTERLESS: &str = "3: master without the VIP";
pub const CHECK_SILENT: &str = "4: vipd does not answer status";

/// How long an episode of `check` may last before it is a violation.
fn allowed(check: &str) -> f64 {
    if check == CHECK_HOLDERS {
        0.0
    } else {
        GRACE.as_secs_f64()
    }
}

/// Takes one sample after another ([`Checker::observe`]) and keeps the episodes in
/// which a check failed: open ones, violations (longer than allowed) and transients.
#[derive(Default)]
pub struct Checker {
    pub samples: usize,
    first_sample: Option<f64>,
    last_sample: Option<f64>,
    pub longest_between: f64,
    open: BTreeMap<(&'static str, String), Episode>,
    pub violations: Vec<Episode>,
    /// Per check: episodes within what is allowed, and the longest of them.
    pub transient: BTreeMap<&'static str, (usize, f64)>,
    /// Samples in which check 1 applied (no grace window, no isolation).
    pub holders_checked: usize,
    /// Samples in which check 1b applied (no isolation).
    pub overlap_checked: usize,
    /// Samples in which a stopped or crashed router still held the VIP while a running
    /// one held it too (what check 1 leaves out).
    pub frozen_overlap: usize,
}

impl Checker {
    /// One sample: `in_grace` within [`GRACE`] of an action, `isolated` while some port
    /// is isolated.
    pub fn observe(&mut self, t: f64, in_grace: bool, isolated: bool, views: &[View]) {
        self.samples += 1;
        if let Some(last) = self.last_sample {
            self.longest_between = self.longest_between.max(t - last);
        }
        self.first_sample.get_or_insert(t);
        self.last_sample = Some(t);

        let mut failing: Vec<(&'static str, String, String)> = Vec::new();
        let mut unknown: Vec<(&'static str, String)> = Vec::new();
        let picture = || {
            views
                .iter()
                .map(|v| {
                    let st = match &v.state {
                        None => "not asked".to_string(),
                        Some(Ok(s)) => s.as_str().to_string(),
                        Some(Err(_)) => "no answer".to_string(),
                    };
                    format!(
                        "{}: {}{}, {st}",
                        v.name,
                        if v.holds { "holds" } else { "-" },
                        if v.frozen { " (frozen)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if views.iter().any(|v| v.holds && v.frozen) && views.iter().any(|v| v.holds && !v.frozen) {
            self.frozen_overlap += 1;
        }
        let running_holders = views.iter().filter(|v| v.holds && !v.frozen).count();
        if !isolated {
            self.overlap_checked += 1;
            if running_holders > 1 {
                failing.push((CHECK_OVERLAP, String::new(), picture()));
            }
            if !in_grace {
                self.holders_checked += 1;
                if running_holders > 1 {
                    failing.push((CHECK_HOLDERS, String::new(), picture()));
                }
            }
        }
        for v in views {
            match &v.state {
                None => {}
                Some(Err(e)) => {
                    failing.push((CHECK_SILENT, v.name.clone(), e.clone()));
                    unknown.push((CHECK_NON_MASTER, v.name.clone()));
                    unknown.push((CHECK_MASTERLESS, v.name.clone()));
                }
                Some(Ok(s)) => {
                    if v.holds && *s != State::Master {
                        failing.push((CHECK_NON_MASTER, v.name.clone(), picture()));
                    }
                    if !v.holds && *s == State::Master {
                        failing.push((CHECK_MASTERLESS, v.name.clone(), picture()));
                    }
                }
            }
        }
        let keys: Vec<(&'static str, String)> = self.open.keys().cloned().collect();
        for key in keys {
            let still = failing.iter().any(|(c, w, _)| (*c, w) == (key.0, &key.1));
            if !still && !unknown.contains(&key) {
                if let Some(ep) = self.open.remove(&key) {
                    self.close(ep);
                }
            }
        }
        for (check, who, detail) in failing {
            let ep = self
                .open
                .entry((check, who.clone()))
                .or_insert_with(|| Episode {
                    check,
                    who,
                    from: t,
                    to: t,
                    samples: 0,
                    first: detail.clone(),
                    last: String::new(),
                });
            ep.to = t;
            ep.samples += 1;
            ep.last = detail;
        }
    }

    fn close(&mut self, ep: Episode) {
        if ep.secs() >= allowed(ep.check) {
            self.violations.push(ep);
        } else {
            let e = self.transient.entry(ep.check).or_insert((0, 0.0));
            e.0 += 1;
            e.1 = e.1.max(ep.secs());
        }
    }

    pub fn close_all(&mut self) {
        for (_, ep) in std::mem::take(&mut self.open) {
            self.close(ep);
        }
        self.violations
            .sort_by(|a, b| a.from.total_cmp(&b.from).then(a.check.cmp(b.check)));
    }

    /// Mean time between samples, in seconds.
    pub fn mean_interval(&self) -> f64 {
        match (self.first_sample, self.last_sample) {
            (Some(a), Some(b)) if self.samples > 1 => (b - a) / (self.samples - 1) as f64,
            _ => 0.0,
        }
    }
}

/// a is master holding the VIP, b and c are backup without it.
pub fn settled_roles(views: &[View]) -> bool {
    views.iter().all(|v| {
        let (want, holds) = if v.name == "a" {
            (State::Master, true)
        } else {
            (State::Backup, false)
        };
        v.holds == holds && matches!(&v.state, Some(Ok(s)) if *s == want)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, holds: bool, frozen: bool, state: Option<Result<State, String>>) -> View {
        View {
            name: name.to_string(),
            holds,
            frozen,
            state,
        }
    }

    #[test]
    fn checker_counts_running_holders_outside_the_exemption() {
        let master = || Some(Ok(State::Master));
        let two = [
            view("a", true, false, master()),
            view("b", true, false, master()),
        ];
        let mut c = Checker::default();
        c.observe(10.0, true, false, &two);
        c.observe(
            10.02,
            false,
            false,
            &[
                view("a", true, false, master()),
                view("b", false, false, Some(Ok(State::Backup))),
            ],
        );
        // A stopped or crashed holder does not count.
        c.observe(
            10.04,
            false,
            false,
            &[
                view("a", true, true, None),
                view("b", true, false, master()),
            ],
        );
        c.close_all();
        assert!(
            c.violations.is_empty(),
            "{:?}",
            c.violations.iter().map(|v| v.check).collect::<Vec<_>>()
        );
        // One sample is enough.
        c.observe(11.0, false, false, &two);
        c.observe(
            11.02,
            false,
            false,
            &[
                view("a", true, false, master()),
                view("b", false, false, Some(Ok(State::Backup))),
            ],
        );
        c.close_all();
        assert_eq!(c.violations.len(), 1);
        assert_eq!(c.violations[0].check, CHECK_HOLDERS);
        assert_eq!(c.samples, 5);
        // Isolated: two masters are fine, for as long as it lasts.
        let mut c = Checker::default();
        for k in 0..=150 {
            c.observe(f64::from(k) * 0.02, false, true, &two);
        }
        c.close_all();
        assert!(c.violations.is_empty());
        // Within the grace of one action after another, two running holders for 2 s.
        for k in 0..=100 {
            c.observe(10.0 + f64::from(k) * 0.02, true, false, &two);
        }
        c.close_all();
        assert_eq!(c.violations.len(), 1);
        assert_eq!(c.violations[0].check, CHECK_OVERLAP);
    }

    #[test]
    fn checker_allows_short_mismatches_only() {
        let mut c = Checker::default();
        let backup_holding = [view("b", true, false, Some(Ok(State::Backup)))];
        let fine = [view("b", false, false, Some(Ok(State::Backup)))];
        // 1.0 s: transient.
        for k in 0..=50 {
            c.observe(20.0 + f64::from(k) * 0.02, false, false, &backup_holding);
        }
        c.observe(21.1, false, false, &fine);
        assert!(c.violations.is_empty());
        assert_eq!(c.transient.get(CHECK_NON_MASTER).map(|t| t.0), Some(1));
        // 2.0 s, with unanswered samples in between (they neither end nor extend it): a
        // violation, and the silence is a transient of its own.
        for k in 0..=100 {
            let state = if (40..60).contains(&k) {
                Some(Err("timeout".to_string()))
            } else {
                Some(Ok(State::Backup))
            };
            c.observe(
                30.0 + f64::from(k) * 0.02,
                false,
                false,
                &[view("b", true, false, state)],
            );
        }
        c.observe(32.1, false, false, &fine);
        c.close_all();
        assert_eq!(
            c.violations.len(),
            1,
            "{:?}",
            c.violations.iter().map(|v| v.check).collect::<Vec<_>>()
        );
        assert_eq!(c.violations[0].check, CHECK_NON_MASTER);
        assert!((c.violations[0].secs() - 2.0).abs() < 1e-6);
        assert_eq!(c.transient.get(CHECK_SILENT).map(|t| t.0), Some(1));
        // A master without its VIP.
        let mut c = Checker::default();
        for k in 0..=100 {
            c.observe(
                40.0 + f64::from(k) * 0.02,
                false,
                false,
                &[view("a", false, false, Some(Ok(State::Master)))],
            );
        }
        c.close_all();
        assert_eq!(c.violations.len(), 1);
        assert_eq!(c.violations[0].check, CHECK_MASTERLESS);
    }
}
