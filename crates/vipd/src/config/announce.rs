//! `announce:`: instances that announce their VIPs through the host's BGP speaker
//! instead of electing a master ([`vipd_node::announce`]). The raw shape mirrors the
//! file; `build_announce` applies defaults and the rules that involve other sections.
//!
//! ```yaml
//! announce:
//!   - name: web-anycast
//!     via: bgp                # the only kind; optional
//!     interface: vipd0        # default vipd0; vipd creates it and owns it
//!     vips: [192.0.2.80/32]   # host routes: /32 or /128
//!     track: [nginx]          # bare name: withdrawn while it fails
//!     withdraw_below: 0       # default 0: withdrawn while the weights add up below it
//!     drain: 2s               # default 2s: answered locally after the withdrawal
//!     notify: {announcing: [/usr/local/bin/hook]}   # also draining, withdrawn, any
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;
use vipd_node::announce::{
    AnnounceConfig, AnnounceNotify, DEFAULT_DRAIN, DEFAULT_INTERFACE, LOOPBACK,
};
use vipd_node::config::{CheckConfig, InstanceConfig};

use super::address_lists::VipList;
use super::check_raw::{Argv, RawTrack};
use super::fields::{DurationField, IfName, InstanceName};
use super::path::FieldPath;
use super::validate::{required, Problem};

/// The longest drain: a stopping vipd waits for it within its 20 s for VIP removals.
pub(super) const MAX_DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an announced instance: a mapping with `name`, `vips` (and optionally `via`, \
                 `interface`, `track`, `withdraw_below`, `drain`)"
)]
pub(super) struct RawAnnounce {
    #[serde(default)]
    pub name: Option<InstanceName>,
    #[serde(default)]
    pub via: Option<Via>,
    #[serde(default)]
    pub interface: Option<IfName>,
    #[serde(default)]
    pub vips: Option<VipList>,
    #[serde(default)]
    pub track: Option<Vec<RawTrack>>,
    #[serde(default)]
    pub withdraw_below: Option<i32>,
    #[serde(default)]
    pub drain: Option<DurationField>,
    #[serde(default)]
    pub notify: Option<RawAnnounceNotify>,
    #[serde(default)]
    pub notify_timeout: Option<DurationField>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of hooks: `announcing`, `draining`, `withdrawn`, `any`, each an argv list"
)]
pub(super) struct RawAnnounceNotify {
    #[serde(default)]
    pub announcing: Option<Argv>,
    #[serde(default)]
    pub draining: Option<Argv>,
    #[serde(default)]
    pub withdrawn: Option<Argv>,
    #[serde(default)]
    pub any: Option<Argv>,
}

/// How the VIPs reach the routers: through the host's BGP speaker (FRR, BIRD), which
/// redistributes the announce interface's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Via {
    Bgp,
}

