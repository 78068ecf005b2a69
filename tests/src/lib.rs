//! End-to-end harness for vipd: a bridged LAN of network namespaces, the real `vipd`,
//! `vipctl` and `keepalived` binaries running in them, and the tools the tests measure
//! with (a 5 ms pinger, `ip monitor`, `tcpdump`, a raw VRRP packet sender).
//!
//! Network rules the harness keeps to:
//! - every packet stays inside namespaces it created (a bridge namespace plus one
//!   namespace per host, joined by veth pairs created directly inside them, so nothing
//!   is ever added to the namespace the tests run in);
//! - addresses only from 192.0.2.0/24 and 2001:db8::/64 (and the kernel's fe80::);
//! - namespace names are `vte2e-<test id>-<pid>-<role>`, so parallel tests never clash
//!   and a later run can sweep what a dead one left behind;
//! - everything is torn down in `Drop`, which also runs when a test panics; a failing
//!   test prints the daemons' logs from there.
//!
//! Layout: [`lan`] (the LAN and its hosts: topology, commands in a namespace, reading
//! addresses back, the vipd process, its status and vipctl, keepalived), [`agree`]
//! (whether `vipctl status` agrees with `ip addr`), [`proc`] (child processes and line
//! monitors), [`roles`] (who is master: waiting for it, describing it), [`setup`] (the
//! starting points the tests share), [`events`] (`ip monitor address` lines), [`capture`]
//! (what `tcpdump` printed: adverts, gratuitous ARPs, packet bytes), [`ping`]
//! (outage measurement), [`web`] (nginx on a host and an HTTP client for the
//! health-check tests), [`soak`] (the chaos soak's driver and
//! invariant checker), [`inject`] (hand-made VRRP packets), [`configs`] (vipd YAML and
//! keepalived configuration text), [`bins`] (finding and building the binaries under
//! test), [`netns`] (namespaces and the stale sweep), [`util`] (bounded waiting,
//! command helpers and the timing lock that keeps timed tests apart from every other).

pub mod agree;
pub mod bins;
pub mod capture;
pub mod configs;
pub mod events;
pub mod frr;
pub mod hosts;
pub mod inject;
pub mod lan;
pub mod netns;
pub mod ping;
pub mod proc;
pub mod roles;
pub mod setup;
pub mod soak;
pub mod util;
pub mod web;

pub use agree::assert_vipctl_agrees;
pub use configs::{
    keepalived_conf, keepalived_unicast_conf, vipd_yaml, web_config, KeepalivedInstance,
    VipdInstance,
};
pub use lan::{run_vipd_unprivileged, vipd_unprivileged, Host, Lan};
pub use nix::sys::signal::Signal;
pub use ping::{PingReport, Pinger};
pub use proc::{Line, Monitor, Proc};
pub use roles::{assert_roles, describe, describe_all, holders, wait_master, wait_roles};
pub use setup::{start_pair, start_web};
pub use util::{epoch_now, exclusive, run_timeout, wait_until, TimingLock};

/// The VIP most tests float.
pub const VIP4: &str = "192.0.2.50";
/// [`VIP4`] with its prefix length, as configured and as `ip addr` takes it.
pub const VIP4_CIDR: &str = "192.0.2.50/24";
/// The IPv6 VIP.
pub const VIP6: &str = "2001:db8::50";
/// [`VIP6`] with its prefix length.
pub const VIP6_CIDR: &str = "2001:db8::50/64";

/// RFC 5798 §6.1 Skew_Time in milliseconds, exact:
/// ((256 − Priority) × Master_Adver_Interval) / 256.
pub fn skew_ms(priority: u8, advert_interval_ms: f64) -> f64 {
    (256.0 - f64::from(priority)) * advert_interval_ms / 256.0
}

/// RFC 5798 §6.1 Master_Down_Interval in milliseconds: 3 × interval + skew.
pub fn master_down_ms(priority: u8, advert_interval_ms: f64) -> f64 {
    3.0 * advert_interval_ms + skew_ms(priority, advert_interval_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_exact() {
        // 156 × 20 cs / 256 = 12.1875 cs.
        assert!((skew_ms(100, 200.0) - 121.875).abs() < 1e-9);
        assert!((master_down_ms(100, 200.0) - 721.875).abs() < 1e-9);
    }
}
