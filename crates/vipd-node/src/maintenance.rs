//! Maintenance (`vipctl maintenance on|off [INSTANCE…]`) and who may ask for it.
//!
//! An instance in maintenance hands over make-before-break if it is master and then
//! stays backup, never taking over, until maintenance is turned off. Which instances
//! are in maintenance is kept by the shell under the state directory (the node asks
//! with [`Command::SaveMaintenance`] after every change, and is given it back by
//! [`crate::Node::new`]), so a reload and a restart — a host rebooted for an update —
//! keep it: the host does not take the VIPs back before the operator says so.
//!
//! Mutating commands are allowed to uid 0 and to members of the configured admin group
//! (primary or supplementary group of the caller, as the shell found them from the
//! socket peer's credentials); anyone else is told "permission denied" and nothing
//! changes. Every mutating command is logged with the caller's uid, allowed or not.

use vipd_api::{Response, PERMISSION_DENIED, PROTOCOL_VERSION};
use vipd_engine::{Input, Instant};

use crate::io::{Caller, Command, Level, RequestId};
pub use crate::maintenance_state::Maintenance;
use crate::node::Node;

/// Whether `caller` may run mutating commands: uid 0, or a member (primary or
/// supplementary group) of `admin_gid`.
pub fn may_mutate(caller: &Caller, admin_gid: Option<u32>) -> bool {
    caller.uid == 0 || admin_gid.is_some_and(|g| caller.gid == g || caller.groups.contains(&g))
}

impl Node {
    /// Which instances are in maintenance now.
    pub fn maintenance(&self) -> &Maintenance {
        &self.maintenance
    }

    pub(crate) fn on_maintenance(
        &mut self,
        now: Instant,
        id: RequestId,
        caller: &Caller,
        on: bool,
        named: Vec<String>,
    ) {
        let word = if on { "on" } else { "off" };
        let what = if named.is_empty() {
            "every instance".to_string()
        } else {
            named.join(", ")
        };
        if !may_mutate(caller, self.config.admin_gid) {
            self.note(
                Level::Warn,
                None,
                format!(
                    "maintenance {word} for {what} refused: uid {} is not root and not in the \
                     operator group",
                    caller.uid
                ),
            );
            let group = match self.config.admin_gid {
                Some(g) => format!("members of the operator group (gid {g})"),
                None => "nobody else (no operator_group configured)".to_string(),
            };
            self.reply_error(
                id,
                format!(
                    "{PERMISSION_DENIED}: maintenance changes are allowed to root and {group}; \
                     uid {} may only read",
                    caller.uid
                ),
            );
            return;
        }
        if let Some(unknown) = named.iter().find(|n| {
            !self.instances.current().any(|i| i.cfg.name == **n) && !self.announces.contains(n)
        }) {
            let message = format!("no instance named {unknown}; nothing changed");
            self.note(
                Level::Warn,
                None,
                format!(
                    "maintenance {word} by uid {} refused: {message}",
                    caller.uid
                ),
            );
            self.reply_error(id, message);
            return;
        }
        let before = self.maintenance.clone();
        let m = &mut self.maintenance;
        match (on, named.is_empty()) {
            (true, true) => {
                m.all = true;
                m.instances.clear();
            }
            (true, false) => {
                if !m.all {
                    m.instances.extend(named.iter().cloned());
                }
            }
            (false, true) => *m = Maintenance::default(),
            (false, false) => {
                if m.all {
                    // Every instance but the named ones stays in maintenance.
                    m.all = false;
                    m.instances = self
                        .instances
                        .current()
                        .map(|i| i.cfg.name.clone())
                        .collect();
                    m.instances
                        .extend(self.announces.list.iter().map(|a| a.cfg.name.clone()));
                }
                for n in &named {
                    self.maintenance.instances.remove(n);
                }
            }
        }
        self.note(
            Level::Info,
            None,
            format!("maintenance {word} for {what} by uid {}", caller.uid),
        );
        for i in self.instances.ids() {
            let Some(name) = self.instances.get(i).map(|i| i.cfg.name.clone()) else {
                continue;
            };
            let now_on = self.maintenance.contains(&name);
            if now_on != before.contains(&name) {
                self.note(
                    Level::Info,
                    Some(&name),
                    if now_on {
                        "maintenance on: hands over if master, then stays backup"
                    } else {
                        "maintenance off: takes part in elections again"
                    },
                );
                let event = vipd_api::WatchEvent::Maintenance {
                    instance: name,
                    on: now_on,
                    uid: caller.uid,
                };
                self.publish(now, event);
                self.feed(now, i, Input::Maintenance(now_on));
            }
        }
        self.announce_maintenance(now, &before, caller.uid);
        if self.maintenance != before {
            self.push(Command::SaveMaintenance(self.maintenance.clone()));
        }
        self.push(Command::Reply {
            id,
            response: Response::Done {
                v: PROTOCOL_VERSION,
                message: format!("maintenance {word} for {what}"),
            },
        });
    }

    fn reply_error(&mut self, id: RequestId, message: String) {
        self.push(Command::Reply {
            id,
            response: Response::Error {
                v: PROTOCOL_VERSION,
                message,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(uid: u32, gid: u32, groups: &[u32]) -> Caller {
        Caller {
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn root_and_admin_group_members_may_mutate() {
        assert!(may_mutate(&caller(0, 0, &[]), None));
        assert!(may_mutate(&caller(0, 5, &[]), Some(900)));
        // Primary group, supplementary group.
        assert!(may_mutate(&caller(1000, 900, &[]), Some(900)));
        assert!(may_mutate(&caller(1000, 1000, &[4, 900]), Some(900)));
        // Others, and anyone but root without an admin group.
        assert!(!may_mutate(&caller(1000, 1000, &[4, 27]), Some(900)));
        assert!(!may_mutate(&caller(65534, 65534, &[]), Some(900)));
        assert!(!may_mutate(&caller(1000, 900, &[900]), None));
    }

    #[test]
    fn maintenance_file_form() {
        let m = Maintenance {
            all: false,
            instances: ["web".to_string()].into_iter().collect(),
        };
        assert!(m.contains("web") && !m.contains("db"));
        assert!(Maintenance::everything().contains("db"));
        assert!(Maintenance::default().is_empty());
    }
}
