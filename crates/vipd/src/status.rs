//! Builds the answer to `vipctl status` from the engines and from the kernel: whether a
//! VIP is present is read from the interface when asked, never remembered.
//!
//! In two steps: [`build`] takes the engines' view in the main loop (no waiting), and
//! [`Draft::complete`] asks the kernel in a task of its own, so a slow kernel delays the
//! answer, never an advert.

use std::collections::BTreeMap;

use vipd_api::{InstanceStatus, State, Status, VipStatus, PROTOCOL_VERSION};

use crate::config::Vip;
use crate::daemon::Daemon;
use crate::netlink::{has_vip, Netlink};

/// A status whose VIPs are still to be looked up in the kernel.
pub struct Draft {
    status: Status,
    /// Per instance (same order): the interface index and VIPs to look up.
    lookups: Vec<Option<(u32, Vec<Vip>)>>,
}

impl Draft {
    /// Fills in each VIP's presence from the kernel (one read per interface), or why
    /// it could not be read (never a guess).
    pub async fn complete(mut self, nl: &Netlink) -> Status {
        let mut reads: BTreeMap<u32, Result<Vec<crate::netlink::Addr>, String>> = BTreeMap::new();
        for (inst, lookup) in self.status.instances.iter_mut().zip(self.lookups) {
            let Some((index, vips)) = lookup else {
                continue;
            };
            if let std::collections::btree_map::Entry::Vacant(slot) = reads.entry(index) {
                slot.insert(nl.addresses(index).await.map_err(|e| e.to_string()));
            }
            match reads.get(&index) {
                Some(Ok(addrs)) => {
                    for (st, vip) in inst.vips.iter_mut().zip(&vips) {
                        st.present = has_vip(addrs, vip);
                    }
                }
                Some(Err(e)) => inst.kernel_error = Some(format!("cannot read addresses: {e}")),
                None => {}
            }
        }
        self.status
    }
}

fn api_state(s: vipd_engine::State) -> State {
    match s {
        vipd_engine::State::Initialize => State::Initialize,
        vipd_engine::State::Backup => State::Backup,
        vipd_engine::State::Master => State::Master,
        vipd_engine::State::Fault => State::Fault,
        vipd_engine::State::Stopped => State::Stopped,
    }
}

/// The engines' view; VIP presence follows in [`Draft::complete`].
pub fn build(d: &Daemon) -> Draft {
    let now = d.now();
    let mut instances = Vec::new();
    let mut lookups = Vec::new();
    for inst in d.instances() {
        let c = &inst.cfg;
        // Without the interface there is nothing on it to find.
        lookups.push(d.ifindex(&c.interface).map(|index| (index, c.vips.clone())));
        let vips = c
            .vips
            .iter()
            .map(|v| VipStatus {
                address: v.to_string(),
                present: false,
            })
            .collect();
        let base = InstanceStatus {
            name: c.name.clone(),
            interface: c.interface.clone(),
            vrid: c.vrid,
            version: c.version.number(),
            state: State::Initialize,
            reason: inst.waiting.clone().unwrap_or_default(),
            priority_configured: c.priority,
            priority_effective: c.priority,
            local_address: None,
            master_address: None,
            master_priority: None,
            advert_interval_ms: u64::try_from(c.advert_interval.as_millis()).unwrap_or(u64::MAX),
            master_advert_interval_ms: None,
            kernel_error: None,
            last_advert_age_s: None,
            vips,
            in_state_s: 0.0,
            transitions: 0,
            adverts_sent: 0,
            adverts_received: 0,
            drops: Default::default(),
        };
        let Some(r) = inst.router.as_ref() else {
            instances.push(base);
            continue;
        };
        let s = r.status();
        instances.push(InstanceStatus {
            state: api_state(s.state),
            reason: s.reason.as_str().to_string(),
            priority_effective: s.effective_priority,
            local_address: Some(r.config().primary.to_string()),
            master_address: s.master.map(|(a, _)| a.to_string()),
            master_priority: s.master.map(|(_, p)| p),
            master_advert_interval_ms: s.master.map(|_| u64::from(s.master_adver_interval_cs) * 10),
            last_advert_age_s: s.last_advert.map(|t| now.saturating_since(t).as_secs_f64()),
            in_state_s: now.saturating_since(s.since).as_secs_f64(),
            transitions: s.transitions,
            adverts_sent: s.adverts_sent,
            adverts_received: s.adverts_received,
            drops: s
                .drops
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            ..base
        });
    }
    Draft {
        status: Status {
            v: PROTOCOL_VERSION,
            host: hostname(),
            pid: std::process::id(),
            uptime_s: d.uptime().as_secs_f64(),
            instances,
        },
        lookups,
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}
