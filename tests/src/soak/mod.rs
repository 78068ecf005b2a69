//! The machinery of the seeded chaos soak (`tests/soak.rs`): three vipd routers a, b and
//! c float [`VIP4_CIDR`] (instance web, VRID 51) while a [`Chaos`] driver disrupts them
//! and a [`Checker`] samples them every [`SAMPLE_EVERY`].
//!
//! Layout: [`rng`] (the seed and what is drawn from vipd-sim's `SplitMix64`), [`chaos`]
//! (the actions, their undoing and the sampling), [`checker`] (the invariants and the
//! episodes in which they failed), [`report`] (the summary and the report of what went
//! wrong).

use std::time::Duration;

use crate::configs::web_config;
pub use crate::VIP4_CIDR;

pub mod chaos;
pub mod checker;
pub mod report;
pub mod rng;

pub use chaos::{Chaos, Kind, KINDS};
pub use checker::{settled_roles, Checker, Episode, View};
pub use report::{daemon_problems, Run};
pub use rng::{seed, Draw};

/// The seed when `VIPD_SOAK_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x5EED_0051;
/// After any action, and the longest a mismatch between kernel and vipd may last.
///
/// Justification: the slowest thing VRRP itself does here is b's Master_Down_Interval
/// (3 × 200 ms + 106 ms skew ≈ 706 ms, c's ≈ 722 ms) before a backup takes over; a
/// higher-priority master that returns is obeyed at the next advert (≤ 200 ms). 1.5 s
/// is twice the former, for a loaded two-core machine.
pub const GRACE: Duration = Duration::from_millis(1500);
/// The longest the client may go without a reply to its 5 ms pings, anywhere in the run.
///
/// Justification, from what the chaos does: the client loses the VIP only when its
/// holder loses its cable (a killed or stopped holder keeps the VIP in its kernel, which
/// goes on answering until a backup takes over and announces itself; a terminated one
/// hands over at Skew_Time with priority 0; a VIP deleted by hand is back within
/// milliseconds; isolation keeps every router reachable from the client, and a healed
/// split brain is re-announced at once). Then a backup takes over when its
/// Master_Down_Timer runs out, counted from the holder's last advert, which came before
/// the cable was pulled: at most c's Master_Down_Interval, 3 × 200 ms + 156 × 200 / 256
/// ms = 721.875 ms (c takes over when b is down too; [`MAX_DOWN`] leaves at least one
/// router up). No second action stretches that: actions come at least 0.8 s apart,
/// longer than the takeover; a backup that is down leaves the takeover to the other;
/// a restarted vipd starts as backup, and one that removes a crashed holder's leftover
/// VIP at start does so no sooner than 0.5 s after the crash, well inside the takeover.
/// Plus 250 ms for adding the VIP, the announcement and a loaded two-core machine, as
/// the failover tests allow.
pub const LONGEST_OUTAGE: Duration = Duration::from_micros(721_875 + 250_000);
/// How often the routers are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How long one status query may take while sampling.
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(500);
/// At most this many routers are down at once.
pub const MAX_DOWN: usize = 2;

/// A router's configuration: [`web_config`] for [`VIP4_CIDR`] at `priority`.
pub fn config(priority: u8) -> String {
    web_config(priority, VIP4_CIDR)
}
