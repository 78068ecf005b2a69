//! Several instances in one vipd process: two VRIDs on one interface, a third instance
//! on a second interface, and an instance with two VIPs.
//!
//! Two routers, a and b, each with `eth0` on the LAN (`br0`, 192.0.2.0/24) and `eth1` on
//! a second segment (`br1`, 192.0.2.128/25; longest-prefix match keeps its traffic on
//! eth1). One vipd per router runs three instances:
//!
//! | instance | interface | VRID | VIPs                         | a   | b   |
//! | -------- | --------- | ---- | ---------------------------- | --- | --- |
//! | web      | eth0      | 51   | 192.0.2.50/24, 192.0.2.51/24 | 150 | 100 |
//! | api      | eth0      | 52   | 192.0.2.52/24                | 100 | 150 |
//! | db       | eth1      | 53   | 192.0.2.150/25               | 150 | 100 |
//!
//! So each router is master of one instance on eth0, and a is master on eth1 as well.
//! Pulling a's eth0 cable moves web to b, leaves api on b and must leave db on a
//! untouched (its link is eth1): the instances are independent. A client on both
//! segments pings one VIP of each instance throughout, and a capture on every bridge
//! port checks that each instance's adverts and announcements stay on its own segment.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::lan::instance;
use vipd_e2e::{
    assert_vipctl_agrees, describe_all, epoch_now, exclusive, vipd_yaml, wait_until, Host, Lan,
    Line, Monitor, Pinger, VipdInstance,
};

/// One instance of the test's configuration.
struct Inst {
    name: &'static str,
    iface: &'static str,
    vrid: u8,
    /// With prefix length, as configured and as vipctl shows them.
    vips: &'static [&'static str],
}

const WEB: Inst = Inst {
    name: "web",
    iface: "eth0",
    vrid: 51,
    vips: &["192.0.2.50/24", "192.0.2.51/24"],
};
const API: Inst = Inst {
    name: "api",
    iface: "eth0",
    vrid: 52,
    vips: &["192.0.2.52/24"],
};
const DB: Inst = Inst {
    name: "db",
    iface: "eth1",
    vrid: 53,
    vips: &["192.0.2.150/25"],
};
/// In configuration order, which is the order vipctl lists them in.
const INSTANCES: [&Inst; 3] = [&WEB, &API, &DB];

/// eth1 addresses: 192.0.2.128/25, inside 192.0.2.0/24 but more specific than eth0's.
const A_ETH1: &str = "192.0.2.131";
const B_ETH1: &str = "192.0.2.132";
const CLIENT_ETH1: &str = "192.0.2.133";

fn addr(cidr: &str) -> &str {
    cidr.split('/').next().unwrap_or(cidr)
}

fn other_iface(iface: &str) -> &'static str {
    if iface == "eth0" {
        "eth1"
    } else {
        "eth0"
    }
}

/// One router's configuration: priorities of web, api and db.
fn config(web: u8, api: u8, db: u8) -> String {
    let prio = [web, api, db];
    let instances: Vec<VipdInstance> = INSTANCES
        .iter()
        .zip(prio)
        .map(|(i, p)| {
            VipdInstance::new(i.name, i.vrid, i.vips)
                .interface(i.iface)
                .priority(p)
        })
        .collect();
    vipd_yaml(Some("debug"), &instances)
}

/// What one host should show: the state of web, api and db.
type Want<'a> = (&'a Host, [State; 3]);

/// Whether every host shows exactly the wanted states and holds exactly the VIPs of the
/// instances it is master of, each on its instance's interface and never on the other.
fn settled(want: &[Want]) -> bool {
    want.iter().all(|(h, states)| {
        let Ok(st) = h.try_status() else {
            return false;
        };
        INSTANCES.iter().zip(states).all(|(i, s)| {
            let Some(got) = instance(&st, i.name) else {
                return false;
            };
            let master = *s == State::Master;
            got.state == *s
                && i.vips.iter().all(|v| {
                    h.has_addr_on(i.iface, addr(v)) == master
                        && !h.has_addr_on(other_iface(i.iface), addr(v))
                })
        })
    })
}

fn hosts<'a>(want: &[Want<'a>]) -> Vec<&'a Host> {
    want.iter().map(|(h, _)| *h).collect()
}

