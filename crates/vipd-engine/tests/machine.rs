//! Single-router transition tests driven by hand-made packets.
//!
//! The router under test is 192.0.2.2 (VRID 51, VIP 192.0.2.100); peers are 192.0.2.1
//! (lower address) and 192.0.2.3 (higher address). Expected instants are worked out
//! by hand from RFC 5798 §6.1 in the comments, never by calling the engine's timer
//! functions.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use vipd_engine::{
    Config, FaultCause, Input, Instant, Output, Reason, Router, State, V3Checksum, Version,
    VipJobId,
};
use vipd_wire::{Advert, RxError, V2Auth, MULTICAST_V4};

const VRID: u8 = 51;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn vip() -> IpAddr {
    ip(100)
}

fn group() -> IpAddr {
    IpAddr::V4(MULTICAST_V4)
}

fn ns(n: u64) -> Instant {
    Instant::from_nanos(n)
}

fn secs(s: u64) -> Instant {
    Instant::from_nanos(s * 1_000_000_000)
}

fn cfg(priority: u8, interval_cs: u16) -> Config {
    Config::v3(VRID, priority, interval_cs, ip(2), vec![vip()])
}

fn v2cfg(priority: u8, interval_cs: u16) -> Config {
    Config {
        version: Version::V2,
        ..cfg(priority, interval_cs)
    }
}

fn bytes(version: Version, from: u8, priority: u8, interval_cs: u16) -> Vec<u8> {
    Advert {
        version,
        vrid: VRID,
        priority,
        interval_cs,
        addresses: vec![vip()],
        auth: V2Auth::default(),
    }
    .emit(ip(from), group(), V3Checksum::PseudoHeader)
    .expect("emit")
}

fn v3(from: u8, priority: u8, interval_cs: u16) -> Vec<u8> {
    bytes(Version::V3, from, priority, interval_cs)
}

/// Every advert among `outputs`, decoded from its bytes.
fn sent_adverts(outputs: &[Output]) -> Vec<Advert> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendAdvert { bytes, .. } => {
                Some(Advert::parse(bytes, false).expect("own advert parses"))
            }
            _ => None,
        })
        .collect()
}

/// `Input::Tracked` with these values.
fn tracked(r: &mut Router, now: Instant, weight: i32, fault: bool) {
    r.handle(now, Input::Tracked { weight, fault });
}

fn rx(r: &mut Router, now: Instant, from: u8, bytes: &[u8]) {
    let input = received(r, ip(from), group(), 255, bytes);
    r.handle(now, input);
}

/// What a driver makes of a VRRP message from `src` to `dst` that arrived with `ttl`:
/// decoded by the codec against what the router expects, the advert or why it was
/// refused.
fn received(r: &Router, src: IpAddr, dst: IpAddr, ttl: u8, bytes: &[u8]) -> Input {
    let received = Advert::receive(bytes, &r.config().rx_check(src, dst, ttl));
    Input::Advert { src, received }
}

/// The router under test, driven as a driver would: outputs it produced that the test
/// has not looked at yet wait here, so that the newest `AddVips` can be answered with
/// its id without the test losing sight of any output.
struct Rig {
    router: Router,
    unread: VecDeque<Output>,
    newest_add: Option<VipJobId>,
}

impl Deref for Rig {
    type Target = Router;
    fn deref(&self) -> &Router {
        &self.router
    }
}

impl DerefMut for Rig {
    fn deref_mut(&mut self) -> &mut Router {
        &mut self.router
    }
}

impl Rig {
    fn fetch(&mut self) {
        while let Some(o) = self.router.poll_output() {
            if let Output::AddVips { id } = o {
                self.newest_add = Some(id);
            }
            self.unread.push_back(o);
        }
    }

    /// Answers the newest `AddVips` the router asked for so far (whether or not it
    /// still waits for it) with `ok`.
    fn vips_applied(&mut self, now: Instant, ok: bool) {
        self.fetch();
        let id = self.newest_add.expect("an AddVips to answer");
        self.router.handle(now, Input::VipApplied { id, ok });
    }

    /// A timer fires at `t` (a Master_Down_Timer: the router takes over) and the VIP
    /// add this asks for is answered at once with `ok`.
    fn timeout_and_vips(&mut self, t: Instant, ok: bool) {
        self.router.handle(t, Input::Timeout);
        self.vips_applied(t, ok);
    }
}

fn rig(c: Config) -> Rig {
    Rig {
        router: Router::new(c).expect("valid config"),
        unread: VecDeque::new(),
        newest_add: None,
    }
}

fn drain(r: &mut Rig) -> Vec<Output> {
    r.fetch();
    r.unread.drain(..).collect()
}

/// Outputs with the advert bytes reduced to their priority, for easy comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Advert(u8),
    Add,
    Del,
    Announce(u32),
    State(State, State, Reason),
    Dropped(&'static str),
    /// An advert listing other addresses accepted, from this sender.
    Mismatch(IpAddr),
    /// A v3 advert checksummed in the other form accepted, from this sender.
    OtherForm(IpAddr),
    /// During a planned handover, the new master was heard: this one.
    NewMasterHeard(IpAddr),
}

/// A backup's Master_Down_Timer fired: VIPs asked for, Master.
fn took_over() -> Vec<Out> {
    vec![
        Out::Add,
        Out::State(State::Backup, State::Master, Reason::MasterDown),
    ]
}

/// A master leaves for Fault without a priority-0 advert (it never advertised, or
/// its link is down): VIPs dropped, Fault.
fn silent_fault(cause: FaultCause) -> Vec<Out> {
    vec![
        Out::Del,
        Out::State(State::Master, State::Fault, Reason::Fault(cause)),
    ]
}

/// A master that never advertised could not add its VIPs.
fn add_failed() -> Vec<Out> {
    silent_fault(FaultCause::VipAddFailed)
}

/// A master others know as master leaves for Fault: it hands over with a priority-0
/// advert, drops its VIPs, Fault.
fn handover_fault(cause: FaultCause) -> Vec<Out> {
    vec![
        Out::Advert(0),
        Out::Del,
        Out::State(State::Master, State::Fault, Reason::Fault(cause)),
    ]
}

/// Every fault cause has cleared: back to Backup.
fn recovered() -> Vec<Out> {
    vec![Out::State(State::Fault, State::Backup, Reason::Recovered)]
}

fn outs(r: &mut Rig) -> Vec<Out> {
    drain(r)
        .into_iter()
        .map(|o| match o {
            Output::SendAdvert {
                priority, bytes, ..
            } => {
                let parsed = Advert::parse(&bytes, false).expect("own advert parses");
                assert_eq!(parsed.priority, priority, "bytes carry the priority");
                Out::Advert(priority)
            }
            Output::AddVips { .. } => Out::Add,
            Output::DelVips { .. } => Out::Del,
            Output::Announce { count } => Out::Announce(count),
            Output::StateChanged { from, to, reason } => Out::State(from, to, reason),
            Output::Dropped(d) => Out::Dropped(d.kind()),
            Output::AddressMismatch { from, .. } => Out::Mismatch(from),
            Output::OtherChecksumForm { from, .. } => Out::OtherForm(from),
            Output::NewMasterHeard { from, .. } => Out::NewMasterHeard(from),
        })
        .collect()
}

/// Started at 0 and drained.
fn backup(c: Config) -> Rig {
    let mut r = rig(c);
    r.handle(Instant::ZERO, Input::Startup);
    drain(&mut r);
    r
}

/// Started at 0, its Master_Down_Timer fired at `t`: master with its VIPs asked for
/// and not confirmed yet. The takeover's outputs are not drained.
fn master_pending(c: Config, t: Instant) -> Rig {
    let mut r = backup(c);
    r.handle(t, Input::Timeout);
    r
}

/// Started at 0, master at its Master_Down_Interval with its VIPs applied, drained.
fn master(c: Config) -> (Rig, Instant) {
    let mut r = backup(c);
    let t = r.poll_timeout().expect("master down timer");
    r.timeout_and_vips(t, true);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    (r, t)
}

// ---- startup ------------------------------------------------------------------------------

#[test]
fn startup_emits_delvips_first_then_backup_with_master_down_interval() {
    let mut r = rig(cfg(100, 100));
    assert_eq!(r.state(), State::Initialize);
    assert_eq!(r.poll_timeout(), None);
    r.handle(secs(5), Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Initialize, State::Backup, Reason::Startup)
        ]
    );
    // 5 s + 3 * 100 cs + 156 * 100 / 256 cs = 5 + 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(8_609_375_000)));
    // A second Startup while running is ignored.
    r.handle(secs(6), Input::Startup);
    assert!(outs(&mut r).is_empty());
}

#[test]
fn owner_startup_is_master_at_once_after_deleting_leftovers() {
    let mut r = rig(cfg(255, 100));
    r.handle(secs(1), Input::Startup);
    // No advert yet: the VIPs are added first.
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::Add,
            Out::State(State::Initialize, State::Master, Reason::Owner)
        ]
    );
    // Adver_Timer started at the transition: 1 s + 100 cs.
    assert_eq!(r.poll_timeout(), Some(secs(2)));
    // The first advert and the announcement once the VIPs are confirmed.
    r.vips_applied(secs(1), true);
    assert_eq!(outs(&mut r), vec![Out::Advert(255), Out::Announce(3)]);
    // Confirming did not move the Adver_Timer: still 1 s + 100 cs.
    assert_eq!(r.poll_timeout(), Some(secs(2)));
}

#[test]
fn startup_with_link_down_goes_to_fault() {
    let mut r = rig(cfg(100, 100));
    r.handle(Instant::ZERO, Input::LinkDown);
    assert!(outs(&mut r).is_empty());
    r.handle(secs(1), Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(
                State::Initialize,
                State::Fault,
                Reason::Fault(FaultCause::LinkDown)
            )
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    r.handle(secs(2), Input::LinkUp);
    assert_eq!(outs(&mut r), recovered());
    // 2 + 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(5_609_375_000)));
}

// ---- backup ------------------------------------------------------------------------------

#[test]
fn backup_priority_zero_sets_timer_to_now_plus_skew() {
    let mut r = backup(cfg(100, 100));
    rx(&mut r, secs(1), 1, &v3(1, 200, 100));
    rx(&mut r, secs(2), 1, &v3(1, 0, 100));
    assert!(outs(&mut r).is_empty());
    // Skew_Time(100) = 156 * 100 / 256 cs = 609.375 ms: 2.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(2_609_375_000)));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.status().master, None);
}

#[test]
fn the_only_backup_takes_over_on_priority_zero_at_once() {
    let only = |p| Config {
        only_backup: true,
        ..cfg(p, 100)
    };
    let mut r = backup(only(100));
    rx(&mut r, secs(1), 1, &v3(1, 200, 100));
    rx(&mut r, secs(2), 1, &v3(1, 0, 100));
    // No Skew_Time: the Master_Down_Timer is due now, and firing it makes the
    // router master at 2 s (its advert follows the VIP confirmation).
    assert_eq!(r.poll_timeout(), Some(secs(2)));
    r.timeout_and_vips(secs(2), true);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Add,
            Out::State(State::Backup, State::Master, Reason::MasterDown),
            Out::Advert(100),
            Out::Announce(3)
        ]
    );
    // Still vipd's rule: a priority 0 from another router than the live master it
    // follows (a second master leaving after a split brain) is ignored.
    let mut r = backup(only(100));
    rx(&mut r, secs(1), 1, &v3(1, 200, 100));
    rx(&mut r, secs(2), 3, &v3(3, 0, 100));
    // 1 + 3 s + 156/256 s.
    assert_eq!(r.poll_timeout(), Some(ns(4_609_375_000)));
}

