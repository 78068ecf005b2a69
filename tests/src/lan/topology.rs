//! The LAN's shape: the bridge namespace and its bridges, one namespace per host joined
//! by veth pairs, the hosts' addresses, and pulling, plugging and isolating cables.

use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::addressing::assert_documentation_address;
use super::{lock, Host, Lan};
use crate::netns::{ns_name, sweep_stale, NetNs, PREFIX};
use crate::util::{run_ok, shared, wait_until};

/// Bridge `name` in `ns`, up, with multicast snooping and querier off (so VRRP's
/// multicast floods every port, as on a plain switch).
fn add_bridge(ns: &NetNs, name: &str) {
    ns.ip(&[
        "link",
        "add",
        name,
        "type",
        "bridge",
        "mcast_snooping",
        "0",
        "mcast_querier",
        "0",
    ]);
    ns.ip(&["link", "set", name, "up"]);
}

/// The programs the tests run, and the Debian package of each (`.ci/run` installs
/// them). Checked up front, so a missing one is named rather than showing up as a
/// VIP that cannot be pinged.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ping", "iputils-ping"),
    ("tcpdump", "tcpdump"),
    ("keepalived", "keepalived"),
    ("nft", "nftables"),
];

fn require_tools() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(tool, _)| {
            !std::env::split_paths(&path)
                .chain(["/usr/sbin".into(), "/sbin".into()])
                .any(|dir| dir.join(tool).is_file())
        })
        .map(|(tool, pkg)| format!("{tool} (package {pkg})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the end-to-end tests need {}; install with apt-get or run `bash .ci/run`, which does",
        missing.join(", ")
    );
}

