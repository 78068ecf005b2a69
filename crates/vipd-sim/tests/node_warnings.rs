//! Node-level warnings about other routers configured differently: the first at once,
//! then at most one a minute per instance and reason, each saying how many were held
//! back; and what the status shows of them. (Job latency 2 ms, read latency 1 ms,
//! network 100 µs; see `node_scenarios.rs` for the start-up timeline.)

use vipd_api::Response;
use vipd_engine::{Instant, State};
use vipd_node::{Level, Record, What};
use vipd_sim::cfg::node::{config, instance, web};
use vipd_sim::lan::{Act, HostId, Lan, Seen};

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
