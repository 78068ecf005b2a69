//! Instance set-up: once an interface exists, has an address to send adverts from and
//! its sockets are open (asked for by id), the router starts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use vipd_engine::{Input, Instant, Router};

use crate::instance::OPENING;
use crate::instances::InstanceId;
use crate::io::{Addr, Command, Family, Level, Link, OpenId, What};
use crate::node::{Iface, Node};

impl Node {
    // ---- set-up -------------------------------------------------------------------

    /// Records (and logs, once per reason) why instance `id` is not running.
    pub(crate) fn note_waiting(&mut self, id: InstanceId, why: &str) {
        let Some(inst) = self.instances.get_mut(id) else {
            return;
        };
        if inst.wait_for(why) {
            let name = inst.cfg.name.clone();
            if why != OPENING {
                self.note(Level::Warn, Some(&name), format!("not started yet: {why}"));
            }
        }
    }

    /// The advert source among `addrs`: the first IPv4 address that is not a VIP of
    /// ours, or the IPv6 link-local address (RFC 5798 §5.1.1.1, §5.1.2.1); not a
    /// tentative one, except `in_use` (a link flap makes the kernel run DAD on the
    /// link-local address again, and the source in use stays right meanwhile).
    pub(crate) fn pick_source(
        &self,
        addrs: &[Addr],
        family: Family,
        in_use: Option<IpAddr>,
    ) -> Option<IpAddr> {
        addrs
            .iter()
            .find(|a| {
                (!a.tentative || Some(a.addr) == in_use)
                    && Family::of(a.addr) == family
                    && !self
                        .instances
                        .current()
                        .any(|i| i.cfg.vips.iter().any(|v| v.addr == a.addr))
                    && (family == Family::V4 || a.link_local)
            })
            .map(|a| a.addr)
    }

    /// Starts the instances on `link` that are not running yet (interface or address
    /// missing at start, or after a reload or a source change).
    pub(crate) fn setup_waiting(&mut self, now: Instant, link: &Link, addrs: &[Addr]) {
        // A stopping node starts nothing: a router started now could take a VIP that
        // nothing would remove before the exit.
        if self.stopping.is_some() {
            return;
        }
        for id in self
            .instances
            .ids_where(|i| i.router().is_none() && i.cfg.interface == link.name)
        {
            if let Err(why) = self.setup(now, id, link, addrs) {
                self.note_waiting(id, &why);
            }
        }
    }

    /// Starts instance `id` on `link` once its sockets are open; asks for them first.
    fn setup(
        &mut self,
        now: Instant,
        id: InstanceId,
        link: &Link,
        addrs: &[Addr],
    ) -> Result<(), String> {
        let Some(inst) = self.instances.get(id) else {
            return Ok(());
        };
        let family = inst.family();
        let source = self
            .pick_source(addrs, family, None)
            .ok_or_else(|| match family {
                Family::V6 => {
                    "no usable IPv6 link-local address on the interface (yet)".to_string()
                }
                Family::V4 => "no IPv4 address on the interface to send adverts from".to_string(),
            })?;
        // Never take over (and so never remove) an address vipd did not add: a VIP that
        // is already the host's own address is refused.
        if let Some(v) = self.instances.get(id).and_then(|i| i.foreign_vip(addrs)) {
            return Err(format!(
                "VIP {v} is already an address of {} that vipd did not add; refusing to manage it \
                 (remove it from the interface or from the configuration)",
                link.name
            ));
        }
        if link.mac == [0; 6] {
            return Err(format!(
                "interface {} has no Ethernet address; VIPs cannot be announced on it",
                link.name
            ));
        }
        let iface = self
            .ifaces
            .entry(link.name.clone())
            .or_insert_with(|| Iface {
                link: link.clone(),
                addrs: addrs.to_vec(),
                sockets: BTreeMap::new(),
                unknown_vrid: 0,
                last_read_ok: now,
                blind: false,
            });
        // One IPv4 socket serves every source; an IPv6 one sends from its link-local.
        let socket = iface.sockets.entry(family).or_default();
        let wanted = match (family, socket.open) {
            (Family::V4, Some(open)) => open,
            _ => source,
        };
        if socket.open != Some(wanted) {
            if socket.opening.is_some_and(|(_, s)| s == wanted) {
                return Err(OPENING.into());
            }
            self.opens += 1;
            let id = OpenId(self.opens);
            if let Some(s) = self
                .ifaces
                .get_mut(&link.name)
                .and_then(|f| f.sockets.get_mut(&family))
            {
                s.opening = Some((id, wanted));
            }
            self.push(Command::OpenSockets {
                id,
                interface: link.name.clone(),
                ifindex: link.index,
                family,
                source: wanted,
            });
            return Err(OPENING.into());
        }
        self.start_router(now, id, source)
    }

