//! Turning a [`RawConfig`] into a [`Config`]: defaults, and the checks that involve more
//! than one field. Each failure names the field to blame; [`super::locate`] finds it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd_node::config::AuthKey;

use super::duration::HumanDuration;
use super::instance::build_instance;
use super::path::FieldPath;
use super::raw::{RawConfig, RawMetrics, RawNotify};
use super::{Config, InstanceConfig, NotifyConfig};

/// Reads the key in a key file, or says why it cannot (see `super::keys`).
pub(super) type ReadKey<'a> = &'a dyn Fn(&Path) -> Result<AuthKey, String>;

/// A problem with a deserialized config: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub field: FieldPath,
    pub message: String,
}

impl Problem {
    pub(super) fn new(field: FieldPath, message: impl Into<String>) -> Problem {
        Problem {
            field,
            message: message.into(),
        }
    }
}

/// Defaults from the file format's documentation.
pub(super) mod defaults {
    use std::time::Duration;

    pub const PRIORITY: u8 = 100;
    pub const ADVERT_INTERVAL_V3: Duration = Duration::from_millis(200);
    pub const ADVERT_INTERVAL_V2: Duration = Duration::from_secs(1);
    pub const GARP_COUNT: u32 = 3;
    pub const GARP_REPEAT_AFTER: Duration = Duration::from_secs(2);
    pub const GARP_REFRESH: Duration = Duration::ZERO;
}

/// The shortest and longest `notify_timeout`.
pub(super) const MIN_NOTIFY_TIMEOUT: Duration = Duration::from_millis(100);
pub(super) const MAX_NOTIFY_TIMEOUT: Duration = Duration::from_secs(3600);

/// A field the file must have, or "missing field `key`" blamed on `at.key`.
pub(super) fn required<T>(value: Option<T>, at: &FieldPath, key: &str) -> Result<T, Problem> {
    value.ok_or_else(|| Problem::new(at.key(key), format!("missing field `{key}`")))
}

pub(super) fn build(raw: RawConfig, read_key: ReadKey<'_>) -> Result<Config, Problem> {
    let root = FieldPath::root();
    // An announce-only host needs no VRRP instance.
    let announcing = raw.announce.as_ref().is_some_and(|a| !a.is_empty());
    let raw_instances = match raw.instances {
        None if announcing => Vec::new(),
        other => required(other, &root, "instances")?,
    };
    if raw_instances.is_empty() && !announcing {
        return Err(Problem::new(
            root.key("instances"),
            "at least one instance (or `announce` entry) is required",
        ));
    }
    let checks = match raw.checks {
        Some(c) => super::tracking::build_checks(c, &root.key("checks"))?,
        None => Default::default(),
    };
    let mut instances: Vec<InstanceConfig> = Vec::with_capacity(raw_instances.len());
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut routers: HashMap<(String, u8, bool), usize> = HashMap::new();
    for (i, raw_instance) in raw_instances.into_iter().enumerate() {
        let at = root.key("instances").index(i);
        let inst = build_instance(raw_instance, &at, read_key, &checks)?;
        if let Some(first) = names.insert(inst.name.clone(), i) {
            return Err(Problem::new(
                at.key("name"),
                format!(
                    "instance name `{}` is already used by instances[{first}]",
                    inst.name
                ),
            ));
        }
        let router = (inst.interface.clone(), inst.vrid, inst.is_ipv6());
        if let Some(first) = routers.insert(router, i) {
            return Err(Problem::new(
                at.key("vrid"),
                format!(
                    "VRID {} on {} for {} is already used by instances[{first}]; \
                     a VRID identifies one virtual router per interface and address family",
                    inst.vrid,
                    inst.interface,
                    if inst.is_ipv6() { "IPv6" } else { "IPv4" }
                ),
            ));
        }
        // One VIP, one owner: two instances holding the same address would remove
        // each other's VIP on every change of state.
        for (j, other) in instances.iter().enumerate() {
            if let Some(v) = inst
                .vips
                .iter()
                .find(|v| other.vips.iter().any(|o| o.addr == v.addr))
            {
                return Err(Problem::new(
                    at.key("vips"),
                    format!(
                        "VIP {} is already managed by instances[{j}] ({}); each VIP belongs \
                         to one instance",
                        v.addr, other.name
                    ),
                ));
            }
        }
        instances.push(inst);
    }
    // Nor is any other instance's VIP an advert source.
    for (i, inst) in instances.iter().enumerate() {
        for (j, peer) in inst.unicast_peers.iter().enumerate() {
            if let Some((k, other)) = instances
                .iter()
                .enumerate()
                .find(|(_, o)| o.vips.iter().any(|v| v.addr == *peer))
            {
                return Err(Problem::new(
                    root.key("instances").index(i).key("unicast_peers").index(j),
                    format!(
                        "{peer} is a VIP of instances[{k}] ({}); list the peers' own addresses",
                        other.name
                    ),
                ));
            }
        }
    }
    let announce = match raw.announce {
        Some(a) => super::announce::build_announce(a, &instances, &checks, &root.key("announce"))?,
        None => Vec::new(),
    };
    let groups = match raw.groups {
        Some(g) => super::groups::build_groups(g, &instances, &root.key("groups"))?,
        None => Vec::new(),
    };
    let admin_gid = match raw.operator_group {
        None => None,
        Some(g) => {
            Some(resolve_group(&g.0).map_err(|m| Problem::new(root.key("operator_group"), m))?)
        }
    };
    let metrics = raw
        .metrics
        .map(|m| build_metrics(m, &root.key("metrics")))
        .transpose()?;
    let peers = super::peers::build_peers(raw.cluster_peers, metrics.as_ref(), &instances, &root)?;
    Ok(Config {
        control_socket: raw
            .control_socket
            .map_or_else(|| PathBuf::from(vipd_api::DEFAULT_SOCKET), |s| s.0),
        log_level: raw.log_level.map(|l| l.0),
        state_dir: raw.state_dir.map_or_else(
            || PathBuf::from(vipd_node::config::DEFAULT_STATE_DIR),
            |d| d.0,
        ),
        admin_gid,
        realtime_priority: raw.realtime_priority.map_or(0, |p| p.0),
        lock_memory: raw.lock_memory.unwrap_or(false),
        metrics,
        peers,
        instances,
        checks,
        groups,
        announce,
    })
}

