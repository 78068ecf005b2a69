//! Node-level warnings about other routers configured differently: the first at once,
//! then at most one a minute per instance and reason, each saying how many were held
//! back; and what the status shows of them. (Job latency 2 ms, read latency 1 ms,
//! network 100 µs; see `node_scenarios.rs` for the start-up timeline.)

use std::net::{IpAddr, Ipv4Addr};

use vipd_api::Response;
use vipd_engine::{Instant, State};
use vipd_node::{Level, Record, What};
use vipd_sim::cfg::node::{config, instance, vip, web};
use vipd_sim::lan::{Act, HostId, Lan, Seen};
use vipd_wire::{Advert, V2Auth, V3Checksum, Version, MULTICAST_V4};

const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;

fn at_ns(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

/// Host `h`'s warnings of `kind`: (instant, text).
fn warnings(lan: &Lan, h: HostId, kind: &str) -> Vec<(Instant, String)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Record(Record {
                level: Level::Warn,
                what: w @ What::Mismatch { kind: k, .. },
                ..
            }) if *k == kind => Some((e.at, w.to_string())),
            _ => None,
        })
        .collect()
}

/// The last status reply of host `h`.
fn last_status(lan: &Lan, h: HostId) -> vipd_api::Status {
    lan.timeline()
        .iter()
        .rev()
        .filter(|e| e.host == h)
        .find_map(|e| match &e.what {
            Seen::Reply(Response::Status(s)) => Some(s.clone()),
            _ => None,
        })
        .expect("a status reply")
}

/// Master_Down_Interval of priority 150 at 100 ms from the start at 1 ms: master at
/// 342.40625 ms; its first advert follows the 2 ms VIP job, 344.40625 ms, and then one
/// every 100 ms. Each reaches the other host 100 µs later.
const A_FIRST_ADVERT: u64 = 344_406_250;
const LATENCY: u64 = 100_000;

#[test]
fn a_v3_address_list_mismatch_elects_one_master_and_warns_once_a_minute() {
    // Host 0 has web with 192.0.2.50; host 1 already has 192.0.2.51 too (a rolling
    // change). Host 1 takes host 0's adverts all the same, and warns about the
    // difference: at the first (344.50625 ms), then at the first after a minute —
    // advert 600, 60 s later — and again 60 s after that, 599 held back each time.
    let two = config(vec![instance(
        "web",
        51,
        100,
        100,
        &["192.0.2.50/24", "192.0.2.51/24"],
    )]);
    let mut lan = Lan::builder().host(web(150, 100)).host(two).build();
    lan.start_all();
    lan.run_until(at_ns(130 * S));
    assert_eq!(
        lan.entered(0, "web", State::Master, at_ns(0)),
        Some(at_ns(342_406_250))
    );
    assert_eq!(lan.entered(1, "web", State::Master, at_ns(0)), None);
    assert_eq!(lan.state(1, "web"), Some(State::Backup));
    let first = A_FIRST_ADVERT + LATENCY;
    let said = warnings(&lan, 1, "address_mismatch");
    let instants: Vec<Instant> = said.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        instants,
        vec![at_ns(first), at_ns(first + 60 * S), at_ns(first + 120 * S)]
    );
    assert_eq!(
        said[0].1,
        "VRRPv3 advert from 192.0.2.11 lists 192.0.2.50 but this instance has 192.0.2.50, \
         192.0.2.51: the routers are configured differently (taking part in the election \
         all the same)"
    );
    assert!(
        said[1].1.ends_with(" (599 more since the last warning)"),
        "{}",
        said[1].1
    );
    assert!(warnings(&lan, 0, "address_mismatch").is_empty());
    // The status shows it: adverts at 344.40625 ms + k × 100 ms up to 129.94440625 s
    // (k = 1296), the last received 129.94450625 s.
    lan.act(Act::Status(0));
    lan.act(Act::Status(1));
    lan.run_until(at_ns(130 * S + 2 * MS));
    let st = last_status(&lan, 1);
    let m = st.instances[0]
        .address_mismatch
        .clone()
        .expect("address_mismatch in the status");
    assert_eq!(m.from, "192.0.2.11");
    assert_eq!(m.addresses, vec!["192.0.2.50".to_string()]);
    assert_eq!(m.count, 1297);
    // Answered when the read is back at 130.001 s.
    let age = (130 * S + MS - (A_FIRST_ADVERT + 1296 * 100 * MS + LATENCY)) as f64 / 1e9;
    assert!(
        (m.last_age_s - age).abs() < 1e-9,
        "{} vs {age}",
        m.last_age_s
    );
    assert_eq!(last_status(&lan, 0).instances[0].address_mismatch, None);
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

