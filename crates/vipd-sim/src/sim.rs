//! The simulated LAN: engines, a fake clock, a lossy multicast segment, and a timeline.
//!
//! # Time
//! The clock only moves forward, and only by jumping to the earliest pending event:
//! a router's `poll_timeout()`, a packet delivery, or a scheduled [`Action`]. Nothing
//! ever sleeps or reads a real clock, so a run is a pure function of the
//! configuration, the seed and the actions.
//!
//! # Order of events within one instant
//! Everything due at the same instant `t` is processed in rounds until nothing is
//! left at `t`:
//! 1. queued items due at or before `t` (scheduled actions and packet deliveries), in
//!    the order they were queued;
//! 2. then every running router whose `poll_timeout()` is at or before `t` gets
//!    `Input::Timeout`, in node order. All timers due at `t` fire before any packet
//!    *sent* at `t` is received, even with zero latency: routers whose timers expire
//!    at the same instant act simultaneously, as they would on real hardware.
//!
//! A packet arriving at the same instant as the receiver's timer is due is therefore
//! received first. Actions called directly (`crash`, `heal`, ...) happen at
//! [`Sim::now`], after everything already processed at that instant, and their
//! consequences at that same instant are then settled before the call returns.
//!
//! # The network
//! One multicast segment. An advert sent by node `s` is delivered after the (per-link
//! overridable) one-way latency to every other node `r` that is *connected* to `s`
//! both when it is sent and when it arrives: both links up and in the same partition
//! group. A packet in flight when a partition starts or a link goes down is lost; a
//! packet sent while partitioned is not delivered after a heal. Loss is decided when
//! the packet is sent, per receiver, by a seeded [`SplitMix64`]. Packets are never
//! looped back to the sender. Crashed and never-started nodes neither send nor
//! receive.
//!
//! # Sending
//! The harness answers every `Output::SendAdvert` with `Input::AdvertSent { ok }` at
//! the same instant, `ok` configurable per node (as the daemon reports the result of
//! each send). An advert whose send fails goes to nobody and is recorded as
//! [`What::SendFailed`]; for the split-brain bound it counts as lost to every other
//! node.
//!
//! # VIPs
//! The harness answers every `Output::AddVips { id }` with
//! `Input::VipApplied { id, ok }` at the same instant, `ok` configurable per node,
//! and every `Output::DelVips { id }` with `Input::VipApplied { id, ok: true }`
//! (removals never fail here). Only the answers to adds are recorded, as
//! [`What::VipApplied`]: the engine acts on no answer to a remove. A node "holds the
//! VIP" from a successful add until its next `Output::DelVips`. A crash does not
//! remove the VIP (as with SIGKILL, it stays in the kernel); the engine's Startup
//! `DelVips` clears it on restart. [`Sim::vip_holders`] only counts running nodes.
//!
//! # The invariants (see [`Sim::check_invariants`])
//! With checking on, these are checked after every instant has settled:
//!
//! - **VIP consistency**: a running node is in Master if and only if it holds the VIP.
//!   (A master whose add failed leaves Master in the same instant, so it is never
//!   seen as a master without its VIP for more than zero simulated time.) The one
//!   exception is a planned handover (make-before-break, see `vipd_engine::router`):
//!   a master that shut down or went into maintenance keeps the VIP after its
//!   priority-0 advert, for at most [`handover_bound`] from that advert — checked
//!   here with the bound worked out independently of the engine's own deadline.
//! - **No lasting split brain**: take two running nodes `a` and `b` that are
//!   *compatible* (same VRID, version and family, and for VRRPv2 the same VIP set and
//!   interval — otherwise they drop each other's adverts by design and nothing can be
//!   promised), connected, and both Master holding the VIP. Let `s` be the latest of:
//!   the instant `a` became master-holding-VIP, the same for `b`, the instant they
//!   became connected (heal, link up, start), the send instant of the last advert
//!   between them lost to simulated loss or not sent at all (a failed send), and the
//!   last tracked-object change of either (it can reorder them). Then `now - s <= grace` where
//!   `grace = max(advert interval of a, of b) + max(latency a→b, b→a)`.
//!
//!   Why this bound is exact and honest: of two masters, the higher-ranked one (`h`)
//!   sends an advert at least every interval (its Adver_Timer, which is only ever
//!   reset at the moment it sends). From `s` on every advert between them arrives
//!   and the ranking is fixed, so `h`'s next advert, sent at most one interval after
//!   `s`, reaches the lower one at most one latency later, and the lower one leaves
//!   Master on receipt (RFC 5798 §6.4.3). Without loss `s` is simply the start of the
//!   overlap or the heal, and the bound is reached exactly when the higher one's last
//!   advert before the heal went out just before it. With loss, every lost advert can
//!   extend the overlap, and the bound restarts from it. Two nodes that cannot hear
//!   each other may both be masters forever; that is what a partition is.
//! - **No stuck timer**: an `Input::Timeout` at `t` that produces no output and leaves
//!   the same deadline `<= t` in place would make a driver spin. This one is recorded
//!   whether or not checking is on, and the harness then ignores that deadline.

