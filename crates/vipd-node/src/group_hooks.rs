//! The node's side of sync groups' notify hooks ([`crate::group_notify`]): each group's
//! state read from its members after every event, and its hooks queued when it changed.

use vipd_engine::{Instant, State};

use crate::config::GroupConfig;
use crate::io::Level;
use crate::node::Node;
use crate::notify::{runs, HookOwner, HookState, Transition};

impl Node {
    /// A member's state for its group: Initialize while it has no router.
    fn member_state(&self, name: &str) -> State {
        self.instances
            .current()
            .find(|i| i.cfg.name == name)
            .and_then(|i| i.router())
            .map_or(State::Initialize, |r| r.state())
    }

    /// The group's state from its members' (module docs).
    fn group_state(&self, group: &GroupConfig) -> State {
        let states = || group.instances.iter().map(|m| self.member_state(m));
        let all = |s: State| states().all(|x| x == s);
        if states().any(|x| x == State::Fault) {
            State::Fault
        } else if all(State::Master) {
            State::Master
        } else if all(State::Stopped) {
            State::Stopped
        } else if all(State::Initialize) {
            State::Initialize
        } else {
            State::Backup
        }
    }

    /// Reads every group's state and queues the hooks of those that changed. Called
    /// after every event (and at stop, once every member has been told to leave), so
    /// it allocates nothing unless a group changed state.
    pub(crate) fn notify_groups(&mut self, now: Instant) {
        // A group a reload removed is forgotten (a group it adds starts from Initialize).
        self.group_states.keep_only(&self.config.groups);
        let changed: Vec<(GroupConfig, State, State)> = self
            .config
            .groups
            .iter()
            .filter_map(|group| {
                let to = self.group_state(group);
                let from = self.group_states.last(&group.name);
                (from != to).then(|| (group.clone(), from, to))
            })
            .collect();
        for (group, from, to) in changed {
            self.group_states.set(&group.name, to);
            let reason = self.group_states.take_cause(&group);
            self.note(
                Level::Info,
                None,
                format!(
                    "sync group {}: {} -> {} ({})",
                    group.name,
                    from.as_str(),
                    to.as_str(),
                    reason.as_str()
                ),
            );
            let Some(state) = HookState::of(to) else {
                continue;
            };
            if group.notify.hooks_for(state).is_empty() {
                continue;
            }
            let vips = group
                .instances
                .iter()
                .filter_map(|m| self.config.instances.iter().find(|i| &i.name == m))
                .flat_map(|i| i.vips.iter().cloned())
                .collect();
            let t = Transition {
                from,
                to,
                reason,
                priority: 0,
                vips,
                members: group.instances.clone(),
                handover: false,
            };
            let owner = HookOwner::Group(group.name.clone());
            let runs = runs(&owner, &group.notify, state, &t);
            self.queue_hooks(now, owner, runs, state == HookState::Stop);
        }
    }
}