#[test]
fn backup_priority_zero_skew_uses_the_learned_interval() {
    let mut r = backup(cfg(100, 100));
    rx(&mut r, secs(1), 1, &v3(1, 200, 50));
    // 50 cs learned: Skew_Time = 156 * 50 / 256 cs = 304.6875 ms.
    rx(&mut r, secs(2), 1, &v3(1, 0, 50));
    assert_eq!(r.poll_timeout(), Some(ns(2_304_687_500)));
}

#[test]
fn backup_accepts_higher_priority_learns_interval_and_resets_timer() {
    let mut r = backup(cfg(100, 100));
    rx(&mut r, secs(1), 1, &v3(1, 200, 50));
    assert!(outs(&mut r).is_empty());
    let st = r.status();
    assert_eq!(st.master, Some((ip(1), 200)));
    assert_eq!(st.master_adver_interval_cs, 50);
    assert_eq!(st.adverts_received, 1);
    assert_eq!(st.last_advert, Some(secs(1)));
    // 1 s + 3 * 50 cs + 156 * 50 / 256 cs = 1 + 1.5 + 0.3046875 = 2.8046875 s.
    assert_eq!(r.poll_timeout(), Some(ns(2_804_687_500)));
}

#[test]
fn backup_with_preempt_discards_lower_priority_advert() {
    let mut r = backup(cfg(150, 100));
    // MDI(150) = 3 + 106 / 256 s = 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(3_414_062_500)));
    rx(&mut r, secs(1), 1, &v3(1, 100, 100));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.poll_timeout(), Some(ns(3_414_062_500)));
    assert_eq!(r.status().master, None);
    // Equal priority is accepted ("greater than or equal").
    rx(&mut r, secs(2), 3, &v3(3, 150, 100));
    assert_eq!(r.poll_timeout(), Some(ns(5_414_062_500)));
}

#[test]
fn backup_without_preempt_accepts_lower_priority_advert() {
    let mut c = cfg(150, 100);
    c.preempt = false;
    let mut r = backup(c);
    rx(&mut r, secs(1), 1, &v3(1, 100, 100));
    // 1 + 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(4_414_062_500)));
    assert_eq!(r.status().master, Some((ip(1), 100)));
}

#[test]
fn backup_preempt_delay_accepts_lower_priority_until_it_is_over() {
    let mut c = cfg(150, 100);
    c.preempt_delay = Duration::from_secs(5);
    let mut r = rig(c);
    r.handle(secs(10), Input::Startup);
    drain(&mut r);
    // Before 15 s: accepted, timer reset to 14.9 + 3.4140625 = 18.3140625 s.
    rx(&mut r, ns(14_900_000_000), 1, &v3(1, 100, 100));
    assert_eq!(r.poll_timeout(), Some(ns(18_314_062_500)));
    // At 15 s the hold is over: discarded, timer unchanged.
    rx(&mut r, secs(15), 1, &v3(1, 100, 100));
    assert_eq!(r.poll_timeout(), Some(ns(18_314_062_500)));
}

#[test]
fn backup_timer_fires_master_adds_vips_then_advertises_and_announces() {
    let mut r = backup(cfg(150, 100));
    let t = ns(3_414_062_500);
    // Early calls are harmless.
    r.handle(ns(3_414_062_499), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Backup);
    r.handle(t, Input::Timeout);
    // Master at once, but no advert until the VIPs are confirmed.
    assert_eq!(outs(&mut r), took_over());
    // Adver_Timer started at the transition: t + 1 s.
    assert_eq!(r.poll_timeout(), Some(ns(4_414_062_500)));
    assert_eq!(r.status().adverts_sent, 0);
    r.vips_applied(t, true);
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    assert_eq!(r.status().adverts_sent, 1);
    // The second burst 2 s later (5.4140625) comes after the adverts at 4.41..; then
    // the adverts go on every second.
    assert_eq!(r.poll_timeout(), Some(ns(4_414_062_500)));
    r.handle(ns(4_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    assert_eq!(r.poll_timeout(), Some(ns(5_414_062_500)));
    r.handle(ns(5_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Announce(3), Out::Advert(150)]);
    assert_eq!(r.poll_timeout(), Some(ns(6_414_062_500)));
}

// ---- master ------------------------------------------------------------------------------

#[test]
fn master_receiving_higher_priority_goes_backup_and_deletes_vips() {
    let (mut r, _) = master(cfg(100, 100));
    rx(&mut r, secs(10), 1, &v3(1, 200, 100));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(100),
            Out::Del,
            Out::State(State::Master, State::Backup, Reason::HigherPriority)
        ]
    );
    assert_eq!(r.status().master, Some((ip(1), 200)));
    // 10 + 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(13_609_375_000)));
}

#[test]
fn master_equal_priority_yields_only_to_a_higher_address() {
    let (mut r, _) = master(cfg(100, 100));
    // 192.0.2.1 < 192.0.2.2: we stay and answer.
    rx(&mut r, secs(10), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(100), Out::Announce(3)]);
    assert_eq!(r.state(), State::Master);
    // 192.0.2.3 > 192.0.2.2: we yield.
    rx(&mut r, secs(11), 3, &v3(3, 100, 100));
    assert_eq!(r.state(), State::Backup);
    assert!(outs(&mut r).contains(&Out::Del));
}

