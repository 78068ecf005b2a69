//! One host of the model: a real [`vipd_node::Node`] behind a shell that answers every
//! command at once, with a one-interface kernel.
//!
//! A `Node` can be neither cloned nor hashed, so the model never keeps one: a host is
//! its input log ([`Step`]s with their instants), and [`Host::replay`] rebuilds the node
//! from it. The node is deterministic (it reads no clock and no randomness), so the same
//! log always gives the same node; two interleavings that give every host the same log
//! are the same state, which is what lets the checker merge them.
//!
//! The shell plays `vipd::daemon`'s part as `vipd_sim::lan` does, with every latency
//! zero: kernel reads, socket opens, advert sends and VIP jobs are answered before the
//! step ends; a VIP job changes the kernel's addresses at once (and the kernel tells the
//! node, `Event::AddressesChanged`). The only thing that takes time is the network,
//! which the model owns ([`crate::model`]).

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vipd_engine::{Instant, State as RouterState};
use vipd_node::config::{CheckConfig, CheckInit, CheckKind, Config, ProcessMatch, Track, Vip};
use vipd_node::{
    Addr, Caller, CheckResult, CheckRunId, Command, Datagram, Event, HookResult, HostInfo,
    IfaceRead, Link, LinkReadError, Maintenance, Node, RequestId, VipOp,
};
use vipd_wire::vrrp::AdvertPacket;

/// The interface every host has, and its index.
pub const IFACE: &str = vipd_sim::lan::IFACE;
pub const IFINDEX: u32 = 2;
/// The one instance every host runs.
pub const INSTANCE: &str = "web";
/// Its VRID.
pub const VRID: u8 = 51;
/// The health check every host's instance tracks.
pub const CHECK: &str = "svc";
/// What a failing check takes off the priority (`track: [{check: svc, weight: -60}]`).
pub const CHECK_WEIGHT: i32 = -60;

/// The VIP.
pub fn vip() -> Vip {
    vipd_sim::cfg::node::vip("192.0.2.100/24")
}

/// Host `h`'s own address (its advert source): 192.0.2.(11 + h).
pub fn addr(h: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11 + h as u8))
}

/// One input of a host, as the model gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// vipd starts (a fresh node; the maintenance it kept is handed over).
    Start,
    /// The node's deadline passed.
    Timeout,
    /// An advert from host `from` arrives.
    Datagram { from: usize, bytes: Vec<u8> },
    /// The tracked service dies (`false`) or runs again (`true`).
    Check(bool),
    /// `vipctl maintenance on|off`.
    Maintenance(bool),
    /// SIGTERM.
    Stop,
    /// SIGHUP with the instance's priority changed to this.
    Reload(u8),
}

/// An advert one step made the host send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub priority: u8,
    pub bytes: Vec<u8>,
}

/// What the outputs showed of the make-before-break window: the priority-0 advert a
/// VIP holder sent (the window opens), the first advert of nonzero priority it heard
/// after that; the window closes when the VIPs are removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Window {
    pub since: Option<Instant>,
    pub heard: Option<Instant>,
    /// The effective priority the holder had when it opened the window.
    pub priority: u8,
}

/// What the properties and the next actions need to know of a host, as of the end of
/// its last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct View {
    pub running: bool,
    /// A digest of the whole state of every router of the node (its `Debug` form):
    /// what tells apart orders of one instant's inputs that mattered.
    pub router: u64,
    /// The instance's router: its state, effective priority and own deadline.
    pub state: Option<RouterState>,
    pub effective: Option<u8>,
    pub router_deadline: Option<Instant>,
    /// Whether the router is in maintenance.
    pub maintenance: bool,
    /// The router's handover (planned, make-before-break) under way: since, until.
    pub handover: Option<(Instant, Instant)>,
    /// When the node wants `Event::Timeout` next.
    pub deadline: Option<Instant>,
    /// Whether the kernel holds the VIP.
    pub holds: bool,
    /// The configured priority (reloads change it).
    pub priority: u8,
    pub check_up: bool,
    pub window: Window,
}

/// The configuration of host `h` with its instance at `priority`: VRRPv3, adverts every
/// `interval`, preempt on, one gratuitous ARP and no repeats (no timers the election
/// does not need), the check tracked with [`CHECK_WEIGHT`].
pub fn config(priority: u8, interval: Duration) -> Config {
    use vipd_sim::cfg::node;
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(1000);
    let mut inst = node::instance(INSTANCE, VRID, priority, interval_ms, &["192.0.2.100/24"]);
    inst.garp.count = 1;
    inst.garp.repeat_after = Duration::ZERO;
    inst.track = vec![Track {
        check: CHECK.into(),
        weight: CHECK_WEIGHT,
    }];
    let mut cfg = node::config(vec![inst]);
    cfg.checks.insert(
        CHECK.into(),
        CheckConfig {
            kind: CheckKind::Process(ProcessMatch {
                pidfile: None,
                name: Some("svc".into()),
                user: None,
            }),
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 1,
            fall: 1,
            init: CheckInit::Down,
        },
    );
    cfg
}

