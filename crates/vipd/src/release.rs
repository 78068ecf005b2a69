//! `vipd --release`: removes the VIPs a vipd that is gone (crashed, SIGKILLed, OOM
//! killed) left on the host, so no VIP outlives its daemon; systemd runs it as
//! `ExecStopPost=`.
//!
//! Only addresses vipd added are removed: tagged with vipd's address protocol
//! ([`vipd_node::ADDRESS_PROTOCOL`]) or, on kernels before 6.1 that drop the tag, an
//! IPv4 address carrying the instance's label. An address equal to a VIP that someone
//! added by hand stays.
//!
//! Which VIPs: the configuration file's, and those the daemon remembered. The daemon
//! writes the interfaces and VIPs of the configuration it runs to the *release file*
//! beside its control socket (`<socket stem>.release.json`, by default
//! `/run/vipd/vipd.release.json`) at start and after each configuration it reads
//! successfully on SIGHUP, off its event loop. A configuration file that no longer parses
//! therefore does not prevent the release: the remembered VIPs are removed.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vipd_node::config::{Config, InstanceConfig, Vip};
use vipd_node::{Addr, ADDRESS_PROTOCOL};

use crate::netlink::{Netlink, NetlinkError};

/// One instance's VIPs, as the release needs them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub interface: String,
    /// The IPv4 address label vipd gives this instance's VIPs, if any.
    pub label: Option<String>,
    /// `addr/prefix`.
    pub vips: Vec<String>,
}

/// What the release file holds.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    pub instances: Vec<Entry>,
}

impl Remembered {
    pub fn from_config(config: &Config) -> Remembered {
        // Announced instances' VIPs too: a dead vipd's host must stop announcing them.
        let announced = config.announce.iter().map(|a| Entry {
            interface: a.interface.clone(),
            label: Some(format!("{}:{}", a.interface, a.name)).filter(|l| l.len() <= 15),
            vips: a.vips.iter().map(ToString::to_string).collect(),
        });
        Remembered {
            instances: config
                .instances
                .iter()
                .map(entry)
                .chain(announced)
                .collect(),
        }
    }

    /// Adds `other`'s entries that are not here yet.
    pub fn merge(&mut self, other: &Remembered) {
        let mut all: BTreeSet<Entry> = self.instances.drain(..).collect();
        all.extend(other.instances.iter().cloned());
        self.instances = all.into_iter().collect();
    }

    /// Reads a release file; `Ok(None)` if there is none.
    pub fn read(path: &Path) -> Result<Option<Remembered>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes it to a temporary file renamed over `path`: a reader never sees half.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.new");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }
}

/// The label [`vipd_node`] gives an IPv4 instance's VIPs (`Instance::label`):
/// `<ifname>:<instance>` when it fits Linux's 15 characters, else `<ifname>:<vrid>`.
fn label(i: &InstanceConfig) -> Option<String> {
    [
        format!("{}:{}", i.interface, i.name),
        format!("{}:{}", i.interface, i.vrid),
    ]
    .into_iter()
    .find(|l| l.len() <= 15)
}

fn entry(i: &InstanceConfig) -> Entry {
    Entry {
        interface: i.interface.clone(),
        label: label(i),
        vips: i.vips.iter().map(ToString::to_string).collect(),
    }
}

/// The release file that belongs to a control socket: beside it, `<stem>.release.json`.
pub fn path_for(control_socket: &Path) -> PathBuf {
    control_socket.with_extension("release.json")
}

/// The `control_socket` of a configuration file that does not load: read leniently, as
/// a YAML mapping, else from a line `control_socket: <path>`; else the default.
pub fn control_socket_of_broken(text: &str) -> PathBuf {
    let from_yaml = serde_norway::from_str::<serde_norway::Value>(text)
        .ok()
        .and_then(|v| v.get("control_socket")?.as_str().map(PathBuf::from));
    from_yaml
        .or_else(|| {
            text.lines().find_map(|l| {
                let v = l.strip_prefix("control_socket:")?.trim();
                let v = v.trim_matches(|c| c == '"' || c == '\'');
                (!v.is_empty()).then(|| PathBuf::from(v))
            })
        })
        .unwrap_or_else(|| PathBuf::from(vipd_api::DEFAULT_SOCKET))
}

