//! Unicast peers and authenticated adverts together: each unicast copy carries its own
//! VRRPv3 checksum (for its destination), and is signed after that checksum is set, so
//! the MAC holds for every copy. (Job latency 2 ms, read latency 1 ms, network 100 µs,
//! adverts every 100 ms; host 0 at 150, host 1 at 100.)

use std::net::IpAddr;

use vipd_engine::{Instant, State};
use vipd_node::auth::{AuthConfig, AuthKey};
use vipd_node::config::Config;
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{Act, Lan};

fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

/// The web instance at `priority`, unicast to both hosts' addresses, signing with a
/// shared key.
fn web_unicast_auth(priority: u8) -> Config {
    let mut c = web(priority, 100);
    c.instances[0].unicast_peers = vec![Lan::addr_v4(0), Lan::addr_v4(1)];
    c.instances[0].auth = Some(AuthConfig {
        key: AuthKey::from_hex(&"5a".repeat(32)).expect("a 32-byte key"),
        previous_key: None,
    });
    c
}

#[test]
fn a_unicast_pair_with_auth_elects_and_hands_over() {
    let v: IpAddr = vip("192.0.2.50/24").addr;
    let mut lan = Lan::builder()
        .host(web_unicast_auth(150))
        .host(web_unicast_auth(100))
        .build();
    lan.start_all();
    // Host 0: master at 1 ms + 341.40625 ms, first advert (to host 1 only) 2 ms later;
    // host 1 accepts every copy: it stays backup and drops nothing.
    lan.run_until(at(2_000_000_000));
    assert_eq!(
        lan.entered(0, "web", State::Master, at(0)),
        Some(at(342_406_250))
    );
    assert_eq!(lan.entered(1, "web", State::Master, at(0)), None);
    let drops = lan
        .node(1)
        .and_then(|n| n.instances().next())
        .and_then(|(_, r)| r)
        .map(|r| r.status().drops)
        .unwrap_or_default();
    assert!(drops.is_empty(), "host 1 dropped adverts: {drops:?}");
    // SIGTERM on host 0: its signed priority 0 reaches host 1 100 µs later, which takes
    // over after Skew_Time, (256 - 100) / 256 × 100 ms = 60.9375 ms.
    lan.act(Act::Stop(0));
    lan.run_until(at(3_000_000_000));
    assert_eq!(
        lan.entered(1, "web", State::Master, at(2_000_000_000)),
        Some(at(2_000_000_000 + 100_000 + 60_937_500))
    );
    assert_eq!(lan.holders(v), vec![1]);
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}
