//! The node's side of announced instances ([`crate::announce`]): what their tracked
//! checks mean, the VIP jobs that announce, withdraw and drain, kernel reads reconciled,
//! their status and their notify hooks.

use std::net::IpAddr;

use vipd_api::{AnnouncedStatus, TrackStatus, VipStatus};
use vipd_engine::Instant;

use crate::announce::{AnnounceConfig, Announced, Announces, Phase, LOOPBACK};
use crate::config::Vip;
use crate::io::{has_vip, Addr, IfaceRead, JobId, Level, ReadId, VipOp};
use crate::node::Node;

impl Node {
    /// What announced instance `k`'s checks amount to: whether it may announce, why,
    /// the weight and each entry.
    fn announce_verdict(&self, k: usize) -> (bool, String, i64, Vec<TrackStatus>) {
        let a = &self.announces.list[k];
        let mut sum: i64 = 0;
        let mut failing: Option<String> = None;
        let mut entries = Vec::with_capacity(a.cfg.track.len());
        for t in &a.cfg.track {
            let e = self.checks.track_status(t);
            sum = sum.saturating_add(e.adds);
            if e.fault && failing.is_none() {
                failing = Some(format!("check {} is down", t.check));
            }
            entries.push(e);
        }
        let below = i64::from(a.cfg.withdraw_below);
        let (ok, why) = if self.stopping.is_some() {
            (false, "stopping".to_string())
        } else if self.maintenance.contains(&a.cfg.name) {
            (false, "maintenance".to_string())
        } else if !self.announces.links.contains_key(&a.cfg.interface) {
            (
                false,
                format!("interface {} not found (yet)", a.cfg.interface),
            )
        } else if let Some(why) = failing {
            (false, why)
        } else if sum < below {
            (false, format!("tracked weight {sum} is below {below}"))
        } else {
            (true, "checks pass".to_string())
        };
        (ok, why, sum, entries)
    }

    /// Moves every announced instance where its checks, maintenance and the node's
    /// stop say it should be.
    pub(crate) fn announce_apply_all(&mut self, now: Instant) {
        for k in 0..self.announces.list.len() {
            self.announce_apply(now, k);
        }
    }

    fn announce_apply(&mut self, now: Instant, k: usize) {
        let (ok, why, _, _) = self.announce_verdict(k);
        let phase = self.announces.list[k].phase;
        match (phase, ok) {
            (Phase::Withdrawn, true) => {
                self.announce_add(k);
                self.announce_move(now, k, Phase::Announcing, why);
            }
            (Phase::Draining { .. }, true) => {
                // Announced again first, then no longer kept by a local route.
                self.announce_add(k);
                self.announce_local(k, false);
                self.announce_move(now, k, Phase::Announcing, why);
            }
            (Phase::Announcing, false) => {
                let drain = self.announces.list[k].cfg.drain;
                let lo = self.announces.links.contains_key(LOOPBACK);
                if drain.is_zero() || !lo {
                    self.announce_job(k, &self.announces.list[k].cfg.interface.clone(), false);
                    self.announce_move(now, k, Phase::Withdrawn, why);
                } else {
                    // Make-before-break: kept locally before it leaves the announce
                    // interface, so the router's last flows still find it.
                    self.announce_local(k, true);
                    let iface = self.announces.list[k].cfg.interface.clone();
                    self.announce_job(k, &iface, false);
                    self.announce_move(now, k, Phase::Draining { until: now + drain }, why);
                }
            }
            _ => {
                self.announces.list[k].reason = why;
            }
        }
    }

    /// Drains whose time has come end: the VIPs' local routes go.
    pub(crate) fn announce_due(&mut self, now: Instant) {
        for k in 0..self.announces.list.len() {
            if let Phase::Draining { until } = self.announces.list[k].phase {
                if until <= now {
                    self.announce_local(k, false);
                    self.announce_move(now, k, Phase::Withdrawn, "drain time over".into());
                }
            }
        }
    }

    fn announce_add(&mut self, k: usize) {
        let iface = self.announces.list[k].cfg.interface.clone();
        let id = self.announce_job(k, &iface, true);
        self.announces.list[k].adding = id;
    }