/// An advert from 192.0.2.99, a router the LAN does not simulate.
fn from99(version: Version, vrid: u8, interval_cs: u16, vips: &[&str]) -> Advert {
    Advert {
        version,
        vrid,
        priority: 100,
        interval_cs,
        addresses: vips.iter().map(|v| vip(v).addr).collect(),
        auth: V2Auth::default(),
    }
}

fn emit(a: &Advert, form: V3Checksum) -> Vec<u8> {
    a.emit(r99(), IpAddr::V4(MULTICAST_V4), form).expect("emit")
}

fn r99() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99))
}

/// Host `h`'s debug records of dropped packets of `kind`.
fn debug_drops(lan: &Lan, h: HostId, kind: &str) -> usize {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter(|e| {
            matches!(&e.what, Seen::Record(Record {
                level: Level::Debug,
                what: What::Dropped(r),
                ..
            }) if r.kind() == kind)
        })
        .count()
}

#[test]
fn parameter_mismatches_are_warned_at_once_then_once_a_minute_per_reason() {
    // Host 0 runs web as VRRPv2 at 1 s. From 1 s on, once a second each, 192.0.2.99
    // sends what a router configured otherwise sends: a 2 s interval (at 1.0 + k s),
    // authentication type 1 (1.1 + k s), VRRPv3 (1.2 + k s), another VIP (1.3 + k s);
    // and, as noise that is nobody's configuration, an advert for VRID 52 (1.4 + k s)
    // and one with a damaged checksum (1.5 + k s); k = 0..150.
    let mut web2 = instance("web", 51, 150, 1000, &["192.0.2.50/24"]);
    web2.version = Version::V2;
    let mut lan = Lan::builder().host(config(vec![web2])).build();
    lan.start_all();
    let plain = V3Checksum::NoPseudoHeader;
    let v2 = |interval_cs, vips: &[&str]| from99(Version::V2, 51, interval_cs, vips);
    let mut auth = v2(100, &["192.0.2.50/24"]);
    auth.auth = V2Auth {
        auth_type: 1,
        data: *b"secret\0\0",
    };
    let mut damaged = emit(&v2(100, &["192.0.2.50/24"]), plain);
    damaged[7] ^= 0x01;
    let sends: Vec<(u64, Vec<u8>)> = vec![
        (0, emit(&v2(200, &["192.0.2.50/24"]), plain)),
        (100, emit(&auth, plain)),
        (
            200,
            emit(
                &from99(Version::V3, 51, 100, &["192.0.2.50/24"]),
                V3Checksum::PseudoHeader,
            ),
        ),
        (300, emit(&v2(100, &["192.0.2.51/24"]), plain)),
        (
            400,
            emit(&from99(Version::V2, 52, 100, &["192.0.2.52/24"]), plain),
        ),
        (500, damaged),
    ];
    for k in 0..150 {
        for (offset_ms, bytes) in &sends {
            let t = at_ns(S + k * S + offset_ms * MS);
            lan.schedule(t, Act::Arrive(0, r99(), bytes.clone()));
        }
    }
    lan.run_until(at_ns(151 * S));
    for (kind, offset_ms) in [
        ("interval_mismatch", 0),
        ("auth_mismatch", 100),
        ("bad_version", 200),
        ("address_mismatch", 300),
    ] {
        let said = warnings(&lan, 0, kind);
        let instants: Vec<Instant> = said.iter().map(|(t, _)| *t).collect();
        let first = S + offset_ms * MS;
        assert_eq!(
            instants,
            vec![at_ns(first), at_ns(first + 60 * S), at_ns(first + 120 * S)],
            "{kind}"
        );
        assert!(
            said[0].1.starts_with("advert from 192.0.2.99 dropped ("),
            "{}",
            said[0].1
        );
        assert!(said[0]
            .1
            .ends_with("another router of VRID 51 is configured differently"));
        assert!(
            said[1].1.ends_with(" (59 more since the last warning)"),
            "{}",
            said[1].1
        );
        // In between, each is still recorded, at debug level.
        assert_eq!(debug_drops(&lan, 0, kind), 150 - 3, "{kind}");
    }
    assert_eq!(
        warnings(&lan, 0, "interval_mismatch")[0].1,
        "advert from 192.0.2.99 dropped (interval_mismatch): advert interval 200 cs differs \
         from the configured 100 cs (VRRPv2); another router of VRID 51 is configured \
         differently"
    );
    // Damaged packets and other VRIDs are no configuration of ours: debug only.
    assert!(warnings(&lan, 0, "bad_checksum").is_empty());
    assert_eq!(debug_drops(&lan, 0, "bad_checksum"), 150);
    let warned: Vec<&'static str> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Record(Record {
                level: Level::Warn,
                what: What::Mismatch { kind, .. },
                ..
            }) => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(warned.len(), 4 * 3, "{warned:?}");
    // The status counts the adverts for VRID 52 on eth0, and the engine's drops.
    lan.act(Act::Status(0));
    lan.run_until(at_ns(151 * S + 2 * MS));
    let st = last_status(&lan, 0);
    assert_eq!(
        st.interfaces,
        vec![vipd_api::InterfaceStatus {
            name: "eth0".into(),
            unknown_vrid: 150
        }]
    );
    let drops = &st.instances[0].drops;
    for kind in [
        "interval_mismatch",
        "auth_mismatch",
        "bad_version",
        "address_mismatch",
        "bad_checksum",
    ] {
        assert_eq!(drops.get(kind), Some(&150), "{kind}: {drops:?}");
    }
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

