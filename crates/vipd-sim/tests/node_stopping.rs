//! A stopping node starts nothing: a router started while it waits for its last VIP
//! removals could take a VIP that nothing removes before the exit. (Found by review:
//! the node kept reading the kernel while stopping, and a read restarted instances.)

use std::time::Duration;

use vipd_engine::Instant;
use vipd_sim::cfg::node::{config, instance, vip, web};
use vipd_sim::lan::{Act, Lan, Seen};

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * 1_000_000)
}

fn exits(lan: &Lan) -> Vec<Instant> {
    lan.seen(0, |s| matches!(s, Seen::Exit(Ok(()))))
}

#[test]
fn a_source_change_while_stopping_restarts_nothing() {
    let v = vip("192.0.2.50/24").addr;
    // The address owner (priority 255) is master at once when started; jobs take 300 ms.
    let mut lan = Lan::builder()
        .job_latency(Duration::from_millis(300))
        .host(web(255, 100))
        .build();
    lan.start_all();
    lan.run_until(ms(2000));
    assert!(lan.holds(0, v));
    lan.act(Act::Stop(0));
    // While the handover waits for a new master (none comes: it keeps the VIP for
    // Master_Down_Interval at priority 1, 3 * 100 ms + 255/256 * 100 ms = 399.609375
    // ms) the advert source changes.
    lan.run_until(ms(2100));
    lan.act(Act::AddAddr(0, vip("192.0.2.99/24")));
    lan.act(Act::RemoveAddr(0, Lan::addr_v4(0)));
    lan.run_until(ms(25_000));
    // The removal runs 2.399609375 s - 2.699609375 s and the node exits then, VIP
    // gone, nothing restarted.
    assert_eq!(exits(&lan), vec![Instant::from_nanos(2_699_609_375)]);
    assert!(!lan.holds(0, v), "the node exited leaving its VIP behind");
    let adds_after_stop = lan
        .timeline()
        .iter()
        .filter(|e| e.at >= ms(2000) && matches!(e.what, Seen::JobAsked { add: true, .. }))
        .count();
    assert_eq!(adds_after_stop, 0);
}

#[test]
fn an_instance_waiting_for_its_address_does_not_start_while_stopping() {
    let v = vip("192.0.2.60/24").addr;
    let c = config(vec![
        instance("web6", 51, 150, 100, &["2001:db8::50/64"]),
        instance("db", 52, 255, 100, &["192.0.2.60/24"]),
    ]);
    let mut lan = Lan::builder()
        .job_latency(Duration::from_millis(300))
        .host(c)
        .build();
    // No IPv4 address yet: db waits for one.
    lan.act(Act::RemoveAddr(0, Lan::addr_v4(0)));
    lan.start_all();
    lan.run_until(ms(3000));
    assert_eq!(lan.state(0, "db"), None);
    lan.act(Act::Stop(0));
    // The address arrives while web6 hands over (no other router: it keeps its VIP
    // for Master_Down_Interval at priority 1, 300 ms + 255/256 * 100 ms = 399.609375 ms).
    lan.run_until(ms(3050));
    lan.act(Act::AddAddr(0, vip("192.0.2.99/24")));
    lan.run_until(ms(25_000));
    // Its removal runs 3.399609375 s - 3.699609375 s; the exit follows it.
    assert_eq!(exits(&lan), vec![Instant::from_nanos(3_699_609_375)]);
    assert!(
        !lan.holds(0, v),
        "db started while stopping and kept its VIP"
    );
}
