//! The node's side of kernel reads ([`crate::kernel`]): asking for a read of every
//! interface in use, and reconciling with what it shows (advert source changes, VIPs that
//! vanished from a master or appeared on a backup, a kernel that cannot be read).

use vipd_engine::{Input, Instant, State};

use crate::instance::Instance;
use crate::io::{as_v6, has_vip, Addr, Command, Family, IfaceRead, Level, LinkReadError, ReadId};
use crate::kernel::{InFlight, KERNEL_BLIND_LIMIT};
use crate::node::Node;

impl Node {
    /// Reads every interface in use now, or right after the read under way.
    pub(crate) fn read_kernel(&mut self, now: Instant) {
        if self.reads.again_if_busy() {
            return;
        }
        // Interface checks' interfaces too, first: a router that starts with this read
        // then hears their state already.
        let mut interfaces: Vec<String> = Vec::new();
        let announced = self.announces.interfaces();
        for name in self
            .checks
            .interfaces()
            .chain(self.interfaces().iter().map(String::as_str))
            .chain(announced.iter().map(String::as_str))
        {
            if !interfaces.iter().any(|i| i == name) {
                interfaces.push(name.to_owned());
            }
        }
        let epochs = interfaces
            .iter()
            .map(|n| (n.clone(), self.jobs.epoch(n)))
            .collect();
        let id = self.reads.begin(now, epochs);
        self.announce_read_begins(id);
        self.push(Command::ReadKernel { id, interfaces });
    }

    /// What a read found: catches up with anything the event stream missed, checks
    /// advert sources and VIPs against the kernel, starts instances that were waiting,
    /// and answers status requests that waited for it.
    pub(crate) fn on_kernel_read(&mut self, now: Instant, id: ReadId, reads: Vec<IfaceRead>) {
        let Some(flight) = self.reads.finish(id) else {
            return;
        };
        for read in &reads {
            self.on_iface_read(now, &flight, read);
        }
        self.announce_read(now, id, &reads);
        self.answer_status(now, id, &reads);
        if self.config.metrics.is_some() {
            self.publication.kernel_read(reads);
        }
        if self.reads.wanted_again() {
            self.read_kernel(now);
        }
    }

    fn on_iface_read(&mut self, now: Instant, flight: &InFlight, read: &IfaceRead) {
        let link_current = self.reads.link_current(flight);
        // An address event since the read began asked for another read (see
        // `on_addresses_changed`): that one judges sources and starts instances.
        let addrs_current = self.reads.addrs_current(flight);
        self.checks_iface_read(now, link_current, read);
        let link = match &read.link {
            Ok(link) => link.clone(),
            Err(LinkReadError::NoSuchInterface) => {
                if let Some(index) = self.ifindex(&read.name).filter(|_| link_current) {
                    self.on_link_gone(now, index);
                }
                let why = format!("interface {} does not exist", read.name);
                let here = |i: &Instance| i.router().is_none() && i.cfg.interface == read.name;
                for id in self.instances.ids_where(here) {
                    self.note_waiting(id, &why);
                }
                return;
            }
            Err(LinkReadError::Failed(e)) => {
                self.note(
                    Level::Warn,
                    None,
                    format!("cannot read link state of {}: {e}", read.name),
                );
                self.read_failed(now, &read.name);
                return;
            }
        };
        if self.ifaces.contains_key(&link.name) && link_current {
            self.on_link(now, link.clone());
        }
        let addrs = match &read.addrs {
            Some(Ok(a)) => a.clone(),
            Some(Err(e)) => {
                // One failed read is no reason to change anything: a slow kernel must
                // not make a healthy master hand over. Only a long blindness does.
                self.note(
                    Level::Warn,
                    None,
                    format!(
                        "cannot read addresses of {}; nothing changed: {e}",
                        link.name
                    ),
                );
                self.read_failed(now, &link.name);
                return;
            }
            None => return,
        };
        if self.ifindex(&link.name) == Some(link.index) {
            self.read_ok(now, &link.name);
            if let Some(f) = self.ifaces.get_mut(&link.name) {
                f.addrs = addrs.clone();
            }
            if addrs_current {
                self.check_sources(now, link.index, &addrs);
            }
            let fresh = flight.epoch(&link.name) == Some(self.jobs.epoch(&link.name))
                && !self.jobs.busy(&link.name);
            if fresh {
                self.check_vips(now, &link.name, &addrs);
            }
        }
        if link_current && addrs_current {
            self.setup_waiting(now, &link, &addrs);
        } else if !link_current
            && self
                .instances
                .current()
                .any(|i| i.router().is_none() && i.cfg.interface == link.name)
        {
            // A link event came after this read began (the interface may be gone, or
            // back with another index): the read's link is old news, and no instance
            // starts from it. The read asked for now tells.
            self.reads.ask_again();
        }
    }

