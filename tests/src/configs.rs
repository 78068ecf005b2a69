//! Configuration text for the daemons under test: vipd's YAML (without
//! `control_socket`, which [`crate::Host::spawn_vipd`] adds) and keepalived's
//! configuration.

use std::fmt::Write as _;

/// One vipd instance; unset fields are left out of the YAML so vipd's defaults apply.
#[derive(Debug, Clone)]
pub struct VipdInstance {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub priority: Option<u8>,
    /// e.g. "200ms", "1s".
    pub advert_interval: Option<String>,
    pub version: Option<u8>,
    pub preempt: Option<bool>,
    /// e.g. "2s".
    pub preempt_delay: Option<String>,
    /// `rfc5798` or `rfc9568`.
    pub checksum: Option<String>,
    pub vips: Vec<String>,
    /// `unicast_peers`, left out when empty.
    pub unicast_peers: Vec<String>,
    /// `auth: {key_file: ...}`: the absolute path of the key file.
    pub auth_key_file: Option<String>,
}

impl VipdInstance {
    /// Instance `name` on eth0 with VRID `vrid` floating `vips` (with prefix length).
    pub fn new(name: &str, vrid: u8, vips: &[&str]) -> VipdInstance {
        VipdInstance {
            name: name.to_string(),
            interface: "eth0".to_string(),
            vrid,
            priority: None,
            advert_interval: None,
            version: None,
            preempt: None,
            preempt_delay: None,
            checksum: None,
            vips: vips.iter().map(|v| v.to_string()).collect(),
            unicast_peers: Vec::new(),
            auth_key_file: None,
        }
    }

    /// Adverts to these peers only (documentation or link-local addresses), instead of
    /// multicast.
    pub fn unicast_peers(mut self, peers: &[&str]) -> Self {
        for p in peers {
            if !p.starts_with("fe80:") {
                crate::lan::assert_documentation_address(p);
            }
        }
        self.unicast_peers = peers.iter().map(|p| p.to_string()).collect();
        self
    }

    /// The interface the instance runs on (default `eth0`).
    pub fn interface(mut self, iface: &str) -> Self {
        self.interface = iface.to_string();
        self
    }

    pub fn priority(mut self, p: u8) -> Self {
        self.priority = Some(p);
        self
    }

    pub fn advert_interval(mut self, i: &str) -> Self {
        self.advert_interval = Some(i.to_string());
        self
    }

    pub fn version(mut self, v: u8) -> Self {
        self.version = Some(v);
        self
    }

    pub fn preempt(mut self, p: bool) -> Self {
        self.preempt = Some(p);
        self
    }

    pub fn preempt_delay(mut self, d: &str) -> Self {
        self.preempt_delay = Some(d.to_string());
        self
    }

    pub fn checksum(mut self, c: &str) -> Self {
        self.checksum = Some(c.to_string());
        self
    }

    /// Authenticated adverts with the key in `path` (absolute).
    pub fn auth_key_file(mut self, path: &std::path::Path) -> Self {
        self.auth_key_file = Some(path.display().to_string());
        self
    }
}

/// A vipd configuration file body (everything but `control_socket`).
pub fn vipd_yaml(log_level: Option<&str>, instances: &[VipdInstance]) -> String {
    let mut y = String::new();
    if let Some(l) = log_level {
        let _ = writeln!(y, "log_level: {l}");
    }
    y.push_str("instances:\n");
    for i in instances {
        let _ = writeln!(y, "  - name: {}", i.name);
        let _ = writeln!(y, "    interface: {}", i.interface);
        let _ = writeln!(y, "    vrid: {}", i.vrid);
        if let Some(p) = i.priority {
            let _ = writeln!(y, "    priority: {p}");
        }
        if let Some(a) = &i.advert_interval {
            let _ = writeln!(y, "    advert_interval: {a}");
        }
        if let Some(v) = i.version {
            let _ = writeln!(y, "    version: {v}");
        }
        if let Some(p) = i.preempt {
            let _ = writeln!(y, "    preempt: {p}");
        }
        if let Some(d) = &i.preempt_delay {
            let _ = writeln!(y, "    preempt_delay: {d}");
        }
        if let Some(c) = &i.checksum {
            let _ = writeln!(y, "    checksum: {c}");
        }
        y.push_str("    vips:\n");
        for v in &i.vips {
            let _ = writeln!(y, "      - \"{v}\"");
        }
        if !i.unicast_peers.is_empty() {
            y.push_str("    unicast_peers:\n");
            for p in &i.unicast_peers {
                let _ = writeln!(y, "      - \"{p}\"");
            }
        }
        if let Some(k) = &i.auth_key_file {
            y.push_str("    auth:\n");
            let _ = writeln!(y, "      key_file: \"{k}\"");
        }
    }
    y
}