/// `metrics:`: `listen` is required.
fn build_metrics(
    raw: RawMetrics,
    at: &FieldPath,
) -> Result<vipd_node::config::MetricsConfig, Problem> {
    Ok(vipd_node::config::MetricsConfig {
        listen: required(raw.listen, at, "listen")?.0,
    })
}

/// The gid of group `name` (a number is taken as a gid), from the host's group
/// database, once, when the configuration is read.
fn resolve_group(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("group `{name}` does not exist on this host")),
        Err(e) => Err(format!("cannot look up group `{name}`: {e}")),
    }
}

/// `notify`, `notify_timeout`, `notify_positional`: each hook's program an absolute
/// path (no `PATH` search: what runs does not depend on the environment). An instance's
/// and a sync group's alike.
pub(super) fn build_notify(
    raw: Option<RawNotify>,
    timeout: Option<Duration>,
    positional: Option<bool>,
    at: &FieldPath,
) -> Result<NotifyConfig, Problem> {
    let timeout = timeout.unwrap_or(vipd_node::notify::DEFAULT_TIMEOUT);
    if !(MIN_NOTIFY_TIMEOUT..=MAX_NOTIFY_TIMEOUT).contains(&timeout) {
        return Err(Problem::new(
            at.key("notify_timeout"),
            format!(
                "{} is out of range {}..={}",
                HumanDuration(timeout),
                HumanDuration(MIN_NOTIFY_TIMEOUT),
                HumanDuration(MAX_NOTIFY_TIMEOUT)
            ),
        ));
    }
    let mut notify = NotifyConfig {
        timeout,
        positional: positional.unwrap_or(false),
        ..NotifyConfig::none()
    };
    let Some(raw) = raw else {
        return Ok(notify);
    };
    let at = at.key("notify");
    let hooks = [
        ("master", raw.master, &mut notify.master),
        ("backup", raw.backup, &mut notify.backup),
        ("fault", raw.fault, &mut notify.fault),
        ("stopped", raw.stopped, &mut notify.stop),
        ("any", raw.any, &mut notify.any),
    ];
    for (name, argv, slot) in hooks {
        let Some(argv) = argv else { continue };
        let program = argv.0.first().map(String::as_str).unwrap_or_default();
        if !Path::new(program).is_absolute() {
            return Err(Problem::new(
                at.key(name).index(0),
                format!(
                    "`{program}` is not an absolute path; hooks run with a minimal PATH and \
                     no shell, so name the program by its full path (e.g. /usr/local/bin/{})",
                    program.rsplit('/').next().unwrap_or(program)
                ),
            ));
        }
        *slot = Some(argv.0);
    }
    Ok(notify)
}
