//! A simulated LAN of [`vipd_node::Node`]s — the daemon's decisions, not only the
//! engine's — each on a host with a fake kernel, on a fake clock.
//!
//! # The hosts
//! Host `h` (0-based) has one interface `eth0` (index 2, MAC 02:00:00:00:00:h+1) with
//! 192.0.2.(h+11)/24 and fe80::(h+11)/64, and runs one node with the configuration it was
//! given. With [`LanBuilder::two_segments`] every host also has `eth1` (index 100, MAC
//! 02:00:00:00:02:h+1) with 192.0.2.(h+111)/24 and fe80::(h+111)/64, on a second
//! segment of its own (a backend network beside the frontend). The shell's part is played exactly: each command the node gives is executed,
//! and results known at once (a send, a socket open) go straight back before anything
//! else happens, as `vipd::daemon` does.
//!
//! # The kernel
//! - A **VIP job** runs after the jobs of its interface that came before it (one queue
//!   per host and interface, as the daemon's VIP writer) and takes `job_latency`; its
//!   effect on the addresses and its answer happen when it ends. It acts on the
//!   interface index it names: an add for an interface that is gone (or was re-created
//!   with another index) fails, a removal from it is done without touching anything.
//!   A host can be told to fail its next N adds or removals.
//! - A **read** shows the addresses as they were when it began, and is answered
//!   `read_latency` later: the worst case for a stale read.
//! - Every address change (a job's, or one made by hand) is announced to the node at
//!   once (`Event::AddressesChanged`), link changes likewise (`Event::Link`,
//!   `Event::LinkGone`).
//!
//! # The network
//! One segment per interface name; a datagram to the VRRP group reaches every other running host whose
//! interface exists, is up and is in the same partition, `net_latency` later; one to a
//! unicast address reaches only the host whose interface has that address (under the
//! same conditions). [`Act::Inject`] puts a datagram on the segment from a machine that
//! runs no node.
//!
//! # Order within one instant
//! Queued items due at `t` in the order they were queued, then every node whose
//! `poll_timeout()` is due gets `Event::Timeout`, in host order; repeated until nothing
//! is left at `t`. Then the invariants are checked (see [`Lan::check`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vipd_engine::{Instant, State};
use vipd_node::config::{Config, Vip};
use vipd_node::AuthState;
use vipd_node::{
    Addr, Caller, CheckResult, CheckRunId, Command, Datagram, Event, ExitError, HookResult,
    HookRunId, HostInfo, IfaceRead, Level, Link, LinkReadError, Maintenance, Node, Record,
    RequestId, VipJob, VipJobError, VipOp, What,
};

/// Index of a host, in the order they were added.
pub type HostId = usize;

/// The one interface every host has.
pub const IFACE: &str = "eth0";
/// The second interface, on the second segment ([`LanBuilder::two_segments`]).
pub const IFACE2: &str = "eth1";
/// The hosts' wall clock at `Instant::ZERO`, in nanoseconds since the Unix epoch (14
/// November 2023): a node started at `t` is given `SIM_EPOCH_NS + t` as its start time.
pub const SIM_EPOCH_NS: u64 = 1_700_000_000_000_000_000;
const MAX_STEPS_PER_INSTANT: usize = 100_000;