    /// Adds (or removes) announced instance `k`'s VIPs on `interface`, if it is known.
    fn announce_job(&mut self, k: usize, interface: &str, add: bool) -> Option<JobId> {
        let a = &self.announces.list[k];
        let op = if add {
            VipOp::Add {
                label: Announces::label(interface, &a.cfg.name),
            }
        } else {
            VipOp::Remove
        };
        self.announce_submit(k, interface, op)
    }

    /// Adds (or removes) the local routes that keep announced instance `k`'s VIPs
    /// answered while it drains.
    fn announce_local(&mut self, k: usize, add: bool) -> Option<JobId> {
        let op = if add {
            VipOp::AddLocal
        } else {
            VipOp::RemoveLocal
        };
        self.announce_submit(k, LOOPBACK, op)
    }

    fn announce_submit(&mut self, k: usize, interface: &str, op: VipOp) -> Option<JobId> {
        let index = *self.announces.links.get(interface)?;
        let a = &self.announces.list[k];
        let (vips, name) = (a.cfg.vips.clone(), a.cfg.name.clone());
        Some(self.submit_job(None, interface.to_string(), index, op, vips, Some(name)))
    }

    fn announce_move(&mut self, now: Instant, k: usize, to: Phase, reason: String) {
        let a = &mut self.announces.list[k];
        let from = a.phase;
        a.phase = to;
        a.reason = reason.clone();
        a.since = now;
        a.transitions += 1;
        if to != Phase::Announcing {
            a.adding = None;
        }
        let name = a.cfg.name.clone();
        let detail = match to {
            Phase::Draining { until } => {
                format!(" (answered locally for {:?})", until.saturating_since(now))
            }
            _ => String::new(),
        };
        self.note(
            Level::Info,
            Some(&name),
            format!("{} -> {}: {reason}{detail}", from.as_str(), to.as_str()),
        );
        self.publication.state_changed();
        self.announce_hooks(now, k, from, to, &reason);
        self.publish(
            now,
            vipd_api::WatchEvent::Announce {
                instance: name,
                from: from.as_str().into(),
                to: to.as_str().into(),
                reason,
            },
        );
    }