/// The configuration most tests give vipd: one instance, web (VRID 51, on eth0),
/// floating `vip_cidr` at `priority`, default settings otherwise (VRRPv3, adverts every
/// 200 ms, preemption on), logging at debug level.
pub fn web_config(priority: u8, vip_cidr: &str) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[vip_cidr]).priority(priority)],
    )
}

/// One keepalived `vrrp_instance`.
#[derive(Debug, Clone)]
pub struct KeepalivedInstance {
    /// 2 or 3 (`vrrp_version` in `global_defs`).
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// `advert_int`, seconds (fractions allowed for v3).
    pub advert_int: String,
    /// With prefix length, e.g. "192.0.2.50/24".
    pub vips: Vec<String>,
}

/// A keepalived configuration for one instance on eth0 (starting in BACKUP, preempting,
/// no authentication, multicast adverts).
pub fn keepalived_conf(router_id: &str, k: &KeepalivedInstance) -> String {
    conf(router_id, k, None)
}

/// [`keepalived_conf`] with unicast adverts: `unicast_src_ip src` and a `unicast_peer`
/// block of `peers` (documentation addresses).
pub fn keepalived_unicast_conf(
    router_id: &str,
    k: &KeepalivedInstance,
    src: &str,
    peers: &[&str],
) -> String {
    crate::lan::assert_documentation_address(src);
    for p in peers {
        crate::lan::assert_documentation_address(p);
    }
    conf(router_id, k, Some((src, peers)))
}

fn conf(router_id: &str, k: &KeepalivedInstance, unicast: Option<(&str, &[&str])>) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "global_defs {{");
    let _ = writeln!(c, "    router_id {router_id}");
    let _ = writeln!(c, "    vrrp_version {}", k.version);
    let _ = writeln!(c, "}}");
    let _ = writeln!(c, "vrrp_instance VTE2E {{");
    let _ = writeln!(c, "    state BACKUP");
    let _ = writeln!(c, "    interface eth0");
    let _ = writeln!(c, "    virtual_router_id {}", k.vrid);
    let _ = writeln!(c, "    priority {}", k.priority);
    let _ = writeln!(c, "    advert_int {}", k.advert_int);
    if let Some((src, peers)) = unicast {
        let _ = writeln!(c, "    unicast_src_ip {src}");
        let _ = writeln!(c, "    unicast_peer {{");
        for p in peers {
            let _ = writeln!(c, "        {p}");
        }
        let _ = writeln!(c, "    }}");
    }
    let _ = writeln!(c, "    virtual_ipaddress {{");
    for v in &k.vips {
        let _ = writeln!(c, "        {v}");
    }
    let _ = writeln!(c, "    }}");
    let _ = writeln!(c, "}}");
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_leaves_defaults_out() {
        let y = vipd_yaml(
            Some("debug"),
            &[VipdInstance::new("web", 51, &["192.0.2.50/24"]).priority(150)],
        );
        assert!(y.contains("priority: 150"));
        assert!(!y.contains("advert_interval"));
        assert!(y.contains("- \"192.0.2.50/24\""));
    }

    #[test]
    fn unicast_in_both_configurations() {
        let y = vipd_yaml(
            None,
            &[VipdInstance::new("web", 51, &["192.0.2.50/24"]).unicast_peers(&["192.0.2.12"])],
        );
        assert!(
            y.ends_with("    unicast_peers:\n      - \"192.0.2.12\"\n"),
            "{y}"
        );
        assert!(
            !vipd_yaml(None, &[VipdInstance::new("web", 51, &["192.0.2.50/24"])])
                .contains("unicast")
        );
        let k = KeepalivedInstance {
            version: 3,
            vrid: 51,
            priority: 100,
            advert_int: "1".into(),
            vips: vec!["192.0.2.50/24".into()],
        };
        let c = keepalived_unicast_conf("r", &k, "192.0.2.11", &["192.0.2.12"]);
        assert!(
            c.contains(
                "    unicast_src_ip 192.0.2.11\n    unicast_peer {\n        192.0.2.12\n    }\n"
            ),
            "{c}"
        );
        assert!(!keepalived_conf("r", &k).contains("unicast"));
    }

    #[test]
    fn yaml_names_the_interface() {
        let y = vipd_yaml(
            None,
            &[
                VipdInstance::new("web", 51, &["192.0.2.50/24"]),
                VipdInstance::new("db", 53, &["192.0.2.150/25"]).interface("eth1"),
            ],
        );
        assert!(y.contains("interface: eth0"), "{y}");
        assert!(y.contains("interface: eth1"), "{y}");
    }
}
