//! Who is master: waiting until the routers settle into the roles a test expects, and
//! describing who holds what, for assertion messages.

use std::time::Duration;

use vipd_api::State;

use crate::lan::Host;
use crate::util::wait_until;

/// A one-line-per-host picture of who holds `vip` and what each vipd says, for
/// assertion messages.
pub fn describe(hosts: &[&Host], vip: &str) -> String {
    hosts
        .iter()
        .map(|h| {
            let st = match h.try_status() {
                Ok(s) => s
                    .instances
                    .first()
                    .map(|i| {
                        format!(
                            "{} ({}, transitions {})",
                            i.state.as_str(),
                            i.reason,
                            i.transitions
                        )
                    })
                    .unwrap_or_else(|| "no instance".into()),
                Err(e) => format!("no status: {e}"),
            };
            format!("{}: holds {vip}: {}, vipd: {st}", h.name, h.has_addr(vip))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every instance of every host, one line each (state, reason, transitions, VIPs as
/// vipd reports them and whether `ip addr` on the instance's interface has them), plus
/// each host's addresses per interface, for assertion messages in tests with several
/// instances or interfaces.
pub fn describe_all(hosts: &[&Host]) -> String {
    let mut out = Vec::new();
    for h in hosts {
        let mut ifaces = vec!["eth0".to_string()];
        ifaces.extend(h.extra_interfaces());
        for iface in &ifaces {
            out.push(format!(
                "{} {iface}: {}",
                h.name,
                h.addresses_on(iface).join(" ")
            ));
        }
        match h.try_status() {
            Ok(s) if s.instances.is_empty() => out.push(format!("{}: no instances", h.name)),
            Ok(s) => {
                for i in &s.instances {
                    let vips = i
                        .vips
                        .iter()
                        .map(|v| {
                            let addr = v.address.split('/').next().unwrap_or(&v.address);
                            format!(
                                "{} present={} in-kernel={}",
                                v.address,
                                v.present,
                                h.has_addr_on(&i.interface, addr)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    out.push(format!(
                        "{} {} ({} vrid {}): {} ({}, transitions {}), {vips}",
                        h.name,
                        i.name,
                        i.interface,
                        i.vrid,
                        i.state.as_str(),
                        i.reason,
                        i.transitions
                    ));
                }
            }
            Err(e) => out.push(format!("{}: no status: {e}", h.name)),
        }
    }
    out.join("\n")
}

/// Waits until `master` is vipd master holding `vip` and every other host is backup
/// without it. `hosts` must include `master`.
pub fn wait_roles(hosts: &[&Host], master: &str, vip: &str, timeout: Duration) -> bool {
    wait_until(timeout, Duration::from_millis(20), || {
        hosts.iter().all(|h| {
            let want = if h.name == master {
                State::Master
            } else {
                State::Backup
            };
            h.state() == Some(want) && h.has_addr(vip) == (h.name == master)
        })
    })
}

/// Names of the hosts holding `vip` (by `ip addr`).
pub fn holders(hosts: &[&Host], vip: &str) -> Vec<String> {
    hosts
        .iter()
        .filter(|h| h.has_addr(vip))
        .map(|h| h.name.clone())
        .collect()
}

/// [`wait_roles`], panicking with `what` and who holds what if the roles do not come
/// about within `timeout`.
pub fn assert_roles(hosts: &[&Host], master: &str, vip: &str, timeout: Duration, what: &str) {
    assert!(
        wait_roles(hosts, master, vip, timeout),
        "{what}:\n{}",
        describe(hosts, vip)
    );
}

/// Waits (polling every 5 ms) until `h`'s vipd is master and `h` holds `vip`.
pub fn wait_master(h: &Host, vip: &str, timeout: Duration) -> bool {
    wait_until(timeout, Duration::from_millis(5), || {
        h.has_addr(vip) && h.state() == Some(State::Master)
    })
}
