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
