//! Named scenarios on the simulated LAN, each asserting exact instants.
//!
//! Every expected instant is worked out by hand in a comment from RFC 5798 §6.1:
//!   Skew_Time            = (256 - Priority) * Master_Adver_Interval / 256   (v3, cs)
//!                        = (256 - Priority) / 256 s                        (v2)
//!   Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time
//! Values used again and again (interval 100 cs = 1 s):
//!   priority 150: skew = 106/256 s = 0.4140625 s, MDI = 3.4140625 s
//!   priority 120: skew = 136/256 s = 0.53125 s,   MDI = 3.53125 s
//!   priority 100: skew = 156/256 s = 0.609375 s,  MDI = 3.609375 s
//! Node ids: A = 0, B = 1, C = 2 (in the order they are given to the builder).

use std::net::IpAddr;
use std::time::Duration;

use vipd_engine::{Config, FaultCause, Input, Instant, Reason, State};
use vipd_sim::cfg::{v2_ipv4, v3_ipv4, v3_ipv6, v4_host, v6_host, vip_v4, VRID};
use vipd_sim::{at, NodeId, Sim, What};
use vipd_wire::{Advert, RxError, V2Auth, V3Checksum, Version, MULTICAST_V4};

const A: NodeId = 0;
const B: NodeId = 1;
const C: NodeId = 2;
const ZERO: Duration = Duration::ZERO;
const US100: Duration = Duration::from_micros(100);

fn lan(latency: Duration, cfgs: Vec<Config>) -> Sim {
    let mut b = Sim::builder().latency(latency).check_invariants(true);
    for c in cfgs {
        b = b.node(c);
    }
    b.build().expect("valid configurations")
}

/// The LAN most scenarios use, not started yet: A = 192.0.2.1 at priority 150 and
/// B = 192.0.2.2 at priority 100, both VRRPv3 advertising every 1 s.
fn pair(latency: Duration) -> Sim {
    lan(latency, vec![v3_ipv4(1, 150, 100), v3_ipv4(2, 100, 100)])
}

/// [`pair`], both started at 0.
fn started_pair(latency: Duration) -> Sim {
    let mut sim = pair(latency);
    sim.start_all();
    sim
}

fn assert_clean(sim: &Sim) {
    assert!(
        sim.violations().is_empty(),
        "invariant violations: {:#?}",
        sim.violations()
    );
}

fn no_preempt(mut c: Config) -> Config {
    c.preempt = false;
    c
}

fn sent_priorities(sim: &Sim, node: NodeId, from: Instant, to: Instant) -> Vec<(Instant, u8)> {
    sim.records_of(node)
        .filter(|r| r.at >= from && r.at <= to)
        .filter_map(|r| match r.what {
            What::SentAdvert { priority } => Some((r.at, priority)),
            _ => None,
        })
        .collect()
}

fn announces(sim: &Sim, node: NodeId) -> Vec<(Instant, u32)> {
    sim.records_of(node)
        .filter_map(|r| match r.what {
            What::Announce { count } => Some((r.at, count)),
            _ => None,
        })
        .collect()
}

/// Everything recorded for `node` at `t`, in order.
fn records_at(sim: &Sim, node: NodeId, t: Instant) -> Vec<&What> {
    sim.records_of(node)
        .filter(|r| r.at == t)
        .map(|r| &r.what)
        .collect()
}

/// [`records_at`] without the actions applied to `node`: what it did itself.
fn did_at(sim: &Sim, node: NodeId, t: Instant) -> Vec<&What> {
    let mut seen = records_at(sim, node, t);
    seen.retain(|w| !matches!(w, What::Action(_)));
    seen
}

/// The last instant at which `node` received an advert from `from` at or before `t`.
fn last_heard(sim: &Sim, node: NodeId, from: NodeId, t: Instant) -> Option<Instant> {
    sim.records_of(node)
        .filter(|r| {
            r.at <= t && matches!(r.what, What::Received { from: Some(f), .. } if f == from)
        })
        .map(|r| r.at)
        .last()
}

/// Master entries of every node, in time order.
fn master_entries(sim: &Sim) -> Vec<(Instant, NodeId)> {
    sim.records()
        .iter()
        .filter(|r| {
            matches!(
                r.what,
                What::StateChanged {
                    to: State::Master,
                    ..
                }
            )
        })
        .map(|r| (r.at, r.node))
        .collect()
}

// ---- 1. failover after a crash --------------------------------------------------------

#[test]
fn crash_failover_measured_from_last_advert_heard() {
    let mut sim = started_pair(ZERO);
    // A: Startup at 0, MDI(150) = 3 s + 106 * 100 / 256 cs = 3.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(3, 414_062_500))
    );
    sim.run_until(at(10, 0));
    // A advertises at 3.4140625 + k s; the last one at or before 10 s is k = 6.
    assert_eq!(last_heard(&sim, B, A, at(10, 0)), Some(at(9, 414_062_500)));
    sim.crash(A);
    // B's Master_Down_Timer was reset when that advert arrived (latency 0):
    // 9.4140625 + MDI(100) = 9.4140625 + 3.609375 = 13.0234375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(13, 23_437_500))
    );
    assert_eq!(
        sim.transitions(B).last().map(|t| t.3),
        Some(Reason::MasterDown)
    );
    sim.run_until(at(60, 0));
    // The crashed A keeps its VIP in the kernel (SIGKILL), but only B is alive with it.
    assert!(sim.holds_vip(A));
    assert_eq!(sim.vip_holders(), vec![B]);
    assert_eq!(
        sim.entered(B, State::Master, at(0, 0)),
        Some(at(13, 23_437_500))
    );
    assert_clean(&sim);
}

#[test]
fn crash_failover_with_latency_counts_from_arrival() {
    let mut sim = started_pair(US100);
    sim.run_until(at(10, 0));
    // Sent at 9.4140625, arrives 100 us later.
    assert_eq!(last_heard(&sim, B, A, at(10, 0)), Some(at(9, 414_162_500)));
    sim.crash(A);
    // 9.4141625 + 3.609375 = 13.0235375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(13, 23_537_500))
    );
    assert_clean(&sim);
}

#[test]
fn advert_in_flight_when_sender_crashes_still_resets_the_timer() {
    let mut sim = started_pair(US100);
    // A sends at 9.4140625; crash 50 us later, while the advert is on the wire.
    sim.run_until(at(9, 414_112_500));
    sim.crash(A);
    sim.run_until(at(9, 500_000_000));
    assert_eq!(last_heard(&sim, B, A, at(10, 0)), Some(at(9, 414_162_500)));
    // 9.4141625 + 3.609375 = 13.0235375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(13, 23_537_500))
    );
}

// ---- 2. graceful shutdown: priority 0 ---------------------------------------------------

#[test]
fn priority_zero_shutdown_takeover_after_skew_time() {
    let mut sim = started_pair(US100);
    sim.run_until(at(10, 0));
    sim.stop(A);
    // A, all at 10 s: priority-0 advert, then Stopped; it keeps the VIP
    // (make-before-break).
    let a_at_10 = did_at(&sim, A, at(10, 0));
    assert_eq!(
        a_at_10,
        vec![
            &What::SentAdvert { priority: 0 },
            &What::StateChanged {
                from: State::Master,
                to: State::Stopped,
                reason: Reason::Shutdown
            }
        ]
    );
    assert_eq!(sim.vip_holders(), vec![A]);
    // B receives it at 10.0001 s and sets the Master_Down_Timer to Skew_Time:
    // 156 * 100 / 256 cs = 60.9375 cs; 10.0001 + 0.609375 = 10.609475 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(10, 609_475_000))
    );
    // Both hold it until B's first advert reaches A, 100 us later, and HANDOVER_GRACE
    // (20 ms) more: only then does A remove it.
    assert_eq!(sim.vip_holders(), vec![A, B]);
    sim.run_until(at(10, 609_575_000));
    // Hearing it completes the handover (reported once, with the new master).
    assert_eq!(
        did_at(&sim, A, at(10, 609_575_000)),
        vec![
            &What::Received {
                from: Some(B),
                priority: Some(100)
            },
            &What::NewMasterHeard {
                from: std::net::IpAddr::from([192, 0, 2, 2])
            }
        ]
    );
    sim.run_until(at(10, 629_575_000));
    assert_eq!(did_at(&sim, A, at(10, 629_575_000)), vec![&What::DelVips]);
    assert_eq!(sim.vip_holders(), vec![B]);
    // A starts again at 20 s (same process): Startup, Backup, then it discards B's
    // lower-priority adverts and takes over at 20 + 3.4140625 = 23.4140625 s.
    sim.run_until(at(20, 0));
    sim.start(A);
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(23, 414_062_500))
    );
    // B hears it 100 us later.
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(23, 414_162_500))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

// ---- 3. startup -------------------------------------------------------------------------

#[test]
fn startup_higher_priority_becomes_master_at_its_own_master_down_interval() {
    let mut sim = started_pair(ZERO);
    sim.run_until(at(120, 0));
    // Both enter Backup at 0; A's MDI(150) = 3.4140625 s expires first.
    assert_eq!(sim.entered(A, State::Backup, at(0, 0)), Some(at(0, 0)));
    assert_eq!(sim.entered(B, State::Backup, at(0, 0)), Some(at(0, 0)));
    assert_eq!(
        sim.entered(A, State::Master, at(0, 0)),
        Some(at(3, 414_062_500))
    );
    assert_eq!(sim.entered(B, State::Master, at(0, 0)), None);
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_eq!(sim.status(B).master, Some((v4_host(1), 150)));
    assert_clean(&sim);
}

