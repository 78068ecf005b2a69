//! A LAN of network namespaces: one bridge namespace (`br0`, multicast snooping off) and
//! one namespace per host, each joined to the bridge by a veth pair whose host end is
//! `eth0`. More segments (further bridges in the same bridge namespace, see
//! [`Lan::add_segment`]) can give hosts further interfaces ([`Lan::attach`]).

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;
use vipd_api::{Command as ApiCommand, InstanceStatus, Request, Response, State, Status};

use crate::bins;
use crate::netns::{ns_name, sweep_stale, NetNs, PREFIX};
use crate::proc::{Monitor, Proc};
use crate::util::{run, run_ok, wait_until};

/// Whether `a` is in 192.0.2.0/24 or 2001:db8::/64 (RFC 5737 / RFC 3849 documentation
/// ranges), the only addresses these tests use.
pub fn is_documentation_address(a: &str) -> bool {
    match a.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.octets()[..3] == [192, 0, 2],
        Ok(IpAddr::V6(v6)) => v6.segments()[..4] == [0x2001, 0xdb8, 0, 0],
        Err(_) => false,
    }
}

/// Panics unless `a` is a documentation address.
pub fn assert_documentation_address(a: &str) {
    assert!(
        is_documentation_address(a),
        "{a} is outside 192.0.2.0/24 and 2001:db8::/64; the tests use no other addresses"
    );
}

/// Panics unless `a` is a documentation address or a VRRP group.
pub fn assert_allowed_destination(a: &str) {
    assert!(
        is_documentation_address(a) || a == "224.0.0.18" || a == "ff02::12",
        "{a} is not a destination the tests may send to"
    );
}

/// Lines [`Host::start_vipd`] puts before the caller's YAML (the `control_socket` line).
pub const CONFIG_PREAMBLE_LINES: usize = 1;

/// Locks a mutex, recovering it if a panicking test poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The first (in these tests, only) instance of a status.
pub fn first_instance(s: &Status) -> &InstanceStatus {
    match s.instances.first() {
        Some(i) => i,
        None => panic!("status has no instances: {s:?}"),
    }
}

/// Instance `name` of a status, if it has one.
pub fn instance<'a>(s: &'a Status, name: &str) -> Option<&'a InstanceStatus> {
    s.instances.iter().find(|i| i.name == name)
}

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

/// The bridge and its namespace. Create hosts with [`Lan::host`]; declare the `Lan`
/// before its hosts so they are torn down first.
pub struct Lan {
    id: String,
    dir: PathBuf,
    ports: Cell<u32>,
    bridge: NetNs,
}

