//! The config file as written: every optional field is an `Option`, so validation can
//! tell "left out" (take the default) from "written" (check it against other fields).

use serde::Deserialize;

use super::fields::{DurationField, IfName, InstanceName, LogLevel, RangedU8, SocketPath, VipList};
use super::{ChecksumMode, VrrpVersion};

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `instances` (and optionally `control_socket`, `log_level`)"
)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub control_socket: Option<SocketPath>,
    #[serde(default)]
    pub log_level: Option<LogLevel>,
    pub instances: Vec<RawInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an instance: a mapping with `name`, `interface`, `vrid`, `vips`, ..."
)]
pub(super) struct RawInstance {
    pub name: InstanceName,
    pub interface: IfName,
    pub vrid: RangedU8<1, 255>,
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
    pub vips: VipList,
    #[serde(default)]
    pub garp: Option<RawGarp>,
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
