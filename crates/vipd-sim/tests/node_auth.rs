//! Authenticated adverts (`auth:`, HMAC-SHA256 trailer) between whole nodes, on the
//! simulated LAN with exact instants: authenticated peers elect as without auth; forged
//! priority-255 adverts (no trailer, a broken one, a wrong key) and replayed adverts
//! move nothing and are counted by reason; a restarted node's sequence numbers start
//! above its earlier run's; a key rotation keeps the election with the previous key
//! accepted, and breaks it without.
//!
//! Defaults as in node_scenarios.rs: job latency 2 ms, read latency 1 ms, network
//! 100 µs; adverts every 100 ms. Host 0 (192.0.2.11) at priority 150, host 1
//! (192.0.2.12) at 100, both started at 0: their instances start at 1 ms, when the first
//! read is back. 192.0.2.66 runs no vipd: forgeries come from there.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use vipd_engine::{Instant, State};
use vipd_node::auth::{sign, AuthConfig, AuthKey};
use vipd_node::config::Config;
use vipd_sim::cfg::node::{config, instance, vip, web};
use vipd_sim::lan::{Act, HostId, Lan, SIM_EPOCH_NS};
use vipd_wire::auth as trailer;
use vipd_wire::{Advert, V2Auth, V3Checksum, Version, MULTICAST_V4};

const MS: u64 = 1_000_000;

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * MS)
}

fn at_ns(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

fn vip50() -> IpAddr {
    vip("192.0.2.50/24").addr
}

const FORGER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66));

fn key(byte: &str) -> AuthKey {
    AuthKey::from_hex(&byte.repeat(32)).expect("a 32-byte key")
}

/// The web instance (VRID 51, 192.0.2.50/24, 100 ms) at `priority`, signing with `key`
/// and also accepting `previous`.
fn web_auth(priority: u8, key: AuthKey, previous: Option<AuthKey>) -> Config {
    let mut c = web(priority, 100);
    c.instances[0].auth = Some(AuthConfig {
        key,
        previous_key: previous,
    });
    c
}

/// Host 0 (150) and host 1 (100), both with key 11..11, started at 0.
fn pair() -> Lan {
    let mut lan = Lan::builder()
        .host(web_auth(150, key("11"), None))
        .host(web_auth(100, key("11"), None))
        .build();
    lan.start_all();
    lan
}

/// Master_Down_Interval of priority 150 at 100 ms, 341.40625 ms, from the start at
/// 1 ms: host 0 is master at 342.40625 ms; its VIP job ends 2 ms later and then it
/// sends its first advert; every 100 ms after that.
const A_MASTER: u64 = 342_406_250;
const A_FIRST_ADVERT: u64 = A_MASTER + 2 * MS;
/// Master_Down_Interval of priority 100 at 100 ms: 300 ms + 156/256 × 100 ms.
const B_DOWN: u64 = 360_937_500;
/// Skew_Time of priority 100 at 100 ms: 156/256 × 100 ms.
const B_SKEW: u64 = 60_937_500;
const NET: u64 = 100_000;

fn drops(lan: &Lan, h: HostId) -> BTreeMap<&'static str, u64> {
    lan.node(h)
        .and_then(|n| n.instances().next())
        .and_then(|(_, r)| r)
        .map(|r| r.status().drops)
        .unwrap_or_default()
}

/// The auth_* counters of host `h`, the others left out.
fn auth_drops(lan: &Lan, h: HostId) -> BTreeMap<&'static str, u64> {
    drops(lan, h)
        .into_iter()
        .filter(|(k, _)| k.starts_with("auth_"))
        .collect()
}

fn transitions_after(lan: &Lan, h: HostId, t: Instant) -> Vec<(Instant, State, State)> {
    lan.transitions(h)
        .into_iter()
        .filter(|(at, ..)| *at > t)
        .map(|(at, _, from, to)| (at, from, to))
        .collect()
}

/// A valid VRRPv3 advert for VRID 51 and the VIP, at `priority`, from `src`.
fn advert(src: IpAddr, priority: u8) -> Vec<u8> {
    Advert {
        version: Version::V3,
        vrid: 51,
        priority,
        interval_cs: 10,
        addresses: vec![vip50()],
        auth: V2Auth::default(),
    }
    .emit(src, IpAddr::V4(MULTICAST_V4), V3Checksum::PseudoHeader)
    .expect("a valid advert")
}

