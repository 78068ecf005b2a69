//! What authentication keeps across restarts, and the sequence numbers of this node's
//! adverts (see [`crate::auth`] for the trailer and its checks).
//!
//! - **Sending**: one counter for every instance with `auth`. A run starts at the
//!   higher of the wall clock ([`crate::HostInfo::started_unix_ns`], only a floor) and
//!   the reservation the last run kept ([`AuthState::next_seq`]); before it signs
//!   anything it asks the shell to keep a new reservation [`RESERVE`] numbers ahead,
//!   and again whenever less than half of that is left. So a restart starts above every
//!   number sent before, whatever the wall clock says (an hour behind after a restore,
//!   before NTP).
//! - **Receiving**: the last number accepted from each source, per instance, is kept
//!   too (at most once per [`SAVE_EVERY`], and on the way out): a restarted node does not
//!   take a recorded advert for new. After a crash, adverts of at most the last
//!   [`SAVE_EVERY`] can be replayed once each.
//! - **Re-sync** (a peer's numbers went back — state restored from a snapshot with the
//!   clock behind): receivers never take a lower number (an attacker replaying recorded
//!   adverts could not be told from it). The sender recovers instead: a master that
//!   keeps hearing an authenticated advert from a router it outranks for longer than
//!   Master_Down_Interval is not being heard, and moves its numbers ahead by
//!   [`FIRST_JUMP`] (about 73 minutes of wall-clock nanoseconds), four times further at
//!   each following jump, at most [`MAX_JUMPS`] times a run (the last is ~2.3 years).
//!
//! The node decides what to keep; the shell writes it ([`crate::Command::SaveAuth`]) off
//! its loop and gives it back at the next start ([`crate::HostInfo::auth`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vipd_engine::Instant;

/// Sequence numbers reserved ahead of the one in use.
pub const RESERVE: u64 = 1 << 20;
/// The least time between two saves of the accepted numbers.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);
/// The first jump of the sequence numbers when a peer does not hear us: 2^42 ns, about
/// 73 minutes of the wall clock the numbers start from.
pub const FIRST_JUMP: u64 = 1 << 42;
/// Jumps per run (each four times the one before: the eighth is 2^56 ns, 2.3 years).
pub const MAX_JUMPS: u32 = 8;

/// What authentication keeps under the state directory (`auth.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthState {
    /// Every sequence number sent so far is below this one: the next run starts here at
    /// least.
    pub next_seq: u64,
    /// Per instance, the last sequence number accepted from each source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accepted: BTreeMap<String, BTreeMap<IpAddr, u64>>,
}

/// This node's sequence numbers and the pacing of its saves.
#[derive(Debug)]
pub(crate) struct AuthKeeper {
    /// The next number to sign with.
    next: u64,
    /// The reservation last asked to be kept.
    reserved: u64,
    /// Jumps made this run.
    jumps: u32,
    /// Accepted numbers changed since the last save.
    dirty: bool,
    /// When the last save was asked for.
    saved_at: Option<Instant>,
    /// A save is to be asked for at the end of this event.
    due: bool,
}

impl AuthKeeper {
    /// A run that starts with the wall clock at `floor` (ns since the Unix epoch) and
    /// the state the last one kept.
    pub(crate) fn new(floor: u64, kept: &AuthState) -> AuthKeeper {
        let next = floor.max(kept.next_seq);
        AuthKeeper {
            next,
            reserved: next,
            jumps: 0,
            dirty: false,
            saved_at: None,
            due: false,
        }
    }

    /// The number to sign the next advert with.
    pub(crate) fn take(&mut self) -> u64 {
        let seq = self.next;
        self.next = self.next.saturating_add(1);
        if self.next.saturating_add(RESERVE / 2) >= self.reserved {
            self.due = true;
        }
        seq
    }

    /// When the last save was asked for.
    pub(crate) fn last_save(&self) -> Option<Instant> {
        self.saved_at
    }

    /// The next number.
    #[cfg(test)]
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// A save is needed before any number is signed (at start).
    pub(crate) fn reserve_now(&mut self) {
        self.due = true;
    }

    /// An accepted number changed.
    pub(crate) fn accepted(&mut self) {
        self.dirty = true;
    }

