//! What vipd puts on the wire and when, seen by `tcpdump` in the bridge namespace:
//!
//! - `checksum: rfc9568`: VRRPv3 adverts over IPv4 checksummed over the VRRP message
//!   alone (no pseudo-header), checked byte by byte against an independent RFC 1071
//!   sum, and accepted by a vipd backup configured the same way;
//! - `preempt: false`: a higher-priority router that starts later stays backup;
//! - `preempt_delay`: it takes over only once the delay after its start has passed;
//! - announcements: 3 gratuitous ARPs on becoming master, 3 more 2 s later, then none;
//! - a master renumbered (its advert source address changes) leaves, starts again from
//!   the new address and is master again, advertising from it; the VIP is served
//!   throughout (by the backup meanwhile).
//!
//! Bounds are the RFC timers ([`master_down_ms`], [`skew_ms`]) plus [`MARGIN_MS`]. A
//! takeover is timed by the new master's first advert on the wire, so a bound that
//! starts at a capture time ends at one too (an `ip monitor` line is stamped when the
//! harness reads it, late by however long its reader was not scheduled).

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{
    advert_packets, adverts_from, describe_adverts, garps, internet_checksum, ipv4_payload,
    wait_advert,
};
use vipd_e2e::events::{texts, wait_added};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    assert_roles, describe, epoch_now, exclusive, master_down_ms, skew_ms, start_pair, start_web,
    vipd_yaml, wait_until, Host, Lan, Pinger, VipdInstance, VIP4, VIP4_CIDR,
};

/// How far past an RFC timer an event may be seen: the timer firing, a netlink round
/// trip, `ip monitor` or `tcpdump` printing it, on a busy two-core machine.
const MARGIN_MS: f64 = 60.0;

fn web(priority: u8) -> VipdInstance {
    VipdInstance::new("web", 51, &[VIP4_CIDR]).priority(priority)
}

fn yaml(i: VipdInstance) -> String {
    vipd_yaml(Some("debug"), &[i])
}

/// The epoch time `h`'s instance entered the state it is in (polling until it is
/// `state`, at most 3 s).
fn entered(h: &Host, state: State) -> f64 {
    let mut at = None;
    let ok = wait_until(Duration::from_secs(3), Duration::from_millis(2), || {
        let now = epoch_now();
        let st = h.status();
        let i = first_instance(&st);
        if i.state == state {
            at = Some(now - i.in_state_s);
        }
        at.is_some()
    });
    match at {
        Some(t) if ok => t,
        _ => panic!(
            "{}'s instance did not reach {} within 3 s",
            h.name,
            state.as_str()
        ),
    }
}

#[test]
fn checksum_rfc9568_has_no_pseudo_header() {
    let _serial = exclusive();
    let lan = Lan::new("cks9568");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let capture = lan.capture_with("br0", &["-x"], "ip proto 112");
    a.spawn_vipd(&yaml(web(150).checksum("rfc9568")));
    b.spawn_vipd(&yaml(web(100).checksum("rfc9568")));
    assert_roles(
        &[&a, &b],
        "a",
        VIP4,
        Duration::from_secs(10),
        "a (150) should be master and b backup",
    );
    std::thread::sleep(Duration::from_millis(1000));

    let from_a: Vec<(vipd_e2e::capture::Advert, Vec<u8>)> = advert_packets(&capture)
        .into_iter()
        .filter(|(x, _)| x.src == a.ipv4 && x.prio == 150)
        .collect();
    assert!(
        from_a.len() >= 4,
        "too few adverts from a captured: {}",
        from_a.len()
    );
    for (x, bytes) in &from_a {
        let Some(vrrp) = ipv4_payload(bytes) else {
            panic!(
                "advert at {:.6} has no complete IPv4 payload: {bytes:02x?}",
                x.t
            );
        };
        assert_eq!(vrrp.len(), 12, "VRRPv3 with one IPv4 address: {vrrp:02x?}");
        assert_eq!(vrrp[0], 0x31, "version 3, type 1");
        // The message alone sums to zero (checksum included) ...
        let plain = internet_checksum(vrrp);
        // ... and with the RFC 5798 pseudo-header (source, destination, zero, protocol
        // 112, length) it does not.
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&bytes[12..20]);
        pseudo.extend_from_slice(&[0, 112, 0, 12]);
        pseudo.extend_from_slice(vrrp);
        let with_pseudo = internet_checksum(&pseudo);
        assert_eq!(
            plain, 0,
            "a's advert at {:.6} is not checksummed over the message alone: {vrrp:02x?}",
            x.t
        );
        assert_ne!(
            with_pseudo, 0,
            "a's advert at {:.6} also verifies with the pseudo-header",
            x.t
        );
    }
    let st = b.status();
    let bi = first_instance(&st);
    println!(
        "checksum_rfc9568_has_no_pseudo_header: {} adverts from a, each summing to 0 over the \
         VRRP message alone and not with the pseudo-header (e.g. {:02x?}); b: {} adverts \
         received, drops {:?}, master {:?}",
        from_a.len(),
        from_a.first().and_then(|(_, b)| ipv4_payload(b)),
        bi.adverts_received,
        bi.drops,
        bi.master_address
    );
    assert_eq!(bi.drops.get("bad_checksum").copied().unwrap_or(0), 0);
    assert!(bi.adverts_received >= 4);
    assert_eq!(bi.state, State::Backup);
    assert_eq!(bi.master_address.as_deref(), Some(a.ipv4.as_str()));
}

