//! Planned handovers lose nothing (make-before-break): SIGTERM on the master, with the
//! default settings (adverts every 200 ms) and with 100 ms adverts, IPv4 and IPv6. The
//! old master keeps its VIP (and keeps answering) until the new master's first advert,
//! so a client pinging the VIP every 5 ms gets every reply, and a web client GETting it
//! every 10 ms (nginx on both routers) sees no request fail, through SIGTERM and
//! maintenance on and off.

use std::time::Duration;

use vipd_e2e::setup::SETTLE;
use vipd_e2e::web::{failures, Getter, Nginx};
use vipd_e2e::{
    assert_roles, describe, epoch_now, exclusive, holders, vipd_yaml, wait_master, Lan, Pinger,
    Signal, VipdInstance, VIP4, VIP4_CIDR, VIP6, VIP6_CIDR,
};

/// The web instance at `priority` for `vip_cidr`, adverts every `interval` (the
/// default when None).
fn yaml(priority: u8, vip_cidr: &str, interval: Option<&str>) -> String {
    let mut i = VipdInstance::new("web", 51, &[vip_cidr]).priority(priority);
    if let Some(iv) = interval {
        i = i.advert_interval(iv);
    }
    vipd_yaml(Some("debug"), &[i])
}

fn sigterm_handover(id: &str, vip: &str, vip_cidr: &str, interval: Option<&str>) {
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    a.spawn_vipd(&yaml(150, vip_cidr, interval));
    b.spawn_vipd(&yaml(100, vip_cidr, interval));
    let both = [&a, &b];
    assert_roles(&both, "a", vip, SETTLE, "a never became the only master");
    let ping = Pinger::start_replying(&client, vip, Duration::from_secs(30), 100);

    let sent = epoch_now();
    assert!(a.kill(Signal::SIGTERM), "a's vipd was already gone");
    assert!(
        wait_master(&b, vip, Duration::from_secs(5)),
        "b did not take over after SIGTERM to a:\n{}",
        describe(&both, vip)
    );
    // a exits once the handover is over, without its VIP.
    a.assert_left(vip, Duration::from_secs(10));
    let left = epoch_now() - sent;
    ping.assert_replies(
        100,
        Duration::from_secs(3),
        "pings did not go on after the handover",
    );
    let report = ping.stop();
    let lost = report.lost_after(sent);
    let gap = report.longest_gap_after_ms(sent);
    println!(
        "{id}: SIGTERM to a; a gone {:.1} ms later; lost {} probes; longest ping gap \
         {gap:.1} ms; {report}",
        left * 1e3,
        lost.len()
    );
    // Nothing is lost, IPv4 or IPv6. (IPv6 used to lose one probe in about one run of
    // three: the new master announced its VIP before the kernel had installed the VIP's
    // local route, which it does after answering the add; the probe that followed the
    // NA was dropped. The VIP writer now waits for that route: see vip_writer.rs.)
    assert!(
        lost.is_empty(),
        "{id}: the client lost {} replies (icmp_seq {lost:?}) in a planned handover: {report}",
        lost.len()
    );
    assert!(
        a.vipd_log().contains("SIGTERM"),
        "a's log does not mention SIGTERM"
    );
    assert_eq!(holders(&both, vip), vec!["b".to_string()]);
    assert_eq!(client.neigh_mac(vip).as_deref(), Some(b.mac()));
}

#[test]
fn sigterm_handover_ipv4_default_settings_loses_nothing() {
    let _serial = exclusive();
    sigterm_handover("mbb4", VIP4, VIP4_CIDR, None);
}

#[test]
fn sigterm_handover_ipv4_100ms_adverts_loses_nothing() {
    let _serial = exclusive();
    sigterm_handover("mbb4f", VIP4, VIP4_CIDR, Some("100ms"));
}

#[test]
fn sigterm_handover_ipv6_default_settings_loses_nothing() {
    let _serial = exclusive();
    sigterm_handover("mbb6", VIP6, VIP6_CIDR, None);
}

#[test]
fn sigterm_handover_ipv6_100ms_adverts_loses_nothing() {
    let _serial = exclusive();
    sigterm_handover("mbb6f", VIP6, VIP6_CIDR, Some("100ms"));
}

