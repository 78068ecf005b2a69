//! Unicast peers (`unicast_peers`), for networks without multicast: a vipd pair on a
//! bridge that floods no multicast still elects and fails over; an advert from a host
//! neither router lists changes nothing and is counted as `not_a_peer`; and vipd
//! interoperates with keepalived's `unicast_peer` both ways round.
//!
//! "Multicast blocked": `mcast_flood off` on every bridge port (the bridge's snooping is
//! off, so no port gets any multicast); broadcast (ARP) and unicast still pass.
//! Takeover times run from just before the signal to the VIP's `ip monitor address`
//! event on the new master.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::events::wait_added;
use vipd_e2e::inject::{send_raw_ipv4, v3_advert, v3_advert_to, vrrp_datagram};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    assert_roles, assert_vipctl_agrees, describe, epoch_now, exclusive, holders,
    keepalived_unicast_conf, master_down_ms, skew_ms, vipd_yaml, wait_until, web_config, Host,
    KeepalivedInstance, Lan, Signal, VipdInstance, VIP4, VIP6, VIP6_CIDR,
};
use vipd_wire::PROTOCOL;

/// How long routers may take to settle after starting.
const SETTLE: Duration = Duration::from_secs(10);

/// The web instance (VRID 51, VIP 192.0.2.50/24, defaults: VRRPv3, 200 ms) at
/// `priority`, with `peers` as its unicast peers.
fn web(priority: u8, peers: &[&str]) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &["192.0.2.50/24"])
            .priority(priority)
            .unicast_peers(peers)],
    )
}

fn drops(h: &Host) -> BTreeMap<String, u64> {
    first_instance(&h.status()).drops.clone()
}

fn not_a_peer(h: &Host) -> u64 {
    drops(h).get("not_a_peer").copied().unwrap_or(0)
}

fn addr(h: &Host) -> Ipv4Addr {
    match h.ipv4.parse() {
        Ok(a) => a,
        Err(e) => panic!("{}'s address {}: {e}", h.name, h.ipv4),
    }
}

fn vip() -> Ipv4Addr {
    VIP4.parse().expect("VIP4 is an IPv4 address")
}

/// `n` priority-254 adverts for VRID 51 and the VIP from `x`: to the group if `to` is
/// none, else unicast to `to` (checksummed for it), all with TTL 255.
fn stranger_adverts(x: &Host, to: Option<&Host>, n: usize) -> Vec<Vec<u8>> {
    let src = addr(x);
    let one = match to {
        None => vrrp_datagram(src, 255, &v3_advert(src, 51, 254, 20, &[vip()])),
        Some(h) => vipd_e2e::inject::ipv4_datagram(
            src,
            addr(h),
            255,
            PROTOCOL,
            &v3_advert_to(src, addr(h), 51, 254, 20, &[vip()]),
        ),
    };
    vec![one; n]
}

fn send_from(x: &Host, datagrams: Vec<Vec<u8>>) {
    let n = datagrams.len();
    match send_raw_ipv4(x.ns().name(), "eth0", datagrams) {
        Ok(sent) => assert_eq!(sent, n, "sent from {}", x.name),
        Err(e) => panic!("cannot send the crafted adverts from {}: {e}", x.name),
    }
}

/// Waits until `h` has counted `want` adverts as `not_a_peer`, and still has after
/// `linger` (none more arrived late); panics with its drops and log if not.
fn assert_not_a_peer(h: &Host, want: u64, linger: Duration) {
    let came = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        not_a_peer(h) >= want
    });
    assert!(
        came,
        "{} counted {:?} as not_a_peer, expected {want}; drops {:?}\nlog:\n{}",
        h.name,
        not_a_peer(h),
        drops(h),
        h.vipd_log()
    );
    std::thread::sleep(linger);
    assert_eq!(not_a_peer(h), want, "{}: drops {:?}", h.name, drops(h));
}