impl Lan {
    /// A new, empty LAN for test `test_id` (letters and digits, at most 12).
    pub fn new(test_id: &str) -> Lan {
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
        }
    }

    pub fn bridge_ns(&self) -> &NetNs {
        &self.bridge
    }

    /// `tcpdump -n -tt -l -i <iface> <filter>` in the bridge namespace (`any`: every
    /// bridge and port), returned once it is listening, so nothing after is missed.
    pub fn capture(&self, iface: &str, filter: &str) -> Monitor {
        let mut c = self.bridge.command("tcpdump");
        c.args(["-i", iface, "-n", "-tt", "-l", filter]);
        let capture = Monitor::spawn(c, "tcpdump in the bridge namespace");
        let listening = capture
            .wait_for(Duration::from_secs(5), |l| {
                l.stderr && l.text.contains("listening on")
            })
            .is_some();
        assert!(
            listening,
            "tcpdump did not start: {:?}",
            capture.lines().iter().map(|l| &l.text).collect::<Vec<_>>()
        );
        capture
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

/// One host of a [`Lan`]: its namespace and the daemons running in it.
pub struct Host {
    // Declared first so they are killed before the namespace is deleted.
    vipd: Mutex<Option<Proc>>,
    keepalived: Mutex<Option<Proc>>,
    old: Mutex<Vec<Proc>>,
    /// The config file the running vipd was started with (see [`Host::start_vipd`]).
    vipd_config: Mutex<Option<PathBuf>>,
    pub name: String,
    bridge_ns: String,
    port: String,
    /// Interfaces added by [`Lan::attach`] and their bridge-side ports.
    extra_ports: Mutex<Vec<(String, String)>>,
    pub ipv4: String,
    pub ipv6: String,
    dir: PathBuf,
    mac: String,
    spawns: Cell<u32>,
    ns: NetNs,
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

    /// A command running `program` in this host's namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.ns.command(program)
    }

    /// Runs `args[0] args[1..]` in the namespace (`ip netns exec`).
    pub fn exec(&self, args: &[&str]) -> Output {
        let Some((prog, rest)) = args.split_first() else {
            panic!("exec needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        run(&mut c)
    }

    /// Like [`Host::exec`] but the command must succeed; returns stdout.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let Some((prog, rest)) = args.split_first() else {
            panic!("exec needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        run_ok(&mut c)
    }

    /// Starts a line monitor (`ip monitor ...`, `tcpdump ...`) in the namespace.
    pub fn monitor(&self, args: &[&str]) -> Monitor {
        let Some((prog, rest)) = args.split_first() else {
            panic!("monitor needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        Monitor::spawn(c, &format!("{} on {}", args.join(" "), self.name))
    }

    fn eth0_json(&self) -> Value {
        let out = self.ns.ip(&["-j", "addr", "show", "dev", "eth0"]);
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    fn link_up(&self) -> bool {
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

    fn read_mac(&self) -> String {
        let out = self.ns.ip(&["-j", "link", "show", "dev", "eth0"]);
        let j: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        match j[0]["address"].as_str() {
            Some(m) => m.to_string(),
            None => panic!("no MAC address for eth0 on {}: {out}", self.name),
        }
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

    // ---- vipd ----------------------------------------------------------------------

    /// The control socket of this host's vipd.
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("vipd.sock")
    }

    /// Writes `yaml` (a vipd configuration without `control_socket`) to a file with
    /// this host's control socket added, starts vipd with it, and waits until the
    /// control socket answers.
    pub fn spawn_vipd(&self, yaml: &str) {
        let p = self.start_vipd(yaml);
        let ready = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            self.try_status().is_ok()
        });
        if !ready {
            panic!(
                "vipd on {} did not answer on {} within 5 s ({}); log {}:\n{}",
                self.name,
                self.control_socket().display(),
                self.try_status().err().unwrap_or_default(),
                p.display(),
                self.vipd_log()
            );
        }
    }

    /// Starts vipd without waiting for it; returns the config file's path.
    pub fn start_vipd(&self, yaml: &str) -> PathBuf {
        assert!(
            !yaml.contains("control_socket"),
            "spawn_vipd adds control_socket itself"
        );
        let n = self.spawns.get() + 1;
        self.spawns.set(n);
        let cfg = self.dir.join(format!("vipd-{n}.yaml"));
        if let Err(e) = std::fs::write(&cfg, self.vipd_config_text(yaml)) {
            panic!("cannot write {}: {e}", cfg.display());
        }
        *lock(&self.vipd_config) = Some(cfg.clone());
        let log = self.dir.join(format!("vipd-{n}.log"));
        let mut cmd = self.command(bins::vipd());
        cmd.arg("--config").arg(&cfg);
        cmd.env("RUST_LOG", "info,vipd=debug,vipd_engine=debug");
        let new = Proc::spawn(cmd, &format!("vipd on {}", self.name), &log);
        if let Some(old) = lock(&self.vipd).replace(new) {
            lock(&self.old).push(old);
        }
        cfg
    }

    /// What [`Host::start_vipd`] writes for `yaml`: the control socket line first (so
    /// line N of `yaml` is line N + [`CONFIG_PREAMBLE_LINES`] of the file), then `yaml`.
    pub fn vipd_config_text(&self, yaml: &str) -> String {
        format!(
            "control_socket: \"{}\"\n{yaml}",
            self.control_socket().display()
        )
    }

    /// The config file the current vipd was started with (`--config`), if one was.
    pub fn vipd_config_path(&self) -> Option<PathBuf> {
        lock(&self.vipd_config).clone()
    }

    /// Replaces the running vipd's config file (the path it was started with) by `yaml`
    /// plus this host's control socket, exactly as [`Host::start_vipd`] writes it, for a
    /// reload ([`Host::reload_vipd`]). `yaml` may be broken on purpose. Written to a
    /// temporary file and renamed over the old one, so vipd never reads half a file.
    /// Returns the path.
    pub fn rewrite_vipd_config(&self, yaml: &str) -> PathBuf {
        assert!(
            !yaml.contains("control_socket"),
            "rewrite_vipd_config adds control_socket itself"
        );
        let Some(cfg) = self.vipd_config_path() else {
            panic!(
                "no vipd was started on {}: no config file to rewrite",
                self.name
            );
        };
        let tmp = cfg.with_extension("yaml.new");
        if let Err(e) = std::fs::write(&tmp, self.vipd_config_text(yaml)) {
            panic!("cannot write {}: {e}", tmp.display());
        }
        if let Err(e) = std::fs::rename(&tmp, &cfg) {
            panic!("cannot rename {} to {}: {e}", tmp.display(), cfg.display());
        }
        cfg
    }

    /// Sends SIGHUP to this host's vipd (re-read the config file); false if it had
    /// already exited.
    pub fn reload_vipd(&self) -> bool {
        self.kill(Signal::SIGHUP)
    }

    /// [`Host::reload_vipd`], then waits up to `timeout` for vipd to log the outcome:
    /// `Ok(line)` with the `configuration reloaded` line, `Err(line)` with the `reload
    /// refused` line. Panics (with the log) if vipd is gone or logs neither in time.
    pub fn reload_vipd_and_wait(&self, timeout: Duration) -> Result<String, String> {
        let before = self.vipd_log().lines().count();
        assert!(
            self.reload_vipd(),
            "vipd on {} had exited before SIGHUP; log:\n{}",
            self.name,
            self.vipd_log()
        );
        let mut outcome = None;
        wait_until(timeout, Duration::from_millis(2), || {
            let log = self.vipd_log();
            for line in log.lines().skip(before) {
                if line.contains("configuration reloaded") {
                    outcome = Some(Ok(line.to_string()));
                    return true;
                }
                if line.contains("reload refused") {
                    outcome = Some(Err(line.to_string()));
                    return true;
                }
            }
            false
        });
        match outcome {
            Some(o) => o,
            None => panic!(
                "vipd on {} logged neither `configuration reloaded` nor `reload refused` \
                 within {timeout:?} of SIGHUP (running: {}); log since:\n{}",
                self.name,
                self.vipd_running(),
                self.vipd_log()
                    .lines()
                    .skip(before)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }

    /// Whether this host's vipd process is still running (not exited).
    pub fn vipd_running(&self) -> bool {
        self.with_vipd(|p| p.exited().is_none())
    }

    fn with_vipd<T>(&self, f: impl FnOnce(&mut Proc) -> T) -> T {
        match lock(&self.vipd).as_mut() {
            Some(p) => f(p),
            None => panic!("no vipd was started on {}", self.name),
        }
    }

    /// Signals this host's vipd; false if it had already exited.
    pub fn kill(&self, sig: Signal) -> bool {
        self.with_vipd(|p| p.signal(sig))
    }

    /// Waits for vipd to exit.
    pub fn wait_vipd_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        self.with_vipd(|p| p.wait_exit(timeout))
    }

    pub fn vipd_pid(&self) -> Option<u32> {
        lock(&self.vipd).as_ref().map(Proc::pid)
    }

    /// The current vipd run's log.
    pub fn vipd_log(&self) -> String {
        lock(&self.vipd)
            .as_ref()
            .map(Proc::log_text)
            .unwrap_or_default()
    }

    /// Every vipd run's log on this host so far (the current one and those of earlier,
    /// restarted processes), oldest first, with its path.
    pub fn vipd_logs(&self) -> Vec<(PathBuf, String)> {
        let old = lock(&self.old);
        let vipd = lock(&self.vipd);
        old.iter()
            .chain(vipd.iter())
            .filter(|p| p.what().starts_with("vipd"))
            .map(|p| (p.log_path().to_path_buf(), p.log_text()))
            .collect()
    }

    /// Asks vipd for its status over the control socket directly (the JSON protocol of
    /// `vipd-api`), without vipctl.
    pub fn try_status(&self) -> Result<Status, String> {
        self.try_status_within(Duration::from_secs(3))
    }

    /// [`Host::try_status`] giving up on a read or write that takes longer than
    /// `timeout` (for polling a vipd that may be stopped or shutting down: its socket
    /// still accepts connections, but nothing answers them).
    pub fn try_status_within(&self, timeout: Duration) -> Result<Status, String> {
        let path = self.control_socket();
        let mut s =
            UnixStream::connect(&path).map_err(|e| format!("connect {}: {e}", path.display()))?;
        let t = Some(timeout);
        s.set_read_timeout(t).map_err(|e| e.to_string())?;
        s.set_write_timeout(t).map_err(|e| e.to_string())?;
        let mut req =
            serde_json::to_vec(&Request::new(ApiCommand::Status)).map_err(|e| e.to_string())?;
        req.push(b'\n');
        s.write_all(&req).map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        s.take(4 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| format!("read: {e}"))?;
        match serde_json::from_slice::<Response>(&buf) {
            Ok(Response::Status(st)) => Ok(st),
            Ok(Response::Error { message, .. }) => {
                Err(format!("vipd answered an error: {message}"))
            }
            Err(e) => Err(format!(
                "unparsable answer ({e}): {}",
                String::from_utf8_lossy(&buf)
            )),
        }
    }

    /// The status, which must be available.
    pub fn status(&self) -> Status {
        match self.try_status() {
            Ok(s) => s,
            Err(e) => panic!(
                "status of vipd on {}: {e}\nlog:\n{}",
                self.name,
                self.vipd_log()
            ),
        }
    }

    /// The first instance's state, if vipd answers.
    pub fn state(&self) -> Option<State> {
        self.try_status()
            .ok()
            .and_then(|s| s.instances.first().map(|i| i.state))
    }

    /// Runs `vipctl --socket <this host's socket> <args>` in the namespace.
    pub fn vipctl(&self, args: &[&str]) -> Output {
        let mut c = self.command(bins::vipctl());
        c.arg("--socket").arg(self.control_socket()).args(args);
        run(&mut c)
    }

    /// `vipctl status --json`, parsed.
    pub fn vipctl_status_json(&self) -> Status {
        match self.try_vipctl_status_json() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// `vipctl status --json`, parsed, or why not.
    pub fn try_vipctl_status_json(&self) -> Result<Status, String> {
        let out = self.vipctl(&["status", "--json"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "vipctl status --json on {} failed ({}): stdout {stdout} stderr {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if let Ok(s) = serde_json::from_str::<Status>(&stdout) {
            return Ok(s);
        }
        match serde_json::from_str::<Response>(&stdout) {
            Ok(Response::Status(s)) => Ok(s),
            other => Err(format!(
                "vipctl status --json printed something that is not a Status ({other:?}):\n{stdout}"
            )),
        }
    }

    /// `vipctl status` (text).
    pub fn vipctl_status_text(&self) -> String {
        match self.try_vipctl_status_text() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// `vipctl status` (text), or why not.
    pub fn try_vipctl_status_text(&self) -> Result<String, String> {
        let out = self.vipctl(&["status"]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!(
                "vipctl status on {} failed ({}): stdout {stdout} stderr {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(stdout)
    }

    // ---- keepalived ------------------------------------------------------------------

    /// Starts keepalived (VRRP subsystem only, in the foreground, logging to the
    /// console, with pid files of its own so no system instance is touched).
    pub fn spawn_keepalived(&self, conf: &str) {
        let n = self.spawns.get() + 1;
        self.spawns.set(n);
        let cfg = self.dir.join(format!("keepalived-{n}.conf"));
        if let Err(e) = std::fs::write(&cfg, conf) {
            panic!("cannot write {}: {e}", cfg.display());
        }
        let log = self.dir.join(format!("keepalived-{n}.log"));
        let pid = |what: &str| self.dir.join(format!("keepalived-{n}-{what}.pid"));
        let mut cmd = self.command("keepalived");
        cmd.args([
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--no-syslog",
            "--vrrp",
        ])
        .arg("--use-file")
        .arg(&cfg)
        .arg("--pid")
        .arg(pid("main"))
        .arg("--vrrp_pid")
        .arg(pid("vrrp"))
        .arg("--checkers_pid")
        .arg(pid("checkers"));
        let new = Proc::spawn(cmd, &format!("keepalived on {}", self.name), &log);
        if let Some(old) = lock(&self.keepalived).replace(new) {
            lock(&self.old).push(old);
        }
    }

    fn with_keepalived<T>(&self, f: impl FnOnce(&mut Proc) -> T) -> T {
        match lock(&self.keepalived).as_mut() {
            Some(p) => f(p),
            None => panic!("no keepalived was started on {}", self.name),
        }
    }

    /// Signals keepalived's parent process (it stops its VRRP child on SIGTERM).
    pub fn kill_keepalived(&self, sig: Signal) -> bool {
        self.with_keepalived(|p| p.signal(sig))
    }

    pub fn wait_keepalived_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        self.with_keepalived(|p| p.wait_exit(timeout))
    }

    pub fn keepalived_log(&self) -> String {
        lock(&self.keepalived)
            .as_ref()
            .map(Proc::log_text)
            .unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut report = format!(
                "---- host {} ({} {} mac {} port {}) ----\naddresses: {:?}\n",
                self.name,
                self.ipv4,
                self.ipv6,
                self.mac,
                self.port,
                self.addresses()
            );
            for iface in self.extra_interfaces() {
                report.push_str(&format!(
                    "{iface} (port {}): {:?}\n",
                    self.port_of(&iface).unwrap_or_default(),
                    self.addresses_on(&iface)
                ));
            }
            let old = lock(&self.old);
            let vipd = lock(&self.vipd);
            let keepalived = lock(&self.keepalived);
            for p in old.iter().chain(vipd.iter()).chain(keepalived.iter()) {
                report.push_str(&format!(
                    "-- {} (pid {}), log {} (last 60 lines):\n{}\n",
                    p.what(),
                    p.pid(),
                    p.log_path().display(),
                    p.log_tail(60)
                ));
            }
            eprintln!("{report}");
        }
    }
}