    /// A read of `name` failed: after [`KERNEL_BLIND_LIMIT`] without a good one, its
    /// routers hear that the kernel is unreachable (a master hands over).
    fn read_failed(&mut self, now: Instant, name: &str) {
        let Some(f) = self.ifaces.get_mut(name) else {
            return;
        };
        if f.blind || now.saturating_since(f.last_read_ok) < KERNEL_BLIND_LIMIT {
            return;
        }
        f.blind = true;
        self.note(
            Level::Error,
            None,
            format!(
                "the addresses of {name} could not be read for {KERNEL_BLIND_LIMIT:?}: VIPs cannot be confirmed; masters hand over"
            ),
        );
        self.feed_iface(now, name, Input::KernelReachable(false));
    }

    fn read_ok(&mut self, now: Instant, name: &str) {
        let Some(f) = self.ifaces.get_mut(name) else {
            return;
        };
        f.last_read_ok = now;
        if f.blind {
            f.blind = false;
            self.note(
                Level::Info,
                None,
                format!("the addresses of {name} can be read again"),
            );
            self.feed_iface(now, name, Input::KernelReachable(true));
        }
    }

    // ---- reconciliation -------------------------------------------------------------

    /// An instance whose advert source address is gone or no longer the first one
    /// leaves gracefully and is set up again with the new source.
    fn check_sources(&mut self, now: Instant, index: u32, addrs: &[Addr]) {
        // A stopping node's routers have left; none is restarted.
        if self.stopping.is_some() {
            return;
        }
        for i in self.instances.ids() {
            let Some(inst) = self.instances.get(i) else {
                continue;
            };
            if self.ifindex(&inst.cfg.interface) != Some(index) {
                continue;
            }
            let Some(current) = inst.router().map(|r| r.config().primary) else {
                continue;
            };
            let now_source = self.pick_source(addrs, inst.family(), Some(current));
            if now_source == Some(current) {
                continue;
            }
            let name = inst.cfg.name.clone();
            let new = now_source.map_or("none".to_string(), |a| a.to_string());
            self.note(
                Level::Warn,
                Some(&name),
                format!("advert source address changed from {current} to {new}; restarting the instance"),
            );
            // The router is dropped here: it leaves without waiting for a new master.
            self.leave_now(now, i);
            if let Some(inst) = self.instances.get_mut(i) {
                inst.wait("advert source address changed");
            }
        }
    }

    /// A master whose VIP vanished from the interface (removed by hand or by another
    /// program) adds it back; a non-master with a VIP on the interface removes it.
    fn check_vips(&mut self, now: Instant, interface: &str, addrs: &[Addr]) {
        for i in self.instances.ids() {
            let Some(inst) = self.instances.get(i) else {
                continue;
            };
            if inst.cfg.interface != interface {
                continue;
            }
            let Some((state, handing_over)) =
                inst.router().map(|r| (r.state(), r.handover().is_some()))
            else {
                continue;
            };
            let name = inst.cfg.name.clone();
            let input = if state == State::Master {
                if inst.cfg.vips.iter().all(|v| has_vip(addrs, v)) {
                    continue;
                }
                self.note(
                    Level::Warn,
                    Some(&name),
                    "a VIP was removed from the interface behind vipd's back; adding it again",
                );
                Input::VipsMissing
            } else {
                // A router handing over (stopping, maintenance, a tracked check
                // failed) keeps its VIPs on purpose until the new master is heard.
                if handing_over || !inst.cfg.vips.iter().any(|v| has_vip(addrs, v)) {
                    continue;
                }
                self.note(
                    Level::Warn,
                    Some(&name),
                    format!(
                        "a VIP is on the interface of a non-master ({}); removing it",
                        state.as_str()
                    ),
                );
                Input::VipsPresent
            };
            self.feed(now, i, input);
        }
    }

    /// The IPv6 source the interface's IPv6 socket sends from.
    pub(crate) fn v6_source(&self, interface: &str) -> Option<std::net::Ipv6Addr> {
        self.ifaces
            .get(interface)
            .and_then(|f| f.sockets.get(&Family::V6))
            .and_then(|s| s.open)
            .and_then(as_v6)
    }
}