use std::cmp::max;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use vipd_engine::{
    centis, Config, ConfigError, Input, Instant, Output, Reason, Router, State, VipJobId,
};
use vipd_wire::{Advert, Version, MULTICAST_V4, MULTICAST_V6};

use crate::rng::SplitMix64;

/// Index of a node, in the order nodes were added to the builder.
pub type NodeId = usize;

/// Default one-way latency of every link.
pub const DEFAULT_LATENCY: Duration = Duration::from_micros(100);

/// Items processed at one instant before the harness declares a livelock.
const MAX_STEPS_PER_INSTANT: usize = 100_000;

/// Something done to the simulated LAN, at once or scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Start the process (a fresh `Router` if it was not running) and feed Startup.
    Start {
        node: NodeId,
    },
    /// Graceful stop: `Input::Shutdown`; the process keeps running (state Stopped).
    Stop {
        node: NodeId,
    },
    /// The process dies: no Shutdown, no more input or output. VIPs stay.
    Crash {
        node: NodeId,
    },
    /// The node's link goes down (`Input::LinkDown`); it is cut off the segment.
    LinkDown {
        node: NodeId,
    },
    LinkUp {
        node: NodeId,
    },
    /// Each group becomes an island; nodes in no group stay together in the rest.
    Partition {
        groups: Vec<Vec<NodeId>>,
    },
    /// Everyone can hear everyone again (links permitting).
    Heal,
    /// `Input::Tracked` with these values (kept across restarts of the node).
    Tracked {
        node: NodeId,
        weight: i32,
        fault: bool,
    },
    /// How the harness answers this node's future `AddVips`.
    VipAddOk {
        node: NodeId,
        ok: bool,
    },
    /// Whether this node's future adverts go out (`Input::AdvertSent { ok }`); a
    /// failed one reaches nobody.
    AdvertSendOk {
        node: NodeId,
        ok: bool,
    },
    /// Someone else removes the VIP from the node's interface; if it held it, the
    /// driver notices and feeds `Input::VipsMissing`.
    VipsRemoved {
        node: NodeId,
    },
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub at: Instant,
    pub node: NodeId,
    pub what: What,
}

/// What happened (to `Record::node`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// An action was applied (for `Partition`/`Heal`, `node` is 0).
    Action(Action),
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    /// The node sent an advert of this priority.
    SentAdvert {
        priority: u8,
    },
    /// The node tried to send an advert of this priority and the send failed.
    SendFailed {
        priority: u8,
    },
    /// A packet was handed to the node's engine (`from` is `None` for injected ones;
    /// `priority` is `None` when the bytes do not parse).
    Received {
        from: Option<NodeId>,
        priority: Option<u8>,
    },
    /// An advert from this node to `to` was lost to simulated loss.
    Lost {
        to: NodeId,
    },
    /// The engine dropped a packet; the counter name.
    Dropped {
        kind: &'static str,
    },
    /// The engine accepted an advert from `from` that lists other addresses.
    AddressMismatch {
        from: IpAddr,
    },
    /// The engine accepted a VRRPv3 advert from `from` checksummed in the other form.
    OtherChecksumForm {
        from: IpAddr,
    },
    /// During a planned handover, the engine heard the new master `from`.
    NewMasterHeard {
        from: IpAddr,
    },
    AddVips,
    /// The harness answered an `AddVips` (answers to `DelVips` are not recorded).
    VipApplied {
        ok: bool,
    },
    DelVips,
    Announce {
        count: u32,
    },
}

/// A broken invariant (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two connected compatible nodes both held the VIP as masters for longer than
    /// `grace` after `since`.
    DualMaster {
        at: Instant,
        a: NodeId,
        b: NodeId,
        since: Instant,
        grace: Duration,
    },
    MasterWithoutVip {
        at: Instant,
        node: NodeId,
    },
    VipWithoutMaster {
        at: Instant,
        node: NodeId,
    },
    /// After a Timeout at `at` the router still asked to be woken at `deadline <= at`.
    StuckTimer {
        at: Instant,
        node: NodeId,
        deadline: Instant,
    },
    /// More than a very large number of events at one instant.
    Livelock {
        at: Instant,
    },
    /// A node's configuration was refused on restart (cannot happen after `build`).
    Config {
        node: NodeId,
        error: ConfigError,
    },
}

/// A period during which two connected, compatible nodes were both masters holding
/// the VIP (observed at the end of instants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    pub a: NodeId,
    pub b: NodeId,
    pub start: Instant,
    /// `None` while still going on.
    pub end: Option<Instant>,
}