#[test]
fn owner_is_master_at_once_and_preempts_immediately() {
    // Owner and backup started together.
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 255, 100), v3_ipv4(2, 100, 100)]);
    sim.start_all();
    sim.run_until(at(60, 0));
    assert_eq!(
        sim.transitions(A).first().copied(),
        Some((at(0, 0), State::Initialize, State::Master, Reason::Owner))
    );
    assert_eq!(sim.entered(B, State::Master, at(0, 0)), None);

    // A backup that has been master for a while; the owner appears at 5 s.
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 255, 100), v3_ipv4(2, 100, 100)]);
    sim.start(B);
    // B alone: MDI(100) = 3.609375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(3, 609_375_000))
    );
    sim.run_until(at(5, 0));
    sim.start(A);
    // The owner is master at 5 s; its advert reaches B at once (latency 0).
    assert_eq!(sim.entered(A, State::Master, at(5, 0)), Some(at(5, 0)));
    assert_eq!(sim.entered(B, State::Backup, at(5, 0)), Some(at(5, 0)));
    sim.run_until(at(60, 0));
    // The owner drops every advert, including B's farewell.
    assert!(
        sim.status(A)
            .drops
            .get("owner_ignores")
            .copied()
            .unwrap_or(0)
            >= 1
    );
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

// ---- 4. preemption ----------------------------------------------------------------------

#[test]
fn preempt_higher_priority_joining_later_takes_over_at_its_own_mdi() {
    let mut sim = pair(US100);
    sim.start(B);
    // B alone: 3.609375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(3, 609_375_000))
    );
    sim.run_until(at(10, 0));
    sim.start(A);
    // A discards B's adverts (priority 100 < 150, preempt): its Master_Down_Timer is
    // never reset and expires at 10 + 3.4140625 = 13.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(13, 414_062_500))
    );
    // A did receive B's adverts meanwhile (sent 10.609375, 11.609375, 12.609375).
    assert_eq!(last_heard(&sim, A, B, at(13, 0)), Some(at(12, 609_475_000)));
    // B steps down when A's advert arrives, 100 us later.
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(13, 414_162_500))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_eq!(
        sim.transitions(B).last().map(|t| t.3),
        Some(Reason::HigherPriority)
    );
    assert_clean(&sim);
}

#[test]
fn no_preempt_higher_priority_joining_later_stays_backup() {
    let mut sim = lan(
        US100,
        vec![no_preempt(v3_ipv4(1, 150, 100)), v3_ipv4(2, 100, 100)],
    );
    sim.start(B);
    sim.run_until(at(10, 0));
    sim.start(A);
    sim.run_until(at(600, 0));
    assert_eq!(sim.entered(A, State::Master, at(0, 0)), None);
    assert_eq!(sim.state(A), State::Backup);
    assert_eq!(sim.status(A).master, Some((v4_host(2), 100)));
    // B became master once, at 3.609375 s, and stayed.
    assert_eq!(master_entries(&sim), vec![(at(3, 609_375_000), B)]);
    assert_eq!(sim.vip_holders(), vec![B]);
    assert_clean(&sim);
}

#[test]
fn preempt_delay_postpones_takeover_until_after_the_delay() {
    let mut a = v3_ipv4(1, 150, 100);
    a.preempt_delay = Duration::from_secs(5);
    let mut sim = lan(ZERO, vec![a, v3_ipv4(2, 100, 100)]);
    sim.start(B);
    sim.run_until(at(10, 0));
    sim.start(A);
    // Hold until 10 + 5 = 15 s. B advertises at 3.609375 + k s: the one at 14.609375
    // is still accepted (resets A's timer), the one at 15.609375 is discarded.
    // A takes over at 14.609375 + 3.4140625 = 18.0234375 s (without the delay it
    // would have been 13.4140625 s).
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(18, 23_437_500))
    );
    assert_eq!(
        sim.entered(B, State::Backup, at(10, 0)),
        Some(at(18, 23_437_500))
    );
    assert_clean(&sim);
}

// ---- 5. tie-break -----------------------------------------------------------------------

#[test]
fn equal_priorities_tie_break_by_higher_primary_address() {
    for (first, second) in [(1u8, 2u8), (2, 1)] {
        let mut sim = lan(
            US100,
            vec![v3_ipv4(first, 100, 100), v3_ipv4(second, 100, 100)],
        );
        sim.start_all();
        sim.run_until(at(60, 0));
        let (low, high) = if first < second { (A, B) } else { (B, A) };
        // Same MDI (3.609375 s) for both: both become master at once...
        assert_eq!(
            sim.entered(low, State::Master, at(0, 0)),
            Some(at(3, 609_375_000))
        );
        assert_eq!(
            sim.entered(high, State::Master, at(0, 0)),
            Some(at(3, 609_375_000))
        );
        // ...and 192.0.2.1 yields when 192.0.2.2's advert arrives, 100 us later.
        assert_eq!(
            sim.entered(low, State::Backup, at(1, 0)),
            Some(at(3, 609_475_000))
        );
        assert_eq!(sim.entered(high, State::Backup, at(1, 0)), None);
        assert_eq!(sim.vip_holders(), vec![high]);
        assert_eq!(sim.episodes().len(), 1);
        assert_eq!(sim.episodes()[0].start, at(3, 609_375_000));
        assert_eq!(sim.episodes()[0].end, Some(at(3, 609_475_000)));
        assert_clean(&sim);
    }
}

// ---- 6. VRRPv3 learns the master's interval ---------------------------------------------

#[test]
fn v3_backup_learns_master_advert_interval() {
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 150, 50), v3_ipv4(2, 100, 100)]);
    sim.start_all();
    // A: 3 * 50 cs + 106 * 50 / 256 cs = 1.5 + 0.20703125 = 1.70703125 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(1, 707_031_250))
    );
    sim.run_until(at(5, 0));
    assert_eq!(sim.status(B).master_adver_interval_cs, 50);
    // A advertises every 0.5 s from 1.70703125: the last by 5 s is 4.70703125.
    assert_eq!(last_heard(&sim, B, A, at(5, 0)), Some(at(4, 707_031_250)));
    sim.crash(A);
    // B's MDI with the learned 50 cs: 3 * 50 cs + 156 * 50 / 256 cs = 1.5 + 0.3046875
    // = 1.8046875 s (not 3.609375 s); 4.70703125 + 1.8046875 = 6.51171875 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(6, 511_718_750))
    );
    assert_clean(&sim);
}

// ---- 7. VRRPv2 ----------------------------------------------------------------------------

#[test]
fn v2_interval_mismatch_dropped_and_backup_takes_over() {
    let mut sim = lan(ZERO, vec![v2_ipv4(1, 150, 100), v2_ipv4(2, 100, 200)]);
    sim.start_all();
    // A: 3 * 1 s + (256 - 150) / 256 s = 3.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(3, 414_062_500))
    );
    // B drops every advert of A (1 s vs its 2 s) and takes over when its own
    // MDI runs out: 3 * 2 s + (256 - 100) / 256 s = 6.609375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(6, 609_375_000))
    );
    // Dropped by then: A's adverts of 3.4140625, 4.41.., 5.41.., 6.41.. s.
    assert_eq!(sim.status(B).drops.get("interval_mismatch"), Some(&4));
    assert_eq!(sim.status(B).adverts_received, 0);
    sim.run_until(at(20, 0));
    // A misconfiguration: neither hears the other, both stay master.
    assert_eq!(sim.masters(), vec![A, B]);
    assert!(
        sim.status(A)
            .drops
            .get("interval_mismatch")
            .copied()
            .unwrap_or(0)
            > 0
    );
    // Not compatible, so the split-brain invariant does not cover this pair.
    assert!(!sim.compatible(A, B));
    assert_clean(&sim);
}

#[test]
fn v2_skew_time_is_in_seconds_whatever_the_interval() {
    let mut sim = lan(ZERO, vec![v2_ipv4(1, 150, 200), v2_ipv4(2, 100, 200)]);
    sim.start_all();
    // A: 3 * 2 s + 106 / 256 s = 6.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(6, 414_062_500))
    );
    sim.run_until(at(10, 0));
    sim.stop(A);
    // v2 Skew_Time = (256 - 100) / 256 s = 0.609375 s (the v3 formula would give
    // 156 * 200 / 256 cs = 1.21875 s): 10 + 0.609375 = 10.609375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(10, 609_375_000))
    );
    assert_clean(&sim);
}

// ---- 8. a master hearing a lower priority answers at once ----------------------------------

