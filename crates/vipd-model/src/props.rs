//! The properties checked in every state.
//!
//! "Holder" is the kernel's view: a host whose interface has the VIP (VIP jobs take
//! effect within the step that asks for them, so this is exactly what the node's
//! outputs did). The make-before-break window of a host is read from its outputs too
//! ([`crate::host::Window`]): it opens with a priority-0 advert sent while the host
//! holds the VIP, and closes when its VIPs are removed.

use std::collections::BTreeSet;

use stateright::Property;
use vipd_engine::{State, HANDOVER_GRACE};

use crate::bounds::Bounds;
use crate::host::CHECK_WEIGHT;
use crate::model::{seen, ModelState, VrrpModel, HOSTS, PAIRS};

pub const ONE_HOLDER: &str =
    "never two holders outside a partition, a takeover's first advert and a make-before-break window";
pub const WINDOW_BOUNDED: &str =
    "a make-before-break window ends a grace after the new master is heard, and within Master_Down_Interval";
pub const HANDOVER_HOLDER: &str = "a planned handover always has a holder";
pub const TIMERS: &str = "every running instance has a timer or an input that can move it";
pub const MASTER_HOLDS: &str =
    "a master holds the VIP; anyone else only inside its make-before-break window";
pub const SETTLED: &str =
    "settled (no disturbance for the settle bound): exactly the highest effective priority holds";
pub const EVENTUALLY_ONE: &str =
    "after the last disturbance, eventually exactly the highest effective priority holds";

pub const SOME_ELECTED: &str = "sometimes a master is elected";
pub const SOME_FAILOVER: &str = "sometimes a failover follows a failed check";
pub const SOME_HANDOVER: &str = "sometimes a planned handover completes";
pub const SOME_SPLIT: &str = "sometimes a partition splits the brain";
pub const SOME_RELOAD: &str = "sometimes a reload moves the VIP";
pub const SOME_RESTART: &str = "sometimes a restarted host takes the VIP back";

pub fn properties(bounds: &Bounds) -> Vec<Property<VrrpModel>> {
    let mut props = vec![
        Property::always(ONE_HOLDER, one_holder),
        Property::always(WINDOW_BOUNDED, window_bounded),
        Property::always(HANDOVER_HOLDER, |_, s: &ModelState| s.gap.is_none()),
        Property::always(TIMERS, timers),
        Property::always(MASTER_HOLDS, master_holds),
        Property::always(SETTLED, settled),
        Property::eventually(EVENTUALLY_ONE, |m: &VrrpModel, s: &ModelState| {
            m.quiet(s) && s.holders() == expected(s)
        }),
        Property::sometimes(SOME_ELECTED, |_, s: &ModelState| {
            s.seen & seen::ELECTED != 0
        }),
    ];
    let k = bounds.kinds;
    if k.checks && bounds.events > 0 {
        props.push(Property::sometimes(SOME_FAILOVER, |_, s: &ModelState| {
            s.seen & seen::FAILOVER != 0
        }));
    }
    if (k.maintenance || k.stop_start) && bounds.events > 0 {
        props.push(Property::sometimes(SOME_HANDOVER, |_, s: &ModelState| {
            s.seen & seen::HANDOVER != 0
        }));
    }
    if k.stop_start && bounds.events > 1 {
        props.push(Property::sometimes(SOME_RESTART, |_, s: &ModelState| {
            s.seen & seen::RESTART_TOOK_BACK != 0
        }));
    }
    if k.partition && bounds.partitions > 0 {
        props.push(Property::sometimes(SOME_SPLIT, |_, s: &ModelState| {
            s.seen & seen::SPLIT != 0
        }));
    }
    if k.reload && bounds.events > 0 {
        props.push(Property::sometimes(SOME_RELOAD, |_, s: &ModelState| {
            s.seen & seen::RELOAD_MOVED != 0
        }));
    }
    props
}