/// The same seen by a web client: nginx on both routers, a client GETting the VIP every
/// 10 ms through the SIGTERM handover and then through `vipctl maintenance on` on the
/// new master and `off` again. No request finds the VIP without a holder, and each ends
/// on the right router. The one failure an address move cannot avoid is allowed: a
/// connection open at the instant the client follows the move, cut there by the new holder
/// (about one run in ten here; a request takes well under 1 ms of the 10 ms period).
#[test]
fn planned_handovers_leave_no_moment_without_a_holder() {
    let _serial = exclusive();
    let lan = Lan::new("mbbweb");
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let _na = Nginx::start(&a);
    let _nb = Nginx::start(&b);
    a.spawn_vipd(&yaml(150, VIP4_CIDR, None));
    b.spawn_vipd(&yaml(100, VIP4_CIDR, None));
    let both = [&a, &b];
    assert_roles(&both, "a", VIP4, SETTLE, "a never became the only master");
    let mut get = Getter::start(&client, VIP4, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));

    // SIGTERM on a: b takes over, a leaves.
    let stopped = epoch_now();
    assert!(a.kill(Signal::SIGTERM), "a's vipd was already gone");
    a.assert_left(VIP4, Duration::from_secs(10));
    assert!(
        wait_master(&b, VIP4, Duration::from_secs(5)),
        "b is not master"
    );
    std::thread::sleep(Duration::from_millis(300));

    // a comes back (it preempts: a planned handover too), then maintenance on a moves
    // the VIP to b again, and off brings it back.
    a.spawn_vipd(&yaml(150, VIP4_CIDR, None));
    assert_roles(&both, "a", VIP4, SETTLE, "a did not take the VIP back");
    std::thread::sleep(Duration::from_millis(300));
    let maintenance = epoch_now();
    let on = a.vipctl(&["maintenance", "on"]);
    assert!(on.status.success(), "maintenance on: {on:?}");
    assert_roles(
        &both,
        "b",
        VIP4,
        SETTLE,
        "maintenance on did not move the VIP to b",
    );
    std::thread::sleep(Duration::from_millis(300));
    let back = epoch_now();
    let off = a.vipctl(&["maintenance", "off"]);
    assert!(off.status.success(), "maintenance off: {off:?}");
    assert_roles(
        &both,
        "a",
        VIP4,
        SETTLE,
        "maintenance off did not bring the VIP back",
    );
    std::thread::sleep(Duration::from_millis(300));
    let samples = get.stop();

    let failures = failures(&samples);
    let lost: Vec<(f64, String)> = failures
        .lost
        .iter()
        .map(|(t, why)| (t - stopped, why.clone()))
        .collect();
    let cut: Vec<f64> = failures.cut_at_move.iter().map(|t| t - stopped).collect();
    let served = |from: f64, to: f64| -> Vec<String> {
        let mut who: Vec<String> = Vec::new();
        for s in samples.iter().filter(|s| s.t >= from && s.t < to) {
            let w = s.by.clone().unwrap_or_else(|| "-".into());
            if who.last() != Some(&w) {
                who.push(w);
            }
        }
        who
    };
    println!(
        "{} requests; lost at (s after the SIGTERM) {lost:?}; connections cut at a move \
         {cut:?}; served by {:?}",
        samples.len(),
        served(0.0, f64::MAX)
    );
    assert!(samples.len() > 100, "too few requests: {}", samples.len());
    // No moment without a holder: every request is answered, but for a connection open
    // at the very instant the client follows a move (see `Failures::cut_at_move`).
    assert!(
        lost.is_empty(),
        "{} requests failed in planned handovers, at {lost:?} s after the SIGTERM",
        lost.len()
    );
    // At most one cut per move, and there are four moves.
    assert!(cut.len() <= 4, "connections cut at {cut:?}");
    // Who answered, in order (the failures are judged above): a, then b after the
    // SIGTERM, a again once it is back, b during maintenance, a after it.
    let answered = |from: f64, to: f64| -> Vec<String> {
        let mut who = served(from, to);
        who.retain(|w| w != "-");
        who.dedup();
        who
    };
    assert_eq!(answered(0.0, stopped), vec!["a"]);
    assert_eq!(answered(stopped, maintenance), vec!["a", "b", "a"]);
    assert_eq!(answered(maintenance, back), vec!["a", "b"]);
    assert_eq!(answered(back, f64::MAX), vec!["b", "a"]);
}
