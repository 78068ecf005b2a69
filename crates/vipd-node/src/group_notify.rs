//! A sync group's own state and its notify hooks (`groups[].notify`), keepalived's
//! `vrrp_sync_group` `notify_master` / `notify_backup` / `notify_fault` / `notify_stop`
//! / `notify`.
//!
//! The group's state is read from its members after every event
//! (`Node::notify_groups`), and the group's hooks run when it changes:
//! - **Fault** while any member is in Fault (keepalived counts the members in fault; one
//!   is enough to put the group in fault, and it leaves fault when the last clears);
//! - else **Master** when every member is Master;
//! - else **Stopped** when every member has stopped (the node stops);
//! - else **Initialize** while no member has started (no hook runs, as for an instance);
//! - else **Backup**: the group has left (or not yet reached) Master.
//!
//! So a handover runs the group's `master` hook once, when its last member becomes
//! master, not once per member; and a group that loses one member to a fault runs
//! `fault` once, however many of its members follow into Backup.
//!
//! The runs go through the same per-owner FIFO as an instance's ([`crate::notify`]),
//! in a queue of the group's own (`HookOwner::Group`): a group's hooks never wait for its
//! members' and its members' never wait for the group's. Their environment names the
//! group (`VIPD_GROUP`), its members (`VIPD_INSTANCES`) and all their VIPs; in keepalived's
//! positional form the arguments are `GROUP NAME STATE 0` (keepalived passes priority 0
//! to group scripts).

use std::collections::BTreeMap;

use vipd_engine::{Instant, Reason, State};

use crate::config::GroupConfig;
use crate::io::Level;
use crate::node::Node;
use crate::notify::{runs, HookOwner, HookState, Transition};

/// What the node remembers of its groups between events.
#[derive(Debug, Default)]
pub(crate) struct GroupStates {
    /// Each group's state as its hooks last heard it (absent: Initialize).
    states: BTreeMap<String, State>,
    /// Grouped instances' newest transition reasons since their group's last change,
    /// oldest first, one entry per instance (so bounded by the number of instances).
    causes: Vec<(String, Reason)>,
}

impl GroupStates {
    /// Instance `name` (in a group) changed state for `reason`.
    pub fn member_changed(&mut self, name: &str, reason: Reason) {
        self.causes.retain(|(n, _)| n != name);
        self.causes.push((name.to_string(), reason));
    }

    /// Why `group` changed: its members' newest own cause since its last change (a
    /// member's `sync_group` transitions only follow the group), else `sync_group`. The
    /// members' causes are then forgotten.
    fn take_cause(&mut self, group: &GroupConfig) -> Reason {
        let mine = |n: &String| group.instances.contains(n);
        let reason = self
            .causes
            .iter()
            .rev()
            .filter(|(n, _)| mine(n))
            .map(|(_, r)| *r)
            .find(|r| *r != Reason::SyncGroup)
            .unwrap_or(Reason::SyncGroup);
        self.causes.retain(|(n, _)| !mine(n));
        reason
    }
}

impl Node {
    /// A member's state for its group: Initialize while it has no router.
    fn member_state(&self, name: &str) -> State {
        self.instances
            .iter()
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
        let groups = &self.config.groups;
        self.group_states
            .states
            .retain(|name, _| groups.iter().any(|g| &g.name == name));
        let changed: Vec<(GroupConfig, State, State)> = self
            .config
            .groups
            .iter()
            .filter_map(|group| {
                let to = self.group_state(group);
                let from = self
                    .group_states
                    .states
                    .get(&group.name)
                    .copied()
                    .unwrap_or(State::Initialize);
                (from != to).then(|| (group.clone(), from, to))
            })
            .collect();
        for (group, from, to) in changed {
            self.group_states.states.insert(group.name.clone(), to);
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
