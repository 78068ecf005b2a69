//! The config file as written. Every field is an `Option`, so validation can tell "left
//! out" from "written": it takes the default for an optional field, and names a missing
//! required one by its full path (serde's own "missing field" error is raised for the
//! enclosing mapping, so its path would stop there).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use vipd_wire::{V3Checksum, Version};

use super::address_lists::{PeerList, VipList};
use super::check_raw::Argv;
use super::fields::{
    DurationField, GroupName, IfName, InstanceName, KeyPath, ListenAddr, LogLevel, RangedU8,
    SocketPath, StateDir,
};

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `instances` (and optionally `control_socket`, `log_level`, `state_dir`, `operator_group`, `checks`, `groups`, `metrics`, `cluster_peers`, ...)"
)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub control_socket: Option<SocketPath>,
    #[serde(default)]
    pub state_dir: Option<StateDir>,
    #[serde(default)]
    pub operator_group: Option<GroupName>,
    #[serde(default)]
    pub log_level: Option<LogLevel>,
    #[serde(default)]
    pub realtime_priority: Option<RangedU8<0, 99>>,
    #[serde(default)]
    pub lock_memory: Option<bool>,
    #[serde(default)]
    pub instances: Option<Vec<RawInstance>>,
    #[serde(default)]
    pub checks: Option<std::collections::BTreeMap<String, super::check_raw::RawCheck>>,
    #[serde(default)]
    pub metrics: Option<RawMetrics>,
    #[serde(default)]
    pub groups: Option<Vec<RawGroup>>,
    #[serde(default)]
    pub cluster_peers: Option<Vec<RawPeer>>,
    #[serde(default)]
    pub announce: Option<Vec<super::announce::RawAnnounce>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a peer: a mapping with `address` (its metrics listener, ADDR:PORT) and optionally `name`"
)]
pub(super) struct RawPeer {
    #[serde(default)]
    pub name: Option<InstanceName>,
    #[serde(default)]
    pub address: Option<ListenAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with `listen`")]
pub(super) struct RawMetrics {
    #[serde(default)]
    pub listen: Option<ListenAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a sync group: a mapping with `name` and `instances` (and optionally `notify`, \
                 `notify_timeout`, `notify_positional`)"
)]
pub(super) struct RawGroup {
    #[serde(default)]
    pub name: Option<InstanceName>,
    #[serde(default)]
    pub instances: Option<Vec<InstanceName>>,
    #[serde(default)]
    pub notify: Option<RawNotify>,
    #[serde(default)]
    pub notify_timeout: Option<DurationField>,
    #[serde(default)]
    pub notify_positional: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an instance: a mapping with `name`, `interface`, `vrid`, `vips`, ..."
)]
pub(super) struct RawInstance {
    #[serde(default)]
    pub name: Option<InstanceName>,
    #[serde(default)]
    pub interface: Option<IfName>,
    #[serde(default)]
    pub vrid: Option<RangedU8<1, 255>>,
    #[serde(default)]
    pub priority: Option<RangedU8<1, 255>>,
    #[serde(default)]
    pub advert_interval: Option<DurationField>,
    #[serde(default)]
    pub version: Option<RawVersion>,
    #[serde(default)]
    pub preempt: Option<bool>,
    #[serde(default)]
    pub preempt_delay: Option<DurationField>,
    #[serde(default)]
    pub accept: Option<bool>,
    #[serde(default)]
    pub checksum: Option<RawChecksum>,
    #[serde(default)]
    pub vips: Option<VipList>,
    #[serde(default)]
    pub garp: Option<RawGarp>,
    #[serde(default)]
    pub unicast_peers: Option<PeerList>,
    #[serde(default)]
    pub routers: Option<RangedU8<2, 255>>,
    pub auth: Option<RawAuth>,
    pub track: Option<Vec<super::check_raw::RawTrack>>,
    #[serde(default)]
    pub notify: Option<RawNotify>,
    #[serde(default)]
    pub notify_timeout: Option<DurationField>,
    #[serde(default)]
    pub notify_positional: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of hooks: `master`, `backup`, `fault`, `stopped`, `any`, each an argv list"
)]
pub(super) struct RawNotify {
    #[serde(default)]
    pub master: Option<Argv>,
    #[serde(default)]
    pub backup: Option<Argv>,
    #[serde(default)]
    pub fault: Option<Argv>,
    #[serde(default)]
    pub stopped: Option<Argv>,
    #[serde(default)]
    pub any: Option<Argv>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `count`, `repeat_after`, `refresh`"
)]
pub(super) struct RawGarp {
    #[serde(default)]
    pub count: Option<RangedU8<1, 100>>,
    #[serde(default)]
    pub repeat_after: Option<DurationField>,
    #[serde(default)]
    pub refresh: Option<DurationField>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `key_file` (and optionally `previous_key_file`)"
)]
pub(super) struct RawAuth {
    #[serde(default)]
    pub key_file: Option<KeyPath>,
    #[serde(default)]
    pub previous_key_file: Option<KeyPath>,
}

/// `version:` as written: 2 or 3 (mapped to [`Version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawVersion(pub Version);

impl<'de> Deserialize<'de> for RawVersion {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawVersion;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("2 or 3")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawVersion, E> {
                match v {
                    2 => Ok(RawVersion(Version::V2)),
                    3 => Ok(RawVersion(Version::V3)),
                    _ => Err(E::custom(format!(
                        "unsupported VRRP version {v}; expected 2 or 3"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawVersion, E> {
                Err(E::custom(format!(
                    "unsupported VRRP version {v}; expected 2 or 3"
                )))
            }
        }
        de.deserialize_any(V)
    }
}

/// `checksum:` as written: how a VRRPv3 advert over IPv4 is checksummed (IPv6 always
/// uses the pseudo-header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawChecksum {
    /// RFC 5798 §5.2.8: over the pseudo-header and the VRRP message. What keepalived
    /// sends; the default.
    Rfc5798,
    /// RFC 9568 §5.2.8: over the VRRP message only, as in VRRPv2.
    Rfc9568,
}

impl From<RawChecksum> for V3Checksum {
    fn from(c: RawChecksum) -> V3Checksum {
        match c {
            RawChecksum::Rfc5798 => V3Checksum::PseudoHeader,
            RawChecksum::Rfc9568 => V3Checksum::NoPseudoHeader,
        }
    }
}
