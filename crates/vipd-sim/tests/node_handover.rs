//! Node-level scenarios of the make-before-break handover: a master stopped on purpose
//! keeps its VIP until the new master's first advert reaches it and HANDOVER_GRACE
//! (20 ms, the clients' time to follow the new master's announcements) has passed (or
//! Master_Down_Interval passes when nobody takes over), and only then removes it; the
//! node exits after that removal.
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
fn stopped_master_removes_its_vip_a_grace_after_the_new_masters_first_advert_arrives() {
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
    lan.run_until(at_ns(1_083_137_499));
    assert_eq!(lan.holders(vip50()), vec![0, 1]);
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1)]);
    // ... until 20 ms after the advert reached host 0 at 1063.1375: the removal is
    // asked at 1083.1375, and ends at 1085.1375, when the node exits.
    lan.run_until(ms(2000));
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_083_137_500)]
    );
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![at_ns(1_085_137_500)]
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
    // Nobody takes over: Master_Down_Interval at priority 1 (what any backup may wait)
    // and 100 ms after the priority 0, 300 + 255/256 * 100 = 399.609375 ms: removal
    // 1399.609375 → 1401.609375.
    lan.run_until(before(at_ns(1_399_609_375)));
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1)]);
    assert!(lan.holds(0, vip50()));
    lan.run_until(ms(3000));
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_399_609_375)]
    );
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![at_ns(1_401_609_375)]
    );
    assert!(!lan.holds(0, vip50()));
    assert_no_breach(&lan);
}

#[test]
fn a_reload_that_removes_the_master_instance_hands_over_make_before_break() {
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
    // 1000: web leaves with priority 0 and keeps its VIP; host 1 master at 1061.0375,
    // first advert at 1063.0375, heard at 1063.1375: web's removal 20 ms after that
    // (db's startup removal came first, 1001 → 1003).
    lan.run_until(before(at_ns(1_083_137_500)));
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    assert_eq!(lan.holders(vip50()), vec![0, 1]);
    assert_eq!(lan.node(0).map(|n| n.leaving().count()), Some(1));
    lan.run_until(ms(1500));
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), ms(1001), at_ns(1_083_137_500)]
    );
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_eq!(lan.node(0).map(|n| n.leaving().count()), Some(0));
    assert_no_breach(&lan);
}

#[test]
fn a_restarted_instance_ends_the_handover_of_its_old_self_before_it_starts() {
    // Same name and VIP, another VRID: the instance restarts. The new one must not
    // find its VIP removed later by the old one: the old one's removal comes first.
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Reload(
        0,
        vipd_sim::cfg::node::config(vec![vipd_sim::cfg::node::instance(
            "web",
            53,
            150,
            100,
            &["192.0.2.50/24"],
        )]),
    ));
    lan.run_until(ms(1500));
    // 1000: priority 0 from the old web; the new web starts from the read 1000 → 1001,
    // ending the old one's handover there: its removal 1001 → 1003, then the new one's
    // startup removal 1001 → 1005.
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1), ms(1001), ms(1001)]);
    assert_eq!(lan.node(0).map(|n| n.leaving().count()), Some(0));
    assert!(lan
        .breaches()
        .iter()
        .all(|b| !matches!(b, vipd_sim::lan::Breach::MasterWithoutVip { .. })));
}