#[test]
fn master_hearing_lower_priority_answers_at_once_and_resets_adver_timer() {
    let (mut r, t) = master(cfg(150, 100));
    assert_eq!(t, ns(3_414_062_500));
    rx(&mut r, ns(3_900_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    // Adver_Timer restarted from the answer: 3.9 + 1 s (the 5.4140625 announce is later).
    assert_eq!(r.poll_timeout(), Some(ns(4_900_000_000)));
}

#[test]
fn master_hearing_priority_zero_answers() {
    let (mut r, _) = master(cfg(150, 100));
    rx(&mut r, secs(4), 1, &v3(1, 0, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    assert_eq!(r.poll_timeout(), Some(secs(5)));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn farewell_advert_carries_the_winners_interval_not_its_own() {
    let (mut r, t) = master(cfg(100, 100));
    // MDI(100) = 3 s + 156 * 100 / 256 cs = 3.609375 s.
    assert_eq!(t, ns(3_609_375_000));
    // Its own adverts carry its own 100 cs (Adver_Timer at t + 1 s).
    r.handle(ns(4_609_375_000), Input::Timeout);
    let own = sent_adverts(&drain(&mut r));
    assert_eq!(own.len(), 1);
    assert_eq!((own[0].priority, own[0].interval_cs), (100, 100));
    // A winner advertising every 50 cs: the farewell advert (at our priority, so the
    // winner re-announces) carries 50 cs, so that backups accepting it learn the
    // interval of the real master.
    rx(&mut r, secs(10), 1, &v3(1, 200, 50));
    let out = drain(&mut r);
    let farewell = sent_adverts(&out);
    assert_eq!(
        farewell,
        vec![Advert {
            version: Version::V3,
            vrid: VRID,
            priority: 100,
            interval_cs: 50,
            addresses: vec![vip()],
            auth: V2Auth::default(),
        }]
    );
    assert!(matches!(out[0], Output::SendAdvert { priority: 100, .. }));
    assert_eq!(
        out[1..],
        [
            Output::DelVips { id: VipJobId(3) },
            Output::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: Reason::HigherPriority
            }
        ]
    );
    assert_eq!(r.status().master_adver_interval_cs, 50);
    // 10 s + 3 * 50 cs + 156 * 50 / 256 cs = 10 + 1.5 + 0.3046875 = 11.8046875 s.
    assert_eq!(r.poll_timeout(), Some(ns(11_804_687_500)));

    // The same on a tie lost to a higher address, with a slower winner (300 cs).
    let (mut r, _) = master(cfg(100, 100));
    rx(&mut r, secs(10), 3, &v3(3, 100, 300));
    let farewell = sent_adverts(&drain(&mut r));
    assert_eq!(farewell.len(), 1);
    assert_eq!((farewell[0].priority, farewell[0].interval_cs), (100, 300));
    assert_eq!(r.state(), State::Backup);
    // 10 s + 3 * 300 cs + 156 * 300 / 256 cs = 10 + 9 + 1.828125 = 20.828125 s.
    assert_eq!(r.poll_timeout(), Some(ns(20_828_125_000)));
}

#[test]
fn answers_to_lower_priority_adverts_announce_at_most_twice_per_interval() {
    let (mut r, t) = master(cfg(150, 100));
    assert_eq!(t, ns(3_414_062_500));
    // First answer: advert and announcement; Adver_Timer 3.9 + 1 s.
    rx(&mut r, ns(3_900_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    assert_eq!(r.poll_timeout(), Some(ns(4_900_000_000)));
    // Within one interval (own 100 cs, whatever the other advertises): every advert
    // is answered and restarts the Adver_Timer; a second announcement is allowed (the
    // loser's farewell comes after its own gratuitous ARPs), a third is not.
    rx(&mut r, ns(4_500_000_000), 1, &v3(1, 100, 20));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    // Adver_Timer 4.5 + 1 s; the second burst (t + 2 s = 5.4140625 s) comes first.
    assert_eq!(r.poll_timeout(), Some(ns(5_414_062_500)));
    rx(&mut r, ns(4_600_000_000), 1, &v3(1, 0, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    // 1 ns before 3.9 + 1 s: still two within the interval.
    rx(&mut r, ns(4_899_999_999), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    // At 3.9 + 1 s exactly the first has left the window: one more is allowed.
    rx(&mut r, ns(4_900_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    // 4.5 and 4.9 are within the interval of 5.0.
    rx(&mut r, ns(5_000_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    // The scheduled second burst is not affected by the answers.
    r.handle(ns(5_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Announce(3)]);
    // Adver_Timer from the last answer: 5 + 1 s.
    assert_eq!(r.poll_timeout(), Some(secs(6)));
    // 4.9 + 1 s: both earlier ones have left the window.
    rx(&mut r, ns(5_900_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    // 1 (on confirmation) + 7 answers.
    assert_eq!(r.status().adverts_sent, 8);
}

/// A backup whose vipd was stopped (SIGSTOP) runs out its Master_Down_Timer the moment
/// it runs again, becomes master, adverts and sends its gratuitous ARPs, and hears the
/// real master: our answer to its first advert may reach the hosts before its ARPs. Its
/// farewell advert (sent as it steps down, after its ARPs) makes us announce once more,
/// so the hosts' last word is ours (the soak test's seed 1592590417: one announcement
/// only, and the client went 1.87 s without a reply).
#[test]
fn the_losers_farewell_right_after_its_first_advert_is_announced_over() {
    let (mut r, t) = master(cfg(150, 100));
    assert_eq!(t, ns(3_414_062_500));
    // Its first advert as master: answered with an advert and an announcement.
    rx(&mut r, ns(3_900_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    // Its farewell 1 ms later (same priority, it steps down after hearing us).
    rx(&mut r, ns(3_901_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
}

#[test]
fn answers_are_limited_per_sender_and_interval() {
    let (mut r, t) = master(cfg(150, 100));
    assert_eq!(t, ns(3_414_062_500));
    let ms = |n: u64| ns(n * 1_000_000);
    // 192.0.2.1 at priority 100: the first four adverts within one interval (1 s,
    // from the first answer at 4 s) are answered, a priority 0 among them.
    // The first two re-announce (at most two per interval).
    rx(&mut r, ms(4000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    rx(&mut r, ms(4100), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    for (at, p) in [(4200, 0), (4300, 100)] {
        rx(&mut r, ms(at), 1, &v3(1, p, 100));
        assert_eq!(outs(&mut r), vec![Out::Advert(150)], "{at} ms");
    }
    assert_eq!(r.poll_timeout(), Some(ms(5300)));
    // The fifth, and a priority 0 too, are only counted: no advert, the Adver_Timer
    // stays at 4.3 + 1 s.
    rx(&mut r, ms(4400), 1, &v3(1, 100, 100));
    rx(&mut r, ms(4999), 1, &v3(1, 0, 100));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.poll_timeout(), Some(ms(5300)));
    assert_eq!(r.status().drops.get("answer_rate_limited"), Some(&2));
    assert_eq!(r.state(), State::Master);
    // Other senders have windows of their own, four senders at a time: .3, .4 and .5
    // are answered, .6 finds none free.
    for from in [3, 4, 5] {
        rx(&mut r, ms(4500), from, &v3(from, 100, 100));
        assert_eq!(outs(&mut r), vec![Out::Advert(150)], "192.0.2.{from}");
    }
    rx(&mut r, ms(4500), 6, &v3(6, 100, 100));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.status().drops.get("answer_rate_limited"), Some(&3));
    // At 4 + 1 s the first window is over: .1 is answered again (re-announcing too:
    // only the 4.1 s burst is within 1 s) and takes the free window, so .6 still finds
    // none; at 4.5 + 1 s the other three are over and .6 is answered (re-announcing:
    // only the 5 s burst is within 1 s).
    rx(&mut r, ms(5000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    rx(&mut r, ms(5000), 6, &v3(6, 100, 100));
    assert!(outs(&mut r).is_empty());
    rx(&mut r, ms(5500), 6, &v3(6, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
    // Confirmation + 4 + 3 + 1 + 1 answers; every advert was received.
    let st = r.status();
    assert_eq!(st.adverts_sent, 10);
    assert_eq!(st.adverts_received, 13);
    assert_eq!(st.drops.get("answer_rate_limited"), Some(&4));
}

#[test]
fn shutdown_from_master_hands_over_and_removes_vips_when_the_new_master_is_heard() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::Shutdown);
    // Make-before-break: priority 0 goes out, the VIPs stay.
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(0),
            Out::State(State::Master, State::Stopped, Reason::Shutdown)
        ]
    );
    // The bound: Master_Down_Interval at priority 1 (what any backup may wait) and 100 cs:
    // 3 s + (256 - 1) * 1 s / 256 = 3.99609375 s after the handover.
    let h = r.handover().expect("handover under way");
    assert_eq!(h.since, secs(10));
    assert_eq!(h.until, ns(13_996_093_750));
    assert_eq!(r.poll_timeout(), Some(ns(13_996_093_750)));
    assert_eq!(r.status().handover_until, Some(ns(13_996_093_750)));
    // A kernel read showing the VIPs does not remove them while handing over.
    r.handle(ns(10_100_000_000), Input::VipsPresent);
    assert!(outs(&mut r).is_empty());
    // Another leaver's priority 0 is not a new master.
    rx(&mut r, ns(10_200_000_000), 3, &v3(3, 0, 100));
    assert!(outs(&mut r).is_empty());
    // The new master's first advert (sent once its VIPs are confirmed, with its
    // announcements): the VIPs go HANDOVER_GRACE (20 ms) later, once the clients have
    // followed the announcements.
    // It is reported once, with when it was heard.
    rx(&mut r, ns(10_609_375_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::NewMasterHeard(ip(1))]);
    assert_eq!(r.handover().and_then(|h| h.heard), Some(ns(10_609_375_000)));
    rx(&mut r, ns(10_619_375_000), 1, &v3(1, 100, 100));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.poll_timeout(), Some(ns(10_629_375_000)));
    r.handle(ns(10_629_374_999), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    r.handle(ns(10_629_375_000), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.handover(), None);
    assert_eq!(r.poll_timeout(), None);
    // Stopped ignores timeouts and packets (counted only).
    r.handle(secs(20), Input::Timeout);
    rx(&mut r, secs(20), 1, &v3(1, 100, 100));
    assert!(outs(&mut r).is_empty());
    // A new Startup starts over, deleting VIPs first.
    r.handle(secs(30), Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Stopped, State::Backup, Reason::Startup)
        ]
    );
    // 30 + 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(33_414_062_500)));
}

#[test]
fn shutdown_handover_without_a_new_master_removes_vips_at_master_down_interval() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::Shutdown);
    outs(&mut r);
    // One nanosecond early: nothing.
    r.handle(ns(13_996_093_749), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    assert!(r.handover().is_some());
    r.handle(ns(13_996_093_750), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.handover(), None);
    assert_eq!(r.poll_timeout(), None);
    // The advert of a late new master removes nothing more.
    rx(&mut r, secs(14), 1, &v3(1, 100, 100));
    assert!(outs(&mut r).is_empty());
}

#[test]
fn shutdown_handover_ends_at_once_when_the_link_goes_down() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::Shutdown);
    outs(&mut r);
    r.handle(secs(11), Input::LinkDown);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn end_handover_removes_the_vips_at_once_and_only_during_a_handover() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::EndHandover);
    assert!(outs(&mut r).is_empty(), "no handover under way: nothing");
    assert_eq!(r.state(), State::Master);
    r.handle(secs(10), Input::Shutdown);
    outs(&mut r);
    assert!(r.handover().is_some());
    r.handle(secs(11), Input::EndHandover);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.handover(), None);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn shutdown_of_a_master_never_heard_removes_vips_at_once() {
    // Master with its VIP add not yet confirmed: nobody knows it as master.
    let mut r = master_pending(cfg(150, 100), ns(3_414_062_500));
    drain(&mut r);
    r.handle(secs(4), Input::Shutdown);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Master, State::Stopped, Reason::Shutdown)
        ]
    );
    assert_eq!(r.handover(), None);
}

#[test]
fn a_tracked_fault_hands_over_make_before_break() {
    // The service behind the VIPs died; host and link are fine, and the other router
    // (the only one) takes over at once: priority 0 goes out, Fault, but the VIPs stay
    // until the new master is heard.
    let (mut r, _) = master(two(150));
    tracked(&mut r, secs(10), 0, true);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(0),
            Out::State(
                State::Master,
                State::Fault,
                Reason::Fault(FaultCause::Tracked)
            )
        ]
    );
    // Bounded by Master_Down_Interval at priority 1 and 100 cs: 3 s + 255/256 s.
    let h = r.handover().expect("handover under way");
    assert_eq!((h.since, h.until), (secs(10), ns(13_996_093_750)));
    assert_eq!(r.status().handover_until, Some(ns(13_996_093_750)));
    // A kernel read showing the VIPs in Fault does not remove them meanwhile.
    r.handle(ns(10_000_500_000), Input::VipsPresent);
    assert!(outs(&mut r).is_empty());
    // The new master's first advert 1 ms later: the VIPs go 20 ms after it.
    rx(&mut r, ns(10_001_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::NewMasterHeard(ip(1))]);
    assert_eq!(r.poll_timeout(), Some(ns(10_021_000_000)));
    r.handle(ns(10_020_999_999), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    r.handle(ns(10_021_000_000), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.handover(), None);
    assert_eq!(r.state(), State::Fault);
}

#[test]
fn a_tracked_fault_handover_ends_when_the_kernel_stops_answering() {
    let (mut r, _) = master(two(150));
    tracked(&mut r, secs(10), 0, true);
    outs(&mut r);
    assert!(r.handover().is_some());
    // VIPs that cannot be confirmed are kept for nobody.
    r.handle(secs(11), Input::KernelReachable(false));
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.handover(), None);
    assert_eq!(
        r.status().reason,
        Reason::Fault(FaultCause::KernelUnreachable)
    );
}

#[test]
fn other_faults_are_unplanned_and_remove_vips_at_once() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::KernelReachable(false));
    assert_eq!(outs(&mut r), handover_fault(FaultCause::KernelUnreachable));
    assert_eq!(r.handover(), None);
    // A master that never advertised (VIPs not yet confirmed) removes them at once
    // on a tracked fault too: nobody knows it as master.
    let mut r = master_pending(two(150), ns(3_414_062_500));
    drain(&mut r);
    tracked(&mut r, secs(4), 0, true);
    assert_eq!(outs(&mut r), silent_fault(FaultCause::Tracked));
    assert_eq!(r.handover(), None);
    // Where a successor may wait Skew_Time (not known to be two routers), a dead
    // service would refuse connections all that while: the VIPs go at once.
    let (mut r, _) = master(cfg(150, 100));
    tracked(&mut r, secs(10), 0, true);
    assert_eq!(outs(&mut r), handover_fault(FaultCause::Tracked));
    assert_eq!(r.handover(), None);
}

/// `cfg(priority, 100)` of a router that knows there are exactly two routers.
fn two(priority: u8) -> Config {
    Config {
        only_backup: true,
        ..cfg(priority, 100)
    }
}

#[test]
fn maintenance_hands_over_stays_backup_and_off_preempts_again() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::Maintenance(true));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(0),
            Out::State(State::Master, State::Backup, Reason::Maintenance)
        ]
    );
    assert!(r.maintenance());
    assert!(r.status().maintenance);
    // Only the handover's bound is pending: no Master_Down_Timer.
    assert_eq!(r.poll_timeout(), Some(ns(13_996_093_750)));
    // Backup 192.0.2.1 at priority 100 took over: its first advert ends the handover
    // HANDOVER_GRACE (20 ms) later.
    rx(&mut r, ns(10_700_000_000), 1, &v3(1, 100, 100));
    assert_eq!(outs(&mut r), vec![Out::NewMasterHeard(ip(1))]);
    r.handle(ns(10_720_000_000), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.poll_timeout(), None);
    // Lower-priority adverts are not preempted, and a priority 0 does not make it
    // take over at Skew_Time.
    rx(&mut r, secs(11), 1, &v3(1, 100, 100));
    rx(&mut r, secs(12), 1, &v3(1, 0, 100));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.poll_timeout(), None);
    r.handle(secs(60), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Backup);
    // Turning it on again changes nothing.
    r.handle(secs(61), Input::Maintenance(true));
    assert!(outs(&mut r).is_empty());
    // Off: Master_Down_Interval as at Startup, 70 + 3.4140625 s.
    r.handle(secs(70), Input::Maintenance(false));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.status().reason, Reason::MaintenanceOver);
    assert_eq!(r.poll_timeout(), Some(ns(73_414_062_500)));
    // The lower-priority master's adverts are discarded (preempt), the timer runs out.
    rx(&mut r, secs(71), 1, &v3(1, 100, 100));
    assert_eq!(r.poll_timeout(), Some(ns(73_414_062_500)));
    r.timeout_and_vips(ns(73_414_062_500), true);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Add,
            Out::State(State::Backup, State::Master, Reason::MasterDown),
            Out::Advert(150),
            Out::Announce(3),
        ]
    );
}

