//! The model: three hosts (each a real node, [`crate::host`]), the adverts under way
//! between them, a partition, the budgets of disturbances used, and what the
//! properties remember of the past.
//!
//! # Time
//! One clock for every host, moved only forward. Every action happens at an instant:
//! - a host's timer at its node's `poll_timeout()` (or now, if that has passed);
//! - an advert's delivery now (it waited since its send), or — a late delivery —
//!   exactly `max_delay` after its send;
//! - a disturbance now.
//!
//! An action at `t` is enabled only if no obligation is overdue at `t`: every running
//! node's deadline + `timer_slack`, every advert's send + `max_delay`, and (while a
//! partition holds) `disturb_until`. So timers fire in any order within `timer_slack`,
//! adverts arrive in any order within `max_delay` (reordered, interleaved with timers),
//! and nothing is ever skipped.

use std::fmt;

use vipd_engine::Instant;

use crate::bounds::{Bounds, PRIORITIES, RELOAD_PRIORITIES};
use crate::host::{Host, Step, View};
use crate::log::Log;

/// The number of hosts.
pub const HOSTS: usize = 3;

/// Host letters for printing: A (priority 200), B (150), C (100).
pub fn name(h: usize) -> char {
    (b'A' + h as u8) as char
}

/// One host: its inputs so far and what they made of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slot {
    pub log: Log,
    pub view: View,
}

/// An advert copy under way to one host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msg {
    pub sent: Instant,
    /// Its place among the adverts under way on its link (0: the oldest).
    pub seq: u32,
    pub from: usize,
    pub to: usize,
    pub priority: u8,
    pub bytes: Vec<u8>,
}

/// Names an advert under way (for actions and their printing).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MsgId {
    pub sent: Instant,
    pub seq: u32,
    pub from: usize,
    pub to: usize,
    pub priority: u8,
}

impl MsgId {
    fn of(m: &Msg) -> MsgId {
        MsgId {
            sent: m.sent,
            seq: m.seq,
            from: m.from,
            to: m.to,
            priority: m.priority,
        }
    }
    fn matches(&self, m: &Msg) -> bool {
        *self == MsgId::of(m)
    }
}

impl fmt::Debug for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}->{} priority {} sent {}",
            name(self.from),
            name(self.to),
            self.priority,
            self.sent
        )
    }
}

/// A disturbance of one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    CheckFails,
    CheckRecovers,
    MaintenanceOn,
    MaintenanceOff,
    Stop,
    Start,
    Reload(u8),
}

/// What happens next.
#[derive(Clone, PartialEq)]
pub enum Action {
    Timer {
        host: usize,
        at: Instant,
    },
    Deliver {
        msg: MsgId,
        at: Instant,
    },
    Late {
        msg: MsgId,
        at: Instant,
    },
    Drop {
        msg: MsgId,
        at: Instant,
    },
    Disturb {
        host: usize,
        event: Event,
        at: Instant,
    },
    Partition {
        host: usize,
        at: Instant,
    },
    Heal {
        at: Instant,
    },
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Timer { host, at } => write!(f, "{at} {}: timer", name(*host)),
            Action::Deliver { msg, at } => write!(f, "{at} deliver {msg:?}"),
            Action::Late { msg, at } => write!(f, "{at} deliver late {msg:?}"),
            Action::Drop { msg, at } => write!(f, "{at} drop {msg:?}"),
            Action::Disturb { host, event, at } => write!(f, "{at} {}: {event:?}", name(*host)),
            Action::Partition { host, at } => write!(f, "{at} partition: {} cut off", name(*host)),
            Action::Heal { at } => write!(f, "{at} partition healed"),
        }
    }
}

/// Budgets used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Used {
    pub drops: u8,
    pub lates: u8,
    pub events: u8,
    pub partitions: u8,
    pub reloads: u8,
}

/// Interesting things that happened on the way (for the `sometimes` properties).
pub mod seen {
    /// Exactly one host held the VIP.
    pub const ELECTED: u16 = 1;
    /// A host took the VIP over from one whose check had failed.
    pub const FAILOVER: u16 = 2;
    /// A planned handover ended with the successor holding the VIP.
    pub const HANDOVER: u16 = 4;
    /// Two hosts held the VIP during a partition.
    pub const SPLIT: u16 = 8;
    /// The VIP moved after a reload.
    pub const RELOAD_MOVED: u16 = 16;
    /// A stopped host was started again and took the VIP back.
    pub const RESTART_TOOK_BACK: u16 = 32;
}

