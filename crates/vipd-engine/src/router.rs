//! The RFC 5798 §6.4 state machine for one virtual router, plus Fault and Stopped.
//!
//! # Planned handover (make-before-break)
//! RFC 5798 §6.4.3 has a master that shuts down send priority 0 and remove its VIPs at
//! once: the VIPs then belong to nobody until a backup's Skew_Time has run out and it
//! has added them, and clients lose that gap. vipd hands over make-before-break when it
//! leaves Master for a planned reason — Shutdown (SIGTERM, an instance reloaded away
//! or restarted) and maintenance: it sends priority 0 as the RFC says, but keeps its
//! VIPs (the kernel keeps answering for them) until a new master has taken over, that
//! is until an advert of nonzero priority from another router is heard — a new
//! master sends its first advert only once its VIPs are confirmed, together with its
//! gratuitous ARPs / NAs, which move the clients — and then [`HANDOVER_GRACE`] more,
//! so that the clients have processed those announcements before the old holder stops
//! answering (without it, a probe sent in the instant between the two was lost, seen
//! with IPv6 in the e2e tests). If none comes, the VIPs are removed
//! when the bound passes: Master_Down_Interval at priority 1 with our
//! Advertisement_Interval, counted from the priority-0 advert (longer than any
//! backup's Skew_Time, after which one takes over, and than any backup's
//! Master_Down_Timer should the priority-0 advert be lost). A link going down or a kernel
//! that stops answering (`Input::KernelReachable(false)`) ends the handover at once.
//!
//! A master whose tracked check fails (`Input::Tracked` with a fault: the service
//! behind the VIPs died) enters Fault, but the host and its link are healthy: when its
//! successor takes over at once (`Config::only_backup`, see "Successor") it hands over
//! the same way, since an address nobody holds drops a client's SYN, which its kernel
//! resends only after the 1 s initial RTO. When a successor may wait Skew_Time, keeping
//! the address would have the dead service refuse connections all that while, so the
//! VIPs go at once as before. Other faults (link down, kernel unreachable, VIP add or
//! advert send failures) remove the VIPs at once.
//!
//! # Successor (no Skew_Time when there is nobody to wait for)
//! RFC 5798 §6.4.2 has a backup that hears priority 0 wait Skew_Time, so that of
//! several backups the highest-priority one takes over first and the others hear it
//! before their own timers run out. A router that knows it is the only backup
//! (`Config::only_backup`: exactly two routers, declared or unicast with one peer) has
//! nobody to give way to and takes over on the priority-0 advert at once. So does a
//! router that was master until the leaving one outranked it, less than an
//! Advertisement_Interval before: a split brain healing as the higher master stops. It
//! stepped down with a last advert at its own priority, which ends the leaver's
//! handover; had it then waited Skew_Time (it need not be the only backup) the VIPs
//! were nobody's for that long (the model checker found ~394 ms with 1 s adverts).
//! Every other router keeps the RFC's Skew_Time; nothing new goes on the wire, so other
//! VRRP implementations see a plain RFC exchange.
//!
//! A master its sync group holds back (`Input::Hold`: another member of the group left
//! Master or cannot be master) is healthy too, and hands over the same way, with the
//! bound taken at priority 1 (the longest Master_Down_Interval at its interval): the new
//! master's group may wait for one of its members' full Master_Down_Interval.
//!
//! The invariant this changes: *never two holders of a VIP except during a planned
//! handover, and then for at most the bound (Master_Down_Interval at priority 1 from the handover's
//! start, plus the time to remove the VIPs)* — outside of partitions and the short
//! overlap while a split brain heals. The simulator's checker (vipd-sim `Lan`) knows
//! it in this form.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use vipd_wire::{Advert, Received, RxError, V2Auth, Version, MULTICAST_V4, MULTICAST_V6};

use crate::config::{Config, ConfigError};

/// How long a master handing over keeps its VIPs after the new master's first advert:
/// the clients' time to follow the announcements sent with it.
pub const HANDOVER_GRACE: Duration = Duration::from_millis(20);
use crate::io::{DropReason, FaultCause, Input, Output, Reason, VipJobId};
use crate::time::{centis, Instant};
use crate::timers::{master_down_interval, skew_time};

/// Failed advert sends after which a master gives up its VIPs: three missed adverts is
/// when backups declare it down (RFC 5798 §6.1). At most one failure is counted per
/// Advertisement_Interval (see `Router::advert_sent`), so these span three intervals.
const SEND_FAILURES_FOR_FAULT: u32 = 3;

/// Answers (an advert at once) a master gives one lower-priority sender within one
/// Advertisement_Interval; further adverts of that sender in the interval are only
/// counted (`answer_rate_limited`). A healing split brain needs two: the other
/// master's advert and its farewell when it yields.
const ANSWERS_PER_INTERVAL: u32 = 4;

/// Lower-priority senders a master keeps answer windows for at a time. A flood from
/// many (spoofed) sources gets at most this many times [`ANSWERS_PER_INTERVAL`]
/// answers per interval; a real second master that finds no free window is still
/// told by the next scheduled advert, within one interval.
const ANSWERED_SENDERS: usize = 4;

/// The longest wait in Fault before trying again after VIP or send failures.
const MAX_FAULT_RETRY: Duration = Duration::from_secs(300);

/// The state of a virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// RFC 5798 §6.4.1: waiting for Startup.
    Initialize,
    /// RFC 5798 §6.4.2.
    Backup,
    /// RFC 5798 §6.4.3.
    Master,
    /// Not taking part: link down, a tracked fault, or VIPs that could not be added.
    Fault,
    /// After Shutdown; a new Startup begins again.
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "initialize",
            State::Backup => "backup",
            State::Master => "master",
            State::Fault => "fault",
            State::Stopped => "stopped",
        }
    }
}

/// The one protocol timer that runs at a time (RFC 5798 §6.2: Master_Down_Timer in
/// Backup, Adver_Timer in Master), or the retry timer in Fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    MasterDown,
    Adver,
    FaultRetry,
}

/// A snapshot for status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    pub reason: Reason,
    pub since: Instant,
    pub transitions: u64,
    pub priority: u8,
    pub effective_priority: u8,
    /// The master as far as this router knows: itself when master, else the source
    /// and priority of the last accepted advert.
    pub master: Option<(IpAddr, u8)>,
    pub last_advert: Option<Instant>,
    /// Master_Adver_Interval: learned from the master's adverts (v3), our own
    /// Advertisement_Interval when master.
    pub master_adver_interval_cs: u16,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub drops: BTreeMap<&'static str, u64>,
    /// Accepted adverts that listed other virtual addresses than ours, if any.
    pub address_mismatch: Option<AddressMismatch>,
    /// Accepted VRRPv3 adverts over IPv4 checksummed in the other form than ours.
    pub other_checksum_form: u64,
    /// In maintenance: Backup and never taking over.
    pub maintenance: bool,
    /// A planned handover under way: VIPs kept until a new master is heard, or
    /// until this instant.
    pub handover_until: Option<Instant>,
    /// Held back by its sync group (`Input::Hold`): never entering Master.
    pub held: bool,
    /// Held, and would be master now (see `Router::ready`).
    pub ready: bool,
}

