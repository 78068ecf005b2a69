//! Unicast peers: adverts go to each listed peer only, with a checksum for that peer,
//! and an instance hears no one else — an advert from an address it does not list is
//! dropped and counted as `not_a_peer`, however good it is otherwise. Job latency 2 ms,
//! read latency 1 ms, network 100 µs; hosts 0, 1, 2 are 192.0.2.11, .12, .13 and
//! fe80::b, ::c, ::d.

use std::net::IpAddr;

use vipd_api::{InstanceStatus, Response};
use vipd_engine::{Instant, State};
use vipd_node::config::Config;
use vipd_sim::cfg::node::{config, instance, vip, web};
use vipd_sim::lan::{Act, HostId, Lan, Seen};
use vipd_wire::{Advert, V2Auth, V3Checksum, Version, MULTICAST_V4};

const MS: u64 = 1_000_000;

fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

/// The web instance (VRID 51, 192.0.2.50/24, adverts every 100 ms) at `priority`, sending
/// to and hearing only `peers`.
fn web_to(priority: u8, peers: &[IpAddr]) -> Config {
    let mut c = web(priority, 100);
    c.instances[0].unicast_peers = peers.to_vec();
    c
}

/// Like [`web_to`], over IPv6: VIP 2001:db8::50/64.
fn web6_to(priority: u8, peers: &[IpAddr]) -> Config {
    let mut i = instance("web", 51, priority, 100, &["2001:db8::50/64"]);
    i.unicast_peers = peers.to_vec();
    config(vec![i])
}

/// Where each of host `h`'s adverts went, in order.
fn destinations(lan: &Lan, h: HostId) -> Vec<Vec<IpAddr>> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Advert { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect()
}

/// Asks host `h` for its status and returns its one instance once the answer came.
fn status(lan: &mut Lan, h: HostId) -> InstanceStatus {
    let before = lan.timeline().len();
    lan.act(Act::Status(h));
    lan.run_for(std::time::Duration::from_millis(1));
    let reply = lan.timeline()[before..]
        .iter()
        .filter(|e| e.host == h)
        .find_map(|e| match &e.what {
            Seen::Reply(Response::Status(s)) => s.instances.first().cloned(),
            _ => None,
        });
    match reply {
        Some(i) => i,
        None => panic!("host {h} did not answer the status request"),
    }
}

/// A VRRPv3 advert for VRID 51 and 192.0.2.50 at `priority`, as `src` sends it to `dst`
/// (its checksum over that pseudo-header).
fn advert(src: IpAddr, dst: IpAddr, priority: u8) -> Vec<u8> {
    let adv = Advert {
        version: Version::V3,
        vrid: 51,
        priority,
        interval_cs: 10,
        addresses: vec![vip("192.0.2.50/24").addr],
        auth: V2Auth::default(),
    };
    match adv.emit(src, dst, V3Checksum::PseudoHeader) {
        Ok(b) => b,
        Err(e) => panic!("cannot build {adv:?}: {e}"),
    }
}

