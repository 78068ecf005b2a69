//! What goes into the engine and what comes out.

use std::net::IpAddr;

use vipd_wire::{Received, RxError, V3Checksum, Version};

use crate::router::State;

/// Names one VIP change the engine asked for (`Output::AddVips` / `Output::DelVips`),
/// so that its answer (`Input::VipApplied`) can be matched to it.
///
/// A [`crate::Router`] numbers its requests itself: 1, 2, 3, ... in the order it makes
/// them, adds and removes alike, never reusing a number. The driver only hands the id
/// back; it never makes one up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VipJobId(pub u64);

/// An event for [`crate::Router::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// RFC 5798 §6.4.1 Startup event.
    Startup,
    /// RFC 5798 §6.4.2/§6.4.3 Shutdown event: leave gracefully (priority-0 advert).
    /// A master that others know as master hands over make-before-break: it keeps its
    /// VIPs until the new master's first advert is heard, or for at most
    /// Master_Down_Interval (see [`crate::Router`]'s "Planned handover").
    Shutdown,
    /// Maintenance on (`true`): a master hands over make-before-break as on Shutdown,
    /// and the router stays Backup and never takes over (not even as address owner)
    /// until maintenance is turned off (`false`); then it waits Master_Down_Interval
    /// as at Startup (and preempts a lower-priority master if configured to).
    Maintenance(bool),
    /// Sync-group hold (vipd-node's `groups`), distinct from maintenance: while held
    /// (`true`) the router never enters Master. A Master hands over make-before-break
    /// as on Shutdown and stays Backup, following whoever takes over. A Backup whose
    /// Master_Down_Timer runs out (or an address owner that starts) stays Backup and is
    /// *ready* (`Router::ready`): it would be master now. Released (`false`), a ready
    /// router becomes master at once; any other goes on as usual.
    Hold(bool),
    /// A deadline from `poll_timeout` has passed (calling early is harmless).
    Timeout,
    /// Ends a planned handover under way (Shutdown, maintenance): the VIPs are removed
    /// now (`Output::DelVips`) instead of when the new master is heard. For a driver
    /// that cannot keep the router until the handover is over (an instance reloaded
    /// away, or one whose VIPs a new instance takes); nothing happens when no handover
    /// is under way.
    EndHandover,
    /// An advert from `src` as the driver decoded it with the codec, against what this
    /// router expects (`vipd_wire::Advert::receive` with [`crate::Config::rx_check`]:
    /// RFC 5798 §7.1's TTL, version, length, checksum and VRID checks): the advert, or
    /// why the codec refused it. The engine makes the checks that need its own state
    /// (the family of `src` first, then the codec's verdict, then the rest); it never
    /// sees bytes.
    Advert {
        src: IpAddr,
        received: Result<Received, RxError>,
    },
    /// A packet the driver refused before the engine could see it (a malformed IPv4
    /// header, or an advert the codec refused); counted like any other drop.
    Rejected(RxError),
    LinkUp,
    LinkDown,
    /// The sum of the weights of failed tracked objects (negative lowers priority) and
    /// whether any failed object is marked as a fault.
    Tracked {
        weight: i32,
        fault: bool,
    },
    /// Whether an `Output::SendAdvert` went out.
    AdvertSent {
        ok: bool,
    },
    /// The result of the VIP change `Output::AddVips { id }` or `Output::DelVips { id }`
    /// asked for: the driver answers every one of them, successes too, with its `id`.
    ///
    /// Only the answer to the add a master is still waiting for counts (the newest
    /// add of the current Master stint, while no answer to it has come yet). Every
    /// other answer — to an older add, to any remove, to an add of an earlier stint or
    /// start, or with an id never handed out — is stale by construction and changes
    /// nothing, whatever its `ok`.
    VipApplied {
        id: VipJobId,
        ok: bool,
    },
    /// Whether the driver can read the interface's addresses. While it cannot, a master
    /// cannot confirm that it holds its VIPs: it hands over (priority 0) and waits in
    /// Fault until the kernel answers again. The driver decides how long counts as
    /// "cannot" (vipd-node: 5 s without a successful read).
    KernelReachable(bool),
    /// The driver saw that a VIP is no longer on the interface although nothing here
    /// removed it (an operator or another program did). A master adds it back.
    VipsMissing,
    /// The driver saw VIPs on the interface while this router is not master (a
    /// failed removal, a leftover with another prefix, or someone added them). A
    /// non-master removes them: only the master may hold them.
    VipsPresent,
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup as address owner (priority 255).
    Owner,
    /// Startup as a non-owner.
    Startup,
    /// No advert from a master within Master_Down_Interval (or Skew_Time after a
    /// priority-0 advert).
    MasterDown,
    /// An advert of higher priority (or equal priority from a higher address).
    HigherPriority,
    Shutdown,
    Fault(FaultCause),
    /// Every fault cause has cleared.
    Recovered,
    /// In maintenance: Backup, never taking over.
    Maintenance,
    /// Maintenance was turned off: Backup, taking part again.
    MaintenanceOver,
    /// Held back by its sync group (`Input::Hold`), or released by it to Master.
    SyncGroup,
}

