//! The node's side of what it tells its service manager ([`crate::service`]): after
//! every event, readiness, stopping and the one-line status, made from the instances and
//! checks.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use vipd_engine::State;

use crate::io::{Command, ServiceNote};
use crate::node::Node;
use crate::service::{setting_up, Kind};

impl Node {
    /// After every event: readiness, stopping, the status line.
    pub(crate) fn service_progress(&mut self, kind: Kind) {
        if kind == Kind::Stop && self.service.stop() {
            self.push(Command::Service(ServiceNote::Stopping));
        }
        if self.service.stopping() {
            return;
        }
        if kind == Kind::Reload && self.service.ready() {
            // The reload was applied (or refused) within this event.
            self.push(Command::Service(ServiceNote::Ready));
        }
        if !self.service.ready() && self.set_up() {
            self.service.set_ready();
            self.push(Command::Service(ServiceNote::Ready));
        }
        let digest = self.status_digest();
        if self.service.digest_changed(digest) {
            let line = self.status_line();
            self.push(Command::Service(ServiceNote::Status(line)));
        }
    }

    /// Whether every instance runs its router or waits for a reason of its own (an
    /// interface that is missing, no address).
    fn set_up(&self) -> bool {
        self.instances
            .current()
            .all(|i| i.router().is_some() || i.waiting().is_some_and(|w| !setting_up(w)))
    }

    fn status_digest(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for inst in self.instances.current() {
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
        for (n, inst) in self.instances.current().enumerate() {
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
