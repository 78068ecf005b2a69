//! Lines of `ip monitor address` (see [`crate::Host::address_events`]): which address
//! each adds or deletes.

use std::time::Duration;

use crate::proc::{Line, Monitor};

/// Whether `l` is about `addr` (without prefix length), added or deleted.
pub fn mentions(l: &Line, addr: &str) -> bool {
    l.text.contains(&format!(" {addr}/"))
}

/// An `ip monitor address` line deleting `addr`.
pub fn is_deletion(l: &Line, addr: &str) -> bool {
    l.text.starts_with("Deleted") && mentions(l, addr)
}

/// An `ip monitor address` line adding `addr`.
pub fn is_addition(l: &Line, addr: &str) -> bool {
    !l.text.starts_with("Deleted") && mentions(l, addr)
}

/// The lines with their times, for assertion messages.
pub fn texts(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("{:.6} {}", l.t, l.text))
        .collect()
}

/// The lines `events` has shown so far about `addr`.
pub fn about(events: &Monitor, addr: &str) -> Vec<Line> {
    events
        .lines()
        .into_iter()
        .filter(|l| mentions(l, addr))
        .collect()
}

/// Waits up to `timeout` for `events` to show `addr` added at or after `since` (epoch
/// seconds); the line if it does.
pub fn wait_added(events: &Monitor, addr: &str, since: f64, timeout: Duration) -> Option<Line> {
    events.wait_for(timeout, |l| l.t >= since && is_addition(l, addr))
}

/// Waits up to `timeout` for `events` to show `addr` deleted at or after `since`.
pub fn wait_deleted(events: &Monitor, addr: &str, since: f64, timeout: Duration) -> Option<Line> {
    events.wait_for(timeout, |l| l.t >= since && is_deletion(l, addr))
}
