//! Builds the answer to `vipctl status` from the engines and from the kernel: whether a
//! VIP is present is read from the interface when asked, never remembered.

use vipd_api::{InstanceStatus, State, Status, VipStatus, PROTOCOL_VERSION};

use crate::daemon::Daemon;

fn api_state(s: vipd_engine::State) -> State {
    match s {
        vipd_engine::State::Initialize => State::Initialize,
        vipd_engine::State::Backup => State::Backup,
        vipd_engine::State::Master => State::Master,
        vipd_engine::State::Fault => State::Fault,
        vipd_engine::State::Stopped => State::Stopped,
    }
}

pub async fn build(d: &Daemon) -> Status {
    let now = d.now();
    let mut instances = Vec::new();
    for inst in d.instances() {
        let c = &inst.cfg;
        // The kernel's truth, or why it could not be read (never a guess).
        let (present, kernel_error) = match d.ifindex(&c.interface) {
            Some(index) => match d.netlink().present(index, &c.vips).await {
                Ok(p) => (p, None),
                Err(e) => (
                    Default::default(),
                    Some(format!("cannot read addresses: {e}")),
                ),
            },
            None => (Default::default(), None),
        };
        let vips = c
            .vips
            .iter()
            .map(|v| {
                let address = v.to_string();
                VipStatus {
                    present: present.get(&address).copied().unwrap_or(false),
                    address,
                }
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
            kernel_error,
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
    Status {
        v: PROTOCOL_VERSION,
        host: hostname(),
        pid: std::process::id(),
        uptime_s: d.uptime().as_secs_f64(),
        instances,
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}
