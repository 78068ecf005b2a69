//! Ready-made engine configurations for simulated LANs.
//!
//! Every helper uses VRID 51, preempt on, no preempt delay, the default announce
//! schedule and one VIP: 192.0.2.100 (IPv4) or 2001:db8::100 (IPv6). Primaries come
//! from the documentation ranges: 192.0.2.`host`, or the link-local fe80::`host`
//! (RFC 5798 §5.1.2.1: IPv6 adverts are sent from the link-local address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vipd_engine::{Config, Version};

/// The VRID every helper configures.
pub const VRID: u8 = 51;

/// 192.0.2.`host`.
pub fn v4_host(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, host))
}

/// fe80::`host`.
pub fn v6_host(host: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, host))
}

/// 192.0.2.100.
pub fn vip_v4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))
}

/// 2001:db8::100.
pub fn vip_v6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100))
}

/// VRRPv3 over IPv4 from 192.0.2.`host`.
pub fn v3_ipv4(host: u8, priority: u8, interval_cs: u16) -> Config {
    Config::v3(VRID, priority, interval_cs, v4_host(host), vec![vip_v4()])
}

/// VRRPv3 over IPv6 from fe80::`host`.
pub fn v3_ipv6(host: u16, priority: u8, interval_cs: u16) -> Config {
    Config::v3(VRID, priority, interval_cs, v6_host(host), vec![vip_v6()])
}

/// VRRPv2 (IPv4 only) from 192.0.2.`host`; `interval_cs` must be whole seconds.
pub fn v2_ipv4(host: u8, priority: u8, interval_cs: u16) -> Config {
    Config {
        version: Version::V2,
        ..v3_ipv4(host, priority, interval_cs)
    }
}

/// Whole-node configurations for [`crate::lan::Lan`] hosts: VRRPv3, interface `eth0`,
/// preempt on, the default announce schedule, the README's defaults otherwise.
pub mod node {
    use std::path::PathBuf;
    use std::time::Duration;

    use vipd_node::config::{Config, GarpConfig, InstanceConfig, Vip};
    use vipd_wire::{V3Checksum, Version};

    /// The admin group of every simulated node's configuration (`operator_group`).
    pub const ADMIN_GID: u32 = 900;

    /// One instance `name` on eth0: VRID `vrid`, `priority`, adverts every
    /// `interval_ms`, these VIPs (`addr/prefix`).
    pub fn instance(
        name: &str,
        vrid: u8,
        priority: u8,
        interval_ms: u64,
        vips: &[&str],
    ) -> InstanceConfig {
        InstanceConfig {
            name: name.into(),
            interface: crate::lan::IFACE.into(),
            vrid,
            priority,
            advert_interval: Duration::from_millis(interval_ms),
            version: Version::V3,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: true,
            checksum: V3Checksum::PseudoHeader,
            vips: vips.iter().map(|v| vip(v)).collect(),
            garp: GarpConfig {
                count: 3,
                repeat_after: Duration::from_secs(2),
                refresh: Duration::ZERO,
            },
            unicast_peers: Vec::new(),
            routers: None,
            auth: None,
            track: Vec::new(),
            notify: vipd_node::config::NotifyConfig::none(),
        }
    }

    /// A VIP written `addr/prefix`; panics on a typo (test data only).
    pub fn vip(text: &str) -> Vip {
        text.parse()
            .unwrap_or_else(|e| panic!("bad VIP {text:?} in a scenario: {e}"))
    }

    /// A node configuration of these instances (admin group [`ADMIN_GID`]).
    pub fn config(instances: Vec<InstanceConfig>) -> Config {
        Config {
            control_socket: PathBuf::from("/run/vipd/vipd.sock"),
            realtime_priority: 0,
            lock_memory: false,
            metrics: None,
            peers: Vec::new(),
            log_level: None,
            state_dir: PathBuf::from("/var/lib/vipd"),
            admin_gid: Some(ADMIN_GID),
            instances,
            checks: Default::default(),
            groups: Vec::new(),
            announce: Vec::new(),
        }
    }

    /// The usual web instance: VRID 51, VIP 192.0.2.50/24, adverts every `interval_ms`.
    pub fn web(priority: u8, interval_ms: u64) -> Config {
        config(vec![instance(
            "web",
            51,
            priority,
            interval_ms,
            &["192.0.2.50/24"],
        )])
    }
}