/// Accepted adverts whose address list differs from ours (see
/// [`Output::AddressMismatch`]): how many, and the last one's sender and list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMismatch {
    pub from: IpAddr,
    pub addresses: Vec<IpAddr>,
    pub count: u64,
    pub last: Instant,
}

/// Why [`Router::reconfigure`] cannot apply a configuration in place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconfigureError {
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// What identifies the virtual router on the wire changed: it has to leave and
    /// start again.
    #[error("{0} changed")]
    Identity(&'static str),
}

/// What belongs to one stint as master, from becoming master until leaving Master
/// for any state. A new one is made on entering Master and it is dropped on leaving
/// (see `Router::set_state`), so nothing of one stint can leak into the next.
#[derive(Debug)]
struct MasterStint {
    /// The VIP add asked for and not yet confirmed: only its answer counts.
    vips_pending: Option<VipJobId>,
    /// This stint has sent an advert at our own priority: other routers know us as
    /// master, so leaving must hand over with priority 0.
    advertised: bool,
    /// Next gratuitous ARP / NA burst.
    announce_at: Option<Instant>,
    /// Since when this stint's adverts have all been sent without error.
    healthy_since: Option<Instant>,
    /// Advert sends that failed in a row, at most one per Advertisement_Interval.
    send_failures: u32,
    /// When the last of `send_failures` was counted.
    failure_counted: Option<Instant>,
    /// When lower-priority masters were last answered with an announcement (the two
    /// newest: see `lower_priority_heard`).
    last_answers: [Option<Instant>; 2],
    /// Recent answers to lower-priority senders.
    answers: Answers,
}

impl MasterStint {
    /// A stint that has just asked for its VIPs with the add `vips`.
    fn new(vips: VipJobId) -> MasterStint {
        MasterStint {
            vips_pending: Some(vips),
            advertised: false,
            announce_at: None,
            healthy_since: None,
            send_failures: 0,
            failure_counted: None,
            last_answers: [None, None],
            answers: Answers::default(),
        }
    }
}

/// The answers a master gave lower-priority senders lately, so that a flood of
/// lower-priority adverts cannot make it a reflector (one advert out per advert in).
#[derive(Debug, Default)]
struct Answers {
    /// At most [`ANSWERED_SENDERS`] windows, one per sender.
    windows: Vec<AnswerWindow>,
}

/// One sender's answers within one Advertisement_Interval from `start`.
#[derive(Debug)]
struct AnswerWindow {
    sender: IpAddr,
    start: Instant,
    answers: u32,
}

impl Answers {
    /// Whether `sender` may be answered at `now` (counted if so): at most
    /// [`ANSWERS_PER_INTERVAL`] times in a window of `interval` opened by its first
    /// answer, and only while a window is free for it.
    fn allow(&mut self, now: Instant, sender: IpAddr, interval: Duration) -> bool {
        self.windows.retain(|w| now < w.start + interval);
        if let Some(w) = self.windows.iter_mut().find(|w| w.sender == sender) {
            if w.answers >= ANSWERS_PER_INTERVAL {
                return false;
            }
            w.answers += 1;
            return true;
        }
        if self.windows.len() >= ANSWERED_SENDERS {
            return false;
        }
        self.windows.push(AnswerWindow {
            sender,
            start: now,
            answers: 1,
        });
        true
    }
}

/// What keeps the router in Fault, and how long it waits after failures of its own.
#[derive(Debug)]
struct Faults {
    link_up: bool,
    /// A tracked object marked as a fault has failed.
    tracked: bool,
    /// The VIPs could not be added.
    vip_add_failed: bool,
    /// Adverts could not be sent several times in a row.
    send_failed: bool,
    /// The driver cannot read the interface's addresses.
    kernel_unreachable: bool,
    /// The next wait in Fault after a VIP or send failure. It backs off across
    /// stints, and starts again from `fault_retry` on Startup and once a master has
    /// been healthy for `fault_retry`.
    retry_wait: Duration,
}

impl Faults {
    fn new(fault_retry: Duration) -> Faults {
        Faults {
            link_up: true,
            tracked: false,
            vip_add_failed: false,
            send_failed: false,
            kernel_unreachable: false,
            retry_wait: fault_retry,
        }
    }

    /// The cause that holds, the most fundamental first.
    fn cause(&self) -> Option<FaultCause> {
        if !self.link_up {
            Some(FaultCause::LinkDown)
        } else if self.kernel_unreachable {
            Some(FaultCause::KernelUnreachable)
        } else if self.tracked {
            Some(FaultCause::Tracked)
        } else if self.vip_add_failed {
            Some(FaultCause::VipAddFailed)
        } else if self.send_failed {
            Some(FaultCause::SendFailed)
        } else {
            None
        }
    }

    /// Forgets the router's own failures (VIP add, advert sends) to try again; link
    /// and tracking are facts reported from outside and stay.
    fn forget_failures(&mut self) {
        self.vip_add_failed = false;
        self.send_failed = false;
    }

    /// The wait before trying again after a failure of our own. Backs off, so a host
    /// that keeps failing does not keep displacing a healthy master: `fault_retry`,
    /// doubling up to MAX_FAULT_RETRY (or `fault_retry` if that is longer).
    fn next_retry(&mut self, fault_retry: Duration) -> Duration {
        let wait = self.retry_wait;
        self.retry_wait = (wait * 2).min(MAX_FAULT_RETRY.max(fault_retry));
        wait
    }
}

/// Counts for status reports.
#[derive(Debug, Default)]
struct Counters {
    transitions: u64,
    adverts_sent: u64,
    adverts_received: u64,
    /// Dropped packets by counter name, and adverts of ours not sent: could not be
    /// written (`emit_failed`), or answers held back (`answer_rate_limited`).
    drops: BTreeMap<&'static str, u64>,
    address_mismatch: Option<AddressMismatch>,
    other_checksum_form: u64,
}

impl Counters {
    fn dropped(&mut self, kind: &'static str) {
        *self.drops.entry(kind).or_insert(0) += 1;
    }
}

/// The master a backup follows: the sender of the last advert it accepted as such.
#[derive(Debug, Clone, Copy)]
struct Followed {
    addr: IpAddr,
    priority: u8,
    heard: Instant,
}

/// A planned handover under way (see the module docs): the VIPs are kept until a new
/// master's advert is heard or `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handover {
    /// When the priority-0 advert went out.
    pub since: Instant,
    /// When the VIPs are removed even if no new master was heard.
    pub until: Instant,
    /// When the new master's first advert was heard, if it was.
    pub heard: Option<Instant>,
}