/// Waits (bounded) until [`settled`]; panics with every instance of every host if not.
fn wait_settled(want: &[Want], timeout: Duration, what: &str) {
    if !wait_until(timeout, Duration::from_millis(20), || settled(want)) {
        panic!(
            "{what}: not settled within {timeout:?}; wanted {}\n{}",
            want.iter()
                .map(|(h, s)| format!(
                    "{}: web {} api {} db {}",
                    h.name,
                    s[0].as_str(),
                    s[1].as_str(),
                    s[2].as_str()
                ))
                .collect::<Vec<_>>()
                .join("; "),
            describe_all(&hosts(want))
        );
    }
}

/// `vipctl status --json` on `h` lists the three instances in configuration order, on
/// their interfaces and VRIDs, in the wanted states, with every VIP present exactly when
/// master, advertising from `local` (eth0's address for web and api, eth1's for db).
/// Returns each instance's transition count.
fn check_vipctl_json(h: &Host, states: [State; 3], local: [&str; 3]) -> [u64; 3] {
    let st = h.vipctl_status_json();
    let names: Vec<&str> = st.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["web", "api", "db"],
        "{}: vipctl status --json instances: {st:?}",
        h.name
    );
    let mut transitions = [0; 3];
    for (n, ((i, want), local)) in INSTANCES.iter().zip(states).zip(local).enumerate() {
        let got = &st.instances[n];
        let who = format!("{}: instance {}", h.name, i.name);
        assert_eq!(got.interface, i.iface, "{who}: {got:?}");
        assert_eq!(got.vrid, i.vrid, "{who}: {got:?}");
        assert_eq!(got.state, want, "{who}: {got:?}");
        assert_eq!(
            got.local_address.as_deref(),
            Some(local),
            "{who}: advert source: {got:?}"
        );
        let vips: Vec<(&str, bool)> = got
            .vips
            .iter()
            .map(|v| (v.address.as_str(), v.present))
            .collect();
        let expect: Vec<(&str, bool)> =
            i.vips.iter().map(|v| (*v, want == State::Master)).collect();
        assert_eq!(vips, expect, "{who}: VIPs");
        transitions[n] = got.transitions;
    }
    check_vipctl_table(h, states);
    transitions
}

/// `vipctl status` (several instances: the table) shows a header and one row per
/// instance, in configuration order, with its interface, VRID, the wanted state and
/// how many of its VIPs are present (all when master, none otherwise). No colour: its
/// stdout is not a terminal.
fn check_vipctl_table(h: &Host, states: [State; 3]) {
    let text = h.vipctl_status_table();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows.first().map(|r| r.as_slice()),
        Some(
            &[
                "INSTANCE",
                "INTERFACE",
                "VRID",
                "STATE",
                "PRIO",
                "MASTER",
                "VIPS",
                "CHECKS",
                "SINCE"
            ][..]
        ),
        "{}: vipctl status:\n{text}",
        h.name
    );
    assert_eq!(
        rows.len(),
        1 + INSTANCES.len(),
        "{}: vipctl status:\n{text}",
        h.name
    );
    for ((i, want), row) in INSTANCES.iter().zip(states).zip(&rows[1..]) {
        let present = if want == State::Master {
            i.vips.len()
        } else {
            0
        };
        let vrid = i.vrid.to_string();
        let vips = format!("{present}/{}", i.vips.len());
        assert_eq!(
            [row[0], row[1], row[2], row[3], row[6]],
            [i.name, i.iface, vrid.as_str(), want.as_str(), vips.as_str()],
            "{}: vipctl status row of {}:\n{text}",
            h.name,
            i.name
        );
    }
    assert!(!text.contains('\x1b'), "colour in a pipe:\n{text}");
}

/// `tcpdump` on every interface of the bridge namespace (both bridges and all their
/// ports): VRRP and ARP.
fn start_capture(lan: &Lan) -> Monitor {
    lan.capture("any", "ip proto 112 or arp")
}

/// What the capture saw on one segment.
#[derive(Debug, Default)]
struct Wire {
    /// VRIDs of VRRP adverts.
    vrids: BTreeSet<u8>,
    /// Source addresses of VRRP adverts.
    sources: BTreeSet<String>,
    /// Every IPv4 address named in an ARP frame.
    arp: BTreeSet<String>,
}

