//! The validated configuration a [`crate::Node`] runs: what the file said, with defaults
//! applied and every cross-field rule checked. Reading and parsing the file is the
//! daemon's business (`vipd::config`); nothing here touches a file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::announce_config::AnnounceConfig;
pub use crate::auth::{AuthConfig, AuthKey, KeyError};
pub use crate::check_config::{
    CheckConfig, CheckInit, CheckKind, HostPort, HttpCheck, ProcessMatch, StatusMatch, Track,
};
pub use crate::notify_config::NotifyConfig;
pub use crate::vip::{Vip, VipParseError};
use vipd_engine::{V3Checksum, Version};

/// The state directory unless configured otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/vipd";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the control socket listens; default [`vipd_api::DEFAULT_SOCKET`].
    pub control_socket: PathBuf,
    /// One of [`LOG_LEVELS`], lower-cased; `RUST_LOG` overrides it.
    pub log_level: Option<String>,
    /// Where vipd keeps state across restarts (maintenance); default
    /// [`DEFAULT_STATE_DIR`].
    pub state_dir: PathBuf,
    /// The group (resolved to its gid when the file was read) whose members may run
    /// mutating control commands besides root; none: root only.
    pub admin_gid: Option<u32>,
    /// SCHED_FIFO priority of the daemon's main loop, 1..=99; 0 (the default) = off.
    pub realtime_priority: u8,
    /// Whether the daemon locks its memory in RAM (mlockall). Default false.
    pub lock_memory: bool,
    /// The metrics endpoint (`metrics:`), if configured: the node then publishes its
    /// status ([`crate::Command::PublishStatus`]).
    pub metrics: Option<MetricsConfig>,
    /// The other nodes' metrics listeners (`peers:`, or derived from the instances'
    /// unicast peers at this node's metrics port), for `vipctl status --cluster`. The
    /// node only reports them in its status; nothing here connects to them.
    pub peers: Vec<PeerConfig>,
    /// At least one; names unique, (interface, VRID, family) unique.
    pub instances: Vec<InstanceConfig>,
    /// Health checks by name; instances track them (`InstanceConfig::track`).
    pub checks: std::collections::BTreeMap<String, CheckConfig>,
    /// Sync groups: instances that are master together or not at all
    /// ([`crate::groups`]). Names unique; each has at least two members, every member
    /// an instance of `instances`, and no instance is in two groups.
    pub groups: Vec<GroupConfig>,
    /// Announced instances (`announce:`, [`crate::announce`]): names unique among
    /// these and `instances`, VIPs of no other instance.
    pub announce: Vec<AnnounceConfig>,
}

/// One sync group (keepalived's `vrrp_sync_group`): its members move together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `[A-Za-z0-9_-]{1,15}`, unique among groups.
    pub name: String,
    /// Instance names, at least two, each in no other group.
    pub instances: Vec<String>,
    /// Hooks run on the group's own transitions ([`crate::group_notify`]).
    pub notify: NotifyConfig,
}

/// The HTTP endpoint serving `/metrics` and `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Address and port to listen on, e.g. 127.0.0.1:9650.
    pub listen: std::net::SocketAddr,
}

/// Another node of the cluster, as `vipctl status --cluster` reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// What to call it in tables; its address when none.
    pub name: Option<String>,
    /// Its metrics listener (`/status`).
    pub address: std::net::SocketAddr,
}

/// One virtual router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// `[A-Za-z0-9_-]{1,15}`, unique; used in address labels and logs.
    pub name: String,
    pub interface: String,
    /// 1..=255.
    pub vrid: u8,
    /// 1..=255; 255 means this router owns the addresses (RFC 5798 §6.1). Default 100.
    pub priority: u8,
    /// A whole number of centiseconds (10ms..=40950ms) for v3, of seconds (1..=255) for
    /// v2. Default 200ms (v3) or 1s (v2).
    pub advert_interval: Duration,
    /// Default v3.
    pub version: Version,
    /// Whether a higher-priority backup takes over from a lower-priority master
    /// (RFC 5798 §6.1 Preempt_Mode). Default true.
    pub preempt: bool,
    /// How long to wait before preempting. Default 0s.
    pub preempt_delay: Duration,
    /// RFC 5798 §6.1 Accept_Mode: whether a master that does not own the VIPs accepts
    /// packets addressed to them. Only affects the data-plane policy of non-owner
    /// masters. Default true.
    pub accept: bool,
    /// How VRRPv3 over IPv4 adverts are checksummed when sent (either form is
    /// received; VRRPv2 and IPv6 have no choice). Default RFC 5798's
    /// [`V3Checksum::PseudoHeader`].
    pub checksum: V3Checksum,
    /// 1..=255 addresses, all of one family (IPv4 only for v2), no duplicates.
    pub vips: Vec<Vip>,
    pub garp: GarpConfig,
    /// Unicast peers, for networks without multicast: when not empty, adverts go to each
    /// of these addresses instead of the VRRP group, and only adverts from them are
    /// accepted (the rest are dropped as `not_a_peer`). The peers' advert sources: of
    /// the instance's family, link-local for IPv6; no duplicates, none a VIP. Empty (the
    /// default): multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// How many routers take part in this virtual router, this one included, when the
    /// operator declares it (`routers:`); None: unknown (with `unicast_peers`, their
    /// number plus one). Two lets a backup take over on the master's priority-0 advert
    /// at once (it is the only backup) and a master whose tracked check fails hand over
    /// make-before-break.
    pub routers: Option<u8>,
    /// HMAC-SHA256 authentication of adverts among vipd peers ([`crate::auth`]); none
    /// by default. The keys come from the key files the daemon read.
    pub auth: Option<AuthConfig>,
    /// The checks this instance tracks; every name is a key of `Config::checks`.
    pub track: Vec<Track>,
    /// Programs run on its state transitions ([`crate::notify`]).
    pub notify: NotifyConfig,
}

/// Gratuitous ARP / unsolicited Neighbor Advertisement announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// Frames per burst on becoming master, 1..=100. Default 3.
    pub count: u32,
    /// A second burst this long after becoming master; zero means none. Default 2s.
    pub repeat_after: Duration,
    /// Re-announce this often while master; zero means never (the default).
    pub refresh: Duration,
}

impl InstanceConfig {
    /// Whether `other` is the same virtual router on the same link, so that a reload
    /// can update it in place: interface, VRID, version and VIPs (with prefix lengths)
    /// unchanged; priority, interval, unicast peers and the rest may differ. (Reload
    /// also matches instances by name.)
    pub fn same_identity(&self, other: &InstanceConfig) -> bool {
        self.interface == other.interface
            && self.vrid == other.vrid
            && self.version == other.version
            && self.vips.len() == other.vips.len()
            && self.vips.iter().all(|v| other.vips.contains(v))
    }

    /// The advertisement interval in centiseconds, the unit of the VRRPv3 Max Adver Int
    /// field (RFC 5798 §5.2.7). Validation guarantees it fits: at most 4095 for v3,
    /// 25500 for v2.
    pub fn advert_interval_cs(&self) -> u16 {
        u16::try_from(self.advert_interval.as_millis() / 10).unwrap_or(u16::MAX)
    }

    /// Whether the instance's VIPs (and so its adverts) are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr.is_ipv6())
    }
}