/// `b` follows `a` by its unicast adverts: backup, `a` its master, adverts heard and
/// nothing dropped but what `allowed` names.
fn assert_follows(b: &Host, a: &Host, allowed: &[&str]) {
    let st = b.status();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Backup, "{inst:?}");
    assert_eq!(
        inst.master_address.as_deref(),
        Some(a.ipv4.as_str()),
        "{inst:?}"
    );
    assert!(inst.adverts_received > 0, "{inst:?}");
    let unexpected: Vec<_> = inst
        .drops
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "{}: drops {:?}", b.name, inst.drops);
}

/// Milliseconds from `since` (epoch seconds) until `h`'s address monitor shows the VIP
/// added; panics with `what` if not within `timeout`.
fn took_ms(events: &vipd_e2e::Monitor, since: f64, timeout: Duration, what: &str) -> f64 {
    took_ms_for(VIP4, events, since, timeout, what)
}

/// [`took_ms`] for `vip`.
fn took_ms_for(
    vip: &str,
    events: &vipd_e2e::Monitor,
    since: f64,
    timeout: Duration,
    what: &str,
) -> f64 {
    match wait_added(events, vip, since, timeout) {
        Some(l) => (l.t - since) * 1e3,
        None => panic!("{what}: no VIP added within {timeout:?}"),
    }
}

#[test]
fn unicast_pair_fails_over_where_multicast_is_blocked() {
    let _serial = exclusive();
    let lan = Lan::new("ucblock");
    let x = lan.host_at("x", 66);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let both = [&a, &b];
    for h in [&x, &a, &b] {
        h.set_mcast_flood(false);
    }
    a.spawn_vipd(&web(150, &[&b.ipv4]));
    b.spawn_vipd(&web(100, &[&a.ipv4]));
    assert_roles(&both, "a", VIP4, SETTLE, "a never became the only master");
    // Longer than b's Master_Down_Interval (721.875 ms): b keeps hearing a.
    std::thread::sleep(Duration::from_millis(1500));
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_millis(100),
        "b does not hear a",
    );
    assert_follows(&b, &a, &[]);

    // The bridge really carries no multicast: three adverts x sends to the group never
    // reach b, the one it then sends to b's address does (and b drops it: x is no peer).
    let mut probe = stranger_adverts(&x, None, 3);
    probe.extend(stranger_adverts(&x, Some(&b), 1));
    send_from(&x, probe);
    assert_not_a_peer(&b, 1, Duration::from_millis(300));

    // SIGTERM: a sends priority 0 to b, its one peer, which knows it is the only backup
    // and takes over at once, without its Skew_Time (156 × 200 ms / 256 = 121.875 ms).
    let skew = skew_ms(100, 200.0);
    let events = b.address_events();
    let sent = epoch_now();
    assert!(a.kill(Signal::SIGTERM), "a's vipd was already gone");
    let sigterm = took_ms(
        &events,
        sent,
        Duration::from_secs(3),
        "b after SIGTERM to a",
    );
    a.assert_left(VIP4, Duration::from_secs(5));
    assert_eq!(holders(&both, VIP4), vec!["b".to_string()]);

    // a returns and preempts b one Master_Down_Interval after its start.
    a.spawn_vipd(&web(150, &[&b.ipv4]));
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_secs(5),
        "a did not take the VIP back",
    );

    // SIGKILL: nothing more comes from a; b takes over one Master_Down_Interval
    // (3 × 200 ms + 121.875 ms) after a's last advert, which went out at most one
    // interval before the kill.
    let mdi = master_down_ms(100, 200.0);
    let events = b.address_events();
    let killed = epoch_now();
    a.crash_vipd();
    let crash = took_ms(&events, killed, Duration::from_secs(3), "b after a crashed");
    println!(
        "unicast_pair_fails_over_where_multicast_is_blocked: SIGTERM→VIP on b {sigterm:.1} ms \
         (Skew_Time {skew:.3} ms); SIGKILL→VIP on b {crash:.1} ms (Master_Down_Interval \
         {mdi:.3} ms)"
    );
    assert!(
        sigterm < skew,
        "takeover {sigterm:.1} ms after SIGTERM; expected at once, before Skew_Time \
         {skew:.3} ms"
    );
    assert!(
        crash >= mdi - 200.0 - 1.0 && crash <= mdi + 250.0,
        "takeover {crash:.1} ms after SIGKILL; expected Master_Down_Interval {mdi:.3} ms \
         after a's last advert (−200 ms, +250 ms)"
    );
    assert!(b.has_addr(VIP4), "{}", describe(&both, VIP4));
    assert_eq!(b.state(), Some(State::Master));
    b.assert_vipctl_agrees_with_kernel();
}

