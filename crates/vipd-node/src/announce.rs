//! Announced instances (`announce:`): active-active VIPs through the host's routing
//! daemon instead of a VRRP election.
//!
//! While an announced instance's tracked checks pass, its VIPs (host routes, /32 or
//! /128) are on its announce interface (`vipd0`, which the shell creates and owns); the
//! host's BGP speaker (FRR, BIRD) redistributes what is on that interface, and the
//! upstream router spreads flows over every host announcing it (ECMP). vipd never speaks
//! BGP itself.
//!
//! Withdrawing is make-before-break in the routing sense: a local route for each VIP
//! (kernel local table, on `lo`: [`crate::io::VipOp::AddLocal`]) first, then the address
//! leaves the announce interface, so the speaker withdraws the route while connections
//! the router still sends here are answered; after the drain time the local route goes
//! too. Not an address on `lo`: FRR redistributes a connected route from any interface
//! and, with the address on `lo`, kept the path announced until it was gone from `lo`
//! (measured 1.17 s with a 1 s drain; with the local route, 137 ms). Every withdrawal
//! drains: maintenance, stop, a check that fails (a refused connection beats a SYN into
//! a black hole).
//!
//! States: `withdrawn` → `announcing` (checks pass) → `draining` (drain time) →
//! `withdrawn`; `draining` → `announcing` when the checks pass again during a drain.
//! Everything goes through the node's VIP jobs, tagged as vipd's (IFA_PROTO); a kernel
//! read that nothing changed during reconciles: a VIP missing while announcing is added
//! again, a vipd-tagged one left by an earlier run (a crash) is removed.
//!
//! This is the announced instances' own part (`Announces`); `announcing` is the node's
//! side (checks judged, VIP jobs asked for, reads reconciled, status and hooks).

use std::collections::BTreeMap;
use std::time::Duration;

use vipd_engine::Instant;

pub use crate::announce_config::{AnnounceConfig, AnnounceNotify};
use crate::io::{Addr, JobId, ReadId, ADDRESS_PROTOCOL};

/// The announce interface unless configured otherwise.
pub const DEFAULT_INTERFACE: &str = "vipd0";
/// The drain time unless configured otherwise: above FRR's measured withdrawal
/// (about 126 ms with `timers bgp 1 3`) with room for a slower speaker or router.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(2);
/// Where a draining VIP stays reachable (a local route), not announced.
pub const LOOPBACK: &str = "lo";

impl AnnounceNotify {
    /// The hooks entering `to` runs, in order.
    pub(crate) fn hooks_for(&self, to: Phase) -> Vec<(&'static str, &Vec<String>)> {
        let own = match to {
            Phase::Announcing => &self.announcing,
            Phase::Draining { .. } => &self.draining,
            Phase::Withdrawn => &self.withdrawn,
        };
        [(to.as_str(), own.as_ref()), ("any", self.any.as_ref())]
            .into_iter()
            .filter_map(|(hook, argv)| argv.map(|a| (hook, a)))
            .collect()
    }
}

impl AnnounceConfig {
    /// Whether `other` announces the same VIPs on the same interface (a reload then
    /// updates it in place).
    pub fn same_identity(&self, other: &AnnounceConfig) -> bool {
        self.interface == other.interface && self.vips == other.vips
    }
}

/// Where an announced instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The VIPs are on neither the announce interface nor `lo`.
    Withdrawn,
    /// The VIPs are on the announce interface: the speaker announces them.
    Announcing,
    /// Withdrawn, the VIPs' local routes on `lo` until `until`.
    Draining { until: Instant },
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Withdrawn => "withdrawn",
            Phase::Announcing => "announcing",
            Phase::Draining { .. } => "draining",
        }
    }
}

/// One announced instance as the node runs it.
#[derive(Debug, Clone)]
pub(crate) struct Announced {
    pub cfg: AnnounceConfig,
    pub phase: Phase,
    pub reason: String,
    pub since: Instant,
    pub transitions: u64,
    /// The add on the announce interface under way.
    pub(crate) adding: Option<JobId>,
}

/// Every announced instance, and what the node knows of their interfaces.
#[derive(Debug, Default)]
pub(crate) struct Announces {
    pub list: Vec<Announced>,
    /// Interface name → index, from the newest read that found it.
    pub(crate) links: BTreeMap<String, u32>,
    /// Whether the local routes an earlier run may have left were removed (once, when
    /// `lo` is first known).
    pub(crate) swept: bool,
    /// Reads under way: the VIP-change epoch of each interface of ours when it began.
    pub(crate) reads: BTreeMap<ReadId, BTreeMap<String, u64>>,
}

impl Announces {
    pub fn new(now: Instant, cfgs: &[AnnounceConfig]) -> Announces {
        Announces {
            list: cfgs
                .iter()
                .map(|c| Announced::new(now, c.clone()))
                .collect(),
            ..Announces::default()
        }
    }

    /// The interfaces to read: every announce interface, and `lo`.
    pub fn interfaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.list.iter().map(|a| a.cfg.interface.clone()).collect();
        if !names.is_empty() {
            names.push(LOOPBACK.to_string());
        }
        names.sort();
        names.dedup();
        names
    }

    /// The end of the first drain under way.
    pub fn next_due(&self) -> Option<Instant> {
        self.list
            .iter()
            .filter_map(|a| match a.phase {
                Phase::Draining { until } => Some(until),
                _ => None,
            })
            .min()
    }

    /// Whether a drain is under way (a stopping node waits for it).
    pub fn draining(&self) -> bool {
        self.next_due().is_some()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.list.iter().any(|a| a.cfg.name == name)
    }

    pub(crate) fn label(interface: &str, name: &str) -> Option<String> {
        Some(format!("{interface}:{name}")).filter(|l| l.len() <= 15)
    }
}

impl Announced {
    pub(crate) fn new(now: Instant, cfg: AnnounceConfig) -> Announced {
        Announced {
            cfg,
            phase: Phase::Withdrawn,
            reason: "starting".into(),
            since: now,
            transitions: 0,
            adding: None,
        }
    }

    /// Whether `a` is one of this instance's VIPs that vipd added (tagged, or labelled
    /// as vipd labels IPv4 VIPs on kernels that drop the tag).
    pub(crate) fn ours(&self, a: &Addr, interface: &str) -> bool {
        self.cfg.vips.iter().any(|v| v.addr == a.addr)
            && (a.protocol == Some(ADDRESS_PROTOCOL)
                || (a.label.is_some() && a.label == Announces::label(interface, &self.cfg.name)))
    }
}