    /// Queues announced instance `k`'s hooks for entering `to`. A stopping node waits
    /// for them as for the VRRP instances' stop hooks (its bound grows to take them).
    fn announce_hooks(&mut self, now: Instant, k: usize, from: Phase, to: Phase, reason: &str) {
        let a = &self.announces.list[k];
        let hooks = a.cfg.notify.hooks_for(to);
        if hooks.is_empty() {
            return;
        }
        let vips: Vec<String> = a.cfg.vips.iter().map(ToString::to_string).collect();
        let runs = hooks
            .into_iter()
            .map(|(hook, argv)| {
                let env = [
                    ("VIPD_INSTANCE", a.cfg.name.clone()),
                    ("VIPD_STATE", to.as_str().to_string()),
                    ("VIPD_PREVIOUS", from.as_str().to_string()),
                    ("VIPD_REASON", reason.to_string()),
                    ("VIPD_VIPS", vips.join(" ")),
                    ("VIPD_HOOK", hook.to_string()),
                    ("PATH", crate::notify::HOOK_PATH.to_string()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                crate::notify::Run::new(hook, argv.clone(), env, a.cfg.notify.timeout)
            })
            .collect();
        let owner = crate::notify::HookOwner::Instance(a.cfg.name.clone());
        self.queue_hooks(now, owner, runs, false);
        let bound = now + self.hooks.worst_case();
        if let Some(s) = self.stopping.as_mut().filter(|s| !s.exited()) {
            s.hooks_deadline = Some(s.hooks_deadline.map_or(bound, |d| d.max(bound)));
        }
    }

    /// A VIP job ended: an add on an announce interface that failed leaves the
    /// instance withdrawn (the next read that finds the checks passing tries again).
    pub(crate) fn announce_job_done(&mut self, now: Instant, id: JobId, ok: bool) {
        let Some(k) = self
            .announces
            .list
            .iter()
            .position(|a| a.adding == Some(id))
        else {
            return;
        };
        self.announces.list[k].adding = None;
        if !ok && self.announces.list[k].phase == Phase::Announcing {
            self.announce_move(
                now,
                k,
                Phase::Withdrawn,
                "the VIPs could not be added; trying again at the next read".into(),
            );
        }
    }

    /// Whether an announced instance holds `vip` on `interface` now (a failed removal
    /// of it is not retried).
    pub(crate) fn announce_wants(&self, interface: &str, vip: &Vip) -> bool {
        self.announces.list.iter().any(|a| {
            a.cfg.vips.contains(vip) && a.phase == Phase::Announcing && a.cfg.interface == interface
        })
    }

    /// A kernel read begins: what the VIP jobs had changed on our interfaces by then.
    pub(crate) fn announce_read_begins(&mut self, id: ReadId) {
        if self.announces.list.is_empty() {
            return;
        }
        let epochs = self
            .announces
            .interfaces()
            .into_iter()
            .map(|n| {
                let e = self.jobs.epoch(&n);
                (n, e)
            })
            .collect();
        self.announces.reads.insert(id, epochs);
    }

    /// What a read found on our interfaces: their indexes, and — where no VIP change
    /// was asked for or finished since it began — the VIPs reconciled.
    pub(crate) fn announce_read(&mut self, now: Instant, id: ReadId, reads: &[IfaceRead]) {
        let Some(epochs) = self.announces.reads.remove(&id) else {
            return;
        };
        self.announces.reads.retain(|r, _| *r > id);
        for name in self.announces.interfaces() {
            let Some(read) = reads.iter().find(|r| r.name == name) else {
                continue;
            };
            match &read.link {
                Ok(link) => {
                    let before = self.announces.links.insert(name.clone(), link.index);
                    if before.is_some_and(|b| b != link.index) {
                        self.note(
                            Level::Warn,
                            None,
                            format!("interface {name} was re-created (index {})", link.index),
                        );
                    }
                }
                Err(crate::io::LinkReadError::NoSuchInterface) => {
                    self.announces.links.remove(&name);
                }
                Err(crate::io::LinkReadError::Failed(_)) => {}
            }
            if name == LOOPBACK && !self.announces.swept && self.announces.links.contains_key(&name)
            {
                // A run that crashed while draining left its local routes: gone before
                // anything of this run drains.
                self.announces.swept = true;
                for k in 0..self.announces.list.len() {
                    if !matches!(self.announces.list[k].phase, Phase::Draining { .. }) {
                        self.announce_local(k, false);
                    }
                }
            }
            let fresh = epochs.get(&name).copied() == Some(self.jobs.epoch(&name))
                && !self.jobs.busy(&name);
            if let (true, Some(Ok(addrs))) = (fresh, &read.addrs) {
                self.announce_reconcile(now, &name, addrs);
            }
        }
        self.announce_apply_all(now);
    }

    /// `addrs` (current) on `interface`: adds a VIP missing from an announcing
    /// instance; removes vipd's leftovers (an earlier run's, or a removal lost).
    fn announce_reconcile(&mut self, _now: Instant, interface: &str, addrs: &[Addr]) {
        for k in 0..self.announces.list.len() {
            let a = &self.announces.list[k];
            let home = a.cfg.interface == interface;
            let held_here = a.phase == Phase::Announcing && home;
            let name = a.cfg.name.clone();
            if held_here {
                if home && a.adding.is_none() && !a.cfg.vips.iter().all(|v| has_vip(addrs, v)) {
                    self.note(
                        Level::Warn,
                        Some(&name),
                        format!("a VIP was removed from {interface} behind vipd's back; adding it again"),
                    );
                    self.announce_add(k);
                }
                continue;
            }
            if !home && interface != LOOPBACK {
                continue;
            }
            let leftover: Vec<IpAddr> = addrs
                .iter()
                .filter(|x| a.ours(x, interface))
                .map(|x| x.addr)
                .collect();
            if leftover.is_empty() {
                continue;
            }
            let list: Vec<String> = leftover.iter().map(IpAddr::to_string).collect();
            self.note(
                Level::Warn,
                Some(&name),
                format!(
                    "{} on {interface} while {}; removing it",
                    list.join(", "),
                    a.phase.as_str()
                ),
            );
            self.announce_job(k, interface, false);
        }
    }

    /// A stopping node withdraws every announced VIP (draining as configured) before
    /// it exits.
    pub(crate) fn announce_stop(&mut self, now: Instant) {
        self.announce_apply_all(now);
    }

    /// Maintenance changed: announced instances whose state changed leave or come back.
    pub(crate) fn announce_maintenance(
        &mut self,
        now: Instant,
        before: &crate::maintenance_state::Maintenance,
        uid: u32,
    ) {
        for k in 0..self.announces.list.len() {
            let name = self.announces.list[k].cfg.name.clone();
            let on = self.maintenance.contains(&name);
            if on != before.contains(&name) {
                self.note(
                    Level::Info,
                    Some(&name),
                    if on {
                        "maintenance on: withdraws (draining) and stays withdrawn"
                    } else {
                        "maintenance off: announces again while its checks pass"
                    },
                );
                self.publish(
                    now,
                    vipd_api::WatchEvent::Maintenance {
                        instance: name,
                        on,
                        uid,
                    },
                );
                self.announce_apply(now, k);
            }
        }
    }

    /// A reload: entries of the same name and identity are updated in place (tracking,
    /// threshold, drain time); the others are withdrawn at once and the new ones
    /// start withdrawn. What changed, in words.
    pub(crate) fn announce_reload(&mut self, now: Instant, new: &[AnnounceConfig]) -> Vec<String> {
        let mut changes = Vec::new();
        for k in (0..self.announces.list.len()).rev() {
            let old = self.announces.list[k].cfg.clone();
            match new.iter().find(|c| c.name == old.name) {
                Some(c) if *c == old => {}
                Some(c) if c.same_identity(&old) => {
                    self.announces.list[k].cfg = c.clone();
                    changes.push(format!("updated {}", c.name));
                }
                found => {
                    let iface = old.interface.clone();
                    self.announce_job(k, &iface, false);
                    if matches!(self.announces.list[k].phase, Phase::Draining { .. }) {
                        self.announce_local(k, false);
                    }
                    self.announces.list.remove(k);
                    changes.push(match found {
                        Some(_) => format!("restarted {}: interface or VIPs changed", old.name),
                        None => format!("removed {}", old.name),
                    });
                }
            }
        }
        for c in new {
            if !self.announces.contains(&c.name) {
                self.announces.list.push(Announced::new(now, c.clone()));
                changes.push(format!("added {}", c.name));
            }
        }
        changes
    }

    /// Every announced instance's status, with VIP presence from `reads`.
    pub(crate) fn announce_status(
        &self,
        now: Instant,
        reads: &[IfaceRead],
    ) -> Vec<AnnouncedStatus> {
        (0..self.announces.list.len())
            .map(|k| {
                let a = &self.announces.list[k];
                let (_, _, weight, tracking) = self.announce_verdict(k);
                let addrs = reads
                    .iter()
                    .find(|r| r.name == a.cfg.interface)
                    .and_then(|r| r.addrs.as_ref())
                    .and_then(|r| r.as_ref().ok());
                AnnouncedStatus {
                    name: a.cfg.name.clone(),
                    interface: a.cfg.interface.clone(),
                    state: a.phase.as_str().to_string(),
                    reason: a.reason.clone(),
                    in_state_s: now.saturating_since(a.since).as_secs_f64(),
                    transitions: a.transitions,
                    weight,
                    withdraw_below: i64::from(a.cfg.withdraw_below),
                    drain_ms: u64::try_from(a.cfg.drain.as_millis()).unwrap_or(u64::MAX),
                    drain_left_s: match a.phase {
                        Phase::Draining { until } => {
                            Some(until.saturating_since(now).as_secs_f64())
                        }
                        _ => None,
                    },
                    vips: a
                        .cfg
                        .vips
                        .iter()
                        .map(|v| VipStatus {
                            address: v.to_string(),
                            present: addrs.is_some_and(|x| has_vip(x, v)),
                        })
                        .collect(),
                    tracking,
                    maintenance: self.maintenance.contains(&a.cfg.name),
                }
            })
            .collect()
    }

    /// Each announced instance's name and state, for tests and tools.
    pub fn announced(&self) -> impl Iterator<Item = (&str, Phase)> {
        self.announces
            .list
            .iter()
            .map(|a| (a.cfg.name.as_str(), a.phase))
    }
}
