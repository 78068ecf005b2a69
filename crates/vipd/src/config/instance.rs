//! One `instances:` entry built: its defaults, its interval within the version's field
//! (RFC 5798 §5.2.7, RFC 3768 §5.3.7), its peers, gratuitous ARP and authentication.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use vipd_node::config::AuthConfig;
use vipd_wire::{V3Checksum, Version};

use super::duration::HumanDuration;
use super::path::FieldPath;
use super::raw::{RawAuth, RawGarp, RawInstance};
use super::validate::{build_notify, defaults, required, Problem, ReadKey};
use super::{GarpConfig, InstanceConfig, Vip};

/// RFC 5798 §5.2.7: a 12-bit count of centiseconds.
const V3_MAX_INTERVAL_CS: u128 = 4095;
/// RFC 3768 §5.3.7: an 8-bit count of seconds.
const V2_MAX_INTERVAL_S: u128 = 255;

pub(super) fn build_instance(
    raw: RawInstance,
    at: &FieldPath,
    read_key: ReadKey<'_>,
    checks: &std::collections::BTreeMap<String, vipd_node::config::CheckConfig>,
) -> Result<InstanceConfig, Problem> {
    let name = required(raw.name, at, "name")?.0;
    let interface = required(raw.interface, at, "interface")?.0;
    let vrid = required(raw.vrid, at, "vrid")?.0;
    let vips = required(raw.vips, at, "vips")?.0;
    let version = raw.version.map_or(Version::V3, |v| v.0);
    let ipv6 = vips.first().is_some_and(|v| v.addr.is_ipv6());

    if version == Version::V2 && ipv6 {
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
            Version::V2 => defaults::ADVERT_INTERVAL_V2,
            Version::V3 => defaults::ADVERT_INTERVAL_V3,
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

    let checksum = raw
        .checksum
        .map_or(V3Checksum::PseudoHeader, V3Checksum::from);
    if checksum == V3Checksum::NoPseudoHeader && (version == Version::V2 || ipv6) {
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
fn check_interval(version: Version, d: Duration) -> Result<(), String> {
    let shown = HumanDuration(d);
    let nanos = d.as_nanos();
    match version {
        Version::V3 => {
            let cs = nanos / 10_000_000;
            if !nanos.is_multiple_of(10_000_000) {
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
        Version::V2 => {
            let s = nanos / 1_000_000_000;
            if !nanos.is_multiple_of(1_000_000_000) {
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
        assert!(check_interval(Version::V3, ms(10)).is_ok());
        assert!(check_interval(Version::V3, ms(40950)).is_ok());
        assert!(check_interval(Version::V3, ms(40960)).is_err());
        assert!(check_interval(Version::V3, ms(0)).is_err());
        assert!(check_interval(Version::V3, ms(15)).is_err());
        assert!(check_interval(Version::V2, ms(1000)).is_ok());
        assert!(check_interval(Version::V2, ms(255_000)).is_ok());
        assert!(check_interval(Version::V2, ms(256_000)).is_err());
        assert!(check_interval(Version::V2, ms(1500)).is_err());
        assert!(check_interval(Version::V2, ms(0)).is_err());
    }
}