/// The state of the whole model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelState {
    pub now: Instant,
    pub hosts: Vec<Slot>,
    /// Adverts under way, sorted.
    pub net: Vec<Msg>,
    /// The host cut off from the other two.
    pub partition: Option<usize>,
    pub healed_at: Option<Instant>,
    pub used: Used,
    /// The last disturbance (start-up counts as one).
    pub last_disturbance: Instant,
    /// Per pair of hosts (A-B, A-C, B-C): since when both hold the VIP.
    pub overlap: [Option<Instant>; 3],
    /// The host that most recently started holding the VIP.
    pub last_holder: Option<usize>,
    pub seen: u16,
    /// A holder told to leave for a planned reason (SIGTERM, maintenance on) whose
    /// successor does not hold the VIP yet.
    pub planned: Option<usize>,
    /// In this step, a planned handover left the VIP to nobody although a successor
    /// could take it.
    pub gap: Option<(usize, Instant)>,
    /// In this step, a host's timer fired and left its deadline at or before that
    /// instant.
    pub stuck: Option<(usize, Instant)>,
}

/// The pairs of hosts, in `ModelState::overlap`'s order.
pub const PAIRS: [(usize, usize); 3] = [(0, 1), (0, 2), (1, 2)];

impl ModelState {
    pub fn holders(&self) -> Vec<usize> {
        (0..HOSTS).filter(|&h| self.hosts[h].view.holds).collect()
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        match self.partition {
            Some(p) => (a == p) == (b == p),
            None => true,
        }
    }
}

/// The model checked: three hosts within `bounds`.
pub struct VrrpModel {
    pub bounds: Bounds,
}

impl VrrpModel {
    pub fn new(bounds: Bounds) -> VrrpModel {
        VrrpModel { bounds }
    }

    /// The latest instant an action may happen at: nothing overdue.
    fn deadline(&self, s: &ModelState) -> Instant {
        let b = &self.bounds;
        let timers = s
            .hosts
            .iter()
            .filter_map(|h| h.view.deadline)
            .map(|d| d + b.timer_slack);
        let adverts = s.net.iter().map(|m| m.sent + b.max_delay);
        let heal = s.partition.map(|_| b.disturb_until);
        timers
            .chain(adverts)
            .chain(heal)
            .min()
            .unwrap_or(b.horizon())
            .min(b.horizon())
    }

    fn disturbing(&self, s: &ModelState) -> bool {
        s.now <= self.bounds.disturb_until
    }

    /// Whether no disturbance can come any more (and no partition holds).
    pub fn quiet(&self, s: &ModelState) -> bool {
        let b = &self.bounds;
        let u = &s.used;
        let spent = u.drops >= b.drops
            && u.lates >= b.lates
            && u.events >= b.events
            && (u.partitions >= b.partitions || !b.kinds.partition);
        s.partition.is_none() && (spent || s.now > b.disturb_until)
    }

    /// The events host `h` can be disturbed with now.
    fn events(&self, h: usize, v: &View) -> Vec<Event> {
        let k = &self.bounds.kinds;
        let mut out = Vec::new();
        if k.checks {
            out.push(if v.check_up {
                Event::CheckFails
            } else {
                Event::CheckRecovers
            });
        }
        if k.maintenance && v.running {
            out.push(if v.maintenance {
                Event::MaintenanceOff
            } else {
                Event::MaintenanceOn
            });
        }
        // One SIGTERM per stop: a second one exits without waiting for the VIP
        // removals, leaving the VIPs to the next start by design (`vipd_node::stop`).
        let stopping = v.state == Some(vipd_engine::State::Stopped);
        if k.stop_start && !stopping {
            out.push(if v.running { Event::Stop } else { Event::Start });
        }
        if k.reload && v.running {
            out.push(Event::Reload(Self::reload_priority(h, v.priority)));
        }
        out
    }

    /// The priority a reload of host `h` switches to.
    fn reload_priority(h: usize, current: u8) -> u8 {
        if current == PRIORITIES[h] {
            RELOAD_PRIORITIES[h]
        } else {
            PRIORITIES[h]
        }
    }

