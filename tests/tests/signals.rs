//! Signals (README "Signals"): SIGINT makes a master leave exactly as SIGTERM does
//! (priority 0 on the wire, the backup takes over after Skew_Time, the VIP removed, exit
//! 0), and a second signal while the VIP removals are under way makes vipd exit 1 at
//! once.
//!
//! A removal that fails at shutdown (exit 1, README "When things go wrong") cannot be
//! brought about here without touching the whole machine (the rtnl lock is global, and
//! vipd's netlink permissions cannot be taken away from the outside); it is covered by
//! the node scenarios in `crates/vipd-sim/tests/node_shutdown.rs`, which also pin the
//! second signal's exit to the instant.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{adverts_from, describe_adverts, wait_advert};
use vipd_e2e::events::{is_addition, wait_added};
use vipd_e2e::{
    describe, epoch_now, exclusive, holders, skew_ms, start_pair, start_web, Lan, Pinger, Signal,
    VIP4, VIP4_CIDR,
};

/// How far past the RFC timer a takeover may come: the signal reaching vipd, the
/// priority-0 advert crossing the bridge, the backup's VIP add (a netlink round trip),
/// `ip monitor` printing it, on a busy two-core machine.
const MARGIN_MS: f64 = 60.0;

#[test]
fn sigint_leaves_like_sigterm() {
    let _serial = exclusive();
    let lan = Lan::new("sigint");
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    let capture = lan.capture("br0", "ip proto 112");
    let b_events = b.address_events();
    let ping = Pinger::start_replying(&client, VIP4, Duration::from_secs(30), 100);
    // b is at priority 100 and follows a's 200 ms: Skew_Time 121.875 ms.
    let skew = skew_ms(100, 200.0);

    let sent = epoch_now();
    assert!(a.kill(Signal::SIGINT), "a's vipd was already gone");
    let Some(added) = wait_added(&b_events, VIP4, sent, Duration::from_secs(3)) else {
        panic!(
            "b did not add the VIP within 3 s of SIGINT to a:\n{}",
            describe(&both, VIP4)
        );
    };
    a.assert_left(VIP4, Duration::from_secs(5));
    let Some(zero) = wait_advert(&capture, Duration::from_secs(1), |x| {
        x.src == a.ipv4 && x.vrid == 51 && x.prio == 0 && x.t >= sent
    }) else {
        panic!(
            "no priority-0 advert from a after SIGINT; a's adverts: {:?}",
            describe_adverts(&adverts_from(&capture, &a.ipv4, 51), sent)
        );
    };
    ping.assert_replies(
        50,
        Duration::from_secs(3),
        "pings did not resume after b took over",
    );
    let report = ping.stop();
    let takeover = (added.t - sent) * 1e3;
    let after_zero = (added.t - zero.t) * 1e3;
    let zero_after = (zero.t - sent) * 1e3;
    let gap = report.longest_gap_after_ms(sent);
    println!(
        "sigint_leaves_like_sigterm: priority 0 on the wire {zero_after:.1} ms after SIGINT; \
         b added the VIP {after_zero:.1} ms after it ({takeover:.1} ms after SIGINT; Skew_Time \
         {skew:.3} ms, margin {MARGIN_MS} ms); longest ping gap {gap:.1} ms; {report}"
    );
    let log = a.vipd_log();
    assert!(
        log.contains("SIGINT: leaving"),
        "a's log does not say it left on SIGINT:\n{log}"
    );
    assert!(
        zero_after <= MARGIN_MS,
        "a sent priority 0 {zero_after:.1} ms after SIGINT"
    );
    let later: Vec<_> = adverts_from(&capture, &a.ipv4, 51)
        .into_iter()
        .filter(|x| x.t > zero.t)
        .collect();
    assert!(
        later.is_empty(),
        "a advertised after its priority 0: {:?}",
        describe_adverts(&later, sent)
    );
    // Skew_Time after the priority 0, not Master_Down_Interval (721.875 ms) after a's
    // last advert.
    assert!(
        after_zero >= skew - 5.0 && after_zero <= skew + MARGIN_MS,
        "b took over {after_zero:.1} ms after a's priority 0; Skew_Time is {skew:.3} ms"
    );
    assert!(
        takeover <= skew + MARGIN_MS,
        "b took over {takeover:.1} ms after SIGINT; Skew_Time {skew:.3} ms + {MARGIN_MS} ms"
    );
    assert!(
        gap <= skew + MARGIN_MS,
        "client outage {gap:.1} ms > Skew_Time + {MARGIN_MS} ms: {report}"
    );
    assert_eq!(holders(&both, VIP4), vec!["b".to_string()]);
    assert_eq!(b.state(), Some(State::Master));
    assert_eq!(client.neigh_mac(VIP4).as_deref(), Some(b.mac()));
}

