//! Control requests. `status` reports the engines' view and whether each VIP is on its
//! interface — read from the kernel for the request (a read that began after it
//! arrived), never remembered.

use std::time::Duration;
use vipd_api::{
    AddressMismatch, GroupMembership, GroupWait, InstanceStatus, InterfaceStatus, Response, State,
    Status, VipStatus, PROTOCOL_VERSION,
};

use vipd_engine::Instant;

use crate::io::{has_vip, Caller, Command, IfaceRead, ReadId, RequestId};
use crate::node::Node;
use crate::publication::api_state;

impl Node {
    pub(crate) fn on_control(
        &mut self,
        now: Instant,
        id: RequestId,
        request: vipd_api::Request,
        caller: &Caller,
    ) {
        // The control socket already refused other protocol versions.
        match request.command {
            vipd_api::Command::Status => {
                self.status_waiting.push((id, self.reads.upcoming()));
                self.read_kernel(now);
            }
            vipd_api::Command::Maintenance { on, instances } => {
                self.on_maintenance(now, id, caller, on, instances)
            }
            vipd_api::Command::Watch { instances } => self.on_watch(id, &instances),
        }
    }

    /// Answers the status requests that waited for read `id` (or an earlier one).
    pub(crate) fn answer_status(&mut self, now: Instant, id: ReadId, reads: &[IfaceRead]) {
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.status_waiting)
            .into_iter()
            .partition(|(_, after)| *after <= id);
        self.status_waiting = waiting;
        if ready.is_empty() {
            return;
        }
        let status = self.status(now, reads);
        for (request, _) in ready {
            self.push(Command::Reply {
                id: request,
                response: Response::Status(status.clone()),
            });
        }
    }

    /// The status as of `now`, with VIP presence from `reads`.
    pub fn status(&self, now: Instant, reads: &[IfaceRead]) -> Status {
        let instances = self
            .instances
            .current()
            .map(|inst| {
                let c = &inst.cfg;
                let mut vips: Vec<VipStatus> = c
                    .vips
                    .iter()
                    .map(|v| VipStatus {
                        address: v.to_string(),
                        present: false,
                    })
                    .collect();
                let mut kernel_error = None;
                // Without the interface there is nothing on it to find.
                let read = reads
                    .iter()
                    .find(|r| r.name == c.interface && self.ifindex(&c.interface).is_some());
                match read.map(|r| (&r.link, &r.addrs)) {
                    Some((Ok(link), Some(Ok(addrs))))
                        if Some(link.index) == self.ifindex(&c.interface) =>
                    {
                        for (st, vip) in vips.iter_mut().zip(&c.vips) {
                            st.present = has_vip(addrs, vip);
                        }
                    }
                    Some((_, Some(Err(e)))) => {
                        kernel_error = Some(format!("cannot read addresses: {e}"));
                    }
                    Some((Err(crate::io::LinkReadError::Failed(e)), _)) => {
                        kernel_error = Some(format!("cannot read the interface: {e}"));
                    }
                    _ => {}
                }
                let base = InstanceStatus {
                    name: c.name.clone(),
                    interface: c.interface.clone(),
                    vrid: c.vrid,
                    version: c.version.number(),
                    state: State::Initialize,
                    reason: inst.waiting().unwrap_or_default().to_string(),
                    priority_configured: c.priority,
                    priority_effective: c.priority,
                    local_address: None,
                    master_address: None,
                    master_priority: None,
                    advert_interval_ms: u64::try_from(c.advert_interval.as_millis())
                        .unwrap_or(u64::MAX),
                    master_advert_interval_ms: None,
                    kernel_error,
                    last_advert_age_s: None,
                    vips,
                    in_state_s: 0.0,
                    last_transition_unix_s: None,
                    transitions: 0,
                    transitions_by_reason: inst
                        .transitions_by_reason
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), *v))
                        .collect(),
                    adverts_sent: 0,
                    adverts_received: 0,
                    drops: Default::default(),
                    address_mismatch: None,
                    auth_alarms: inst.auth_watch.alarms,
                    auth_failing: Vec::new(),
                    tracking: self.checks.tracked(c).2,
                    maintenance: self.maintenance.contains(&c.name),
                    handover_left_s: None,
                    notify: self.notify_status(c),
                    group: self.group_view(&c.name).map(|g| GroupMembership {
                        notify: self.group_notify_status(&g.name),
                        name: g.name,
                        held: inst.router().is_some_and(|r| r.held()),
                        ready: inst.router().is_some_and(|r| r.ready()),
                        waiting_for: g
                            .waiting_for
                            .into_iter()
                            .map(|(instance, state)| GroupWait {
                                instance,
                                state: state.to_string(),
                            })
                            .collect(),
                    }),
                };
                let Some(r) = inst.router() else {
                    return base;
                };
                let s = r.status();
                InstanceStatus {
                    state: api_state(s.state),
                    reason: s.reason.as_str().to_string(),
                    priority_effective: s.effective_priority,
                    local_address: Some(r.config().primary.to_string()),
                    master_address: s.master.map(|(a, _)| a.to_string()),
                    master_priority: s.master.map(|(_, p)| p),
                    master_advert_interval_ms: s
                        .master
                        .map(|_| u64::from(s.master_adver_interval_cs) * 10),
                    last_advert_age_s: s.last_advert.map(|t| now.saturating_since(t).as_secs_f64()),
                    in_state_s: now.saturating_since(s.since).as_secs_f64(),
                    last_transition_unix_s: Some(self.unix_seconds(s.since)),
                    handover_left_s: r
                        .handover()
                        .map(|h| h.until.saturating_since(now).as_secs_f64()),
                    transitions: s.transitions,
                    adverts_sent: s.adverts_sent,
                    adverts_received: s.adverts_received,
                    drops: s
                        .drops
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), *v))
                        .chain(
                            (inst.not_a_peer > 0).then(|| ("not_a_peer".into(), inst.not_a_peer)),
                        )
                        .collect(),
                    auth_failing: inst
                        .auth_watch
                        .failing(now, r.master_down_interval())
                        .into_iter()
                        .map(|f| vipd_api::AuthFailing {
                            from: f.from.to_string(),
                            reason: f.kind.to_string(),
                            for_s: now.saturating_since(f.since).as_secs_f64(),
                            dropped: f.dropped,
                        })
                        .collect(),
                    address_mismatch: s.address_mismatch.map(|m| AddressMismatch {
                        from: m.from.to_string(),
                        addresses: m.addresses.iter().map(|a| a.to_string()).collect(),
                        count: m.count,
                        last_age_s: now.saturating_since(m.last).as_secs_f64(),
                    }),
                    ..base
                }
            })
            .collect();
        Status {
            v: PROTOCOL_VERSION,
            host: self.host.hostname.clone(),
            pid: self.host.pid,
            uptime_s: now.saturating_since(self.started).as_secs_f64(),
            instances,
            interfaces: self
                .ifaces
                .iter()
                .map(|(name, f)| InterfaceStatus {
                    name: name.clone(),
                    unknown_vrid: f.unknown_vrid,
                })
                .collect(),
            checks: self.check_status(now),
            peers: self
                .config
                .peers
                .iter()
                .map(|p| vipd_api::PeerInfo {
                    name: p.name.clone(),
                    address: p.address.to_string(),
                })
                .collect(),
            announced: self.announce_status(now, reads),
        }
    }
}

