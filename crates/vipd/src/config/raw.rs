//! The config file as written. Every field is an `Option`, so validation can tell "left
//! out" from "written": it takes the default for an optional field, and names a missing
//! required one by its full path (serde's own "missing field" error is raised for the
//! enclosing mapping, so its path would stop there).

use serde::Deserialize;

use super::address_lists::{PeerList, VipList};
use super::check_raw::Argv;
use super::fields::{
    DurationField, GroupName, IfName, InstanceName, KeyPath, ListenAddr, LogLevel, RangedU8,
    SocketPath, StateDir,
};
use super::{ChecksumMode, VrrpVersion};

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
    pub version: Option<VrrpVersion>,
    #[serde(default)]
    pub preempt: Option<bool>,
    #[serde(default)]
    pub preempt_delay: Option<DurationField>,
    #[serde(default)]
    pub accept: Option<bool>,
    #[serde(default)]
    pub checksum: Option<ChecksumMode>,
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