/// Whether vipd added `a` for the instance `e` describes.
fn added(e: &Entry, a: &Addr) -> bool {
    a.protocol == Some(ADDRESS_PROTOCOL)
        || (a.addr.is_ipv4() && a.label.is_some() && a.label == e.label)
}

/// What a release did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub removed: Vec<String>,
    /// VIPs present but not added by vipd: left alone.
    pub kept: Vec<String>,
    pub errors: Vec<String>,
}

/// Removes `what`'s VIPs that vipd added.
pub async fn release(what: &Remembered) -> Result<Outcome, NetlinkError> {
    let nl = Netlink::open()?;
    let mut out = Outcome::default();
    for e in &what.instances {
        let link = match nl.link_by_name(&e.interface).await {
            Ok(l) => l,
            // Its VIPs went with it.
            Err(NetlinkError::NoSuchInterface(_)) => continue,
            Err(err) => {
                out.errors.push(err.to_string());
                continue;
            }
        };
        let addrs = match nl.addresses(link.index).await {
            Ok(a) => a,
            Err(err) => {
                out.errors.push(err.to_string());
                continue;
            }
        };
        for v in &e.vips {
            let Ok(vip) = v.parse::<Vip>() else {
                out.errors.push(format!("{v}: not a VIP"));
                continue;
            };
            let here: Vec<&Addr> = addrs.iter().filter(|a| a.addr == vip.addr).collect();
            if here.is_empty() {
                continue;
            }
            if !here.iter().any(|a| added(e, a)) {
                out.kept.push(format!("{vip} on {}", e.interface));
                continue;
            }
            match nl.del_vip(link.index, &vip).await {
                Ok(_) => out.removed.push(format!("{vip} on {}", e.interface)),
                Err(err) => out.errors.push(err.to_string()),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_configs_still_name_their_socket() {
        assert_eq!(
            control_socket_of_broken("control_socket: /tmp/x/vipd.sock\ninstances: 3\n"),
            PathBuf::from("/tmp/x/vipd.sock")
        );
        // Not YAML at all: the line still counts.
        assert_eq!(
            control_socket_of_broken("control_socket: \"/tmp/y.sock\"\ninstances: [\n  - {"),
            PathBuf::from("/tmp/y.sock")
        );
        assert_eq!(
            control_socket_of_broken("{{{"),
            PathBuf::from(vipd_api::DEFAULT_SOCKET)
        );
    }

    #[test]
    fn announced_vips_are_remembered_on_their_interface() {
        let text =
            "control_socket: /tmp/x.sock\nannounce:\n  - name: web\n    vips: [192.0.2.80/32]\n";
        let c = crate::config::parse(text, Path::new("/etc/vipd.yaml")).expect("valid");
        assert_eq!(
            Remembered::from_config(&c).instances,
            vec![Entry {
                interface: "vipd0".into(),
                label: Some("vipd0:web".into()),
                vips: vec!["192.0.2.80/32".into()],
            }]
        );
    }

    #[test]
    fn release_file_sits_beside_the_socket() {
        assert_eq!(
            path_for(Path::new("/run/vipd/vipd.sock")),
            PathBuf::from("/run/vipd/vipd.release.json")
        );
    }

    #[test]
    fn only_tagged_or_labelled_addresses_count_as_added() {
        let e = Entry {
            interface: "eth0".into(),
            label: Some("eth0:web".into()),
            vips: vec!["192.0.2.50/24".into()],
        };
        let a = |protocol, label: Option<&str>| Addr {
            addr: "192.0.2.50".parse().unwrap_or_else(|_| unreachable!()),
            prefix_len: 24,
            tentative: false,
            link_local: false,
            protocol,
            label: label.map(String::from),
        };
        assert!(added(&e, &a(Some(ADDRESS_PROTOCOL), Some("eth0"))));
        assert!(added(&e, &a(None, Some("eth0:web"))));
        assert!(!added(&e, &a(None, Some("eth0"))));
        assert!(!added(&e, &a(Some(2), None)));
    }

    #[test]
    fn merging_keeps_both_runs() {
        let one = |vip: &str| Remembered {
            instances: vec![Entry {
                interface: "eth0".into(),
                label: None,
                vips: vec![vip.into()],
            }],
        };
        let mut r = one("192.0.2.50/24");
        r.merge(&one("192.0.2.51/24"));
        r.merge(&one("192.0.2.50/24"));
        assert_eq!(r.instances.len(), 2);
    }
}