#[test]
fn preempt_false_keeps_the_lower_master() {
    let _serial = exclusive();
    let lan = Lan::new("nopreempt");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    start_web(&[(&b, 100)], VIP4_CIDR);
    let capture = lan.capture("br0", "ip proto 112");
    a.spawn_vipd(&yaml(web(150).preempt(false)));
    let started = entered(&a, State::Backup);
    // Four times a's Master_Down_Interval (682.8 ms): it would have preempted long ago.
    let hold = 4.0 * master_down_ms(150, 200.0);
    let mut bad = None;
    wait_until(
        Duration::from_secs_f64(hold / 1e3),
        Duration::from_millis(20),
        || {
            let ok = a.state() == Some(State::Backup)
                && !a.has_addr(VIP4)
                && b.state() == Some(State::Master)
                && b.has_addr(VIP4);
            if !ok {
                bad = Some(describe(&[&a, &b], VIP4));
            }
            !ok
        },
    );
    if let Some(d) = bad {
        panic!("a (150, preempt false) took over from b (100):\n{d}");
    }
    let from_a = adverts_from(&capture, &a.ipv4, 51);
    let st = a.status();
    let ai = first_instance(&st);
    println!(
        "preempt_false_keeps_the_lower_master: a backup for {:.0} ms after its start \
         ({hold:.0} ms held), following {:?} at priority {:?}; adverts from a: {}",
        (epoch_now() - started) * 1e3,
        ai.master_address,
        ai.master_priority,
        from_a.len()
    );
    assert!(
        from_a.is_empty(),
        "a, a backup, advertised: {:?}",
        describe_adverts(&from_a, started)
    );
    assert_eq!(ai.master_address.as_deref(), Some(b.ipv4.as_str()));
    assert_eq!(ai.master_priority, Some(100));
}

#[test]
fn preempt_delay_waits_before_taking_over() {
    let _serial = exclusive();
    let lan = Lan::new("pdelay");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    start_web(&[(&b, 100)], VIP4_CIDR);
    let a_events = a.address_events();
    let capture = lan.capture("br0", "ip proto 112");
    let delay_ms = 2000.0;
    a.spawn_vipd(&yaml(web(150).preempt_delay("2s")));
    let started = entered(&a, State::Backup);
    let Some(added) = wait_added(&a_events, VIP4, started, Duration::from_secs(5)) else {
        panic!(
            "a (150, preempt_delay 2s) did not take over within 5 s:\n{}",
            describe(&[&a, &b], VIP4)
        );
    };
    // a took over when it sent its first advert: a capture time (its `ip monitor` line
    // is stamped when the harness read it, later by however long the reader waited).
    let Some(first) = wait_advert(&capture, Duration::from_secs(1), |x| {
        x.src == a.ipv4 && x.vrid == 51 && x.t >= started
    }) else {
        panic!(
            "a added the VIP but sent no advert: {:?}",
            describe_adverts(&vipd_e2e::capture::adverts(&capture), started)
        );
    };
    let took = (first.t - started) * 1e3;
    let mdi = master_down_ms(150, 200.0);
    // b's adverts are accepted until the delay is over; the last of them came at most
    // one interval (200 ms) before that, and a's Master_Down_Timer runs out a
    // Master_Down_Interval after it.
    let earliest = delay_ms - 200.0 + mdi;
    let latest = delay_ms + mdi + MARGIN_MS;
    let from_b: Vec<_> = adverts_from(&capture, &b.ipv4, 51)
        .into_iter()
        .filter(|x| x.t >= started + delay_ms / 1e3 - 0.25 && x.t <= added.t)
        .collect();
    println!(
        "preempt_delay_waits_before_taking_over: a took over (its first advert) {took:.1} ms \
         after its instance started (`ip monitor` read the VIP's add at +{:.1} ms) (delay {delay_ms} ms, Master_Down_Interval {mdi:.4} ms: expected \
         {earliest:.1}..={latest:.1} ms; without the delay it would be {mdi:.1} ms); b's \
         adverts around the end of the delay: {:?}",
        (added.t - started) * 1e3,
        describe_adverts(&from_b, started)
    );
    assert!(
        took >= earliest - 5.0 && took <= latest,
        "a took over {took:.1} ms after starting; expected {earliest:.1}..={latest:.1} ms"
    );
    assert_roles(
        &[&a, &b],
        "a",
        VIP4,
        Duration::from_secs(2),
        "a should be the only master after the delay",
    );
}