/// One VRRP virtual router.
#[derive(Debug)]
pub struct Router {
    cfg: Config,
    state: State,
    reason: Reason,
    since: Instant,
    /// RFC 5798 §6.1 Master_Adver_Interval (v3 learns it from the master).
    master_adver_interval_cs: u16,
    timer: Option<(Timer, Instant)>,
    /// Until then a lower-priority master is accepted although we preempt.
    preempt_hold_until: Option<Instant>,
    /// The sum of the weights of failed tracked objects.
    track_weight: i32,
    /// The master we follow, if any.
    master: Option<Followed>,
    /// The router we stepped down to as master (a split brain healing), and when: should
    /// it leave within an Advertisement_Interval, we take over at once ("Successor").
    yielded_to: Option<(IpAddr, Instant)>,
    /// When an advert was last accepted (from anyone).
    last_advert: Option<Instant>,
    /// Some exactly while in Master.
    stint: Option<MasterStint>,
    faults: Faults,
    counters: Counters,
    /// The last `VipJobId` handed out (0: none yet).
    last_vip_job: u64,
    /// A planned handover under way: the VIPs are still held.
    handover: Option<Handover>,
    /// In maintenance: never taking over.
    maintenance: bool,
    /// Held back by its sync group: never entering Master (`Input::Hold`).
    held: bool,
    /// Held, in Backup, and its Master_Down_Timer ran out (or it is the address
    /// owner): it would be master now. Cleared whenever the timer is set again and on
    /// leaving Backup.
    ready: bool,
    out: VecDeque<Output>,
}