/// Something done to the LAN or a host, at once or scheduled.
#[derive(Debug, Clone)]
pub enum Act {
    /// Start the host's vipd (a fresh node with its configuration).
    Start(HostId),
    /// SIGTERM.
    Stop(HostId),
    /// SIGKILL: the node is gone, its VIPs stay in the kernel, jobs not yet done are
    /// lost.
    Crash(HostId),
    /// SIGHUP with this configuration.
    Reload(HostId, Config),
    /// SIGHUP, and the configuration file cannot be used: this error.
    ReloadFails(HostId, String),
    /// Someone removes this address from the host's interface.
    RemoveAddr(HostId, IpAddr),
    /// Someone adds this address (with its prefix) to the host's interface.
    AddAddr(HostId, Vip),
    /// The interface is deleted (its addresses with it).
    DeleteIface(HostId),
    /// The interface is created again, with a new index, and its usual addresses.
    CreateIface(HostId),
    LinkDown(HostId),
    LinkUp(HostId),
    /// The link of the host's interface of this name (`eth0`, `eth1`) goes up or down.
    IfaceLink(HostId, &'static str, bool),
    /// Each group becomes an island, on every segment; hosts in no group stay together
    /// in the rest.
    Partition(Vec<Vec<HostId>>),
    /// As `Partition`, on the segment of this interface name only.
    PartitionSegment(&'static str, Vec<Vec<HostId>>),
    /// Every segment whole again.
    Heal,
    /// The host's next `n` VIP adds fail.
    FailAdds(HostId, u32),
    /// The host's next VIP add of more than `n` VIPs fails part way, as the kernel can:
    /// the first `n` are added, the next one is refused, the rest are not tried.
    FailAddAt(HostId, usize),
    /// The host's next `n` VIP removals fail.
    FailRemoves(HostId, u32),
    /// A control request (`vipctl status`).
    Status(HostId),
    /// `vipctl maintenance on|off [instances]` run by `caller`.
    Maintenance {
        host: HostId,
        on: bool,
        instances: Vec<String>,
        caller: Caller,
    },
    /// `vipctl watch [instances]`: the node's answer is a [`Seen::Reply`].
    Watch {
        host: HostId,
        instances: Vec<String>,
    },
    /// Whether the host's kernel reads fail (a dead netlink connection).
    FailReads(HostId, bool),
    /// A VRRP message from `src` (another router, not simulated) arrives on the host's
    /// interface, sent to the VRRP group with TTL 255, as the IP layer delivers it.
    Arrive(HostId, IpAddr, Vec<u8>),
    /// A machine outside the simulation (no node, in no partition: it reaches every
    /// host whose link is up) sends this VRRP message from `src` to `dst` (the VRRP
    /// group or a host's address) with TTL / hop limit 255.
    Inject {
        src: IpAddr,
        dst: IpAddr,
        bytes: Vec<u8>,
    },
    /// From now on, runs of check `name` on the host answer `result` after the host's
    /// check latency (`None`: they never answer, a hung runner); a process watch of
    /// that name reports it at once.
    SetCheck(HostId, String, Option<CheckResult>),
    /// Another interface of the host (created if new, index 10 and up, no addresses)
    /// goes up or down.
    OtherLink(HostId, String, bool),
    /// That other interface is deleted.
    OtherLinkGone(HostId, String),
    /// From now on, runs of the host's notify hooks answer `result` this long after
    /// they were asked for (`None`: they never answer). By default every run answers
    /// exit 0 after 0 s.
    SetHooks(HostId, Option<(Duration, HookResult)>),
    /// From now on the host's wall clock is this many nanoseconds off the simulated
    /// time (negative: behind), as a vipd started later reads it (a VM restored from a
    /// snapshot, a boot before NTP).
    SetWallClock(HostId, i64),
    /// The host's state directory holds this authentication state from now on (a
    /// restore from a snapshot, or a wiped directory with the default).
    KeepAuth(HostId, AuthState),
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Instant,
    pub host: HostId,
    pub what: Seen,
}

/// What was seen of a host.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// The node sent an advert with this priority from this source, to these
    /// destinations (the VRRP group, or unicast peers).
    Advert {
        src: IpAddr,
        priority: u8,
        to: Vec<IpAddr>,
    },
    /// A VIP job began (was handed to the kernel queue).
    JobAsked { add: bool, vips: Vec<Vip> },
    /// A VIP job ended; `ok` says whether it worked.
    JobDone { add: bool, ok: bool },
    /// The node announced VIPs (frames sent).
    Announced { frames: usize },
    /// The node read the kernel.
    Read,
    /// A record the node gave (state changes, notes).
    Record(Record),
    /// The answer to a control request.
    Reply(vipd_api::Response),
    /// The node asked to exit.
    Exit(Result<(), ExitError>),
    /// A run of a check began.
    CheckRun { check: String },
    /// A process watch began (`true`) or ended.
    Watch { check: String, on: bool },
    /// The node asked for this maintenance state to be kept (written to "disk").
    Saved(Maintenance),
    /// The node asked for this authentication state to be kept (written to "disk").
    SavedAuth(AuthState),
    /// The node published an event for the watchers (`vipctl watch`), stamped with
    /// this instant.
    Published {
        at: Instant,
        event: vipd_api::WatchEvent,
    },
    /// The node published its status for the metrics endpoint.
    PublishedStatus(Box<vipd_api::Status>),
    /// The node told its service manager something (readiness, the status line).
    Service(vipd_node::service::ServiceNote),
    /// A run of a notify hook began.
    Hook {
        id: HookRunId,
        owner: String,
        hook: &'static str,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        timeout: Duration,
    },
    /// The answer to a run of a notify hook was delivered.
    HookDone { id: HookRunId },
}

/// A broken promise.
#[derive(Debug, Clone, PartialEq)]
pub enum Breach {
    /// A master lacked one of its VIPs for longer than the bound.
    MasterWithoutVip {
        host: HostId,
        instance: String,
        since: Instant,
        at: Instant,
    },
    /// Two connected, running hosts held the same VIP for longer than the bound.
    TwoHolders {
        vip: IpAddr,
        hosts: (HostId, HostId),
        since: Instant,
        at: Instant,
    },
    /// After an instant, some members of a sync group were master on a host and others
    /// not (the bound is zero: a group moves within the one event that moves it).
    GroupSplit {
        host: HostId,
        group: String,
        masters: Vec<String>,
        at: Instant,
    },
}

/// One interface of a host, as its kernel has it.
struct Kernel {
    name: &'static str,
    exists: bool,
    index: u32,
    up: bool,
    addrs: Vec<Addr>,
    /// When the interface's VIP queue is free again.
    queue_free: Instant,
    /// The island of its segment the interface is in (0: the rest).
    group: usize,
}

struct Host {
    config: Config,
    node: Option<Node>,
    /// `eth0`, then `eth1` on a LAN of two segments.
    kernels: Vec<Kernel>,
    fail_adds: u32,
    /// The next add of more VIPs than this fails at this one.
    fail_add_at: Option<usize>,
    fail_removes: u32,
    fail_reads: bool,
    /// Other interfaces: name -> (index, up).
    others: BTreeMap<String, (u32, bool)>,
    /// Ids the node's jobs have in the kernel queue (lost on a crash).
    generation: u64,
    /// Local routes ([`VipOp::AddLocal`]): kept across crashes, as the kernel keeps them.
    local_routes: std::collections::BTreeSet<IpAddr>,
    requests: u64,
    vipless_since: BTreeMap<String, Instant>,
    /// The bytes of the last advert the host sent.
    last_advert: Option<Vec<u8>>,
    /// What runs of each check answer (absent: success); `None`: no answer.
    check_answers: BTreeMap<String, Option<CheckResult>>,
    /// Process watches under way: id -> check.
    watches: BTreeMap<CheckRunId, String>,
    /// How runs of notify hooks answer: after how long, what.
    hook_answer: Option<(Duration, HookResult)>,
    /// The maintenance state kept under the state directory: survives crashes and
    /// restarts, given to every new node.
    saved: Maintenance,
    /// The authentication state kept under the state directory, as `saved`.
    saved_auth: AuthState,
    /// How far the host's wall clock is off the simulated time, in nanoseconds.
    clock_offset_ns: i64,
}

enum Item {
    Act(Act),
    /// An event for a host's node, unless it restarted since (`generation`).
    Deliver {
        host: HostId,
        generation: u64,
        event: Event,
    },
    /// A VIP job ends: its effect, then its answer.
    JobEnd {
        host: HostId,
        generation: u64,
        job: VipJob,
        ok: bool,
        /// An add that fails at this VIP, those before it added.
        refuse_at: Option<usize>,
    },
}

/// Builds a [`Lan`].
pub struct LanBuilder {
    check_latency: Duration,
    job_latency: Duration,
    read_latency: Duration,
    net_latency: Duration,
    hosts: Vec<Config>,
    segments: usize,
    announce_ifaces: bool,
}

/// The announce interface every host has with [`LanBuilder::announce_ifaces`] (on no
/// segment), and its index.
pub const ANNOUNCE_IFACE: &str = "vipd0";
pub const ANNOUNCE_IFINDEX: u32 = 50;
/// The loopback interface's name and index (1, as in every Linux network namespace).
pub const LOOPBACK: &str = "lo";

impl LanBuilder {
    /// Every host gets a second interface, `eth1`, on a second segment.
    pub fn two_segments(mut self) -> Self {
        self.segments = 2;
        self
    }
    pub fn job_latency(mut self, d: Duration) -> Self {
        self.job_latency = d;
        self
    }
    pub fn read_latency(mut self, d: Duration) -> Self {
        self.read_latency = d;
        self
    }
    /// How long a run of a polled check takes to answer (default 1 ms).
    pub fn check_latency(mut self, d: Duration) -> Self {
        self.check_latency = d;
        self
    }
    pub fn net_latency(mut self, d: Duration) -> Self {
        self.net_latency = d;
        self
    }
    /// Every host also gets the announce interface [`ANNOUNCE_IFACE`] (no addresses)
    /// and [`LOOPBACK`] (127.0.0.1/8), on no segment: for announced instances.
    pub fn announce_ifaces(mut self) -> Self {
        self.announce_ifaces = true;
        self
    }
    pub fn host(mut self, config: Config) -> Self {
        self.hosts.push(config);
        self
    }
    pub fn build(self) -> Lan {
        let hosts = self
            .hosts
            .into_iter()
            .enumerate()
            .map(|(h, config)| Host {
                config,
                node: None,
                kernels: [(IFACE, 2), (IFACE2, 100)]
                    .into_iter()
                    .take(self.segments)
                    .map(|(name, index)| Kernel {
                        name,
                        exists: true,
                        index,
                        up: true,
                        addrs: own_addrs_on(h, name),
                        queue_free: Instant::ZERO,
                        group: 0,
                    })
                    .chain(
                        [(ANNOUNCE_IFACE, ANNOUNCE_IFINDEX), (LOOPBACK, 1)]
                            .into_iter()
                            .filter(|_| self.announce_ifaces)
                            .map(|(name, index)| Kernel {
                                name,
                                exists: true,
                                index,
                                up: true,
                                addrs: if name == LOOPBACK {
                                    vec![Addr {
                                        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                                        prefix_len: 8,
                                        tentative: false,
                                        link_local: false,
                                        protocol: None,
                                        label: None,
                                    }]
                                } else {
                                    Vec::new()
                                },
                                queue_free: Instant::ZERO,
                                group: 0,
                            }),
                    )
                    .collect(),
                fail_adds: 0,
                fail_add_at: None,
                fail_removes: 0,
                fail_reads: false,
                others: BTreeMap::new(),
                generation: 0,
                local_routes: Default::default(),
                requests: 0,
                vipless_since: BTreeMap::new(),
                last_advert: None,
                check_answers: BTreeMap::new(),
                watches: BTreeMap::new(),
                hook_answer: Some((
                    Duration::ZERO,
                    HookResult::Exited {
                        code: Some(0),
                        signal: None,
                        output: String::new(),
                    },
                )),
                saved: Maintenance::default(),
                saved_auth: AuthState::default(),
                clock_offset_ns: 0,
            })
            .collect();
        Lan {
            now: Instant::ZERO,
            check_latency: self.check_latency,
            job_latency: self.job_latency,
            read_latency: self.read_latency,
            net_latency: self.net_latency,
            hosts,
            queue: BTreeMap::new(),
            seq: 0,
            timeline: Vec::new(),
            breaches: Vec::new(),
            holders_since: BTreeMap::new(),
            handovers: BTreeMap::new(),
            check_holders: true,
        }
    }
}

/// The simulated LAN.
pub struct Lan {
    now: Instant,
    check_latency: Duration,
    job_latency: Duration,
    read_latency: Duration,
    net_latency: Duration,
    hosts: Vec<Host>,
    queue: BTreeMap<(Instant, u64), Item>,
    seq: u64,
    timeline: Vec<Entry>,
    breaches: Vec<Breach>,
    holders_since: BTreeMap<(IpAddr, HostId, HostId), Instant>,
    /// Planned handovers seen, per host and VIP, while the host still holds the VIP:
    /// when each began (its priority-0 advert) and how long it may last.
    handovers: BTreeMap<(HostId, IpAddr), (Instant, Duration)>,
    check_holders: bool,
}

/// The VRRP group of `src`'s family.
fn group(src: IpAddr) -> IpAddr {
    match src {
        IpAddr::V4(_) => IpAddr::V4(vipd_wire::MULTICAST_V4),
        IpAddr::V6(_) => IpAddr::V6(vipd_wire::MULTICAST_V6),
    }
}

/// Host `h`'s own addresses on `eth0`.
fn own_addrs(h: HostId) -> Vec<Addr> {
    own_addrs_on(h, IFACE)
}

/// Host `h`'s own addresses on interface `name` (`eth0` or `eth1`).
fn own_addrs_on(h: HostId, name: &str) -> Vec<Addr> {
    let base = if name == IFACE2 { 111 } else { 11 };
    let n = u8::try_from(h + base).unwrap_or(u8::MAX);
    vec![
        Addr {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
            prefix_len: 24,
            tentative: false,
            link_local: false,
            protocol: None,
            label: None,
        },
        Addr {
            addr: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(n))),
            prefix_len: 64,
            tentative: false,
            link_local: true,
            protocol: None,
            label: None,
        },
    ]
}