#[test]
fn maintenance_from_backup_never_takes_over_and_survives_a_fault() {
    let mut r = backup(cfg(150, 100));
    r.handle(secs(1), Input::Maintenance(true));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.status().reason, Reason::Maintenance);
    assert_eq!(r.poll_timeout(), None);
    r.handle(secs(2), Input::LinkDown);
    r.handle(secs(3), Input::LinkUp);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::State(
                State::Backup,
                State::Fault,
                Reason::Fault(FaultCause::LinkDown)
            ),
            Out::State(State::Fault, State::Backup, Reason::Maintenance),
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    // A restart (Stopped, then Startup) stays in maintenance too.
    r.handle(secs(4), Input::Shutdown);
    r.handle(secs(5), Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::State(State::Backup, State::Stopped, Reason::Shutdown),
            Out::Del,
            Out::State(State::Stopped, State::Backup, Reason::Maintenance),
        ]
    );
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn owner_in_maintenance_is_backup_and_becomes_master_when_it_ends() {
    let mut r = rig(cfg(255, 100));
    r.handle(Instant::ZERO, Input::Maintenance(true));
    r.handle(Instant::ZERO, Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Initialize, State::Backup, Reason::Maintenance),
        ]
    );
    r.handle(secs(1), Input::Maintenance(false));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Add,
            Out::State(State::Backup, State::Master, Reason::Owner)
        ]
    );
}

#[test]
fn shutdown_from_backup_sends_nothing() {
    let mut r = backup(cfg(100, 100));
    r.handle(secs(1), Input::Shutdown);
    assert_eq!(
        outs(&mut r),
        vec![Out::State(State::Backup, State::Stopped, Reason::Shutdown)]
    );
    assert_eq!(r.poll_timeout(), None);
}

// ---- VIP change ids -----------------------------------------------------------------------

/// Every output of `r` as it comes, without the test rig (ids checked by hand).
fn raw(r: &mut Router) -> Vec<Output> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

fn applied(id: u64, ok: bool) -> Input {
    Input::VipApplied {
        id: VipJobId(id),
        ok,
    }
}

#[test]
fn vip_changes_are_numbered_from_1_across_adds_and_removes() {
    let mut r = Router::new(cfg(150, 100)).expect("valid");
    r.handle(Instant::ZERO, Input::Startup);
    assert_eq!(raw(&mut r)[0], Output::DelVips { id: VipJobId(1) });
    r.handle(Instant::ZERO, Input::VipsPresent);
    assert_eq!(raw(&mut r), vec![Output::DelVips { id: VipJobId(2) }]);
    // Master at MDI(150) = 3.4140625 s.
    let t = ns(3_414_062_500);
    r.handle(t, Input::Timeout);
    assert_eq!(raw(&mut r)[0], Output::AddVips { id: VipJobId(3) });
    r.handle(t, applied(3, true));
    raw(&mut r);
    r.handle(secs(4), Input::VipsMissing);
    assert_eq!(raw(&mut r), vec![Output::AddVips { id: VipJobId(4) }]);
    rx(&mut r, secs(5), 3, &v3(3, 200, 100));
    assert!(raw(&mut r).contains(&Output::DelVips { id: VipJobId(5) }));
    // A new Startup goes on counting: ids are never reused within one router.
    r.handle(secs(6), Input::Shutdown);
    raw(&mut r);
    r.handle(secs(7), Input::Startup);
    assert_eq!(raw(&mut r)[0], Output::DelVips { id: VipJobId(6) });
}

#[test]
fn only_the_answer_to_the_add_a_master_waits_for_counts() {
    let mut r = Router::new(cfg(150, 100)).expect("valid");
    r.handle(Instant::ZERO, Input::Startup);
    let t = ns(3_414_062_500);
    r.handle(t, Input::Timeout);
    raw(&mut r);
    // Add 2 pending. An answer to the Startup removal (1), an unknown id, and a
    // failure reported for either: all stale, the master goes on waiting.
    for stale in [
        applied(1, true),
        applied(1, false),
        applied(99, false),
        applied(0, true),
    ] {
        r.handle(t, stale);
        assert!(raw(&mut r).is_empty());
        assert_eq!(r.state(), State::Master);
    }
    assert_eq!(r.status().adverts_sent, 0);
    r.handle(t, applied(2, true));
    assert!(matches!(
        raw(&mut r)[..],
        [
            Output::SendAdvert { priority: 150, .. },
            Output::Announce { count: 3 }
        ]
    ));
    // Answered once: the same answer again, or a late failure of it, is stale.
    r.handle(t, applied(2, true));
    r.handle(t, applied(2, false));
    assert!(raw(&mut r).is_empty());
    // The VIP vanishes: add 3. A failure of add 2, or of an id not handed out yet,
    // changes nothing; only add 3's failure faults the master.
    r.handle(secs(4), Input::VipsMissing);
    assert_eq!(raw(&mut r), vec![Output::AddVips { id: VipJobId(3) }]);
    r.handle(secs(4), applied(2, false));
    r.handle(secs(4), applied(4, false));
    assert!(raw(&mut r).is_empty());
    r.handle(secs(4), applied(3, false));
    assert_eq!(
        raw(&mut r)[1..],
        [
            Output::DelVips { id: VipJobId(4) },
            Output::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: Reason::Fault(FaultCause::VipAddFailed)
            }
        ]
    );
    // An answer to the add of a stint that is over changes nothing either.
    r.handle(secs(5), applied(3, true));
    assert!(raw(&mut r).is_empty());
    assert_eq!(r.state(), State::Fault);
}

#[test]
fn an_older_add_answered_after_a_newer_one_was_asked_is_stale() {
    // Master with add 2 pending loses to a better router (removal 3), takes over
    // again (add 4); add 2's success arriving now is not add 4's.
    let mut r = Router::new(cfg(150, 100)).expect("valid");
    r.handle(Instant::ZERO, Input::Startup);
    r.handle(ns(3_414_062_500), Input::Timeout);
    rx(&mut r, secs(4), 3, &v3(3, 200, 100));
    raw(&mut r);
    // The better router's last advert at 4 s: MDI(150) later, master again.
    let t = ns(7_414_062_500);
    assert_eq!(r.poll_timeout(), Some(t));
    r.handle(t, Input::Timeout);
    assert_eq!(raw(&mut r)[0], Output::AddVips { id: VipJobId(4) });
    r.handle(t, applied(2, true));
    assert!(raw(&mut r).is_empty());
    assert_eq!(r.status().adverts_sent, 0);
    r.handle(t, applied(4, true));
    assert_eq!(r.status().adverts_sent, 1);
}

// ---- faults ------------------------------------------------------------------------------

#[test]
fn failed_vip_add_faults_without_any_advert_and_retries_after_fault_retry() {
    let t = ns(3_414_062_500);
    let mut r = master_pending(cfg(150, 100), t);
    assert_eq!(outs(&mut r), took_over());
    r.vips_applied(t, false);
    // No priority-0 advert: this router never advertised itself as master, so no one
    // yielded to it and there is nothing to hand over.
    assert_eq!(outs(&mut r), add_failed());
    assert_eq!(r.status().adverts_sent, 0);
    // fault_retry 10 s: 13.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(13_414_062_500)));
    r.handle(ns(13_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), recovered());
    // 13.4140625 + 3.4140625 = 16.828125 s.
    assert_eq!(r.poll_timeout(), Some(ns(16_828_125_000)));
}

