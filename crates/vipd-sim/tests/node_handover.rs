//! Node-level scenarios of the make-before-break handover: a master stopped on purpose
//! keeps its VIP until the new master's first advert reaches it (or Master_Down_Interval
//! passes when nobody takes over), and only then removes it; the node exits after that
//! removal.
//!
//! Rules used (see node_reload_stop.rs for the defaults): job 2 ms, read 1 ms, network
//! 100 µs, adverts every 100 ms; host 0 (priority 150) master from 342.40625 ms, its VIP
//! confirmed at 344.40625. A backup at priority 100 takes over Skew_Time = 156/256 *
//! 100 ms = 60.9375 ms after hearing priority 0; its first advert follows its add.

mod common;

use common::*;
use vipd_engine::State;
use vipd_sim::cfg::node::web;
use vipd_sim::lan::{Act, Lan, Seen};

#[test]
fn stopped_master_removes_its_vip_exactly_when_the_new_masters_first_advert_arrives() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Stop(0));
    // 1000: priority 0 from host 0, which keeps the VIP.
    lan.run_until(ms(1061));
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1)]);
    // Host 1 hears it at 1000.1 and takes over at 1000.1 + 60.9375 = 1061.0375; its
    // add runs → 1063.0375 and its first advert goes out then.
    lan.run_until(at_ns(1_063_037_500));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(1_063_037_500)));
    // From then both hold it (the planned overlap) ...
    lan.run_until(at_ns(1_063_137_499));
    assert_eq!(lan.holders(vip50()), vec![0, 1]);
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1)]);
    // ... until the advert reaches host 0 at 1063.1375: the removal is asked then, and
    // ends at 1065.1375, when the node exits.
    lan.run_until(ms(2000));
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_063_137_500)]
    );
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![at_ns(1_065_137_500)]
    );
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_no_breach(&lan);
}

#[test]
fn stopped_master_with_no_backup_removes_its_vip_at_master_down_interval_then_exits() {
    let mut lan = Lan::builder().host(web(150, 100)).build();
    lan.start_all();
    lan.run_until(ms(1000));
    assert_eq!(lan.holders(vip50()), vec![0]);
    lan.act(Act::Stop(0));
    // Nobody takes over: Master_Down_Interval at priority 150 and 100 ms after the
    // priority 0, 300 + 106/256 * 100 = 341.40625 ms: removal 1341.40625 → 1343.40625.
    lan.run_until(before(at_ns(1_341_406_250)));
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1)]);
    assert!(lan.holds(0, vip50()));
    lan.run_until(ms(3000));
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_341_406_250)]
    );
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![at_ns(1_343_406_250)]
    );
    assert!(!lan.holds(0, vip50()));
    assert_no_breach(&lan);
}

#[test]
fn a_reload_that_removes_a_master_instance_still_removes_its_vip_at_once() {
    // The router goes away with the reload, so it cannot wait for the new master.
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Reload(
        0,
        vipd_sim::cfg::node::config(vec![vipd_sim::cfg::node::instance(
            "db",
            52,
            100,
            100,
            &["192.0.2.60/24"],
        )]),
    ));
    lan.run_until(ms(1500));
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    assert_eq!(jobs_asked(&lan, 0, false)[1], ms(1000));
    assert_no_breach(&lan);
}
