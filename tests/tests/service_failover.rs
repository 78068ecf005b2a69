//! Service failover a real client does not notice (issue 23): nginx SIGKILLed on the
//! master, default timers, two routers that know they are two (each other's one unicast
//! peer, or `routers: 2` over multicast). vipd sees
//! the death at once (pidfd), sends priority 0 and keeps the VIP until b's first advert
//! (make-before-break); b, the only backup, takes over on that priority-0 advert without
//! waiting its Skew_Time. A client as real ones are (3 s connect and read timeouts, no
//! retries of its own, a GET every 10 ms) sees no request fail and none slower than
//! 200 ms. nginx is killed just after a request ended: a request in flight is reset
//! with nginx whatever the failover does, and one sent in the few milliseconds between
//! the death and the client's ARP update reaches a, which refuses it (the window the
//! test measures: the first request b served began that long after the kill). Before, a removed the VIP at once while b waited 121.875 ms: a SYN sent
//! then was dropped and resent after the kernel's 1 s initial RTO.

use std::time::Duration;

use vipd_e2e::web::{real_failures, Nginx, RealClient};
use vipd_e2e::{assert_roles, describe, epoch_now, exclusive, wait_until, Host, Lan, VIP4};

/// How the two routers know there are two.
#[derive(Clone, Copy)]
enum Two {
    /// Each lists the other as its one unicast peer.
    UnicastPeer,
    /// Multicast, with `routers: 2`.
    Declared,
}

/// vipd at `priority`, tracking its nginx with a process check (pidfile; the death is
/// seen through its pidfd), knowing of the other router (`peer`) as `two` says.
fn yaml(nginx: &Nginx, priority: u8, peer: &str, two: Two) -> String {
    let knows = match two {
        Two::UnicastPeer => format!("unicast_peers: [\"{peer}\"]"),
        Two::Declared => "routers: 2".to_string(),
    };
    format!(
        "log_level: debug\n\
         checks:\n  \
           nginx:\n    process: {{pidfile: \"{}\"}}\n    interval: 10s\n\
         instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    priority: {priority}\n    \
           vips: [\"192.0.2.50/24\"]\n    {knows}\n    track:\n      - nginx\n",
        nginx.pidfile().display()
    )
}

fn holds_alone(h: &Host, other: &Host) -> bool {
    h.has_addr(VIP4) && !other.has_addr(VIP4)
}

#[test]
fn nginx_killed_on_the_master_costs_a_real_client_nothing_unicast_peers() {
    let _serial = exclusive();
    nginx_killed("svcfou", Two::UnicastPeer);
}

#[test]
fn nginx_killed_on_the_master_costs_a_real_client_nothing_multicast_routers_2() {
    let _serial = exclusive();
    nginx_killed("svcfom", Two::Declared);
}

fn nginx_killed(id: &str, two: Two) {
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let mut na = Nginx::start(&a);
    let _nb = Nginx::start(&b);
    a.spawn_vipd(&yaml(&na, 150, "192.0.2.12", two));
    b.spawn_vipd(&yaml(&_nb, 100, "192.0.2.11", two));
    let both = [&a, &b];
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_secs(10),
        "a never became the only master",
    );
    let mut get = RealClient::start(&client, VIP4, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));

    // nginx dies between two requests: one in flight would be reset with it, which no
    // failover can save. The next request begins about 10 ms later.
    get.wait_request_end();
    let killed = epoch_now();
    na.kill_all();
    let moved = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        holds_alone(&b, &a)
    });
    assert!(
        moved,
        "the VIP did not move to b:\n{}",
        describe(&both, VIP4)
    );
    // Long enough for a request that waits for a SYN retransmission (1 s) to end.
    std::thread::sleep(Duration::from_millis(1500));
    let samples = get.stop();

    let after: Vec<_> = samples.iter().filter(|s| s.t >= killed - 0.1).collect();
    // A connection open at the instant the client follows the move is cut by the new
    // holder (see `Failures::cut_at_move`); every other failure counts.
    let split = real_failures(&samples);
    let failed: Vec<String> = split
        .lost
        .iter()
        .filter(|(t, _)| *t >= killed - 0.1)
        .map(|(t, e)| format!("{:+.1} ms: {e}", (t - killed) * 1e3))
        .collect();
    let cut: Vec<String> = split
        .cut_at_move
        .iter()
        .filter(|t| **t >= killed - 0.1)
        .map(|t| format!("{:+.1} ms", (t - killed) * 1e3))
        .collect();
    let worst = after.iter().max_by_key(|s| s.took);
    let worst_ms = worst.map_or(0.0, |s| s.took.as_secs_f64() * 1e3);
    let mut who: Vec<String> = Vec::new();
    for s in &after {
        let w = s.by.clone().unwrap_or_else(|_| "-".into());
        if who.last() != Some(&w) {
            who.push(w);
        }
    }
    let first_b = after
        .iter()
        .find(|s| s.by.as_deref() == Ok("b"))
        .map_or(f64::NAN, |s| (s.t - killed) * 1e3);
    println!(
        "{id}: nginx killed on a: {} requests from 100 ms before; worst {worst_ms:.1} ms (began \
         {:+.1} ms after the kill); failed {}: {failed:?}; cut at the move: {cut:?}; served by \
         {who:?}; first served \
         by b began {first_b:+.1} ms after the kill",
        after.len(),
        worst.map_or(0.0, |s| (s.t - killed) * 1e3),
        failed.len()
    );
    assert!(after.len() > 50, "too few requests: {}", after.len());
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
    assert!(
        worst_ms <= 200.0,
        "the worst request took {worst_ms:.1} ms (over 200 ms)"
    );
    assert_eq!(who.first().map(String::as_str), Some("a"));
    assert_eq!(who.last().map(String::as_str), Some("b"));
    // Make-before-break: a kept the VIP until it heard b.
    assert!(
        a.vipd_log()
            .contains("handover complete: new master 192.0.2.12"),
        "a's log does not tell of the handover:\n{}",
        a.vipd_log()
    );
}