#[test]
fn stale_vip_result_after_stepping_down_is_ignored() {
    let mut r = master_pending(cfg(100, 100), ns(3_609_375_000));
    drain(&mut r);
    // A better master appears before the add is confirmed.
    rx(&mut r, secs(4), 1, &v3(1, 200, 100));
    drain(&mut r);
    assert_eq!(r.state(), State::Backup);
    r.vips_applied(secs(4), true);
    assert!(outs(&mut r).is_empty());
    r.vips_applied(secs(4), false);
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn vip_add_failures_back_off_doubling_up_to_300_s() {
    let mut r = backup(cfg(150, 100));
    // Alone, the router is master one MDI(150) = 3.4140625 s after each return to
    // Backup, the add fails, and it waits fault_retry (10 s), then 20, 40, 80, 160,
    // then 300 s (320 capped), and 300 s from then on.
    let rounds: [(u64, u64); 7] = [
        // (fails at, back in Backup at)
        (3_414_062_500, 13_414_062_500),    // + 10 s
        (16_828_125_000, 36_828_125_000),   // 13.4140625 + 3.4140625; + 20 s
        (40_242_187_500, 80_242_187_500),   // 36.828125 + 3.4140625; + 40 s
        (83_656_250_000, 163_656_250_000),  // 80.2421875 + 3.4140625; + 80 s
        (167_070_312_500, 327_070_312_500), // 163.65625 + 3.4140625; + 160 s
        (330_484_375_000, 630_484_375_000), // 327.0703125 + 3.4140625; + 300 s
        (633_898_437_500, 933_898_437_500), // 630.484375 + 3.4140625; + 300 s
    ];
    for (fail, back) in rounds {
        assert_eq!(r.poll_timeout(), Some(ns(fail)));
        r.handle(ns(fail), Input::Timeout);
        assert_eq!(outs(&mut r), took_over());
        r.vips_applied(ns(fail), false);
        assert_eq!(outs(&mut r), add_failed());
        assert_eq!(r.poll_timeout(), Some(ns(back)));
        // Nothing happens before the retry is due.
        r.handle(ns(back - 1), Input::Timeout);
        assert!(outs(&mut r).is_empty());
        r.handle(ns(back), Input::Timeout);
        assert_eq!(outs(&mut r), recovered());
    }
    assert_eq!(r.status().adverts_sent, 0);
}

#[test]
fn a_master_stint_that_advertised_resets_the_back_off() {
    let mut r = backup(cfg(150, 100));
    // Fails at 3.4140625 (retry + 10 s) and at 16.828125 (retry + 20 s = 36.828125).
    for (fail, back) in [
        (3_414_062_500, 13_414_062_500),
        (16_828_125_000, 36_828_125_000),
    ] {
        r.timeout_and_vips(ns(fail), false);
        drain(&mut r);
        assert_eq!(r.poll_timeout(), Some(ns(back)));
        r.handle(ns(back), Input::Timeout);
        drain(&mut r);
    }
    // Master at 36.828125 + 3.4140625 = 40.2421875 s, and this time the add works.
    r.timeout_and_vips(ns(40_242_187_500), true);
    assert_eq!(
        outs(&mut r),
        [took_over(), vec![Out::Advert(150), Out::Announce(3)]].concat()
    );
    // Its adverts get out for fault_retry (10 s): a healthy master. One good advert
    // alone would not do (see the next test).
    r.handle(ns(40_242_187_500), Input::AdvertSent { ok: true });
    for n in 1..=10u64 {
        let at = ns(40_242_187_500 + n * 1_000_000_000);
        assert_eq!(r.poll_timeout(), Some(at));
        r.handle(at, Input::Timeout);
        r.handle(at, Input::AdvertSent { ok: true });
        // (with the second announcement burst at + 2 s)
        assert!(outs(&mut r).contains(&Out::Advert(150)));
    }
    // A better router appears at 51 s; once it is gone, master again at
    // 51 + MDI(150) = 54.4140625 s, and the add fails: the wait is fault_retry again
    // (10 s, not the 40 s the back-off had reached): 64.4140625 s.
    rx(&mut r, secs(51), 1, &v3(1, 200, 100));
    drain(&mut r);
    assert_eq!(r.poll_timeout(), Some(ns(54_414_062_500)));
    r.timeout_and_vips(ns(54_414_062_500), false);
    assert_eq!(outs(&mut r), [took_over(), add_failed()].concat());
    assert_eq!(r.poll_timeout(), Some(ns(64_414_062_500)));
}

#[test]
fn a_master_that_fails_soon_after_each_start_keeps_backing_off() {
    // The owner (no Master_Down_Timer) starts at 0; each stint one advert gets out,
    // then the VIP vanishes and cannot be added again: faults at 0, 10, 30, 70 s, so
    // the waits are 10, 20, 40 s.
    let mut r = rig(cfg(255, 100));
    let mut t = Instant::ZERO;
    let mut waits = Vec::new();
    r.handle(t, Input::Startup);
    for _ in 0..3 {
        r.vips_applied(t, true);
        r.handle(t, Input::AdvertSent { ok: true });
        r.handle(t, Input::VipsMissing);
        r.vips_applied(t, false);
        assert_eq!(r.state(), State::Fault);
        let next = r.poll_timeout().expect("fault retry timer");
        waits.push((next - t).as_secs());
        t = next;
        r.handle(t, Input::Timeout);
        assert_eq!(r.state(), State::Master);
    }
    assert_eq!(waits, vec![10, 20, 40]);
}

#[test]
fn startup_resets_the_back_off() {
    let mut r = backup(cfg(150, 100));
    // Two failures: 3.4140625 (+ 10 s) and 16.828125 (+ 20 s); the next wait would
    // be 40 s.
    r.timeout_and_vips(ns(3_414_062_500), false);
    r.handle(ns(13_414_062_500), Input::Timeout);
    r.timeout_and_vips(ns(16_828_125_000), false);
    drain(&mut r);
    assert_eq!(r.poll_timeout(), Some(ns(36_828_125_000)));
    r.handle(secs(20), Input::Shutdown);
    r.handle(secs(30), Input::Startup);
    drain(&mut r);
    // Master at 30 + 3.4140625 s; the add fails; retry after fault_retry:
    // 33.4140625 + 10 = 43.4140625 s.
    r.timeout_and_vips(ns(33_414_062_500), false);
    assert_eq!(outs(&mut r), [took_over(), add_failed()].concat());
    assert_eq!(r.poll_timeout(), Some(ns(43_414_062_500)));
}

#[test]
fn fault_retry_above_the_cap_does_not_shrink_or_grow() {
    let mut c = cfg(150, 100);
    c.fault_retry = Duration::from_secs(400);
    let mut r = backup(c);
    // 3.4140625 + 400 = 403.4140625; master again 3.4140625 s later (406.828125),
    // and again 400 s: the cap is max(300 s, fault_retry).
    r.timeout_and_vips(ns(3_414_062_500), false);
    assert_eq!(r.poll_timeout(), Some(ns(403_414_062_500)));
    r.handle(ns(403_414_062_500), Input::Timeout);
    r.timeout_and_vips(ns(406_828_125_000), false);
    assert_eq!(r.poll_timeout(), Some(ns(806_828_125_000)));
    drain(&mut r);
    assert_eq!(r.state(), State::Fault);
}

#[test]
fn tracked_fault_before_the_vips_are_confirmed_sends_no_advert() {
    let t = ns(3_414_062_500);
    let mut r = master_pending(cfg(150, 100), t);
    drain(&mut r);
    // Not announced yet (no advert sent): nothing to hand over, only the VIPs to drop.
    tracked(&mut r, t, 0, true);
    assert_eq!(outs(&mut r), silent_fault(FaultCause::Tracked));
    assert_eq!(r.poll_timeout(), None);
    // The add's late result changes nothing.
    r.vips_applied(t, true);
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.status().adverts_sent, 0);
}

#[test]
fn three_failed_advert_sends_in_a_row_fault_the_master() {
    let (mut r, t) = master(cfg(150, 100));
    assert_eq!(t, ns(3_414_062_500));
    r.handle(t, Input::AdvertSent { ok: true });
    // Adverts at t + 1, + 2 (with the second announce burst) and + 3 s all fail.
    r.handle(ns(4_414_062_500), Input::Timeout);
    r.handle(ns(4_414_062_500), Input::AdvertSent { ok: false });
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    r.handle(ns(5_414_062_500), Input::Timeout);
    r.handle(ns(5_414_062_500), Input::AdvertSent { ok: false });
    assert_eq!(outs(&mut r), vec![Out::Announce(3), Out::Advert(150)]);
    r.handle(ns(6_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    r.handle(ns(6_414_062_500), Input::AdvertSent { ok: false });
    // The third: a priority-0 advert is attempted, the VIPs go, Fault.
    assert_eq!(outs(&mut r), handover_fault(FaultCause::SendFailed));
    assert_eq!(
        Reason::Fault(FaultCause::SendFailed).as_str(),
        "advert_send_failed"
    );
    // Retry after fault_retry: 6.4140625 + 10 s.
    assert_eq!(r.poll_timeout(), Some(ns(16_414_062_500)));
    // The priority-0 advert failing too changes nothing.
    r.handle(ns(6_414_062_500), Input::AdvertSent { ok: false });
    assert!(outs(&mut r).is_empty());
    r.handle(ns(16_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), recovered());
    // 16.4140625 + 3.4140625 = 19.828125 s; the count starts afresh: two failures do
    // not fault.
    assert_eq!(r.poll_timeout(), Some(ns(19_828_125_000)));
    r.timeout_and_vips(ns(19_828_125_000), true);
    assert_eq!(
        outs(&mut r),
        [took_over(), vec![Out::Advert(150), Out::Announce(3)]].concat()
    );
    r.handle(ns(19_828_125_000), Input::AdvertSent { ok: false });
    r.handle(ns(20_828_125_000), Input::Timeout);
    r.handle(ns(20_828_125_000), Input::AdvertSent { ok: false });
    assert_eq!(outs(&mut r), vec![Out::Advert(150)]);
    assert_eq!(r.state(), State::Master);
    // A failure within one interval of the last one counted (an answer's, say) is
    // not counted: at most one per Advertisement_Interval.
    r.handle(ns(21_000_000_000), Input::AdvertSent { ok: false });
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Master);
    // The advert of 20.828125 + 1 s failing is the third (the second burst,
    // 19.828125 + 2 s, is due at the same instant).
    r.handle(ns(21_828_125_000), Input::Timeout);
    r.handle(ns(21_828_125_000), Input::AdvertSent { ok: false });
    assert_eq!(
        outs(&mut r),
        [
            vec![Out::Announce(3), Out::Advert(150)],
            handover_fault(FaultCause::SendFailed)
        ]
        .concat()
    );
    // No advert of this stint got out, so the back-off goes on (the first stint's
    // fault waited 10 s): 21.828125 + 20 s. A confirmed VIP add alone does not reset
    // it.
    assert_eq!(r.poll_timeout(), Some(ns(41_828_125_000)));
}

#[test]
fn advert_send_failures_interrupted_by_a_success_or_outside_master_do_not_fault() {
    let (mut r, t) = master(cfg(150, 100));
    let s = |k: u64| t + Duration::from_secs(k);
    // One interval (1 s) apart, each failure counts; a success in between starts the
    // count afresh.
    for (at, ok) in [(s(0), false), (s(1), false), (s(1), true), (s(2), false)] {
        r.handle(at, Input::AdvertSent { ok });
    }
    r.handle(s(3), Input::AdvertSent { ok: false });
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Master);
    // Failures less than three quarters of an interval after the last one counted
    // count for nothing, however many (answers to a flood failing on a full send
    // queue).
    for _ in 0..10 {
        r.handle(
            s(3) + Duration::from_millis(749),
            Input::AdvertSent { ok: false },
        );
    }
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Master);
    // The next scheduled advert's failure, answered a little less than an interval
    // after the last one counted (the loop's jitter: adverts keep their cadence, their
    // answers do not) — from exactly three quarters of one on — is the third in a row.
    r.handle(
        s(3) + Duration::from_millis(750),
        Input::AdvertSent { ok: false },
    );
    assert_eq!(outs(&mut r), handover_fault(FaultCause::SendFailed));

    // A backup sends nothing of its own; failures reported there never fault it.
    let mut r = backup(cfg(150, 100));
    for _ in 0..5 {
        r.handle(secs(1), Input::AdvertSent { ok: false });
    }
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_timeout(), Some(ns(3_414_062_500)));
}

#[test]
fn stray_vips_are_removed_by_a_non_master_only() {
    // Backup: only the master may hold the VIPs.
    let mut r = backup(cfg(150, 100));
    r.handle(secs(1), Input::VipsPresent);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.state(), State::Backup);
    // MDI(150) from startup, untouched: 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(3_414_062_500)));
    // Fault too.
    r.handle(secs(2), Input::LinkDown);
    drain(&mut r);
    r.handle(secs(2), Input::VipsPresent);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    // A master keeps them.
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::VipsPresent);
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Master);
}

#[test]
fn link_down_on_master_deletes_vips_without_advert() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::LinkDown);
    assert_eq!(outs(&mut r), silent_fault(FaultCause::LinkDown));
    assert_eq!(r.poll_timeout(), None);
    r.handle(secs(20), Input::LinkUp);
    assert_eq!(outs(&mut r), recovered());
    // 20 + 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(23_414_062_500)));
}

#[test]
fn tracked_fault_on_master_sends_priority_zero() {
    let (mut r, _) = master(two(150));
    tracked(&mut r, secs(10), 0, true);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(0),
            Out::State(
                State::Master,
                State::Fault,
                Reason::Fault(FaultCause::Tracked)
            )
        ]
    );
    // Link down while in Fault keeps it there with the new cause as reason, and ends
    // the handover (the VIPs were kept for it): they go now.
    r.handle(secs(11), Input::LinkDown);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.status().reason, Reason::Fault(FaultCause::LinkDown));
    r.handle(secs(12), Input::LinkUp);
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.status().reason, Reason::Fault(FaultCause::Tracked));
    tracked(&mut r, secs(13), 0, false);
    assert_eq!(outs(&mut r), recovered());
}

#[test]
fn tracked_weight_is_clamped_and_carried_in_adverts() {
    let (mut r, _) = master(cfg(200, 100));
    tracked(&mut r, secs(10), 100, false);
    assert_eq!(r.effective_priority(), 254);
    let next = r.poll_timeout().expect("adver timer");
    r.handle(next, Input::Timeout);
    assert!(outs(&mut r).contains(&Out::Advert(254)));
    tracked(&mut r, secs(20), -1000, false);
    assert_eq!(r.effective_priority(), 1);
    let next = r.poll_timeout().expect("adver timer");
    r.handle(next, Input::Timeout);
    assert!(outs(&mut r).contains(&Out::Advert(1)));

    let mut owner = Router::new(cfg(255, 100)).expect("valid");
    tracked(&mut owner, Instant::ZERO, -100, false);
    assert_eq!(owner.effective_priority(), 255);
}

