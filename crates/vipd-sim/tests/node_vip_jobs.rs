//! Node-level scenarios about VIP jobs: answers that arrive after the stint that asked
//! for them has ended (a slow kernel whose queue runs add, remove, add in order),
//! removals that fail and are retried, and adds that fail (Fault and its back-off), also
//! part way (some VIPs added, one refused).
//!
//! Every instant is derived in the comment above its assertion from these rules:
//! - A node reads the kernel at start; its instances start when the read is back
//!   (read latency later), and Startup removes leftover VIPs (one job).
//! - A VIP job waits for the jobs its host asked for earlier, then takes the job
//!   latency: it ends at max(asked, previous end) + latency.
//! - Master_Down_Interval = 3 × interval + Skew_Time, Skew_Time = (256 − prio) ×
//!   interval / 256 (RFC 5798 §6.1), exact. At 100 ms: prio 100 → 360.9375 ms (skew
//!   60.9375), 150 → 341.40625 (41.40625), 200 → 321.875 (21.875), 250 → 302.34375
//!   (2.34375).
//! - A new master asks for its VIPs and sends its first advert only when that add is
//!   confirmed; adverts follow every interval from then.
//! - A master that has not advertised yet leaves silently; one that has sends a
//!   priority-0 advert, and a backup that hears it takes over after its Skew_Time — at
//!   once if it was master until the leaving router outranked it, within an
//!   Advertisement_Interval (the engine's "Successor").

mod common;

use std::time::Duration;

use common::*;
use vipd_engine::State;
use vipd_sim::cfg::node::{config, instance, vip, web};
use vipd_sim::lan::{Act, Lan};

/// Host 0 (priority 200) is re-elected while the add of its first stint is still in
/// the kernel queue, behind which the removal of that stint waits: the queue runs add1,
/// remove, add2, and only add2's answer may make the new stint advertise.
#[test]
fn reelected_while_the_old_add_is_in_flight_waits_for_the_new_add() {
    let mut lan = Lan::builder()
        .job_latency(Duration::from_millis(300))
        .host(web(200, 100))
        .host(web(250, 100))
        .build();
    lan.act(Act::Start(1));
    lan.schedule(ms(200), Act::Start(0));
    lan.schedule(ms(700), Act::Stop(1));
    lan.run_until(ms(2000));

    // Host 1 (250): started at 0, instance up at 1 ms, startup removal 1 → 301 ms;
    // master at 1 + 302.34375 = 303.34375 ms; its add waits for the queue (free at
    // 301) and ends at 603.34375: first advert then.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(303_343_750))
    );
    assert_eq!(lan.adverts(1, 250), vec![at_ns(603_343_750)]);
    // Host 0 (200): started at 200 ms, instance up at 201, startup removal 201 → 501;
    // it hears nobody (host 1 has not advertised yet) and is master at 201 + 321.875
    // = 522.875 ms. add1: 522.875 → 822.875.
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(522_875_000))
    );
    // Host 1's first advert reaches host 0 at 603.44375: a higher priority, so host 0
    // (never heard as master) backs off silently and asks for a removal, which waits
    // for add1: 822.875 → 1122.875.
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(300)),
        Some(at_ns(603_443_750))
    );
    // Host 1 stops at 700 ms; it had advertised, so it sends priority 0. Host 0 hears
    // it at 700.1 and, outranked by host 1 96.65625 ms before, is master again at
    // once, while add1 is still in the kernel (until 822.875).
    assert_eq!(
        adverts_from(&lan, 1).last(),
        Some(&(ms(700), Lan::addr_v4(1), 0))
    );
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(600)),
        Some(at_ns(700_100_000))
    );
    // The kernel queue of host 0: startup removal, add1, the removal, add2 — add2
    // waits for the removal and ends at 1122.875 + 300 = 1422.875 ms.
    assert_eq!(
        jobs_asked(&lan, 0, true),
        vec![at_ns(522_875_000), at_ns(700_100_000)]
    );
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(201), at_ns(603_443_750)]
    );
    assert_eq!(
        jobs_done(&lan, 0, true),
        vec![(at_ns(822_875_000), true), (at_ns(1_422_875_000), true)]
    );
    assert_eq!(
        jobs_done(&lan, 0, false),
        vec![(ms(501), true), (at_ns(1_122_875_000), true)]
    );
    // add1's answer (822.875) belongs to the first stint and confirms nothing: the
    // first advert of the second stint comes with add2's answer, at 1422.875 ms, and
    // none at all before it.
    assert_eq!(
        adverts_from(&lan, 0).first(),
        Some(&(at_ns(1_422_875_000), Lan::addr_v4(0), 200))
    );
    // What the kernel went through: add1 put the VIP there, the removal took it away
    // (while host 0 was master again, waiting for add2), add2 brought it back.
    assert!(lan.holds(0, vip50()));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    // The removal and add2 ending are no drift: no extra job was asked for.
    assert_eq!(jobs_asked(&lan, 0, true).len(), 2);
    assert_no_breach(&lan);
}

