//! Turning a [`RawConfig`] into a [`Config`]: defaults, and the checks that involve more
//! than one field. Each failure names the field to blame; [`super::locate`] finds it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd_node::config::{AuthConfig, AuthKey};

use super::duration::HumanDuration;
use super::path::FieldPath;
use super::raw::{RawAuth, RawConfig, RawGarp, RawInstance, RawMetrics, RawNotify};
use super::VrrpVersion;
use super::{ChecksumMode, Config, GarpConfig, InstanceConfig, NotifyConfig, Vip};

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

/// RFC 5798 §5.2.7: a 12-bit count of centiseconds.
const V3_MAX_INTERVAL_CS: u128 = 4095;
/// RFC 3768 §5.3.7: an 8-bit count of seconds.
const V2_MAX_INTERVAL_S: u128 = 255;

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

fn build_instance(
    raw: RawInstance,
    at: &FieldPath,
    read_key: ReadKey<'_>,
    checks: &std::collections::BTreeMap<String, vipd_node::config::CheckConfig>,
) -> Result<InstanceConfig, Problem> {
    let name = required(raw.name, at, "name")?.0;
    let interface = required(raw.interface, at, "interface")?.0;
    let vrid = required(raw.vrid, at, "vrid")?.0;
    let vips = required(raw.vips, at, "vips")?.0;
    let version = raw.version.unwrap_or(VrrpVersion::V3);
    let ipv6 = vips.first().is_some_and(|v| v.addr.is_ipv6());

    if version == VrrpVersion::V2 && ipv6 {
        return Err(Problem::new(
            at.key("version"),
            "VRRPv2 is IPv4-only but the VIPs are IPv6; use version: 3",
        ));
    }

    let advert_interval = match raw.advert_interval {
        Some(d) => {
            check_interval(version, d.0).map_err(|m| Problem::new(at.key("advert_interval"), m))?;
            d.0
        }
        None => match version {
            VrrpVersion::V2 => defaults::ADVERT_INTERVAL_V2,
            VrrpVersion::V3 => defaults::ADVERT_INTERVAL_V3,
        },
    };

    // RFC 5798 §6.1 Accept_Mode false asks the master to drop packets addressed to
    // VIPs it does not own; vipd has no packet filter to do that with, so it says so
    // rather than silently accepting them.
    if raw.accept == Some(false) {
        return Err(Problem::new(
            at.key("accept"),
            "accept: false is not supported yet (vipd installs no packet filter); \
             remove it or set accept: true",
        ));
    }

    let checksum = raw.checksum.unwrap_or(ChecksumMode::Rfc5798);
    if checksum == ChecksumMode::Rfc9568 && (version == VrrpVersion::V2 || ipv6) {
        return Err(Problem::new(
            at.key("checksum"),
            "rfc9568 only changes VRRPv3 over IPv4; remove it for this instance",
        ));
    }

    let unicast_peers = raw.unicast_peers.map_or_else(Vec::new, |p| p.0);
    check_peers(&unicast_peers, &vips, &at.key("unicast_peers"))?;
    let routers = raw.routers.map(|r| r.0);
    if let Some(n) = routers.filter(|_| !unicast_peers.is_empty()) {
        // With unicast peers the instance hears exactly them: their number says it.
        if usize::from(n) != unicast_peers.len() + 1 {
            return Err(Problem::new(
                at.key("routers"),
                format!(
                    "{n} routers, but unicast_peers lists {} (so {} routers with this one); leave routers out or make them agree",
                    unicast_peers.len(),
                    unicast_peers.len() + 1
                ),
            ));
        }
    }

    Ok(InstanceConfig {
        name,
        interface,
        vrid,
        priority: raw.priority.map_or(defaults::PRIORITY, |p| p.0),
        advert_interval,
        version,
        preempt: raw.preempt.unwrap_or(true),
        preempt_delay: raw.preempt_delay.map_or(Duration::ZERO, |d| d.0),
        accept: raw.accept.unwrap_or(true),
        checksum,
        vips,
        garp: build_garp(raw.garp, &at.key("garp"))?,
        unicast_peers,
        routers,
        auth: build_auth(raw.auth, &at.key("auth"), read_key)?,
        track: match raw.track {
            Some(t) => super::tracking::build_track(t, checks, &at.key("track"))?,
            None => Vec::new(),
        },
        notify: build_notify(
            raw.notify,
            raw.notify_timeout.map(|d| d.0),
            raw.notify_positional,
            at,
        )?,
    })
}

/// The shortest and longest `notify_timeout`.
pub(super) const MIN_NOTIFY_TIMEOUT: Duration = Duration::from_millis(100);
pub(super) const MAX_NOTIFY_TIMEOUT: Duration = Duration::from_secs(3600);

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

/// The keys of `auth`, read from their files; a file that cannot be used is blamed on
/// the field that names it.
fn build_auth(
    raw: Option<RawAuth>,
    at: &FieldPath,
    read_key: ReadKey<'_>,
) -> Result<Option<AuthConfig>, Problem> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let key_file = required(raw.key_file, at, "key_file")?.0;
    let read = |path: &Path, field: &str| {
        read_key(path).map_err(|message| Problem::new(at.key(field), message))
    };
    let key = read(&key_file, "key_file")?;
    let previous_key = match raw.previous_key_file {
        Some(p) => Some(read(&p.0, "previous_key_file")?),
        None => None,
    };
    Ok(Some(AuthConfig { key, previous_key }))
}