impl Lan {
    pub fn builder() -> LanBuilder {
        LanBuilder {
            check_latency: Duration::from_millis(1),
            job_latency: Duration::from_millis(2),
            read_latency: Duration::from_millis(1),
            net_latency: Duration::from_micros(100),
            hosts: Vec::new(),
            segments: 1,
            announce_ifaces: false,
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }
    pub fn job_latency(&self) -> Duration {
        self.job_latency
    }
    pub fn read_latency(&self) -> Duration {
        self.read_latency
    }
    pub fn timeline(&self) -> &[Entry] {
        &self.timeline
    }
    pub fn breaches(&self) -> &[Breach] {
        &self.breaches
    }
    /// Turns the two-holders check off (for a kernel told to refuse removals, where
    /// two holders are the expected result).
    pub fn set_check_holders(&mut self, on: bool) {
        self.check_holders = on;
    }

    /// Host `h`'s own IPv4 address (its advert source).
    pub fn addr_v4(h: HostId) -> IpAddr {
        own_addrs(h)[0].addr
    }
    /// Host `h`'s link-local IPv6 address.
    pub fn addr_v6(h: HostId) -> IpAddr {
        own_addrs(h)[1].addr
    }
    /// Host `h`'s own IPv4 address on `eth1` (a LAN of two segments).
    pub fn addr2_v4(h: HostId) -> IpAddr {
        own_addrs_on(h, IFACE2)[0].addr
    }

    /// The authentication state host `h`'s state directory holds.
    pub fn kept_auth(&self, h: HostId) -> &AuthState {
        &self.hosts[h].saved_auth
    }

    /// The bytes of the last advert host `h` sent, as they went on the wire.
    pub fn last_advert_bytes(&self, h: HostId) -> Option<&[u8]> {
        self.hosts[h].last_advert.as_deref()
    }

    pub fn node(&self, h: HostId) -> Option<&Node> {
        self.hosts[h].node.as_ref()
    }

    /// The state of instance `name` on host `h` (None: not running or no router).
    pub fn state(&self, h: HostId, name: &str) -> Option<State> {
        self.node(h)?
            .instances()
            .find(|(n, _)| *n == name)
            .and_then(|(_, r)| r.map(|r| r.state()))
    }

    /// Whether host `h`'s kernel has `vip` on one of its interfaces.
    pub fn holds(&self, h: HostId, vip: IpAddr) -> bool {
        self.hosts[h]
            .kernels
            .iter()
            .any(|k| k.exists && k.addrs.iter().any(|a| a.addr == vip))
    }

    /// Whether host `h`'s kernel has a local route ([`VipOp::AddLocal`]) for `vip`.
    pub fn holds_local_route(&self, h: HostId, vip: IpAddr) -> bool {
        self.hosts[h].local_routes.contains(&vip)
    }

    /// Whether host `h`'s kernel has `vip` on its interface `name`.
    pub fn holds_on(&self, h: HostId, name: &str, vip: IpAddr) -> bool {
        self.kernel(h, name)
            .is_some_and(|k| k.exists && k.addrs.iter().any(|a| a.addr == vip))
    }

    /// Host `h`'s interface `name`, if the LAN has it.
    fn kernel(&self, h: HostId, name: &str) -> Option<&Kernel> {
        self.hosts[h].kernels.iter().find(|k| k.name == name)
    }

    fn kernel_mut(&mut self, h: HostId, name: &str) -> Option<&mut Kernel> {
        self.hosts[h].kernels.iter_mut().find(|k| k.name == name)
    }

    /// The hosts whose kernel has `vip`.
    pub fn holders(&self, vip: IpAddr) -> Vec<HostId> {
        (0..self.hosts.len())
            .filter(|&h| self.holds(h, vip))
            .collect()
    }

    /// Entries of host `h` matching `pred`, with their instants.
    pub fn seen(&self, h: HostId, pred: impl Fn(&Seen) -> bool) -> Vec<Instant> {
        self.timeline
            .iter()
            .filter(|e| e.host == h && pred(&e.what))
            .map(|e| e.at)
            .collect()
    }

    /// Instants host `h` sent an advert at priority `priority`.
    pub fn adverts(&self, h: HostId, priority: u8) -> Vec<Instant> {
        self.seen(
            h,
            |s| matches!(s, Seen::Advert { priority: p, .. } if *p == priority),
        )
    }

    /// The transitions of host `h`: (instant, instance, from, to).
    pub fn transitions(&self, h: HostId) -> Vec<(Instant, String, State, State)> {
        self.timeline
            .iter()
            .filter(|e| e.host == h)
            .filter_map(|e| match &e.what {
                Seen::Record(Record {
                    instance: Some(i),
                    what: What::StateChanged { from, to, .. },
                    ..
                }) => Some((e.at, i.clone(), *from, *to)),
                _ => None,
            })
            .collect()
    }

    /// When instance `name` on host `h` first entered `state` at or after `after`.
    pub fn entered(&self, h: HostId, name: &str, state: State, after: Instant) -> Option<Instant> {
        self.transitions(h)
            .into_iter()
            .find(|(t, i, _, to)| *t >= after && i == name && *to == state)
            .map(|(t, ..)| t)
    }

    /// The notes (free-text records) host `h` gave at `level` or above.
    pub fn notes(&self, h: HostId, level: Level) -> Vec<(Instant, String)> {
        self.timeline
            .iter()
            .filter(|e| e.host == h)
            .filter_map(|e| match &e.what {
                Seen::Record(r) if r.level >= level => Some((e.at, r.what.to_string())),
                _ => None,
            })
            .collect()
    }

    // ---- actions -----------------------------------------------------------------

    /// Does `act` now (after what already happened at this instant) and settles.
    pub fn act(&mut self, act: Act) {
        self.enqueue(self.now, Item::Act(act));
        self.settle();
    }

    pub fn schedule(&mut self, at: Instant, act: Act) {
        self.enqueue(at, Item::Act(act));
    }

    pub fn start_all(&mut self) {
        for h in 0..self.hosts.len() {
            self.enqueue(self.now, Item::Act(Act::Start(h)));
        }
        self.settle();
    }

    fn enqueue(&mut self, at: Instant, item: Item) {
        self.seq += 1;
        self.queue.insert((at.max(self.now), self.seq), item);
    }

    // ---- running -----------------------------------------------------------------

    /// The earliest pending event.
    pub fn next_due(&self) -> Option<Instant> {
        let queued = self.queue.keys().next().map(|(t, _)| *t);
        let timers = self
            .hosts
            .iter()
            .filter_map(|h| h.node.as_ref().and_then(|n| n.poll_timeout()));
        queued.into_iter().chain(timers).min()
    }

    pub fn run_until(&mut self, t: Instant) {
        while let Some(next) = self.next_due().filter(|n| *n <= t) {
            self.now = next.max(self.now);
            self.settle();
        }
        self.now = self.now.max(t);
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Processes everything due at `now`, then checks the invariants.
    fn settle(&mut self) {
        for _ in 0..MAX_STEPS_PER_INSTANT {
            let due = self
                .queue
                .keys()
                .next()
                .copied()
                .filter(|(t, _)| *t <= self.now);
            if let Some(key) = due {
                if let Some(item) = self.queue.remove(&key) {
                    self.process(item);
                }
                continue;
            }
            let timer = (0..self.hosts.len()).find(|&h| {
                self.hosts[h]
                    .node
                    .as_ref()
                    .and_then(|n| n.poll_timeout())
                    .is_some_and(|t| t <= self.now)
            });
            match timer {
                Some(h) => self.deliver(h, Event::Timeout),
                None => {
                    self.check();
                    return;
                }
            }
        }
        panic!("livelock at {:?}", self.now);
    }

    fn process(&mut self, item: Item) {
        match item {
            Item::Act(act) => self.apply(act),
            Item::Deliver {
                host,
                generation,
                event,
            } => {
                if self.hosts[host].generation == generation {
                    if let Event::HookDone { id, .. } = &event {
                        self.record(host, Seen::HookDone { id: *id });
                    }
                    self.deliver(host, event);
                }
            }
            Item::JobEnd {
                host,
                generation,
                job,
                ok,
                refuse_at,
            } => self.job_end(host, generation, job, ok, refuse_at),
        }
    }

    fn apply(&mut self, act: Act) {
        let now = self.now;
        match act {
            Act::Start(h) => {
                let host = &mut self.hosts[h];
                if host.node.is_some() {
                    return;
                }
                host.generation += 1;
                let info = HostInfo {
                    hostname: format!("host{h}"),
                    pid: 1000 + u32::try_from(h).unwrap_or(0),
                    started_unix_ns: (SIM_EPOCH_NS + now.as_nanos())
                        .saturating_add_signed(host.clock_offset_ns),
                    auth: host.saved_auth.clone(),
                };
                host.node = Some(Node::new(
                    now,
                    host.config.clone(),
                    info,
                    host.saved.clone(),
                ));
                self.drain(h);
            }
            Act::Stop(h) => self.deliver(h, Event::Stop),
            Act::Crash(h) => {
                let host = &mut self.hosts[h];
                host.node = None;
                host.generation += 1;
                host.vipless_since.clear();
                host.watches.clear();
            }
            Act::Reload(h, config) => {
                self.hosts[h].config = config.clone();
                self.deliver(h, Event::Reload(Ok(config)));
            }
            Act::ReloadFails(h, error) => self.deliver(h, Event::Reload(Err(error))),
            Act::RemoveAddr(h, addr) => {
                for k in &mut self.hosts[h].kernels {
                    k.addrs.retain(|a| a.addr != addr);
                }
                self.addresses_changed(h, IFACE);
            }
            Act::AddAddr(h, vip) => {
                self.add_addr(h, IFACE, vip, false);
                self.addresses_changed(h, IFACE);
            }
            Act::DeleteIface(h) => {
                let k = &mut self.hosts[h].kernels[0];
                k.exists = false;
                k.addrs.clear();
                let index = k.index;
                self.deliver(h, Event::LinkGone(index));
            }
            Act::CreateIface(h) => {
                let k = &mut self.hosts[h].kernels[0];
                k.exists = true;
                k.index += 1;
                k.up = true;
                k.addrs = own_addrs(h);
                let link = self.link(h, IFACE);
                self.deliver(h, Event::Link(link));
                self.addresses_changed(h, IFACE);
            }
            Act::LinkDown(h) | Act::LinkUp(h) => {
                self.hosts[h].kernels[0].up = matches!(act, Act::LinkUp(_));
                let link = self.link(h, IFACE);
                self.deliver(h, Event::Link(link));
            }
            Act::IfaceLink(h, name, up) => {
                if let Some(k) = self.kernel_mut(h, name) {
                    k.up = up;
                    let link = self.link(h, name);
                    self.deliver(h, Event::Link(link));
                }
            }
            Act::Partition(groups) => {
                let names: Vec<&'static str> =
                    self.hosts[0].kernels.iter().map(|k| k.name).collect();
                for name in names {
                    self.partition(name, &groups);
                }
            }
            Act::PartitionSegment(name, groups) => self.partition(name, &groups),
            Act::Heal => {
                for host in &mut self.hosts {
                    for k in &mut host.kernels {
                        k.group = 0;
                    }
                }
            }
            Act::FailAdds(h, n) => self.hosts[h].fail_adds = n,
            Act::FailAddAt(h, n) => self.hosts[h].fail_add_at = Some(n),
            Act::FailRemoves(h, n) => self.hosts[h].fail_removes = n,
            Act::FailReads(h, fail) => self.hosts[h].fail_reads = fail,
            Act::Arrive(h, src, bytes) => {
                let k = &self.hosts[h].kernels[0];
                if !(k.exists && k.up) {
                    return;
                }
                let event = Event::Datagram(Datagram {
                    ifindex: k.index,
                    src,
                    dst: group(src),
                    ttl: 255,
                    bytes,
                });
                self.deliver(h, event);
            }
            Act::Inject { src, dst, bytes } => self.transmit(None, src, dst, bytes),
            Act::SetHooks(h, answer) => self.hosts[h].hook_answer = answer,
            Act::SetWallClock(h, offset) => self.hosts[h].clock_offset_ns = offset,
            Act::KeepAuth(h, state) => self.hosts[h].saved_auth = state,
            Act::SetCheck(h, name, answer) => {
                self.hosts[h]
                    .check_answers
                    .insert(name.clone(), answer.clone());
                let ids: Vec<CheckRunId> = self.hosts[h]
                    .watches
                    .iter()
                    .filter(|(_, c)| **c == name)
                    .map(|(id, _)| *id)
                    .collect();
                if let Some(result) = answer {
                    for id in ids {
                        let event = Event::CheckResult {
                            id,
                            result: result.clone(),
                        };
                        self.deliver(h, event);
                    }
                }
            }
            Act::OtherLink(h, name, up) => {
                let k = &mut self.hosts[h];
                let next = 10 + u32::try_from(k.others.len()).unwrap_or(0);
                let entry = k.others.entry(name.clone()).or_insert((next, up));
                entry.1 = up;
                let link = Link {
                    index: entry.0,
                    name,
                    mac: [2, 0, 0, 0, 1, u8::try_from(h + 1).unwrap_or(u8::MAX)],
                    up,
                };
                self.deliver(h, Event::Link(link));
            }
            Act::OtherLinkGone(h, name) => {
                if let Some((index, _)) = self.hosts[h].others.remove(&name) {
                    self.deliver(h, Event::LinkGone(index));
                }
            }
            Act::Status(h) => {
                let host = &mut self.hosts[h];
                host.requests += 1;
                let id = RequestId(host.requests);
                let request = vipd_api::Request::new(vipd_api::Command::Status);
                let caller = Caller::root();
                self.deliver(
                    h,
                    Event::Control {
                        id,
                        request,
                        caller,
                    },
                );
            }
            Act::Watch { host: h, instances } => {
                let host = &mut self.hosts[h];
                host.requests += 1;
                let id = RequestId(host.requests);
                let request = vipd_api::Request::new(vipd_api::Command::Watch { instances });
                let caller = Caller::root();
                self.deliver(
                    h,
                    Event::Control {
                        id,
                        request,
                        caller,
                    },
                );
            }
            Act::Maintenance {
                host: h,
                on,
                instances,
                caller,
            } => {
                let host = &mut self.hosts[h];
                host.requests += 1;
                let id = RequestId(host.requests);
                let request =
                    vipd_api::Request::new(vipd_api::Command::Maintenance { on, instances });
                self.deliver(
                    h,
                    Event::Control {
                        id,
                        request,
                        caller,
                    },
                );
            }
        }
    }

    /// Islands on the segment of interface `name`.
    fn partition(&mut self, name: &str, groups: &[Vec<HostId>]) {
        for h in 0..self.hosts.len() {
            let island = groups
                .iter()
                .position(|g| g.contains(&h))
                .map_or(0, |g| g + 1);
            if let Some(k) = self.kernel_mut(h, name) {
                k.group = island;
            }
        }
    }

    /// Host `h`'s interface `name` as a link (`eth0` unless the LAN has `name`).
    fn link(&self, h: HostId, name: &str) -> Link {
        let k = self.kernel(h, name).unwrap_or(&self.hosts[h].kernels[0]);
        let segment = u8::from(k.name == IFACE2) * 2;
        Link {
            index: k.index,
            name: k.name.into(),
            mac: [2, 0, 0, 0, segment, u8::try_from(h + 1).unwrap_or(u8::MAX)],
            up: k.up,
        }
    }

    /// Adds `vip` to host `h`'s interface `name`, tagged as vipd's (`by_vipd`) or not.
    fn add_addr(&mut self, h: HostId, name: &str, vip: Vip, by_vipd: bool) {
        let Some(k) = self.kernel_mut(h, name) else {
            return;
        };
        if !k.addrs.iter().any(|a| a.addr == vip.addr) {
            k.addrs.push(Addr {
                addr: vip.addr,
                prefix_len: vip.prefix_len,
                tentative: false,
                link_local: false,
                protocol: by_vipd.then_some(vipd_node::ADDRESS_PROTOCOL),
                label: None,
            });
        }
    }

    /// The kernel's address event for interface `name`.
    fn addresses_changed(&mut self, h: HostId, name: &str) {
        if let Some(index) = self.kernel(h, name).filter(|k| k.exists).map(|k| k.index) {
            self.deliver(h, Event::AddressesChanged(index));
        }
    }

    /// Feeds `event` to host `h`'s node (if running) and executes its commands.
    fn deliver(&mut self, h: HostId, event: Event) {
        let now = self.now;
        let Some(node) = self.hosts[h].node.as_mut() else {
            return;
        };
        node.handle(now, event);
        self.drain(h);
    }

    /// Executes host `h`'s commands as the daemon's shell does.
    fn drain(&mut self, h: HostId) {
        let now = self.now;
        let mut answers = std::collections::VecDeque::new();
        loop {
            while let Some(cmd) = self.hosts[h].node.as_mut().and_then(|n| n.poll_command()) {
                if let Some(answer) = self.execute(h, cmd) {
                    answers.push_back(answer);
                }
            }
            let Some(answer) = answers.pop_front() else {
                return;
            };
            let Some(node) = self.hosts[h].node.as_mut() else {
                return;
            };
            node.handle(now, answer);
        }
    }

    fn record(&mut self, host: HostId, what: Seen) {
        self.timeline.push(Entry {
            at: self.now,
            host,
            what,
        });
    }

    fn execute(&mut self, h: HostId, cmd: Command) -> Option<Event> {
        let now = self.now;
        let generation = self.hosts[h].generation;
        match cmd {
            Command::ReadKernel { id, interfaces } => {
                self.record(h, Seen::Read);
                let reads = interfaces
                    .into_iter()
                    .map(|name| self.read(h, name))
                    .collect();
                let at = now + self.read_latency;
                self.enqueue(
                    at,
                    Item::Deliver {
                        host: h,
                        generation,
                        event: Event::KernelRead {
                            id,
                            interfaces: reads,
                        },
                    },
                );
            }
            Command::OpenSockets { id, .. } => {
                return Some(Event::SocketsOpened { id, result: Ok(()) })
            }
            Command::CloseSockets { .. } => {}
            Command::SendAdvert {
                run,
                src,
                to,
                interface,
                ..
            } => {
                let priority = to
                    .first()
                    .and_then(|c| c.bytes.get(2))
                    .copied()
                    .unwrap_or(0);
                self.record(
                    h,
                    Seen::Advert {
                        src,
                        priority,
                        to: to.iter().map(|c| c.dst).collect(),
                    },
                );
                self.hosts[h].last_advert = to.first().map(|c| c.bytes.clone());
                let ok = self.kernel(h, &interface).is_some_and(|k| k.exists && k.up);
                if ok {
                    for copy in to {
                        self.transmit_on(Some(h), &interface, src, copy.dst, copy.bytes);
                    }
                }
                return Some(Event::AdvertSent { run, ok });
            }
            Command::Announce { frames, .. } => {
                self.record(
                    h,
                    Seen::Announced {
                        frames: frames.len(),
                    },
                );
            }
            Command::VipJob(job) => {
                let add = matches!(job.op, VipOp::Add { .. });
                self.record(
                    h,
                    Seen::JobAsked {
                        add,
                        vips: job.vips.clone(),
                    },
                );
                let host = &mut self.hosts[h];
                let fails = if add {
                    &mut host.fail_adds
                } else {
                    &mut host.fail_removes
                };
                let ok = *fails == 0;
                *fails = fails.saturating_sub(1);
                let refuse_at = match host.fail_add_at {
                    Some(n) if add && ok && n < job.vips.len() => host.fail_add_at.take(),
                    _ => None,
                };
                let job_latency = self.job_latency;
                let Some(k) = self.kernel_mut(h, &job.interface.clone()) else {
                    // No such interface here: the job fails when it would have ended.
                    self.enqueue(
                        now + job_latency,
                        Item::JobEnd {
                            host: h,
                            generation,
                            job,
                            ok: false,
                            refuse_at: None,
                        },
                    );
                    return None;
                };
                let end = k.queue_free.max(now) + job_latency;
                k.queue_free = end;
                self.enqueue(
                    end,
                    Item::JobEnd {
                        host: h,
                        generation,
                        job,
                        ok,
                        refuse_at,
                    },
                );
            }
            Command::Reply { response, .. } => self.record(h, Seen::Reply(response)),
            Command::SaveMaintenance(m) => {
                self.hosts[h].saved = m.clone();
                self.record(h, Seen::Saved(m));
            }
            Command::SaveAuth(a) => {
                self.hosts[h].saved_auth = a.clone();
                self.record(h, Seen::SavedAuth(a));
            }
            Command::Record(r) => self.record(h, Seen::Record(r)),
            Command::Publish(p) => self.record(
                h,
                Seen::Published {
                    at: p.at,
                    event: p.event,
                },
            ),
            Command::PublishStatus(s) => self.record(h, Seen::PublishedStatus(s)),
            Command::Service(note) => self.record(h, Seen::Service(note)),
            Command::Exit(result) => {
                self.record(h, Seen::Exit(result));
                let host = &mut self.hosts[h];
                host.node = None;
                host.generation += 1;
                host.vipless_since.clear();
                host.watches.clear();
            }
            Command::RunCheck {
                id, check, kind, ..
            } => {
                self.record(
                    h,
                    Seen::CheckRun {
                        check: check.clone(),
                    },
                );
                let answer = match self.hosts[h].check_answers.get(&check) {
                    Some(a) => a.clone(),
                    None => Some(success(&kind)),
                };
                if let Some(result) = answer {
                    let at = now + self.check_latency;
                    self.enqueue(
                        at,
                        Item::Deliver {
                            host: h,
                            generation,
                            event: Event::CheckResult { id, result },
                        },
                    );
                }
            }
            Command::WatchProcess { id, check, .. } => {
                self.record(
                    h,
                    Seen::Watch {
                        check: check.clone(),
                        on: true,
                    },
                );
                let answer = match self.hosts[h].check_answers.get(&check) {
                    Some(a) => a.clone(),
                    None => Some(CheckResult::Process {
                        pids: vec![100],
                        why: None,
                    }),
                };
                self.hosts[h].watches.insert(id, check);
                if let Some(result) = answer {
                    return Some(Event::CheckResult { id, result });
                }
            }
            Command::RunHook {
                id,
                owner,
                hook,
                argv,
                env,
                timeout,
            } => {
                self.record(
                    h,
                    Seen::Hook {
                        id,
                        owner: owner.name().to_string(),
                        hook,
                        argv,
                        env,
                        timeout,
                    },
                );
                if let Some((after, result)) = self.hosts[h].hook_answer.clone() {
                    self.enqueue(
                        now + after,
                        Item::Deliver {
                            host: h,
                            generation,
                            event: Event::HookDone { id, result },
                        },
                    );
                }
            }
            Command::StopWatch { id } => {
                if let Some(check) = self.hosts[h].watches.remove(&id) {
                    self.record(h, Seen::Watch { check, on: false });
                }
            }
        }
        None
    }

    /// What a read of `name` on host `h` shows now.
    fn read(&self, h: HostId, name: String) -> IfaceRead {
        let host = &self.hosts[h];
        if host.fail_reads {
            return IfaceRead {
                name,
                link: Err(LinkReadError::Failed("simulated netlink failure".into())),
                addrs: None,
            };
        }
        if let Some((index, up)) = host.others.get(&name) {
            return IfaceRead {
                link: Ok(Link {
                    index: *index,
                    name: name.clone(),
                    mac: [2, 0, 0, 0, 1, u8::try_from(h + 1).unwrap_or(u8::MAX)],
                    up: *up,
                }),
                name,
                addrs: Some(Ok(Vec::new())),
            };
        }
        let Some(k) = self.kernel(h, &name).filter(|k| k.exists) else {
            return IfaceRead {
                name,
                link: Err(LinkReadError::NoSuchInterface),
                addrs: None,
            };
        };
        IfaceRead {
            link: Ok(self.link(h, &name)),
            addrs: Some(Ok(k.addrs.clone())),
            name,
        }
    }

    /// A VIP job ends: the kernel changes (unless told to fail), then the node hears.
    /// The job acts on the interface index it names, as the daemon's VIP writer does:
    /// if that interface is gone (deleted, or re-created with another index), an add
    /// fails ("no such device") and a removal is done (the addresses went with it),
    /// neither touching the interface there is now. The jobs of a crashed run are
    /// lost with it.
    fn job_end(
        &mut self,
        h: HostId,
        generation: u64,
        job: VipJob,
        ok: bool,
        refuse_at: Option<usize>,
    ) {
        let add = matches!(job.op, VipOp::Add { .. });
        if self.hosts[h].generation != generation {
            return;
        }
        // Local routes (an announced instance's drain): a set of their own per host.
        if matches!(job.op, VipOp::AddLocal | VipOp::RemoveLocal) {
            let local = &mut self.hosts[h].local_routes;
            for vip in &job.vips {
                if ok && job.op == VipOp::AddLocal {
                    local.insert(vip.addr);
                } else if ok {
                    local.remove(&vip.addr);
                }
            }
            let result = if ok {
                Ok(())
            } else {
                Err(VipJobError {
                    failed: job.vips.clone(),
                    message: "refused by the simulated kernel".into(),
                })
            };
            self.record(h, Seen::JobDone { add, ok });
            self.deliver(h, Event::VipJobDone { id: job.id, result });
            return;
        }
        let there = self
            .kernel(h, &job.interface)
            .is_some_and(|k| k.exists && k.index == job.ifindex);
        let refused = |message: &str| {
            Err(VipJobError {
                failed: if add {
                    job.vips.first().copied().into_iter().collect()
                } else {
                    job.vips.clone()
                },
                message: message.into(),
            })
        };
        let result = if !ok {
            refused("refused by the simulated kernel")
        } else if add && !there {
            refused("no such device")
        } else {
            Ok(())
        };
        // An add that fails part way: the VIPs before the refused one are in the kernel.
        if let (true, true, Some(n)) = (result.is_ok(), there, refuse_at) {
            for vip in &job.vips[..n] {
                self.add_addr(h, &job.interface, *vip, true);
            }
            let result = Err(VipJobError {
                failed: job.vips.get(n).copied().into_iter().collect(),
                message: "refused by the simulated kernel part way".into(),
            });
            self.record(h, Seen::JobDone { add, ok: false });
            self.deliver(h, Event::VipJobDone { id: job.id, result });
            self.addresses_changed(h, &job.interface);
            return;
        }
        let changed = result.is_ok() && there;
        if changed {
            for vip in &job.vips {
                if add {
                    self.add_addr(h, &job.interface, *vip, true);
                } else if let Some(k) = self.kernel_mut(h, &job.interface) {
                    k.addrs.retain(|a| a.addr != vip.addr);
                }
            }
        }
        self.record(
            h,
            Seen::JobDone {
                add,
                ok: result.is_ok(),
            },
        );
        self.deliver(h, Event::VipJobDone { id: job.id, result });
        if changed {
            self.addresses_changed(h, &job.interface);
        }
    }

    /// Whether hosts `a` and `b` reach each other on the segment of interface `name`.
    fn connected(&self, a: HostId, b: HostId, name: &str) -> bool {
        match (self.kernel(a, name), self.kernel(b, name)) {
            (Some(ka), Some(kb)) => {
                ka.exists && kb.exists && ka.up && kb.up && ka.group == kb.group
            }
            _ => false,
        }
    }

    /// Sends a VRRP datagram on `eth0` from host `from` (none: a machine outside the
    /// simulation) to the group or to the host whose interface has `dst`.
    fn transmit(&mut self, from: Option<HostId>, src: IpAddr, dst: IpAddr, bytes: Vec<u8>) {
        self.transmit_on(from, IFACE, src, dst, bytes);
    }

    /// Sends a VRRP datagram on the segment of interface `name`.
    fn transmit_on(
        &mut self,
        from: Option<HostId>,
        name: &str,
        src: IpAddr,
        dst: IpAddr,
        bytes: Vec<u8>,
    ) {
        let at = self.now + self.net_latency;
        for to in 0..self.hosts.len() {
            let reachable = match from {
                Some(from) => from != to && self.connected(from, to, name),
                None => self.kernel(to, name).is_some_and(|k| k.exists && k.up),
            };
            let Some(k) = self.kernel(to, name) else {
                continue;
            };
            let addressed = dst.is_multicast() || k.addrs.iter().any(|a| a.addr == dst);
            if !reachable || !addressed || self.hosts[to].node.is_none() {
                continue;
            }
            let event = Event::Datagram(Datagram {
                ifindex: k.index,
                src,
                dst,
                ttl: 255,
                bytes: bytes.clone(),
            });
            let generation = self.hosts[to].generation;
            self.enqueue(
                at,
                Item::Deliver {
                    host: to,
                    generation,
                    event,
                },
            );
        }
    }

    // ---- invariants ----------------------------------------------------------------

    /// The longest a master may lack a VIP: a drift is seen one read after it happens,
    /// and the add may wait behind one job of the same interface.
    pub fn vipless_bound(&self) -> Duration {
        self.read_latency + self.job_latency * 2
    }

    /// The longest two connected hosts may both hold a VIP: the higher one's next advert
    /// (an interval, plus the network), then the lower one's removal, which may wait
    /// behind one job.
    pub fn holders_bound(&self, interval: Duration) -> Duration {
        interval + self.net_latency + self.job_latency * 2
    }

    /// The longest two hosts may both hold a VIP during a planned handover, counted from
    /// its start (the leaving master's priority-0 advert): the handover's bound
    /// (Master_Down_Interval, see [`crate::sim::handover_bound`]), then the removal,
    /// which may wait behind one job, plus the network.
    pub fn handover_holders_bound(&self, bound: Duration) -> Duration {
        bound + self.net_latency + self.job_latency * 2
    }

    /// Checks, after every instant: no master lacks a VIP for longer than
    /// [`Lan::vipless_bound`]; no two running, connected hosts hold the same VIP for
    /// longer than [`Lan::holders_bound`] of the larger advert interval — except during
    /// a planned handover (make-before-break: a master leaving on a stop, a reload or
    /// maintenance keeps its VIPs until the new master is heard), where two holders
    /// are allowed for [`Lan::handover_holders_bound`] counted from the handover's start.
    fn check(&mut self) {
        let now = self.now;
        self.check_groups();
        for h in 0..self.hosts.len() {
            let Some(node) = self.hosts[h].node.as_ref() else {
                continue;
            };
            let mut lacking = BTreeSet::new();
            for (name, router) in node.instances() {
                let Some(r) = router else { continue };
                if r.state() != State::Master {
                    continue;
                }
                if r.config().vips.iter().any(|v| !self.holds(h, *v)) {
                    lacking.insert(name.to_string());
                }
            }
            let host = &mut self.hosts[h];
            host.vipless_since.retain(|name, _| lacking.contains(name));
            for name in lacking {
                let since = *host.vipless_since.entry(name.clone()).or_insert(now);
                let seen = self.breaches.iter().any(|b| {
                    matches!(b, Breach::MasterWithoutVip { host, instance, since: s, .. }
                        if *host == h && *instance == name && *s == since)
                });
                if now.saturating_since(since) > self.read_latency + self.job_latency * 2 && !seen {
                    self.breaches.push(Breach::MasterWithoutVip {
                        host: h,
                        instance: name,
                        since,
                        at: now,
                    });
                }
            }
        }
        // Planned handovers under way, remembered while the host still holds the VIP.
        let mut seen = BTreeMap::new();
        for h in 0..self.hosts.len() {
            let Some(node) = self.hosts[h].node.as_ref() else {
                continue;
            };
            let routers = node
                .instances()
                .filter_map(|(_, r)| r)
                .chain(node.leaving().map(|(_, r)| r));
            for r in routers {
                if let Some(ho) = r.handover() {
                    let bound = crate::sim::handover_bound(r.config());
                    for vip in &r.config().vips {
                        seen.insert((h, *vip), (ho.since, bound));
                    }
                }
            }
        }
        for (key, value) in seen {
            self.handovers.entry(key).or_insert(value);
        }
        let handovers = std::mem::take(&mut self.handovers);
        self.handovers = handovers
            .into_iter()
            .filter(|((h, vip), _)| self.hosts[*h].node.is_some() && self.holds(*h, *vip))
            .collect();
        if !self.check_holders {
            return;
        }
        let mut pairs = BTreeSet::new();
        for a in 0..self.hosts.len() {
            for b in a + 1..self.hosts.len() {
                if self.hosts[a].node.is_none() || self.hosts[b].node.is_none() {
                    continue;
                }
                for inst in &self.hosts[a].config.instances {
                    if !self.connected(a, b, &inst.interface) {
                        continue;
                    }
                    for vip in &inst.vips {
                        if self.holds(a, vip.addr) && self.holds(b, vip.addr) {
                            let interval = self.hosts[a]
                                .config
                                .instances
                                .iter()
                                .chain(&self.hosts[b].config.instances)
                                .map(|i| i.advert_interval)
                                .max()
                                .unwrap_or_default();
                            pairs.insert((vip.addr, a, b, interval));
                        }
                    }
                }
            }
        }
        self.holders_since
            .retain(|(v, a, b), _| pairs.iter().any(|p| (p.0, p.1, p.2) == (*v, *a, *b)));
        for (vip, a, b, interval) in pairs {
            let mut since = *self.holders_since.entry((vip, a, b)).or_insert(now);
            let mut bound = self.holders_bound(interval);
            let handover = [a, b]
                .iter()
                .filter_map(|h| self.handovers.get(&(*h, vip)))
                .min_by_key(|(start, _)| *start);
            if let Some((start, limit)) = handover {
                since = *start;
                bound = self.handover_holders_bound(*limit);
            }
            if now.saturating_since(since) > bound {
                let breach = Breach::TwoHolders {
                    vip,
                    hosts: (a, b),
                    since,
                    at: now,
                };
                if !self
                    .breaches
                    .iter()
                    .any(|x| matches!(x, Breach::TwoHolders { vip: v, hosts, since: s, .. } if *v == vip && *hosts == (a, b) && *s == since))
                {
                    self.breaches.push(breach);
                }
            }
        }
    }
}

impl Lan {
    /// Checks, after every instant: on every running host, the members of each sync
    /// group are all master or none is. There is no tolerance: the node releases a
    /// group (every member to Master) and holds it (every master to Backup) within the
    /// one event that changed a member, so no instant ends with a group split.
    /// (The VIPs may still differ for a while: a member held back hands over
    /// make-before-break, which the two-holders check bounds.)
    fn check_groups(&mut self) {
        let now = self.now;
        for h in 0..self.hosts.len() {
            let Some(node) = self.hosts[h].node.as_ref() else {
                continue;
            };
            for g in &node.config().groups {
                let masters: Vec<String> = node
                    .instances()
                    .filter(|(n, r)| {
                        g.instances.iter().any(|m| m == n)
                            && r.is_some_and(|r| r.state() == State::Master)
                    })
                    .map(|(n, _)| n.to_string())
                    .collect();
                if !masters.is_empty() && masters.len() < g.instances.len() {
                    self.breaches.push(Breach::GroupSplit {
                        host: h,
                        group: g.name.clone(),
                        masters,
                        at: now,
                    });
                }
            }
        }
    }
}

/// What a run of a check of `kind` answers when the test said nothing: success.
fn success(kind: &vipd_node::config::CheckKind) -> CheckResult {
    use vipd_node::config::CheckKind;
    match kind {
        CheckKind::Exec { .. } => CheckResult::Exited {
            code: Some(0),
            signal: None,
            output: String::new(),
        },
        CheckKind::Http(_) => CheckResult::Http {
            status: 200,
            body_matched: None,
        },
        CheckKind::File(_) => CheckResult::Value {
            value: 0,
            note: None,
        },
        CheckKind::Process(_) => CheckResult::Process {
            pids: vec![100],
            why: None,
        },
        CheckKind::Tcp(_) | CheckKind::Interface(_) => CheckResult::Connected,
    }
}