#[test]
fn master_hearing_lower_priority_answers_at_once_and_announces() {
    let mut sim = pair(US100);
    // Isolated from the start, B becomes master alone at 3.609375 s.
    sim.partition(&[&[A], &[B]]);
    sim.start(B);
    sim.run_until(at(1, 0));
    sim.start(A);
    // A alone: 1 + 3.4140625 = 4.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(4, 414_062_500))
    );
    sim.run_until(at(4, 500_000_000));
    sim.heal();
    // B's next advert is sent at 4.609375 and reaches A at 4.609475 s: A answers in
    // the same instant with an advert and a gratuitous-ARP burst.
    sim.run_until(at(4, 609_475_000));
    let at_rx = records_at(&sim, A, at(4, 609_475_000));
    assert_eq!(
        at_rx,
        vec![
            &What::Received {
                from: Some(B),
                priority: Some(100)
            },
            &What::SentAdvert { priority: 150 },
            &What::Announce { count: 3 },
        ]
    );
    // The answer reaches B 100 us later: it steps down.
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(4, 609_575_000))
    );
    sim.run_until(at(30, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

// ---- 9. partition and heal ------------------------------------------------------------------

#[test]
fn partition_makes_two_masters_heal_converges_to_the_higher_one() {
    let mut sim = started_pair(US100);
    sim.run_until(at(5, 0));
    sim.partition(&[&[A], &[B]]);
    // B last heard A's advert of 4.4140625 at 4.4141625 s:
    // 4.4141625 + 3.609375 = 8.0235375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(8, 23_537_500))
    );
    sim.run_until(at(10, 0));
    // Two masters with the VIP, but they cannot hear each other: allowed.
    assert_eq!(sim.vip_holders(), vec![A, B]);
    assert!(sim.episodes().is_empty());
    sim.heal();
    // B advertises at 8.0235375 + k s; the first after the heal is 10.0235375 s. It
    // reaches A at 10.0236375 s (A answers at once), the answer reaches B at
    // 10.0237375 s: 23.7375 ms after the heal, within one interval + latency.
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(10, 23_737_500))
    );
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_eq!(sim.episodes().len(), 1);
    assert_eq!(sim.episodes()[0].start, at(10, 0));
    assert_eq!(sim.episodes()[0].end, Some(at(10, 23_737_500)));
    assert!(sim.episodes()[0].duration(sim.now()) <= sim.grace(A, B));
    sim.run_until(at(10, 500_000_000));
    // The winner answered B's advert (10.0236375 s) and B's farewell advert (sent as
    // B stepped down, arriving 10.0238375 s) with an advert and an announcement each:
    // at most two bursts per own Advertisement_Interval (1 s), so that the last
    // gratuitous ARPs the hosts hear are the winner's even when the loser announced
    // just before it stepped down (router.rs, `lower_priority_heard`).
    assert_eq!(
        sent_priorities(&sim, A, at(10, 0), at(10, 500_000_000)),
        vec![(at(10, 23_637_500), 150), (at(10, 23_837_500), 150)]
    );
    let after_heal: Vec<(Instant, u32)> = announces(&sim, A)
        .into_iter()
        .filter(|(t, _)| *t >= at(10, 0))
        .collect();
    assert_eq!(
        after_heal,
        vec![(at(10, 23_637_500), 3), (at(10, 23_837_500), 3)]
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

#[test]
fn three_way_partition_heal_converges_to_the_highest() {
    let mut sim = lan(
        US100,
        vec![
            v3_ipv4(1, 150, 100),
            v3_ipv4(2, 120, 100),
            v3_ipv4(3, 100, 100),
        ],
    );
    sim.partition(&[&[A], &[B], &[C]]);
    sim.start_all();
    sim.run_until(at(10, 0));
    // Each alone: 3.4140625, 3.53125 and 3.609375 s.
    assert_eq!(
        sim.entered(A, State::Master, at(0, 0)),
        Some(at(3, 414_062_500))
    );
    assert_eq!(
        sim.entered(B, State::Master, at(0, 0)),
        Some(at(3, 531_250_000))
    );
    assert_eq!(
        sim.entered(C, State::Master, at(0, 0)),
        Some(at(3, 609_375_000))
    );
    sim.heal();
    // The first advert after 10 s is A's of 10.4140625 s; it reaches B and C at
    // 10.4141625 s and both step down (their own next adverts were due at 10.53125
    // and 10.609375 s).
    sim.run_until(at(11, 0));
    assert_eq!(
        sim.entered(B, State::Backup, at(10, 0)),
        Some(at(10, 414_162_500))
    );
    assert_eq!(
        sim.entered(C, State::Backup, at(10, 0)),
        Some(at(10, 414_162_500))
    );
    assert_eq!(sim.vip_holders(), vec![A]);
    sim.run_until(at(60, 0));
    assert_eq!(sim.masters(), vec![A]);
    assert_clean(&sim);
}

// ---- 10. three nodes: second best wins, original preempts back ------------------------------

#[test]
fn three_nodes_crash_second_best_wins_then_original_takes_back() {
    let mut sim = lan(
        ZERO,
        vec![
            v3_ipv4(1, 150, 100),
            v3_ipv4(2, 120, 100),
            v3_ipv4(3, 100, 100),
        ],
    );
    sim.start_all();
    sim.run_until(at(10, 0));
    sim.crash(A);
    // Last advert of A: 9.4140625 s. B: 9.4140625 + 3.53125 = 12.9453125 s; C would
    // have been 9.4140625 + 3.609375 = 13.0234375 s but hears B first.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(12, 945_312_500))
    );
    sim.run_until(at(20, 0));
    assert_eq!(sim.entered(C, State::Master, at(0, 0)), None);
    assert_eq!(sim.vip_holders(), vec![B]);
    // A restarts at 20 s: a fresh process whose Startup first deletes the VIP that the
    // crash left behind.
    assert!(sim.holds_vip(A));
    sim.start(A);
    assert!(!sim.holds_vip(A));
    // It discards B's 120 adverts and takes over at 20 + 3.4140625 = 23.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(23, 414_062_500))
    );
    assert_eq!(
        sim.entered(B, State::Backup, at(20, 0)),
        Some(at(23, 414_062_500))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_eq!(
        master_entries(&sim),
        vec![
            (at(3, 414_062_500), A),
            (at(12, 945_312_500), B),
            (at(23, 414_062_500), A)
        ]
    );
    assert_clean(&sim);
}

#[test]
fn crash_leftover_vip_is_deleted_first_on_restart() {
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 150, 100)]);
    sim.start(A);
    sim.run_until(at(10, 0));
    sim.crash(A);
    sim.run_until(at(15, 0));
    assert!(sim.holds_vip(A));
    assert!(sim.vip_holders().is_empty());
    sim.start(A);
    let first_output = sim
        .records_of(A)
        .find(|r| r.at == at(15, 0) && !matches!(r.what, What::Action(_)))
        .map(|r| r.what.clone());
    assert_eq!(first_output, Some(What::DelVips));
    // Fresh MDI from the restart: 15 + 3.4140625 = 18.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(18, 414_062_500))
    );
    assert_clean(&sim);
}

// ---- 11. link down / up ----------------------------------------------------------------------

#[test]
fn link_down_on_master_faults_backup_takes_over_link_up_preempts_back() {
    let mut sim = started_pair(ZERO);
    sim.run_until(at(10, 0));
    sim.link_down(A);
    // A: straight to Fault, VIPs deleted, no advert (the link is down).
    assert_eq!(
        sim.transitions(A).last().copied(),
        Some((
            at(10, 0),
            State::Master,
            State::Fault,
            Reason::Fault(FaultCause::LinkDown)
        ))
    );
    assert!(!sim.holds_vip(A));
    assert!(sent_priorities(&sim, A, at(10, 0), at(10, 0)).is_empty());
    // B: last advert 9.4140625 s, + 3.609375 = 13.0234375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(13, 23_437_500))
    );
    sim.run_until(at(20, 0));
    sim.link_up(A);
    assert_eq!(
        sim.transitions(A).last().copied(),
        Some((at(20, 0), State::Fault, State::Backup, Reason::Recovered))
    );
    // 20 + 3.4140625 = 23.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(23, 414_062_500))
    );
    assert_eq!(
        sim.entered(B, State::Backup, at(20, 0)),
        Some(at(23, 414_062_500))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

#[test]
fn link_down_on_backup_is_fault_without_vip_changes() {
    let mut sim = started_pair(ZERO);
    sim.run_until(at(10, 0));
    sim.link_down(B);
    assert_eq!(sim.state(B), State::Fault);
    assert_eq!(sim.router(B).poll_timeout(), None);
    assert_eq!(sim.instants_of(B, |w| *w == What::DelVips), vec![at(0, 0)]);
    sim.run_until(at(20, 0));
    sim.link_up(B);
    // Back to Backup; A's adverts keep it there.
    sim.run_until(at(60, 0));
    assert_eq!(sim.state(B), State::Backup);
    assert_eq!(master_entries(&sim), vec![(at(3, 414_062_500), A)]);
    assert_clean(&sim);
}

// ---- 12. tracked objects ---------------------------------------------------------------------

#[test]
fn tracked_weight_drops_master_below_backup_which_preempts() {
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 150, 100), v3_ipv4(2, 120, 100)]);
    sim.start_all();
    sim.run_until(at(10, 0));
    sim.set_tracked(A, -50, false);
    assert_eq!(sim.status(A).effective_priority, 100);
    // A's adverts: 150 at 9.4140625 s, then 100 from 10.4140625 s, which B discards.
    assert_eq!(
        sent_priorities(&sim, A, at(9, 0), at(11, 0)),
        vec![(at(9, 414_062_500), 150)]
    );
    // B: last accepted 9.4140625 s, + MDI(120) 3.53125 s = 12.9453125 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(12, 945_312_500))
    );
    assert_eq!(
        sent_priorities(&sim, A, at(10, 0), at(12, 0)),
        vec![(at(10, 414_062_500), 100), (at(11, 414_062_500), 100)]
    );
    assert_eq!(
        sim.entered(A, State::Backup, at(10, 0)),
        Some(at(12, 945_312_500))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![B]);
    assert_clean(&sim);
}

#[test]
fn tracked_fault_master_sends_priority_zero_backup_takes_over_after_skew() {
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 150, 100), v3_ipv4(2, 120, 100)]);
    sim.start_all();
    sim.run_until(at(10, 0));
    sim.set_tracked(A, 0, true);
    assert_eq!(
        sent_priorities(&sim, A, at(10, 0), at(10, 0)),
        vec![(at(10, 0), 0)]
    );
    assert_eq!(
        sim.transitions(A).last().copied(),
        Some((
            at(10, 0),
            State::Master,
            State::Fault,
            Reason::Fault(FaultCause::Tracked)
        ))
    );
    // B: Skew_Time(120) = 136 * 100 / 256 cs = 0.53125 s after receipt at 10 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(10, 531_250_000))
    );
    sim.run_until(at(20, 0));
    sim.set_tracked(A, 0, false);
    // Recovered at 20 s; takes back at 23.4140625 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(23, 414_062_500))
    );
    assert_clean(&sim);
}

#[test]
fn effective_priority_is_clamped_to_1_through_254() {
    // +100 on 200 would be 300: clamped to 254, not 255 (not an owner, not at once).
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 200, 100)]);
    sim.set_tracked(A, 100, false);
    sim.start(A);
    assert_eq!(sim.status(A).effective_priority, 254);
    // MDI(254) = 3 s + 2 * 100 / 256 cs = 3.0078125 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(3, 7_812_500))
    );
    sim.run_until(at(6, 0));
    assert_eq!(
        sent_priorities(&sim, A, at(0, 0), at(6, 0)),
        vec![
            (at(3, 7_812_500), 254),
            (at(4, 7_812_500), 254),
            (at(5, 7_812_500), 254)
        ]
    );

    // -1000 on 50: clamped to 1, never 0 (which would mean "leaving").
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 50, 100)]);
    sim.set_tracked(A, -1000, false);
    sim.start(A);
    assert_eq!(sim.status(A).effective_priority, 1);
    // MDI(1) = 3 s + 255 * 100 / 256 cs = 3.99609375 s.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(3, 996_093_750))
    );
    sim.run_until(at(5, 0));
    assert_eq!(
        sent_priorities(&sim, A, at(0, 0), at(5, 0)),
        vec![(at(3, 996_093_750), 1), (at(4, 996_093_750), 1)]
    );

    // The owner is never adjusted.
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 255, 100)]);
    sim.set_tracked(A, -100, false);
    sim.start(A);
    assert_eq!(sim.status(A).effective_priority, 255);
    assert_eq!(sim.entered(A, State::Master, at(0, 0)), Some(at(0, 0)));
}