/// Host 0 (priority 200) loses to host 1 (250) and is re-elected while the removal of
/// its first stint is still in the kernel queue: the VIP goes when that removal ends,
/// and comes back (with the stint's first advert) when the new add behind it ends.
#[test]
fn reelected_while_the_old_remove_is_in_flight_waits_for_the_new_add() {
    let mut lan = Lan::builder()
        .job_latency(Duration::from_millis(300))
        .host(web(200, 100))
        .host(web(250, 100))
        .build();
    lan.act(Act::Start(0));
    lan.schedule(ms(1000), Act::Start(1));
    lan.schedule(ms(1650), Act::Stop(1));
    lan.run_until(ms(2500));

    // Host 0: instance up at 1 ms, startup removal 1 → 301; master at 1 + 321.875 =
    // 322.875; add 322.875 → 622.875 (queue free at 301): adverts from 622.875 every
    // 100 ms.
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(322_875_000))
    );
    assert_eq!(lan.adverts(0, 200).first(), Some(&at_ns(622_875_000)));
    // Host 1 (250): started at 1000, up at 1001, startup removal 1001 → 1301; host
    // 0's adverts rank lower and are discarded (preempt), so it is master at 1001 +
    // 302.34375 = 1303.34375; add → 1603.34375, first advert then.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1000)),
        Some(at_ns(1_303_343_750))
    );
    assert_eq!(lan.adverts(1, 250).first(), Some(&at_ns(1_603_343_750)));
    // Host 0 hears it at 1603.44375: backup, with one last advert at its own priority
    // (it had advertised) and a removal, 1603.44375 → 1903.44375.
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(1000)),
        Some(at_ns(1_603_443_750))
    );
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_603_443_750)]
    );
    // Host 1 stops at 1650 (priority 0, it had advertised); host 0 hears it at 1650.1
    // and, outranked 46.65625 ms before, is master again at once — the removal still
    // has 253.34375 ms to go. Its add waits for it: 1903.44375 → 2203.44375.
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(1650)),
        Some(at_ns(1_650_100_000))
    );
    assert_eq!(
        jobs_asked(&lan, 0, true),
        vec![at_ns(322_875_000), at_ns(1_650_100_000)]
    );
    assert_eq!(
        jobs_done(&lan, 0, false),
        vec![(ms(301), true), (at_ns(1_903_443_750), true)]
    );
    assert_eq!(
        jobs_done(&lan, 0, true),
        vec![(at_ns(622_875_000), true), (at_ns(2_203_443_750), true)]
    );
    // The removal's answer (1903.44375) does not count as the new add's: the stint's
    // first advert is at 2203.44375, the goodbye of the first stint at 1603.44375 the
    // last one before it.
    let after: Vec<_> = adverts_from(&lan, 0)
        .into_iter()
        .filter(|(t, ..)| *t > at_ns(1_603_443_750))
        .collect();
    assert_eq!(
        after.first(),
        Some(&(at_ns(2_203_443_750), Lan::addr_v4(0), 200))
    );
    // Host 0 held the VIP until the removal ended, lacked it while its add waited
    // (300 ms, within a read and two jobs), and holds it again.
    assert!(lan.holds(0, vip50()));
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// A leaving instance's removal fails three times, then works: it is tried again one
/// REMOVE_RETRY (1 s) after each failure is answered.
#[test]
fn a_failing_removal_is_retried_every_second_until_it_works() {
    // One host with two instances; the reload drops db. web stays (untouched), so no
    // instance owns db's VIP afterwards and only the retries can remove it. (A VIP of
    // a running non-master is also asked away by the drift check of every fresh read,
    // so there a refusing kernel sees two removals a second: this retry and that one.)
    let web = instance("web", 51, 150, 100, &["192.0.2.50/24"]);
    let db = instance("db", 52, 150, 100, &["192.0.2.60/24"]);
    let mut lan = Lan::builder().host(config(vec![web.clone(), db])).build();
    lan.start_all();
    lan.run_until(ms(1000));
    let vip60 = vip("192.0.2.60/24").addr;
    // Both up at 1 ms, startup removals 1 → 3 (web) and 3 → 5 (db); both master at
    // 1 + 341.40625 = 342.40625; adds → 344.40625 (web) and → 346.40625 (db).
    assert_eq!(
        jobs_done(&lan, 0, true),
        vec![(at_ns(344_406_250), true), (at_ns(346_406_250), true)]
    );
    assert!(lan.holds(0, vip60));

    lan.act(Act::FailRemoves(0, 3));
    lan.act(Act::Reload(0, config(vec![web])));
    lan.run_until(ms(6000));
    // db leaves at 1000: priority 0 (it had advertised), handing over make-before-break;
    // nobody takes over, so its removal comes at Master_Down_Interval at priority 1,
    // 1000 + 399.609375 = 1399.609375 → 1401.609375, refused. Retries one second after
    // each refusal: 2401.609375 → 2403.609375 (refused), 3403.609375 → 3405.609375
    // (refused), 4405.609375 → 4407.609375, which works.
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    let removals: Vec<_> = jobs_asked(&lan, 0, false)
        .into_iter()
        .filter(|t| *t >= ms(1000))
        .collect();
    assert_eq!(
        removals,
        vec![
            at_ns(1_399_609_375),
            at_ns(2_401_609_375),
            at_ns(3_403_609_375),
            at_ns(4_405_609_375)
        ]
    );
    assert_eq!(
        jobs_done(&lan, 0, false)[2..],
        [
            (at_ns(1_401_609_375), false),
            (at_ns(2_403_609_375), false),
            (at_ns(3_405_609_375), false),
            (at_ns(4_407_609_375), true)
        ]
    );
    assert_eq!(
        notes_with(&lan, 0, "VIP removal failed on eth0 (192.0.2.60/24)"),
        vec![
            at_ns(1_401_609_375),
            at_ns(2_403_609_375),
            at_ns(3_405_609_375)
        ]
    );
    assert!(!lan.holds(0, vip60));
    // web was not disturbed.
    assert_eq!(lan.transitions(0).len(), 5, "{:?}", lan.transitions(0));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(lan.holds(0, vip50()));
    assert_no_breach(&lan);
}

