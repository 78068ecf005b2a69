//! Received datagrams to the router they are for: by interface, VRID and family.

use vipd_engine::{Input, Instant};
use vipd_wire::RxError;

use crate::instances::InstanceId;
use crate::io::{Datagram, Family, Level};
use crate::node::Node;

impl Node {
    pub(crate) fn on_datagram(&mut self, now: Instant, d: Datagram) {
        let family = Family::of(d.src);
        let vrid = match vipd_wire::peek_vrid(&d.bytes) {
            Ok(vrid) => vrid,
            Err(e) => return self.reject_all(now, d.ifindex, family, e),
        };
        // A leaving master of the same virtual router (reloaded away or restarted) waits
        // for this advert to end its handover: it hears only what a running instance
        // would, through the same peer filter and authentication (a forged advert must
        // not end a handover early).
        for k in self.instances.leaving_ids().into_iter().rev() {
            let Some(inst) = self.instances.get(k) else {
                continue;
            };
            if inst.cfg.vrid != vrid
                || inst.family() != family
                || self.ifindex(&inst.cfg.interface) != Some(d.ifindex)
                || !inst.accepts_from(d.src)
            {
                continue;
            }
            let Some(inst) = self.instances.get_mut(k) else {
                continue;
            };
            let input = match inst.authenticate(d.src, &d.bytes) {
                Ok(message) => inst.received(d.src, d.dst, d.ttl, message),
                Err(e) => Some(Input::Rejected(e)),
            };
            if let Some(input) = input {
                self.feed_leaving(now, k, input);
            }
        }
        let target = self.instances.find_id(|inst| {
            inst.cfg.vrid == vrid
                && inst.family() == family
                && self.ifindex(&inst.cfg.interface) == Some(d.ifindex)
        });
        let Some(i) = target else {
            // RFC 5798 §7.1: a VRID not configured on this interface is discarded.
            if let Some(f) = self.ifaces.values_mut().find(|f| f.link.index == d.ifindex) {
                f.unknown_vrid += 1;
            }
            self.note(
                Level::Debug,
                None,
                format!("advert from {} for VRID {vrid}, not configured here", d.src),
            );
            return;
        };
        if !self.instances.get(i).is_some_and(|x| x.accepts_from(d.src)) {
            self.not_a_peer(i, d.src);
            return;
        }
        let Some(inst) = self.instances.get_mut(i) else {
            return;
        };
        // With `auth`, only a message whose trailer holds goes on (see `auth`).
        let bytes = match inst.authenticate(d.src, &d.bytes) {
            Ok(message) => message,
            Err(e) => {
                let Some(inst) = self.instances.get_mut(i) else {
                    return;
                };
                let mdi = inst.router().map(|r| r.master_down_interval());
                if let Some(warning) = inst.auth_watch.refused(now, d.src, &e, mdi) {
                    let name = inst.cfg.name.clone();
                    self.note(Level::Warn, Some(&name), warning);
                }
                return self.feed(now, i, Input::Rejected(e));
            }
        };
        let was_master = inst
            .router()
            .is_some_and(|r| r.state() == vipd_engine::State::Master);
        if let Some(input) = inst.received(d.src, d.dst, d.ttl, bytes) {
            self.feed_from(now, i, input, Some(d.src));
        }
        if self.instances.get(i).is_some_and(|x| x.cfg.auth.is_some()) {
            self.auth.accepted();
            let Some(inst) = self.instances.get_mut(i) else {
                return;
            };
            // The sender's priority matters only to a master (see `AuthWatch::heard`).
            let priority = was_master
                .then(|| vipd_wire::Advert::parse(bytes, inst.cfg.is_ipv6()).ok())
                .flatten()
                .map(|a| a.priority);
            let router = inst.router().map(|r| (r.state(), r.master_down_interval()));
            let heard = inst
                .auth_watch
                .heard(now, d.src, priority, was_master, router);
            if let Some(mdi) = heard {
                let name = inst.cfg.name.clone();
                let warning = crate::auth_watch::outranked_warning(d.src, mdi, self.auth.jump());
                self.note(Level::Warn, Some(&name), warning);
            }
        }
    }

    /// An advert for unicast instance `id` from an address it does not list: dropped
    /// and counted, whatever it says (fail closed).
    fn not_a_peer(&mut self, id: InstanceId, src: std::net::IpAddr) {
        let Some(inst) = self.instances.get_mut(id) else {
            return;
        };
        if inst.router().is_none() {
            return;
        }
        inst.not_a_peer += 1;
        let name = inst.cfg.name.clone();
        self.note(
            Level::Debug,
            Some(&name),
            format!("dropped (not_a_peer): advert from {src}, which is not a unicast peer"),
        );
    }

    /// A datagram no instance can claim is counted by every instance of its family on
    /// that interface.
    pub(crate) fn reject_all(&mut self, now: Instant, ifindex: u32, family: Family, e: RxError) {
        let ifaces = &self.ifaces;
        let on_link = self.instances.ids_where(|inst| {
            inst.family() == family
                && ifaces.get(&inst.cfg.interface).map(|f| f.link.index) == Some(ifindex)
        });
        for id in on_link {
            self.feed(now, id, Input::Rejected(e.clone()));
        }
    }
}
