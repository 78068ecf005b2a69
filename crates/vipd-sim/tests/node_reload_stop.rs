//! Node-level scenarios about reloads and stops that come while a VIP change is under
//! way.
//!
//! Every instant is derived in the comment above its assertion. The rules used:
//! - Defaults: job 2 ms, read 1 ms, network 100 µs; adverts every 100 ms.
//! - Host 0 (priority 150) and host 1 (100), started at 0: instances up at 1 ms,
//!   startup removals 1 → 3 ms; host 0 master at 1 + 341.40625 = 342.40625 ms, add →
//!   344.40625, adverts from then every 100 ms; reads at 0, 3, 344.40625 (its add's
//!   address event), next at 1344.40625. Host 1's Master_Down_Timer would run out at
//!   1 + 360.9375 = 361.9375; it hears host 0 from 344.50625 on.
//! - A VIP job waits for the earlier jobs of its host: it ends at max(asked, previous
//!   end) + 2 ms.
//! - Leaving (reload, stop): a master that has advertised sends priority 0 and removes
//!   its VIPs; one that has not removes them silently. A backup that hears priority 0
//!   takes over after its Skew_Time (priority 100 at 100 ms: 60.9375 ms).

mod common;

use common::*;
use vipd_engine::State;
use vipd_node::ExitError;
use vipd_sim::cfg::node::{config, instance, web};
use vipd_sim::lan::{Act, Lan};

/// Host 0's reload replaces web with db (VRID 52, 192.0.2.60).
fn db_only() -> vipd_node::config::Config {
    config(vec![instance("db", 52, 100, 100, &["192.0.2.60/24"])])
}

/// A priority change while the first add is under way: no state change, and the first
/// advert, sent when the add ends, carries the new priority.
#[test]
fn priority_reloaded_while_the_add_is_in_flight_shows_in_the_first_advert() {
    let mut lan = pair();
    lan.run_until(ms(343));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.act(Act::Reload(0, web(200, 100)));
    lan.run_until(ms(1000));
    assert_eq!(
        notes_with(&lan, 0, "removed=0 added=0 updated=1 kept=0"),
        vec![ms(343)]
    );
    // The add ends at 344.40625: the first advert, at 200.
    assert_eq!(lan.adverts(0, 200).first(), Some(&at_ns(344_406_250)));
    assert!(lan.adverts(0, 150).is_empty());
    // Backup at 1, master at 342.40625, and nothing since.
    let t: Vec<_> = lan.transitions(0).iter().map(|x| (x.0, x.3)).collect();
    assert_eq!(
        t,
        vec![(ms(1), State::Backup), (at_ns(342_406_250), State::Master)]
    );
    assert_eq!(jobs_asked(&lan, 0, true), vec![at_ns(342_406_250)]);
    assert_eq!(lan.state(1, "web"), Some(State::Backup));
    assert_no_breach(&lan);
}

/// A master that has advertised is re-adding its VIP (removed by hand) when a reload
/// drops the instance: it says priority 0 at once and hands over make-before-break —
/// the add completes and the VIP stays until host 1's first advert, after its
/// Skew_Time and its own add.
#[test]
fn instance_reloaded_away_while_re_adding_hands_over_and_removes_after_the_add() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    // Removed at 1000: read 1000 → 1001, VIP missing on a master → add 1001 → 1003.
    lan.act(Act::RemoveAddr(0, vip50()));
    lan.run_until(ms(1002));
    assert_eq!(jobs_asked(&lan, 0, true)[1..], [ms(1001)]);
    lan.act(Act::Reload(0, db_only()));
    lan.run_until(ms(1500));
    // 1002: web leaves — it had advertised, so priority 0 now — and keeps the VIP; the
    // add still completes at 1003.
    assert_eq!(lan.adverts(0, 0), vec![ms(1002)]);
    assert_eq!(jobs_done(&lan, 0, true)[1], (ms(1003), true));
    // The reload asks for a read, 1002 → 1003; but the add's address event (1003,
    // handled before that answer) came after it began, so db starts from the read that
    // follows, 1003 → 1004: its startup removal 1004 → 1006.
    assert_eq!(jobs_asked(&lan, 0, false)[1], ms(1004));
    assert_eq!(jobs_done(&lan, 0, false)[1], (ms(1006), true));
    assert_eq!(lan.entered(0, "db", State::Backup, ms(0)), Some(ms(1004)));
    // Host 1 hears the priority 0 at 1002.1: master at 1002.1 + 60.9375 = 1063.0375,
    // add → 1065.0375, first advert then, heard by host 0 at 1065.1375: web's removal
    // 1065.1375 → 1067.1375.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_063_037_500))
    );
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(1_065_037_500)));
    assert_eq!(jobs_asked(&lan, 0, false)[2], at_ns(1_065_137_500));
    assert_eq!(jobs_done(&lan, 0, false)[2], (at_ns(1_067_137_500), true));
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_no_breach(&lan);
}

/// The same exactly when the VIP goes: still there a nanosecond before 1067.1375 ms.
#[test]
fn instance_reloaded_away_while_re_adding_keeps_the_vip_until_the_removal_ends() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::RemoveAddr(0, vip50()));
    lan.run_until(ms(1002));
    lan.act(Act::Reload(0, db_only()));
    lan.run_until(ms(1003));
    assert!(lan.holds(0, vip50()));
    lan.run_until(before(at_ns(1_067_137_500)));
    assert!(lan.holds(0, vip50()));
    assert_eq!(lan.holders(vip50()), vec![0, 1]);
    lan.run_until(at_ns(1_067_137_500));
    assert!(!lan.holds(0, vip50()));
    assert_no_breach(&lan);
}