/// What keeps an instance in Fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCause {
    LinkDown,
    Tracked,
    VipAddFailed,
    /// Adverts could not be sent several times in a row.
    SendFailed,
    /// The interface's addresses could not be read for a while: the VIPs cannot be
    /// confirmed.
    KernelUnreachable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Owner => "address_owner",
            Reason::Startup => "startup",
            Reason::MasterDown => "master_down_timer",
            Reason::HigherPriority => "higher_priority_advert",
            Reason::Shutdown => "shutdown",
            Reason::Fault(FaultCause::LinkDown) => "link_down",
            Reason::Fault(FaultCause::Tracked) => "tracked_fault",
            Reason::Fault(FaultCause::VipAddFailed) => "vip_add_failed",
            Reason::Fault(FaultCause::SendFailed) => "advert_send_failed",
            Reason::Fault(FaultCause::KernelUnreachable) => "kernel_unreachable",
            Reason::Recovered => "recovered",
            Reason::Maintenance => "maintenance",
            Reason::MaintenanceOver => "maintenance_over",
            Reason::SyncGroup => "sync_group",
        }
    }
}

/// Why a received packet was dropped. Each has a stable counter name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    #[error(transparent)]
    Wire(#[from] RxError),
    /// RFC 3768 §7.1: a v2 advert's interval must equal ours.
    #[error("advert interval {got} cs differs from the configured {expected} cs (VRRPv2)")]
    IntervalMismatch { got: u16, expected: u16 },
    /// RFC 3768 §7.1: a v2 advert's auth type must match ours (none).
    #[error("authentication type {0} does not match the configured type 0")]
    AuthMismatch(u8),
    /// RFC 3768 §7.1 (VRRPv2): the address list differs and the sender is not the
    /// owner. (VRRPv3 accepts such an advert: [`Output::AddressMismatch`].)
    #[error("advert from {0} lists other virtual addresses than ours")]
    AddressMismatch(IpAddr),
    /// RFC 5798 §7.1: the address owner discards adverts.
    #[error("address owner (priority 255) ignores adverts")]
    Owner,
    /// One of our own adverts came back to us.
    #[error("own advert looped back")]
    Own,
    /// An IPv4 advert for an IPv6 instance or the other way round.
    #[error("advert of the other address family")]
    Family,
}

impl DropReason {
    /// The counter name.
    pub fn kind(&self) -> &'static str {
        match self {
            DropReason::Wire(e) => e.kind(),
            DropReason::IntervalMismatch { .. } => "interval_mismatch",
            DropReason::AuthMismatch(_) => "auth_mismatch",
            DropReason::AddressMismatch(_) => "address_mismatch",
            DropReason::Owner => "owner_ignores",
            DropReason::Own => "own_advert",
            DropReason::Family => "wrong_family",
        }
    }
}

/// Work for the driver, drained with [`crate::Router::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes as the VRRP payload from `Config::primary` to the VRRP group
    /// (IPv4 TTL / IPv6 hop limit 255). The checksum is already in place.
    SendAdvert {
        version: Version,
        priority: u8,
        bytes: Vec<u8>,
    },
    /// Add every VIP to the interface and answer with `Input::VipApplied { id, ok }`.
    /// A master sends no advert before that answer.
    AddVips { id: VipJobId },
    /// Remove every VIP from the interface (absent ones are fine) and answer with
    /// `Input::VipApplied { id, ok }`. The engine relies on no answer to a remove
    /// (it has stopped counting on the VIPs when it asks), but the driver still
    /// answers, so that every request has exactly one answer. After a planned
    /// handover (Shutdown or maintenance of a master) it comes only when the handover
    /// ends: the new master's advert was heard, or Master_Down_Interval passed.
    DelVips { id: VipJobId },
    /// Send `count` gratuitous ARPs / unsolicited NAs for every VIP now.
    Announce { count: u32 },
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    /// A packet was dropped (already counted).
    Dropped(DropReason),
    /// An advert listing other virtual addresses than ours was accepted (VRRPv3, or
    /// the address owner's in VRRPv2) and counted: the routers are configured
    /// differently, e.g. in the middle of a rolling change (RFC 5798 §7.1: "SHOULD log
    /// the event").
    AddressMismatch {
        from: IpAddr,
        addresses: Vec<IpAddr>,
    },
    /// A VRRPv3 advert over IPv4 checksummed in the other `form` than ours was
    /// accepted and counted (RFC 9568 §5.2.8): the sender may drop our adverts if it
    /// takes only its own form.
    OtherChecksumForm { from: IpAddr, form: V3Checksum },
    /// During a planned handover (see `Router` docs), the first advert of a new master
    /// (priority above 0) was heard from `from`, `after` the priority-0 advert: the
    /// handover is complete; the VIPs go [`crate::HANDOVER_GRACE`] later.
    NewMasterHeard {
        from: IpAddr,
        after: std::time::Duration,
    },
}