/// Builds the `announce:` list; `at` is its path. Names must differ from every VRRP
/// instance's and each other's; no VIP may be another instance's; the announce
/// interface is vipd's own (no VRRP instance runs on it, and it is not `lo`).
pub(super) fn build_announce(
    raw: Vec<RawAnnounce>,
    instances: &[InstanceConfig],
    checks: &BTreeMap<String, CheckConfig>,
    at: &FieldPath,
) -> Result<Vec<AnnounceConfig>, Problem> {
    let mut out: Vec<AnnounceConfig> = Vec::with_capacity(raw.len());
    let mut names: HashMap<String, usize> = HashMap::new();
    for (k, r) in raw.into_iter().enumerate() {
        let here = at.index(k);
        let name = required(r.name, &here, "name")?.0;
        let vips = required(r.vips, &here, "vips")?.0;
        if let Some(i) = instances.iter().position(|i| i.name == name) {
            return Err(Problem::new(
                here.key("name"),
                format!("name `{name}` is already used by instances[{i}]"),
            ));
        }
        if let Some(first) = names.insert(name.clone(), k) {
            return Err(Problem::new(
                here.key("name"),
                format!("name `{name}` is already used by announce[{first}]"),
            ));
        }
        let _via = r.via.unwrap_or(Via::Bgp);
        let interface = r
            .interface
            .map_or_else(|| DEFAULT_INTERFACE.to_string(), |i| i.0);
        if interface == LOOPBACK {
            return Err(Problem::new(
                here.key("interface"),
                "lo is where withdrawn VIPs drain; give the announce interface a name of its \
                 own (e.g. vipd0)",
            ));
        }
        if let Some(i) = instances.iter().position(|i| i.interface == interface) {
            return Err(Problem::new(
                here.key("interface"),
                format!(
                    "{interface} is the interface of instances[{i}]; the announce interface is \
                     vipd's own (it creates it), e.g. vipd0"
                ),
            ));
        }
        for (j, v) in vips.iter().enumerate() {
            let host = if v.addr.is_ipv4() { 32 } else { 128 };
            if v.prefix_len != host {
                return Err(Problem::new(
                    here.key("vips").index(j),
                    format!(
                        "{v}: an announced VIP is a host route; write it as {}/{host}",
                        v.addr
                    ),
                ));
            }
            let clash = instances
                .iter()
                .map(|i| (format!("instances {}", i.name), &i.vips))
                .chain(
                    out.iter()
                        .map(|a| (format!("announce {}", a.name), &a.vips)),
                )
                .find(|(_, list)| list.iter().any(|o| o.addr == v.addr));
            if let Some((owner, _)) = clash {
                return Err(Problem::new(
                    here.key("vips").index(j),
                    format!(
                        "VIP {} is already managed by {owner}; each VIP belongs to one instance",
                        v.addr
                    ),
                ));
            }
        }
        let drain = r.drain.map_or(DEFAULT_DRAIN, |d| d.0);
        if drain > MAX_DRAIN {
            return Err(Problem::new(
                here.key("drain"),
                format!(
                    "{} is longer than {}: a stopping vipd waits for the drain",
                    super::HumanDuration(drain),
                    super::HumanDuration(MAX_DRAIN)
                ),
            ));
        }
        let track = match r.track {
            Some(t) => super::tracking::build_track(t, checks, &here.key("track"))?,
            None => Vec::new(),
        };
        out.push(AnnounceConfig {
            name,
            interface,
            vips,
            track,
            withdraw_below: r.withdraw_below.unwrap_or(0),
            drain,
            notify: build_notify(r.notify, r.notify_timeout.map(|d| d.0), &here)?,
        });
    }
    Ok(out)
}

/// `notify` and `notify_timeout` of an announced instance: each hook's program an
/// absolute path (no `PATH` search), as for VRRP instances.
fn build_notify(
    raw: Option<RawAnnounceNotify>,
    timeout: Option<Duration>,
    at: &FieldPath,
) -> Result<AnnounceNotify, Problem> {
    use super::validate::{MAX_NOTIFY_TIMEOUT, MIN_NOTIFY_TIMEOUT};
    let mut notify = AnnounceNotify::default();
    if let Some(t) = timeout {
        if !(MIN_NOTIFY_TIMEOUT..=MAX_NOTIFY_TIMEOUT).contains(&t) {
            return Err(Problem::new(
                at.key("notify_timeout"),
                format!(
                    "{} is out of range {}..={}",
                    super::HumanDuration(t),
                    super::HumanDuration(MIN_NOTIFY_TIMEOUT),
                    super::HumanDuration(MAX_NOTIFY_TIMEOUT)
                ),
            ));
        }
        notify.timeout = t;
    }
    let Some(raw) = raw else {
        return Ok(notify);
    };
    let at = at.key("notify");
    let hooks = [
        ("announcing", raw.announcing, &mut notify.announcing),
        ("draining", raw.draining, &mut notify.draining),
        ("withdrawn", raw.withdrawn, &mut notify.withdrawn),
        ("any", raw.any, &mut notify.any),
    ];
    for (name, argv, slot) in hooks {
        let Some(argv) = argv else { continue };
        let program = argv.0.first().map(String::as_str).unwrap_or_default();
        if !std::path::Path::new(program).is_absolute() {
            return Err(Problem::new(
                at.key(name).index(0),
                format!(
                    "`{program}` is not an absolute path; hooks run with a minimal PATH and \
                     no shell, so name the program by its full path"
                ),
            ));
        }
        *slot = Some(argv.0);
    }
    Ok(notify)
}