// ---- 13. VIP add failures --------------------------------------------------------------------

#[test]
fn vip_add_failure_faults_without_an_advert_and_retries() {
    let mut sim = pair(US100);
    sim.set_vip_add_ok(A, false);
    sim.start_all();
    sim.run_until(at(5, 0));
    // At 3.4140625 s A becomes master, the add fails, it goes to Fault, all at once,
    // and without a single advert: neither its own (only sent once the VIPs are
    // confirmed) nor a priority-0 one (no one ever yielded to it).
    let t = at(3, 414_062_500);
    let seq = records_at(&sim, A, t);
    assert_eq!(
        seq,
        vec![
            &What::AddVips,
            &What::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterDown
            },
            &What::VipApplied { ok: false },
            &What::DelVips,
            &What::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: Reason::Fault(FaultCause::VipAddFailed)
            },
        ]
    );
    assert_eq!(sent_priorities(&sim, A, at(0, 0), at(5, 0)), vec![]);
    // B never heard A, so its Master_Down_Timer from Startup runs out:
    // MDI(100) = 3.609375 s.
    assert_eq!(last_heard(&sim, B, A, at(5, 0)), None);
    assert_eq!(
        sim.entered(B, State::Master, at(0, 0)),
        Some(at(3, 609_375_000))
    );
    assert_eq!(sim.vip_holders(), vec![B]);
    // The cause is fixed before the retry (fault_retry 10 s): at 13.4140625 s A is
    // Backup again, discards B's 100 adverts and takes over at
    // 13.4140625 + 3.4140625 = 16.828125 s.
    sim.run_until(at(12, 0));
    sim.set_vip_add_ok(A, true);
    assert_eq!(
        sim.run_until_state(A, State::Backup, at(60, 0)),
        Some(at(13, 414_062_500))
    );
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(16, 828_125_000))
    );
    // Its first advert (16.828125 s, once the VIPs are confirmed) reaches B 100 us
    // later; B yields.
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(16, 828_225_000))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    // The invariant checker saw no master without its VIP at the end of any instant.
    assert_clean(&sim);
}

#[test]
fn persistent_vip_failure_backs_off_and_never_displaces_the_master() {
    // A preempting node whose VIP add keeps failing becomes master (in its own eyes)
    // after each retry + MDI, fails at once and goes back to Fault without a single
    // advert, so the healthy master B never yields to it; and it retries less and
    // less often: fault_retry (10 s), then 20, 40, 80, 160 and at most 300 s.
    let mut sim = pair(US100);
    sim.set_vip_add_ok(A, false);
    sim.start_all();
    sim.run_until(at(700, 0));
    // Each failure is one MDI(150) = 3.4140625 s after A is back in Backup (it
    // discards B's priority-100 adverts):
    //   fails 3.4140625                 -> Backup + 10 s  = 13.4140625
    //   fails 13.4140625 + 3.4140625     = 16.828125   -> + 20 s  = 36.828125
    //   fails 36.828125 + 3.4140625      = 40.2421875  -> + 40 s  = 80.2421875
    //   fails 80.2421875 + 3.4140625     = 83.65625    -> + 80 s  = 163.65625
    //   fails 163.65625 + 3.4140625      = 167.0703125 -> + 160 s = 327.0703125
    //   fails 327.0703125 + 3.4140625    = 330.484375  -> + 300 s (320 capped) = 630.484375
    //   fails 630.484375 + 3.4140625     = 633.8984375 -> + 300 s = 933.8984375
    assert_eq!(
        sim.instants_of(A, |w| *w == What::VipApplied { ok: false }),
        vec![
            at(3, 414_062_500),
            at(16, 828_125_000),
            at(40, 242_187_500),
            at(83, 656_250_000),
            at(167, 70_312_500),
            at(330, 484_375_000),
            at(633, 898_437_500),
        ]
    );
    let retries: Vec<Instant> = sim
        .transitions(A)
        .into_iter()
        .filter(|t| (t.1, t.2, t.3) == (State::Fault, State::Backup, Reason::Recovered))
        .map(|t| t.0)
        .collect();
    assert_eq!(
        retries,
        vec![
            at(13, 414_062_500),
            at(36, 828_125_000),
            at(80, 242_187_500),
            at(163, 656_250_000),
            at(327, 70_312_500),
            at(630, 484_375_000),
        ]
    );
    assert_eq!(sim.router(A).poll_timeout(), Some(at(933, 898_437_500)));
    // A never sent an advert, of any priority.
    assert_eq!(sent_priorities(&sim, A, at(0, 0), at(700, 0)), vec![]);
    // B, never having heard A, is master at its own MDI(100) = 3.609375 s and is
    // never displaced: it never leaves Master, it never re-announces (nothing to
    // answer), and it is the only VIP holder throughout.
    assert_eq!(
        sim.transitions(B),
        vec![
            (at(0, 0), State::Initialize, State::Backup, Reason::Startup),
            (
                at(3, 609_375_000),
                State::Backup,
                State::Master,
                Reason::MasterDown
            ),
        ]
    );
    assert_eq!(
        announces(&sim, B),
        vec![(at(3, 609_375_000), 3), (at(5, 609_375_000), 3)]
    );
    assert_eq!(
        master_entries(&sim),
        vec![
            (at(3, 414_062_500), A),
            (at(3, 609_375_000), B),
            (at(16, 828_125_000), A),
            (at(40, 242_187_500), A),
            (at(83, 656_250_000), A),
            (at(167, 70_312_500), A),
            (at(330, 484_375_000), A),
            (at(633, 898_437_500), A),
        ]
    );
    assert_eq!(sim.vip_holders(), vec![B]);
    assert!(sim.episodes().is_empty());
    assert_clean(&sim);
}

#[test]
fn zero_fault_retry_retries_in_the_same_instant() {
    let mut c = v3_ipv4(1, 150, 100);
    c.fault_retry = Duration::ZERO;
    let mut sim = lan(ZERO, vec![c]);
    sim.set_vip_add_ok(A, false);
    sim.start(A);
    sim.run_until(at(7, 0));
    // Master, Fault and (retry due at once) Backup again, all at 3.4140625 s; the
    // next attempt one MDI later: 2 * 3.4140625 = 6.828125 s.
    let t1 = at(3, 414_062_500);
    let t2 = at(6, 828_125_000);
    assert_eq!(
        sim.transitions(A),
        vec![
            (at(0, 0), State::Initialize, State::Backup, Reason::Startup),
            (t1, State::Backup, State::Master, Reason::MasterDown),
            (
                t1,
                State::Master,
                State::Fault,
                Reason::Fault(FaultCause::VipAddFailed)
            ),
            (t1, State::Fault, State::Backup, Reason::Recovered),
            (t2, State::Backup, State::Master, Reason::MasterDown),
            (
                t2,
                State::Master,
                State::Fault,
                Reason::Fault(FaultCause::VipAddFailed)
            ),
            (t2, State::Fault, State::Backup, Reason::Recovered),
        ]
    );
    // Not a stuck timer: the due retry deadline was new, and firing it made progress.
    assert_clean(&sim);
}

// ---- 13b. advert send failures --------------------------------------------------------------

fn send_failures(sim: &Sim, node: NodeId) -> Vec<(Instant, u8)> {
    sim.records_of(node)
        .filter_map(|r| match r.what {
            What::SendFailed { priority } => Some((r.at, priority)),
            _ => None,
        })
        .collect()
}

#[test]
fn advert_send_failures_fault_the_master_and_it_retries_after_fault_retry() {
    let mut sim = started_pair(US100);
    sim.run_until(at(10, 0));
    // From 10 s A's adverts cannot be sent: those of 10.4140625, 11.4140625 and
    // 12.4140625 s fail; at the third A attempts a priority-0 advert (which fails
    // too), drops the VIP and goes to Fault.
    sim.set_advert_send_ok(A, false);
    sim.run_until(at(12, 500_000_000));
    assert_eq!(
        send_failures(&sim, A),
        vec![
            (at(10, 414_062_500), 150),
            (at(11, 414_062_500), 150),
            (at(12, 414_062_500), 150),
            (at(12, 414_062_500), 0)
        ]
    );
    assert_eq!(
        sim.transitions(A).last().copied(),
        Some((
            at(12, 414_062_500),
            State::Master,
            State::Fault,
            Reason::Fault(FaultCause::SendFailed)
        ))
    );
    assert!(!sim.holds_vip(A));
    assert_eq!(sim.status(A).reason.as_str(), "advert_send_failed");
    // B last heard A's advert of 9.4140625 s at 9.4141625 s:
    // 9.4141625 + 3.609375 = 13.0235375 s (A had already let go of the VIP).
    assert_eq!(last_heard(&sim, B, A, at(13, 0)), Some(at(9, 414_162_500)));
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(13, 23_537_500))
    );
    // Repaired at 20 s; the retry is due 10 s (fault_retry) after the fault:
    // 22.4140625 s, then A discards B's adverts and takes over at
    // 22.4140625 + 3.4140625 = 25.828125 s; B hears it 100 us later.
    sim.run_until(at(20, 0));
    sim.set_advert_send_ok(A, true);
    assert_eq!(
        sim.run_until_state(A, State::Backup, at(60, 0)),
        Some(at(22, 414_062_500))
    );
    assert_eq!(
        sim.transitions(A).last().map(|t| t.3),
        Some(Reason::Recovered)
    );
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(25, 828_125_000))
    );
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(25, 828_225_000))
    );
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    // The only overlap is the usual one-latency handover at 25.828125 s.
    assert_eq!(sim.episodes().len(), 1);
    assert_eq!(sim.episodes()[0].start, at(25, 828_125_000));
    assert_eq!(sim.episodes()[0].end, Some(at(25, 828_225_000)));
    assert_clean(&sim);
}

