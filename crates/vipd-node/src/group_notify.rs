//! A sync group's own state and its notify hooks (`groups[].notify`), keepalived's
//! `vrrp_sync_group` `notify_master` / `notify_backup` / `notify_fault` / `notify_stop`
//! / `notify`.
//!
//! The group's state is read from its members after every event
//! (`Node::notify_groups`, in `group_hooks`), and the group's hooks run when it changes:
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

use vipd_engine::{Reason, State};

use crate::config::GroupConfig;

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
    pub fn take_cause(&mut self, group: &GroupConfig) -> Reason {
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

    /// Forgets the groups that are not in `groups` (a reload removed them; a group it
    /// adds starts from Initialize).
    pub fn keep_only(&mut self, groups: &[GroupConfig]) {
        self.states
            .retain(|name, _| groups.iter().any(|g| &g.name == name));
    }

    /// Group `name`'s state as its hooks last heard it.
    pub fn last(&self, name: &str) -> State {
        self.states.get(name).copied().unwrap_or(State::Initialize)
    }

    /// Group `name`'s hooks hear of state `to`.
    pub fn set(&mut self, name: &str, to: State) {
        self.states.insert(name.to_string(), to);
    }
}