/// RFC 5798 §6.4.2 with §6.1: Skew_Time, and so Master_Down_Interval, depends on the
/// priority; a Backup whose effective priority changes runs its Master_Down_Timer as if
/// it had been set with the new one.
#[test]
fn a_backups_master_down_timer_follows_its_effective_priority() {
    let mut r = backup(cfg(100, 100));
    // MDI(100) = 3 s + 156/256 s = 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(3_609_375_000)));
    // A tracked check fails at 0.5 s: priority 50, Skew_Time 206/256 s = 0.8046875 s.
    tracked(&mut r, ns(500_000_000), -50, false);
    assert_eq!(r.effective_priority(), 50);
    assert_eq!(r.poll_timeout(), Some(ns(3_804_687_500)));
    // A master of priority 80 is heard at 1 s: 1 s + MDI(50) = 4.8046875 s.
    rx(&mut r, secs(1), 1, &v3(1, 80, 100));
    assert_eq!(r.poll_timeout(), Some(ns(4_804_687_500)));
    // The check recovers at 1.5 s: priority 100, the timer runs out 1 s + MDI(100) =
    // 4.609375 s, not at 4.8046875 s.
    tracked(&mut r, ns(1_500_000_000), 0, false);
    assert_eq!(r.poll_timeout(), Some(ns(4_609_375_000)));
    assert!(outs(&mut r).is_empty());
    // Its adverts now rank below ours and are discarded (preempt).
    for t in 2..=4 {
        rx(&mut r, secs(t), 1, &v3(1, 80, 100));
    }
    assert_eq!(r.poll_timeout(), Some(ns(4_609_375_000)));
    r.timeout_and_vips(ns(4_609_375_000), true);
    assert_eq!(r.state(), State::Master);
    // A drop below what is left of the timer: it runs out at once, never in the past.
    let mut late = backup(cfg(100, 100));
    tracked(&mut late, ns(3_600_000_000), 154, false);
    // Skew_Time(254) = 2/256 s: 3.0078125 s has passed, so now.
    assert_eq!(late.poll_timeout(), Some(ns(3_600_000_000)));
}

// ---- drops -------------------------------------------------------------------------------

#[test]
fn drops_are_counted_by_name_and_change_nothing() {
    let mut r = backup(cfg(100, 100));
    rx(&mut r, secs(1), 1, &v3(1, 200, 100));
    drain(&mut r);
    let timer = r.poll_timeout();
    let good = v3(1, 200, 100);
    let mut bad_sum = good.clone();
    bad_sum[7] ^= 1;
    let other_vrid = Advert {
        version: Version::V3,
        vrid: 52,
        priority: 200,
        interval_cs: 100,
        addresses: vec![vip()],
        auth: V2Auth::default(),
    }
    .emit(ip(1), group(), V3Checksum::PseudoHeader)
    .expect("emit");
    let feed = |r: &mut Router, ttl: u8, b: &[u8]| {
        let input = received(r, ip(1), group(), ttl, b);
        r.handle(secs(2), input)
    };
    feed(&mut r, 254, &good);
    feed(&mut r, 255, &bad_sum);
    feed(&mut r, 255, &bytes(Version::V2, 1, 200, 100));
    feed(&mut r, 255, &good[..5]);
    feed(&mut r, 255, &other_vrid);
    r.handle(secs(2), Input::Rejected(RxError::NotVrrp(17)));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Dropped("bad_ttl"),
            Out::Dropped("bad_checksum"),
            Out::Dropped("bad_version"),
            Out::Dropped("truncated"),
            Out::Dropped("vrid_mismatch"),
            Out::Dropped("not_vrrp"),
        ]
    );
    let st = r.status();
    for k in [
        "bad_ttl",
        "bad_checksum",
        "bad_version",
        "truncated",
        "vrid_mismatch",
        "not_vrrp",
    ] {
        assert_eq!(st.drops.get(k), Some(&1), "{k}");
    }
    assert_eq!(st.adverts_received, 1);
    assert_eq!(st.last_advert, Some(secs(1)));
    assert_eq!(r.poll_timeout(), timer);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn v2_drops_other_intervals_and_auth_types() {
    let mut r = backup(v2cfg(100, 100));
    let mut auth = Advert {
        version: Version::V2,
        vrid: VRID,
        priority: 200,
        interval_cs: 100,
        addresses: vec![vip()],
        auth: V2Auth::default(),
    };
    auth.auth.auth_type = 1;
    let auth = auth
        .emit(ip(1), group(), V3Checksum::PseudoHeader)
        .expect("emit");
    rx(&mut r, secs(1), 1, &bytes(Version::V2, 1, 200, 200));
    rx(&mut r, secs(1), 1, &auth);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Dropped("interval_mismatch"),
            Out::Dropped("auth_mismatch")
        ]
    );
    // v2 MDI(100) = 3 + 156/256 s, from startup: unchanged.
    assert_eq!(r.poll_timeout(), Some(ns(3_609_375_000)));
    // The same interval is accepted; v2 never learns an interval.
    rx(&mut r, secs(1), 1, &bytes(Version::V2, 1, 200, 100));
    assert_eq!(r.poll_timeout(), Some(ns(4_609_375_000)));
    assert_eq!(r.status().master_adver_interval_cs, 100);
}

/// A priority-200 advert at 100 cs from 192.0.2.1 listing `addresses`, of `version`.
fn listing(version: Version, addresses: Vec<IpAddr>) -> Vec<u8> {
    Advert {
        version,
        vrid: VRID,
        priority: 200,
        interval_cs: 100,
        addresses,
        auth: V2Auth::default(),
    }
    .emit(ip(1), group(), V3Checksum::PseudoHeader)
    .expect("emit")
}

#[test]
fn v2_drops_another_address_list_compared_as_a_set_in_both_directions() {
    // RFC 3768 §7.1: a VRRPv2 advert listing other addresses is dropped unless it
    // comes from the owner.
    let (a, b, c) = (ip(100), ip(101), ip(102));
    let mut r = backup(Config {
        version: Version::V2,
        ..Config::v3(VRID, 100, 100, ip(2), vec![a, b])
    });
    let v2 = |addresses| listing(Version::V2, addresses);
    // [a, a] has only addresses we know, and as many as we have, but not b.
    rx(&mut r, secs(1), 1, &v2(vec![a, a]));
    // Missing b; an extra c.
    rx(&mut r, secs(1), 1, &v2(vec![a]));
    rx(&mut r, secs(1), 1, &v2(vec![a, b, c]));
    rx(&mut r, secs(1), 1, &v2(vec![c, b]));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Dropped("address_mismatch"),
            Out::Dropped("address_mismatch"),
            Out::Dropped("address_mismatch"),
            Out::Dropped("address_mismatch"),
        ]
    );
    let st = r.status();
    assert_eq!(st.drops.get("address_mismatch"), Some(&4));
    assert_eq!(st.adverts_received, 0);
    assert_eq!(st.master, None);
    assert_eq!(st.address_mismatch, None);
    // Untouched since startup: MDI(100) = 3 + 156/256 s = 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(3_609_375_000)));
    // The same set in another order, or with a repeat, is the same list.
    rx(&mut r, secs(1), 1, &v2(vec![b, a]));
    assert!(outs(&mut r).is_empty());
    // 1 + 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(4_609_375_000)));
    rx(&mut r, secs(2), 1, &v2(vec![a, b, b]));
    assert!(outs(&mut r).is_empty());
    // 2 + 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(5_609_375_000)));
    let st = r.status();
    assert_eq!(st.adverts_received, 2);
    assert_eq!(st.master, Some((ip(1), 200)));
    // The owner's advert is accepted whatever it lists (and the difference noted).
    let owner = Advert {
        version: Version::V2,
        vrid: VRID,
        priority: 255,
        interval_cs: 100,
        addresses: vec![c],
        auth: V2Auth::default(),
    }
    .emit(ip(3), group(), V3Checksum::PseudoHeader)
    .expect("emit");
    rx(&mut r, secs(3), 3, &owner);
    assert_eq!(outs(&mut r), vec![Out::Mismatch(ip(3))]);
    assert_eq!(r.status().master, Some((ip(3), 255)));
}

#[test]
fn v3_accepts_another_address_list_and_reports_it() {
    // RFC 5798 §7.1: the receiver "MAY verify" the list and "SHOULD log" a difference;
    // the advert takes part in the election all the same.
    let (a, b, c) = (ip(100), ip(101), ip(102));
    let mut r = backup(Config::v3(VRID, 100, 100, ip(2), vec![a, b]));
    let v3 = |addresses| listing(Version::V3, addresses);
    rx(&mut r, secs(1), 1, &v3(vec![a]));
    assert_eq!(outs(&mut r), vec![Out::Mismatch(ip(1))]);
    // Accepted as from the master: 1 + 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(ns(4_609_375_000)));
    assert_eq!(r.status().master, Some((ip(1), 200)));
    rx(&mut r, secs(2), 1, &v3(vec![a, b, c]));
    rx(&mut r, secs(3), 1, &v3(vec![b, a]));
    assert_eq!(outs(&mut r), vec![Out::Mismatch(ip(1))]);
    assert_eq!(r.poll_timeout(), Some(ns(6_609_375_000)));
    let st = r.status();
    assert_eq!(st.adverts_received, 3);
    assert!(st.drops.is_empty(), "{:?}", st.drops);
    assert_eq!(
        st.address_mismatch,
        Some(vipd_engine::AddressMismatch {
            from: ip(1),
            addresses: vec![a, b, c],
            count: 2,
            last: secs(2),
        })
    );
    // A master hears a lower priority listing other addresses: answered as usual.
    let (mut m, _) = master(Config::v3(VRID, 150, 100, ip(2), vec![a, b]));
    let low = Advert {
        version: Version::V3,
        vrid: VRID,
        priority: 100,
        interval_cs: 100,
        addresses: vec![a],
        auth: V2Auth::default(),
    }
    .emit(ip(1), group(), V3Checksum::PseudoHeader)
    .expect("emit");
    rx(&mut m, secs(10), 1, &low);
    assert_eq!(
        outs(&mut m),
        vec![Out::Mismatch(ip(1)), Out::Advert(150), Out::Announce(3)]
    );
}

/// `keepalived_v3_ipv4.hex` of vipd-wire's fixtures: keepalived 2.2.7, VRRPv3 from
/// 192.0.2.1, VRID 51, priority 150, 20 cs, VIP 192.0.2.50, checksummed with the IPv4
/// pseudo-header (RFC 5798).
const KEEPALIVED_V3_PSEUDO: [u8; 12] = [
    0x31, 0x33, 0x96, 0x01, 0x00, 0x14, 0xd3, 0xf3, 0xc0, 0x00, 0x02, 0x32,
];
/// `hand_v3_ipv4_no_pseudo.hex`: VRRPv3 from 192.0.2.4, VRID 200, priority 1, 1 cs,
/// 192.0.2.200, checksummed without the pseudo-header (RFC 9568's IPv4 form).
const HAND_V3_PLAIN: [u8; 12] = [
    0x31, 0xc8, 0x01, 0x01, 0x00, 0x01, 0x0a, 0x6d, 0xc0, 0x00, 0x02, 0xc8,
];

