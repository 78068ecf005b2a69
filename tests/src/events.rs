//! Lines of `ip monitor address` (see [`crate::Host::address_events`]): which address
//! each adds or deletes.

use crate::proc::Line;

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