#[test]
fn ipv6_unicast_pair_fails_over() {
    // IPv6 neighbour discovery needs multicast, so the bridge floods it; a third router,
    // x, runs the same instance over multicast at priority 50 as a witness: were a's
    // adverts multicast, x would follow a, but it hears none and is master itself, while
    // a and b drop x's adverts as not from a peer.
    let _serial = exclusive();
    let lan = Lan::new("uc6");
    let x = lan.host_at("x", 66);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let both = [&a, &b];
    let lla = |h: &Host| match h.link_local() {
        Some(l) => l,
        None => panic!("{} has no link-local address", h.name),
    };
    let (a_ll, b_ll) = (lla(&a), lla(&b));
    let web6 = |priority: u8, peer: &str| {
        vipd_yaml(
            Some("debug"),
            &[VipdInstance::new("web", 51, &[VIP6_CIDR])
                .priority(priority)
                .unicast_peers(&[peer])],
        )
    };
    a.spawn_vipd(&web6(150, &b_ll));
    b.spawn_vipd(&web6(100, &a_ll));
    x.spawn_vipd(&web_config(50, VIP6_CIDR));
    assert_roles(&both, "a", VIP6, SETTLE, "a never became master, b backup");
    let came = wait_until(SETTLE, Duration::from_millis(50), || {
        x.state() == Some(State::Master)
    });
    assert!(came, "x should be master: {}", describe(&[&x], VIP6));
    std::thread::sleep(Duration::from_millis(1000));
    let xs = first_instance(&x.status()).clone();
    assert_eq!(xs.state, State::Master, "{xs:?}");
    assert_eq!(xs.adverts_received, 0, "x heard a's adverts: {xs:?}");
    let bs = first_instance(&b.status()).clone();
    assert_eq!(bs.state, State::Backup, "{bs:?}");
    assert_eq!(bs.master_address.as_deref(), Some(a_ll.as_str()), "{bs:?}");
    assert!(bs.drops.get("not_a_peer").is_some_and(|n| *n > 0), "{bs:?}");
    assert_eq!(bs.drops.len(), 1, "{bs:?}");

    let skew = skew_ms(100, 200.0);
    let events = b.address_events();
    let sent = epoch_now();
    assert!(a.kill(Signal::SIGTERM), "a's vipd was already gone");
    let took = took_ms_for(
        VIP6,
        &events,
        sent,
        Duration::from_secs(3),
        "b after SIGTERM to a",
    );
    a.assert_left(VIP6, Duration::from_secs(5));
    println!(
        "ipv6_unicast_pair_fails_over: SIGTERM→VIP on b {took:.1} ms (Skew_Time {skew:.3} ms)"
    );
    assert!(
        took < skew,
        "takeover {took:.1} ms after SIGTERM; expected at once (the only backup), before \
         Skew_Time {skew:.3} ms"
    );
    assert_eq!(b.state(), Some(State::Master));
    b.assert_vipctl_agrees_with_kernel();
}