#[test]
fn the_other_checksum_form_is_accepted_and_warned_about_once_a_minute() {
    // Host 0 sends RFC 5798's form (with the pseudo-header). 192.0.2.99 sends
    // priority-100 VRRPv3 adverts in RFC 9568's form, once a second from 1 s: they are
    // accepted (and answered: host 0 is master), counted and warned about at 1, 61
    // and 121 s.
    let mut lan = Lan::builder().host(web(150, 100)).build();
    lan.start_all();
    let bytes = emit(
        &from99(Version::V3, 51, 100, &["192.0.2.50/24"]),
        V3Checksum::NoPseudoHeader,
    );
    for k in 0..150 {
        lan.schedule(at_ns(S + k * S), Act::Arrive(0, r99(), bytes.clone()));
    }
    lan.run_until(at_ns(151 * S));
    let said = warnings(&lan, 0, "other_checksum_form");
    let instants: Vec<Instant> = said.iter().map(|(t, _)| *t).collect();
    assert_eq!(instants, vec![at_ns(S), at_ns(61 * S), at_ns(121 * S)]);
    assert_eq!(
        said[0].1,
        "VRRPv3 advert from 192.0.2.99 is checksummed without the IPv4 pseudo-header, this \
         instance sends (rfc5798: with it): accepted, but a router that takes only its own \
         form drops this instance's adverts (set the same checksum on both)"
    );
    let node = lan.node(0).expect("running");
    let (_, router) = node.instances().next().expect("one instance");
    let st = router.expect("started").status();
    assert_eq!(st.other_checksum_form, 150);
    assert_eq!(st.adverts_received, 150);
    assert!(st.drops.is_empty(), "{:?}", st.drops);
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}
