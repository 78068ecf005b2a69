//! Announced VIPs over BGP, end to end: a router with real FRR spreading flows over
//! three web hosts with ECMP, each host running nginx, vipd with an `announce:`
//! instance, and its own FRR configured with the shipped `examples/bgp/frr.conf`.
//!
//! Lab: router r (192.0.2.1; bgpd AS 65000, `maximum-paths 8`, L4 hashing,
//! `bgp listen range` for the hosts), web hosts w1-w3 (192.0.2.11-13, AS 65010, on the
//! LAN bridge), client c behind the router (198.51.100.10, router side 198.51.100.1; its
//! LAN interface is down, so it reaches the VIP only through the router). The VIP is
//! 192.0.2.200/32. vipd tracks nginx with an http check every 100 ms (timeout 80 ms,
//! fall 1, rise 3) and drains for 1 s. The client GETs http://192.0.2.200/ every 10 ms,
//! a new connection each time (100 ms timeout).
//!
//! Times are read from the harness's clock: the router's routes are polled every 5 ms.

use std::time::Duration;

use vipd_e2e::frr::{
    anycast_vipd_yaml, next_hops, AnycastLab, Frr, ANYCAST_PREFIX, ANYCAST_VIP as VIP, ROUTER_CONF,
};
use vipd_e2e::web::{failures, servers_after, Getter, Nginx, Sample};
use vipd_e2e::{epoch_now, exclusive, wait_until, Host, Lan, Signal};

const INTERVAL_MS: u64 = 100;
const RISE: u64 = 3;

/// Whether `h` has the drain's local route for the VIP (`ip route show table local`).
fn local_route(h: &Host) -> bool {
    h.ns()
        .ip(&["route", "show", "table", "local", VIP])
        .contains("dev lo")
}

/// The requests after `from` that failed, but for one connection cut as its flow
/// moved to another host (see `Failures::cut_at_move`). With flows hashed over several
/// hosts, neighbouring requests are often served by different hosts, so "at a move"
/// says little here: only one such cut is excused per client run.
fn failed_after(samples: &[Sample], from: f64) -> Vec<f64> {
    let split = failures(samples);
    let mut out: Vec<f64> = split.lost.into_iter().map(|(t, _)| t).collect();
    let cut: Vec<f64> = split
        .cut_at_move
        .into_iter()
        .filter(|t| *t > from)
        .collect();
    if cut.len() > 1 {
        out.extend(cut);
    }
    out.retain(|t| *t > from);
    out.sort_by(f64::total_cmp);
    out
}

fn served_by(samples: &[Sample]) -> std::collections::BTreeMap<String, usize> {
    let mut by = std::collections::BTreeMap::new();
    for s in samples {
        if let Some(w) = &s.by {
            *by.entry(w.clone()).or_insert(0) += 1;
        }
    }
    by
}

