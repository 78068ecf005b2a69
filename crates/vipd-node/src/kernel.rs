//! The kernel's view of the interfaces in use: reads of links and addresses (once a
//! second, after address events, and for status), the read under way and when the next
//! is due. Reconciliation with what they show is `reconcile`'s; link events are
//! `links`'; instance set-up is `setup`'s.
//!
//! Stale news is never taken for current: a read's VIPs count only if no VIP change of
//! that interface was asked for or finished since the read began, and none is under way
//! (the kernel may be half-way); a read's link state counts only if no link event was
//! handled since it began, and its addresses judge advert sources (and start waiting
//! instances) only if no address event that asked for a read came since it began. Each
//! such event asks for the next read, which then decides.

use std::collections::BTreeMap;

use vipd_engine::Instant;

use crate::io::ReadId;

/// How often links and addresses are read when nothing prompts it.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long an interface's addresses may go unread (every read failing) before its
/// masters hand over: they cannot confirm their VIPs.
pub const KERNEL_BLIND_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The read under way and when the next one is due.
#[derive(Debug)]
pub(crate) struct Reads {
    next_id: u64,
    /// The read under way: what the node knew when it began.
    in_flight: Option<InFlight>,
    /// Something asked for a read while one was under way: read again when it is back.
    again: bool,
    next_poll: Instant,
    /// Link events handled so far (counted by `links`).
    pub(crate) link_events: u64,
    /// Address events that asked for a read, so far (counted by `links`).
    pub(crate) addr_events: u64,
}

#[derive(Debug)]
pub(crate) struct InFlight {
    id: ReadId,
    /// Per interface: the VIP-change epoch when the read began.
    epochs: BTreeMap<String, u64>,
    link_events: u64,
    addr_events: u64,
}

impl Reads {
    pub fn new(now: Instant) -> Reads {
        Reads {
            next_id: 0,
            in_flight: None,
            again: false,
            next_poll: now,
            link_events: 0,
            addr_events: 0,
        }
    }

    /// When the next periodic read is due (none while stopping).
    pub fn next_poll(&self, stopping: bool) -> Option<Instant> {
        (!stopping && self.in_flight.is_none()).then_some(self.next_poll)
    }

    /// The id the next read will have: a status request waits for it.
    pub fn upcoming(&self) -> ReadId {
        ReadId(self.next_id + 1)
    }

    /// A read is under way: the next one follows it (true), else nothing (false).
    pub fn again_if_busy(&mut self) -> bool {
        if self.in_flight.is_some() {
            self.again = true;
        }
        self.in_flight.is_some()
    }

    /// A read begins at `now`, with each interface's VIP-change epoch: its id. The next
    /// periodic one is due [`POLL`] later.
    pub fn begin(&mut self, now: Instant, epochs: BTreeMap<String, u64>) -> ReadId {
        self.next_id += 1;
        let id = ReadId(self.next_id);
        self.in_flight = Some(InFlight {
            id,
            epochs,
            link_events: self.link_events,
            addr_events: self.addr_events,
        });
        self.again = false;
        self.next_poll = now + POLL;
        id
    }

    /// The read `id` is back: what was known when it began, if it is the one under way.
    pub fn finish(&mut self, id: ReadId) -> Option<InFlight> {
        self.in_flight.take_if(|f| f.id == id)
    }

    /// Something asked for a read while one was under way.
    pub fn wanted_again(&self) -> bool {
        self.again
    }

    /// Read again once the read under way is back.
    pub fn ask_again(&mut self) {
        self.again = true;
    }

    /// No link event was handled since `flight` began.
    pub fn link_current(&self, flight: &InFlight) -> bool {
        flight.link_events == self.link_events
    }

    /// No address event that asked for a read came since `flight` began.
    pub fn addrs_current(&self, flight: &InFlight) -> bool {
        flight.addr_events == self.addr_events
    }
}

impl InFlight {
    /// The VIP-change epoch of interface `name` when the read began.
    pub fn epoch(&self, name: &str) -> Option<u64> {
        self.epochs.get(name).copied()
    }
}