/// Whether a partition holds, or healed so recently that two masters may not have
/// heard each other yet.
fn in_partition(m: &VrrpModel, s: &ModelState) -> bool {
    s.partition.is_some()
        || s.healed_at
            .is_some_and(|h| s.now <= h + m.bounds.heal_overlap(s.used.drops))
}

fn one_holder(m: &VrrpModel, s: &ModelState) -> bool {
    if in_partition(m, s) {
        return true;
    }
    PAIRS.iter().zip(s.overlap).all(|((a, b), since)| {
        let Some(since) = since else {
            return true;
        };
        let window = |h: usize| s.hosts[h].view.window.since.is_some();
        window(*a) || window(*b) || s.now <= since + m.bounds.takeover_overlap(s.used.drops)
    })
}

fn window_bounded(m: &VrrpModel, s: &ModelState) -> bool {
    let slack = m.bounds.timer_slack;
    s.hosts.iter().all(|h| {
        let w = h.view.window;
        let Some(since) = w.since.filter(|_| h.view.holds) else {
            return true;
        };
        let within_bound = s.now <= since + m.bounds.master_down(w.priority) + slack;
        let after_heard = w
            .heard
            .is_none_or(|heard| s.now <= heard + HANDOVER_GRACE + slack);
        within_bound && after_heard
    })
}

fn timers(_: &VrrpModel, s: &ModelState) -> bool {
    if s.stuck.is_some() {
        return false;
    }
    s.hosts.iter().all(|h| {
        let v = &h.view;
        if !v.running {
            return true;
        }
        match v.state {
            Some(State::Master) => v.router_deadline.is_some(),
            // A backup in maintenance never takes over: only `maintenance off` moves it.
            Some(State::Backup) => v.maintenance || v.router_deadline.is_some(),
            // A tracked fault waits for the check.
            Some(State::Fault) => !v.check_up || v.router_deadline.is_some(),
            // Not started yet, or leaving: the node's own deadline moves it.
            Some(State::Initialize) | Some(State::Stopped) | None => v.deadline.is_some(),
        }
    })
}

fn master_holds(_: &VrrpModel, s: &ModelState) -> bool {
    s.hosts.iter().all(|h| {
        let v = &h.view;
        let master = v.running && v.state == Some(State::Master);
        (!master || v.holds) && (!v.holds || master || v.window.since.is_some())
    })
}

/// The effective priority host `h` should have: its configured priority, lowered by
/// the check's weight while the check fails (RFC 5798 has no tracking; keepalived's
/// semantics), within 1..=254.
pub fn effective(s: &ModelState, h: usize) -> u8 {
    let v = &s.hosts[h].view;
    let p = i32::from(v.priority) + if v.check_up { 0 } else { CHECK_WEIGHT };
    p.clamp(1, 254) as u8
}

/// Who should hold the VIP: of the running hosts not in maintenance and not leaving,
/// the highest effective priority, the higher address on a tie (RFC 5798 §6.4.3).
pub fn expected(s: &ModelState) -> Vec<usize> {
    let eligible = (0..HOSTS).filter(|&h| {
        let v = &s.hosts[h].view;
        v.running && !v.maintenance && matches!(v.state, Some(State::Master | State::Backup))
    });
    // Addresses grow with the host index.
    eligible
        .max_by_key(|&h| (effective(s, h), h))
        .into_iter()
        .collect()
}

fn settled(m: &VrrpModel, s: &ModelState) -> bool {
    if s.partition.is_some() || s.now < s.last_disturbance + m.bounds.settle() {
        return true;
    }
    let priorities_right = (0..HOSTS).all(|h| {
        let v = &s.hosts[h].view;
        !v.running || v.effective.is_none_or(|e| e == effective(s, h))
    });
    let holders: BTreeSet<usize> = s.holders().into_iter().collect();
    let want: BTreeSet<usize> = expected(s).into_iter().collect();
    priorities_right && holders == want
}