/// Two hosts that list each other elect and hand over as over multicast, with every
/// advert sent to the one peer: host 0 (150) master one Master_Down_Interval after its
/// start, host 1 (100) master as soon as host 0's priority-0 advert arrives.
fn elect_and_hand_over(a: Config, b: Config, peer_of_0: IpAddr, vip: IpAddr) {
    let mut lan = Lan::builder().host(a).host(b).build();
    lan.start_all();
    // Started at 1 ms (the first read): host 0's Master_Down_Interval is
    // 3 × 100 ms + (256 − 150) / 256 × 100 ms = 341.40625 ms.
    lan.run_until(at(2000 * MS));
    assert_eq!(
        lan.entered(0, "web", State::Master, at(0)),
        Some(at(342_406_250))
    );
    assert_eq!(lan.state(1, "web"), Some(State::Backup));
    assert_eq!(lan.holders(vip), vec![0]);
    // Its VIP was there at 344.40625 ms, and from then on an advert every 100 ms, each
    // only to host 1 (which accepted them, checksum and all: it stayed backup).
    let sent = lan.adverts(0, 150);
    assert_eq!(sent.first(), Some(&at(344_406_250)));
    assert_eq!(sent.len(), 17, "{sent:?}");
    let to = destinations(&lan, 0);
    assert!(to.iter().all(|d| *d == vec![peer_of_0]), "{to:?}");
    assert!(destinations(&lan, 1).is_empty(), "a backup sends nothing");
    assert_eq!(lan.transitions(1).len(), 1, "{:?}", lan.transitions(1));

    // SIGTERM to host 0 at 2 s: its priority-0 advert reaches host 1 100 µs later. With
    // one peer each, host 1 knows it is the only backup: it takes over then, without
    // waiting its Skew_Time ((256 − 100) / 256 × 100 ms = 60.9375 ms), which only
    // orders several backups (node_service_failover.rs).
    lan.act(Act::Stop(0));
    assert_eq!(lan.adverts(0, 0), vec![at(2000 * MS)]);
    lan.run_until(at(3000 * MS));
    assert_eq!(
        lan.entered(1, "web", State::Master, at(0)),
        Some(at(2000 * MS + 100_000))
    );
    assert_eq!(lan.holders(vip), vec![1]);
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

#[test]
fn peers_that_list_each_other_elect_and_hand_over() {
    let (h0, h1) = (Lan::addr_v4(0), Lan::addr_v4(1));
    elect_and_hand_over(
        web_to(150, &[h1]),
        web_to(100, &[h0]),
        h1,
        vip("192.0.2.50/24").addr,
    );
}

#[test]
fn ipv6_peers_that_list_each_other_elect_and_hand_over() {
    let (h0, h1) = (Lan::addr_v6(0), Lan::addr_v6(1));
    elect_and_hand_over(
        web6_to(150, &[h1]),
        web6_to(100, &[h0]),
        h1,
        vip("2001:db8::50/64").addr,
    );
}

#[test]
fn a_non_peers_adverts_are_dropped_and_counted() {
    let v = vip("192.0.2.50/24").addr;
    let (h0, h1) = (Lan::addr_v4(0), Lan::addr_v4(1));
    let mut lan = Lan::builder()
        .host(web_to(150, &[h1]))
        .host(web_to(100, &[h0]))
        .build();
    lan.start_all();
    lan.run_until(at(1000 * MS));
    assert_eq!(lan.state(0, "web"), Some(State::Master));

    // 192.0.2.99, which neither lists, claims priority 254 every 100 ms from 1 s to
    // 1.9 s: ten adverts to host 0's address and ten to the VRRP group (both hosts).
    let stranger: IpAddr = "192.0.2.99".parse().expect("addr");
    let group = IpAddr::V4(MULTICAST_V4);
    for k in 0..10 {
        let t = at(1000 * MS + k * 100 * MS);
        for dst in [h0, group] {
            let bytes = advert(stranger, dst, 254);
            lan.schedule(
                t,
                Act::Inject {
                    src: stranger,
                    dst,
                    bytes,
                },
            );
        }
    }
    lan.run_until(at(3000 * MS));
    // Nothing changed: host 0 master since 342.40625 ms, host 1 backup, neither heard of
    // the stranger.
    assert_eq!(lan.transitions(0).len(), 2, "{:?}", lan.transitions(0));
    assert_eq!(lan.transitions(1).len(), 1, "{:?}", lan.transitions(1));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert_eq!(lan.holders(v), vec![0]);
    let s0 = status(&mut lan, 0);
    let s1 = status(&mut lan, 1);
    assert_eq!(s0.drops.get("not_a_peer"), Some(&20), "{:?}", s0.drops);
    assert_eq!(s0.drops.len(), 1, "{:?}", s0.drops);
    assert_eq!(s0.adverts_received, 0, "a master hears no backup");
    assert_eq!(s1.drops.get("not_a_peer"), Some(&10), "{:?}", s1.drops);
    assert_eq!(s1.master_address.as_deref(), Some("192.0.2.11"));

    // The same advert from a peer's address is taken: host 0 yields the instant it
    // arrives (the stranger's adverts were dropped for not being from a peer alone).
    lan.act(Act::Inject {
        src: h1,
        dst: h0,
        bytes: advert(h1, h0, 254),
    });
    let arrives = lan.now() + std::time::Duration::from_micros(100);
    lan.run_for(std::time::Duration::from_millis(1));
    assert_eq!(
        lan.entered(0, "web", State::Backup, at(3000 * MS)),
        Some(arrives)
    );
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

#[test]
fn unicast_reaches_the_addressed_host_only() {
    // Hosts 0 and 1 list each other; host 2 runs the same instance over multicast at
    // priority 50. It never hears the pair's unicast adverts, so it is master one
    // Master_Down_Interval after its start, 3 × 100 ms + 206 / 256 × 100 ms =
    // 380.46875 ms, beside host 0 (two holders: what a half-migrated network gets); the
    // pair drops its multicast adverts as not from a peer.
    let v = vip("192.0.2.50/24").addr;
    let (h0, h1) = (Lan::addr_v4(0), Lan::addr_v4(1));
    let mut lan = Lan::builder()
        .host(web_to(150, &[h1]))
        .host(web_to(100, &[h0]))
        .host(web(50, 100))
        .build();
    lan.set_check_holders(false);
    lan.start_all();
    lan.run_until(at(1000 * MS));
    assert_eq!(
        lan.entered(0, "web", State::Master, at(0)),
        Some(at(342_406_250))
    );
    assert_eq!(
        lan.entered(2, "web", State::Master, at(0)),
        Some(at(381_468_750))
    );
    assert_eq!(lan.state(1, "web"), Some(State::Backup));
    assert_eq!(lan.holders(v), vec![0, 2]);
    let group = IpAddr::V4(MULTICAST_V4);
    assert!(destinations(&lan, 2).iter().all(|d| *d == vec![group]));
    let s1 = status(&mut lan, 1);
    let s2 = status(&mut lan, 2);
    // Host 2's adverts from 383.46875 ms every 100 ms: 7 by 1 s.
    assert_eq!(s1.drops.get("not_a_peer"), Some(&7), "{:?}", s1.drops);
    assert_eq!(s2.adverts_received, 0, "{s2:?}");
}

#[test]
fn one_list_of_every_router_serves_them_all() {
    // The same list on every host, each host's own address included: a host sends to
    // the others only. Host 0 (150) master; on its priority-0 advert host 1 (100, Skew_Time
    // 60.9375 ms) takes over before host 2 (50, 80.46875 ms) would, and host 2 then
    // follows host 1.
    let v = vip("192.0.2.50/24").addr;
    let all = [Lan::addr_v4(0), Lan::addr_v4(1), Lan::addr_v4(2)];
    let mut lan = Lan::builder()
        .host(web_to(150, &all))
        .host(web_to(100, &all))
        .host(web_to(50, &all))
        .build();
    lan.start_all();
    lan.run_until(at(2000 * MS));
    assert_eq!(
        lan.entered(0, "web", State::Master, at(0)),
        Some(at(342_406_250))
    );
    let to = destinations(&lan, 0);
    assert!(!to.is_empty());
    assert!(to.iter().all(|d| *d == all[1..]), "{to:?}");
    lan.act(Act::Stop(0));
    lan.run_until(at(3000 * MS));
    assert_eq!(
        lan.entered(1, "web", State::Master, at(0)),
        Some(at(2000 * MS + 100_000 + 60_937_500))
    );
    assert_eq!(lan.state(2, "web"), Some(State::Backup));
    assert_eq!(lan.transitions(2).len(), 1, "{:?}", lan.transitions(2));
    let to = destinations(&lan, 1);
    assert!(to.iter().all(|d| *d == [all[0], all[2]]), "{to:?}");
    assert_eq!(lan.holders(v), vec![1]);
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

#[test]
fn a_reload_changes_the_peers_in_place() {
    // Host 0 (master) reloads at 1 s with a second peer, 192.0.2.99: updated in place, no
    // change of state, and its next advert (1.04440625 s) goes to both. At 2 s it reloads
    // with 192.0.2.99 alone: host 1 hears its last advert at 1.94450625 s and takes over
    // one Master_Down_Interval (3 × 100 ms + 156 / 256 × 100 ms = 360.9375 ms) later.
    let (h0, h1) = (Lan::addr_v4(0), Lan::addr_v4(1));
    let other: IpAddr = "192.0.2.99".parse().expect("addr");
    let mut lan = Lan::builder()
        .host(web_to(150, &[h1]))
        .host(web_to(100, &[h0]))
        .build();
    lan.set_check_holders(false);
    lan.start_all();
    lan.run_until(at(1000 * MS));
    lan.act(Act::Reload(0, web_to(150, &[h1, other])));
    lan.run_until(at(2000 * MS));
    let updated = lan
        .notes(0, vipd_node::Level::Info)
        .into_iter()
        .filter(|(_, n)| n.contains("updated in place"))
        .count();
    assert_eq!(updated, 1);
    let sent: Vec<(Instant, Vec<IpAddr>)> = lan
        .timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match &e.what {
            Seen::Advert { to, .. } => Some((e.at, to.clone())),
            _ => None,
        })
        .collect();
    let first_after = sent.iter().find(|(t, _)| *t > at(1000 * MS));
    assert_eq!(first_after, Some(&(at(1_044_406_250), vec![h1, other])));
    assert!(sent
        .iter()
        .all(|(t, to)| (*t < at(1000 * MS)) == (*to == vec![h1])));
    assert_eq!(lan.transitions(0).len(), 2, "{:?}", lan.transitions(0));
    lan.act(Act::Reload(0, web_to(150, &[other])));
    lan.run_until(at(3000 * MS));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert_eq!(
        lan.entered(1, "web", State::Master, at(0)),
        Some(at(1_944_406_250 + 100_000 + 360_937_500))
    );
}