#[test]
fn persistent_send_failure_backs_off_doubling_the_fault_retry() {
    // A preempting node that can never send takes the VIP and announces it, while B
    // is master, once per round; B never re-announces, since it hears nothing from
    // A. No advert of A's ever gets out, so no round counts as a healthy master
    // stint and the wait in Fault doubles: 10 s, 20 s, 40 s.
    let mut sim = pair(US100);
    sim.set_advert_send_ok(A, false);
    sim.start_all();
    sim.run_until(at(80, 0));
    // Round 1: A master at MDI(150) = 3.4140625 s, its first advert fails (counted: 1)
    // and it announces. B, never having heard A, is master at MDI(100) = 3.609375 s;
    // its advert reaches A at 3.609475 s: A answers (fails, not counted: less than
    // one interval after the last failure counted) and announces. B's next adverts,
    // at A 4.609475 and 5.609475 s, are answered too (each fails, counted: 2, 3; a
    // burst with each, 1 s after the last one, and A's second burst at 3.4140625 +
    // 2 s in between): priority 0 attempted (fails), VIP dropped, Fault at 5.609475 s.
    // Retry at + 10 s.
    // Round 2: Backup at 15.609475 s, master at 15.609475 + 3.4140625 = 19.0235375 s,
    // then B's adverts of 19.609375, 20.609375 and 21.609375 s arrive 100 us later:
    // Fault at 21.609475 s, retry at 21.609475 + 20 = 41.609475 s. Round 3: master
    // at 45.0235375 s, Fault at 47.609475 s, next retry at 87.609475 s.
    // (Before failures were counted at most once per interval, each round ended one
    // second earlier, at the third failed send.)
    assert_eq!(
        send_failures(&sim, A),
        vec![
            (at(3, 414_062_500), 150),
            (at(3, 609_475_000), 150),
            (at(4, 609_475_000), 150),
            (at(5, 609_475_000), 150),
            (at(5, 609_475_000), 0),
            (at(19, 23_537_500), 150),
            (at(19, 609_475_000), 150),
            (at(20, 609_475_000), 150),
            (at(21, 609_475_000), 150),
            (at(21, 609_475_000), 0),
            (at(45, 23_537_500), 150),
            (at(45, 609_475_000), 150),
            (at(46, 609_475_000), 150),
            (at(47, 609_475_000), 150),
            (at(47, 609_475_000), 0),
        ]
    );
    let faults: Vec<(Instant, State)> = sim
        .transitions(A)
        .into_iter()
        .filter(|t| t.3 == Reason::Fault(FaultCause::SendFailed) || t.3 == Reason::Recovered)
        .map(|t| (t.0, t.2))
        .collect();
    assert_eq!(
        faults,
        vec![
            (at(5, 609_475_000), State::Fault),
            (at(15, 609_475_000), State::Backup),
            (at(21, 609_475_000), State::Fault),
            (at(41, 609_475_000), State::Backup),
            (at(47, 609_475_000), State::Fault),
        ]
    );
    assert_eq!(
        announces(&sim, A),
        vec![
            (at(3, 414_062_500), 3),
            (at(3, 609_475_000), 3),
            (at(4, 609_475_000), 3),
            (at(5, 414_062_500), 3),
            (at(5, 609_475_000), 3),
            (at(19, 23_537_500), 3),
            (at(19, 609_475_000), 3),
            (at(20, 609_475_000), 3),
            (at(21, 23_537_500), 3),
            (at(21, 609_475_000), 3),
            (at(45, 23_537_500), 3),
            (at(45, 609_475_000), 3),
            (at(46, 609_475_000), 3),
            (at(47, 23_537_500), 3),
            (at(47, 609_475_000), 3),
        ]
    );
    assert_eq!(
        announces(&sim, B),
        vec![(at(3, 609_375_000), 3), (at(5, 609_375_000), 3)]
    );
    assert_eq!(
        sim.transitions(B),
        vec![
            (at(0, 0), State::Initialize, State::Backup, Reason::Startup),
            (
                at(3, 609_375_000),
                State::Backup,
                State::Master,
                Reason::MasterDown
            ),
        ]
    );
    // Both held the VIP as masters in each round; the checker excuses it, as every
    // failed send counts as a lost advert.
    let eps: Vec<(Instant, Option<Instant>)> =
        sim.episodes().iter().map(|e| (e.start, e.end)).collect();
    assert_eq!(
        eps,
        vec![
            (at(3, 609_375_000), Some(at(5, 609_475_000))),
            (at(19, 23_537_500), Some(at(21, 609_475_000))),
            (at(45, 23_537_500), Some(at(47, 609_475_000))),
        ]
    );
    assert_eq!(sim.vip_holders(), vec![B]);
    assert_clean(&sim);
}

// ---- 14. malformed adverts ---------------------------------------------------------------------

fn advert(version: Version, vrid: u8, priority: u8, interval_cs: u16, vips: Vec<IpAddr>) -> Advert {
    Advert {
        version,
        vrid,
        priority,
        interval_cs,
        addresses: vips,
        auth: V2Auth::default(),
    }
}

#[test]
fn malformed_adverts_are_dropped_and_counted_without_any_effect() {
    let mut sim = started_pair(ZERO);
    // Between A's adverts (9.4140625 and 10.4140625 s).
    sim.run_until(at(10, 0));
    let src = v4_host(1);
    let dst = IpAddr::V4(MULTICAST_V4);
    // A priority-200 advert at 100 cs, as `from` would send it.
    let emit = |version, vrid, vips, from| {
        advert(version, vrid, 200, 100, vips)
            .emit(from, dst, V3Checksum::PseudoHeader)
            .expect("emit")
    };
    let good = emit(Version::V3, VRID, vec![vip_v4()], src);
    let mut bad_sum = good.clone();
    bad_sum[6] ^= 0xff;
    let v2 = emit(Version::V2, VRID, vec![vip_v4()], src);
    let vrid52 = emit(Version::V3, 52, vec![vip_v4()], src);
    let mut bad_type = good.clone();
    bad_type[0] = 0x32;
    let v6src = v6_host(9);
    let cases: Vec<(&str, IpAddr, u8, Vec<u8>)> = vec![
        ("bad_ttl", src, 254, good.clone()),
        ("bad_checksum", src, 255, bad_sum),
        ("bad_version", src, 255, v2),
        ("truncated", src, 255, good[..7].to_vec()),
        ("address_count", src, 255, good[..11].to_vec()),
        ("vrid_mismatch", src, 255, vrid52),
        ("bad_type", src, 255, bad_type),
        (
            "own_advert",
            v4_host(2),
            255,
            emit(Version::V3, VRID, vec![vip_v4()], v4_host(2)),
        ),
        ("wrong_family", v6src, 255, good.clone()),
    ];
    for (kind, src, ttl, bytes) in cases {
        let before_timeout = sim.router(B).poll_timeout();
        let before = sim.status(B);
        sim.inject(B, src, dst, ttl, &bytes);
        let after = sim.status(B);
        assert_eq!(sim.router(B).poll_timeout(), before_timeout, "{kind}");
        assert_eq!(after.state, State::Backup, "{kind}");
        assert_eq!(after.master, before.master, "{kind}");
        assert_eq!(after.adverts_received, before.adverts_received, "{kind}");
        assert_eq!(after.last_advert, before.last_advert, "{kind}");
        assert_eq!(after.drops.get(kind), Some(&1), "{kind}: {:?}", after.drops);
        assert_eq!(
            after.drops.values().sum::<u64>(),
            before.drops.values().sum::<u64>() + 1,
            "{kind}"
        );
    }
    // A packet refused by the driver is counted the same way.
    let before_timeout = sim.router(B).poll_timeout();
    sim.feed(B, Input::Rejected(RxError::NotVrrp(6)));
    assert_eq!(sim.router(B).poll_timeout(), before_timeout);
    assert_eq!(sim.status(B).drops.get("not_vrrp"), Some(&1));
    // And the good one does reset the timer: 10 + MDI(100) = 13.609375 s.
    sim.inject(B, src, dst, 255, &good);
    assert_eq!(sim.router(B).poll_timeout(), Some(at(13, 609_375_000)));
    sim.run_until(at(30, 0));
    assert_eq!(master_entries(&sim), vec![(at(3, 414_062_500), A)]);
    assert_clean(&sim);
}

// ---- 15. loss -------------------------------------------------------------------------------

fn lossy_run(seed: u64) -> Sim {
    let mut sim = Sim::builder()
        .latency(US100)
        .seed(seed)
        .loss_ppm(100_000) // 10 %
        .check_invariants(true)
        .node(v3_ipv4(1, 150, 100))
        .node(v3_ipv4(2, 120, 100))
        .node(v3_ipv4(3, 100, 100))
        .build()
        .expect("valid");
    sim.start_all();
    sim.run_until(at(600, 0));
    sim
}

