//! Split brain and its healing, without any link going down.
//!
//! The split: bridge port isolation on both routers' ports. Isolated ports cannot reach
//! each other but both still reach the client, so each router stops hearing the other
//! and both become master, while the client keeps talking to whichever announced last.
//! (This kernel has no tc actions, netem or nftables; isolation needs nothing else.)
//!
//! "The heal", as measured here: the capture time of the first VRRP advert that
//! crosses between the two routers' bridge ports after isolation is lifted (`tcpdump
//! -i any` in the bridge namespace; an advert leaving b's port from a, or a's port
//! from b). Isolation makes such a frame impossible before the heal, so its timestamp
//! is the earliest moment either router could know. The client's neighbour entry for
//! the VIP must point at the winner's MAC within 20 ms of that moment, timed by the
//! same capture: the first of the client's echo requests to the VIP (one every 5 ms)
//! that the bridge sends out of the winner's port, i.e. to the winner's MAC. It follows
//! the entry's change by at most one interval (never precedes it), and both ends of
//! the bound are kernel capture times. (It was the time the harness read the change
//! from `ip monitor neigh`, late by however long the reader was not scheduled, less a
//! capture time.) The change itself must also show in `ip monitor neigh`.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::{
    assert_roles, assert_vipctl_agrees, describe, epoch_now, exclusive, start_pair, wait_until,
    Host, Lan, Pinger, VIP4, VIP4_CIDR, VIP6, VIP6_CIDR,
};

/// A line of `tcpdump -n -tt -i any`: time, interface, direction, rest.
struct Frame {
    t: f64,
    iface: String,
    dir: String,
    rest: String,
}

fn parse_frame(line: &str) -> Option<Frame> {
    // tcpdump pads the interface name with spaces.
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() < 4 {
        return None;
    }
    Some(Frame {
        t: tokens[0].parse().ok()?,
        iface: tokens[1].to_string(),
        dir: tokens[2].to_string(),
        rest: tokens[3..].join(" "),
    })
}

/// "IP 192.0.2.11 > 224.0.0.18: VRRPv3, ..." or "IP6 fe80::1 > ff02::12: VRRPv3, ..."
/// → source address.
fn vrrp_source(rest: &str) -> Option<&str> {
    let r = rest
        .strip_prefix("IP ")
        .or_else(|| rest.strip_prefix("IP6 "))?;
    let (src, after) = r.split_once(" > ")?;
    after.contains("VRRP").then_some(src)
}

#[test]
fn split_brain_heals() {
    let _serial = exclusive();
    split_brain("split", VIP4, VIP4_CIDR);
}

#[test]
fn split_brain_heals_ipv6() {
    let _serial = exclusive();
    split_brain("split6", VIP6, VIP6_CIDR);
}

/// An echo request to `vip` as tcpdump shows it (`IP 192.0.2.100 > 192.0.2.50: ICMP
/// echo request, ...`, `IP6 2001:db8::64 > 2001:db8::50: ICMP6, echo request, ...`).
fn is_echo_request_to(rest: &str, vip: &str) -> bool {
    rest.contains(&format!(" > {vip}: ICMP")) && rest.contains("echo request")
}

/// The VIP's announcement as tcpdump shows it: a gratuitous ARP or an unsolicited
/// Neighbor Advertisement.
fn is_announcement(rest: &str) -> bool {
    rest.starts_with("ARP") || rest.contains("neighbor advertisement")
}