    /// Moves the numbers ahead (a peer does not hear us); the jump's size, or none
    /// once this run made [`MAX_JUMPS`].
    pub(crate) fn jump(&mut self) -> Option<u64> {
        if self.jumps >= MAX_JUMPS {
            return None;
        }
        let size = FIRST_JUMP << (2 * self.jumps);
        self.jumps += 1;
        self.next = self.next.saturating_add(size);
        self.due = true;
        Some(size)
    }

    /// When the accepted numbers are next to be saved, if they changed.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(self.saved_at.map_or(Instant::ZERO, |t| t + SAVE_EVERY))
    }

    /// Whether a save is due at `now` (`force`: on the way out, if anything changed);
    /// if so the reservation it will carry is taken from here on.
    pub(crate) fn save_due(&mut self, now: Instant, force: bool) -> Option<u64> {
        let pacing = self.next_due().is_some_and(|t| t <= now || force);
        if !(self.due || pacing) {
            return None;
        }
        self.due = false;
        self.dirty = false;
        self.saved_at = Some(now);
        self.reserved = self.reserved.max(self.next.saturating_add(RESERVE));
        Some(self.reserved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_starts_above_what_was_kept_whatever_the_clock_says() {
        let kept = AuthState {
            next_seq: 5_000,
            accepted: BTreeMap::new(),
        };
        // The clock an hour behind the numbers kept: they win.
        let mut k = AuthKeeper::new(1_000, &kept);
        assert_eq!(k.next(), 5_000);
        k.reserve_now();
        assert_eq!(k.save_due(Instant::ZERO, false), Some(5_000 + RESERVE));
        assert_eq!(k.take(), 5_000);
        assert_eq!(k.save_due(Instant::ZERO, false), None);
        // The clock ahead: it wins.
        assert_eq!(AuthKeeper::new(9_000, &kept).next(), 9_000);
    }

    #[test]
    fn the_reservation_is_renewed_with_half_of_it_left() {
        let mut k = AuthKeeper::new(0, &AuthState::default());
        k.reserve_now();
        assert_eq!(k.save_due(Instant::ZERO, false), Some(RESERVE));
        for _ in 0..RESERVE / 2 - 1 {
            k.take();
        }
        assert_eq!(k.save_due(Instant::ZERO, false), None);
        k.take();
        assert_eq!(
            k.save_due(Instant::ZERO, false),
            Some(RESERVE / 2 + RESERVE)
        );
    }

    #[test]
    fn accepted_numbers_are_saved_at_most_once_a_second_and_on_the_way_out() {
        let t = |ms: u64| Instant::from_nanos(ms * 1_000_000);
        let mut k = AuthKeeper::new(0, &AuthState::default());
        assert_eq!(k.next_due(), None);
        k.accepted();
        assert_eq!(k.save_due(t(10), false), Some(RESERVE));
        k.accepted();
        assert_eq!(k.next_due(), Some(t(1010)));
        assert_eq!(k.save_due(t(500), false), None);
        assert!(k.save_due(t(1010), false).is_some());
        k.accepted();
        assert!(k.save_due(t(1020), true).is_some());
        assert_eq!(k.save_due(t(1030), true), None, "nothing changed");
    }

    #[test]
    fn jumps_grow_fourfold_and_are_bounded() {
        let mut k = AuthKeeper::new(0, &AuthState::default());
        let sizes: Vec<u64> = std::iter::from_fn(|| k.jump()).collect();
        assert_eq!(sizes.len(), MAX_JUMPS as usize);
        assert_eq!(sizes[0], 1 << 42);
        assert_eq!(sizes[7], 1 << 56);
        assert_eq!(k.next(), sizes.iter().sum::<u64>());
    }

    #[test]
    fn the_state_reads_back_with_addresses_as_keys() {
        let state = AuthState {
            next_seq: 7,
            accepted: [(
                "web".to_string(),
                [("192.0.2.11".parse().expect("addr"), 42u64)]
                    .into_iter()
                    .collect(),
            )]
            .into_iter()
            .collect(),
        };
        let text = serde_json::to_string(&state).expect("encode");
        assert_eq!(
            text,
            r#"{"next_seq":7,"accepted":{"web":{"192.0.2.11":42}}}"#
        );
        assert_eq!(
            serde_json::from_str::<AuthState>(&text).expect("decode"),
            state
        );
    }
}
