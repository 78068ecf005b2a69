//! One configured VRRP instance as the node runs it: its configuration, the engine once
//! the interface, its address and its sockets are ready, and how its VIPs are labelled.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr};

use vipd_engine::{
    AnnounceConfig, Config as EngineConfig, Input, Instant, ReconfigureError, Router,
};
use vipd_wire::{Advert, RxError, MULTICAST_V4, MULTICAST_V6};

use crate::auth_state::AuthKeeper;
use crate::config::InstanceConfig;
use crate::io::{Addr, AdvertCopy, Command, Family, RunId, ADDRESS_PROTOCOL};

/// Why a new instance waits: nothing about its interface is known yet.
pub(crate) const NOT_SET_UP: &str = "interface not set up yet";

/// Why an instance waits while its sockets are opened: a moment, not worth a warning.
pub(crate) const OPENING: &str = "opening its sockets";

/// Where an instance is in its life.
#[derive(Debug)]
pub enum Phase {
    /// No router: the interface, its address or its sockets are not ready (why, for
    /// status).
    Waiting(String),
    /// The router runs.
    Running(Router),
    /// Reloaded away or restarted, the router hands its VIPs over (make-before-break):
    /// it hears adverts and times out until the handover ends.
    Leaving(Router),
}

pub struct Instance {
    pub cfg: InstanceConfig,
    pub phase: Phase,
    /// Which run the router is: answers for an earlier run (a send result, a VIP job)
    /// find no router and change nothing.
    pub run: RunId,
    /// Adverts from addresses that are not unicast peers, dropped while the router ran
    /// (reported with the engine's drops as `not_a_peer`).
    pub not_a_peer: u64,
    /// With `auth`: the last sequence number accepted from each source.
    pub replay: crate::auth::Replay,
    /// With `auth`: failures that last, and routers it outranks that do not hear it.
    pub auth_watch: crate::auth_watch::AuthWatch,
    /// State changes by reason, across runs of the router (a counter for metrics).
    pub transitions_by_reason: std::collections::BTreeMap<&'static str, u64>,
}

impl Instance {
    pub fn new(cfg: InstanceConfig) -> Instance {
        Instance {
            cfg,
            phase: Phase::Waiting(NOT_SET_UP.into()),
            run: RunId(0),
            not_a_peer: 0,
            replay: crate::auth::Replay::default(),
            auth_watch: Default::default(),
            transitions_by_reason: Default::default(),
        }
    }

    /// The router, running or leaving.
    pub fn router(&self) -> Option<&Router> {
        match &self.phase {
            Phase::Running(r) | Phase::Leaving(r) => Some(r),
            Phase::Waiting(_) => None,
        }
    }

    pub fn router_mut(&mut self) -> Option<&mut Router> {
        match &mut self.phase {
            Phase::Running(r) | Phase::Leaving(r) => Some(r),
            Phase::Waiting(_) => None,
        }
    }

    /// Whether its router is handing over make-before-break (its VIPs kept until the
    /// new master is heard or the bound passes).
    pub fn handing_over(&self) -> bool {
        self.router().is_some_and(|r| r.handover().is_some())
    }

    /// Why no router runs, while none does.
    pub fn waiting(&self) -> Option<&str> {
        match &self.phase {
            Phase::Waiting(why) => Some(why),
            Phase::Running(_) | Phase::Leaving(_) => None,
        }
    }

    /// The router goes (dropped, whatever it was doing); the instance waits, `why`.
    pub fn wait(&mut self, why: impl Into<String>) {
        self.phase = Phase::Waiting(why.into());
    }

    /// A waiting instance now waits for another reason: whether the reason changed (a
    /// router, running or leaving, stays).
    pub fn wait_for(&mut self, why: &str) -> bool {
        match &mut self.phase {
            Phase::Waiting(old) if old != why => {
                why.clone_into(old);
                true
            }
            _ => false,
        }
    }

