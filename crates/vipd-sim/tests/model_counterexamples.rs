//! Counterexamples the model checker (crates/vipd-model) found, as exact scenarios.
//!
//! Rules used (see node_reload_stop.rs for the defaults): job 2 ms, read 1 ms, network
//! 100 µs, adverts every 100 ms; host 0 (priority 150) master, host 1 (priority 100)
//! backup.

mod common;

use common::*;
use vipd_engine::Instant;
use vipd_engine::State;
use vipd_sim::lan::{Act, Lan};

/// Runs the LAN to `end` a millisecond at a time: somebody holds the VIP at each.
fn run_held_until(lan: &mut Lan, end: Instant) {
    let mut t = lan.now();
    while t < end {
        t = t + std::time::Duration::from_millis(1);
        lan.run_until(t);
        assert!(
            !lan.holders(vip50()).is_empty(),
            "nobody holds the VIP at {t} during a planned handover"
        );
    }
}

/// A planned stop whose priority-0 advert is lost (here: host 0 cut off for the one
/// instant it is sent) right after a scheduled advert. Host 1 never hears the farewell:
/// it takes over only when its Master_Down_Interval (at its own, lower priority:
/// 360.9375 ms) runs out, counted from host 0's last advert. Host 0 keeps its VIP for
/// the handover's bound; had that bound been Master_Down_Interval at host 0's own
/// priority (341.40625 ms from the stop) the VIP went to nobody for 19.6 ms. The model
/// found it with one advert lost (or the farewell overtaken by the advert before it).
///
/// This failed (nobody held the VIP from 1287.8125 until 1307.44375) while the engine
/// bounded the handover by Master_Down_Interval at the leaving master's own priority; it
/// now keeps the VIPs for Master_Down_Interval at priority 1, which outlasts every
/// backup's Master_Down_Timer (`Router::hand_over`).
#[test]
fn planned_stop_keeps_the_vip_until_a_backup_that_missed_the_farewell_takes_over() {
    let mut lan = pair();
    let last = at_ns(944_406_250);
    lan.run_until(last);
    assert_eq!(lan.adverts(0, 150).last(), Some(&last));
    lan.act(Act::Partition(vec![vec![0]]));
    lan.act(Act::Stop(0));
    lan.run_until(last + std::time::Duration::from_millis(1));
    lan.act(Act::Heal);
    // Host 1 heard the advert at 944.50625 and nothing after it: it takes over at
    // 944.50625 + 360.9375 = 1305.44375, its VIP confirmed 2 ms later.
    run_held_until(&mut lan, ms(1400));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_305_443_750))
    );
    lan.run_until(ms(2000));
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert!(lan.node(0).is_none(), "host 0 has exited");
    assert_no_breach(&lan);
}

/// The second counterexample: a split brain healing in the instant the higher master
/// stops. Host 0 (200) and host 1 (199) are both master, cut off from each other (host
/// 2, 100, follows host 1), adverts every second, network 20 ms. The partition heals
/// just before host 0's scheduled advert at 4221.75 ms; host 0 sends it and is stopped
/// in the same instant (its priority-0 advert follows). Host 1's scheduled advert of
/// 4225.65625, sent before it heard either, reaches host 0 during its handover: a stale
/// advert from a master about to step down. Host 1 then hears 200 (it steps down and
/// releases the VIP) and 0 (it waited Skew_Time, 222.65625 ms, not being the only
/// backup, and took over only then). Host 0 took the stale advert for the new
/// master and released the VIP at once: nobody held it for about 200 ms (394 ms in the
/// model's run). (Host 1's last advert as it steps down does the same.) Now a router
/// outranked as master by the one that leaves, within an Advertisement_Interval, takes over
/// at once, without Skew_Time (`Router`'s "Successor"): it holds the VIP again before
/// host 0 lets go.
#[test]
fn a_split_brain_healing_as_the_master_stops_keeps_a_holder() {
    let mut lan = Lan::builder()
        .net_latency(std::time::Duration::from_millis(20))
        .host(vipd_sim::cfg::node::web(200, 1000))
        .host(vipd_sim::cfg::node::web(199, 1000))
        .host(vipd_sim::cfg::node::web(100, 1000))
        .build();
    lan.act(Act::Partition(vec![vec![0]]));
    lan.start_all();
    let scheduled = at_ns(4_221_750_000);
    lan.run_until(before(scheduled));
    assert_eq!(lan.holders(vip50()), vec![0, 1], "the split brain");
    lan.act(Act::Heal);
    lan.run_until(scheduled);
    assert_eq!(lan.adverts(0, 200).last(), Some(&scheduled));
    lan.act(Act::Stop(0));
    run_held_until(&mut lan, ms(6000));
    // Host 1 heard host 0's 200 and 0 at 4241.75 (sent at 4221.75, 20 ms on the way):
    // it stepped down and took over again in that instant.
    assert_eq!(
        lan.transitions(1)
            .into_iter()
            .filter(|(t, ..)| *t > ms(4000))
            .map(|(t, _, _, to)| (t, to))
            .collect::<Vec<_>>(),
        vec![
            (at_ns(4_241_750_000), State::Backup),
            (at_ns(4_241_750_000), State::Master)
        ]
    );
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert!(lan.node(0).is_none(), "host 0 has exited");
}

/// The successor rule above is narrow: host 0 (100) preempted by host 1 (150) takes
/// over at once when host 1 stops within an Advertisement_Interval (100 ms) of host 0
/// stepping down, and after its Skew_Time (60.9375 ms) when host 1 stops later, as any
/// backup does. Host 1 starts at 1 s and is master at 1001 + 341.40625 ms; its first
/// advert (VIP confirmed 2 ms later) reaches host 0 at 1344.50625 ms.
#[test]
fn only_a_master_outranked_an_interval_ago_skips_skew_time() {
    for (stop, master_again) in [
        (ms(1400), at_ns(1_400_100_000)),
        (ms(1500), at_ns(1_561_037_500)),
    ] {
        let mut lan = Lan::builder()
            .host(vipd_sim::cfg::node::web(100, 100))
            .host(vipd_sim::cfg::node::web(150, 100))
            .build();
        lan.act(Act::Start(0));
        lan.schedule(ms(1000), Act::Start(1));
        lan.schedule(stop, Act::Stop(1));
        lan.run_until(ms(2500));
        assert_eq!(
            lan.entered(0, "web", State::Backup, ms(1000)),
            Some(at_ns(1_344_506_250))
        );
        assert_eq!(
            lan.entered(0, "web", State::Master, ms(1000)),
            Some(master_again),
            "host 1 stopped at {stop}"
        );
    }
}