/// Host 0's adds fail twice: Fault without ever advertising at its priority, retries
/// after 10 s and then 20 s (the engine's back-off), host 1 master meanwhile; status
/// says so, and that the VIP is not on host 0.
#[test]
fn a_failing_add_faults_backs_off_and_lets_the_other_host_serve() {
    let mut lan = Lan::builder()
        .host(web(150, 100))
        .host(web(100, 100))
        .build();
    lan.act(Act::FailAdds(0, 2));
    lan.start_all();
    lan.schedule(ms(5000), Act::Status(0));
    lan.schedule(ms(5000), Act::Status(1));
    lan.run_until(ms(32_000));

    // Host 0 master at 1 + 341.40625 = 342.40625; the add (queue free at 3) is
    // refused at 344.40625: Fault, a removal, the retry timer at 344.40625 + 10 s.
    let t0 = lan.transitions(0);
    let faults: Vec<_> = t0
        .iter()
        .filter(|(_, _, _, to)| *to == State::Fault)
        .map(|(t, ..)| *t)
        .collect();
    // Retry 1 at 10344.40625: backup, master again after 341.40625 (host 1's
    // priority-100 adverts are discarded: preempt) at 10685.8125; the add is refused
    // at 10687.8125: Fault, retry after 20 s at 30687.8125; master at 30687.8125 +
    // 341.40625 = 31029.21875, add → 31031.21875, which works.
    assert_eq!(faults, vec![at_ns(344_406_250), at_ns(10_687_812_500)]);
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(400)),
        Some(at_ns(10_344_406_250))
    );
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(10_700)),
        Some(at_ns(30_687_812_500))
    );
    let masters: Vec<_> = t0
        .iter()
        .filter(|(_, _, _, to)| *to == State::Master)
        .map(|(t, ..)| *t)
        .collect();
    assert_eq!(
        masters,
        vec![
            at_ns(342_406_250),
            at_ns(10_685_812_500),
            at_ns(31_029_218_750)
        ]
    );
    // Never an advert at its priority (or priority 0) before the working add.
    assert_eq!(
        adverts_from(&lan, 0).first(),
        Some(&(at_ns(31_031_218_750), Lan::addr_v4(0), 150))
    );
    // Host 1 master at 1 + 360.9375 = 361.9375 (it never heard host 0), first advert
    // at 363.9375, and master until host 0's advert at 31031.31875.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(363_937_500)));
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(400)),
        Some(at_ns(31_031_318_750))
    );
    // Status at 5000: each host reads (none under way: their last reads were at
    // 4346.40625 and 4363.9375) and answers at 5001.
    let (t, s) = replies(&lan, 0).remove(0);
    assert_eq!(t, ms(5001));
    assert_eq!(s.instances[0].state, vipd_api::State::Fault);
    assert_eq!(s.instances[0].reason, "vip_add_failed");
    assert!(!s.instances[0].vips[0].present);
    let (t, s) = replies(&lan, 1).remove(0);
    assert_eq!(t, ms(5001));
    assert_eq!(s.instances[0].state, vipd_api::State::Master);
    assert!(s.instances[0].vips[0].present);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// An add of two VIPs fails part way, as the kernel can: 192.0.2.50 is added, .51 is