/// A reload drops the instance while the add of its first stint is under way: it was
/// never heard as master, so no priority 0; the removal follows the add; host 1 takes
/// over when its own Master_Down_Timer runs out, as if host 0 had never been there.
#[test]
fn instance_reloaded_away_before_its_first_advert_leaves_silently() {
    let mut lan = pair();
    lan.run_until(ms(343));
    lan.act(Act::Reload(0, db_only()));
    lan.run_until(ms(1000));
    // The add (342.40625 → 344.40625) then the removal asked at 343: 344.40625 →
    // 346.40625. Not 345: the queue is serial.
    assert_eq!(jobs_done(&lan, 0, false)[1], (at_ns(346_406_250), true));
    // No advert from web at all, at 150 or 0. (db, up from the reload's read at 343
    // → 344, hears nobody on VRID 52: master at 344 + 360.9375 = 704.9375, add → its
    // first advert at 706.9375, at 100.)
    assert!(lan.adverts(0, 150).is_empty());
    assert!(lan.adverts(0, 0).is_empty());
    assert_eq!(lan.adverts(0, 100).first(), Some(&at_ns(706_937_500)));
    // Host 1 heard nothing from host 0: master at 361.9375, add → 363.9375.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(363_937_500)));
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_no_breach(&lan);
}

/// Stop while the first add is under way: the removal follows the add, and the node
/// exits cleanly exactly when it ends, with no VIP left.
#[test]
fn stop_while_the_add_is_pending_exits_when_the_removal_after_it_ends() {
    let mut lan = pair();
    lan.run_until(ms(343));
    lan.act(Act::Stop(0));
    lan.run_until(ms(1000));
    // Never advertised: no priority 0. Removal asked at 343, after the add (until
    // 344.40625): 344.40625 → 346.40625, and the exit then.
    assert!(adverts_from(&lan, 0).is_empty());
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1), ms(343)]);
    assert_eq!(exits(&lan, 0), vec![(at_ns(346_406_250), Ok(()))]);
    assert!(!lan.holds(0, vip50()));
    // Host 1 as if host 0 had never been there: master at 361.9375.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_no_breach(&lan);
}

/// Stop with a kernel that refuses the removal twice: one retry, then an exit naming
/// the VIP left behind.
#[test]
fn stop_with_a_removal_failing_twice_retries_once_and_reports_the_vip() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::FailRemoves(0, 2));
    lan.act(Act::Stop(0));
    lan.run_until(ms(1500));
    // 1000: priority 0, the VIP kept (make-before-break). Host 1 takes over at
    // 1000.1 + 60.9375 = 1061.0375, its add ends at 1063.0375 and its first advert
    // reaches host 0 at 1063.1375: removal 1063.1375 → 1065.1375 (refused); retried at
    // once when the refusal comes: → 1067.1375 (refused again): exit then.
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_063_137_500), at_ns(1_065_137_500)]
    );
    assert_eq!(
        exits(&lan, 0),
        vec![(
            at_ns(1_067_137_500),
            Err(ExitError::VipsLeftBehind("192.0.2.50/24 on eth0".into()))
        )]
    );
    assert!(lan.holds(0, vip50()));
    // The stray copy on host 0 is a stopped host's (the next start removes it).
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_061_037_500))
    );
    assert_no_breach(&lan);
}

/// A second stop while the removal is under way: exit at once, impatient. The kernel
/// of the simulation loses the unfinished job with the process, so the VIP stays — and
/// the next start removes it.
#[test]
fn a_second_stop_exits_at_once_and_the_next_start_cleans_up() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Stop(0));
    lan.run_until(ms(1001));
    lan.act(Act::Stop(0));
    assert_eq!(exits(&lan, 0), vec![(ms(1001), Err(ExitError::Impatient))]);
    lan.run_until(ms(1100));
    assert!(lan.holds(0, vip50()));
    // Host 1 master at 1000.1 + 60.9375 = 1061.0375, add → 1063.0375: both hold the
    // VIP, but host 0 runs no vipd (the holders check counts running hosts only).
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(lan.holders(vip50()), vec![0, 1]);
    // Start again at 1100: read 1100 → 1101, startup removal 1101 → 1103.
    lan.act(Act::Start(0));
    lan.run_until(before(ms(1103)));
    assert!(lan.holds(0, vip50()));
    lan.run_until(ms(1103));
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_no_breach(&lan);
}

/// A kernel so slow that the removals cannot finish: the node waits SHUTDOWN_WAIT
/// (20 s) from the stop, no longer, and names what it could not remove. (Job latency
/// 30 s, one host.)
#[test]
fn stop_gives_up_on_removals_after_twenty_seconds() {
    let mut lan = Lan::builder()
        .job_latency(std::time::Duration::from_secs(30))
        .host(web(150, 100))
        .build();
    lan.start_all();
    // Up at 1 ms, startup removal 1 ms → 30.001 s; master at 342.40625 ms, add queued
    // → 60.001 s.
    lan.run_until(ms(1000));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    // Stop at 1 s: never advertised, so no priority 0; removal queued → 90.001 s. The
    // wait ends at 1 + 20 = 21 s, with both removals (startup and leaving, the same
    // VIP) still under way.
    lan.act(Act::Stop(0));
    lan.run_until(ms(100_000));
    assert!(adverts_from(&lan, 0).is_empty());
    assert_eq!(
        exits(&lan, 0),
        vec![(
            ms(21_000),
            Err(ExitError::VipsLeftBehind("192.0.2.50/24 on eth0".into()))
        )]
    );
    assert_eq!(
        notes_with(&lan, 0, "VIP removals not done after 20s"),
        vec![ms(21_000)]
    );
    assert_eq!(vipd_node::SHUTDOWN_WAIT, std::time::Duration::from_secs(20));
    assert_no_breach(&lan);
}
