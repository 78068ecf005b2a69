//! Counterexamples the model checker (crates/vipd-model) found, as exact scenarios.
//!
//! Rules used (see node_reload_stop.rs for the defaults): job 2 ms, read 1 ms, network
//! 100 µs, adverts every 100 ms; host 0 (priority 150) master, host 1 (priority 100)
//! backup.

mod common;

use common::*;
use vipd_engine::State;
use vipd_sim::lan::Act;

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
    let mut t = lan.now();
    while t < ms(1400) {
        t = t + std::time::Duration::from_millis(1);
        lan.run_until(t);
        assert!(
            !lan.holders(vip50()).is_empty(),
            "nobody holds the VIP at {t} during a planned handover"
        );
    }
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_305_443_750))
    );
    lan.run_until(ms(2000));
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert!(lan.node(0).is_none(), "host 0 has exited");
    assert_no_breach(&lan);
}
