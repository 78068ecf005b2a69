//! Sync groups (`groups:`, keepalived's `vrrp_sync_group`): instances that are master
//! together or not at all — a frontend VIP and the backend VIP of the same router, say.
//!
//! The rule, applied after every event the node handles (`Node::sync_groups`): a group
//! is *released* while every member is Master or *ready* — Backup with its
//! Master_Down_Timer run out, so it would be master now (`Router::ready`); otherwise
//! every member is *held* (`Input::Hold`). So:
//! - a held member never becomes master; when the last member becomes ready, the group
//!   is released and every ready member becomes master in the same instant;
//! - when one member leaves Master — a better advert, a fault, maintenance, a
//!   restart — every other master of the group is held in the same instant and hands
//!   over make-before-break (priority 0, its VIPs kept until the new master is heard);
//! - a member in Fault (or Initialize, Stopped, maintenance) holds the whole group in
//!   Backup; the others still follow the master they hear and are ready to take over
//!   with it.
//!
//! The engines know nothing of groups: holding and releasing is all they are told.
//! (Group notifications would be issued where `log_change` records a group's change.)

use vipd_engine::{Input, Instant, State};

use crate::instances::InstanceId;
use crate::io::Level;
use crate::node::Node;

/// Rounds of holding and releasing per event: holding a master makes it Backup, which
/// holds nothing further, so two are always enough; the bound only cuts a bug short.
const SYNC_ROUNDS: usize = 4;

/// What a member contributes to its group now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    /// Master, or ready to be.
    Ready,
    /// Anything else: the group waits for it (its state, for the log and status).
    Waiting(&'static str),
}

/// A group's members' names and whether each lets the group be master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub name: String,
    /// Members that are neither master nor ready, with their state; empty when the
    /// group is released.
    pub waiting_for: Vec<(String, &'static str)>,
}

impl Node {
    /// The sync group instance `name` is in, if any.
    pub(crate) fn group_of(&self, name: &str) -> Option<&crate::config::GroupConfig> {
        self.config
            .groups
            .iter()
            .find(|g| g.instances.iter().any(|m| m == name))
    }

    /// The group instance `name` is in, and which members it waits for.
    pub fn group_view(&self, name: &str) -> Option<GroupView> {
        let group = self.group_of(name)?;
        let waiting_for = group
            .instances
            .iter()
            .filter_map(|m| match self.member(m) {
                Member::Ready => None,
                Member::Waiting(why) => Some((m.clone(), why)),
            })
            .collect();
        Some(GroupView {
            name: group.name.clone(),
            waiting_for,
        })
    }

    fn member(&self, name: &str) -> Member {
        let Some(inst) = self.instances.current().find(|i| i.cfg.name == name) else {
            return Member::Waiting("not running");
        };
        let Some(r) = inst.router() else {
            return Member::Waiting("not started");
        };
        match r.state() {
            State::Master => Member::Ready,
            State::Backup if r.maintenance() => Member::Waiting("maintenance"),
            State::Backup if r.ready() => Member::Ready,
            State::Backup => Member::Waiting("backup"),
            State::Fault => Member::Waiting("fault"),
            State::Initialize => Member::Waiting("initialize"),
            State::Stopped => Member::Waiting("stopped"),
        }
    }

    /// Whether instance `id`'s group lets it be master now (true outside groups).
    fn released(&self, id: InstanceId) -> bool {
        let Some(name) = self.instances.get(id).map(|i| &i.cfg.name) else {
            return true;
        };
        self.group_of(name)
            .is_none_or(|g| g.instances.iter().all(|m| self.member(m) == Member::Ready))
    }

    /// Holds or releases every member of every group as the rule says (module docs).
    /// Called after every event.
    pub(crate) fn sync_groups(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        for _ in 0..SYNC_ROUNDS {
            let mut changed = false;
            let mut n = 0;
            while let Some(i) = self.instances.current_id_at(n) {
                n += 1;
                let hold = !self.released(i);
                let Some(r) = self.instances.get(i).and_then(|i| i.router()) else {
                    continue;
                };
                if r.held() == hold {
                    continue;
                }
                changed = true;
                self.log_change(i, hold);
                self.feed(now, i, Input::Hold(hold));
            }
            if !changed {
                return;
            }
        }
    }

    /// Records why instance `id` is held or released.
    fn log_change(&mut self, id: InstanceId, hold: bool) {
        let Some(name) = self.instances.get(id).map(|i| i.cfg.name.clone()) else {
            return;
        };
        let Some(view) = self.group_view(&name) else {
            // Outside any group (a reload took it out): released.
            self.note(Level::Info, Some(&name), "no longer in a sync group");
            return;
        };
        let text = if hold {
            let why: Vec<String> = view
                .waiting_for
                .iter()
                .map(|(m, s)| format!("{m} ({s})"))
                .collect();
            format!(
                "sync group {}: held in backup, waiting for {}",
                view.name,
                why.join(", ")
            )
        } else {
            format!(
                "sync group {}: every member is master or ready: released",
                view.name
            )
        };
        self.note(Level::Info, Some(&name), text);
    }
}
