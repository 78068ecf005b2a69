//! Failover: the backup takes over when the master loses its cable, is stopped or
//! crashes, and a client's traffic to the VIP follows it.
//!
//! Outages are measured from a client pinging the VIP every 5 ms: the longest gap
//! between consecutive echo replies.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{adverts, describe_adverts, wait_advert};
use vipd_e2e::events::{is_addition, is_deletion};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    assert_roles, assert_vipctl_agrees, describe, epoch_now, exclusive, holders, skew_ms,
    start_pair, wait_master, wait_until, web_config, Host, Lan, Pinger, Signal, VIP4, VIP4_CIDR,
    VIP6, VIP6_CIDR,
};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Pulls the master's cable while a client pings the VIP.
fn cable_pull(id: &str, vip: &str, vip_cidr: &str) {
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, vip_cidr);
    let both = [&a, &b];
    let ping = Pinger::start_replying(&client, vip, Duration::from_secs(30), 100);
    assert_eq!(
        client.neigh_mac(vip).as_deref(),
        Some(a.mac()),
        "client's neighbour entry"
    );

    let pulled = epoch_now();
    a.pull_cable();
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(5), || b
            .has_addr(vip)),
        "b did not take the VIP within 5 s of a's cable being pulled:\n{}",
        describe(&both, vip)
    );
    let took = epoch_now() - pulled;
    // a lost carrier: it must give the VIP up (Fault), not keep a stale copy.
    assert!(
        wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
            !a.has_addr(vip) && a.state() == Some(State::Fault)
        }),
        "a without carrier should be in fault without the VIP:\n{}",
        describe(&both, vip)
    );
    assert_eq!(b.state(), Some(State::Master));
    ping.assert_replies(
        100,
        Duration::from_secs(3),
        "the client's pings did not resume after the failover",
    );
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(5), || {
            client.neigh_mac(vip).as_deref() == Some(b.mac())
        }),
        "the client's neighbour entry for {vip} is {:?}, not b's {}",
        client.neigh_mac(vip),
        b.mac()
    );
    let report = ping.stop();
    let (gap, at) = report.longest_gap().expect("replies before and after");
    println!(
        "{id}: cable pulled at {pulled:.6}; b held {vip} after {:.1} ms; longest ping gap \
         {:.1} ms (from {at:.6}); {report}",
        took * 1e3,
        ms(gap)
    );
    assert!(
        report.replies_after(pulled) > 0,
        "no replies after the pull: {report}"
    );
    assert!(
        gap <= Duration::from_millis(1000),
        "outage {:.1} ms > 1000 ms: {report}",
        ms(gap)
    );
    // Settled: a in fault without the VIP, b master with it; vipctl says so on both.
    assert_vipctl_agrees(&both);

    // The cable comes back: a preempts (150 > 100) and b steps down.
    a.plug_cable();
    assert_roles(
        &both,
        "a",
        vip,
        Duration::from_secs(5),
        "a did not take the VIP back after its cable returned",
    );
    assert_vipctl_agrees(&both);
}

#[test]
fn cable_pull_failover_default_settings() {
    let _serial = exclusive();
    cable_pull("cable", VIP4, VIP4_CIDR);
}

#[test]
fn ipv6_failover() {
    let _serial = exclusive();
    cable_pull("ipv6", VIP6, VIP6_CIDR);
}