fn seq_of(bytes: &[u8]) -> u64 {
    trailer::split(bytes, Version::V3, false)
        .expect("an authenticated advert")
        .trailer
        .seq
}

fn assert_no_breach(lan: &Lan) {
    assert!(
        lan.breaches().is_empty(),
        "invariants broken: {:?}",
        lan.breaches()
    );
}

#[test]
fn authenticated_peers_elect_as_without_auth() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    assert_eq!(lan.entered(0, "web", State::Backup, ms(0)), Some(ms(1)));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(A_MASTER))
    );
    let adverts = lan.adverts(0, 150);
    assert_eq!(adverts.first(), Some(&at_ns(A_FIRST_ADVERT)));
    // 344.4, 444.4, ..., 944.4 ms: seven adverts, numbered from the start time on.
    assert_eq!(adverts.len(), 7);
    let last = lan.last_advert_bytes(0).expect("host 0 sent adverts");
    assert_eq!(last.len(), 12 + trailer::TRAILER_LEN);
    assert_eq!(seq_of(last), SIM_EPOCH_NS + 6);
    // Host 1 (Master_Down at 1 ms + 360.9375 ms) heard host 0 in time, accepted all.
    assert_eq!(lan.entered(1, "web", State::Master, ms(0)), None);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_eq!(drops(&lan, 1), BTreeMap::new());
    let received = lan
        .node(1)
        .and_then(|n| n.instances().next())
        .and_then(|(_, r)| r)
        .map(|r| r.status().adverts_received);
    assert_eq!(received, Some(7));
    assert_no_breach(&lan);
}

/// The control for the next test: without auth, one forged priority-255 advert makes
/// the master yield on the spot.
#[test]
fn without_auth_a_forged_priority_255_advert_takes_over() {
    let mut lan = Lan::builder()
        .host(web(150, 100))
        .host(web(100, 100))
        .build();
    lan.start_all();
    lan.run_until(ms(1000));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.act(Act::Arrive(0, FORGER, advert(FORGER, 255)));
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(1000)),
        Some(ms(1000))
    );
    lan.run_until(ms(1010));
    assert!(lan.holders(vip50()).is_empty(), "the VIP left host 0");
}

#[test]
fn forged_priority_255_adverts_move_nothing_and_are_counted() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    let plain = advert(FORGER, 255);
    let wrong_key = sign(&key("22"), FORGER, plain.clone(), u64::MAX);
    let mut bad_tag = sign(&key("11"), FORGER, plain.clone(), u64::MAX);
    bad_tag[12 + 3] = 2;
    let short = wrong_key[..wrong_key.len() - 1].to_vec();
    // Host 0's own address with a made-up trailer: the source does not help.
    let as_host0 = sign(
        &key("22"),
        Lan::addr_v4(0),
        advert(Lan::addr_v4(0), 255),
        u64::MAX,
    );
    let forgeries = [
        (FORGER, plain),
        (FORGER, wrong_key),
        (FORGER, bad_tag),
        (FORGER, short),
        (Lan::addr_v4(0), as_host0),
    ];
    for to in [0, 1] {
        for (src, bytes) in &forgeries {
            lan.act(Act::Arrive(to, *src, bytes.clone()));
        }
    }
    lan.run_until(ms(3000));
    let want: BTreeMap<&str, u64> = [
        ("auth_bad_mac", 2),
        ("auth_malformed", 2),
        ("auth_missing", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(auth_drops(&lan, 0), want);
    assert_eq!(auth_drops(&lan, 1), want);
    assert_eq!(
        transitions_after(&lan, 0, ms(0)).len(),
        2,
        "backup, then master"
    );
    assert_eq!(transitions_after(&lan, 0, at_ns(A_MASTER)), vec![]);
    assert_eq!(transitions_after(&lan, 1, ms(1)), vec![]);
    assert_eq!(lan.holders(vip50()), vec![0]);
    // Host 0 kept advertising every 100 ms throughout: 344.4 ms to 2944.4 ms.
    assert_eq!(lan.adverts(0, 150).len(), 27);
    assert_no_breach(&lan);
}

/// Host 0 leaves (priority 0) and comes back; its farewell, captured, is replayed to
/// host 1 later. The restarted host 0's adverts are accepted (their numbers start at
/// its new start time, above everything it sent before); the replay is not.
#[test]
fn restarts_count_on_and_replays_are_dropped() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Stop(0));
    // The farewell: priority 0, numbered after the seven adverts before it.
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    let farewell = lan.last_advert_bytes(0).expect("the farewell").to_vec();
    assert_eq!(seq_of(&farewell), SIM_EPOCH_NS + 7);
    // Host 1 hears it 100 µs later and takes over after Skew_Time.
    lan.run_until(ms(1500));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1000)),
        Some(at_ns(1000 * MS + NET + B_SKEW))
    );

    lan.run_until(ms(2000));
    lan.act(Act::Start(0));
    // Started at 2000 ms, instance at 2001 ms; it hears host 1 (priority 100) and, being
    // higher, waits out its Master_Down_Interval: master at 2342.40625 ms, first advert
    // 2 ms later, numbered from the new start time.
    lan.run_until(ms(2500));
    let back = 2000 * MS + A_MASTER;
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(2000)),
        Some(at_ns(back))
    );
    assert_eq!(lan.adverts(0, 150).first(), Some(&at_ns(A_FIRST_ADVERT)));
    let restarted: Vec<_> = lan
        .adverts(0, 150)
        .into_iter()
        .filter(|t| *t > ms(2000))
        .collect();
    assert_eq!(restarted.first(), Some(&at_ns(back + 2 * MS)));
    // Host 1 accepts it: backup 100 µs later.
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(2000)),
        Some(at_ns(back + 2 * MS + NET))
    );
    let first_again = lan.last_advert_bytes(0).expect("adverts after the restart");
    assert!(seq_of(first_again) >= SIM_EPOCH_NS + 2000 * MS);
    assert_eq!(auth_drops(&lan, 1), BTreeMap::new());

    // The captured farewell again, from host 0's address, MAC intact: a replay. Taken
    // for new, it would send host 1 to master after Skew_Time (3060.9375 ms).
    lan.run_until(ms(3000));
    lan.act(Act::Arrive(1, Lan::addr_v4(0), farewell));
    lan.run_until(ms(4000));
    assert_eq!(
        auth_drops(&lan, 1),
        [("auth_replay", 1)].into_iter().collect()
    );
    assert_eq!(lan.entered(1, "web", State::Master, ms(2500)), None);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// A key rotation: host 1 takes the new key with the old one as previous, then host 0
