//! What goes into a [`crate::Node`] and what comes out.
//!
//! Every command whose outcome matters carries an id, and its result comes back as an
//! event carrying the same id: nothing is matched by name or by order, and the node never
//! assumes that an effect happened.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use vipd_engine::{DropReason, Instant, Reason, State};
use vipd_wire::RxError;

use crate::config::{Config, Vip};

/// The address family of an instance and of its advert socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        }
    }
}

/// A VIP job (add or remove addresses): answered by [`Event::VipJobDone`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// A read of links and addresses: answered by [`Event::KernelRead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadId(pub u64);

/// One run of an instance's router (a restart after a reload or a source change is a
/// new run): an advert's send result names the run that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub u64);

/// A socket open: answered by [`Event::SocketsOpened`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenId(pub u64);

/// A control request, numbered by the shell: answered by [`Command::Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// An interface as the node needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: [u8; 6],
    /// Administratively up and carrier present.
    pub up: bool,
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// Still under duplicate address detection (or DAD failed): not usable as a source.
    pub tentative: bool,
    pub link_local: bool,
    /// The kernel's address protocol (IFA_PROTO, Linux ≥ 6.1): who added it.
    /// [`ADDRESS_PROTOCOL`] marks the addresses vipd added.
    pub protocol: Option<u8>,
    /// The IPv4 address label, if any.
    pub label: Option<String>,
}

/// The address protocol (IFA_PROTO) vipd tags its VIPs with, so that it can tell them
/// from the host's own addresses — after a crash too. 0-3 are the kernel's; keepalived
/// sets none.
pub const ADDRESS_PROTOCOL: u8 = 0x76;

/// Whether `vip` is among `addrs`, by address alone: a leftover with another prefix
/// length is the same VIP as far as ARP and ND are concerned.
pub fn has_vip(addrs: &[Addr], vip: &Vip) -> bool {
    addrs.iter().any(|a| a.addr == vip.addr)
}

/// A VRRP datagram as the IP layer delivered it: IPv4 and IPv6 alike, the IP header
/// already taken apart (its checks are the codec's: `vipd_wire::Ipv4Header::parse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub ifindex: u32,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP message.
    pub bytes: Vec<u8>,
}

/// One copy of an advert: where it goes and its bytes (the VRRP message; a VRRPv3
/// checksum over the pseudo-header covers this copy's destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertCopy {
    /// 224.0.0.18 / ff02::12, or a unicast peer.
    pub dst: IpAddr,
    pub bytes: Vec<u8>,
}

/// Why a link could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkReadError {
    /// The kernel has no interface of that name.
    NoSuchInterface,
    /// The read failed (timeout, netlink error): nothing is known.
    Failed(String),
}

/// One interface as a kernel read found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceRead {
    pub name: String,
    pub link: Result<Link, LinkReadError>,
    /// The interface's addresses; `None` when the link could not be read.
    pub addrs: Option<Result<Vec<Addr>, String>>,
}

/// Add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VipOp {
    /// Add every VIP in order, stopping at the first failure. IPv4 VIPs carry `label`.
    Add { label: Option<String> },
    /// Remove every VIP (an absent one, or one whose interface is gone, is removed).
    Remove,
    /// Keep delivering packets for every VIP to this host without it being an address:
    /// a `local` route in the kernel's local table on the job's interface (`lo`),
    /// metric [`LOCAL_ROUTE_METRIC`], protocol [`ADDRESS_PROTOCOL`]. Routing daemons do
    /// not redistribute it (an address on `lo` they would). For the drains of announced
    /// instances ([`crate::announce`]).
    AddLocal,
    /// Remove those local routes (an absent one is removed).
    RemoveLocal,
}

/// The metric of [`VipOp::AddLocal`]'s routes: not 0, the kernel's own local route for
/// an address, so the two live side by side and removing the address leaves ours.
pub const LOCAL_ROUTE_METRIC: u32 = 1000;

/// A change of VIPs on one interface. The shell runs the jobs of one interface in the
/// order they were given, and answers each with [`Event::VipJobDone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipJob {
    pub id: JobId,
    pub interface: String,
    pub ifindex: u32,
    pub op: VipOp,
    pub vips: Vec<Vip>,
    /// The instance that asked, for logs; none for a retried removal.
    pub instance: Option<String>,
}

/// What went wrong with a VIP job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipJobError {
    /// Add: the VIP that could not be added. Remove: every VIP that is still there.
    pub failed: Vec<Vip>,
    pub message: String,
}