#[test]
fn announcements_three_now_three_after_two_seconds() {
    let _serial = exclusive();
    let lan = Lan::new("garps");
    let a = lan.host_at("a", 11);
    // Adverts too: the first burst is timed against a's first advert as master, both
    // capture times of this one tcpdump.
    let capture = lan.capture_with("br0", &["-e"], "arp or ip proto 112");
    let events = a.address_events();
    let t0 = epoch_now();
    start_web(&[(&a, 150)], VIP4_CIDR);
    let Some(added) = wait_added(&events, VIP4, t0, Duration::from_secs(1)) else {
        panic!(
            "no address event for the VIP: {:#?}",
            texts(&events.lines())
        );
    };
    // Past the second burst (2 s) and as long again: no refresh by default.
    std::thread::sleep(Duration::from_millis(4500));
    let all = garps(&capture);
    let ours: Vec<_> = all
        .iter()
        .filter(|g| g.mac == a.mac() && g.addr == VIP4)
        .collect();
    let rel: Vec<String> = ours
        .iter()
        .map(|g| format!("{:+.1}", (g.t - added.t) * 1e3))
        .collect();
    println!(
        "announcements_three_now_three_after_two_seconds: gratuitous ARPs for {VIP4} from a, \
         ms after the VIP's address event: {rel:?}"
    );
    assert_eq!(
        ours.len(),
        6,
        "expected 3 + 3 gratuitous ARPs, got {rel:?} (all: {all:?})"
    );
    let first = &ours[..3];
    let second = &ours[3..];
    for burst in [first, second] {
        let spread = (burst[2].t - burst[0].t) * 1e3;
        assert!(
            spread <= 10.0,
            "a burst's three frames are {spread:.1} ms apart: {rel:?}"
        );
    }
    let Some(mastered) = vipd_e2e::capture::adverts(&capture)
        .into_iter()
        .find(|x| x.src == a.ipv4 && x.vrid == 51 && x.prio == 150)
    else {
        panic!("a never advertised as master")
    };
    let lead = (first[0].t - mastered.t) * 1e3;
    assert!(
        lead.abs() <= MARGIN_MS,
        "the first burst is {lead:.1} ms from a's first advert as master: {rel:?}"
    );
    let repeat = (second[0].t - first[0].t) * 1e3;
    assert!(
        (2000.0 - 5.0..=2000.0 + MARGIN_MS).contains(&repeat),
        "the second burst came {repeat:.1} ms after the first, not 2 s: {rel:?}"
    );
    assert!(
        all.iter().all(|g| g.mac == a.mac()),
        "gratuitous ARPs from someone else: {all:?}"
    );
}

