//! What the checker explores: the hosts' priorities, the network's and the timers'
//! bounds, which disturbances happen and how many — and the time bounds the properties
//! derive from them.

use std::time::Duration;

use vipd_engine::{Instant, Version};

/// Host `h`'s priority, and the one a reload switches it to (and back).
pub const PRIORITIES: [u8; 3] = [200, 150, 100];
pub const RELOAD_PRIORITIES: [u8; 3] = [120, 250, 210];

/// The kinds of disturbance a run may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kinds {
    /// The tracked service dies or comes back on a host.
    pub checks: bool,
    /// `vipctl maintenance on|off` on a host.
    pub maintenance: bool,
    /// SIGTERM (a planned stop, make-before-break), and vipd started again.
    pub stop_start: bool,
    /// SIGHUP with the host's priority changed.
    pub reload: bool,
    /// One host cut off from the other two, then healed.
    pub partition: bool,
}

impl Kinds {
    pub const ALL: Kinds = Kinds {
        checks: true,
        maintenance: true,
        stop_start: true,
        reload: true,
        partition: true,
    };
}

/// The bounds of one run of the checker.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Advertisement_Interval of every host.
    pub interval: Duration,
    /// The longest an advert is under way (a delivery happens at any event instant
    /// up to this long after the send).
    pub max_delay: Duration,
    /// How late a timer may fire after its deadline while other events happen first.
    pub timer_slack: Duration,
    /// Whether one host's adverts to another may overtake each other. Off: each link
    /// delivers in order (one queue on a LAN); adverts of different senders, and
    /// deliveries and timers, interleave in every order either way.
    pub reorder_link: bool,
    /// Adverts lost (each copy to one host counts).
    pub drops: u8,
    /// Adverts delivered as late as `max_delay` allows, jumping the clock.
    pub lates: u8,
    /// Disturbances of `kinds` (checks, maintenance, stops and starts, reloads).
    pub events: u8,
    /// Partitions (each healed before `disturb_until`).
    pub partitions: u8,
    pub kinds: Kinds,
    /// Disturbances (drops, lates, events, partitions) only up to this instant.
    pub disturb_until: Instant,
}

impl Bounds {
    /// No disturbance at all: start-up only.
    pub fn quiet() -> Bounds {
        Bounds {
            interval: Duration::from_secs(1),
            max_delay: Duration::from_millis(20),
            timer_slack: Duration::ZERO,
            reorder_link: false,
            drops: 0,
            lates: 0,
            events: 0,
            partitions: 0,
            kinds: Kinds::default(),
            disturb_until: Instant::ZERO + Duration::from_secs(6),
        }
    }

    pub fn interval_cs(&self) -> u16 {
        u16::try_from(self.interval.as_millis() / 10).unwrap_or(u16::MAX)
    }

    /// RFC 5798 §6.1 Master_Down_Interval at `priority` and our interval.
    pub fn master_down(&self, priority: u8) -> Duration {
        vipd_engine::timers::master_down_interval(Version::V3, priority, self.interval_cs())
    }

    /// How long two holders may overlap when one takes over from the other outside
    /// a planned handover (a preempting backup, a start-up race): the new master's
    /// first advert, sent as its VIPs are confirmed, reaches the old one within
    /// `max_delay` (a timer `timer_slack` late); each lost advert costs one interval.
    pub fn takeover_overlap(&self, drops_used: u8) -> Duration {
        self.max_delay + self.timer_slack + self.interval * u32::from(drops_used)
    }

    /// How long two holders may remain after a partition heals: the next advert of
    /// either (an interval), under way `max_delay`; lost adverts as above.
    pub fn heal_overlap(&self, drops_used: u8) -> Duration {
        self.interval + self.takeover_overlap(drops_used)
    }

    /// How long after the last disturbance the right host is the only holder: the
    /// longest wait of a backup that must take over (Master_Down_Interval at priority
    /// 1: after a start, maintenance off, a check back or a reload that raises it),
    /// then its first advert to the old holder, plus one interval of margin for the
    /// old master's next advert.
    pub fn settle(&self) -> Duration {
        self.master_down(1) + self.interval + self.max_delay * 2 + self.timer_slack
    }

    /// The end of the explored time: `disturb_until`, then `settle` and an interval to
    /// see the settled state hold.
    pub fn horizon(&self) -> Instant {
        self.disturb_until + self.settle() + self.interval
    }
}
