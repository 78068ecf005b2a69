//! `vipd --check`: validate a configuration without running it, like `nginx -t`; warn
//! about what would work badly on this host, and refuse what vipd would refuse to run.

use std::net::IpAddr;

use crate::config::Config;
use crate::netlink::Netlink;
use vipd_node::instance::Instance;

/// What `--check` found on this host for a valid configuration.
#[derive(Debug, Default)]
pub struct HostReport {
    /// Works badly: missing interfaces, VIPs in a subnet the interface has no address in.
    pub warnings: Vec<String>,
    /// Would be refused at start: a VIP that is already one of the host's own addresses.
    pub errors: Vec<String>,
}

/// Looks at the host for a valid configuration.
pub async fn host_check(cfg: &Config) -> HostReport {
    let mut report = HostReport::default();
    let privileges = crate::realtime::Privileges::current();
    let (errors, warnings) =
        crate::realtime::check(cfg.realtime_priority, cfg.lock_memory, &privileges);
    // What the privileges allow on paper, then what the sandbox really allows.
    if errors.is_empty() && (cfg.realtime_priority > 0 || cfg.lock_memory) {
        report.errors.extend(crate::realtime::trial(
            cfg.realtime_priority,
            cfg.lock_memory,
        ));
    }
    report.errors.extend(errors);
    report.warnings.extend(warnings);
    if let Some(m) = &cfg.metrics {
        check_metrics_address(m.listen, &mut report);
    }
    let nl = match Netlink::open() {
        Ok(n) => n,
        Err(e) => {
            report
                .warnings
                .push(format!("cannot inspect the host: {e}"));
            return report;
        }
    };
    check_checks(cfg, &nl, &mut report).await;
    for inst in &cfg.instances {
        let link = match nl.link_by_name(&inst.interface).await {
            Ok(l) => l,
            Err(e) => {
                report.warnings.push(format!("instance {}: {e}", inst.name));
                continue;
            }
        };
        let addrs = match nl.addresses(link.index).await {
            Ok(a) => a,
            Err(e) => {
                report.warnings.push(format!("instance {}: {e}", inst.name));
                continue;
            }
        };
        if let Some(vip) = Instance::new(inst.clone()).foreign_vip(&addrs) {
            report.errors.push(format!(
                "instance {}: VIP {vip} is already an address of {} that vipd did not add; vipd would refuse to manage it",
                inst.name, inst.interface
            ));
        }
        let vip_addrs: Vec<IpAddr> = inst.vips.iter().map(|v| v.addr).collect();
        for vip in &inst.vips {
            let covered = addrs.iter().any(|a| {
                !vip_addrs.contains(&a.addr) && same_subnet(a.addr, vip.addr, a.prefix_len)
            });
            if !covered {
                report.warnings.push(format!(
                    "instance {}: VIP {vip} is not in any subnet on {} (hosts on the LAN may not reach it, and it becomes the interface's primary address in its subnet)",
                    inst.name, inst.interface
                ));
            }
        }
    }
    report
}

/// `metrics.listen`: whether its address is one of this host's. Binds the address with
/// port 0 (any free port, at once released), so a running vipd holding the port itself
/// does not make the check fail.
fn check_metrics_address(listen: std::net::SocketAddr, report: &mut HostReport) {
    let probe = std::net::SocketAddr::new(listen.ip(), 0);
    match std::net::TcpListener::bind(probe) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            report.errors.push(format!(
                "metrics.listen: {} is not an address of this host; vipd would fail to start",
                listen.ip()
            ));
        }
        Err(e) => report
            .warnings
            .push(format!("metrics.listen: cannot try {}: {e}", listen.ip())),
    }
}

/// What this host says about the checks: programs and users that do not exist,
/// interfaces that are missing, pidfile directories that are not there.
async fn check_checks(cfg: &Config, nl: &Netlink, report: &mut HostReport) {
    use vipd_node::config::CheckKind;
    for (name, c) in &cfg.checks {
        match &c.kind {
            CheckKind::Exec { argv, user } => {
                if let Some(program) = argv.first().filter(|p| p.contains('/')) {
                    if !std::path::Path::new(program).is_file() {
                        report
                            .warnings
                            .push(format!("check {name}: {program} does not exist"));
                    }
                }
                if let Some(u) = user {
                    if !matches!(nix::unistd::User::from_name(u), Ok(Some(_))) {
                        report
                            .errors
                            .push(format!("check {name}: there is no user {u} on this host"));
                    }
                }
            }
            CheckKind::Interface(i) => {
                if let Err(e) = nl.link_by_name(i).await {
                    report.warnings.push(format!("check {name}: {e}"));
                }
            }
            CheckKind::Process(p) => {
                if let Some(dir) = p.pidfile.as_deref().and_then(std::path::Path::parent) {
                    if !dir.is_dir() {
                        report.warnings.push(format!(
                            "check {name}: the pidfile's directory {} does not exist",
                            dir.display()
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let unused: Vec<&str> = cfg
        .checks
        .keys()
        .filter(|c| {
            !cfg.instances
                .iter()
                .any(|i| i.track.iter().any(|t| &t.check == *c))
        })
        .map(String::as_str)
        .collect();
    if !unused.is_empty() {
        report.warnings.push(format!(
            "checks no instance tracks (they run all the same): {}",
            unused.join(", ")
        ));
    }
}

/// Whether `a` and `b` share their first `prefix` bits.
pub fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let p = u32::from(prefix.min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_address_must_be_the_hosts() {
        let mut r = HostReport::default();
        check_metrics_address("127.0.0.1:9650".parse().expect("addr"), &mut r);
        assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");
        // TEST-NET-1 is on no interface of a test machine.
        check_metrics_address("192.0.2.254:9650".parse().expect("addr"), &mut r);
        assert_eq!(
            r.errors,
            ["metrics.listen: 192.0.2.254 is not an address of this host; vipd would fail to start"]
        );
    }

    #[test]
    fn subnets() {
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.50".parse().expect("ip");
        let c: IpAddr = "198.51.100.1".parse().expect("ip");
        assert!(same_subnet(a, b, 24));
        assert!(!same_subnet(a, c, 24));
        assert!(same_subnet(a, c, 0));
        let x: IpAddr = "2001:db8::1".parse().expect("ip");
        let y: IpAddr = "2001:db8::50".parse().expect("ip");
        assert!(same_subnet(x, y, 64));
        assert!(!same_subnet(x, a, 0));
    }
}