#[test]
fn ten_percent_loss_for_ten_minutes_never_a_lasting_split_brain() {
    let sim = lossy_run(0x0dd_ba11);
    // The invariant (checked after every instant) holds: any two connected masters
    // resolve within one interval + latency of their last lost advert.
    assert_clean(&sim);
    let lost = sim
        .records()
        .iter()
        .filter(|r| matches!(r.what, What::Lost { .. }))
        .count();
    let sent: usize = (0..3)
        .map(|n| sent_priorities(&sim, n, at(0, 0), at(600, 0)).len())
        .sum();
    // About 10 % of the ~2 * 600 deliveries a second... of every advert times two
    // receivers.
    assert!(
        lost * 100 > sent * 2 * 8 && lost * 100 < sent * 2 * 12,
        "{lost}/{sent}"
    );
    // Spurious takeovers need three adverts in a row lost to one backup (p = 1e-3
    // per second per backup): a handful at most in 600 s.
    let entries = master_entries(&sim);
    assert_eq!(entries[0], (at(3, 414_062_500), A));
    assert!(entries.len() <= 12, "{entries:?}");
    // A gets it back every time, and holds it at the end.
    assert_eq!(sim.vip_holders(), vec![A]);
    // Each overlap of two masters is short: one interval + latency after the last loss
    // between them, so never more than a few seconds in all.
    for e in sim.episodes() {
        assert!(e.end.is_some(), "{e:?}");
        assert!(e.duration(sim.now()) < Duration::from_secs(5), "{e:?}");
    }
    let total: Duration = sim.episodes().iter().map(|e| e.duration(sim.now())).sum();
    assert!(total < Duration::from_secs(10), "{total:?}");
}

#[test]
fn loss_invariant_holds_for_many_seeds_and_loss_can_stretch_an_overlap() {
    let mut longest = Duration::ZERO;
    for seed in 1..=8 {
        let sim = lossy_run(seed);
        assert_clean(&sim);
        assert_eq!(sim.vip_holders(), vec![A], "seed {seed}");
        for e in sim.episodes() {
            longest = longest.max(e.duration(sim.now()));
        }
    }
    // Seed 3 has an overlap of B and A from 43.9454125 to 44.9456125 s, 1.0002 s:
    // longer than one interval + latency (1.0001 s), which the checker accepts only
    // because adverts between the two were lost meanwhile.
    assert_eq!(longest, Duration::from_micros(1_000_200));
}

#[test]
fn simulation_is_deterministic_for_a_seed() {
    let a = lossy_run(7);
    let b = lossy_run(7);
    assert_eq!(a.records(), b.records());
    let c = lossy_run(8);
    assert_ne!(a.records(), c.records());
}

// ---- 16. IPv6 -------------------------------------------------------------------------------

#[test]
fn ipv6_basic_failover() {
    let mut sim = lan(ZERO, vec![v3_ipv6(1, 150, 100), v3_ipv6(2, 100, 100)]);
    sim.start_all();
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(3, 414_062_500))
    );
    sim.run_until(at(10, 0));
    assert_eq!(sim.status(B).master, Some((v6_host(1), 150)));
    assert!(sim.status(B).drops.is_empty());
    sim.crash(A);
    // 9.4140625 + 3.609375 = 13.0234375 s, as over IPv4.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(13, 23_437_500))
    );
    assert_eq!(sim.vip_holders(), vec![B]);
    assert_clean(&sim);
}

#[test]
fn ipv6_equal_priorities_tie_break_by_link_local_address() {
    let mut sim = lan(US100, vec![v3_ipv6(2, 100, 100), v3_ipv6(1, 100, 100)]);
    sim.start_all();
    sim.run_until(at(30, 0));
    // fe80::2 > fe80::1: node A (fe80::2) keeps it; B yields at 3.609475 s.
    assert_eq!(
        sim.entered(B, State::Backup, at(1, 0)),
        Some(at(3, 609_475_000))
    );
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

// ---- 17. announce schedule -------------------------------------------------------------------

#[test]
fn announce_default_burst_then_one_more_two_seconds_later() {
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 150, 100)]);
    sim.start(A);
    sim.run_until(at(120, 0));
    // On becoming master (3.4140625 s), after the VIP add was confirmed, and 2 s later.
    assert_eq!(
        announces(&sim, A),
        vec![(at(3, 414_062_500), 3), (at(5, 414_062_500), 3)]
    );
    // The VIPs first; the first advert and the burst only once they are confirmed.
    let order = records_at(&sim, A, at(3, 414_062_500));
    assert_eq!(
        order,
        vec![
            &What::AddVips,
            &What::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterDown
            },
            &What::VipApplied { ok: true },
            &What::SentAdvert { priority: 150 },
            &What::Announce { count: 3 },
        ]
    );
    // The Adver_Timer ran from the transition: adverts every 1 s from 3.4140625.
    assert_eq!(
        sent_priorities(&sim, A, at(0, 0), at(6, 0)),
        vec![
            (at(3, 414_062_500), 150),
            (at(4, 414_062_500), 150),
            (at(5, 414_062_500), 150)
        ]
    );
}

#[test]
fn announce_refresh_when_configured() {
    let mut c = v3_ipv4(1, 150, 100);
    c.announce.count = 5;
    c.announce.refresh = Duration::from_secs(30);
    let mut sim = lan(ZERO, vec![c]);
    sim.start(A);
    sim.run_until(at(100, 0));
    // 3.4140625, + 2 s repeat = 5.4140625, then every 30 s: 35.4140625, 65.4140625,
    // 95.4140625.
    assert_eq!(
        announces(&sim, A),
        vec![
            (at(3, 414_062_500), 5),
            (at(5, 414_062_500), 5),
            (at(35, 414_062_500), 5),
            (at(65, 414_062_500), 5),
            (at(95, 414_062_500), 5),
        ]
    );

    // No repeat, refresh every 10 s: 3.4140625, 13.4140625, 23.4140625; none once the
    // node is no longer master (stopped at 25 s).
    let mut c = v3_ipv4(1, 150, 100);
    c.announce.repeat_after = Duration::ZERO;
    c.announce.refresh = Duration::from_secs(10);
    let mut sim = lan(ZERO, vec![c]);
    sim.start(A);
    sim.run_until(at(25, 0));
    sim.stop(A);
    sim.run_until(at(100, 0));
    assert_eq!(
        announces(&sim, A),
        vec![
            (at(3, 414_062_500), 3),
            (at(13, 414_062_500), 3),
            (at(23, 414_062_500), 3),
        ]
    );
    assert_eq!(sim.router(A).poll_timeout(), None);
}

// ---- 18. the split-brain winner announces after a heal, owner included -------------------------

#[test]
fn owner_announces_after_split_brain_heal() {
    // Regression test (an engine bug, since fixed): the lower node B was master in its
    // island and sent gratuitous ARPs there; after the heal the owner must re-announce
    // so those hosts stop sending to B's MAC. Every other master does so when it hears a lower
    // priority (see `master_hearing_lower_priority_answers_at_once_and_announces`),
    // but the owner drops all adverts before its state is looked at.
    let mut sim = lan(US100, vec![v3_ipv4(1, 255, 100), v3_ipv4(2, 100, 100)]);
    sim.partition(&[&[A], &[B]]);
    sim.start_all();
    sim.run_until(at(10, 0));
    assert_eq!(sim.vip_holders(), vec![A, B]);
    sim.heal();
    let stepped_down = sim
        .run_until_state(B, State::Backup, at(60, 0))
        .expect("B yields to the owner");
    // At the latest when the owner's 11 s advert reaches B (11.0001 s): one interval
    // plus one latency after the heal.
    assert!(stepped_down <= at(11, 100_000), "{stepped_down}");
    sim.run_until(at(60, 0));
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
    // B's first advert after the heal (sent 10.609375 s) reaches the owner at
    // 10.609475 s: that is when it should answer and re-announce.
    let after_heal: Vec<(Instant, u32)> = announces(&sim, A)
        .into_iter()
        .filter(|(t, _)| *t >= at(10, 0))
        .collect();
    assert_eq!(
        after_heal.first(),
        Some(&(at(10, 609_475_000), 3)),
        "the owner did not re-announce after the heal; all its announces: {:?}",
        announces(&sim, A)
    );
}

#[test]
fn owner_with_a_slower_interval_keeps_backups_from_taking_turns() {
    // Regression test (an engine bug, since fixed by the owner fix, or by the
    // backup-learning fix below). Owner at 150 cs, B1 = 200 at 20 cs without preempt, B2 = 100 at 20 cs.
    // B2 is cut off long enough to become master; after the heal the owner ignores
    // its adverts (it drops every advert) and only its own next advert, up to 1.5 s
    // later, makes B2 yield. Meanwhile B1 (no preempt) accepted B2's adverts and
    // learned 20 cs; B2's farewell advert, which the owner does not answer either, is
    // the last thing B1 hears, so B1's Master_Down_Timer (0.6 + 56 * 20 / 256 cs =
    // 0.64375 s) runs out before the owner's next advert: B1 becomes master, B2 learns
    // 20 cs from it, and the two take turns for ever, each adding the VIP and sending
    // gratuitous ARPs that the owner never corrects.
    let mut b1 = v3_ipv4(2, 200, 20);
    b1.preempt = false;
    let mut sim = lan(US100, vec![v3_ipv4(1, 255, 150), b1, v3_ipv4(3, 100, 20)]);
    sim.start_all();
    sim.run_until(at(10, 0));
    sim.partition(&[&[C]]);
    // C alone, with the learned 150 cs: 4.5 s + 156 * 150 / 256 cs after the owner's
    // last advert; well before 20 s.
    sim.run_until(at(20, 0));
    assert_eq!(sim.masters(), vec![A, C]);
    sim.heal();
    sim.run_until(at(60, 0));
    let later: Vec<(Instant, NodeId)> = master_entries(&sim)
        .into_iter()
        .filter(|(t, _)| *t >= at(22, 0))
        .collect();
    assert!(
        later.is_empty(),
        "{} master entries between 22 s and 60 s, the first: {:?}",
        later.len(),
        &later[..later.len().min(6)]
    );
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

// ---- 18b. different advert intervals on one VRID ------------------------------------------

#[test]
fn backups_do_not_learn_a_shorter_interval_from_a_losing_master() {
    // Regression test (an engine bug, since fixed). VRRPv3 lets routers of one VRID use different
    // intervals; backups learn the master's. H = 200 at 5 cs, B1 and B2 = 100 at
    // 1 cs. B1 is cut off for a second and becomes master. After the heal H answers
    // B1's advert at once and B1 yields; but B1's adverts (its last ones as master
    // and its farewell advert) reach B2 *after* H's answer, because the B1-B2 path is
    // slower. B2 (100 >= 100) accepts them as if from the master, learns 1 cs and
    // sets its Master_Down_Timer to 3 cs + 156/256 cs = 36.09375 ms, while H
    // advertises only every 50 ms. B2 takes over, yields to H, and its adverts teach
    // B1 the same 1 cs... forever: a new master, VIP add and gratuitous ARP burst
    // about every 39 ms. (It happens with or without the farewell advert.)
    let mut sim = lan(
        US100,
        vec![v3_ipv4(1, 200, 5), v3_ipv4(2, 100, 1), v3_ipv4(3, 100, 1)],
    );
    // The two backups are "far" from each other (3 ms, e.g. a congested or software
    // bridge path), while both are 100 us from H: a packet from one backup to the
    // other can arrive after H's answer to it.
    sim.set_latency(B, C, Duration::from_millis(3));
    sim.start_all();
    // H: 3 * 5 cs + 56 * 5 / 256 cs = 150 ms + 10.9375 ms.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(60, 0)),
        Some(at(0, 160_937_500))
    );
    sim.run_until(at(1, 0));
    sim.partition(&[&[B]]);
    sim.run_until(at(2, 0));
    assert_eq!(sim.masters(), vec![A, B]);
    sim.heal();
    sim.run_until(at(3, 0));
    assert_eq!(sim.masters(), vec![A]);
    sim.run_until(at(60, 0));
    let later: Vec<(Instant, NodeId)> = master_entries(&sim)
        .into_iter()
        .filter(|(t, _)| *t >= at(3, 0))
        .collect();
    assert!(
        later.is_empty(),
        "{} master entries between 3 s and 60 s, the first: {:?}",
        later.len(),
        &later[..later.len().min(6)]
    );
    assert_eq!(sim.masters(), vec![A]);
    assert_clean(&sim);
}