#[test]
fn three_hosts_announce_a_vip_and_the_router_follows_their_checks() {
    let _serial = exclusive();
    let mut lab = AnycastLab::start("anbgp", 3, &anycast_vipd_yaml(INTERVAL_MS, RISE));
    let c = &lab.client;
    let r = &lab.router;

    // 1. All three serve: flows spread over them.
    let mut g = Getter::start(c, VIP, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    let samples = g.stop();
    let by = served_by(&samples);
    eprintln!("spread over {} requests: {by:?}", samples.len());
    assert!(failed_after(&samples, 0.0).is_empty(), "{by:?}");
    assert_eq!(by.len(), 3, "not all hosts served: {by:?}");
    assert!(
        by.values().all(|n| *n * 10 >= samples.len()),
        "one host served under a tenth: {by:?}"
    );

    // 2. nginx killed on w1: its path withdrawn, new connections served by w2 and w3.
    let mut g = Getter::start(c, VIP, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let a1 = lab.webs[0].addr();
    let t0 = epoch_now();
    lab.webs[0].nginx.kill_all();
    let gone = lab.when_hops(Duration::from_secs(5), |h| !h.contains(&a1));
    std::thread::sleep(Duration::from_millis(1500));
    let samples = g.stop();
    let Some(gone) = gone else {
        panic!(
            "w1's path still at the router 5 s after nginx died: {:?}",
            hops(r)
        );
    };
    let withdrawn_ms = (gone - t0) * 1000.0;
    let failed = failed_after(&samples, t0);
    let last_failed_ms = failed.last().map_or(0.0, |t| (t - t0) * 1000.0);
    eprintln!(
        "nginx killed on w1: path withdrawn at the router after {withdrawn_ms:.0} ms; \
         {} requests failed, the last one sent {last_failed_ms:.0} ms after the kill",
        failed.len()
    );
    // Bound: one check interval (100 ms) to see it, FRR's withdrawal (~130 ms measured
    // on these machines), margin for two busy cores.
    assert!(
        withdrawn_ms < 1000.0,
        "withdrawn after {withdrawn_ms:.0} ms"
    );
    // Every request sent after the withdrawal (plus one request's timeout) is served,
    // and not by w1.
    assert!(
        failed.iter().all(|t| *t < gone + 0.1),
        "requests failed after the withdrawal: {:?}",
        failed
            .iter()
            .map(|t| (t - gone) * 1000.0)
            .collect::<Vec<_>>()
    );
    let after = servers_after(&samples, gone + 0.1);
    assert!(
        after.iter().all(|w| w == "w2" || w == "w3"),
        "served after the withdrawal: {after:?}"
    );

    // 3. nginx back on w1: announced again after rise (3 successes 100 ms apart).
    let t_restart = epoch_now();
    {
        let w1 = &mut lab.webs[0];
        w1.nginx.restart(&w1.host);
    }
    let back = lab.when_hops(Duration::from_secs(10), |h| h.contains(&a1));
    let Some(back) = back else {
        panic!("w1's path not back within 10 s: {:?}", lab.hops());
    };
    let back_ms = (back - t_restart) * 1000.0;
    eprintln!("nginx restarted on w1: path back at the router after {back_ms:.0} ms");
    assert!(
        back_ms >= ((RISE - 1) * INTERVAL_MS) as f64,
        "back after {back_ms:.0} ms, before rise could pass"
    );

    // 4. Maintenance on w2: withdrawn, and no request fails.
    let web2 = &lab.webs[1];
    let a2 = web2.addr();
    let mut g = Getter::start(c, VIP, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let t1 = epoch_now();
    let out = web2.host.vipctl(&["maintenance", "on", "web"]);
    assert!(out.status.success(), "{out:?}");
    let gone2 = lab.when_hops(Duration::from_secs(5), |h| !h.contains(&a2));
    std::thread::sleep(Duration::from_millis(1500));
    let samples = g.stop();
    let Some(gone2) = gone2 else {
        panic!("w2's path still at the router 5 s after maintenance on");
    };
    eprintln!(
        "maintenance on w2: path withdrawn after {:.0} ms; served {:?}",
        (gone2 - t1) * 1000.0,
        served_by(&samples)
    );
    assert!(
        failed_after(&samples, 0.0).is_empty(),
        "requests failed around maintenance: {:?}",
        failed_after(&samples, 0.0)
    );
    assert!(servers_after(&samples, gone2 + 0.1)
        .iter()
        .all(|w| w == "w1" || w == "w3"));
    let text = web2.host.vipctl_status_text();
    assert!(text.contains("state: withdrawn"), "{text}");
    let out = web2.host.vipctl(&["maintenance", "off", "web"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        lab.when_hops(Duration::from_secs(5), |h| h.contains(&a2))
            .is_some(),
        "w2's path not back after maintenance off"
    );

    // 5. vipd stopped on w3: withdrawn at the router while w3 still answers for the
    // VIP (a local route while it drains), then gone; no request fails.
    let web3 = &lab.webs[2];
    let a3 = web3.addr();
    let mut g = Getter::start(c, VIP, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let t2 = epoch_now();
    assert!(web3.host.kill(Signal::SIGTERM));
    let (mut route_gone, mut local_gone) = (None, None);
    wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        let now = epoch_now();
        if route_gone.is_none() && !lab.hops().contains(&a3) {
            route_gone = Some(now);
        }
        let holds = web3.host.has_addr_on("vipd0", VIP) || local_route(&web3.host);
        if local_gone.is_none() && !holds {
            local_gone = Some(now);
        }
        route_gone.is_some() && local_gone.is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    let samples = g.stop();
    let (Some(route_gone), Some(local_gone)) = (route_gone, local_gone) else {
        panic!("after SIGTERM on w3: route gone {route_gone:?}, VIP gone {local_gone:?}");
    };
    eprintln!(
        "vipd stopped on w3: path withdrawn after {:.0} ms, VIP gone from w3 after {:.0} ms",
        (route_gone - t2) * 1000.0,
        (local_gone - t2) * 1000.0
    );
    assert!(
        route_gone < local_gone,
        "the host stopped answering before the router withdrew its path"
    );
    assert!(
        failed_after(&samples, 0.0).is_empty(),
        "requests failed around the stop: {:?}",
        failed_after(&samples, 0.0)
    );
    web3.host.assert_exits_cleanly(Duration::from_secs(5));
}

fn hops(r: &Host) -> Vec<String> {
    next_hops(r, ANYCAST_PREFIX)
}

/// Polls `r` every 5 ms until `f(next hops)` holds; when it first did, or none.
fn when_hops(r: &Host, limit: Duration, f: impl Fn(&[String]) -> bool) -> Option<f64> {
    let mut at = None;
    wait_until(limit, Duration::from_millis(5), || {
        let ok = f(&hops(r));
        if ok {
            at = Some(epoch_now());
        }
        ok
    });
    at
}

/// The shipped BIRD snippet, with this host's router id.
fn bird_conf(addr: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/bgp/bird.conf");
    let text = std::fs::read_to_string(path).expect("examples/bgp/bird.conf is readable");
    assert!(text.contains("router id 192.0.2.11;"));
    text.replace("router id 192.0.2.11;", &format!("router id {addr};"))
}

#[test]
fn bird_announces_what_vipd_puts_on_vipd0_and_withdraws_on_maintenance() {
    let _serial = exclusive();
    let lan = Lan::new("anbird");
    let r = lan.host_at("r", 1);
    r.ns().sysctl(&["net.ipv4.ip_forward=1"]);
    let _router_frr = Frr::start(&r, ROUTER_CONF);
    let w = lan.host_at("w1", 11);
    let _nginx = Nginx::start(&w);
    // An address on eth0 that is not vipd's: the filter must keep it out.
    w.ns().ip(&["addr", "add", "192.0.2.201/32", "dev", "eth0"]);
    let bird = vipd_e2e::frr::Bird::start(&w, &bird_conf("192.0.2.11"));
    w.spawn_vipd(&anycast_vipd_yaml(INTERVAL_MS, RISE));
    let a = "192.0.2.11".to_string();
    let up = when_hops(&r, Duration::from_secs(30), |h| h == [a.clone()]);
    assert!(
        up.is_some(),
        "the router never had the path from BIRD: {:?}\n{}\n{}",
        hops(&r),
        bird.birdc("show protocols all upstream")
            .unwrap_or_default(),
        bird.log_tail()
    );
    assert!(
        next_hops(&r, "192.0.2.201/32").is_empty(),
        "BIRD announced an address that is not on vipd0"
    );
    let t = epoch_now();
    let out = w.vipctl(&["maintenance", "on", "web"]);
    assert!(out.status.success(), "{out:?}");
    let gone = when_hops(&r, Duration::from_secs(5), |h| h.is_empty());
    let Some(gone) = gone else {
        panic!("the path is still at the router 5 s after maintenance on");
    };
    eprintln!(
        "BIRD: path withdrawn {:.0} ms after maintenance on",
        (gone - t) * 1000.0
    );
    // Withdrawn while the host still answers (the drain's local route, 1 s), which
    // then goes.
    assert!(
        local_route(&w),
        "the path was withdrawn only after the drain ended"
    );
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            !local_route(&w)
        }),
        "the drain's local route is still there 5 s after maintenance on"
    );
    let out = w.vipctl(&["maintenance", "off", "web"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        when_hops(&r, Duration::from_secs(5), |h| h == [a.clone()]).is_some(),
        "the path is not back after maintenance off"
    );
}