#[test]
fn a_non_peers_advert_changes_nothing_and_is_counted() {
    let _serial = exclusive();
    let lan = Lan::new("ucstray");
    let x = lan.host_at("x", 66);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let both = [&a, &b];
    a.spawn_vipd(&web(150, &[&b.ipv4]));
    b.spawn_vipd(&web(100, &[&a.ipv4]));
    assert_roles(&both, "a", VIP4, SETTLE, "a never became the only master");
    let before: Vec<_> = both
        .iter()
        .map(|h| first_instance(&h.status()).clone())
        .collect();

    // x, whom neither lists, claims priority 254 (a master accepting it would yield at
    // once): three adverts to a's address, three to b's, three to the group.
    let mut adverts = stranger_adverts(&x, Some(&a), 3);
    adverts.extend(stranger_adverts(&x, Some(&b), 3));
    adverts.extend(stranger_adverts(&x, None, 3));
    send_from(&x, adverts);
    assert_not_a_peer(&a, 6, Duration::from_millis(1000));
    assert_not_a_peer(&b, 6, Duration::ZERO);

    for (h, was) in both.iter().zip(&before) {
        let now = first_instance(&h.status()).clone();
        assert_eq!(now.state, was.state, "{}: {now:?}", h.name);
        assert_eq!(now.transitions, was.transitions, "{}: {now:?}", h.name);
        let others: BTreeMap<_, _> = now
            .drops
            .iter()
            .filter(|(k, _)| k.as_str() != "not_a_peer")
            .collect();
        assert!(others.is_empty(), "{}: drops {:?}", h.name, now.drops);
    }
    assert_follows(&b, &a, &["not_a_peer"]);
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_millis(100),
        "a is no longer the only master",
    );
    println!(
        "a_non_peers_advert_changes_nothing_and_is_counted: a drops {:?}, b drops {:?}",
        drops(&a),
        drops(&b)
    );
    assert_vipctl_agrees(&both);
}

// ---- keepalived -------------------------------------------------------------------

/// keepalived's instance: VRRPv3, VRID 51, the VIP, `advert_int 1`, unicast from its
/// own address to `peer` only.
fn ka_config(k: &Host, priority: u8, peer: &Host) -> String {
    keepalived_unicast_conf(
        "vte2e",
        &KeepalivedInstance {
            version: 3,
            vrid: 51,
            priority,
            advert_int: "1".into(),
            vips: vec!["192.0.2.50/24".into()],
        },
        &k.ipv4,
        &[&peer.ipv4],
    )
}

/// vipd's side: the same instance, a 1 s interval, unicast to `peer` only.
fn vipd_config(priority: u8, peer: &Host) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &["192.0.2.50/24"])
            .priority(priority)
            .advert_interval("1s")
            .unicast_peers(&[&peer.ipv4])],
    )
}

fn ka_picture(k: &Host, v: &Host) -> String {
    let log = k.keepalived_log();
    let lines: Vec<&str> = log.lines().collect();
    format!(
        "{}\nkeepalived holds the VIP: {}\nkeepalived log (tail):\n{}",
        describe(&[v], VIP4),
        k.has_addr(VIP4),
        lines[lines.len().saturating_sub(30)..].join("\n")
    )
}

/// Waits until exactly `holder` (host name) holds the VIP.
fn wait_holder(k: &Host, v: &Host, holder: &str, timeout: Duration, what: &str) {
    let came = wait_until(timeout, Duration::from_millis(20), || {
        holders(&[k, v], VIP4) == vec![holder.to_string()]
    });
    assert!(came, "{what}:\n{}", ka_picture(k, v));
}

/// vipd (150) master, keepalived (100) backup, on a bridge without multicast: SIGTERM to
/// vipd, keepalived takes over at its Skew_Time; vipd returns and preempts.
fn vipd_master_keepalived_backup() -> f64 {
    let lan = Lan::new("uckab");
    let k = lan.host_at("ka", 41);
    let v = lan.host_at("vipd", 42);
    for h in [&k, &v] {
        h.set_mcast_flood(false);
    }
    v.spawn_vipd(&vipd_config(150, &k));
    k.spawn_keepalived(&ka_config(&k, 100, &v));
    wait_holder(&k, &v, "vipd", SETTLE, "vipd should be master");
    // Longer than keepalived's Master_Down_Interval (3 × 1 s + 609.375 ms): keepalived
    // takes vipd's unicast adverts.
    std::thread::sleep(Duration::from_millis(4500));
    wait_holder(
        &k,
        &v,
        "vipd",
        Duration::from_millis(100),
        "keepalived does not take vipd's unicast adverts",
    );
    assert_eq!(v.state(), Some(State::Master));
    k.assert_keepalived_understands(&["expected", "not a unicast peer"]);

    // keepalived, priority 100, learnt the 1 s interval: Skew_Time 609.375 ms.
    let skew = skew_ms(100, 1000.0);
    let events = k.address_events();
    let sent = epoch_now();
    assert!(v.kill(Signal::SIGTERM), "vipd was already gone");
    let took = took_ms(
        &events,
        sent,
        Duration::from_secs(6),
        "keepalived after SIGTERM to vipd",
    );
    v.assert_left(VIP4, Duration::from_secs(5));
    wait_holder(
        &k,
        &v,
        "ka",
        Duration::from_secs(1),
        "keepalived should hold the VIP",
    );
    assert!(
        took >= skew - 1.0 && took <= skew + 250.0,
        "keepalived took over {took:.1} ms after SIGTERM to vipd; expected its Skew_Time \
         {skew:.3} ms (+250 ms), not its Master_Down_Interval"
    );

    // vipd returns (150) and preempts keepalived one Master_Down_Interval after it starts.
    v.spawn_vipd(&vipd_config(150, &k));
    wait_holder(
        &k,
        &v,
        "vipd",
        Duration::from_secs(6),
        "vipd did not take the VIP back",
    );
    std::thread::sleep(Duration::from_millis(1500));
    wait_holder(
        &k,
        &v,
        "vipd",
        Duration::from_millis(100),
        "vipd lost the VIP again",
    );
    assert_follows_nobody(&v);
    k.assert_keepalived_understands(&["expected", "not a unicast peer"]);
    v.assert_vipctl_agrees_with_kernel();
    took
}