/// refused. Host 0 (150) leaves Master for Fault without having advertised and has both
/// removed (the half it got must not stay); host 1 (100), which never heard host 0,
/// takes over at its own Master_Down_Interval. After the fault back-off host 0 is a
/// backup again, preempts host 1 and this time holds both.
#[test]
fn an_add_that_fails_part_way_is_undone_and_retried_after_the_back_off() {
    let two = |priority: u8| {
        config(vec![instance(
            "web",
            51,
            priority,
            100,
            &["192.0.2.50/24", "192.0.2.51/24"],
        )])
    };
    let (v50, v51) = (vip("192.0.2.50/24").addr, vip("192.0.2.51/24").addr);
    let mut lan = Lan::builder().host(two(150)).host(two(100)).build();
    lan.act(Act::FailAddAt(0, 1));
    lan.start_all();
    // Host 0: instance at 1 ms, master at 1 + 341.40625 = 342.40625 ms; its add ends at
    // 344.40625 with .50 added and .51 refused.
    lan.run_until(at_ns(344_406_250));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(342_406_250))
    );
    assert_eq!(jobs_done(&lan, 0, true), vec![(at_ns(344_406_250), false)]);
    // Fault at once; it never advertised, so no priority 0: the removal of both runs
    // 344.40625 → 346.40625 ms, and the half-added .50 is gone then.
    assert_eq!(
        lan.entered(0, "web", State::Fault, ms(0)),
        Some(at_ns(344_406_250))
    );
    assert!(lan.holds(0, v50), "the first VIP was added");
    assert!(!lan.holds(0, v51), "the second was refused");
    lan.run_until(at_ns(346_406_250));
    assert!(!lan.holds(0, v50), "the half-added VIP was removed");
    assert_eq!(adverts_from(&lan, 0), vec![]);
    // Host 1 heard nobody: master at 1 + 360.9375 = 361.9375 ms, both VIPs at 363.9375.
    lan.run_until(ms(1000));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(lan.holders(v50), vec![1]);
    assert_eq!(lan.holders(v51), vec![1]);
    // The fault back-off (10 s) from 344.40625 ms: Backup at 10.34440625 s; host 1's
    // adverts rank below it (preempt), so it takes over one Master_Down_Interval
    // later, 10.685812500 s, and holds both VIPs from 10.6878125 s; host 1 yields to
    // its first advert 100 µs later.
    lan.run_until(ms(12_000));
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(1000)),
        Some(at_ns(10_344_406_250))
    );
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(1000)),
        Some(at_ns(10_685_812_500))
    );
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(1000)),
        Some(at_ns(10_687_912_500))
    );
    assert_eq!(lan.holders(v50), vec![0]);
    assert_eq!(lan.holders(v51), vec![0]);
    assert_no_breach(&lan);
}
