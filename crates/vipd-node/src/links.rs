//! The kernel's link events: a link up or down, an interface gone or re-created (its
//! routers dropped, to start again when it returns), addresses changed (a read asked).

use vipd_engine::{Input, Instant};

use crate::io::{Command, Level, Link};
use crate::node::Node;

impl Node {
    // ---- link events ------------------------------------------------------------------

    /// A link event from the kernel: the freshest news there is.
    pub(crate) fn on_link_event(&mut self, now: Instant, link: Link) {
        if self.ifaces.contains_key(&link.name) || self.checks.interfaces().any(|i| i == link.name)
        {
            self.reads.link_events += 1;
        }
        self.checks_link(now, &link);
        self.on_link(now, link);
    }

    pub(crate) fn on_link_gone_event(&mut self, now: Instant, index: u32) {
        if self.ifaces.values().any(|f| f.link.index == index) {
            self.reads.link_events += 1;
        }
        self.checks_link_gone(now, index);
        self.on_link_gone(now, index);
    }

    /// Addresses changed: read again (events of other interfaces matter only to
    /// instances still waiting to start).
    pub(crate) fn on_addresses_changed(&mut self, now: Instant, index: u32) {
        let ours = self.ifaces.values().any(|f| f.link.index == index);
        if ours || self.instances.current().any(|i| i.router().is_none()) {
            self.reads.addr_events += 1;
            self.read_kernel(now);
        }
    }

    pub(crate) fn on_link(&mut self, now: Instant, link: Link) {
        let Some(f) = self.ifaces.get_mut(&link.name) else {
            return;
        };
        let was = f.link.up;
        let index_changed = f.link.index != link.index;
        f.link = link.clone();
        if index_changed {
            // Deleted and re-created: the sockets are tied to the old index.
            self.forget_iface(&link.name);
            return;
        }
        if was != link.up {
            self.note(
                Level::Info,
                None,
                format!(
                    "link state of {} changed: {}",
                    link.name,
                    if link.up { "up" } else { "down" }
                ),
            );
            let input = if link.up {
                Input::LinkUp
            } else {
                Input::LinkDown
            };
            self.feed_iface(now, &link.name, input);
        }
    }

    pub(crate) fn on_link_gone(&mut self, now: Instant, index: u32) {
        let name = self
            .ifaces
            .iter()
            .find(|(_, f)| f.link.index == index)
            .map(|(n, _)| n.clone());
        if let Some(name) = name {
            self.note(Level::Warn, None, format!("interface {name} removed"));
            self.feed_iface(now, &name, Input::LinkDown);
            self.forget_iface(&name);
        }
    }

    pub(crate) fn feed_iface(&mut self, now: Instant, name: &str, input: Input) {
        for id in self.instances.ids_where(|i| i.cfg.interface == name) {
            self.feed(now, id, input.clone());
        }
    }

    /// Drops an interface, its sockets and the routers on it; they start again when it
    /// returns.
    pub(crate) fn forget_iface(&mut self, name: &str) {
        self.ifaces.remove(name);
        self.push(Command::CloseSockets {
            interface: name.to_string(),
        });
        for inst in self
            .instances
            .current_mut()
            .filter(|i| i.cfg.interface == name)
        {
            inst.wait(format!("interface {name} is gone"));
        }
    }
}