    fn start_router(&mut self, now: Instant, id: InstanceId, source: IpAddr) -> Result<(), String> {
        let Some(inst) = self.instances.get(id) else {
            return Ok(());
        };
        let router = Router::new(inst.engine_config(source)).map_err(|e| e.to_string())?;
        let run = self.next_run();
        let Some(inst) = self.instances.get_mut(id) else {
            return Ok(());
        };
        inst.phase = crate::instance::Phase::Running(router);
        inst.run = run;
        inst.not_a_peer = 0;
        let c = &inst.cfg;
        let (name, what) = (
            c.name.clone(),
            What::Starting {
                interface: c.interface.clone(),
                vrid: c.vrid,
                source,
                priority: c.priority,
            },
        );
        let link_up = self.ifaces.get(&c.interface).is_some_and(|f| f.link.up);
        self.record(Level::Info, Some(&name), what);
        // Tracked checks before Startup: a fault-tracked check that is down keeps the
        // router in Fault from the start.
        if self
            .instances
            .get(id)
            .is_some_and(|i| !i.cfg.track.is_empty())
        {
            self.feed_tracked(now, id);
        }
        if !link_up {
            self.feed(now, id, Input::LinkDown);
        }
        // A leaving master with one of these VIPs removes them first.
        self.end_leaving_for(now, id);
        if self.maintenance.contains(&name) {
            self.feed(now, id, Input::Maintenance(true));
        }
        // A sync group's member starts held: the group releases it once every member
        // is ready (`crate::groups`).
        if self.group_of(&name).is_some() {
            self.feed(now, id, Input::Hold(true));
        }
        self.feed(now, id, Input::Startup);
        Ok(())
    }

    /// The shell opened (or could not open) sockets; only the answer to the open under
    /// way for that interface and family counts.
    pub(crate) fn on_sockets_opened(
        &mut self,
        now: Instant,
        id: OpenId,
        result: Result<(), String>,
    ) {
        let found = self.ifaces.iter_mut().find_map(|(name, f)| {
            f.sockets
                .iter_mut()
                .find(|(_, s)| s.opening.is_some_and(|(o, _)| o == id))
                .map(|(family, s)| (name.clone(), *family, s))
        });
        let Some((interface, family, socket)) = found else {
            // For an interface forgotten since, or an open superseded by a newer one.
            return;
        };
        let Some((_, source)) = socket.opening.take() else {
            return;
        };
        match result {
            Ok(()) => socket.open = Some(source),
            Err(e) => {
                // The shell keeps whatever it had open; routers waiting say why.
                for i in self.instances.ids() {
                    let Some(inst) = self.instances.get(i) else {
                        continue;
                    };
                    if inst.router().is_none()
                        && inst.cfg.interface == interface
                        && inst.family() == family
                    {
                        self.note_waiting(i, &format!("cannot open sockets: {e}"));
                    }
                }
                return;
            }
        }
        if let Some(f) = self.ifaces.get(&interface) {
            let (link, addrs) = (f.link.clone(), f.addrs.clone());
            self.setup_waiting(now, &link, &addrs);
        }
    }
}