    /// `s` after host `h` was given `step` at `at`.
    fn host_step(&self, s: &ModelState, h: usize, at: Instant, step: Step) -> ModelState {
        let mut next = s.clone();
        next.now = at;
        let log = s.hosts[h].log.push(at, step);
        let (host, sent) = Host::replay(h, PRIORITIES[h], self.bounds.interval, &log.to_vec());
        let view = host.view();
        for advert in sent {
            for to in (0..HOSTS).filter(|&to| to != h) {
                if next.connected(h, to) && s.hosts[to].view.running {
                    let seq = next
                        .net
                        .iter()
                        .filter(|o| o.from == h && o.to == to)
                        .map(|o| o.seq + 1)
                        .max()
                        .unwrap_or(0);
                    next.net.push(Msg {
                        sent: at,
                        seq,
                        from: h,
                        to,
                        priority: advert.priority,
                        bytes: advert.bytes.clone(),
                    });
                }
            }
        }
        next.net.sort();
        let before = s.hosts[h].view;
        next.hosts[h] = Slot { log, view };
        self.after(&mut next, h, &before);
        next
    }

    /// What the properties remember after host `h` changed from `before`.
    fn after(&self, s: &mut ModelState, h: usize, before: &View) {
        let now = s.now;
        let holders = s.holders();
        for (i, (a, b)) in PAIRS.iter().enumerate() {
            let both = s.hosts[*a].view.holds && s.hosts[*b].view.holds;
            s.overlap[i] = if both {
                s.overlap[i].or(Some(now))
            } else {
                None
            };
        }
        let view = s.hosts[h].view;
        if holders.len() == 1 {
            s.seen |= seen::ELECTED;
        }
        if holders.len() >= 2 && s.partition.is_some() {
            s.seen |= seen::SPLIT;
        }
        if let Some(p) = s.planned {
            if holders.iter().any(|o| *o != p) {
                // The successor holds it: the handover is done.
                s.planned = None;
                s.seen |= seen::HANDOVER;
            } else if !s.hosts[p].view.holds {
                s.planned = None;
                // Nobody holds it. Fine only if nobody could have taken over: every
                // other host stopped, in maintenance, or cut off.
                let successor = (0..HOSTS).any(|o| {
                    let v = &s.hosts[o].view;
                    o != p
                        && s.connected(o, p)
                        && v.running
                        && !v.maintenance
                        && matches!(
                            v.state,
                            Some(vipd_engine::State::Backup | vipd_engine::State::Master)
                        )
                });
                if successor {
                    s.gap.get_or_insert((p, now));
                }
            }
        }
        if !before.holds && view.holds {
            if let Some(prev) = s.last_holder.filter(|p| *p != h) {
                if !s.hosts[prev].view.check_up {
                    s.seen |= seen::FAILOVER;
                }
                if s.used.reloads > 0 {
                    s.seen |= seen::RELOAD_MOVED;
                }
            }
            if s.hosts[h]
                .log
                .to_vec()
                .iter()
                .filter(|(_, st)| *st == Step::Start)
                .count()
                > 1
            {
                s.seen |= seen::RESTART_TOOK_BACK;
            }
            s.last_holder = Some(h);
        }
    }

    fn msg(s: &ModelState, id: &MsgId) -> Option<usize> {
        s.net.iter().position(|m| id.matches(m))
    }
}

impl stateright::Model for VrrpModel {
    type State = ModelState;
    type Action = Action;

    fn init_states(&self) -> Vec<ModelState> {
        // Every host starts vipd at 0.
        let empty = ModelState {
            now: Instant::ZERO,
            hosts: (0..HOSTS)
                .map(|h| {
                    let (host, _) = Host::replay(h, PRIORITIES[h], self.bounds.interval, &[]);
                    Slot {
                        log: Log::default(),
                        view: host.view(),
                    }
                })
                .collect(),
            net: Vec::new(),
            partition: None,
            healed_at: None,
            used: Used::default(),
            last_disturbance: Instant::ZERO,
            overlap: [None; 3],
            last_holder: None,
            seen: 0,
            planned: None,
            gap: None,
            stuck: None,
        };
        let mut s = empty;
        for h in 0..HOSTS {
            // Running hosts hear each other from the start.
            s.hosts[h].view.running = true;
        }
        let mut out = s.clone();
        for h in 0..HOSTS {
            out = self.host_step(&out, h, Instant::ZERO, Step::Start);
        }
        vec![out]
    }