    /// A running router leaves: it keeps handing over until its handover ends.
    pub fn leave(&mut self) {
        let phase = std::mem::replace(&mut self.phase, Phase::Waiting(String::new()));
        self.phase = match phase {
            Phase::Running(r) => Phase::Leaving(r),
            other => other,
        };
    }

    /// Whether an advert from `src` may reach the router: from anyone for a multicast
    /// instance, only from a listed peer for a unicast one (fail closed).
    pub fn accepts_from(&self, src: IpAddr) -> bool {
        self.cfg.unicast_peers.is_empty() || self.cfg.unicast_peers.contains(&src)
    }

    /// The copies of an advert the engine wrote for the VRRP group (`bytes`, sent from
    /// `src`): that one copy for a multicast instance; for a unicast one a copy to each
    /// peer but `src` itself, its VRRPv3 pseudo-header checksum readdressed to the peer.
    pub fn copies(&self, src: IpAddr, bytes: Vec<u8>) -> Vec<AdvertCopy> {
        let group = match src {
            IpAddr::V4(_) => IpAddr::V4(MULTICAST_V4),
            IpAddr::V6(_) => IpAddr::V6(MULTICAST_V6),
        };
        if self.cfg.unicast_peers.is_empty() {
            return vec![AdvertCopy { dst: group, bytes }];
        }
        self.cfg
            .unicast_peers
            .iter()
            .filter(|peer| **peer != src)
            .map(|&dst| {
                let mut bytes = bytes.clone();
                // RFC 5798 §5.2.8: a checksum over the pseudo-header names the group.
                vipd_wire::readdress(&mut bytes, self.cfg.version, self.cfg.checksum, group, dst);
                AdvertCopy { dst, bytes }
            })
            .collect()
    }

    /// `Output::SendAdvert`: the advert the engine wrote goes out as one copy per
    /// destination (a unicast peer's has its own VRRPv3 checksum), each signed as it
    /// goes out with the next sequence number of `seqs` if the instance has `auth` (the
    /// MAC covers the checksum); the command goes to the node's outbox, `out`.
    pub(crate) fn send_advert(
        &self,
        bytes: Vec<u8>,
        seqs: &mut AuthKeeper,
        out: &mut VecDeque<Command>,
    ) {
        let Some(src) = self.router().map(|r| r.config().primary) else {
            return;
        };
        let to = self
            .copies(src, bytes)
            .into_iter()
            .map(|c| AdvertCopy {
                dst: c.dst,
                bytes: match self.cfg.auth.as_ref() {
                    Some(auth) => crate::auth::sign(&auth.key, src, c.bytes, seqs.take()),
                    None => c.bytes,
                },
            })
            .collect();
        out.push_back(Command::SendAdvert {
            run: self.run,
            interface: self.cfg.interface.clone(),
            family: self.family(),
            src,
            to,
        });
    }

    /// `Output::Announce`: `count` gratuitous ARPs / unsolicited NAs for each VIP, from
    /// the interface's `mac` (and, for IPv6, from `src6`: without it, none), to the
    /// node's outbox, `out`.
    pub(crate) fn announce(
        &self,
        count: u32,
        mac: [u8; 6],
        src6: Option<Ipv6Addr>,
        out: &mut VecDeque<Command>,
    ) {
        let mut frames = Vec::new();
        for vip in &self.cfg.vips {
            let frame = match (vip.addr, src6) {
                (IpAddr::V4(a), _) => vipd_wire::announce::gratuitous_arp(mac, a),
                (IpAddr::V6(a), Some(src)) => vipd_wire::announce::unsolicited_na(mac, src, a),
                (IpAddr::V6(_), None) => continue,
            };
            for _ in 0..count {
                frames.push(frame.clone());
            }
        }
        out.push_back(Command::Announce {
            interface: self.cfg.interface.clone(),
            instance: self.cfg.name.clone(),
            frames,
        });
    }