#[test]
fn a_backup_learns_the_winners_interval_from_the_farewell_advert() {
    // A = 200 at 100 cs wins; B = 150 at 20 cs is master on the other side of a
    // partition and yields after the heal; C = 100 follows B. C hears B's farewell
    // advert but not A's answers (lost on the way to C). The farewell used to carry
    // B's own 20 cs: C then set its Master_Down_Timer to
    // 0.6 + 156 * 20 / 256 cs = 0.721875 s and became master before A's next advert
    // (1 s later). It carries the winner's 100 cs now.
    let mut sim = lan(
        US100,
        vec![
            v3_ipv4(1, 200, 100),
            v3_ipv4(2, 150, 20),
            v3_ipv4(3, 100, 100),
        ],
    );
    sim.partition(&[&[A], &[B, C]]);
    sim.start_all();
    // B: MDI(150) at 20 cs = 60 cs + 106 * 20 / 256 cs = 0.6 + 0.0828125 s.
    // A alone: MDI(200) at 100 cs = 3 s + 56 * 100 / 256 cs = 3.21875 s.
    sim.run_until(at(10, 0));
    assert_eq!(
        master_entries(&sim),
        vec![(at(0, 682_812_500), B), (at(3, 218_750_000), A)]
    );
    assert_eq!(sim.status(C).master, Some((v4_host(2), 150)));
    assert_eq!(sim.status(C).master_adver_interval_cs, 20);
    // A's adverts to C are lost for half a second from the heal.
    sim.set_loss_ppm_one_way(A, C, 1_000_000);
    sim.heal();
    sim.run_until(at(10, 500_000_000));
    // B advertises at 0.6828125 + 0.2 k s; the first after 10 s is k = 47:
    // 10.0828125 s, at A and C 10.0829125 s. A answers at once (lost to C); the
    // answer reaches B at 10.0830125 s and B yields with its farewell advert, which
    // reaches A and C at 10.0831125 s; A answers that too (lost to C as well).
    assert_eq!(
        sim.entered(B, State::Backup, at(10, 0)),
        Some(at(10, 83_012_500))
    );
    assert_eq!(
        sim.instants_of(A, |w| *w == What::Lost { to: C }),
        vec![at(10, 82_912_500), at(10, 83_112_500)]
    );
    assert_eq!(
        sent_priorities(&sim, B, at(10, 83_012_500), at(10, 83_012_500)),
        vec![(at(10, 83_012_500), 150)]
    );
    // C took the farewell from B, the master it follows, and learned 100 cs from it:
    // 10.0831125 + 3 s + 156 * 100 / 256 cs = 10.0831125 + 3.609375 = 13.6924875 s.
    let st = sim.status(C);
    assert_eq!(st.master, Some((v4_host(2), 150)));
    assert_eq!(st.last_advert, Some(at(10, 83_112_500)));
    assert_eq!(st.master_adver_interval_cs, 100);
    assert_eq!(sim.router(C).poll_timeout(), Some(at(13, 692_487_500)));
    sim.set_loss_ppm_one_way(A, C, 0);
    // A's next advert: its Adver_Timer was restarted by the last answer, 10.0831125
    // + 1 s; at C 11.0832125 s, long before C's timer.
    sim.run_until(at(12, 0));
    assert_eq!(last_heard(&sim, C, A, at(12, 0)), Some(at(11, 83_212_500)));
    assert_eq!(sim.status(C).master, Some((v4_host(1), 200)));
    sim.run_until(at(60, 0));
    // C never became master; nobody did after the heal.
    assert_eq!(sim.entered(C, State::Master, at(0, 0)), None);
    assert_eq!(
        master_entries(&sim),
        vec![(at(0, 682_812_500), B), (at(3, 218_750_000), A)]
    );
    assert_eq!(sim.status(C).master_adver_interval_cs, 100);
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

#[test]
fn a_backup_follows_the_new_master_once_the_old_one_is_silent() {
    // A = 200 at 1 s, B = 150 at 4 s, C = 100 at 1 s; no latency. C follows A; A
    // crashes; B takes over. B ranks below A, so while A may still be alive its adverts
    // only push C's timer later — by B's own longer Master_Down_Interval — and once A
    // has been silent a whole Master_Down_Interval C learns B as usual. (Bug found in
    // review: C ignored B for good, and with B's 4 s interval took over between B's
    // adverts.)
    let mut sim = lan(
        ZERO,
        vec![
            v3_ipv4(1, 200, 100),
            v3_ipv4(3, 150, 400),
            v3_ipv4(2, 100, 100),
        ],
    );
    sim.start_all();
    // A master at MDI(200) = 3 + 56/256 s = 3.21875 s; adverts every second after.
    assert_eq!(
        sim.run_until_state(A, State::Master, at(10, 0)),
        Some(at(3, 218_750_000))
    );
    sim.run_until(at(10, 0));
    sim.crash(A);
    // A's last advert: 9.21875 s. B (learned 1 s): 9.21875 + 3 + 106/256 s
    // = 12.6328125 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(20, 0)),
        Some(at(12, 632_812_500))
    );
    // B's advert of 12.6328125 s reaches C while A (heard 9.21875 s, MDI(100) at 1 s
    // = 3.609375 s) may still be alive: C's timer moves to 12.6328125 + MDI(100) at
    // 4 s = 12 + 156 × 4 / 256 = 14.4375 s: 27.0703125 s. B's next advert, at
    // 16.6328125 s, comes after A's 12.828125 s deadline: C learns B and its 4 s.
    sim.run_until(at(17, 0));
    let c = sim.status(C);
    assert_eq!(c.master, Some((v4_host(3), 150)));
    assert_eq!(c.master_adver_interval_cs, 400);
    assert_eq!(sim.router(C).poll_timeout(), Some(at(31, 70_312_500)));
    sim.run_until(at(120, 0));
    assert_eq!(sim.masters(), vec![B]);
    assert_eq!(sim.transitions(C).len(), 1, "C never left Backup");
    assert_clean(&sim);
}

#[test]
fn a_backup_ignores_priority_0_from_a_router_other_than_its_live_master() {
    // C (100) follows A (200). A priority-0 advert from .9 — a second master of a
    // split brain leaving — must not make C take over at Skew_Time while A is alive
    // (a deliberate vipd deviation from RFC 5798 §6.4.2). From A itself it does.
    let mut sim = lan(ZERO, vec![v3_ipv4(1, 200, 100), v3_ipv4(2, 100, 100)]);
    let (a, c) = (A, B);
    sim.start_all();
    sim.run_until(at(5, 0));
    assert_eq!(sim.masters(), vec![a]);
    let dst = IpAddr::V4(MULTICAST_V4);
    let leave = |from: u8| {
        advert(Version::V3, VRID, 0, 100, vec![vip_v4()])
            .emit(v4_host(from), dst, V3Checksum::PseudoHeader)
            .expect("emit")
    };
    // A's last advert 4.21875 s: C's timer 4.21875 + 3.609375 = 7.828125 s.
    let before = sim.router(c).poll_timeout();
    assert_eq!(before, Some(at(7, 828_125_000)));
    sim.inject(c, v4_host(9), dst, 255, &leave(9));
    assert_eq!(sim.router(c).poll_timeout(), before);
    sim.run_until(at(6, 0));
    assert_eq!(sim.masters(), vec![a]);
    // From A itself: Skew_Time(100) = 156/256 s = 0.609375 s after it.
    sim.inject(c, v4_host(1), dst, 255, &leave(1));
    assert_eq!(sim.router(c).poll_timeout(), Some(at(6, 609_375_000)));
    assert_clean(&sim);
}

// ---- 18c. VIP removed behind the engine's back -----------------------------------------

