//! The starting point most tests share: vipd routers floating one VIP (instance web,
//! VRID 51, [`web_config`]) on a LAN, settled with the highest priority one the only
//! master.

use std::time::Duration;

use crate::configs::web_config;
use crate::lan::{Host, Lan};
use crate::roles::assert_roles;

/// How long the routers may take to settle after vipd starts on them.
pub const SETTLE: Duration = Duration::from_secs(10);

/// Starts vipd with [`web_config`] for `vip_cidr` on each of `routers` (host and
/// priority) and waits up to [`SETTLE`] until the one with the highest priority is the
/// only master holding the VIP and every other one is backup without it; panics (with
/// who holds what) if they do not.
pub fn start_web(routers: &[(&Host, u8)], vip_cidr: &str) {
    for (h, priority) in routers {
        h.spawn_vipd(&web_config(*priority, vip_cidr));
    }
    let Some((best, _)) = routers.iter().max_by_key(|(_, p)| *p) else {
        panic!("start_web needs at least one router");
    };
    let hosts: Vec<&Host> = routers.iter().map(|(h, _)| *h).collect();
    let vip = vip_cidr.split('/').next().unwrap_or(vip_cidr);
    assert_roles(
        &hosts,
        &best.name,
        vip,
        SETTLE,
        &format!(
            "{} never became the only master within {SETTLE:?}",
            best.name
        ),
    );
}

/// Routers a (192.0.2.11, priority 150) and b (192.0.2.12, priority 100) on `lan`,
/// started with [`start_web`]: a is the only master holding the VIP, b backup.
pub fn start_pair(lan: &Lan, vip_cidr: &str) -> (Host, Host) {
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    start_web(&[(&a, 150), (&b, 100)], vip_cidr);
    (a, b)
}