    /// The VRRP message of a datagram from `src` for this instance: all of `bytes`
    /// without `auth`; with it, the message once its trailer holds.
    pub(crate) fn authenticate<'b>(
        &mut self,
        src: IpAddr,
        bytes: &'b [u8],
    ) -> Result<&'b [u8], RxError> {
        let Some(auth) = self.cfg.auth.as_ref() else {
            return Ok(bytes);
        };
        let version = self.cfg.version;
        crate::auth::verify(
            auth,
            &mut self.replay,
            src,
            bytes,
            version,
            self.cfg.is_ipv6(),
        )
    }

    /// What the router makes of `message` from `src` to `dst`, arrived with `ttl` (its
    /// authentication trailer, if any, checked and cut off): decoded by the codec
    /// against what the router expects (RFC 5798 §7.1), the advert or why it was
    /// refused. None while no router runs.
    pub fn received(&self, src: IpAddr, dst: IpAddr, ttl: u8, message: &[u8]) -> Option<Input> {
        let router = self.router()?;
        let check = router.config().rx_check(src, dst, ttl);
        let received = Advert::receive(message, &check);
        Some(Input::Advert { src, received })
    }

    pub fn family(&self) -> Family {
        if self.cfg.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        }
    }

    /// The kernel address label for IPv4 VIPs: `<ifname>:<instance>` when it fits the
    /// 15 characters Linux allows, else `<ifname>:<vrid>`, else none.
    pub fn label(&self) -> Option<String> {
        [
            format!("{}:{}", self.cfg.interface, self.cfg.name),
            format!("{}:{}", self.cfg.interface, self.cfg.vrid),
        ]
        .into_iter()
        .find(|l| l.len() <= 15)
    }

    /// Whether `a` is an address vipd added for this instance: tagged with vipd's
    /// address protocol, or (on kernels before 6.1, which drop the tag) an IPv4 address
    /// with this instance's label.
    pub fn added(&self, a: &Addr) -> bool {
        a.protocol == Some(ADDRESS_PROTOCOL)
            || (a.label.is_some() && a.label == self.label() && a.addr.is_ipv4())
    }

    /// The first VIP that is an address of the host vipd did not add: the instance must
    /// not take it over (removing it when not master would cut the host off).
    pub fn foreign_vip<'a>(&'a self, addrs: &[Addr]) -> Option<&'a crate::config::Vip> {
        self.cfg
            .vips
            .iter()
            .find(|v| addrs.iter().any(|a| a.addr == v.addr && !self.added(a)))
    }

    /// Takes `cfg` (same identity: see [`InstanceConfig::same_identity`]) without
    /// leaving the current state; on an error nothing changed.
    pub fn update_in_place(
        &mut self,
        now: Instant,
        cfg: &InstanceConfig,
    ) -> Result<(), ReconfigureError> {
        if let Some(r) = self.router_mut() {
            let primary = r.config().primary;
            r.reconfigure(now, engine_config(cfg, primary))?;
        }
        self.cfg = cfg.clone();
        Ok(())
    }

    /// The engine's configuration, given the advert source address.
    pub fn engine_config(&self, primary: IpAddr) -> EngineConfig {
        engine_config(&self.cfg, primary)
    }
}

fn engine_config(c: &InstanceConfig, primary: IpAddr) -> EngineConfig {
    EngineConfig {
        vrid: c.vrid,
        version: c.version,
        priority: c.priority,
        advert_interval_cs: c.advert_interval_cs(),
        preempt: c.preempt,
        preempt_delay: c.preempt_delay,
        vips: c.vips.iter().map(|v| v.addr).collect(),
        primary,
        checksum: c.checksum,
        announce: AnnounceConfig {
            count: c.garp.count,
            repeat_after: c.garp.repeat_after,
            refresh: c.garp.refresh,
        },
        fault_retry: std::time::Duration::from_secs(10),
        // Two routers, declared (`routers: 2`) or with one unicast peer (the instance
        // hears and is heard by that one router only): it is the only backup whenever
        // it is not master.
        only_backup: c.routers == Some(2) || c.unicast_peers.len() == 1,
    }
}