#[test]
fn vip_removed_behind_the_masters_back_is_added_again_or_handed_over() {
    let mut sim = started_pair(ZERO);
    sim.run_until(at(10, 0));
    sim.remove_vips(A);
    // Added back, and once confirmed an advert (the Adver_Timer restarts from it) and a
    // burst at once; the second burst follows 2 s later.
    let at10 = did_at(&sim, A, at(10, 0));
    assert_eq!(
        at10,
        vec![
            &What::AddVips,
            &What::VipApplied { ok: true },
            &What::SentAdvert { priority: 150 },
            &What::Announce { count: 3 }
        ]
    );

    assert!(sim.holds_vip(A));
    // Removing it from a backup changes nothing.
    sim.remove_vips(B);
    assert_eq!(sim.instants_of(B, |w| *w == What::AddVips), vec![]);
    sim.run_until(at(20, 0));
    assert_eq!(
        announces(&sim, A),
        vec![
            (at(3, 414_062_500), 3),
            (at(5, 414_062_500), 3),
            (at(10, 0), 3),
            (at(12, 0), 3)
        ]
    );
    assert_eq!(
        sent_priorities(&sim, A, at(9, 0), at(11, 0)),
        vec![
            (at(9, 414_062_500), 150),
            (at(10, 0), 150),
            (at(11, 0), 150)
        ]
    );
    // This time the add fails: Fault, priority 0, and B takes over after Skew_Time:
    // 20 + 0.609375 s. A has advertised as master since 3.4140625 s, so it hands
    // over although its VIPs were being re-added (not after a whole
    // Master_Down_Interval from its last advert).
    sim.set_vip_add_ok(A, false);
    sim.remove_vips(A);
    assert_eq!(sim.state(A), State::Fault);
    assert_eq!(
        sent_priorities(&sim, A, at(20, 0), at(20, 0)),
        // The regular advert of 20 s, then the handover.
        vec![(at(20, 0), 150), (at(20, 0), 0)]
    );
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(20, 609_375_000))
    );
    assert_clean(&sim);
}

// ---- 19. the checker itself ---------------------------------------------------------------

#[test]
fn invariant_checker_reports_an_overlap_longer_than_grace() {
    // The heal of `partition_makes_two_masters_heal_converges_to_the_higher_one` takes
    // 23.7375 ms; with a grace of 10 ms the checker must object.
    let mut sim = Sim::builder()
        .latency(US100)
        .check_invariants(true)
        .grace_override(Duration::from_millis(10))
        .node(v3_ipv4(1, 150, 100))
        .node(v3_ipv4(2, 100, 100))
        .build()
        .expect("valid");
    sim.start_all();
    sim.run_until(at(5, 0));
    sim.partition(&[&[A], &[B]]);
    sim.run_until(at(10, 0));
    sim.heal();
    sim.run_until(at(20, 0));
    // First instant after 10 s + 10 ms at which anything happens: B's advert at
    // 10.0235375 s.
    assert_eq!(
        sim.violations(),
        &[vipd_sim::Violation::DualMaster {
            at: at(10, 23_537_500),
            a: A,
            b: B,
            since: at(10, 0),
            grace: Duration::from_millis(10),
        }]
    );
}

#[test]
fn one_way_total_loss_is_an_excused_lasting_split_brain() {
    // A never reaches B: B takes over and A's answers are all lost. The overlap lasts,
    // but every lost advert restarts the bound, so the checker stays quiet, and it
    // ends at once when the link is repaired.
    let mut sim = pair(US100);
    sim.set_loss_ppm_one_way(A, B, 1_000_000);
    sim.start_all();
    // B alone as far as it knows: 3.609375 s.
    assert_eq!(
        sim.run_until_state(B, State::Master, at(60, 0)),
        Some(at(3, 609_375_000))
    );
    sim.run_until(at(30, 0));
    assert_eq!(sim.vip_holders(), vec![A, B]);
    sim.set_loss_ppm_one_way(A, B, 0);
    // A has been answering each of B's adverts (arriving at 3.609475 + k s) at once,
    // which also resets its Adver_Timer; the first answer that gets through is the one
    // to B's advert arriving at 30.609475 s, and B has it 100 us later.
    assert_eq!(
        sim.run_until_state(B, State::Backup, at(60, 0)),
        Some(at(30, 609_575_000))
    );
    assert_clean(&sim);
}

// ---- 20. a flood of lower-priority adverts --------------------------------------------------

/// The flooding client: 192.0.2.66, priority 50, 100 cs, listing our VIP (well formed in
/// every respect, so only the priority makes it lose).
fn flood_advert() -> Vec<u8> {
    advert(Version::V3, VRID, 50, 100, vec![vip_v4()])
        .emit(
            v4_host(66),
            IpAddr::V4(MULTICAST_V4),
            V3Checksum::PseudoHeader,
        )
        .expect("emit")
}

/// Injects [`flood_advert`] into `nodes` every 50 µs (20 000 per second) from `from`
/// until before `until`, letting everything else on the LAN run between them.
fn flood(sim: &mut Sim, nodes: &[NodeId], from: Instant, until: Instant) -> u64 {
    let bytes = flood_advert();
    let dst = IpAddr::V4(MULTICAST_V4);
    let mut t = from;
    let mut sent = 0;
    while t < until {
        sim.run_until(t);
        for &n in nodes {
            sim.inject(n, v4_host(66), dst, 255, &bytes);
        }
        sent += 1;
        t = t + Duration::from_micros(50);
    }
    sent
}

#[test]
fn a_flood_of_lower_priority_adverts_is_answered_a_few_times_per_interval() {
    // A (150, 1 s) is master from 3.4140625 s and advertises at 3.4140625 + k s. From
    // 10 s a client floods well-formed priority-50 adverts at 20 000 per second for
    // 5 s (100 000 adverts) to both routers.
    let mut sim = started_pair(US100);
    sim.run_until(at(10, 0));
    let n = flood(&mut sim, &[A, B], at(10, 0), at(15, 0));
    assert_eq!(n, 100_000);
    let during = sent_priorities(&sim, A, at(10, 0), at(14, 999_999_999));
    // Per sender at most 4 answers in one of A's Advertisement_Intervals (1 s), a window
    // opening with the first answer: 10 s, 11 s, ... 14 s, four answers each, 50 µs
    // apart. Each answer restarts the Adver_Timer, so no scheduled advert falls in
    // between.
    let want: Vec<(Instant, u8)> = (10..15)
        .flat_map(|s| (0..4).map(move |k| (at(s, k * 50_000), 150)))
        .collect();
    assert_eq!(during.len(), want.len(), "adverts A sent during the flood");
    assert_eq!(during, want);
    let st = sim.status(A);
    assert_eq!(st.state, State::Master);
    assert_eq!(st.drops.get("answer_rate_limited"), Some(&(100_000 - 20)));
    // The flood is the same RFC 5798 §6.4.3 discard as ever for everything else: every
    // advert is received, none of them is an error.
    assert_eq!(st.adverts_received, 100_000);
    // B (100) discards priority 50 (§6.4.2, preempt) and keeps following A.
    assert_eq!(sim.state(B), State::Backup);
    assert_eq!(sim.status(B).master, Some((v4_host(1), 150)));
    // After the flood the Adver_Timer runs from the last answer: 14.00015 + 1 s.
    sim.run_until(at(16, 0));
    assert_eq!(
        sent_priorities(&sim, A, at(15, 0), at(16, 0)),
        vec![(at(15, 150_000), 150)]
    );
    assert_eq!(sim.masters(), vec![A]);
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_eq!(sim.transitions(A).len(), 2, "A never left Master");
    assert_clean(&sim);
}

#[test]
fn a_flood_during_a_burst_of_failed_sends_never_faults_the_master() {
    // As above, and for 300 ms during the flood (a full send queue, say) every send of
    // A fails. Failed sends fault a master only when they span three of its
    // Advertisement_Intervals (RFC 5798 §6.1: three missed adverts), however many
    // answers fail in between.
    let mut sim = started_pair(US100);
    sim.run_until(at(10, 0));
    sim.schedule(
        at(11, 0),
        vipd_sim::Action::AdvertSendOk { node: A, ok: false },
    );
    sim.schedule(
        at(11, 300_000_000),
        vipd_sim::Action::AdvertSendOk { node: A, ok: true },
    );
    flood(&mut sim, &[A, B], at(10, 0), at(15, 0));
    sim.run_until(at(20, 0));
    assert_eq!(
        sim.transitions(A).len(),
        2,
        "A never left Master: {:?}",
        sim.transitions(A)
    );
    assert_eq!(sim.state(A), State::Master);
    // The answers of 11 s (4 of them, 50 µs apart) failed; those of 12 s went out.
    assert_eq!(
        send_failures(&sim, A),
        (0..4)
            .map(|k| (at(11, k * 50_000), 150))
            .collect::<Vec<_>>()
    );
    assert_eq!(sim.state(B), State::Backup);
    assert_eq!(sim.vip_holders(), vec![A]);
    assert_clean(&sim);
}

// ---- 21. a rolling change of the address list (VRRPv3) --------------------------------------

#[test]
fn v3_routers_with_different_address_lists_elect_one_master() {
    // A (150) lists 192.0.2.100; B (100) was already given a second VIP, 192.0.2.101,
    // as in a rolling configuration change. RFC 5798 §7.1 lets a receiver check the
    // list and asks it to log a difference, not to drop the advert: the two still
    // elect one master. A: MDI(150) = 3.4140625 s; its first advert reaches B 100 us
    // later, long before B's MDI(100) = 3.609375 s.
    let mut b = v3_ipv4(2, 100, 100);
    b.vips.push(v4_host(101));
    let mut sim = lan(US100, vec![v3_ipv4(1, 150, 100), b]);
    sim.start_all();
    sim.run_until(at(30, 0));
    assert_eq!(master_entries(&sim), vec![(at(3, 414_062_500), A)]);
    assert_eq!(sim.masters(), vec![A]);
    let st = sim.status(B);
    assert_eq!(st.state, State::Backup);
    assert_eq!(st.master, Some((v4_host(1), 150)));
    // Every advert of A's was accepted, and each is counted as listing other
    // addresses: 3.4140625 + k s for k = 0..=26.
    assert_eq!(st.adverts_received, 27);
    assert_eq!(st.drops.get("address_mismatch"), None);
    let mismatch = st.address_mismatch.expect("the difference is recorded");
    assert_eq!(mismatch.from, v4_host(1));
    assert_eq!(mismatch.addresses, vec![vip_v4()]);
    assert_eq!(mismatch.count, 27);
    assert_eq!(mismatch.last, at(29, 414_162_500));
    assert_clean(&sim);
}