/// Unicast peers are compared with the source of every advert received, so each must be
/// an address a peer sends from: of the VIPs' family, for IPv6 link-local (RFC 5798
/// §5.1.2.1: IPv6 adverts come from the link-local address), and never one of the VIPs.
fn check_peers(peers: &[IpAddr], vips: &[Vip], at: &FieldPath) -> Result<(), Problem> {
    let ipv6 = vips.first().is_some_and(|v| v.addr.is_ipv6());
    for (j, peer) in peers.iter().enumerate() {
        let blame = |m: String| Err(Problem::new(at.index(j), m));
        if peer.is_ipv6() != ipv6 {
            return blame(format!(
                "{peer} is {} but the VIPs are {}; a peer must be of the instance's \
                 address family",
                if peer.is_ipv6() { "IPv6" } else { "IPv4" },
                if ipv6 { "IPv6" } else { "IPv4" }
            ));
        }
        if let IpAddr::V6(a) = peer {
            // fe80::/10 (`Ipv6Addr::is_unicast_link_local` is newer than the MSRV).
            if a.segments()[0] & 0xffc0 != 0xfe80 {
                return blame(format!(
                    "{peer} is not link-local; IPv6 adverts are sent from the link-local \
                     address (fe80::/10), so list each peer's link-local address"
                ));
            }
        }
        if vips.iter().any(|v| v.addr == *peer) {
            return blame(format!(
                "{peer} is one of this instance's VIPs; list the peers' own addresses"
            ));
        }
    }
    Ok(())
}

/// The shortest periodic re-announcement: more often floods the LAN with ARP for nothing.
const MIN_GARP_REFRESH: Duration = Duration::from_secs(1);

fn build_garp(raw: Option<RawGarp>, at: &FieldPath) -> Result<GarpConfig, Problem> {
    let raw = raw.unwrap_or(RawGarp {
        count: None,
        repeat_after: None,
        refresh: None,
    });
    let refresh = raw.refresh.map_or(defaults::GARP_REFRESH, |d| d.0);
    if !refresh.is_zero() && refresh < MIN_GARP_REFRESH {
        return Err(Problem::new(
            at.key("refresh"),
            format!(
                "{} is too often; use 0s (never) or at least {}",
                HumanDuration(refresh),
                HumanDuration(MIN_GARP_REFRESH)
            ),
        ));
    }
    Ok(GarpConfig {
        count: raw.count.map_or(defaults::GARP_COUNT, |c| u32::from(c.0)),
        repeat_after: raw
            .repeat_after
            .map_or(defaults::GARP_REPEAT_AFTER, |d| d.0),
        refresh,
    })
}

/// The advertisement interval must fit the version's packet field exactly.
fn check_interval(version: VrrpVersion, d: Duration) -> Result<(), String> {
    let shown = HumanDuration(d);
    let nanos = d.as_nanos();
    match version {
        VrrpVersion::V3 => {
            let cs = nanos / 10_000_000;
            if nanos % 10_000_000 != 0 {
                Err(format!(
                    "{shown} is not a whole number of centiseconds; VRRPv3 intervals \
                     go in 10ms steps from 10ms to 40950ms"
                ))
            } else if !(1..=V3_MAX_INTERVAL_CS).contains(&cs) {
                Err(format!(
                    "{shown} is out of range; VRRPv3 intervals go from 10ms to 40950ms"
                ))
            } else {
                Ok(())
            }
        }
        VrrpVersion::V2 => {
            let s = nanos / 1_000_000_000;
            if nanos % 1_000_000_000 != 0 {
                Err(format!(
                    "{shown} is not a whole number of seconds; VRRPv2 intervals \
                     are 1s to 255s"
                ))
            } else if !(1..=V2_MAX_INTERVAL_S).contains(&s) {
                Err(format!(
                    "{shown} is out of range; VRRPv2 intervals are 1s to 255s"
                ))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_limits() {
        let ms = Duration::from_millis;
        assert!(check_interval(VrrpVersion::V3, ms(10)).is_ok());
        assert!(check_interval(VrrpVersion::V3, ms(40950)).is_ok());
        assert!(check_interval(VrrpVersion::V3, ms(40960)).is_err());
        assert!(check_interval(VrrpVersion::V3, ms(0)).is_err());
        assert!(check_interval(VrrpVersion::V3, ms(15)).is_err());
        assert!(check_interval(VrrpVersion::V2, ms(1000)).is_ok());
        assert!(check_interval(VrrpVersion::V2, ms(255_000)).is_ok());
        assert!(check_interval(VrrpVersion::V2, ms(256_000)).is_err());
        assert!(check_interval(VrrpVersion::V2, ms(1500)).is_err());
        assert!(check_interval(VrrpVersion::V2, ms(0)).is_err());
    }
}