    fn actions(&self, s: &ModelState, actions: &mut Vec<Action>) {
        let b = &self.bounds;
        let latest = self.deadline(s);
        if s.now > latest {
            return;
        }
        for (h, slot) in s.hosts.iter().enumerate() {
            if let Some(d) = slot.view.deadline {
                let at = d.max(s.now);
                if at <= latest {
                    actions.push(Action::Timer { host: h, at });
                }
            }
        }
        let disturbing = self.disturbing(s);
        for m in &s.net {
            let msg = MsgId::of(m);
            // In order on each link unless reordering is asked for: only the oldest
            // advert from `from` to `to` can arrive (or be lost, or be late).
            let overtakes = s
                .net
                .iter()
                .any(|o| o.from == m.from && o.to == m.to && o.seq < m.seq);
            if overtakes && !b.reorder_link {
                continue;
            }
            actions.push(Action::Deliver { msg, at: s.now });
            if disturbing && s.used.lates < b.lates {
                let at = m.sent + b.max_delay;
                if at > s.now && at <= latest {
                    actions.push(Action::Late { msg, at });
                }
            }
            if disturbing && s.used.drops < b.drops {
                actions.push(Action::Drop { msg, at: s.now });
            }
        }
        if disturbing && s.used.events < b.events {
            for (h, slot) in s.hosts.iter().enumerate() {
                for event in self.events(h, &slot.view) {
                    actions.push(Action::Disturb {
                        host: h,
                        event,
                        at: s.now,
                    });
                }
            }
        }
        if b.kinds.partition {
            match s.partition {
                None if disturbing && s.used.partitions < b.partitions => {
                    for h in 0..HOSTS {
                        actions.push(Action::Partition { host: h, at: s.now });
                    }
                }
                Some(_) => actions.push(Action::Heal { at: s.now }),
                None => {}
            }
        }
    }

    fn next_state(&self, s: &ModelState, action: Action) -> Option<ModelState> {
        // A gap and a stuck timer are events of one step: only the state they
        // happened in breaks the property, so a counterexample ends where it happened.
        let mut cleared;
        let s = if s.gap.is_some() || s.stuck.is_some() {
            cleared = s.clone();
            cleared.gap = None;
            cleared.stuck = None;
            &cleared
        } else {
            s
        };
        match action {
            Action::Timer { host, at } => {
                let mut next = self.host_step(s, host, at, Step::Timeout);
                if next.hosts[host].view.deadline.is_some_and(|d| d <= at) {
                    next.stuck.get_or_insert((host, at));
                }
                Some(next)
            }
            Action::Deliver { msg, at } | Action::Late { msg, at } => {
                let i = Self::msg(s, &msg)?;
                let mut base = s.clone();
                let m = base.net.remove(i);
                if matches!(action, Action::Late { .. }) {
                    base.used.lates += 1;
                    base.last_disturbance = at;
                }
                if !base.hosts[m.to].view.running {
                    base.now = at;
                    return Some(base);
                }
                Some(self.host_step(
                    &base,
                    m.to,
                    at,
                    Step::Datagram {
                        from: m.from,
                        bytes: m.bytes,
                    },
                ))
            }
            Action::Drop { msg, at } => {
                let i = Self::msg(s, &msg)?;
                let mut next = s.clone();
                next.net.remove(i);
                next.used.drops += 1;
                next.last_disturbance = at;
                Some(next)
            }
            Action::Disturb { host, event, at } => {
                let mut base = s.clone();
                if matches!(event, Event::Stop | Event::MaintenanceOn) && s.hosts[host].view.holds {
                    base.planned = Some(host);
                }
                base.used.events += 1;
                base.last_disturbance = at;
                let step = match event {
                    Event::CheckFails => Step::Check(false),
                    Event::CheckRecovers => Step::Check(true),
                    Event::MaintenanceOn => Step::Maintenance(true),
                    Event::MaintenanceOff => Step::Maintenance(false),
                    Event::Stop => Step::Stop,
                    Event::Start => Step::Start,
                    Event::Reload(priority) => {
                        base.used.reloads += 1;
                        Step::Reload(priority)
                    }
                };
                Some(self.host_step(&base, host, at, step))
            }
            Action::Partition { host, at } => {
                let mut next = s.clone();
                next.now = at;
                next.partition = Some(host);
                next.used.partitions += 1;
                next.last_disturbance = at;
                // What is on the wire across the cut is lost with it.
                next.net.retain(|m| (m.from == host) == (m.to == host));
                Some(next)
            }
            Action::Heal { at } => {
                let mut next = s.clone();
                next.now = at;
                next.partition = None;
                next.healed_at = Some(at);
                next.last_disturbance = at;
                Some(next)
            }
        }
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        crate::props::properties(&self.bounds)
    }

    fn within_boundary(&self, s: &ModelState) -> bool {
        s.now <= self.bounds.horizon()
    }
}