/// A master vipd that heard keepalived (lower priority, preempted) without a drop.
fn assert_follows_nobody(v: &Host) {
    let st = v.status();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Master, "{inst:?}");
    assert!(
        inst.drops.is_empty(),
        "vipd dropped adverts: {:?}",
        inst.drops
    );
}

/// keepalived (150) master, vipd (100) backup, on a bridge without multicast: SIGTERM to
/// keepalived, vipd (its one peer: the only backup) takes over at once, without its
/// Skew_Time.
fn keepalived_master_vipd_backup() -> f64 {
    let lan = Lan::new("uckaa");
    let k = lan.host_at("ka", 31);
    let v = lan.host_at("vipd", 32);
    for h in [&k, &v] {
        h.set_mcast_flood(false);
    }
    k.spawn_keepalived(&ka_config(&k, 150, &v));
    v.spawn_vipd(&vipd_config(100, &k));
    wait_holder(
        &k,
        &v,
        "ka",
        Duration::from_secs(15),
        "keepalived should be master",
    );
    // Longer than vipd's Master_Down_Interval (3.609375 s): vipd takes keepalived's
    // unicast adverts.
    std::thread::sleep(Duration::from_millis(4500));
    wait_holder(
        &k,
        &v,
        "ka",
        Duration::from_millis(100),
        "vipd does not take keepalived's unicast adverts",
    );
    assert_follows(&v, &k, &[]);

    let skew = skew_ms(100, 1000.0);
    let events = v.address_events();
    let sent = epoch_now();
    assert!(k.kill_keepalived(Signal::SIGTERM));
    let took = took_ms(
        &events,
        sent,
        Duration::from_secs(6),
        "vipd after SIGTERM to keepalived",
    );
    wait_holder(
        &k,
        &v,
        "vipd",
        Duration::from_secs(1),
        "vipd should hold the VIP",
    );
    assert!(
        k.wait_keepalived_exit(Duration::from_secs(5)).is_some(),
        "keepalived did not exit"
    );
    assert!(
        took < skew,
        "vipd took over {took:.1} ms after SIGTERM to keepalived; expected at once, before \
         its Skew_Time {skew:.3} ms"
    );
    let st = v.status();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Master, "{inst:?}");
    assert!(
        inst.drops.is_empty(),
        "vipd dropped adverts: {:?}",
        inst.drops
    );
    v.assert_vipctl_agrees_with_kernel();
    took
}

#[test]
fn keepalived_unicast_interop() {
    let _serial = exclusive();
    let ka_took = vipd_master_keepalived_backup();
    let vipd_took = keepalived_master_vipd_backup();
    println!(
        "keepalived_unicast_interop: SIGTERM to vipd → keepalived held the VIP after \
         {ka_took:.1} ms; SIGTERM to keepalived → vipd after {vipd_took:.1} ms (at once: \
         its Skew_Time would be {:.3} ms for priority 100 at 1 s)",
        skew_ms(100, 1000.0)
    );
}