/// A host being replayed.
pub struct Host {
    index: usize,
    interval: Duration,
    node: Option<Node>,
    priority: u8,
    holds: bool,
    check_up: bool,
    watches: Vec<CheckRunId>,
    saved: Maintenance,
    requests: u64,
    window: Window,
    now: Instant,
    /// Adverts sent during the current step.
    sent: Vec<Sent>,
}

impl Host {
    fn new(index: usize, priority: u8, interval: Duration) -> Host {
        Host {
            index,
            interval,
            node: None,
            priority,
            holds: false,
            check_up: true,
            watches: Vec::new(),
            saved: Maintenance::default(),
            requests: 0,
            window: Window::default(),
            now: Instant::ZERO,
            sent: Vec::new(),
        }
    }

    /// Host `index` (configured at `priority`) after every step of `log`; the adverts
    /// the last step sent.
    pub fn replay(
        index: usize,
        priority: u8,
        interval: Duration,
        log: &[(Instant, Step)],
    ) -> (Host, Vec<Sent>) {
        let mut host = Host::new(index, priority, interval);
        for (at, step) in log {
            host.sent.clear();
            host.step(*at, step.clone());
        }
        let sent = std::mem::take(&mut host.sent);
        (host, sent)
    }

    /// Feeds one step.
    pub fn step(&mut self, now: Instant, step: Step) {
        self.feed(now, step);
        // A master whose handover ended by its becoming master again keeps its VIPs as
        // a master's: no window any more.
        let v = self.view();
        if v.handover.is_none() && v.state == Some(RouterState::Master) {
            self.window = Window::default();
        }
    }

    fn feed(&mut self, now: Instant, step: Step) {
        self.now = now;
        match step {
            Step::Start => {
                if self.node.is_some() {
                    return;
                }
                let info = HostInfo {
                    hostname: format!("host{}", self.index),
                    pid: 1000 + self.index as u32,
                    started_unix_ns: vipd_sim::lan::SIM_EPOCH_NS + now.as_nanos(),
                    auth: Default::default(),
                };
                let cfg = config(self.priority, self.interval);
                self.node = Some(Node::new(now, cfg, info, self.saved.clone()));
                self.drain();
            }
            Step::Timeout => self.deliver(Event::Timeout),
            Step::Datagram { from, bytes } => {
                let priority = advert_priority(&bytes);
                if self.window.since.is_some() && self.window.heard.is_none() && priority > 0 {
                    self.window.heard = Some(now);
                }
                self.deliver(Event::Datagram(Datagram {
                    ifindex: IFINDEX,
                    src: addr(from),
                    dst: IpAddr::V4(vipd_wire::MULTICAST_V4),
                    ttl: 255,
                    bytes,
                }));
            }
            Step::Check(up) => {
                self.check_up = up;
                for id in self.watches.clone() {
                    let result = self.process_result();
                    self.deliver(Event::CheckResult { id, result });
                }
            }
            Step::Maintenance(on) => {
                self.requests += 1;
                let request = vipd_api::Request::new(vipd_api::Command::Maintenance {
                    on,
                    instances: Vec::new(),
                });
                self.deliver(Event::Control {
                    id: RequestId(self.requests),
                    request,
                    caller: Caller::root(),
                });
            }
            Step::Stop => self.deliver(Event::Stop),
            Step::Reload(priority) => {
                self.priority = priority;
                let cfg = config(priority, self.interval);
                self.deliver(Event::Reload(Ok(cfg)));
            }
        }
    }

