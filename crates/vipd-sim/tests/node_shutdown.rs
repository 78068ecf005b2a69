//! SIGTERM / SIGINT (`Act::Stop`) on a master: it sends priority 0, hands over
//! make-before-break — alone here, no new master is heard, so it keeps its VIPs for the
//! bound, Master_Down_Interval at priority 1 (3 × 100 ms + (256 - 1) / 256 × 100 ms =
//! 399.609375 ms, what any backup may wait) — then removes them and asks to exit once the removal is done — Ok when it worked; with an error when a
//! removal failed twice (it is retried once); at once, with an error, when a second
//! signal comes while a removal is still under way. The daemon turns an `Exit(Err)`
//! into exit status 1 (`vipd::main`). Network 100 µs, read latency 1 ms.

use std::time::Duration;

use vipd_engine::{Instant, State};
use vipd_node::ExitError;
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{Act, Lan, Seen};

const MS: u64 = 1_000_000;

fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

/// When host 0 asked to exit, and with what.
fn exits(lan: &Lan) -> Vec<(Instant, Result<(), ExitError>)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match &e.what {
            Seen::Exit(r) => Some((e.at, r.clone())),
            _ => None,
        })
        .collect()
}

/// The VIP removals host 0 asked for and their outcomes, in order: (instant, ok) of
/// each ending.
fn removals_done(lan: &Lan) -> Vec<(Instant, bool)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match e.what {
            Seen::JobDone { add: false, ok } => Some((e.at, ok)),
            _ => None,
        })
        .collect()
}

/// When a master alone that got SIGTERM at 1000 ms asks for its VIP removal: after the
/// make-before-break bound.
const REMOVE: u64 = 1000 * MS + 399_609_375;

/// Host 0 alone at priority 150, adverts every 100 ms, VIP jobs taking `job`; run to
/// 1 s, by which it is master holding the VIP.
fn master_alone(job: Duration) -> Lan {
    let mut lan = Lan::builder().job_latency(job).host(web(150, 100)).build();
    lan.start_all();
    lan.run_until(at(1000 * MS));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(lan.holds(0, vip("192.0.2.50/24").addr));
    lan
}

#[test]
fn stop_waits_for_the_removal_and_exits_ok() {
    let v = vip("192.0.2.50/24").addr;
    let mut lan = master_alone(Duration::from_millis(20));
    lan.act(Act::Stop(0));
    assert_eq!(lan.adverts(0, 0), vec![at(1000 * MS)], "priority 0 at once");
    // The removal, asked for at the bound, takes 20 ms; the node waits for it.
    lan.run_until(at(REMOVE + 20 * MS - 1));
    assert!(exits(&lan).is_empty(), "exited before the removal ended");
    assert!(lan.holds(0, v), "the VIP is kept until the removal ends");
    lan.run_until(at(1500 * MS));
    assert_eq!(exits(&lan), vec![(at(REMOVE + 20 * MS), Ok(()))]);
    assert!(!lan.holds(0, v));
}

#[test]
fn a_second_stop_during_the_removal_exits_at_once_with_an_error() {
    let mut lan = master_alone(Duration::from_millis(20));
    lan.act(Act::Stop(0));
    // The handover keeps the VIP until REMOVE; the second signal comes at 1010 ms.
    lan.schedule(at(1010 * MS), Act::Stop(0));
    lan.run_until(at(1100 * MS));
    assert_eq!(
        exits(&lan),
        vec![(at(1010 * MS), Err(ExitError::Impatient))],
        "the second signal ends the wait at once, with an error"
    );
    // The removal's answer never reached the node (it had exited).
    assert!(removals_done(&lan).iter().all(|(t, _)| *t < at(1000 * MS)));
}

#[test]
fn a_removal_that_fails_twice_at_shutdown_exits_with_an_error() {
    let v = vip("192.0.2.50/24");
    let mut lan = master_alone(Duration::from_millis(2));
    lan.set_check_holders(false);
    lan.act(Act::FailRemoves(0, 2));
    lan.act(Act::Stop(0));
    assert_eq!(lan.adverts(0, 0), vec![at(1000 * MS)]);
    lan.run_until(at(1500 * MS));
    // The removal asked for at the bound fails 2 ms later; it is retried once at once,
    // and that fails 2 ms after: the node exits then, naming the VIP.
    let stop_removals: Vec<(Instant, bool)> = removals_done(&lan)
        .into_iter()
        .filter(|(t, _)| *t >= at(1000 * MS))
        .collect();
    assert_eq!(
        stop_removals,
        vec![(at(REMOVE + 2 * MS), false), (at(REMOVE + 4 * MS), false)]
    );
    assert_eq!(
        exits(&lan),
        vec![(
            at(REMOVE + 4 * MS),
            Err(ExitError::VipsLeftBehind(format!("{v} on eth0")))
        )]
    );
    assert!(lan.holds(0, v.addr), "the kernel kept it");
}

#[test]
fn a_removal_that_fails_once_at_shutdown_is_retried_and_exits_ok() {
    let v = vip("192.0.2.50/24").addr;
    let mut lan = master_alone(Duration::from_millis(2));
    lan.act(Act::FailRemoves(0, 1));
    lan.act(Act::Stop(0));
    lan.run_until(at(1500 * MS));
    let stop_removals: Vec<(Instant, bool)> = removals_done(&lan)
        .into_iter()
        .filter(|(t, _)| *t >= at(1000 * MS))
        .collect();
    assert_eq!(
        stop_removals,
        vec![(at(REMOVE + 2 * MS), false), (at(REMOVE + 4 * MS), true)]
    );
    assert_eq!(exits(&lan), vec![(at(REMOVE + 4 * MS), Ok(()))]);
    assert!(!lan.holds(0, v));
}

/// With long adverts the make-before-break bound outlasts the stop's wait: every 10 s,
/// Master_Down_Interval at priority 1 is 3 × 10 s + 255/256 × 10 s = 39.96 s, while
/// the stop waits [`vipd_node::SHUTDOWN_WAIT`] (20 s) in all. The handover is cut at
/// [`vipd_node::HANDOVER_WAIT`] (15 s), so the removal gets the rest of the wait: the
/// node must never exit "Ok" still holding the VIP. (It did: at 20 s, the VIP kept.)
#[test]
fn a_handover_longer_than_the_stop_wait_is_cut_so_the_vip_is_removed() {
    let v = vip("192.0.2.50/24").addr;
    let mut lan = Lan::builder()
        .job_latency(Duration::from_millis(20))
        .host(web(150, 10_000))
        .build();
    lan.start_all();
    lan.run_until(at(40_000 * MS));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(lan.holds(0, v));
    lan.act(Act::Stop(0));
    let cut = 40_000 * MS + vipd_node::HANDOVER_WAIT.as_nanos() as u64;
    lan.run_until(at(cut - 1));
    assert!(
        lan.holds(0, v),
        "the VIP is kept while the handover may still end"
    );
    lan.run_until(at(100_000 * MS));
    let after_stop: Vec<_> = removals_done(&lan)
        .into_iter()
        .filter(|(t, _)| *t > at(40_000 * MS))
        .collect();
    assert_eq!(after_stop, vec![(at(cut + 20 * MS), true)]);
    assert_eq!(exits(&lan), vec![(at(cut + 20 * MS), Ok(()))]);
    assert!(!lan.holds(0, v), "the node exited leaving its VIP behind");
}
