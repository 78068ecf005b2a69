//! SIGHUP: a new configuration, applied with as little disturbance as possible.
//!
//! Unchanged instances keep running untouched. An instance with the same name and
//! identity (interface, VRID, version, VIPs) is updated in place: priority, interval,
//! preemption, announcements, checksum, unicast peers and auth keys change without a
//! state change, and a master keeps its VIPs. Removed instances, and ones whose identity
//! changed, leave gracefully: a master hands over make-before-break (priority 0, its VIPs
//! kept until the new master is heard or Master_Down_Interval passes; meanwhile it stays
//! among the node's instances as a leaving one); new ones start from the next kernel read.

use vipd_engine::{Input, Instant};

use crate::config::Config;
use crate::instance::Instance;
use crate::io::Level;
use crate::node::Node;

impl Node {
    pub(crate) fn reload(&mut self, now: Instant, new: Result<Config, String>) {
        if self.stopping.is_some() {
            return;
        }
        let new = match new {
            Ok(c) => c,
            Err(e) => {
                self.note(
                    Level::Error,
                    None,
                    format!("reload refused, keeping the running configuration: {e}"),
                );
                self.publish(now, vipd_api::WatchEvent::ReloadRejected { error: e });
                return;
            }
        };
        if new.control_socket != self.config.control_socket {
            self.note(
                Level::Warn,
                None,
                "control_socket changes take effect at the next restart",
            );
        }
        if (new.realtime_priority, new.lock_memory)
            != (self.config.realtime_priority, self.config.lock_memory)
        {
            self.note(
                Level::Warn,
                None,
                "realtime_priority and lock_memory changes take effect at the next restart",
            );
        }
        if new.metrics != self.config.metrics {
            self.note(
                Level::Warn,
                None,
                "metrics changes take effect at the next restart",
            );
        }
        // A restarted instance (or one removed and added again) still knows the numbers
        // its peers' adverts were accepted up to: a new run is no replay window.
        let replays: std::collections::BTreeMap<String, crate::auth::Replay> = self
            .instances
            .current()
            .map(|i| (i.cfg.name.clone(), i.replay.clone()))
            .collect();
        let mut keep = Vec::new();
        let mut leaving = Vec::new();
        let mut updated = 0;
        // What changed, for the event stream.
        let mut changes = Vec::new();
        let mut restarted = Vec::new();
        for (id, mut inst) in self.instances.take_current() {
            if new.instances.contains(&inst.cfg) {
                keep.push((id, inst));
                continue;
            }
            let same = new
                .instances
                .iter()
                .find(|c| c.name == inst.cfg.name && inst.cfg.same_identity(c));
            // A changed instance warns afresh about routers configured otherwise.
            self.warnings.forget(&inst.cfg.name);
            match same.map(|c| inst.update_in_place(now, c)) {
                Some(Ok(())) => {
                    let name = inst.cfg.name.clone();
                    self.note(Level::Info, Some(&name), "instance updated in place");
                    changes.push(format!("updated {name}"));
                    updated += 1;
                    keep.push((id, inst));
                }
                Some(Err(e)) => {
                    let name = inst.cfg.name.clone();
                    self.note(Level::Info, Some(&name), format!("instance restarts: {e}"));
                    changes.push(format!("restarted {name}: {e}"));
                    restarted.push(name);
                    leaving.push((id, inst));
                }
                None => {
                    let name = inst.cfg.name.clone();
                    if new.instances.iter().any(|c| c.name == name) {
                        changes.push(format!(
                            "restarted {name}: interface, VRID, version or VIPs changed"
                        ));
                        restarted.push(name);
                    } else {
                        changes.push(format!("removed {name}"));
                    }
                    leaving.push((id, inst));
                }
            }
        }
        // The leaving ones say goodbye through the normal output path, as the current
        // instances for that moment.
        let removed = leaving.len();
        let ids: Vec<_> = leaving.iter().map(|(id, _)| *id).collect();
        self.instances.put_current(leaving);
        for id in ids {
            self.feed(now, id, Input::Shutdown);
        }
        // Masters handing over stay, leaving, until the new master is heard; the rest go.
        for (id, mut inst) in self.instances.take_current() {
            if inst.handing_over() {
                inst.leave();
                self.instances.push_leaving(id, inst);
            }
        }
        let mut added = 0;
        for c in &new.instances {
            if !keep.iter().any(|(_, i)| i.cfg == *c) {
                let mut inst = Instance::new(c.clone());
                if let Some(r) = replays.get(&c.name) {
                    inst.replay = r.clone();
                }
                keep.push((self.instances.new_id(), inst));
                if !restarted.contains(&c.name) {
                    changes.push(format!("added {}", c.name));
                }
                added += 1;
            }
        }
        // Instances in the order of the file.
        keep.sort_by_key(|(_, i)| {
            new.instances
                .iter()
                .position(|c| c.name == i.cfg.name)
                .unwrap_or(usize::MAX)
        });
        self.instances.put_current(keep);
        changes.extend(check_changes(&self.config, &new));
        changes.extend(self.announce_reload(now, &new.announce));
        self.config = new;
        self.reload_checks(now);
        // Interfaces no instance uses any more: their sockets close (a VIP job still under
        // way there finishes; its answer has no router to go to). One a leaving master
        // still hands over on stays until the next reload.
        let mut used = self.interfaces();
        used.extend(self.instances.leaving().map(|i| i.cfg.interface.clone()));
        let unused: Vec<String> = self
            .ifaces
            .keys()
            .filter(|name| !used.contains(name))
            .cloned()
            .collect();
        for name in unused {
            self.forget_iface(&name);
        }
        let kept = self.instances.len() - added - updated;
        self.note(
            Level::Info,
            None,
            format!(
                "configuration reloaded: removed={removed} added={added} updated={updated} kept={kept}"
            ),
        );
        self.publish(now, vipd_api::WatchEvent::ReloadApplied { changes });
        // New and restarted instances start from the next read (at once).
        self.read_kernel(now);
    }
}

/// The checks a reload adds, removes or changes, in words (`check added: web_up`).
fn check_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, cfg) in &new.checks {
        match old.checks.get(name) {
            None => out.push(format!("check added: {name}")),
            Some(c) if c != cfg => out.push(format!("check changed: {name}")),
            Some(_) => {}
        }
    }
    for name in old.checks.keys() {
        if !new.checks.contains_key(name) {
            out.push(format!("check removed: {name}"));
        }
    }
    out
}