impl Episode {
    /// How long it lasted (so far, if it is still open, up to `now`).
    pub fn duration(&self, now: Instant) -> Duration {
        self.end.unwrap_or(now) - self.start
    }
}

#[derive(Debug)]
struct Node {
    cfg: Config,
    router: Router,
    running: bool,
    link_up: bool,
    weight: i32,
    fault: bool,
    vip_add_ok: bool,
    send_ok: bool,
    holds_vip: bool,
    /// A deadline that did not move after firing (already reported).
    stuck_at: Option<Instant>,
    /// When this node last became a running master holding the VIP.
    master_since: Option<Instant>,
    /// When its tracked-object input last changed.
    tracked_at: Option<Instant>,
}

impl Node {
    fn due(&self) -> Option<Instant> {
        if !self.running {
            return None;
        }
        self.router
            .poll_timeout()
            .filter(|t| Some(*t) != self.stuck_at)
    }

    fn is_holding_master(&self) -> bool {
        self.running && self.holds_vip && self.router.state() == State::Master
    }
}

#[derive(Debug)]
enum Pending {
    Deliver {
        from: NodeId,
        to: NodeId,
        bytes: Vec<u8>,
    },
    Act(Action),
}

/// Builds a [`Sim`].
#[derive(Debug, Clone)]
pub struct SimBuilder {
    latency: Duration,
    seed: u64,
    loss_ppm: u32,
    check: bool,
    grace: Option<Duration>,
    nodes: Vec<Config>,
}

impl Default for SimBuilder {
    fn default() -> Self {
        SimBuilder {
            latency: DEFAULT_LATENCY,
            seed: 0x5eed,
            loss_ppm: 0,
            check: false,
            grace: None,
            nodes: Vec::new(),
        }
    }
}

impl SimBuilder {
    /// Default one-way latency of every link.
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Default loss on every link, in parts per million.
    pub fn loss_ppm(mut self, ppm: u32) -> Self {
        self.loss_ppm = ppm;
        self
    }
    /// Check the invariants after every instant.
    pub fn check_invariants(mut self, on: bool) -> Self {
        self.check = on;
        self
    }
    /// Replaces the computed split-brain grace by `d` (to test the checker itself).
    pub fn grace_override(mut self, d: Duration) -> Self {
        self.grace = Some(d);
        self
    }
    /// Adds a node; its id is the number of nodes added before it.
    pub fn node(mut self, cfg: Config) -> Self {
        self.nodes.push(cfg);
        self
    }

    /// Validates every configuration and builds the LAN, clock at zero, nothing
    /// started.
    pub fn build(self) -> Result<Sim, ConfigError> {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for cfg in self.nodes {
            let router = Router::new(cfg.clone())?;
            nodes.push(Node {
                cfg,
                router,
                running: false,
                link_up: true,
                weight: 0,
                fault: false,
                vip_add_ok: true,
                send_ok: true,
                holds_vip: false,
                stuck_at: None,
                master_since: None,
                tracked_at: None,
            });
        }
        let n = nodes.len();
        Ok(Sim {
            now: Instant::ZERO,
            nodes,
            queue: BTreeMap::new(),
            seq: 0,
            latency: self.latency,
            link_latency: BTreeMap::new(),
            loss_ppm: self.loss_ppm,
            link_loss: BTreeMap::new(),
            rng: SplitMix64::new(self.seed),
            group: vec![0; n],
            records: Vec::new(),
            check: self.check,
            grace_override: self.grace,
            violations: Vec::new(),
            connected_since: BTreeMap::new(),
            last_loss: BTreeMap::new(),
            episodes: Vec::new(),
            reported: BTreeSet::new(),
        })
    }
}

/// A simulated LAN of VRRP engines.
#[derive(Debug)]
pub struct Sim {
    now: Instant,
    nodes: Vec<Node>,
    /// Deliveries and scheduled actions, by (instant, queue order).
    queue: BTreeMap<(Instant, u64), Pending>,
    seq: u64,
    latency: Duration,
    link_latency: BTreeMap<(NodeId, NodeId), Duration>,
    loss_ppm: u32,
    link_loss: BTreeMap<(NodeId, NodeId), u32>,
    rng: SplitMix64,
    group: Vec<usize>,
    records: Vec<Record>,
    check: bool,
    grace_override: Option<Duration>,
    violations: Vec<Violation>,
    /// Unordered pair -> since when connected (absent: not connected).
    connected_since: BTreeMap<(NodeId, NodeId), Instant>,
    /// Unordered pair -> send instant of the last advert between them that was lost
    /// (or not sent at all).
    last_loss: BTreeMap<(NodeId, NodeId), Instant>,
    episodes: Vec<Episode>,
    /// (a, b, since) of dual-master overlaps already reported.
    reported: BTreeSet<(NodeId, NodeId, Instant)>,
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

fn group_addr(primary: IpAddr) -> IpAddr {
    if primary.is_ipv6() {
        IpAddr::V6(MULTICAST_V6)
    } else {
        IpAddr::V4(MULTICAST_V4)
    }
}

impl Sim {
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    // ---- inspection ------------------------------------------------------------

