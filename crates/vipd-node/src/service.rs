//! What the node tells its service manager (systemd's readiness protocol,
//! sd_notify(3); the shell sends it only where there is one): ready once every
//! instance has started or knows why it cannot, ready again after a reload, stopping,
//! and a one-line status kept current ("web master, api backup; 2 checks up").
//!
//! The node decides what to say and when; the shell only carries it. This is what was
//! told; `readiness` is the node's side (what is said after every event).

use crate::io::Event;
pub use crate::io::ServiceNote;

/// What the node has told so far.
#[derive(Debug, Default)]
pub(crate) struct Service {
    ready: bool,
    stopping: bool,
    /// A digest of what the newest status line was made from: the line is only made
    /// again when that changes (this runs after every event, packets included).
    digest: Option<u64>,
}

/// Events that change what the service manager is told, beside the states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Reload,
    Stop,
    Other,
}

impl Kind {
    pub(crate) fn of(event: &Event) -> Kind {
        match event {
            Event::Reload(_) => Kind::Reload,
            Event::Stop => Kind::Stop,
            _ => Kind::Other,
        }
    }
}

/// Why an instance waits while it is still being set up (not a reason to wait for).
pub(crate) fn setting_up(why: &str) -> bool {
    why == crate::instance::NOT_SET_UP || why == crate::instance::OPENING
}

impl Service {
    /// The node stops: true the first time (the manager is told once).
    pub(crate) fn stop(&mut self) -> bool {
        !std::mem::replace(&mut self.stopping, true)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping
    }

    pub(crate) fn ready(&self) -> bool {
        self.ready
    }

    pub(crate) fn set_ready(&mut self) {
        self.ready = true;
    }

    /// The status line's inputs have digest `digest`: true if that changed (the line is
    /// to be made and told again).
    pub(crate) fn digest_changed(&mut self, digest: u64) -> bool {
        let changed = self.digest != Some(digest);
        self.digest = Some(digest);
        changed
    }
}