#[test]
fn both_v3_checksum_forms_are_received_and_the_own_one_is_sent() {
    let vip50 = ip(50);
    for own in [V3Checksum::PseudoHeader, V3Checksum::NoPseudoHeader] {
        // keepalived's pseudo-header advert, to a router of either form: accepted,
        // learned as the master. MDI(100) at 20 cs = 60 + 156 * 20 / 256 cs =
        // 0.721875 s from 1 s.
        let mut r = backup(Config {
            checksum: own,
            ..Config::v3(51, 100, 20, ip(2), vec![vip50])
        });
        rx(&mut r, secs(1), 1, &KEEPALIVED_V3_PSEUDO);
        // The other form is reported (the sender may drop our adverts) and counted.
        let other = |from| match own {
            V3Checksum::PseudoHeader => vec![],
            V3Checksum::NoPseudoHeader => vec![Out::OtherForm(ip(from))],
        };
        assert_eq!(outs(&mut r), other(1), "{own:?}");
        assert_eq!(
            r.status().other_checksum_form,
            other(1).len() as u64,
            "{own:?}"
        );
        assert_eq!(r.status().master, Some((ip(1), 150)), "{own:?}");
        assert_eq!(r.poll_timeout(), Some(ns(1_721_875_000)), "{own:?}");
        // The plain one, to a router of either form: accepted (priority 1 is below
        // ours, so it is discarded by §6.4.2 afterwards, but counted as received).
        let mut r = backup(Config {
            checksum: own,
            ..Config::v3(200, 100, 100, ip(2), vec![ip(200)])
        });
        rx(&mut r, secs(1), 4, &HAND_V3_PLAIN);
        let other = match own {
            V3Checksum::PseudoHeader => vec![Out::OtherForm(ip(4))],
            V3Checksum::NoPseudoHeader => vec![],
        };
        assert_eq!(outs(&mut r), other, "{own:?}");
        assert_eq!(r.status().adverts_received, 1, "{own:?}");
        assert!(r.status().drops.is_empty(), "{own:?}");
        // Its own adverts go out in its own form.
        let (mut m, t) = master(Config {
            checksum: own,
            ..cfg(150, 100)
        });
        m.handle(t + Duration::from_secs(1), Input::Timeout);
        let sent: Vec<Vec<u8>> = drain(&mut m)
            .into_iter()
            .filter_map(|o| match o {
                Output::SendAdvert { bytes, .. } => Some(bytes),
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), 1);
        let check = vipd_wire::RxCheck {
            version: Version::V3,
            vrid: VRID,
            src: ip(2),
            dst: group(),
            ttl: 255,
            v3_checksum: own,
        };
        let got = vipd_wire::Advert::receive(&sent[0], &check).expect("own advert");
        assert_eq!(got.checksum, Some(own));
    }
}

#[test]
fn zero_interval_and_no_addresses_are_dropped_with_reasons_of_their_own() {
    let mut r = backup(cfg(100, 100));
    let timer = r.poll_timeout();
    // A priority-200 advert from 192.0.2.1 with its Max Adver Int set to 0 (RFC 5798
    // erratum 8301), and one with no addresses at all (erratum 8299), checksums right.
    let good = v3(1, 200, 100);
    let mut zero = good.clone();
    zero[4..8].fill(0);
    let mut empty = good[..8].to_vec();
    empty[3] = 0;
    empty[6..8].fill(0);
    for b in [&mut zero, &mut empty] {
        let sum = vipd_wire::checksum::with_pseudo(ip(1), group(), vipd_wire::PROTOCOL, b)
            .expect("one family");
        b[6..8].copy_from_slice(&sum.to_be_bytes());
    }
    rx(&mut r, secs(1), 1, &zero);
    rx(&mut r, secs(1), 1, &empty);
    assert_eq!(
        outs(&mut r),
        vec![Out::Dropped("zero_interval"), Out::Dropped("no_addresses")]
    );
    let st = r.status();
    assert_eq!(st.drops.get("zero_interval"), Some(&1));
    assert_eq!(st.drops.get("no_addresses"), Some(&1));
    assert_eq!(st.adverts_received, 0);
    assert_eq!(st.master, None);
    assert_eq!(r.poll_timeout(), timer);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn owner_drops_every_advert() {
    let mut r = rig(cfg(255, 100));
    r.handle(Instant::ZERO, Input::Startup);
    r.vips_applied(Instant::ZERO, true);
    drain(&mut r);
    rx(&mut r, secs(1), 3, &v3(3, 255, 100));
    assert_eq!(outs(&mut r), vec![Out::Dropped("owner_ignores")]);
    assert_eq!(r.state(), State::Master);
}

#[test]
fn own_advert_and_other_family_are_dropped() {
    let mut r = backup(cfg(100, 100));
    rx(&mut r, secs(1), 2, &v3(2, 200, 100));
    let input = received(
        &r,
        "fe80::1".parse().expect("address"),
        "ff02::12".parse().expect("address"),
        255,
        &v3(1, 200, 100),
    );
    r.handle(secs(1), input);
    assert_eq!(
        outs(&mut r),
        vec![Out::Dropped("own_advert"), Out::Dropped("wrong_family")]
    );
    assert_eq!(r.poll_timeout(), Some(ns(3_609_375_000)));
}

// ---- bugs --------------------------------------------------------------------------------

/// A Stop/Start of the same router after a failed VIP add starts in Fault
/// (vip_add_failed) and waits out fault_retry, although "a new Startup begins again"
/// and no add has been tried since. `vip_failed` survived Shutdown.
#[test]
fn startup_after_stop_forgets_an_earlier_vip_add_failure() {
    let mut r = backup(cfg(150, 100));
    r.timeout_and_vips(ns(3_414_062_500), false);
    drain(&mut r);
    assert_eq!(r.state(), State::Fault);
    r.handle(secs(5), Input::Shutdown);
    drain(&mut r);
    r.handle(secs(6), Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Stopped, State::Backup, Reason::Startup)
        ]
    );
    // 6 + 3.4140625 s, not 6 + fault_retry.
    assert_eq!(r.poll_timeout(), Some(ns(9_414_062_500)));
}

/// Worse: if the restart happens while the link is down, the link fault hides the
/// stale VIP failure and no retry timer is armed; when the link comes back the
/// router is in Fault (vip_add_failed) with no timer at all, for ever.
#[test]
fn vip_failure_then_restart_with_link_down_does_not_stick_in_fault() {
    let mut r = backup(cfg(150, 100));
    r.timeout_and_vips(ns(3_414_062_500), false);
    r.handle(secs(5), Input::Shutdown);
    r.handle(secs(6), Input::LinkDown);
    r.handle(secs(7), Input::Startup);
    drain(&mut r);
    assert_eq!(r.status().reason, Reason::Fault(FaultCause::LinkDown));
    r.handle(secs(8), Input::LinkUp);
    drain(&mut r);
    assert_eq!(
        (r.state(), r.poll_timeout()),
        // 8 + 3.4140625 s.
        (State::Backup, Some(ns(11_414_062_500))),
        "{:?}",
        r.status()
    );
}

#[test]
fn no_advert_before_the_first_vip_confirmation_even_when_the_adver_timer_fires() {
    // Master_Down_Timer: 3 × 1 s + (256 − 150) × 1 s / 256 = 3.4140625 s.
    let mut r = master_pending(cfg(150, 100), ns(3_414_062_500));
    assert_eq!(outs(&mut r), took_over());
    // netlink is slow: the Adver_Timer (t + 1 s) fires first; nothing is sent.
    assert_eq!(r.poll_timeout(), Some(ns(4_414_062_500)));
    r.handle(ns(4_414_062_500), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    // A lower-priority master is heard meanwhile: not answered either.
    rx(&mut r, ns(4_500_000_000), 1, &v3(1, 100, 100));
    assert!(outs(&mut r).is_empty());
    // The add confirms: the first advert and announcement go out now.
    r.vips_applied(ns(4_600_000_000), true);
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
}

#[test]
fn a_long_standing_master_that_cannot_re_add_its_vip_hands_over_with_priority_0() {
    let (mut r, t) = master(cfg(150, 100));
    r.handle(t, Input::AdvertSent { ok: true });
    // The VIP vanishes behind our back at t + 5 s; re-adding it fails.
    let later = t + Duration::from_secs(5);
    r.handle(later, Input::VipsMissing);
    assert_eq!(outs(&mut r), vec![Out::Add]);
    r.vips_applied(later, false);
    assert_eq!(outs(&mut r), handover_fault(FaultCause::VipAddFailed));
}

#[test]
fn a_master_never_heard_as_master_leaves_without_a_word() {
    // Master at 3.4140625 s, VIPs asked for and not yet confirmed: it has sent no
    // advert, so neither a shutdown nor a better router makes it send one.
    let mut r = master_pending(cfg(150, 100), ns(3_414_062_500));
    assert_eq!(outs(&mut r), took_over());
    r.handle(ns(3_500_000_000), Input::Shutdown);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Master, State::Stopped, Reason::Shutdown)
        ]
    );

    let mut r = master_pending(cfg(150, 100), ns(3_414_062_500));
    drain(&mut r);
    rx(&mut r, ns(3_500_000_000), 3, &v3(3, 200, 100));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Master, State::Backup, Reason::HigherPriority)
        ]
    );
    // A late confirmation changes nothing.
    r.vips_applied(ns(3_600_000_000), true);
    assert!(outs(&mut r).is_empty());
}

// ---- reconfigure in place -----------------------------------------------------------------

#[test]
fn reconfigure_a_master_in_place_new_priority_and_interval_from_the_next_advert() {
    let (mut r, t) = master(cfg(150, 100));
    assert_eq!(t, ns(3_414_062_500));
    let transitions = r.status().transitions;
    // At t + 0.2 s: priority 160, interval 50 cs. No output, no transition; the advert
    // that was due at t + 1 s now comes at t + 0.2 + 0.5 = 4.1140625 s.
    let now = ns(3_614_062_500);
    r.reconfigure(now, cfg(160, 50)).expect("in place");
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.status().transitions, transitions);
    assert_eq!(r.poll_timeout(), Some(ns(4_114_062_500)));
    r.handle(ns(4_114_062_500), Input::Timeout);
    let sent = sent_adverts(&drain(&mut r));
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].priority, sent[0].interval_cs), (160, 50));
    // Then every 0.5 s.
    assert_eq!(r.poll_timeout(), Some(ns(4_614_062_500)));
}

