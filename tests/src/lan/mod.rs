//! A LAN of network namespaces: one bridge namespace (`br0`, multicast snooping off) and
//! one namespace per host, each joined to the bridge by a veth pair whose host end is
//! `eth0`. More segments (further bridges in the same bridge namespace, see
//! [`Lan::add_segment`]) can give hosts further interfaces ([`Lan::attach`]).
//!
//! [`Lan`] and [`Host`] are defined here; their methods are spread over modules by
//! concern: `topology` (namespaces, bridges, veth pairs, addresses, cables),
//! `commands` (running things in a namespace), `addresses` (reading interfaces and
//! neighbours back), `vipd` (the vipd process and its configuration file), `status`
//! (vipd's status and `vipctl status`), `keepalived`, and `addressing` (the
//! addresses the tests may use).

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::netns::NetNs;
use crate::proc::Proc;
use crate::util::TimingLock;

mod addresses;
mod addressing;
mod commands;
mod keepalived;
mod status;
mod topology;
mod vipd;

pub use addresses::link_addresses;
pub use addressing::{
    assert_allowed_destination, assert_documentation_address, is_documentation_address,
};
pub use status::{first_instance, instance};
pub use vipd::{
    run_vipd_unprivileged, setpriv_args, vipd_unprivileged, CONFIG_PREAMBLE_LINES, UNPRIVILEGED_ID,
};

/// Locks a mutex, recovering it if a panicking test poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bridge and its namespace. Create hosts with [`Lan::host`]; declare the `Lan`
/// before its hosts so they are torn down first.
pub struct Lan {
    id: String,
    dir: PathBuf,
    ports: Cell<u32>,
    bridge: NetNs,
    /// The shared hold on the timing lock ([`crate::util::shared`]), unless this
    /// thread's test holds it exclusively; declared last, so it is released only once
    /// the namespaces are gone.
    _timing: Option<TimingLock>,
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