/// signs with the new key, then both drop the old one. Nothing moves, nothing is
/// dropped.
#[test]
fn key_rotation_with_the_previous_key_moves_nothing() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Reload(1, web_auth(100, key("33"), Some(key("11")))));
    lan.run_until(ms(2000));
    lan.act(Act::Reload(0, web_auth(150, key("33"), Some(key("11")))));
    lan.run_until(ms(3000));
    lan.act(Act::Reload(1, web_auth(100, key("33"), None)));
    lan.act(Act::Reload(0, web_auth(150, key("33"), None)));
    lan.run_until(ms(4000));
    assert_eq!(transitions_after(&lan, 0, at_ns(A_MASTER)), vec![]);
    assert_eq!(transitions_after(&lan, 1, ms(1)), vec![]);
    assert_eq!(auth_drops(&lan, 0), BTreeMap::new());
    assert_eq!(auth_drops(&lan, 1), BTreeMap::new());
    // One advert every 100 ms from 344.4 ms to 3944.4 ms, none missed.
    assert_eq!(lan.adverts(0, 150).len(), 37);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// The control for the rotation: host 1 takes the new key *without* the old one while
/// host 0 still signs with the old: host 1 drops host 0's adverts and takes over when
/// the last accepted one (sent at 944.40625 ms) is a Master_Down_Interval old.
#[test]
fn key_rotation_without_the_previous_key_splits_the_group() {
    let mut lan = pair();
    lan.set_check_holders(false);
    lan.run_until(ms(1000));
    lan.act(Act::Reload(1, web_auth(100, key("33"), None)));
    lan.run_until(ms(2000));
    let last_heard = A_FIRST_ADVERT + 6 * 100 * MS + NET;
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1000)),
        Some(at_ns(last_heard + B_DOWN))
    );
    // Host 0 cannot check host 1's adverts either: both stay master.
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert_eq!(lan.holders(vip50()), vec![0, 1]);
    assert!(
        auth_drops(&lan, 1)
            .get("auth_bad_mac")
            .copied()
            .unwrap_or(0)
            >= 6
    );
    assert!(
        auth_drops(&lan, 0)
            .get("auth_bad_mac")
            .copied()
            .unwrap_or(0)
            >= 6
    );
}