    pub fn now(&self) -> Instant {
        self.now
    }
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    /// The node's engine (frozen as it was if the node crashed).
    pub fn router(&self, node: NodeId) -> &Router {
        &self.nodes[node].router
    }
    pub fn state(&self, node: NodeId) -> State {
        self.nodes[node].router.state()
    }
    pub fn status(&self, node: NodeId) -> vipd_engine::Status {
        self.nodes[node].router.status()
    }
    pub fn config(&self, node: NodeId) -> &Config {
        &self.nodes[node].cfg
    }
    pub fn primary(&self, node: NodeId) -> IpAddr {
        self.nodes[node].cfg.primary
    }
    pub fn is_running(&self, node: NodeId) -> bool {
        self.nodes[node].running
    }
    /// Whether the VIP is on this node's interface (also after a crash).
    pub fn holds_vip(&self, node: NodeId) -> bool {
        self.nodes[node].holds_vip
    }
    /// Running nodes that hold the VIP.
    pub fn vip_holders(&self) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].running && self.nodes[n].holds_vip)
            .collect()
    }
    /// Running nodes in state Master.
    pub fn masters(&self) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].running && self.state(n) == State::Master)
            .collect()
    }
    /// Whether `a` and `b` can hear each other right now.
    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        a != b && self.group[a] == self.group[b] && self.nodes[a].link_up && self.nodes[b].link_up
    }
    pub fn records(&self) -> &[Record] {
        &self.records
    }
    /// Records of one node.
    pub fn records_of(&self, node: NodeId) -> impl Iterator<Item = &Record> + '_ {
        self.records.iter().filter(move |r| r.node == node)
    }
    /// `(at, from, to, reason)` of every state change of `node`.
    pub fn transitions(&self, node: NodeId) -> Vec<(Instant, State, State, Reason)> {
        self.records_of(node)
            .filter_map(|r| match r.what {
                What::StateChanged { from, to, reason } => Some((r.at, from, to, reason)),
                _ => None,
            })
            .collect()
    }
    /// The state `node` was in at `at`, after every transition at that instant
    /// (`Initialize` before its first).
    pub fn state_at(&self, node: NodeId, at: Instant) -> State {
        self.transitions(node)
            .into_iter()
            .take_while(|(t, ..)| *t <= at)
            .last()
            .map_or(State::Initialize, |(_, _, to, _)| to)
    }
    /// The first instant at or after `after` at which `node` entered `state`.
    pub fn entered(&self, node: NodeId, state: State, after: Instant) -> Option<Instant> {
        self.transitions(node)
            .into_iter()
            .find(|(at, _, to, _)| *at >= after && *to == state)
            .map(|(at, ..)| at)
    }
    /// Instants at which `node` did something matching `pred`.
    pub fn instants_of(&self, node: NodeId, pred: impl Fn(&What) -> bool) -> Vec<Instant> {
        self.records_of(node)
            .filter(|r| pred(&r.what))
            .map(|r| r.at)
            .collect()
    }
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
    /// Every dual-master episode seen so far (whether or not checking is on).
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    // ---- network settings --------------------------------------------------------

    /// One-way latency from `from` to `to` (the per-link value or the default).
    pub fn latency(&self, from: NodeId, to: NodeId) -> Duration {
        self.link_latency
            .get(&(from, to))
            .copied()
            .unwrap_or(self.latency)
    }
    /// Sets the latency of the link between `a` and `b`, both directions.
    pub fn set_latency(&mut self, a: NodeId, b: NodeId, d: Duration) {
        self.link_latency.insert((a, b), d);
        self.link_latency.insert((b, a), d);
    }
    /// Sets the latency from `from` to `to` only.
    pub fn set_latency_one_way(&mut self, from: NodeId, to: NodeId, d: Duration) {
        self.link_latency.insert((from, to), d);
    }
    pub fn set_default_latency(&mut self, d: Duration) {
        self.latency = d;
    }
    /// Loss from `from` to `to` in parts per million.
    pub fn loss_ppm(&self, from: NodeId, to: NodeId) -> u32 {
        self.link_loss
            .get(&(from, to))
            .copied()
            .unwrap_or(self.loss_ppm)
    }
    /// Sets the loss of the link between `a` and `b`, both directions.
    pub fn set_loss_ppm(&mut self, a: NodeId, b: NodeId, ppm: u32) {
        self.link_loss.insert((a, b), ppm);
        self.link_loss.insert((b, a), ppm);
    }
    /// Sets the loss from `from` to `to` only.
    pub fn set_loss_ppm_one_way(&mut self, from: NodeId, to: NodeId, ppm: u32) {
        self.link_loss.insert((from, to), ppm);
    }
    pub fn set_default_loss_ppm(&mut self, ppm: u32) {
        self.loss_ppm = ppm;
    }
    pub fn set_check_invariants(&mut self, on: bool) {
        self.check = on;
    }

    // ---- actions -------------------------------------------------------------------

    /// Applies `action` now and settles the consequences at this instant.
    pub fn act(&mut self, action: Action) {
        self.apply(action);
        self.process_instant();
    }
    /// Applies `action` when the clock reaches `at` (not before `now`).
    pub fn schedule(&mut self, at: Instant, action: Action) {
        let at = max(at, self.now);
        self.push(at, Pending::Act(action));
    }
    pub fn start(&mut self, node: NodeId) {
        self.act(Action::Start { node });
    }
    pub fn start_all(&mut self) {
        for node in 0..self.nodes.len() {
            self.apply(Action::Start { node });
        }
        self.process_instant();
    }
    pub fn stop(&mut self, node: NodeId) {
        self.act(Action::Stop { node });
    }
    pub fn crash(&mut self, node: NodeId) {
        self.act(Action::Crash { node });
    }
    pub fn link_down(&mut self, node: NodeId) {
        self.act(Action::LinkDown { node });
    }
    pub fn link_up(&mut self, node: NodeId) {
        self.act(Action::LinkUp { node });
    }
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.act(Action::Partition {
            groups: groups.iter().map(|g| g.to_vec()).collect(),
        });
    }
    pub fn heal(&mut self) {
        self.act(Action::Heal);
    }
    pub fn set_tracked(&mut self, node: NodeId, weight: i32, fault: bool) {
        self.act(Action::Tracked {
            node,
            weight,
            fault,
        });
    }
    pub fn set_vip_add_ok(&mut self, node: NodeId, ok: bool) {
        self.act(Action::VipAddOk { node, ok });
    }
    pub fn set_advert_send_ok(&mut self, node: NodeId, ok: bool) {
        self.act(Action::AdvertSendOk { node, ok });
    }
    pub fn remove_vips(&mut self, node: NodeId) {
        self.act(Action::VipsRemoved { node });
    }

    /// Hands a packet straight to a running node's engine now, as if it had come off
    /// the wire, and settles the consequences.
    pub fn inject(&mut self, node: NodeId, src: IpAddr, dst: IpAddr, ttl: u8, bytes: &[u8]) {
        if !self.nodes[node].running {
            return;
        }
        let priority = self.peek_priority(node, bytes);
        self.record(
            node,
            What::Received {
                from: None,
                priority,
            },
        );
        let now = self.now;
        let input = received(&self.nodes[node].router, src, dst, ttl, bytes);
        self.nodes[node].router.handle(now, input);
        self.drain(node);
        self.process_instant();
    }

    /// Feeds any input to a running node now (for inputs the harness does not model,
    /// e.g. `Input::Rejected`) and settles the consequences.
    pub fn feed(&mut self, node: NodeId, input: Input) {
        if !self.nodes[node].running {
            return;
        }
        let now = self.now;
        self.nodes[node].router.handle(now, input);
        self.drain(node);
        self.process_instant();
    }

    fn apply(&mut self, action: Action) {
        let now = self.now;
        let node_of = match &action {
            Action::Start { node }
            | Action::Stop { node }
            | Action::Crash { node }
            | Action::LinkDown { node }
            | Action::LinkUp { node }
            | Action::Tracked { node, .. }
            | Action::VipAddOk { node, .. }
            | Action::AdvertSendOk { node, .. }
            | Action::VipsRemoved { node } => *node,
            Action::Partition { .. } | Action::Heal => 0,
        };
        self.record(node_of, What::Action(action.clone()));
        match action {
            Action::Start { node } => self.do_start(node),
            Action::Stop { node } => {
                if self.nodes[node].running {
                    self.nodes[node].router.handle(now, Input::Shutdown);
                    self.drain(node);
                }
            }
            Action::Crash { node } => {
                self.nodes[node].running = false;
            }
            Action::LinkDown { node } => {
                self.nodes[node].link_up = false;
                if self.nodes[node].running {
                    self.nodes[node].router.handle(now, Input::LinkDown);
                    self.drain(node);
                }
            }
            Action::LinkUp { node } => {
                self.nodes[node].link_up = true;
                if self.nodes[node].running {
                    self.nodes[node].router.handle(now, Input::LinkUp);
                    self.drain(node);
                }
            }
            Action::Partition { groups } => {
                self.group.iter_mut().for_each(|g| *g = 0);
                for (i, g) in groups.iter().enumerate() {
                    for &n in g {
                        if let Some(slot) = self.group.get_mut(n) {
                            *slot = i + 1;
                        }
                    }
                }
            }
            Action::Heal => self.group.iter_mut().for_each(|g| *g = 0),
            Action::Tracked {
                node,
                weight,
                fault,
            } => {
                self.nodes[node].weight = weight;
                self.nodes[node].fault = fault;
                self.nodes[node].tracked_at = Some(now);
                if self.nodes[node].running {
                    self.nodes[node]
                        .router
                        .handle(now, Input::Tracked { weight, fault });
                    self.drain(node);
                }
            }
            Action::VipAddOk { node, ok } => self.nodes[node].vip_add_ok = ok,
            Action::AdvertSendOk { node, ok } => self.nodes[node].send_ok = ok,
            Action::VipsRemoved { node } => {
                let held = std::mem::replace(&mut self.nodes[node].holds_vip, false);
                if held && self.nodes[node].running {
                    self.nodes[node].router.handle(now, Input::VipsMissing);
                    self.drain(node);
                }
            }
        }
    }

    fn do_start(&mut self, node: NodeId) {
        let now = self.now;
        if !self.nodes[node].running {
            // A new process: a fresh engine that knows nothing of the last one.
            match Router::new(self.nodes[node].cfg.clone()) {
                Ok(r) => self.nodes[node].router = r,
                Err(error) => {
                    self.violations.push(Violation::Config { node, error });
                    return;
                }
            }
            self.nodes[node].running = true;
            self.nodes[node].stuck_at = None;
            let n = &mut self.nodes[node];
            if !n.link_up {
                n.router.handle(now, Input::LinkDown);
            }
            if n.weight != 0 || n.fault {
                let (weight, fault) = (n.weight, n.fault);
                n.router.handle(now, Input::Tracked { weight, fault });
            }
        }
        self.nodes[node].router.handle(now, Input::Startup);
        self.drain(node);
    }

    // ---- running -------------------------------------------------------------------

    /// The next instant at which something is due, if anything is.
    pub fn next_due(&self) -> Option<Instant> {
        let q = self.queue.keys().next().map(|(t, _)| *t);
        self.nodes
            .iter()
            .filter_map(Node::due)
            .chain(q)
            .min()
            .map(|t| max(t, self.now))
    }

    /// Processes the next instant at which something is due, if it is at or before
    /// `limit`. Returns that instant.
    pub fn step(&mut self, limit: Instant) -> Option<Instant> {
        let t = self.next_due().filter(|t| *t <= limit)?;
        self.now = t;
        self.process_instant();
        Some(t)
    }

    /// Runs everything due at or before `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while self.step(t).is_some() {}
        self.now = max(self.now, t);
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Runs until `node` enters `state` (returning that instant; `now` if it is
    /// already in it) or until `deadline` (returning `None`, clock at `deadline`).
    pub fn run_until_state(
        &mut self,
        node: NodeId,
        state: State,
        deadline: Instant,
    ) -> Option<Instant> {
        if self.state(node) == state {
            return Some(self.now);
        }
        let mark = self.records.len();
        while let Some(t) = self.step(deadline) {
            let entered = self.records[mark..].iter().any(|r| {
                r.node == node && matches!(r.what, What::StateChanged { to, .. } if to == state)
            });
            if entered {
                return Some(t);
            }
        }
        self.now = max(self.now, deadline);
        None
    }

    fn push(&mut self, at: Instant, p: Pending) {
        self.seq += 1;
        self.queue.insert((at, self.seq), p);
    }

    fn record(&mut self, node: NodeId, what: What) {
        self.records.push(Record {
            at: self.now,
            node,
            what,
        });
    }

    /// Processes everything due at or before `now`, in rounds, then checks.
    fn process_instant(&mut self) {
        let now = self.now;
        let mut steps = 0usize;
        loop {
            let mut progressed = false;
            // 1. Queue items due, in queue order (including any queued meanwhile).
            loop {
                let due = self
                    .queue
                    .first_key_value()
                    .is_some_and(|((t, _), _)| *t <= now);
                if !due {
                    break;
                }
                let Some((_, item)) = self.queue.pop_first() else {
                    break;
                };
                progressed = true;
                steps += 1;
                match item {
                    Pending::Act(a) => self.apply(a),
                    Pending::Deliver { from, to, bytes } => self.deliver(from, to, &bytes),
                }
            }
            // 2. Every timer due, in node order.
            let due: Vec<NodeId> = (0..self.nodes.len())
                .filter(|&n| self.nodes[n].due().is_some_and(|t| t <= now))
                .collect();
            for n in due {
                progressed = true;
                steps += 1;
                let before = (self.nodes[n].router.poll_timeout(), self.records.len());
                self.nodes[n].router.handle(now, Input::Timeout);
                self.drain(n);
                // Still due although the Timeout did nothing visible (no output, same
                // deadline): a driver would spin. A Timeout that did something and
                // left a new due deadline (e.g. a zero fault_retry) is fired again in
                // the next round.
                if let Some(deadline) = self.nodes[n].router.poll_timeout() {
                    let idle = (Some(deadline), self.records.len()) == before;
                    if deadline <= now && idle {
                        self.nodes[n].stuck_at = Some(deadline);
                        self.violations.push(Violation::StuckTimer {
                            at: now,
                            node: n,
                            deadline,
                        });
                    }
                }
            }
            if !progressed {
                break;
            }
            if steps > MAX_STEPS_PER_INSTANT {
                self.violations.push(Violation::Livelock { at: now });
                break;
            }
        }
        self.check_instant();
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, bytes: &[u8]) {
        if !self.nodes[to].running || !self.connected(from, to) {
            return;
        }
        let now = self.now;
        let src = self.nodes[from].cfg.primary;
        let dst = group_addr(src);
        let priority = self.peek_priority(to, bytes);
        self.record(
            to,
            What::Received {
                from: Some(from),
                priority,
            },
        );
        let input = received(&self.nodes[to].router, src, dst, 255, bytes);
        self.nodes[to].router.handle(now, input);
        self.drain(to);
    }

    fn peek_priority(&self, node: NodeId, bytes: &[u8]) -> Option<u8> {
        let v6 = self.nodes[node].cfg.primary.is_ipv6();
        Advert::parse(bytes, v6).ok().map(|a| a.priority)
    }

    /// Executes every output of `node`, feeding VIP results back, until none is left.
    fn drain(&mut self, node: NodeId) {
        /// A VIP change waiting for its answer, in the order asked.
        enum Answer {
            Add { id: VipJobId, ok: bool },
            Del { id: VipJobId },
        }
        loop {
            let mut applied = Vec::new();
            while let Some(out) = self.nodes[node].router.poll_output() {
                match out {
                    Output::SendAdvert {
                        priority, bytes, ..
                    } => {
                        let ok = self.nodes[node].send_ok;
                        if ok {
                            self.record(node, What::SentAdvert { priority });
                            self.broadcast(node, bytes);
                        } else {
                            self.record(node, What::SendFailed { priority });
                            let now = self.now;
                            for other in (0..self.nodes.len()).filter(|&o| o != node) {
                                self.last_loss.insert(pair(node, other), now);
                            }
                        }
                        let now = self.now;
                        self.nodes[node]
                            .router
                            .handle(now, Input::AdvertSent { ok });
                    }
                    Output::AddVips { id } => {
                        self.record(node, What::AddVips);
                        let ok = self.nodes[node].vip_add_ok;
                        applied.push(Answer::Add { id, ok });
                    }
                    Output::DelVips { id } => {
                        self.record(node, What::DelVips);
                        self.nodes[node].holds_vip = false;
                        applied.push(Answer::Del { id });
                    }
                    Output::Announce { count } => self.record(node, What::Announce { count }),
                    Output::StateChanged { from, to, reason } => {
                        self.record(node, What::StateChanged { from, to, reason })
                    }
                    Output::Dropped(reason) => self.record(
                        node,
                        What::Dropped {
                            kind: reason.kind(),
                        },
                    ),
                    Output::AddressMismatch { from, .. } => {
                        self.record(node, What::AddressMismatch { from })
                    }
                    Output::OtherChecksumForm { from, .. } => {
                        self.record(node, What::OtherChecksumForm { from })
                    }
                    Output::NewMasterHeard { from, .. } => {
                        self.record(node, What::NewMasterHeard { from })
                    }
                }
            }
            if applied.is_empty() {
                return;
            }
            let now = self.now;
            for answer in applied {
                let (id, ok) = match answer {
                    Answer::Add { id, ok } => {
                        if ok {
                            self.nodes[node].holds_vip = true;
                        }
                        self.record(node, What::VipApplied { ok });
                        (id, ok)
                    }
                    Answer::Del { id } => (id, true),
                };
                self.nodes[node]
                    .router
                    .handle(now, Input::VipApplied { id, ok });
            }
        }
    }

    fn broadcast(&mut self, from: NodeId, bytes: Vec<u8>) {
        let now = self.now;
        for to in 0..self.nodes.len() {
            if !self.connected(from, to) {
                continue;
            }
            let ppm = self.loss_ppm(from, to);
            if self.rng.chance_ppm(ppm) {
                self.record(from, What::Lost { to });
                self.last_loss.insert(pair(from, to), now);
                continue;
            }
            let at = now + self.latency(from, to);
            self.push(
                at,
                Pending::Deliver {
                    from,
                    to,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    // ---- invariants ----------------------------------------------------------------

    /// The longest a node may keep the VIP after its priority-0 advert in a planned
    /// handover (see [`handover_bound`]).
    pub fn handover_bound(&self, node: NodeId) -> Duration {
        handover_bound(&self.nodes[node].cfg)
    }

    /// Whether the invariants are checked after every instant.
    pub fn check_invariants(&self) -> bool {
        self.check
    }

    /// Whether two nodes' configurations let them hear each other's adverts at all.
    pub fn compatible(&self, a: NodeId, b: NodeId) -> bool {
        let (x, y) = (&self.nodes[a].cfg, &self.nodes[b].cfg);
        // The engine compares address lists as sets, both ways; only VRRPv2 drops an
        // advert with another list (RFC 3768 §7.1; VRRPv3 accepts it).
        let same_vips =
            x.vips.iter().all(|v| y.vips.contains(v)) && y.vips.iter().all(|v| x.vips.contains(v));
        x.vrid == y.vrid
            && x.version == y.version
            && x.primary.is_ipv6() == y.primary.is_ipv6()
            && (x.version == Version::V3
                || (same_vips && x.advert_interval_cs == y.advert_interval_cs))
    }

    /// The longest two connected masters may both hold the VIP (see module docs).
    pub fn grace(&self, a: NodeId, b: NodeId) -> Duration {
        if let Some(d) = self.grace_override {
            return d;
        }
        let ia = self.nodes[a].cfg.advert_interval_cs;
        let ib = self.nodes[b].cfg.advert_interval_cs;
        centis(u64::from(ia.max(ib))) + max(self.latency(a, b), self.latency(b, a))
    }

    fn check_instant(&mut self) {
        let now = self.now;
        let n = self.nodes.len();
        for node in &mut self.nodes {
            if node.is_holding_master() {
                node.master_since.get_or_insert(now);
            } else {
                node.master_since = None;
            }
        }
        for a in 0..n {
            for b in a + 1..n {
                let up = self.nodes[a].running && self.nodes[b].running && self.connected(a, b);
                if up {
                    self.connected_since.entry((a, b)).or_insert(now);
                } else {
                    self.connected_since.remove(&(a, b));
                }
            }
        }
        let mut dual = BTreeSet::new();
        for a in 0..n {
            for b in a + 1..n {
                let (Some(ma), Some(mb), Some(&cs)) = (
                    self.nodes[a].master_since,
                    self.nodes[b].master_since,
                    self.connected_since.get(&(a, b)),
                ) else {
                    continue;
                };
                if !self.compatible(a, b) {
                    continue;
                }
                dual.insert((a, b));
                let mut since = max(max(ma, mb), cs);
                let changes = [
                    self.last_loss.get(&(a, b)).copied(),
                    self.nodes[a].tracked_at,
                    self.nodes[b].tracked_at,
                ];
                for t in changes.into_iter().flatten() {
                    since = max(since, t);
                }
                let open = self
                    .episodes
                    .iter()
                    .any(|e| e.a == a && e.b == b && e.end.is_none());
                if !open {
                    self.episodes.push(Episode {
                        a,
                        b,
                        start: now,
                        end: None,
                    });
                }
                let grace = self.grace(a, b);
                if self.check && now - since > grace && self.reported.insert((a, b, since)) {
                    self.violations.push(Violation::DualMaster {
                        at: now,
                        a,
                        b,
                        since,
                        grace,
                    });
                }
            }
        }
        for e in &mut self.episodes {
            if e.end.is_none() && !dual.contains(&(e.a, e.b)) {
                e.end = Some(now);
            }
        }
        if self.check {
            for node in 0..n {
                let nd = &self.nodes[node];
                if !nd.running {
                    continue;
                }
                let master = nd.router.state() == State::Master;
                let handing_over = nd
                    .router
                    .handover()
                    .is_some_and(|h| now - h.since <= handover_bound(&nd.cfg));
                if master && !nd.holds_vip {
                    self.violations
                        .push(Violation::MasterWithoutVip { at: now, node });
                } else if nd.holds_vip && !master && !handing_over {
                    self.violations
                        .push(Violation::VipWithoutMaster { at: now, node });
                }
            }
        }
    }
}

/// The longest a router configured with `cfg` may keep its VIPs in a planned handover,
/// counted from its priority-0 advert: Master_Down_Interval, bounded from above
/// without the engine's arithmetic as three Advertisement_Intervals plus the longest
/// Skew_Time (under one interval in VRRPv3, under one second in VRRPv2).
pub fn handover_bound(cfg: &Config) -> Duration {
    let interval = centis(u64::from(cfg.advert_interval_cs));
    let skew = match cfg.version {
        Version::V3 => interval,
        Version::V2 => Duration::from_secs(1),
    };
    interval * 3 + skew
}

/// What a driver makes of a VRRP message from `src` to `dst` that arrived with `ttl`:
/// decoded by the codec against what `router` expects (RFC 5798 §7.1), the advert or
/// why it was refused.
fn received(router: &Router, src: IpAddr, dst: IpAddr, ttl: u8, bytes: &[u8]) -> Input {
    let received = Advert::receive(bytes, &router.config().rx_check(src, dst, ttl));
    Input::Advert { src, received }
}