impl Node {
    /// Instant `t` as seconds since the Unix epoch: the host's wall clock when the node
    /// started ([`crate::HostInfo::started_unix_ns`]) plus the time since.
    fn unix_seconds(&self, t: Instant) -> f64 {
        let start = Duration::from_nanos(self.host.started_unix_ns);
        let since = if t >= self.started {
            t.saturating_since(self.started).as_secs_f64()
        } else {
            -self.started.saturating_since(t).as_secs_f64()
        };
        start.as_secs_f64() + since
    }

    /// With `metrics:` configured: publishes the status if a kernel read or a state
    /// change asked for it during this event (at most once per event).
    pub(crate) fn publish_if_due(&mut self, now: Instant) {
        if !self.publication.take_due() || self.config.metrics.is_none() {
            return;
        }
        let status = self.status(now, self.publication.last_reads());
        self.push(Command::PublishStatus(Box::new(status)));
    }

    /// The instance's hook counters: present once it has hooks or runs of them.
    fn notify_status(&self, c: &crate::config::InstanceConfig) -> Option<vipd_api::NotifyStatus> {
        let owner = crate::notify::HookOwner::Instance(c.name.clone());
        self.hook_status(&owner, !c.notify.is_empty())
    }

    /// Sync group `name`'s hook counters: present once it has hooks or runs of them.
    fn group_notify_status(&self, name: &str) -> Option<vipd_api::NotifyStatus> {
        let hooked = self
            .config
            .groups
            .iter()
            .any(|g| g.name == name && !g.notify.is_empty());
        self.hook_status(&crate::notify::HookOwner::Group(name.to_string()), hooked)
    }

    /// `owner`'s hook counters: present once it has runs, or hooks (`hooked`).
    fn hook_status(
        &self,
        owner: &crate::notify::HookOwner,
        hooked: bool,
    ) -> Option<vipd_api::NotifyStatus> {
        match self.hooks.stats(owner) {
            Some((stats, running, pending)) => Some(vipd_api::NotifyStatus {
                runs: stats.runs,
                failed: stats.failed,
                timed_out: stats.timed_out,
                dropped: stats.dropped,
                running: running.map(str::to_string),
                pending: u64::try_from(pending).unwrap_or(u64::MAX),
                last_failure: stats.last_failure.clone(),
            }),
            None if hooked => Some(vipd_api::NotifyStatus::default()),
            None => None,
        }
    }
}