/// A router without `auth` sees an authenticated advert as a normal one with 44 bytes
/// behind it (the checksum covers the message alone) and follows it.
#[test]
fn a_router_without_auth_follows_an_authenticated_master() {
    let mut lan = Lan::builder()
        .host(web_auth(150, key("11"), None))
        .host(web(100, 100))
        .build();
    lan.start_all();
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(A_MASTER))
    );
    assert_eq!(lan.entered(1, "web", State::Master, ms(0)), None);
    assert_eq!(drops(&lan, 1), BTreeMap::new());
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// IPv6: adverts from the link-local address, the source's 16 bytes in the MAC.
#[test]
fn ipv6_peers_elect_and_ignore_forgeries() {
    let v6 = |priority: u8| {
        let mut i = instance("web6", 52, priority, 100, &["2001:db8::50/64"]);
        i.auth = Some(AuthConfig {
            key: key("44"),
            previous_key: None,
        });
        config(vec![i])
    };
    let mut lan = Lan::builder().host(v6(150)).host(v6(100)).build();
    lan.start_all();
    lan.run_until(ms(1000));
    assert_eq!(
        lan.entered(0, "web6", State::Master, ms(0)),
        Some(at_ns(A_MASTER))
    );
    let last = lan.last_advert_bytes(0).expect("host 0 sent adverts");
    assert_eq!(last.len(), 8 + 16 + trailer::TRAILER_LEN);
    let forger = IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x66));
    let forged = Advert {
        version: Version::V3,
        vrid: 52,
        priority: 255,
        interval_cs: 10,
        addresses: vec![vip("2001:db8::50/64").addr],
        auth: V2Auth::default(),
    }
    .emit(
        forger,
        IpAddr::V6(vipd_wire::MULTICAST_V6),
        V3Checksum::PseudoHeader,
    )
    .expect("a valid advert");
    // Host 0's genuine trailer, moved to the forger's source: the source is covered.
    let moved = [&forged[..], &last[last.len() - trailer::TRAILER_LEN..]].concat();
    for bytes in [forged, moved] {
        lan.act(Act::Arrive(1, forger, bytes));
    }
    lan.run_until(ms(2000));
    assert_eq!(
        auth_drops(&lan, 1),
        [("auth_bad_mac", 1), ("auth_missing", 1)]
            .into_iter()
            .collect()
    );
    assert_eq!(lan.entered(1, "web6", State::Master, ms(0)), None);
    assert_eq!(transitions_after(&lan, 0, at_ns(A_MASTER)), vec![]);
    assert_no_breach(&lan);
}

/// The removals host `h` asked for, by when.
fn removals(lan: &Lan, h: HostId) -> Vec<Instant> {
    lan.seen(h, |s| {
        matches!(s, vipd_sim::lan::Seen::JobAsked { add: false, .. })
    })
}

/// A reload removes host 0's authenticated master instance: it leaves with priority 0
/// and keeps its VIP until host 1's first advert reaches it (make-before-break). Forged
/// adverts during that wait — none signed, one from the forger, one from host 1's own
/// address — are checked as a running instance checks them and dropped: the handover
/// ends only with host 1's genuine advert, as without them.
#[test]
fn a_forged_advert_does_not_end_a_leaving_instances_handover() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::Reload(
        0,
        config(vec![instance("db", 52, 100, 100, &["192.0.2.60/24"])]),
    ));
    assert_eq!(lan.node(0).map(|n| n.leaving().count()), Some(1));
    // At 1010 ms, before host 1 takes over (1000.1 + 60.9375 ms): forged new masters.
    lan.run_until(ms(1010));
    lan.act(Act::Arrive(0, FORGER, advert(FORGER, 200)));
    lan.act(Act::Arrive(
        0,
        Lan::addr_v4(1),
        advert(Lan::addr_v4(1), 200),
    ));
    // Taken for a new master, they would end the handover 20 ms later (1030 ms) and
    // leave the VIP unheld until host 1 adds it at 1061.0375 ms.
    lan.run_until(ms(1050));
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_eq!(removals(&lan, 0), vec![ms(1), ms(1001)]);
    // Host 1: master at 1061.0375, first advert 2 ms later, heard at 1063.1375 ms; the
    // removal 20 ms after that.
    lan.run_until(ms(1500));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1000)),
        Some(at_ns(1000 * MS + NET + B_SKEW))
    );
    assert_eq!(
        removals(&lan, 0),
        vec![ms(1), ms(1001), at_ns(1_083_137_500)]
    );
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_eq!(lan.node(0).map(|n| n.leaving().count()), Some(0));
    assert_no_breach(&lan);
}