#[test]
fn renumbered_master_advertises_from_its_new_address() {
    let _serial = exclusive();
    let lan = Lan::new("renumber");
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    // Deleting the primary address promotes the next one of its subnet (as systemd sets
    // it on hosts) instead of deleting them all.
    a.ns().sysctl(&["net.ipv4.conf.eth0.promote_secondaries=1"]);
    let capture = lan.capture("br0", "ip proto 112");
    let b_events = b.address_events();
    let a_events = a.address_events();
    let ping = Pinger::start_replying(&client, VIP4, Duration::from_secs(30), 100);

    let changed = epoch_now();
    a.exec_ok(&["ip", "addr", "add", "192.0.2.21/24", "dev", "eth0"]);
    a.exec_ok(&["ip", "addr", "del", "192.0.2.11/24", "dev", "eth0"]);
    let Some(back) = wait_advert(&capture, Duration::from_secs(5), |x| {
        x.src == "192.0.2.21" && x.vrid == 51 && x.prio == 150 && x.t >= changed
    }) else {
        panic!(
            "no advert from a's new address within 5 s:\n{}\nadverts: {:?}\na's log:\n{}",
            describe(&both, VIP4),
            describe_adverts(&vipd_e2e::capture::adverts(&capture), changed),
            a.vipd_log()
        );
    };
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_secs(3),
        "a should be master again, from its new address",
    );
    std::thread::sleep(Duration::from_millis(600));
    ping.assert_replies(
        50,
        Duration::from_secs(3),
        "pings did not continue after the renumbering",
    );
    let report = ping.stop();
    let all = vipd_e2e::capture::adverts(&capture);
    let around: Vec<_> = all
        .iter()
        .filter(|x| x.t >= changed - 0.3)
        .cloned()
        .collect();
    let old_after: Vec<_> = all
        .iter()
        .filter(|x| x.src == a.ipv4 && x.t > changed && x.prio != 0)
        .cloned()
        .collect();
    let zero = all
        .iter()
        .find(|x| x.prio == 0 && x.t >= changed && (x.src == a.ipv4 || x.src == "192.0.2.21"))
        .cloned();
    let b_took = wait_added(&b_events, VIP4, changed, Duration::ZERO);
    let gap = report.longest_gap_after_ms(changed);
    let skew = skew_ms(100, 200.0);
    let mdi_b = master_down_ms(100, 200.0);
    let mdi_a = master_down_ms(150, 200.0);
    println!(
        "renumbered_master_advertises_from_its_new_address: priority 0 {}; b took the VIP \
         {}; first advert from 192.0.2.21 at priority 150 {:.1} ms after the change; a's \
         address events {:?}; longest ping gap {gap:.1} ms (Skew_Time {skew:.1} ms, b's \
         Master_Down_Interval {mdi_b:.1} ms, a's {mdi_a:.1} ms); adverts {:?}",
        zero.as_ref().map_or("not seen".into(), |z| format!(
            "from {} {:.1} ms after the change",
            z.src,
            (z.t - changed) * 1e3
        )),
        b_took.as_ref().map_or("never".into(), |l| format!(
            "{:.1} ms after the change",
            (l.t - changed) * 1e3
        )),
        (back.t - changed) * 1e3,
        texts(&a_events.lines()),
        describe_adverts(&around, changed)
    );
    assert!(
        old_after.is_empty(),
        "a advertised from its old address after it was removed: {:?}",
        describe_adverts(&old_after, changed)
    );
    let st = a.status();
    let ai = first_instance(&st);
    assert_eq!(ai.local_address.as_deref(), Some("192.0.2.21"));
    assert_eq!(
        first_instance(&b.status()).master_address.as_deref(),
        Some("192.0.2.21")
    );
    // The VIP was served throughout: by a until it left, by b until a was back.
    let Some(zero) = zero else {
        panic!("a did not leave with priority 0")
    };
    let Some(b_took) = b_took else {
        panic!("b never took the VIP while a restarted")
    };
    // b took over when it sent its first advert as master: a capture time, like the
    // priority 0's (b_took's `ip monitor` line is stamped when the harness read it).
    let Some(b_first) = all.iter().find(|x| x.src == b.ipv4 && x.t > zero.t) else {
        panic!(
            "b added the VIP ({:.1} ms after a's priority 0, read time) but never \
             advertised after it: {:?}",
            (b_took.t - zero.t) * 1e3,
            describe_adverts(&around, changed)
        )
    };
    let b_ms = (b_first.t - zero.t) * 1e3;
    assert!(
        (skew - 5.0..=skew + MARGIN_MS).contains(&b_ms),
        "b took over (its first advert) {b_ms:.1} ms after a's priority 0; Skew_Time \
         {skew:.1} ms"
    );
    assert!(
        gap <= skew + MARGIN_MS,
        "client outage {gap:.1} ms during the renumbering: {report}"
    );
}