impl Router {
    pub fn new(cfg: Config) -> Result<Router, ConfigError> {
        cfg.validate()?;
        Ok(Router {
            state: State::Initialize,
            reason: Reason::Startup,
            since: Instant::ZERO,
            master_adver_interval_cs: cfg.advert_interval_cs,
            timer: None,
            preempt_hold_until: None,
            track_weight: 0,
            master: None,
            yielded_to: None,
            last_advert: None,
            stint: None,
            faults: Faults::new(cfg.fault_retry),
            counters: Counters::default(),
            last_vip_job: 0,
            handover: None,
            maintenance: false,
            held: false,
            ready: false,
            out: VecDeque::new(),
            cfg,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Applies a changed configuration in place, without a state change: priority,
    /// advert interval, preemption, announcements, checksum form, fault retry. The
    /// new values hold from the next advert on, with the RFC's usual consequences (a
    /// master lowered below a preempting backup loses to it when that backup's
    /// Master_Down_Timer runs out). What identifies the virtual router — VRID, version,
    /// source address, the virtual addresses, being the address owner — cannot change
    /// in place, and nothing is applied then.
    pub fn reconfigure(&mut self, now: Instant, cfg: Config) -> Result<(), ReconfigureError> {
        cfg.validate()?;
        let old = &self.cfg;
        if cfg.vrid != old.vrid {
            return Err(ReconfigureError::Identity("the VRID"));
        }
        if cfg.version != old.version {
            return Err(ReconfigureError::Identity("the VRRP version"));
        }
        if cfg.primary != old.primary {
            return Err(ReconfigureError::Identity("the source address"));
        }
        if !same_set(&cfg.vips, &old.vips) {
            return Err(ReconfigureError::Identity("the virtual addresses"));
        }
        if (cfg.priority == 255) != (old.priority == 255) {
            return Err(ReconfigureError::Identity(
                "address ownership (priority 255)",
            ));
        }
        let announce_changed = cfg.announce != old.announce;
        let before = (self.effective_priority(), self.state, self.timer);
        if cfg.version == Version::V2 || self.master.is_none() {
            // RFC 3768: v2 intervals are configuration. v3 with no master heard yet:
            // as at start-up (§6.4.1), Master_Adver_Interval = Advertisement_Interval.
            self.master_adver_interval_cs = cfg.advert_interval_cs;
        }
        self.cfg = cfg;
        if self.state == State::Master {
            // The next advert is due within the new interval at the latest.
            if let Some((Timer::Adver, at)) = self.timer {
                self.timer = Some((Timer::Adver, at.min(now + self.advert_interval())));
            }
        }
        let refresh = self.cfg.announce.refresh;
        if let Some(stint) = self.stint.as_mut() {
            if announce_changed && stint.vips_pending.is_none() && !refresh.is_zero() {
                let next = now + refresh;
                stint.announce_at = Some(stint.announce_at.map_or(next, |at| at.min(next)));
            }
        }
        self.priority_changed(now, before);
        Ok(())
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The next output for the driver, in the order the engine decided them.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle(now, Input::Timeout)` is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.timer.map(|(_, at)| at);
        let announce = self.stint.as_ref().and_then(|s| s.announce_at);
        let handover = self.handover.map(|h| h.until);
        [t, announce, handover].into_iter().flatten().min()
    }

    /// The planned handover under way, if any: the VIPs are still held.
    pub fn handover(&self) -> Option<Handover> {
        self.handover
    }

    /// Whether the router is in maintenance (see `Input::Maintenance`).
    pub fn maintenance(&self) -> bool {
        self.maintenance
    }

    /// Whether the router's sync group holds it back (`Input::Hold`).
    pub fn held(&self) -> bool {
        self.held
    }

    /// Whether a held router would be master now: in Backup with its
    /// Master_Down_Timer run out (no master heard, or only lower-priority ones while it
    /// preempts), or the address owner. A sync group becomes master when every member
    /// is ready or master.
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// Priority used on the wire and in elections: configured ± tracked weights,
    /// kept within 1..=254 so weights can neither remove a router from elections nor
    /// make it look like the address owner. The owner (255) is not adjusted.
    pub fn effective_priority(&self) -> u8 {
        if self.cfg.priority == 255 {
            return 255;
        }
        let p = i64::from(self.cfg.priority) + i64::from(self.track_weight);
        p.clamp(1, 254) as u8
    }

    pub fn status(&self) -> Status {
        Status {
            state: self.state,
            reason: self.reason,
            since: self.since,
            transitions: self.counters.transitions,
            priority: self.cfg.priority,
            effective_priority: self.effective_priority(),
            master: match self.state {
                State::Master => Some((self.cfg.primary, self.effective_priority())),
                State::Backup => self.master.map(|m| (m.addr, m.priority)),
                _ => None,
            },
            last_advert: self.last_advert,
            master_adver_interval_cs: match self.state {
                State::Master => self.cfg.advert_interval_cs,
                _ => self.master_adver_interval_cs,
            },
            adverts_sent: self.counters.adverts_sent,
            adverts_received: self.counters.adverts_received,
            drops: self.counters.drops.clone(),
            address_mismatch: self.counters.address_mismatch.clone(),
            other_checksum_form: self.counters.other_checksum_form,
            maintenance: self.maintenance,
            handover_until: self.handover.map(|h| h.until),
            held: self.held,
            ready: self.ready,
        }
    }

    /// Feeds one event in. Outputs queue up for `poll_output`.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Startup => self.startup(now),
            Input::Shutdown => self.shutdown(now),
            Input::Maintenance(on) => self.set_maintenance(now, on),
            Input::Hold(on) => self.set_hold(now, on),
            Input::Timeout => self.timeout(now),
            Input::EndHandover => self.end_handover(),
            Input::Advert { src, received } => self.advert(now, src, received),
            Input::Rejected(e) => self.drop_packet(DropReason::Wire(e)),
            Input::LinkUp => {
                self.faults.link_up = true;
                self.reconsider_fault(now);
            }
            Input::LinkDown => {
                // The VIPs cannot serve anyone on a dead link: a handover ends now.
                self.end_handover();
                self.faults.link_up = false;
                self.reconsider_fault(now);
            }
            Input::KernelReachable(reachable) => {
                if !reachable {
                    // VIPs that cannot be confirmed are not kept for anyone: a
                    // handover ends now, as on a link going down.
                    self.end_handover();
                }
                self.faults.kernel_unreachable = !reachable;
                self.reconsider_fault(now);
            }
            Input::Tracked { weight, fault } => {
                let before = (self.effective_priority(), self.state, self.timer);
                self.track_weight = weight;
                self.faults.tracked = fault;
                self.reconsider_fault(now);
                self.priority_changed(now, before);
            }
            Input::VipApplied { id, ok } => self.vip_applied(now, id, ok),
            Input::AdvertSent { ok } => self.advert_sent(now, ok),
            Input::VipsPresent => {
                // During a planned handover the VIPs are kept on purpose.
                if self.state != State::Master && self.handover.is_none() {
                    self.del_vips();
                }
            }
            Input::VipsMissing => {
                // Never a master without its VIPs: add them again and re-announce
                // once they are back (or go to Fault if that fails).
                if let Some(stint) = self.stint.as_mut() {
                    if stint.vips_pending.is_none() {
                        let id = next_vip_job(&mut self.last_vip_job);
                        stint.vips_pending = Some(id);
                        stint.healthy_since = None;
                        self.out.push_back(Output::AddVips { id });
                    }
                }
            }
        }
    }

    /// The result of sending an advert. Only a master's sends count: the advert a
    /// router sends on its way out of Master is answered once that stint is over,
    /// and the next stint starts with a clean record.
    fn advert_sent(&mut self, now: Instant, ok: bool) {
        let interval = self.advert_interval();
        let Some(stint) = self.stint.as_mut() else {
            return;
        };
        if ok {
            stint.send_failures = 0;
            stint.failure_counted = None;
            if stint.advertised {
                // A master that has held its VIPs and advertised without an error for
                // fault_retry is healthy: the next fault starts the back-off afresh.
                // (One good advert is not enough: a host that fails every stint soon
                // after it starts must keep backing off, not displace the healthy
                // master again and again.)
                let since = *stint.healthy_since.get_or_insert(now);
                if now >= since + self.cfg.fault_retry {
                    self.faults.retry_wait = self.cfg.fault_retry;
                }
            }
        } else {
            stint.healthy_since = None;
            // One failure per Advertisement_Interval at most: what backups miss is
            // scheduled adverts, one per interval. Extra sends failing in between
            // (answers to a flood filling the send queue) must not fault a master
            // whose adverts are only briefly held up. Scheduled adverts keep to their
            // cadence but their answers come with the loop's jitter, so two of them
            // may be answered a little less than an interval apart: a failure counts
            // from three quarters of an interval after the last one counted.
            let spacing = interval - interval / 4;
            if stint.failure_counted.is_none_or(|t| now >= t + spacing) {
                stint.send_failures += 1;
                stint.failure_counted = Some(now);
            }
            // A master that cannot advertise must not keep the VIPs: the backups take
            // over after Master_Down_Interval regardless.
            if stint.send_failures >= SEND_FAILURES_FOR_FAULT {
                self.faults.send_failed = true;
                self.enter_fault(now, FaultCause::SendFailed);
            }
        }
    }

    // ---- transitions -------------------------------------------------------

    /// The one place the state changes. Leaving Master (for any state) ends the
    /// master stint; entering it needs one (see `become_master`).
    fn set_state(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.reason = reason;
        if to != State::Master {
            self.stint = None;
        }
        if to != State::Backup {
            self.ready = false;
            // Only a backup that has just stepped down takes over at once ("Successor").
            self.yielded_to = None;
        }
        debug_assert_eq!(self.stint.is_some(), to == State::Master);
        debug_assert!(!(self.held && to == State::Master));
        if from != to {
            self.since = now;
            self.counters.transitions += 1;
            self.out
                .push_back(Output::StateChanged { from, to, reason });
        }
    }

    /// Whether this router is master on the wire: master, and this stint has sent an
    /// advert at its own priority.
    fn advertised(&self) -> bool {
        self.stint.as_ref().is_some_and(|s| s.advertised)
    }

    /// RFC 5798 §6.4.1: on Startup the owner becomes master at once; anyone else
    /// becomes backup and waits Master_Down_Interval.
    fn startup(&mut self, now: Instant) {
        if !matches!(self.state, State::Initialize | State::Stopped) {
            return;
        }
        // VIPs left by an earlier run (a crash) are never trusted: start from none.
        // (A handover still under way ends with this removal too.)
        self.handover = None;
        self.del_vips();
        // A new start tries afresh; old add or send failures are not carried over.
        self.faults.forget_failures();
        self.faults.retry_wait = self.cfg.fault_retry;
        self.enter_active(now, Reason::Startup);
    }

    /// Enters Master (owner) or Backup, or Fault when a fault cause holds.
    fn enter_active(&mut self, now: Instant, reason: Reason) {
        if let Some(cause) = self.faults.cause() {
            self.enter_fault(now, cause);
            return;
        }
        if self.maintenance {
            // Backup without a Master_Down_Timer: it never takes over.
            self.master_adver_interval_cs = self.cfg.advert_interval_cs;
            self.master = None;
            self.timer = None;
            self.set_state(now, State::Backup, Reason::Maintenance);
            return;
        }
        if self.cfg.priority == 255 && self.held {
            // The owner would be master at once (§6.4.1), but its sync group holds it
            // back: Backup, ready, until the group releases it.
            self.timer = None;
            self.master = None;
            self.set_state(now, State::Backup, Reason::SyncGroup);
            self.ready = true;
        } else if self.cfg.priority == 255 {
            // §6.4.1: "If the Priority = 255 ... Send an ADVERTISEMENT ... transition to
            // {Master}".
            self.become_master(now, Reason::Owner);
        } else {
            // §6.4.1: "Set Master_Adver_Interval to Advertisement_Interval; Set the
            // Master_Down_Timer to Master_Down_Interval; Transition to {Backup}".
            self.master_adver_interval_cs = self.cfg.advert_interval_cs;
            self.master = None;
            self.preempt_hold_until = if self.cfg.preempt_delay.is_zero() {
                None
            } else {
                Some(now + self.cfg.preempt_delay)
            };
            self.become_backup_timer(now, self.master_down_interval());
            let reason = if reason == Reason::Recovered {
                reason
            } else {
                Reason::Startup
            };
            self.set_state(now, State::Backup, reason);
        }
    }

    /// Advertisement_Interval (RFC 5798 §6.1).
    fn advert_interval(&self) -> Duration {
        centis(u64::from(self.cfg.advert_interval_cs))
    }

    /// "Set/Reset the Adver_Timer to Advertisement_Interval" (§6.4.1–§6.4.3).
    fn arm_adver_timer(&mut self, now: Instant) {
        self.timer = Some((Timer::Adver, now + self.advert_interval()));
    }

    fn become_backup_timer(&mut self, now: Instant, wait: Duration) {
        // A timer set again means a master is heard (or awaited): not ready any more.
        self.ready = false;
        // In maintenance no Master_Down_Timer runs: the router never takes over.
        self.timer = if self.maintenance {
            None
        } else {
            Some((Timer::MasterDown, now + wait))
        };
    }

    /// §6.4.2 "If the Master_Down_Timer fires": send an advert, add the VIPs (then
    /// announce them once confirmed), start the Adver_Timer, become Master.
    ///
    /// vipd adds the VIPs first and sends the advert once they are confirmed
    /// (`vip_applied`): a router that cannot hold the VIPs then never makes the
    /// current master yield to it.
    fn become_master(&mut self, now: Instant, reason: Reason) {
        // A handover of ours still under way ends here: the VIPs stay, ours again.
        self.handover = None;
        let id = next_vip_job(&mut self.last_vip_job);
        self.out.push_back(Output::AddVips { id });
        self.stint = Some(MasterStint::new(id));
        self.arm_adver_timer(now);
        self.master = None;
        self.set_state(now, State::Master, reason);
    }

    /// Leaves Master for Backup after a better advert (§6.4.3).
    fn master_to_backup(&mut self, now: Instant, adv: &Advert, src: IpAddr) {
        // vipd extension: one last advert at our own priority, so that the winner
        // hears a lower priority and re-announces the VIPs at once (see
        // `lower_priority_heard`) even when its advert reached us first. Without it a
        // healed split brain can leave hosts' ARP caches pointing at us. It carries
        // the winner's interval, so backups that accept it (keepalived's do) learn
        // the interval of the router that really is master, not ours.
        // A master still waiting for its first VIP confirmation was never heard as
        // master and says nothing.
        if self.advertised() {
            self.send_advert_with(self.effective_priority(), adv.interval_cs);
        }
        self.del_vips();
        self.learn_master(now, adv, src);
        self.yielded_to = Some((src, now));
        self.become_backup_timer(now, self.master_down_interval());
        self.set_state(now, State::Backup, Reason::HigherPriority);
    }

    fn enter_fault(&mut self, now: Instant, cause: FaultCause) {
        if self.state == State::Master && cause == FaultCause::Tracked && self.cfg.only_backup {
            // A tracked check failed (the service behind the VIPs died) and the other
            // router, the only one, takes over on our priority-0 advert at once: the
            // host and its link are fine, so it hands over make-before-break as on a
            // planned stop. Removing the VIPs now would leave them to nobody until the
            // successor holds them, and a client's SYN sent then is dropped and resent
            // only after its 1 s initial RTO. Where a successor may wait Skew_Time
            // (several backups, or nobody knows), the VIPs go at once as before: the
            // dead service would refuse every connection for that long. (A link that
            // goes down or a kernel that stops answering ends the handover.)
            self.hand_over(now);
            self.enter_fault_state(now, cause);
            return;
        }
        // Only a master that has advertised itself hands over; one still waiting
        // for its first VIP confirmation was never heard as master.
        if self.advertised() && cause != FaultCause::LinkDown {
            // Hand over at once (as on Shutdown) rather than after Master_Down_Interval.
            self.send_advert(0);
        }
        if self.state == State::Master || cause == FaultCause::VipAddFailed {
            self.del_vips();
        }
        self.enter_fault_state(now, cause);
    }

    /// The timers and state of Fault for `cause`, the VIPs already dealt with.
    fn enter_fault_state(&mut self, now: Instant, cause: FaultCause) {
        self.master = None;
        self.timer = match cause {
            FaultCause::VipAddFailed | FaultCause::SendFailed => {
                let wait = self.faults.next_retry(self.cfg.fault_retry);
                Some((Timer::FaultRetry, now + wait))
            }
            FaultCause::LinkDown | FaultCause::Tracked | FaultCause::KernelUnreachable => None,
        };
        self.set_state(now, State::Fault, Reason::Fault(cause));
    }

    /// Moves into or out of Fault after a change of link, tracking or VIP result.
    fn reconsider_fault(&mut self, now: Instant) {
        match (self.state, self.faults.cause()) {
            (State::Initialize | State::Stopped, _) => {}
            (State::Fault, None) => self.enter_active(now, Reason::Recovered),
            (State::Fault, Some(cause)) => {
                // Keep the reason current (e.g. link back but tracking still failed).
                if self.reason != Reason::Fault(cause) {
                    self.reason = Reason::Fault(cause);
                }
            }
            (_, Some(cause)) => self.enter_fault(now, cause),
            (_, None) => {}
        }
    }

    /// §6.4.2 / §6.4.3 Shutdown: a master sends priority 0 and gives up its VIPs.
    fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Initialize | State::Stopped => return,
            State::Master => self.hand_over(now),
            State::Backup | State::Fault => {}
        }
        self.timer = None;
        self.master = None;
        self.set_state(now, State::Stopped, Reason::Shutdown);
    }

    /// A master leaves for a planned reason (Shutdown, maintenance). One others have
    /// heard as master sends priority 0 and keeps its VIPs until a new master is heard
    /// or Master_Down_Interval passes (make-before-break, see the module docs); one
    /// still waiting for its first VIP confirmation was never heard as master and
    /// removes them at once.
    fn hand_over(&mut self, now: Instant) {
        // The backups learned our Advertisement_Interval; any of them takes over within
        // its Skew_Time of our priority-0 advert. Should that advert be lost, a backup
        // takes over only when its Master_Down_Timer (RFC 5798 §6.4.2), counted from our
        // last regular advert, runs out: Master_Down_Interval at ITS priority, longer
        // than at ours. Bounded at priority 1, the keep outlasts every backup's timer
        // (the model checker found the gap a bound at our own priority left).
        self.hand_over_within(now, 1);
    }

    /// `hand_over`, keeping the VIPs for at most Master_Down_Interval at `priority`
    /// with our Advertisement_Interval.
    fn hand_over_within(&mut self, now: Instant, priority: u8) {
        if !self.advertised() {
            self.del_vips();
            return;
        }
        self.send_advert(0);
        let bound = master_down_interval(self.cfg.version, priority, self.cfg.advert_interval_cs);
        self.handover = Some(Handover {
            since: now,
            until: now + bound,
            heard: None,
        });
    }

    /// Ends a planned handover under way: the VIPs are removed now (`DelVips`)
    /// (`Input::EndHandover`, a link gone down, an unreachable kernel); nothing happens
    /// when no handover is under way.
    fn end_handover(&mut self) {
        if self.handover.take().is_some() {
            self.del_vips();
        }
    }

    /// `Input::Maintenance`.
    fn set_maintenance(&mut self, now: Instant, on: bool) {
        if on == self.maintenance {
            return;
        }
        self.maintenance = on;
        if on {
            match self.state {
                State::Master => {
                    self.hand_over(now);
                    self.timer = None;
                    self.master = None;
                    self.set_state(now, State::Backup, Reason::Maintenance);
                }
                State::Backup => {
                    self.timer = None;
                    // A sync-group member that was ready (its Master_Down_Timer ran
                    // out while its group held it) is ready no longer: maintenance
                    // means never taking over, not even when the group releases it.
                    self.ready = false;
                    self.reason = Reason::Maintenance;
                }
                // Fault keeps its cause and recovers into maintenance; Initialize
                // and Stopped start into it.
                State::Fault | State::Initialize | State::Stopped => {}
            }
            return;
        }
        if self.state == State::Backup {
            if self.cfg.priority == 255 && self.held {
                self.ready = true;
                self.reason = Reason::SyncGroup;
            } else if self.cfg.priority == 255 {
                self.become_master(now, Reason::Owner);
            } else {
                // As at Startup (§6.4.1): a master we follow keeps us backup, a
                // lower one is preempted when the timer runs out.
                self.become_backup_timer(now, self.master_down_interval());
                self.reason = Reason::MaintenanceOver;
            }
        }
    }

    /// `Input::Hold`: a sync group holds the router back, or releases it.
    fn set_hold(&mut self, now: Instant, on: bool) {
        if on == self.held {
            return;
        }
        self.held = on;
        if on {
            if self.state == State::Master {
                // A member of its group left Master (or cannot be master): this one
                // follows it to Backup. It is healthy, so it hands over as on a planned
                // departure — priority 0 and its VIPs kept until the new master is
                // heard (make-before-break) — and then follows that master; if none
                // comes, its Master_Down_Timer runs out and it is ready again.
                // The new master's group may have to wait for another member's full
                // Master_Down_Interval (counted from that member's last advert, before
                // now), so the VIPs are kept for the longest one at our interval: at
                // priority 1, 3 × interval + 255/256 × interval (RFC 5798 §6.1).
                self.hand_over_within(now, 1);
                self.master = None;
                self.master_adver_interval_cs = self.cfg.advert_interval_cs;
                if self.cfg.priority == 255 {
                    self.timer = None;
                    self.set_state(now, State::Backup, Reason::SyncGroup);
                    self.ready = !self.maintenance;
                } else {
                    self.become_backup_timer(now, self.master_down_interval());
                    self.set_state(now, State::Backup, Reason::SyncGroup);
                }
            }
            return;
        }
        self.ready_released(now);
    }

    /// Released by its group: a ready router becomes master now, as its
    /// Master_Down_Timer (or §6.4.1 for the owner) said it should.
    fn ready_released(&mut self, now: Instant) {
        if self.state == State::Backup && std::mem::take(&mut self.ready) && !self.maintenance {
            self.become_master(now, Reason::SyncGroup);
        }
    }

    /// The answer to a VIP change. Only the add this master waits for counts; an
    /// answer to an older add, to a remove or with an unknown id is stale.
    fn vip_applied(&mut self, now: Instant, id: VipJobId, ok: bool) {
        let Some(stint) = self.stint.as_mut() else {
            return;
        };
        if stint.vips_pending != Some(id) {
            return;
        }
        if ok {
            stint.vips_pending = None;
            // §6.4.2 "Send an ADVERTISEMENT; Broadcast a gratuitous ARP request ..." /
            // "... send an Unsolicited ND Neighbor Advertisement" — once the addresses
            // are really there.
            self.send_advert(self.effective_priority());
            // §6.4.1/§6.4.2 "Set the Adver_Timer to Advertisement_Interval" — counted
            // from this first advert, not from the VIP request.
            self.arm_adver_timer(now);
            self.announce(now, true);
        } else {
            // Never a master without its VIPs.
            self.faults.vip_add_failed = true;
            self.enter_fault(now, FaultCause::VipAddFailed);
        }
    }

    /// Sends a burst now and schedules the next one.
    fn announce(&mut self, now: Instant, first: bool) {
        let a = self.cfg.announce;
        self.out.push_back(Output::Announce { count: a.count });
        let next = if first && !a.repeat_after.is_zero() {
            Some(a.repeat_after)
        } else if !a.refresh.is_zero() {
            Some(a.refresh)
        } else {
            None
        };
        if let Some(stint) = self.stint.as_mut() {
            stint.announce_at = next.map(|d| now + d);
        }
    }

    // ---- timers --------------------------------------------------------------

    fn timeout(&mut self, now: Instant) {
        if self.handover.is_some_and(|h| now >= h.until) {
            // No new master heard within the bound: the VIPs go anyway.
            self.end_handover();
        }
        if let Some(stint) = self.stint.as_mut() {
            if stint.announce_at.is_some_and(|at| now >= at) {
                if stint.vips_pending.is_none() {
                    self.announce(now, false);
                } else {
                    // VIPs are being re-added; their confirmation schedules anew.
                    stint.announce_at = None;
                }
            }
        }
        let Some((timer, at)) = self.timer else {
            return;
        };
        if now < at {
            return;
        }
        self.timer = None;
        match (timer, self.state) {
            (Timer::MasterDown, State::Backup) if self.held => {
                // §6.4.2 "If the Master_Down_Timer fires" — but the sync group holds
                // the router back: it waits, ready, for every member to be ready.
                self.ready = true;
                self.reason = Reason::SyncGroup;
            }
            (Timer::MasterDown, State::Backup) => self.become_master(now, Reason::MasterDown),
            (Timer::Adver, State::Master) => {
                // §6.4.3 "If the Adver_Timer fires": send an advert, reset the timer.
                // Not before the first VIP confirmation (see `become_master`); a
                // master re-adding VIPs it lost keeps advertising meanwhile.
                let stint = self.stint.as_ref();
                if stint.is_some_and(|s| s.advertised || s.vips_pending.is_none()) {
                    self.send_advert(self.effective_priority());
                }
                // Reset from when the timer was due, not from when the driver got round
                // to it: a driver that wakes a little late every time (timer
                // granularity, scheduling) would otherwise stretch every interval by
                // its lateness (10 ms adverts went out every 11.1 ms). A driver so late
                // that the next one is due already starts afresh from now (no burst).
                let next = at + self.advert_interval();
                self.timer = Some((
                    Timer::Adver,
                    if next > now {
                        next
                    } else {
                        now + self.advert_interval()
                    },
                ));
            }
            (Timer::FaultRetry, State::Fault) => {
                self.faults.forget_failures();
                self.reconsider_fault(now);
            }
            _ => {}
        }
    }

    /// RFC 5798 §6.4.2 with §6.1: a Backup's Master_Down_Interval depends on its
    /// priority through Skew_Time, so when the effective priority changes (`before`:
    /// the priority, state and timer before the change) a running Master_Down_Timer
    /// moves by the change of Skew_Time: it runs out when it would have, had it been
    /// set with the new priority (at once if that moment has passed). A timer set anew
    /// meanwhile (Fault left for Backup) already used the new priority.
    fn priority_changed(&mut self, now: Instant, before: (u8, State, Option<(Timer, Instant)>)) {
        let (old_priority, old_state, old_timer) = before;
        let new_priority = self.effective_priority();
        if new_priority == old_priority
            || old_state != State::Backup
            || self.state != State::Backup
            || self.timer != old_timer
        {
            return;
        }
        let Some((Timer::MasterDown, at)) = self.timer else {
            return;
        };
        let skew = |p| skew_time(self.cfg.version, p, self.master_adver_interval_cs);
        let (old_skew, new_skew) = (skew(old_priority), skew(new_priority));
        let moved = if new_skew >= old_skew {
            at + (new_skew - old_skew)
        } else {
            // Earlier, but never before now.
            let earlier = old_skew - new_skew;
            if at.saturating_since(now) > earlier {
                now + (at.saturating_since(now) - earlier)
            } else {
                now
            }
        };
        self.timer = Some((Timer::MasterDown, moved));
    }

    /// Master_Down_Interval as this router counts it now (RFC 5798 §6.1: its
    /// effective priority, Master_Adver_Interval as learned).
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.effective_priority(),
            self.master_adver_interval_cs,
        )
    }

    // ---- receive -------------------------------------------------------------

    fn drop_packet(&mut self, reason: DropReason) {
        self.counters.dropped(reason.kind());
        self.out.push_back(Output::Dropped(reason));
    }

    /// An advert as the codec decoded it (RFC 5798 §7.1's TTL, version, length, checksum
    /// and VRID checks are made there, against [`Config::rx_check`]).
    fn advert(&mut self, now: Instant, src: IpAddr, received: Result<Received, RxError>) {
        if src.is_ipv6() != self.cfg.primary.is_ipv6() {
            self.drop_packet(DropReason::Family);
            return;
        }
        let Received {
            advert: adv,
            checksum: form,
        } = match received {
            Ok(r) => r,
            Err(e) => return self.drop_packet(DropReason::Wire(e)),
        };
        if src == self.cfg.primary {
            return self.drop_packet(DropReason::Own);
        }
        if self.cfg.version == Version::V2 {
            // RFC 3768 §7.1: "MUST verify that the Auth Type matches".
            if adv.auth.auth_type != 0 {
                return self.drop_packet(DropReason::AuthMismatch(adv.auth.auth_type));
            }
            // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the
            // same as the locally configured for this virtual router".
            if adv.interval_cs != self.cfg.advert_interval_cs {
                return self.drop_packet(DropReason::IntervalMismatch {
                    got: adv.interval_cs,
                    expected: self.cfg.advert_interval_cs,
                });
            }
        }
        // RFC 5798 §7.1: "MUST verify that ... the local router is not the IPvX address
        // owner (Priority = 255 (decimal))".
        if self.cfg.priority == 255 {
            self.drop_packet(DropReason::Owner);
            // The owner is master for good, yet a lower-priority master means a split
            // brain is healing: answer and re-announce like any other master would.
            if self.state == State::Master && adv.priority < 255 {
                self.lower_priority_heard(now, src);
            }
            return;
        }
        // RFC 5798 §7.1: "MAY verify that the IPvX address(es) associated with the VRID
        // are identical to the list in the VRRP packet. If the above check fails, the
        // receiver SHOULD log the event". vipd checks (as sets) and reports it.
        if !same_set(&adv.addresses, &self.cfg.vips) {
            // RFC 3768 §7.1 (VRRPv2) goes on: "If the packet was not generated by the
            // address owner (Priority does not equal 255 (decimal)), the receiver MUST
            // drop the packet". RFC 5798 dropped that rule: a VRRPv3 advert takes part
            // in the election whatever it lists (as with keepalived 2.3.3 and later),
            // so routers midway through a change of the list elect one master.
            if self.cfg.version == Version::V2 && adv.priority != 255 {
                return self.drop_packet(DropReason::AddressMismatch(src));
            }
            self.address_mismatch(now, src, &adv.addresses);
        }
        // RFC 9568 §5.2.8: either checksum form is received (see `Advert::receive`),
        // but a router that takes only its own form drops ours: worth reporting.
        if let Some(form) = form.filter(|f| *f != self.cfg.checksum) {
            self.counters.other_checksum_form += 1;
            self.out
                .push_back(Output::OtherChecksumForm { from: src, form });
        }
        self.counters.adverts_received += 1;
        self.last_advert = Some(now);
        if adv.priority > 0 {
            // A router advertising at a real priority is master and holds the VIPs
            // (it advertises only once they are confirmed), and it announces them in
            // the same moment: a planned handover is complete once the clients had
            // HANDOVER_GRACE to follow those announcements.
            if let Some(h) = self.handover.as_mut() {
                h.until = h.until.min(now + HANDOVER_GRACE);
                if h.heard.is_none() {
                    h.heard = Some(now);
                    self.out.push_back(Output::NewMasterHeard {
                        from: src,
                        after: now.saturating_since(h.since),
                    });
                }
            }
        }
        match self.state {
            State::Backup => self.backup_rx(now, &adv, src),
            State::Master => self.master_rx(now, &adv, src),
            // Initialize, Fault, Stopped: not taking part; counted only.
            _ => {}
        }
    }

    /// Counts an accepted advert from `src` that lists `addresses`, not ours.
    fn address_mismatch(&mut self, now: Instant, src: IpAddr, addresses: &[IpAddr]) {
        let m = self
            .counters
            .address_mismatch
            .get_or_insert_with(|| AddressMismatch {
                from: src,
                addresses: Vec::new(),
                count: 0,
                last: now,
            });
        m.count += 1;
        m.last = now;
        if m.from != src || m.addresses != addresses {
            m.from = src;
            m.addresses = addresses.to_vec();
        }
        self.out.push_back(Output::AddressMismatch {
            from: src,
            addresses: addresses.to_vec(),
        });
    }

    fn learn_master(&mut self, now: Instant, adv: &Advert, src: IpAddr) {
        // RFC 5798 §6.4.2: "Set Master_Adver_Interval to Adver Interval contained in the
        // ADVERTISEMENT". VRRPv2 intervals are fixed by configuration (RFC 3768 §7.1).
        if self.cfg.version == Version::V3 {
            self.master_adver_interval_cs = adv.interval_cs.max(1);
        }
        self.master = Some(Followed {
            addr: src,
            priority: adv.priority,
            heard: now,
        });
    }

    /// The master we follow (address, priority), if it was heard within the last
    /// Master_Down_Interval.
    fn live_master(&self, now: Instant) -> Option<(IpAddr, u8)> {
        self.master
            .filter(|m| now < m.heard + self.master_down_interval())
            .map(|m| (m.addr, m.priority))
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received".
    fn backup_rx(&mut self, now: Instant, adv: &Advert, src: IpAddr) {
        if adv.priority == 0 {
            // vipd deviation from §6.4.2: a priority 0 from a router other than the
            // master we follow and still hear (a second master leaving after a split
            // brain) is ignored: taking over at Skew_Time would displace a live master.
            if self.live_master(now).is_some_and(|(m, _)| m != src) {
                return;
            }
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time". Skew_Time (§6.1) only lets the
            // highest of several backups go first; the only backup there is
            // (`Config::only_backup`, see "Successor" in the module docs) waits for
            // nobody and takes over now.
            // A master a moment ago, outranked by the router now leaving, is its
            // successor too (see "Successor"): within one Advertisement_Interval of
            // stepping down, room for the round trip that race takes, and no longer,
            // so that a better backup waiting its Skew_Time is not jumped later on.
            let stepped_down_to_it = self
                .yielded_to
                .is_some_and(|(r, at)| r == src && now < at + self.advert_interval());
            let skew = if self.cfg.only_backup || stepped_down_to_it {
                Duration::ZERO
            } else {
                skew_time(
                    self.cfg.version,
                    self.effective_priority(),
                    self.master_adver_interval_cs,
                )
            };
            self.master = None;
            self.become_backup_timer(now, skew);
            return;
        }
        let mine = self.effective_priority();
        let held = self.preempt_hold_until.is_some_and(|until| now < until);
        if !self.cfg.preempt || adv.priority >= mine || held {
            // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is
            // greater than or equal to the local Priority, then: Set
            // Master_Adver_Interval ...; Recompute the Master_Down_Interval; Reset the
            // Master_Down_Timer to Master_Down_Interval".
            //
            // vipd refinement: an advert that ranks below the master we follow (a
            // second master during a heal, or one stepping down) proves a router is
            // alive but does not replace that master: its interval is not learned and
            // it may only push the timer later, never earlier. Otherwise a short
            // interval learned from a losing router makes the backups' timers run out
            // between the real master's adverts, and they take turns as master.
            // Once the followed master has been silent for a Master_Down_Interval it is
            // gone, and the next advert that would win is learned as usual.
            if let Some((m, p)) = self.live_master(now) {
                let below = adv.priority < p || (adv.priority == p && addr_gt(m, src));
                if src != m && below {
                    // Later by the longer of the two intervals: a live router with a
                    // long interval must not be taken over between its adverts.
                    let theirs = master_down_interval(
                        self.cfg.version,
                        self.effective_priority(),
                        adv.interval_cs.max(1),
                    );
                    let at = now + self.master_down_interval().max(theirs);
                    if let Some((Timer::MasterDown, t)) = self.timer {
                        if at > t {
                            self.timer = Some((Timer::MasterDown, at));
                        }
                    }
                    return;
                }
            }
            self.learn_master(now, adv, src);
            self.become_backup_timer(now, self.master_down_interval());
        }
        // "else (Priority in the ADVERTISEMENT is less than the local Priority and
        // Preempt_Mode is True): Discard the ADVERTISEMENT" — the Master_Down_Timer
        // then runs out and we take over.
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received".
    fn master_rx(&mut self, now: Instant, adv: &Advert, src: IpAddr) {
        let mine = self.effective_priority();
        if adv.priority == 0 {
            // "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT;
            // Reset the Adver_Timer to Advertisement_Interval". Another router was
            // master too and is leaving: re-announce so no host keeps its MAC.
            self.lower_priority_heard(now, src);
            return;
        }
        let higher =
            adv.priority > mine || (adv.priority == mine && addr_gt(src, self.cfg.primary));
        if higher {
            // "If the Priority in the ADVERTISEMENT is greater than the local Priority,
            // or ... equal ... and the primary IPvX Address of the sender is greater than
            // the local primary IPvX Address, then: Cancel Adver_Timer; Set
            // Master_Adver_Interval ...; Recompute ...; Set Master_Down_Timer ...;
            // Transition to the {Backup} state".
            self.master_to_backup(now, adv, src);
        } else {
            // "Otherwise ... Discard the ADVERTISEMENT". vipd goes further: a lower
            // priority master means a split brain is healing, so answer at once and
            // re-announce, and every host's ARP/ND cache points here within one
            // round trip instead of one advert interval or an ARP timeout.
            self.lower_priority_heard(now, src);
        }
    }

    /// A master heard a lower-priority master (or one leaving with priority 0) at
    /// `src`.
    fn lower_priority_heard(&mut self, now: Instant, src: IpAddr) {
        let interval = self.advert_interval();
        let Some(stint) = self.stint.as_mut() else {
            return;
        };
        let pending = stint.vips_pending.is_some();
        if pending && !stint.advertised {
            // Not master on the wire yet: the first advert follows the VIPs.
            return;
        }
        // vipd hardening (also of the §6.4.3 priority-0 answer): a few answers per
        // sender and Advertisement_Interval. The scheduled adverts go on regardless,
        // so a real second master hears us within one interval all the same.
        if !stint.answers.allow(now, src, interval) {
            self.counters.dropped("answer_rate_limited");
            return;
        }
        self.send_advert(self.effective_priority());
        self.arm_adver_timer(now);
        if let Some(stint) = self.stint.as_mut() {
            // At most two re-announcements per Advertisement_Interval: a one-way
            // partition delivers the other master's adverts again and again. Two, not
            // one: a router that has just become master sends its advert and then its
            // own gratuitous ARPs; our answer to the advert can reach the hosts before
            // those, and then its farewell advert (sent as it steps down, after them:
            // see `master_to_backup`) is what must make us announce once more, or hosts'
            // ARP caches keep pointing at the router that no longer has the VIP until
            // our next scheduled burst (the soak test saw 1.87 s without a reply).
            let recent = stint
                .last_answers
                .iter()
                .filter(|t| t.is_some_and(|t| now < t + interval))
                .count();
            if !pending && recent < 2 {
                stint.last_answers = [stint.last_answers[1], Some(now)];
                self.out.push_back(Output::Announce {
                    count: self.cfg.announce.count,
                });
            }
        }
    }

    // ---- VIP changes -----------------------------------------------------------

    /// Asks for every VIP to be removed.
    fn del_vips(&mut self) {
        let id = next_vip_job(&mut self.last_vip_job);
        self.out.push_back(Output::DelVips { id });
    }

    // ---- send ----------------------------------------------------------------

    /// RFC 5798 §5.1/§5.2 (RFC 3768 §5.1/§5.3 for v2): builds and queues an advert.
    fn send_advert(&mut self, priority: u8) {
        self.send_advert_with(priority, self.cfg.advert_interval_cs);
    }

    fn send_advert_with(&mut self, priority: u8, interval_cs: u16) {
        let adv = Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval_cs,
            addresses: self.cfg.vips.clone(),
            auth: V2Auth::default(),
        };
        let dst = if self.cfg.primary.is_ipv6() {
            IpAddr::V6(MULTICAST_V6)
        } else {
            IpAddr::V4(MULTICAST_V4)
        };
        // `Config::validate` guarantees the advert can be written; an error here would
        // be a bug, so it is dropped with a counter rather than a panic.
        match adv.emit(self.cfg.primary, dst, self.cfg.checksum) {
            Ok(bytes) => {
                self.counters.adverts_sent += 1;
                if let Some(stint) = self.stint.as_mut().filter(|_| priority != 0) {
                    stint.advertised = true;
                }
                self.out.push_back(Output::SendAdvert {
                    version: self.cfg.version,
                    priority,
                    bytes,
                });
            }
            Err(_) => self.counters.dropped("emit_failed"),
        }
    }
}

/// The next id for a VIP change after `last`: 1, 2, 3, ... (see [`VipJobId`]).
fn next_vip_job(last: &mut u64) -> VipJobId {
    *last += 1;
    VipJobId(*last)
}

/// RFC 5798 §6.4.3: primary addresses compare as unsigned integers in network order.
fn addr_gt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}

fn same_set(a: &[IpAddr], b: &[IpAddr]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}
