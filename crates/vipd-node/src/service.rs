//! What the node tells its service manager (systemd's readiness protocol,
//! sd_notify(3); the shell sends it only where there is one): ready once every
//! instance has started or knows why it cannot, ready again after a reload, stopping,
//! and a one-line status kept current ("web master, api backup; 2 checks up").
//!
//! The node decides what to say and when; the shell only carries it.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use vipd_engine::State;

pub use crate::io::ServiceNote;
use crate::io::{Command, Event};
use crate::node::Node;

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
fn setting_up(why: &str) -> bool {
    why == crate::instance::NOT_SET_UP || why == crate::setup::OPENING
}

impl Node {
    /// After every event: readiness, stopping, the status line.
    pub(crate) fn service_progress(&mut self, kind: Kind) {
        if kind == Kind::Stop && !self.service.stopping {
            self.service.stopping = true;
            self.push(Command::Service(ServiceNote::Stopping));
        }
        if self.service.stopping {
            return;
        }
        if kind == Kind::Reload && self.service.ready {
            // The reload was applied (or refused) within this event.
            self.push(Command::Service(ServiceNote::Ready));
        }
        if !self.service.ready && self.set_up() {
            self.service.ready = true;
            self.push(Command::Service(ServiceNote::Ready));
        }
        let digest = self.status_digest();
        if self.service.digest != Some(digest) {
            self.service.digest = Some(digest);
            let line = self.status_line();
            self.push(Command::Service(ServiceNote::Status(line)));
        }
    }

    /// Whether every instance runs its router or waits for a reason of its own (an
    /// interface that is missing, no address).
    fn set_up(&self) -> bool {
        self.instances
            .iter()
            .all(|i| i.router().is_some() || i.waiting().is_some_and(|w| !setting_up(w)))
    }

    fn status_digest(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for inst in &self.instances {
            inst.router().map(|r| r.state()).hash(&mut h);
            inst.waiting().hash(&mut h);
            self.maintenance.contains(&inst.cfg.name).hash(&mut h);
        }
        for st in self.checks.states.values() {
            st.up.hash(&mut h);
        }
        h.finish()
    }

    /// "web master, api backup (maintenance), db waiting; 2 checks up, 1 down".
    pub(crate) fn status_line(&self) -> String {
        let mut line = String::new();
        for (n, inst) in self.instances.iter().enumerate() {
            if n > 0 {
                line.push_str(", ");
            }
            let state = match inst.router().map(|r| r.state()) {
                Some(State::Initialize) | None => "waiting",
                Some(State::Backup) => "backup",
                Some(State::Master) => "master",
                Some(State::Fault) => "fault",
                Some(State::Stopped) => "stopped",
            };
            let _ = write!(line, "{} {state}", inst.cfg.name);
            if self.maintenance.contains(&inst.cfg.name) {
                line.push_str(" (maintenance)");
            }
        }
        if self.instances.is_empty() {
            line.push_str("no instances");
        }
        let total = self.checks.states.len();
        if total > 0 {
            let up = self.checks.states.values().filter(|s| s.up).count();
            let _ = write!(line, "; {up} check{} up", if up == 1 { "" } else { "s" });
            if up < total {
                let _ = write!(line, ", {} down", total - up);
            }
        }
        line
    }
}