    /// What the properties need to know of this host now.
    pub fn view(&self) -> View {
        let router = self
            .node
            .as_ref()
            .and_then(|n| n.instances().find_map(|(_, r)| r));
        let handover = self.node.as_ref().and_then(|n| {
            n.instances()
                .filter_map(|(_, r)| r)
                .chain(n.leaving().map(|(_, r)| r))
                .find_map(|r| r.handover())
                .map(|h| (h.since, h.until))
        });
        let router_digest = self.node.as_ref().map_or(0, |n| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for (_, r) in n.instances() {
                format!("{r:?}").hash(&mut h);
            }
            for (_, r) in n.leaving() {
                format!("{r:?}").hash(&mut h);
            }
            h.finish()
        });
        View {
            running: self.node.is_some(),
            router: router_digest,
            state: router.map(|r| r.state()),
            effective: router.map(|r| r.effective_priority()),
            router_deadline: router.and_then(|r| r.poll_timeout()),
            maintenance: router.is_some_and(|r| r.maintenance()),
            handover,
            deadline: self.node.as_ref().and_then(|n| n.poll_timeout()),
            holds: self.holds,
            priority: self.priority,
            check_up: self.check_up,
            window: self.window,
        }
    }

    fn process_result(&self) -> CheckResult {
        CheckResult::Process {
            pids: if self.check_up { vec![100] } else { Vec::new() },
            why: None,
        }
    }

    fn deliver(&mut self, event: Event) {
        let now = self.now;
        let Some(node) = self.node.as_mut() else {
            return;
        };
        node.handle(now, event);
        self.drain();
    }

    /// Executes the node's commands as the daemon's shell does, answering at once.
    fn drain(&mut self) {
        let now = self.now;
        let mut answers = std::collections::VecDeque::new();
        loop {
            while let Some(cmd) = self.node.as_mut().and_then(|n| n.poll_command()) {
                answers.extend(self.execute(cmd));
            }
            let Some(answer) = answers.pop_front() else {
                return;
            };
            let Some(node) = self.node.as_mut() else {
                return;
            };
            node.handle(now, answer);
        }
    }

    fn execute(&mut self, cmd: Command) -> Vec<Event> {
        match cmd {
            Command::ReadKernel { id, interfaces } => {
                let interfaces = interfaces.into_iter().map(|n| self.read(n)).collect();
                vec![Event::KernelRead { id, interfaces }]
            }
            Command::OpenSockets { id, .. } => vec![Event::SocketsOpened { id, result: Ok(()) }],
            Command::SendAdvert { run, to, .. } => {
                for copy in to {
                    let priority = advert_priority(&copy.bytes);
                    if priority == 0 && self.holds && self.window.since.is_none() {
                        let effective = self.view().effective.unwrap_or(0);
                        self.window = Window {
                            since: Some(self.now),
                            heard: None,
                            priority: effective,
                        };
                    }
                    self.sent.push(Sent {
                        priority,
                        bytes: copy.bytes,
                    });
                }
                vec![Event::AdvertSent { run, ok: true }]
            }
            Command::VipJob(job) => {
                match job.op {
                    VipOp::Add { .. } => self.holds = true,
                    VipOp::Remove => {
                        self.holds = false;
                        self.window = Window::default();
                    }
                    VipOp::AddLocal | VipOp::RemoveLocal => {}
                }
                vec![
                    Event::VipJobDone {
                        id: job.id,
                        result: Ok(()),
                    },
                    Event::AddressesChanged(IFINDEX),
                ]
            }
            Command::WatchProcess { id, .. } => {
                self.watches.push(id);
                vec![Event::CheckResult {
                    id,
                    result: self.process_result(),
                }]
            }
            Command::StopWatch { id } => {
                self.watches.retain(|w| *w != id);
                Vec::new()
            }
            Command::RunCheck { id, .. } => vec![Event::CheckResult {
                id,
                result: CheckResult::Connected,
            }],
            Command::RunHook { id, .. } => vec![Event::HookDone {
                id,
                result: HookResult::Exited {
                    code: Some(0),
                    signal: None,
                    output: String::new(),
                },
            }],
            Command::SaveMaintenance(m) => {
                self.saved = m;
                Vec::new()
            }
            Command::Exit(_) => {
                self.node = None;
                self.watches.clear();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// What a read of interface `name` shows now.
    fn read(&self, name: String) -> IfaceRead {
        if name != IFACE {
            return IfaceRead {
                name,
                link: Err(LinkReadError::NoSuchInterface),
                addrs: None,
            };
        }
        let mut addrs = vec![Addr {
            addr: addr(self.index),
            prefix_len: 24,
            tentative: false,
            link_local: false,
            protocol: None,
            label: None,
        }];
        if self.holds {
            let v = vip();
            addrs.push(Addr {
                addr: v.addr,
                prefix_len: v.prefix_len,
                tentative: false,
                link_local: false,
                protocol: Some(vipd_node::ADDRESS_PROTOCOL),
                label: None,
            });
        }
        IfaceRead {
            link: Ok(Link {
                index: IFINDEX,
                name: name.clone(),
                mac: [2, 0, 0, 0, 0, 1 + self.index as u8],
                up: true,
            }),
            name,
            addrs: Some(Ok(addrs)),
        }
    }
}

/// The priority field of an advert (through the codec: bytes are read in the wire
/// crate only); 0 for anything too short to be one.
pub fn advert_priority(bytes: &[u8]) -> u8 {
    AdvertPacket::new_checked(bytes).map_or(0, |p| p.priority())
}