#[test]
fn sigterm_failover() {
    let _serial = exclusive();
    let lan = Lan::new("sigterm");
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    let interval_ms = first_instance(&b.status()).advert_interval_ms;
    assert_eq!(interval_ms, 200, "the default advert interval");
    // RFC 5798 §6.1: 156 × 200 ms / 256 = 121.875 ms.
    let skew = skew_ms(100, 200.0);
    let limit_ms = skew + 250.0;

    let addr_events = b.address_events();
    // b's takeover is timed by its first advert on the wire (a kernel capture time); its
    // `ip monitor` line is stamped when the harness reads it, late by however long the
    // reader was not scheduled.
    let capture = lan.capture("br0", "ip proto 112");
    let ping = Pinger::start_replying(&client, VIP4, Duration::from_secs(30), 100);

    let sent = epoch_now();
    assert!(a.kill(Signal::SIGTERM), "a's vipd was already gone");
    let added = addr_events.wait_for(Duration::from_secs(3), |l| is_addition(l, VIP4));
    let Some(added) = added else {
        panic!(
            "b did not add the VIP within 3 s of SIGTERM to a:\n{}",
            describe(&both, VIP4)
        );
    };
    let Some(b_first) = wait_advert(&capture, Duration::from_secs(1), |x| {
        x.src == b.ipv4 && x.vrid == 51 && x.t > sent
    }) else {
        panic!(
            "b added the VIP but sent no advert after SIGTERM to a: {:?}",
            describe_adverts(&adverts(&capture), sent)
        );
    };
    let takeover_ms = (b_first.t - sent) * 1e3;

    a.assert_left(VIP4, Duration::from_secs(5));
    ping.assert_replies(
        100,
        Duration::from_secs(3),
        "pings did not resume after the takeover",
    );
    let report = ping.stop();
    let gap = report
        .longest_gap_after(sent)
        .expect("replies around the event");
    println!(
        "sigterm_failover: SIGTERM→b's first advert {takeover_ms:.1} ms (`ip monitor` read the \
         VIP on b at {:.1} ms; skew {skew:.3} ms, limit {limit_ms:.3} ms); longest ping gap \
         {:.1} ms; {report}",
        (added.t - sent) * 1e3,
        ms(gap)
    );
    assert!(
        a.vipd_log().contains("SIGTERM"),
        "a's log does not mention SIGTERM:\n{}",
        a.vipd_log()
    );
    assert_eq!(holders(&both, VIP4), vec!["b".to_string()]);
    assert_eq!(b.state(), Some(State::Master));
    // Not before Skew_Time (a truncated or missing skew would take over at once) ...
    assert!(
        takeover_ms >= skew - 10.0,
        "b took over after {takeover_ms:.1} ms, before Skew_Time {skew:.3} ms"
    );
    // ... and not much after it.
    assert!(
        takeover_ms <= limit_ms,
        "takeover {takeover_ms:.1} ms > skew + 250 ms = {limit_ms:.3} ms"
    );
    assert!(
        ms(gap) <= limit_ms,
        "client outage {:.1} ms > {limit_ms:.3} ms: {report}",
        ms(gap)
    );
    // A stop is a planned handover (make-before-break): a keeps answering until b's
    // first advert, so no reply is lost at all.
    let lost = report.lost_after(sent);
    assert!(lost.is_empty(), "lost icmp_seq {lost:?}: {report}");
    assert_eq!(client.neigh_mac(VIP4).as_deref(), Some(b.mac()));
    // a's vipd is gone; b's vipctl agrees with its kernel.
    b.assert_vipctl_agrees_with_kernel();
}

/// Crashes `master`'s vipd: its VIP stays in the kernel, and `backup` takes over.
fn crash_master(master: &Host, backup: &Host) {
    master.crash_vipd();
    assert!(
        master.has_addr(VIP4),
        "after SIGKILL the VIP should still be on {} (nothing removed it)",
        master.name
    );
    assert!(
        wait_master(backup, VIP4, Duration::from_secs(3)),
        "{} did not take over after {} crashed:\n{}",
        backup.name,
        master.name,
        describe(&[master, backup], VIP4)
    );
}

#[test]
fn crash_leftover_cleanup() {
    let lan = Lan::new("crash");
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];

    // Crash the master: its VIP stays in the kernel.
    crash_master(&a, &b);
    assert_eq!(
        holders(&both, VIP4).len(),
        2,
        "both hold it now: the leftover on a"
    );

    // 1. Restart a with a lower priority: it must remove the leftover at start-up and
    //    stay backup, leaving b the only holder.
    let restarted = epoch_now();
    a.spawn_vipd(&web_config(50, VIP4_CIDR));
    assert!(
        wait_until(Duration::from_secs(3), Duration::from_millis(5), || !a
            .has_addr(VIP4)),
        "restarted vipd on a did not remove the leftover VIP:\n{}\nlog:\n{}",
        describe(&both, VIP4),
        a.vipd_log()
    );
    println!(
        "crash_leftover_cleanup: leftover removed {:.1} ms after restarting (including start-up)",
        (epoch_now() - restarted) * 1e3
    );
    assert_roles(
        &both,
        "b",
        VIP4,
        Duration::from_secs(3),
        "after the restart b should be the only master",
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        holders(&both, VIP4),
        vec!["b".to_string()],
        "{}",
        describe(&both, VIP4)
    );
    assert_eq!(a.state(), Some(State::Backup));
    assert_vipctl_agrees(&both);

    // 2. Crash b (now master): a (50) takes over and b's VIP is left behind. Restart b
    //    with its old priority 100: it removes the leftover first, then preempts a.
    crash_master(&b, &a);
    let events = b.address_events();
    b.spawn_vipd(&web_config(100, VIP4_CIDR));
    assert_roles(
        &both,
        "b",
        VIP4,
        Duration::from_secs(5),
        "restarted b (100) should preempt a (50) and be the only master",
    );
    let lines = events.lines();
    let deleted = lines.iter().position(|l| is_deletion(l, VIP4));
    let added_after = deleted.and_then(|d| lines[d..].iter().position(|l| is_addition(l, VIP4)));
    assert!(
        deleted.is_some() && added_after.is_some(),
        "b should delete the leftover at start-up and add the VIP again when master; \
         address events: {:#?}",
        lines.iter().map(|l| &l.text).collect::<Vec<_>>()
    );
    assert_eq!(
        first_instance(&b.status()).state,
        State::Master,
        "{}",
        describe(&both, VIP4)
    );
    assert_vipctl_agrees(&both);
}