impl Lan {
    /// A new, empty LAN for test `test_id` (letters and digits, at most 12). Holds the
    /// timing lock shared for as long as it lives (unless the test holds it exclusively,
    /// see [`crate::exclusive`]): no timed test runs beside it.
    pub fn new(test_id: &str) -> Lan {
        let timing = shared();
        assert!(
            nix::unistd::geteuid().is_root(),
            "the end-to-end tests create network namespaces and must run as root"
        );
        require_tools();
        sweep_stale();
        let bridge = NetNs::create(ns_name(test_id, "br"));
        let dir = std::env::temp_dir().join(format!("{PREFIX}{test_id}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        // The bridge namespace has no IPv6 stack of its own, so it sends nothing.
        bridge.sysctl(&[
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        add_bridge(&bridge, "br0");
        Lan {
            id: test_id.to_string(),
            dir,
            ports: Cell::new(0),
            bridge,
            _timing: timing,
        }
    }

    pub fn bridge_ns(&self) -> &NetNs {
        &self.bridge
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A host `name` (letters and digits) with `ipv4`/24 and `ipv6`/64 on its `eth0`.
    /// Returns once the link is up and its IPv6 link-local address is usable.
    pub fn host(&self, name: &str, ipv4: &str, ipv6: &str) -> Host {
        assert_documentation_address(ipv4);
        assert_documentation_address(ipv6);
        assert!(
            ipv4.contains('.') && ipv6.contains(':'),
            "host({name}, v4, v6)"
        );
        let n = self.ports.get();
        self.ports.set(n + 1);
        let port = format!("b{n}");
        let dir = self.dir.join(name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let ns = NetNs::create(ns_name(&self.id, name));
        // Before eth0 exists, so it inherits them: no DAD (link-local and static
        // addresses are usable at once), no router solicitations.
        ns.sysctl(&[
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.default.accept_ra=0",
            "net.ipv6.conf.default.router_solicitations=0",
        ]);
        self.add_port(&port, "br0", &ns, "eth0");
        ns.sysctl(&["net.ipv6.conf.eth0.accept_dad=0"]);
        ns.ip(&["addr", "add", &format!("{ipv4}/24"), "dev", "eth0"]);
        ns.ip(&["addr", "add", &format!("{ipv6}/64"), "dev", "eth0", "nodad"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        let mut host = Host {
            vipd: Mutex::new(None),
            keepalived: Mutex::new(None),
            old: Mutex::new(Vec::new()),
            vipd_config: Mutex::new(None),
            name: name.to_string(),
            bridge_ns: self.bridge.name().to_string(),
            port,
            extra_ports: Mutex::new(Vec::new()),
            ipv4: ipv4.to_string(),
            ipv6: ipv6.to_string(),
            dir,
            mac: String::new(),
            spawns: Cell::new(0),
            ns,
        };
        let ready = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            host.link_up() && host.link_local().is_some()
        });
        assert!(
            ready,
            "host {name}: eth0 not up with a usable fe80:: address within 5 s:\n{}",
            host.ns.ip(&["addr", "show", "dev", "eth0"])
        );
        host.mac = host.read_mac();
        host
    }

    /// [`Lan::host`] with the addresses the tests number hosts by: 192.0.2.`n` and
    /// 2001:db8::`n` (the same digits).
    pub fn host_at(&self, name: &str, n: u8) -> Host {
        self.host(name, &format!("192.0.2.{n}"), &format!("2001:db8::{n}"))
    }

    /// Adds segment `name` (e.g. `br1`): another bridge in the bridge namespace, set up
    /// like `br0` (multicast snooping and querier off). Hosts join it with
    /// [`Lan::attach`]; it goes away with the bridge namespace.
    pub fn add_segment(&self, name: &str) {
        assert!(
            name != "br0"
                && !name.is_empty()
                && name.len() <= 15
                && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "segment {name:?}: use 1..=15 letters and digits, not br0 (that is the LAN itself)"
        );
        add_bridge(&self.bridge, name);
    }

    /// A veth pair: `port` on bridge `bridge`, its peer `iface` in `ns`. The pair is
    /// created inside the bridge namespace with its peer going straight into the
    /// host's: nothing ever appears in the namespace the tests run in.
    fn add_port(&self, port: &str, bridge: &str, ns: &NetNs, iface: &str) {
        self.bridge.ip(&[
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            iface,
            "netns",
            ns.name(),
        ]);
        self.bridge.ip(&["link", "set", port, "master", bridge]);
        self.bridge.ip(&["link", "set", port, "up"]);
    }

    /// Gives `host` a further interface `iface` on segment `segment` (made with
    /// [`Lan::add_segment`]), set up like its `eth0`: a veth pair created in the bridge
    /// namespace with its peer going straight into the host's namespace, no DAD, no
    /// router solicitations. `addrs` (each `addr/prefix`, documentation ranges only) are
    /// added; the interface always has the kernel's fe80:: address. Returns once the
    /// link is up and its IPv6 link-local address is usable. The pair goes away with
    /// the host's namespace.
    pub fn attach(&self, host: &Host, segment: &str, iface: &str, addrs: &[&str]) {
        assert!(
            iface != "eth0"
                && !iface.is_empty()
                && iface.len() <= 15
                && iface.chars().all(|c| c.is_ascii_alphanumeric()),
            "attach({}, {iface:?}): use 1..=15 letters and digits, not eth0",
            host.name
        );
        assert!(
            host.bridge_ns == self.bridge.name(),
            "host {} belongs to another LAN",
            host.name
        );
        assert!(
            host.port_of(iface).is_none(),
            "host {} already has {iface}",
            host.name
        );
        for a in addrs {
            let Some((addr, prefix)) = a.split_once('/') else {
                panic!("attach({}, {iface}): {a:?} is not addr/prefix", host.name);
            };
            assert_documentation_address(addr);
            assert!(
                prefix.parse::<u8>().is_ok(),
                "attach({}, {iface}): bad prefix length in {a:?}",
                host.name
            );
        }
        let n = self.ports.get();
        self.ports.set(n + 1);
        let port = format!("b{n}");
        self.add_port(&port, segment, &host.ns, iface);
        // The namespace's defaults (no DAD, no RA, no RS) were set before eth0 was made,
        // so the new interface inherits them; DAD is switched off on it explicitly too.
        host.ns
            .sysctl(&[&format!("net.ipv6.conf.{iface}.accept_dad=0")]);
        for a in addrs {
            if a.contains(':') {
                host.ns.ip(&["addr", "add", a, "dev", iface, "nodad"]);
            } else {
                host.ns.ip(&["addr", "add", a, "dev", iface]);
            }
        }
        host.ns.ip(&["link", "set", iface, "up"]);
        lock(&host.extra_ports).push((iface.to_string(), port));
        let ready = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            host.link_up_on(iface) && host.link_local_on(iface).is_some()
        });
        assert!(
            ready,
            "host {}: {iface} not up with a usable fe80:: address within 5 s:\n{}",
            host.name,
            host.ns.ip(&["addr", "show", "dev", iface])
        );
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "vipd-e2e: files of the failed test kept in {}",
                self.dir.display()
            );
        } else if std::env::var_os("VIPD_E2E_KEEP").is_some() {
            eprintln!(
                "vipd-e2e: VIPD_E2E_KEEP: files kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Host {
    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// The bridge-side end of this host's cable.
    pub fn port(&self) -> &str {
        &self.port
    }

    pub fn mac(&self) -> &str {
        &self.mac
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read_mac(&self) -> String {
        let out = self.ns.ip(&["-j", "link", "show", "dev", "eth0"]);
        let j: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        match j[0]["address"].as_str() {
            Some(m) => m.to_string(),
            None => panic!("no MAC address for eth0 on {}: {out}", self.name),
        }
    }

    /// Sets the bridge-side end of the cable down: the host loses carrier.
    pub fn pull_cable(&self) {
        run_ok(Command::new("ip").args(["-n", &self.bridge_ns, "link", "set", &self.port, "down"]));
    }

    pub fn plug_cable(&self) {
        run_ok(Command::new("ip").args(["-n", &self.bridge_ns, "link", "set", &self.port, "up"]));
    }

    /// Bridge port isolation: isolated ports cannot reach each other but still reach
    /// every non-isolated port. The link stays up.
    pub fn set_isolated(&self, on: bool) {
        run_ok(Command::new("bridge").args([
            "-n",
            &self.bridge_ns,
            "link",
            "set",
            "dev",
            &self.port,
            "isolated",
            if on { "on" } else { "off" },
        ]));
    }

    /// Whether the bridge floods multicast out of this host's port (`mcast_flood`; the
    /// bridge's multicast snooping is off, so with it off the host receives no
    /// multicast at all — no VRRP group adverts, no IPv6 neighbour discovery — while
    /// broadcast (ARP) and unicast still arrive). For networks without multicast.
    pub fn set_mcast_flood(&self, on: bool) {
        run_ok(Command::new("bridge").args([
            "-n",
            &self.bridge_ns,
            "link",
            "set",
            "dev",
            &self.port,
            "mcast_flood",
            if on { "on" } else { "off" },
        ]));
    }

    /// The bridge-side end of `iface`'s cable (`eth0` or one added by [`Lan::attach`]).
    pub fn port_of(&self, iface: &str) -> Option<String> {
        if iface == "eth0" {
            return Some(self.port.clone());
        }
        lock(&self.extra_ports)
            .iter()
            .find(|(i, _)| i == iface)
            .map(|(_, p)| p.clone())
    }

    fn port_of_ok(&self, iface: &str) -> String {
        match self.port_of(iface) {
            Some(p) => p,
            None => panic!("host {} has no interface {iface} on the LAN", self.name),
        }
    }

    /// The interfaces [`Lan::attach`] added, in order.
    pub fn extra_interfaces(&self) -> Vec<String> {
        lock(&self.extra_ports)
            .iter()
            .map(|(i, _)| i.clone())
            .collect()
    }

    /// Like [`Host::pull_cable`], for `iface`: its bridge-side end goes down.
    pub fn pull_cable_on(&self, iface: &str) {
        let port = self.port_of_ok(iface);
        run_ok(Command::new("ip").args(["-n", &self.bridge_ns, "link", "set", &port, "down"]));
    }

    /// Like [`Host::plug_cable`], for `iface`.
    pub fn plug_cable_on(&self, iface: &str) {
        let port = self.port_of_ok(iface);
        run_ok(Command::new("ip").args(["-n", &self.bridge_ns, "link", "set", &port, "up"]));
    }
}