/// An event for [`crate::Node::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A deadline from `poll_timeout` has passed (calling early is harmless).
    Timeout,
    Datagram(Datagram),
    /// A datagram the shell could not take apart (e.g. a malformed IPv4 header): counted
    /// by every instance of that family on the interface.
    Undecodable {
        ifindex: u32,
        family: Family,
        error: RxError,
    },
    /// The kernel announced a link's new state.
    Link(Link),
    /// The kernel announced that the interface with this index is gone.
    LinkGone(u32),
    /// The kernel announced an address change on this interface index.
    AddressesChanged(u32),
    /// The kernel's event stream ended: from now on only the periodic reads tell.
    MonitorClosed,
    /// The answer to [`Command::ReadKernel`].
    KernelRead {
        id: ReadId,
        interfaces: Vec<IfaceRead>,
    },
    /// The answer to [`Command::OpenSockets`] `id`.
    SocketsOpened {
        id: OpenId,
        result: Result<(), String>,
    },
    /// The answer to [`Command::SendAdvert`].
    AdvertSent {
        run: RunId,
        ok: bool,
    },
    /// The answer to [`Command::VipJob`].
    VipJobDone {
        id: JobId,
        result: Result<(), VipJobError>,
    },
    /// SIGHUP: the configuration file re-read, or why it could not be.
    Reload(Result<Config, String>),
    /// A control request, and who sent it.
    Control {
        id: RequestId,
        request: vipd_api::Request,
        caller: Caller,
    },
    /// SIGTERM / SIGINT. A second one stops waiting for the VIP removals.
    Stop,
    /// The result of [`Command::RunCheck`] `id`, or news from [`Command::WatchProcess`]
    /// `id` (a watch reports whenever what it sees changes).
    CheckResult {
        id: CheckRunId,
        result: CheckResult,
    },
    /// The end of [`Command::RunHook`] `id`.
    HookDone {
        id: HookRunId,
        result: HookResult,
    },
}

/// Work for the shell, drained with [`crate::Node::poll_command`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read these interfaces' links and addresses; answer with [`Event::KernelRead`].
    ReadKernel {
        id: ReadId,
        interfaces: Vec<String>,
    },
    /// Have the interface's frame socket and its VRRP socket for `family` open (an IPv6
    /// socket sends from `source`; an open one with another source is replaced once the
    /// new one is open, and stays if it cannot be). Answer with [`Event::SocketsOpened`].
    OpenSockets {
        id: OpenId,
        interface: String,
        ifindex: u32,
        family: Family,
        source: IpAddr,
    },
    /// Close every socket of the interface (it went away or changed its index).
    CloseSockets {
        interface: String,
    },
    /// Send one VRRP advert from `src` on the interface, a copy to each destination
    /// (TTL / hop limit 255): the VRRP group, or each unicast peer. Answer with
    /// [`Event::AdvertSent`]: `ok` when every copy went out.
    SendAdvert {
        run: RunId,
        interface: String,
        family: Family,
        src: IpAddr,
        to: Vec<AdvertCopy>,
    },
    /// Send these Ethernet frames (gratuitous ARP / unsolicited NA) on the interface.
    Announce {
        interface: String,
        instance: String,
        frames: Vec<Vec<u8>>,
    },
    VipJob(VipJob),
    /// The answer to a control request.
    Reply {
        id: RequestId,
        response: vipd_api::Response,
    },
    /// Something worth a log line.
    Record(Record),
    /// An event for the watchers of the event stream (`vipctl watch`), with the instant
    /// it happened; the shell stamps it with the wall clock and hands it to every
    /// watcher. Nothing answers.
    Publish(Published),
    /// Keep this maintenance state under the state directory (replacing what is there,
    /// atomically), so that a restart starts with it ([`crate::Node::new`]). Nothing
    /// answers: a failure is the shell's to log.
    SaveMaintenance(crate::maintenance_state::Maintenance),
    /// Keep this authentication state under the state directory (replacing what is
    /// there, atomically), so that a restart starts with it
    /// ([`crate::HostInfo::auth`]): its sequence numbers above every one sent, the last
    /// numbers accepted from each peer. Nothing answers: a failure is the shell's to log.
    SaveAuth(crate::auth_state::AuthState),
    /// The node is done (after [`Event::Stop`]): exit with this result.
    Exit(Result<(), ExitError>),
    /// Run one check once (http, tcp, exec or file), within `timeout`, and answer with
    /// [`Event::CheckResult`] `id`. The node never has two runs of a check under way.
    RunCheck {
        id: CheckRunId,
        check: String,
        kind: crate::config::CheckKind,
        timeout: std::time::Duration,
    },
    /// Watch a process check's processes until [`Command::StopWatch`] `id`: report
    /// ([`Event::CheckResult`] `id`, [`CheckResult::Process`]) what is found at once,
    /// the moment a watched process dies, and whenever a look (at least every
    /// `rescan`, and when the pidfile changes) finds other processes.
    WatchProcess {
        id: CheckRunId,
        check: String,
        process: crate::config::ProcessMatch,
        rescan: std::time::Duration,
    },
    /// End watch `id` (its check was removed or changed).
    StopWatch {
        id: CheckRunId,
    },
    /// The node's status as of now, for the metrics endpoint (only with `metrics:`
    /// configured): after every kernel read (at least once a
    /// [`crate::kernel::POLL`]) and after every state change. The shell keeps the
    /// newest one; nothing answers.
    PublishStatus(Box<vipd_api::Status>),
    /// Tell the service manager (systemd, where vipd runs under one): ready, stopping,
    /// the status line. Nothing answers.
    Service(ServiceNote),
    /// Run notify hook `hook` of `owner` once: `argv` (no shell) in a process group of
    /// its own, stdin from /dev/null, with exactly the environment `env` (nothing of
    /// the daemon's); after `timeout` kill the whole group. Answer with
    /// [`Event::HookDone`] `id`. The node never has two runs of one owner under way.
    RunHook {
        id: HookRunId,
        owner: crate::notify_config::HookOwner,
        hook: &'static str,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        timeout: std::time::Duration,
    },
}