fn split_brain(id: &str, vip: &str, vip_cidr: &str) {
    let v6 = vip.contains(':');
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, vip_cidr);
    // VRRPv3 over IPv6 is sent from the link-local address (RFC 5798 §5.1.2.1).
    let source = |h: &Host| {
        if v6 {
            h.link_local().expect("host has a link-local address")
        } else {
            h.ipv4.clone()
        }
    };
    let (a_src, b_src) = (source(&a), source(&b));
    let both = [&a, &b];
    let ping = Pinger::start_replying(&client, vip, Duration::from_secs(60), 50);

    // a's second announcement burst comes 2 s after it became master (the default
    // `garp.repeat_after`); split only after it, or it could turn the client back to a
    // during the split and leave nothing for the heal to change.
    std::thread::sleep(Duration::from_millis(2500));

    // Split.
    a.set_isolated(true);
    b.set_isolated(true);
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            a.state() == Some(State::Master)
                && b.state() == Some(State::Master)
                && a.has_addr(vip)
                && b.has_addr(vip)
        }),
        "isolated routers should both be master:\n{}",
        describe(&both, vip)
    );
    // b announced last, so the client (pinging throughout) now talks to b.
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            client.neigh_mac(vip).as_deref() == Some(b.mac())
        }),
        "during the split the client's entry for the VIP should be b's {} (from b's \
         announcement), it is {:?}",
        b.mac(),
        client.neigh_mac(vip)
    );
    ping.assert_replies(
        50,
        Duration::from_secs(3),
        "client cannot ping the VIP during the split",
    );
    // Settled in the split: both master with the VIP, and vipctl says so on both.
    assert_vipctl_agrees(&both);

    // Watch the wire and the client's neighbour table, then heal.
    let filter = if v6 {
        "ip6 proto 112 or icmp6"
    } else {
        "ip proto 112 or arp or icmp"
    };
    let mut capture = lan.capture("any", filter);
    let neigh = client.monitor(&["ip", "monitor", "neigh", "dev", "eth0"]);
    std::thread::sleep(Duration::from_millis(300));

    assert_eq!(
        client.neigh_mac(vip).as_deref(),
        Some(b.mac()),
        "right before the heal the client's entry for the VIP should still be b's"
    );
    let heal_cmd = epoch_now();
    a.set_isolated(false);
    b.set_isolated(false);
    let heal_cmd_done = epoch_now();

    assert_roles(
        &both,
        "a",
        vip,
        Duration::from_secs(3),
        "after the heal a should be the only master",
    );
    let changed = neigh.wait_for(Duration::from_secs(3), |l| {
        l.text.starts_with(&format!("{vip} ")) && l.text.contains(a.mac())
    });
    std::thread::sleep(Duration::from_millis(300));
    let frames: Vec<Frame> = capture
        .stop()
        .iter()
        .filter(|l| !l.stderr)
        .filter_map(|l| parse_frame(&l.text))
        .collect();
    let crossing = frames
        .iter()
        .filter(|f| f.dir == "Out")
        .find(|f| match vrrp_source(&f.rest) {
            Some(src) => {
                (f.iface == b.port() && src == a_src) || (f.iface == a.port() && src == b_src)
            }
            None => false,
        });
    let Some(crossing) = crossing else {
        panic!(
            "no VRRP advert crossed between {} and {} after the heal; capture:\n{}",
            a.port(),
            b.port(),
            frames
                .iter()
                .map(|f| format!("{:.6} {} {} {}", f.t, f.iface, f.dir, f.rest))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    let heal = crossing.t;
    let garp = frames.iter().find(|f| {
        f.t >= heal && f.dir == "Out" && f.iface == client.port() && is_announcement(&f.rest)
    });
    // The client's first echo request to the winner's MAC after the heal.
    let switched = frames.iter().find(|f| {
        f.t >= heal && f.dir == "Out" && f.iface == a.port() && is_echo_request_to(&f.rest, vip)
    });

    let report = ping.stop();
    let Some(changed) = changed else {
        panic!(
            "the client's neighbour entry for the VIP never became a's {} after the heal \
             (now {:?}); neighbour events: {:?}; ping: {report}",
            a.mac(),
            client.neigh_mac(vip),
            neigh
                .lines()
                .iter()
                .map(|l| (l.t, l.text.clone()))
                .collect::<Vec<_>>()
        );
    };
    let Some(switched) = switched else {
        panic!(
            "no echo request from the client went to a ({}) after the heal although its \
             neighbour entry changed; ping: {report}",
            a.port()
        );
    };
    let latency_ms = (switched.t - heal) * 1e3;
    println!(
        "split_brain {vip}: isolation lifted {heal_cmd:.6}..{heal_cmd_done:.6}; first advert \
         crossing {heal:.6} (+{:.1} ms, {} {} {}); first announcement to the client after it {}; \
         client's first echo request to a at {:.6}: {latency_ms:.1} ms after the crossing \
         (`ip monitor neigh` read the change at +{:.1} ms); {report}",
        (heal - heal_cmd) * 1e3,
        crossing.iface,
        crossing.dir,
        crossing.rest,
        garp.map(|g| format!("{:.6} (+{:.1} ms): {}", g.t, (g.t - heal) * 1e3, g.rest))
            .unwrap_or_else(|| "none".into()),
        switched.t,
        (changed.t - heal) * 1e3
    );
    assert!(
        heal >= heal_cmd - 0.001,
        "an advert crossed before isolation was lifted: isolation is not working"
    );
    assert!(
        latency_ms <= 20.0,
        "the client's neighbour entry followed a {latency_ms:.1} ms after the heal (> 20 ms)"
    );
    assert_eq!(client.neigh_mac(vip).as_deref(), Some(a.mac()));
    assert!(!b.has_addr(vip));
    assert!(
        report.replies_after(switched.t) > 0,
        "no ping replies after the heal: {report}"
    );
    assert_vipctl_agrees(&both);
}
