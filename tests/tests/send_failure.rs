//! A master whose adverts cannot be sent (README "Never a master without its VIPs":
//! three adverts in a row that cannot be sent make the master hand over and go to
//! Fault). The sends are made to fail by an nftables rule in the master's namespace that
//! drops outgoing VRRP (IP protocol 112): `sendmsg` then returns EPERM. The priority 0
//! it tries to send on the way out is dropped too, so the backup takes over when its
//! Master_Down_Timer runs out, counted from the last advert that got through to the
//! backup's first advert as master: both capture times of one `tcpdump`.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{adverts, adverts_from, describe_adverts, wait_advert};
use vipd_e2e::events::{texts, wait_added, wait_deleted};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    describe, epoch_now, exclusive, master_down_ms, start_pair, wait_until, Host, Lan, Pinger,
    VIP4, VIP4_CIDR,
};

/// How far past the RFC timer an event may be seen: the timer firing, a netlink round
/// trip, `ip monitor` printing it, on a busy two-core machine.
const MARGIN_MS: f64 = 60.0;

/// Drops every VRRP packet `h` sends (table `vte2e`, in `h`'s namespace only).
fn drop_outgoing_vrrp(h: &Host) {
    h.exec_ok(&["nft", "add", "table", "inet", "vte2e"]);
    h.exec_ok(&[
        "nft",
        "add chain inet vte2e out { type filter hook output priority 0 ; policy accept ; }",
    ]);
    h.exec_ok(&[
        "nft", "add", "rule", "inet", "vte2e", "out", "ip", "protocol", "112", "drop",
    ]);
}

#[test]
fn three_failed_sends_hand_over_and_fault() {
    let _serial = exclusive();
    let lan = Lan::new("sendfail");
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    let capture = lan.capture("br0", "ip proto 112");
    let a_events = a.address_events();
    let b_events = b.address_events();
    let ping = Pinger::start_replying(&client, VIP4, Duration::from_secs(30), 100);
    let mdi = master_down_ms(100, 200.0);

    let adding = epoch_now();
    drop_outgoing_vrrp(&a);
    // From here on the rule is in place.
    let blocked = epoch_now();
    let Some(added) = wait_added(&b_events, VIP4, adding, Duration::from_secs(3)) else {
        panic!(
            "b did not take the VIP within 3 s of a's adverts being dropped:\n{}\na's log:\n{}",
            describe(&both, VIP4),
            a.vipd_log()
        );
    };
    let deleted = wait_deleted(&a_events, VIP4, adding, Duration::from_secs(1));
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(10), || {
            a.state() == Some(State::Fault) && b.state() == Some(State::Master)
        }),
        "a should be in fault and b master:\n{}",
        describe(&both, VIP4)
    );
    ping.assert_replies(
        50,
        Duration::from_secs(3),
        "pings did not resume after b took over",
    );
    let report = ping.stop();

    let from_a = adverts_from(&capture, &a.ipv4, 51);
    // The last advert that got out: the rule went in between `adding` and `blocked`.
    let Some(last) = from_a.iter().rev().find(|x| x.t < blocked).cloned() else {
        panic!("no advert from a captured before the rule");
    };
    let after: Vec<_> = from_a.iter().filter(|x| x.t > blocked).cloned().collect();
    let Some(deleted) = deleted else {
        panic!(
            "a did not remove the VIP; a's address events {:#?}",
            texts(&a_events.lines())
        );
    };
    // b took over when it sent its first advert as master: a kernel capture time, like
    // `last` (its `ip monitor` line is stamped when the harness read it: not a bound).
    let Some(b_first) = wait_advert(&capture, Duration::from_secs(1), |x| {
        x.src == b.ipv4 && x.vrid == 51 && x.t > last.t
    }) else {
        panic!(
            "no advert from b after a's last although b added the VIP: {:?}",
            describe_adverts(&adverts(&capture), last.t)
        );
    };
    let a_gone = (deleted.t - last.t) * 1e3;
    let b_took = (b_first.t - last.t) * 1e3;
    let gap = report.longest_gap_after_ms(blocked);
    let failures = a.vipd_log().matches("advert not sent").count();
    println!(
        "three_failed_sends_hand_over_and_fault: rule added {:.1} ms to {:.1} ms after a's \
         last advert on the wire; a removed the VIP {a_gone:.1} ms after it (three intervals: \
         600 ms), b advertised as master {b_took:.1} ms after it and its `ip monitor` \
         showed the VIP added at +{:.1} ms (Master_Down_Interval {mdi:.3} ms); \
         'advert not sent' logged {failures} times; longest ping gap {gap:.1} ms; {report}",
        (adding - last.t) * 1e3,
        (blocked - last.t) * 1e3,
        (added.t - last.t) * 1e3
    );
    assert!(
        after.is_empty(),
        "adverts from a got through after the rule: {:?}",
        describe_adverts(&after, blocked)
    );
    // The sends at +200, +400 and +600 ms fail; after the third a hands over (its
    // priority 0 cannot go out either) and removes the VIP.
    assert!(
        (600.0 - 5.0..=600.0 + MARGIN_MS).contains(&a_gone),
        "a removed the VIP {a_gone:.1} ms after its last advert got out; expected after \
         its third failed send, 600 ms"
    );
    // b heard nothing after `last`: Master_Down_Interval after it.
    assert!(
        b_took >= mdi - 5.0 && b_took <= mdi + MARGIN_MS,
        "b took over {b_took:.1} ms after a's last advert; Master_Down_Interval {mdi:.3} ms"
    );
    assert!(deleted.t <= added.t, "a still held the VIP when b added it");
    // Three adverts at its priority, then the priority 0.
    assert!(
        failures == 4,
        "a's log shows {failures} failed sends, not 4:\n{}",
        a.vipd_log()
    );
    let st = a.vipctl_status_json();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Fault, "{inst:?}");
    assert_eq!(inst.reason, "advert_send_failed", "{inst:?}");
    let text = a.vipctl_status_text();
    assert!(
        text.contains("advert_send_failed"),
        "vipctl status does not say why a is in fault:\n{text}"
    );
    assert!(!a.has_addr(VIP4));
    assert!(
        gap <= mdi + MARGIN_MS,
        "client outage {gap:.1} ms: {report}"
    );
    assert_eq!(client.neigh_mac(VIP4).as_deref(), Some(b.mac()));
}