#[test]
fn reconfigure_refuses_identity_changes_and_applies_nothing() {
    let (mut r, t) = master(cfg(150, 100));
    let before = r.config().clone();
    let other_vips = Config::v3(VRID, 160, 100, ip(2), vec![ip(101)]);
    let other_vrid = Config::v3(52, 160, 100, ip(2), vec![vip()]);
    let other_source = Config::v3(VRID, 160, 100, ip(4), vec![vip()]);
    let owner = cfg(255, 100);
    let v2 = v2cfg(160, 100);
    let invalid = cfg(160, 0);
    for c in [other_vips, other_vrid, other_source, owner, v2, invalid] {
        assert!(
            r.reconfigure(t, c.clone()).is_err(),
            "{c:?} applied in place"
        );
        assert_eq!(r.config(), &before);
        assert!(outs(&mut r).is_empty());
        assert_eq!(r.state(), State::Master);
    }
    // The same addresses in another order are the same set.
    let mut two = cfg(150, 100);
    two.vips = vec![vip(), ip(101)];
    let (mut r, t) = master(two);
    let mut swapped = cfg(170, 100);
    swapped.vips = vec![ip(101), vip()];
    assert_eq!(r.reconfigure(t, swapped), Ok(()));
    assert_eq!(r.status().priority, 170);
}

#[test]
fn reconfigure_a_backup_above_its_master_preempts_at_the_master_down_timer() {
    let mut r = backup(cfg(100, 100));
    rx(&mut r, secs(1), 1, &v3(1, 150, 100));
    // Raised to 200 at 1.5 s: the master's next advert (2 s) is discarded (§6.4.2,
    // preempt), so the timer set by the 1 s advert runs out, moved to the new
    // priority's Skew_Time (§6.1): 1 + 3 + 56/256 s = 4.21875 s.
    r.reconfigure(ns(1_500_000_000), cfg(200, 100))
        .expect("in place");
    rx(&mut r, secs(2), 1, &v3(1, 150, 100));
    assert_eq!(r.poll_timeout(), Some(ns(4_218_750_000)));
    r.handle(ns(4_218_750_000), Input::Timeout);
    assert_eq!(outs(&mut r), took_over());
}

// ---- advert cadence ---------------------------------------------------------------------------

/// A driver that gets round to every Adver_Timer 1.3 ms late (tokio rounds its sleeps
/// up to the next millisecond, and the loop takes its time) still sends one advert per
/// Advertisement_Interval on average: each timer is reset from when it was due, so the
/// lateness does not add up (it did: 10 ms adverts went out every 11.1 ms).
#[test]
fn a_late_driver_does_not_stretch_the_advert_interval() {
    let (mut r, t) = master(cfg(100, 1));
    let late = std::time::Duration::from_micros(1300);
    let mut sent_at = Vec::new();
    for _ in 0..100 {
        let due = r.poll_timeout().expect("adver timer");
        r.handle(due + late, Input::Timeout);
        if sent_adverts(&drain(&mut r)).len() == 1 {
            sent_at.push(due + late);
        }
    }
    assert_eq!(sent_at.len(), 100);
    // The k-th scheduled advert goes out at t + k × 10 ms + the lateness.
    for (k, at) in sent_at.iter().enumerate() {
        assert_eq!(
            *at,
            t + std::time::Duration::from_millis(10 * (k as u64 + 1)) + late,
            "advert {k}"
        );
    }
}

/// A driver that wakes later than a whole interval starts the cadence afresh from then:
/// no burst of adverts to catch up.
#[test]
fn a_stalled_driver_sends_one_advert_and_goes_on_from_then() {
    let (mut r, t) = master(cfg(100, 1));
    let due = r.poll_timeout().expect("adver timer");
    assert_eq!(due, t + std::time::Duration::from_millis(10));
    let woke = due + std::time::Duration::from_millis(35);
    r.handle(woke, Input::Timeout);
    assert_eq!(sent_adverts(&drain(&mut r)).len(), 1);
    assert_eq!(
        r.poll_timeout(),
        Some(woke + std::time::Duration::from_millis(10))
    );
}

// ---- sync-group hold ----------------------------------------------------------------------

/// A held member that became ready and is then put in maintenance is ready no longer:
/// its group releasing it does not make it master (maintenance never takes over).
#[test]
fn a_ready_held_backup_put_in_maintenance_does_not_take_over_when_released() {
    let mut r = backup(cfg(150, 100));
    r.handle(Instant::ZERO, Input::Hold(true));
    r.handle(ns(3_414_062_500), Input::Timeout);
    assert!(r.ready());
    r.handle(secs(4), Input::Maintenance(true));
    assert!(!r.ready(), "maintenance keeps no member ready");
    r.handle(secs(5), Input::Hold(false));
    assert!(outs(&mut r).is_empty(), "no AddVips in maintenance");
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_timeout(), None);
    // Maintenance off: as at start-up, Master_Down_Interval from then.
    r.handle(secs(6), Input::Maintenance(false));
    assert_eq!(r.poll_timeout(), Some(ns(9_414_062_500)));
    r.handle(ns(9_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), took_over());
}

#[test]
fn held_backup_is_ready_at_master_down_and_becomes_master_when_released() {
    let mut r = backup(cfg(150, 100));
    r.handle(Instant::ZERO, Input::Hold(true));
    assert!(outs(&mut r).is_empty());
    assert!(r.held() && !r.ready());
    // Master_Down_Interval at priority 150, 1 s: 3 s + 106/256 s = 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(3_414_062_500)));
    r.handle(ns(3_414_062_499), Input::Timeout);
    assert!(!r.ready());
    r.handle(ns(3_414_062_500), Input::Timeout);
    // Held: no takeover, only ready.
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Backup);
    assert!(r.ready());
    assert_eq!(r.status().reason, Reason::SyncGroup);
    assert!(r.status().held && r.status().ready);
    assert_eq!(r.poll_timeout(), None);
    // A lower-priority master's advert is discarded (preempt): still ready.
    rx(&mut r, secs(4), 1, &v3(1, 100, 100));
    assert!(r.ready());
    // Released: master at once.
    r.handle(secs(5), Input::Hold(false));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Add,
            Out::State(State::Backup, State::Master, Reason::SyncGroup)
        ]
    );
    assert!(!r.ready() && !r.held());
    r.vips_applied(secs(5), true);
    assert_eq!(outs(&mut r), vec![Out::Advert(150), Out::Announce(3)]);
}

#[test]
fn a_higher_priority_advert_makes_a_ready_router_wait_again() {
    let mut r = backup(cfg(150, 100));
    r.handle(Instant::ZERO, Input::Hold(true));
    r.handle(ns(3_414_062_500), Input::Timeout);
    assert!(r.ready());
    rx(&mut r, secs(4), 3, &v3(3, 200, 100));
    assert!(!r.ready());
    // 4 s + 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(7_414_062_500)));
    // Released while not ready: nothing happens until the timer runs out.
    r.handle(secs(5), Input::Hold(false));
    assert!(outs(&mut r).is_empty());
    assert_eq!(r.state(), State::Backup);
    r.handle(ns(7_414_062_500), Input::Timeout);
    assert_eq!(outs(&mut r), took_over());
}

#[test]
fn a_held_master_hands_over_make_before_break_and_follows() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::Hold(true));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(0),
            Out::State(State::Master, State::Backup, Reason::SyncGroup)
        ]
    );
    // The VIPs stay until the new master is heard or Master_Down_Interval at priority 1
    // has passed (the longest any router with this interval waits: the new master's
    // group may wait for another member's): 10 + 3 + 255/256 s = 13.99609375 s. Its own
    // Master_Down_Timer runs from the handover too: 10 + 3.4140625 s.
    assert_eq!(r.handover().map(|h| h.until), Some(ns(13_996_093_750)));
    assert_eq!(r.poll_timeout(), Some(ns(13_414_062_500)));
    // The new master (priority 200) is heard: VIPs go 20 ms later; it is followed.
    rx(&mut r, ns(10_500_000_000), 3, &v3(3, 200, 100));
    assert_eq!(outs(&mut r), vec![Out::NewMasterHeard(ip(3))]);
    r.handle(ns(10_520_000_000), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert_eq!(r.status().master, Some((ip(3), 200)));
    // 10.5 s + Master_Down_Interval.
    assert_eq!(r.poll_timeout(), Some(ns(13_914_062_500)));
    assert!(!r.ready());
}

#[test]
fn a_held_master_with_no_successor_removes_its_vips_at_the_bound_and_is_ready() {
    let (mut r, _) = master(cfg(150, 100));
    r.handle(secs(10), Input::Hold(true));
    outs(&mut r);
    // Its own Master_Down_Timer first (10 + 3.4140625 s): ready, VIPs still kept.
    r.handle(ns(13_414_062_500), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    assert!(r.ready());
    // The handover's bound, 10 + 3.99609375 s: the VIPs go.
    r.handle(ns(13_996_093_749), Input::Timeout);
    assert!(outs(&mut r).is_empty());
    r.handle(ns(13_996_093_750), Input::Timeout);
    assert_eq!(outs(&mut r), vec![Out::Del]);
    assert!(r.ready());
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn a_held_owner_starts_ready_in_backup_and_a_fault_clears_ready() {
    let mut r = rig(cfg(255, 100));
    r.handle(Instant::ZERO, Input::Hold(true));
    r.handle(Instant::ZERO, Input::Startup);
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Del,
            Out::State(State::Initialize, State::Backup, Reason::SyncGroup)
        ]
    );
    assert!(r.ready());
    assert_eq!(r.poll_timeout(), None);
    r.handle(secs(1), Input::LinkDown);
    assert!(!r.ready());
    r.handle(secs(2), Input::LinkUp);
    assert!(r.ready(), "the owner is ready again as soon as it is back");
    r.handle(secs(3), Input::Hold(false));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::State(
                State::Backup,
                State::Fault,
                Reason::Fault(FaultCause::LinkDown)
            ),
            Out::State(State::Fault, State::Backup, Reason::SyncGroup),
            Out::Add,
            Out::State(State::Backup, State::Master, Reason::SyncGroup),
        ]
    );
}

#[test]
fn a_fault_clears_ready_and_recovery_waits_master_down_again() {
    let mut r = backup(cfg(150, 100));
    r.handle(Instant::ZERO, Input::Hold(true));
    r.handle(ns(3_414_062_500), Input::Timeout);
    assert!(r.ready());
    tracked(&mut r, secs(4), 0, true);
    assert!(!r.ready());
    tracked(&mut r, secs(5), 0, false);
    assert!(!r.ready());
    // 5 s + 3.4140625 s.
    assert_eq!(r.poll_timeout(), Some(ns(8_414_062_500)));
    r.handle(secs(6), Input::Hold(false));
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn a_held_owner_master_hands_over_and_is_ready_at_once() {
    let mut r = rig(cfg(255, 100));
    r.handle(Instant::ZERO, Input::Startup);
    r.vips_applied(Instant::ZERO, true);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    r.handle(secs(1), Input::Hold(true));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Advert(0),
            Out::State(State::Master, State::Backup, Reason::SyncGroup)
        ]
    );
    // The owner ignores adverts and waits for nobody: ready at once, no timer but the
    // handover's bound, Master_Down_Interval at priority 1: 1 s + 3 s + 255/256 s.
    assert!(r.ready());
    assert_eq!(r.poll_timeout(), Some(ns(4_996_093_750)));
    r.handle(secs(2), Input::Hold(false));
    assert_eq!(
        outs(&mut r),
        vec![
            Out::Add,
            Out::State(State::Backup, State::Master, Reason::SyncGroup)
        ]
    );
    assert_eq!(
        r.handover(),
        None,
        "becoming master again ends the handover"
    );
}
