//! What a host's interfaces look like, read with `ip -j`: addresses, carrier, the
//! link-local address, neighbour entries.

use std::process::Command;

use serde_json::Value;

use super::Host;
use crate::util::run;

/// The addresses (`addr/prefix`) of one link object of `ip -j addr show`.
pub fn link_addresses(link: &Value) -> Vec<String> {
    link["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some(format!(
                        "{}/{}",
                        x["local"].as_str()?,
                        x["prefixlen"].as_u64()?
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Host {
    fn eth0_json(&self) -> Value {
        let out = self.ns.ip(&["-j", "addr", "show", "dev", "eth0"]);
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    pub(super) fn link_up(&self) -> bool {
        self.eth0_json()[0]["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "LOWER_UP"))
    }

    /// The usable (not tentative) fe80:: address of eth0.
    pub fn link_local(&self) -> Option<String> {
        self.link_local_on("eth0")
    }

    /// Addresses on eth0 as `addr/prefix`.
    pub fn addresses(&self) -> Vec<String> {
        self.addresses_on("eth0")
    }

    /// Whether eth0 has `addr` (without prefix length), read from `ip -j addr`.
    pub fn has_addr(&self, addr: &str) -> bool {
        self.has_addr_on("eth0", addr)
    }

    /// The link-layer address this host's neighbour table has for `addr`, if any
    /// (`ip -j neigh show`).
    pub fn neigh_mac(&self, addr: &str) -> Option<String> {
        let out = run(Command::new("ip").args([
            "-n",
            self.ns.name(),
            "-j",
            "neigh",
            "show",
            "to",
            addr,
            "dev",
            "eth0",
        ]));
        let j: Value = serde_json::from_slice(&out.stdout).ok()?;
        j.as_array()?
            .iter()
            .find_map(|e| e["lladdr"].as_str().map(str::to_string))
    }

    fn addr_json_on(&self, iface: &str) -> Value {
        let out = run(Command::new("ip").args([
            "-n",
            self.ns.name(),
            "-j",
            "addr",
            "show",
            "dev",
            iface,
        ]));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Whether `iface` has carrier (`LOWER_UP`).
    pub fn link_up_on(&self, iface: &str) -> bool {
        self.addr_json_on(iface)[0]["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "LOWER_UP"))
    }

    /// The usable (not tentative) fe80:: address of `iface`.
    pub fn link_local_on(&self, iface: &str) -> Option<String> {
        let j = self.addr_json_on(iface);
        j[0]["addr_info"].as_array()?.iter().find_map(|a| {
            let local = a["local"].as_str()?;
            let ok = a["family"] == "inet6"
                && a["scope"] == "link"
                && a.get("tentative").is_none()
                && a.get("dadfailed").is_none();
            ok.then(|| local.to_string())
        })
    }

    /// Addresses on `iface` as `addr/prefix` (none if it does not exist).
    pub fn addresses_on(&self, iface: &str) -> Vec<String> {
        link_addresses(&self.addr_json_on(iface)[0])
    }

    /// Whether `iface` has `addr` (without prefix length), read from `ip -j addr`.
    pub fn has_addr_on(&self, iface: &str, addr: &str) -> bool {
        self.addresses_on(iface)
            .iter()
            .any(|a| a.split('/').next() == Some(addr))
    }
}