/// A run of a notify hook: answered by [`Event::HookDone`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HookRunId(pub u64);

/// How a run of a notify hook ended; whether that is a failure is the node's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult {
    /// The program ended: its exit code (none if a signal ended it), the signal, and
    /// the first line of its output (bounded).
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        output: String,
    },
    /// It ran longer than its timeout: its process group was killed.
    TimedOut(std::time::Duration),
    /// It could not be started.
    Error(String),
}

/// An event of the event stream and when it happened ([`Command::Publish`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub at: Instant,
    pub event: vipd_api::WatchEvent,
}

/// A run or a watch of a check: answered by [`Event::CheckResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckRunId(pub u64);

/// What one run of a check (or a watch) found; what it means is the node's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// An exec check's program ended: its exit code (none if a signal ended it), the
    /// signal, and the first line of its output (bounded).
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        output: String,
    },
    /// An http check's answer: its status, and whether the body held `expect_body`
    /// (none when not asked).
    Http {
        status: u16,
        body_matched: Option<bool>,
    },
    /// A tcp check connected.
    Connected,
    /// A process check's processes (none: nothing runs), and why none were found.
    Process { pids: Vec<u32>, why: Option<String> },
    /// A file check's value; `note` says why it is 0 when the file could not be read or
    /// held no integer.
    Value { value: i64, note: Option<String> },
    /// The run took longer than its timeout (an exec check's process group was killed).
    TimedOut(std::time::Duration),
    /// The run failed (connection refused, cannot start the program, ...).
    Error(String),
}

/// Who sent a control request: the peer's credentials on the control socket
/// (SO_PEERCRED), with its supplementary groups as the shell found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Caller {
    /// root, for tests and tools that call the node directly.
    pub fn root() -> Caller {
        Caller {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
        }
    }
}

/// Why a stopping node could not finish cleanly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExitError {
    #[error("could not remove VIPs on the way out: {0}; the next start removes them")]
    VipsLeftBehind(String),
    #[error("a second signal: stopped without waiting for the VIP removals; the next start removes any left")]
    Impatient,
}

/// How much a record matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// A log-worthy event.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub level: Level,
    /// The instance it concerns, if one.
    pub instance: Option<String>,
    /// That instance's effective priority as the record is made, while its router runs
    /// (a structured field of the log line: VRRP_PRIORITY in the journal).
    pub priority: Option<u8>,
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    Dropped(DropReason),
    /// An instance's router started (or restarted) on its interface.
    Starting {
        interface: String,
        vrid: u8,
        source: IpAddr,
        priority: u8,
    },
    /// Adverts of another router that do not fit this instance's configuration: the
    /// counter name (`kind`) and what it means. Warned about at most once per
    /// [`crate::WARN_EVERY`] for each instance and kind; `held_back` more came since the
    /// last warning.
    Mismatch {
        kind: &'static str,
        detail: String,
        held_back: u64,
    },
    /// Anything else, in words.
    Note(String),
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::StateChanged { from, to, reason } => write!(
                f,
                "state changed from {} to {} ({})",
                from.as_str(),
                to.as_str(),
                reason.as_str()
            ),
            What::Dropped(reason) => write!(f, "dropped ({}): {reason}", reason.kind()),
            What::Starting {
                interface,
                vrid,
                source,
                priority,
            } => write!(
                f,
                "instance starting on {interface}: VRID {vrid}, source {source}, priority {priority}"
            ),
            What::Mismatch {
                detail, held_back, ..
            } => {
                f.write_str(detail)?;
                match held_back {
                    0 => Ok(()),
                    n => write!(f, " ({n} more since the last warning)"),
                }
            }
            What::Note(text) => f.write_str(text),
        }
    }
}

/// The IPv6 source of an IPv6 address, for the unsolicited NA.
pub(crate) fn as_v6(a: IpAddr) -> Option<Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

/// One thing for the service manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceNote {
    /// Set up: every instance runs or says why it waits (`READY=1`); again once a
    /// reload was applied or refused (the shell says `RELOADING=1` when it begins).
    Ready,
    /// Leaving (`STOPPING=1`).
    Stopping,
    /// The status line (`STATUS=`), whenever it changes.
    Status(String),
}