/// Sorts `tcpdump -i any -n -tt` lines (`<time> <iface> <In|Out|M|...> <frame>`) by
/// segment: interfaces in `seg0` (br0 and its ports) or `seg1` (br1 and its ports).
/// Lines on any other interface are returned as such.
fn wire_by_segment(lines: &[Line], seg0: &[String], seg1: &[String]) -> (Wire, Wire, Vec<String>) {
    let (mut w0, mut w1, mut other) = (Wire::default(), Wire::default(), Vec::new());
    for l in lines.iter().filter(|l| !l.stderr) {
        let tokens: Vec<&str> = l.text.split_whitespace().collect();
        if tokens.len() < 4 || tokens[0].parse::<f64>().is_err() {
            continue;
        }
        let iface = tokens[1].to_string();
        let w = if seg0.contains(&iface) {
            &mut w0
        } else if seg1.contains(&iface) {
            &mut w1
        } else {
            other.push(l.text.clone());
            continue;
        };
        let frame = &tokens[3..];
        if frame.first() == Some(&"ARP,") {
            w.arp.extend(
                frame
                    .iter()
                    .map(|t| t.trim_end_matches([',', ':']))
                    .filter(|t| t.parse::<Ipv4Addr>().is_ok())
                    .map(str::to_string),
            );
        } else if frame.first() == Some(&"IP") && l.text.contains("VRRP") {
            if let Some(src) = frame.get(1) {
                w.sources.insert(src.to_string());
            }
            if let Some(v) = frame
                .windows(2)
                .find(|p| p[0] == "vrid")
                .and_then(|p| p[1].trim_end_matches(',').parse().ok())
            {
                w.vrids.insert(v);
            }
        }
    }
    (w0, w1, other)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Waits (polling every 5 ms) up to `timeout` for `h` to hold both of web's VIPs on
/// eth0; returns how long after `since` (epoch seconds) it did, in milliseconds. Panics
/// with `what` and every instance of `hosts` if it does not.
fn web_moves_to(h: &Host, since: f64, timeout: Duration, what: &str, hosts: &[&Host]) -> f64 {
    let moved = wait_until(timeout, Duration::from_millis(5), || {
        h.has_addr_on("eth0", "192.0.2.50") && h.has_addr_on("eth0", "192.0.2.51")
    });
    assert!(moved, "{what}:\n{}", describe_all(hosts));
    (epoch_now() - since) * 1e3
}

/// A one-shot ping (5 tries, 0.2 s apart) from `client` to `target` answers.
fn answers(client: &Host, target: &str) -> bool {
    let out = client.exec(&["ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", target]);
    out.status.success()
}

#[test]
fn one_vipd_runs_several_instances_independently() {
    let _serial = exclusive();
    let lan = Lan::new("multi");
    lan.add_segment("br1");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let client = lan.host_at("client", 100);
    for (h, v4) in [(&a, A_ETH1), (&b, B_ETH1), (&client, CLIENT_ETH1)] {
        lan.attach(h, "br1", "eth1", &[&format!("{v4}/25")]);
    }
    // Longest-prefix match: the second segment's addresses are reached over eth1.
    for h in [&a, &b, &client] {
        let route = h.exec_ok(&["ip", "-4", "route", "get", "192.0.2.150"]);
        assert!(
            route.contains("dev eth1"),
            "{}: 192.0.2.150 should route over eth1: {route}",
            h.name
        );
    }

    // Watches both segments from before the first advert to the end.
    let mut capture = start_capture(&lan);

    // Built (if need be) before the clock starts, so the start-up time below is vipd's.
    let _ = vipd_e2e::bins::vipd();
    let started = epoch_now();
    a.spawn_vipd(&config(150, 100, 150));
    b.spawn_vipd(&config(100, 150, 100));
    use State::{Backup, Fault, Master};
    let initial: [Want; 2] = [
        (&a, [Master, Backup, Master]),
        (&b, [Backup, Master, Backup]),
    ];
    wait_settled(&initial, Duration::from_secs(10), "start-up");
    println!(
        "multi: settled {:.1} ms after starting the daemons:\n{}",
        (epoch_now() - started) * 1e3,
        describe_all(&[&a, &b])
    );
    assert_vipctl_agrees(&[&a, &b]);
    let a_local = [a.ipv4.as_str(), a.ipv4.as_str(), A_ETH1];
    let b_local = [b.ipv4.as_str(), b.ipv4.as_str(), B_ETH1];
    check_vipctl_json(&a, initial[0].1, a_local);
    check_vipctl_json(&b, initial[1].1, b_local);
    // Each backup knows its master, on the right interface's address.
    for (h, inst, master) in [
        (&b, "web", a.ipv4.as_str()),
        (&a, "api", b.ipv4.as_str()),
        (&b, "db", A_ETH1),
    ] {
        let st = h.status();
        let i = instance(&st, inst).expect("instance listed");
        assert_eq!(
            i.master_address.as_deref(),
            Some(master),
            "{}: {inst}'s master: {i:?}",
            h.name
        );
    }
    // Every VIP answers the client, the second web VIP included.
    for vip in ["192.0.2.50", "192.0.2.51", "192.0.2.52", "192.0.2.150"] {
        assert!(
            answers(&client, vip),
            "the client cannot ping {vip}:\n{}",
            describe_all(&[&a, &b])
        );
    }

    // Pings to one VIP of each instance, from the segment it lives on.
    let ping_web = Pinger::start_replying(&client, "192.0.2.50", Duration::from_secs(30), 50);
    let ping_api = Pinger::start_replying(&client, "192.0.2.52", Duration::from_secs(30), 50);
    let ping_db = Pinger::start_replying(&client, "192.0.2.150", Duration::from_secs(30), 50);
    // Settled once more just before the pull, so nothing below is left over from it.
    wait_settled(&initial, Duration::from_secs(3), "before the pull");
    let before_a = check_vipctl_json(&a, initial[0].1, a_local);
    let before_b = check_vipctl_json(&b, initial[1].1, b_local);

    // a loses eth0: web (eth0) fails over to b, api (eth0) stays on b, and db (eth1)
    // stays on a.
    let pulled = epoch_now();
    a.pull_cable_on("eth0");
    let took_ms = web_moves_to(
        &b,
        pulled,
        Duration::from_secs(3),
        "b did not take both web VIPs within 3 s of a's eth0 cable being pulled",
        &[&a, &b],
    );
    let pulled_state: [Want; 2] = [(&a, [Fault, Fault, Master]), (&b, [Master, Master, Backup])];
    wait_settled(&pulled_state, Duration::from_secs(3), "after the pull");
    assert!(a.link_up_on("eth1"), "a's eth1 lost carrier too");
    ping_web.assert_replies(
        50,
        Duration::from_secs(3),
        "the client's pings to web did not resume after the failover",
    );
    // A little longer, so a db that was going to move would have done so (b's
    // Master_Down_Interval is 3 × 200 ms + skew ≈ 722 ms).
    std::thread::sleep(Duration::from_millis(1000));
    wait_settled(
        &pulled_state,
        Duration::from_millis(100),
        "1 s after the pull",
    );
    assert_vipctl_agrees(&[&a, &b]);
    let during_a = check_vipctl_json(&a, pulled_state[0].1, a_local);
    let during_b = check_vipctl_json(&b, pulled_state[1].1, b_local);
    assert_eq!(
        during_a[2],
        before_a[2],
        "a's db changed state while eth0 was out:\n{}",
        describe_all(&[&a, &b])
    );
    assert_eq!(
        during_b[2],
        before_b[2],
        "b's db changed state while a's eth0 was out:\n{}",
        describe_all(&[&a, &b])
    );
    assert_eq!(
        during_b[1],
        before_b[1],
        "b's api changed state while a's eth0 was out:\n{}",
        describe_all(&[&a, &b])
    );
    ping_db.assert_replies(
        50,
        Duration::from_secs(3),
        "the client's pings to db stopped",
    );
    ping_api.assert_replies(
        50,
        Duration::from_secs(3),
        "the client's pings to api stopped",
    );

    // The cable comes back: a preempts web (150 > 100); api stays on b (150 > 100); db
    // never moved.
    let plugged = epoch_now();
    a.plug_cable_on("eth0");
    let back_ms = web_moves_to(
        &a,
        plugged,
        Duration::from_secs(5),
        "a did not take the web VIPs back within 5 s of its eth0 cable returning",
        &[&a, &b],
    );
    wait_settled(&initial, Duration::from_secs(5), "after the cable returned");
    ping_web.assert_replies(
        50,
        Duration::from_secs(3),
        "the client's pings to web did not resume after a took it back",
    );
    assert_vipctl_agrees(&[&a, &b]);
    let after_a = check_vipctl_json(&a, initial[0].1, a_local);
    let after_b = check_vipctl_json(&b, initial[1].1, b_local);
    assert_eq!(
        after_a[2], before_a[2],
        "a's db changed state at some point"
    );
    assert_eq!(
        after_b[2], before_b[2],
        "b's db changed state at some point"
    );
    assert_eq!(
        after_b[1], before_b[1],
        "b's api changed state at some point"
    );

    // Each instance's adverts and announcements stayed on its own segment: web and api
    // (VRIDs 51, 52) on the LAN, db (53) on the second segment, where only a (its
    // master throughout) ever advertised.
    let wire = capture.stop();
    let port = |h: &Host, iface: &str| h.port_of(iface).expect("port of a cable");
    let seg0: Vec<String> = std::iter::once("br0".to_string())
        .chain([&a, &b, &client].map(|h| port(h, "eth0")))
        .collect();
    let seg1: Vec<String> = std::iter::once("br1".to_string())
        .chain([&a, &b, &client].map(|h| port(h, "eth1")))
        .collect();
    let (w0, w1, other) = wire_by_segment(&wire, &seg0, &seg1);
    println!("multi: on the LAN (br0): {w0:?}\nmulti: on the second segment (br1): {w1:?}");
    assert!(
        other.is_empty(),
        "frames on unexpected interfaces: {other:#?}"
    );
    assert_eq!(
        w0.vrids,
        BTreeSet::from([51, 52]),
        "VRIDs advertised on br0"
    );
    assert_eq!(w1.vrids, BTreeSet::from([53]), "VRIDs advertised on br1");
    assert_eq!(
        w0.sources,
        set(&[&a.ipv4, &b.ipv4]),
        "advert sources on br0"
    );
    assert_eq!(w1.sources, set(&[A_ETH1]), "advert sources on br1");
    let vips0 = set(&["192.0.2.50", "192.0.2.51", "192.0.2.52"]);
    let vips1 = set(&["192.0.2.150"]);
    assert!(
        w0.arp.is_superset(&vips0) && w0.arp.is_disjoint(&vips1),
        "ARP on br0 should name web's and api's VIPs and never db's: {:?}",
        w0.arp
    );
    assert!(
        w1.arp.is_superset(&vips1) && w1.arp.is_disjoint(&vips0),
        "ARP on br1 should name db's VIP and never web's or api's: {:?}",
        w1.arp
    );
    assert!(
        w1.arp
            .iter()
            .all(|x| x.parse::<Ipv4Addr>().is_ok_and(|ip| ip.octets()[3] >= 128)),
        "addresses of the LAN's /25 below 128 in ARP on br1: {:?}",
        w1.arp
    );
    assert!(
        w0.arp
            .iter()
            .all(|x| x.parse::<Ipv4Addr>().is_ok_and(|ip| ip.octets()[3] < 128)),
        "addresses of the second segment (192.0.2.128/25) in ARP on br0: {:?}",
        w0.arp
    );

    let web = ping_web.stop();
    let api = ping_api.stop();
    let db = ping_db.stop();
    let gap_ms = |r: &vipd_e2e::PingReport| {
        r.longest_gap()
            .map_or(f64::NAN, |(g, _)| g.as_secs_f64() * 1e3)
    };
    println!(
        "multi: a's eth0 pulled: b held both web VIPs after {took_ms:.1} ms; plugged back: a \
         held them again after {back_ms:.1} ms.\n\
         longest ping gaps: web {:.1} ms ({web}); api {:.1} ms ({api}); db {:.1} ms ({db})",
        gap_ms(&web),
        gap_ms(&api),
        gap_ms(&db)
    );
    // api and db were never touched: their clients saw no outage worth the name (a
    // failover of either would cost at least a Master_Down_Interval, ≈ 722 ms).
    assert!(
        gap_ms(&api) <= 300.0,
        "api, which never moved, had a {:.1} ms outage: {api}",
        gap_ms(&api)
    );
    assert!(
        gap_ms(&db) <= 300.0,
        "db, which never moved, had a {:.1} ms outage: {db}",
        gap_ms(&db)
    );
    assert!(
        gap_ms(&web) <= 3000.0,
        "web's outage {:.1} ms > 3 s: {web}",
        gap_ms(&web)
    );
}