/// A master is stopped (SIGSTOP) while SIGTERM and then SIGINT are sent, and let go
/// (SIGCONT): both signals are pending when it runs again, so the second reaches the
/// event loop while the removal the first started is under way (it cannot even have
/// begun: VIP jobs run on the same single-threaded runtime, behind the loop). vipd must
/// stop waiting for it and exit 1 at once.
#[test]
fn second_signal_while_removing_exits_1() {
    let _serial = exclusive();
    let lan = Lan::new("sig2nd");
    let a = lan.host_at("a", 11);
    start_web(&[(&a, 150)], VIP4_CIDR);
    let events = a.address_events();
    let capture = lan.capture("br0", "ip proto 112");

    assert!(a.kill(Signal::SIGSTOP), "a's vipd was already gone");
    std::thread::sleep(Duration::from_millis(20));
    assert!(a.kill(Signal::SIGTERM));
    assert!(a.kill(Signal::SIGINT));
    let resumed = epoch_now();
    assert!(a.kill(Signal::SIGCONT));
    let Some(status) = a.wait_vipd_exit(Duration::from_secs(5)) else {
        panic!(
            "vipd on a still running 5 s after SIGTERM and SIGINT; log:\n{}",
            a.vipd_log()
        );
    };
    let exited = (epoch_now() - resumed) * 1e3;
    let log = a.vipd_log();
    println!(
        "second_signal_while_removing_exits_1: exit {status} {exited:.1} ms after SIGCONT \
         (polled every 5 ms); VIP still on a: {}; log tail:\n{}",
        a.has_addr(VIP4),
        log.lines()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        status.code(),
        Some(1),
        "a second signal during the VIP removal must make vipd exit 1; log:\n{log}"
    );
    assert!(
        log.contains("a second signal: stopped without waiting for the VIP removals"),
        "the log does not say why vipd exited 1:\n{log}"
    );
    assert!(
        exited <= 200.0,
        "vipd took {exited:.1} ms to exit after the second signal"
    );
    // It still said goodbye: the priority 0 went out before the exit.
    assert!(
        wait_advert(&capture, Duration::from_secs(1), |x| x.src == a.ipv4
            && x.prio == 0
            && x.t >= resumed)
        .is_some(),
        "no priority-0 advert from a"
    );
    // Whatever the kernel did with the removal, the next start cleans up: a restarted
    // vipd removes a leftover (then, alone, becomes master again).
    let leftover = a.has_addr(VIP4);
    let restarted = epoch_now();
    start_web(&[(&a, 150)], VIP4_CIDR);
    if leftover {
        let deleted = events
            .lines()
            .into_iter()
            .any(|l| l.t >= restarted && l.text.starts_with("Deleted") && l.text.contains(VIP4));
        assert!(
            deleted,
            "the restarted vipd did not remove the leftover VIP"
        );
    }
    assert!(events
        .lines()
        .iter()
        .any(|l| l.t >= restarted && is_addition(l, VIP4)));
}
