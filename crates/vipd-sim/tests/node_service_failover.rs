//! Service failover a client does not notice (issue 23): with two routers (one unicast
//! peer each) the backup knows it is the only one and takes over on the priority-0
//! advert at once instead of after its Skew_Time, and a master whose tracked check
//! fails then hands over make-before-break as a planned stop does; with three routers,
//! or multicast where nobody knows how many routers there are, RFC 5798's Skew_Time
//! still orders the backups (and a dead service's master gives up the VIP at once).
//! Planned handovers keep the VIP held by somebody at every instant, and the LAN's
//! invariant checker sees no breach.
//!
//! Defaults: job 2 ms, read 1 ms, network 100 µs, check latency 0; hosts 0, 1, 2 are
//! 192.0.2.11, .12, .13 at priorities 150, 100, 50. Skew_Time at priority 100 is
//! 156/256 of the interval (60.9375 ms at 100 ms), at 50 it is 206/256 (80.46875 ms).
//! A new master's first advert follows its VIP add (2 ms); the old master removes its
//! VIP HANDOVER_GRACE (20 ms) after that advert reaches it.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use vipd_engine::{Instant, State};
use vipd_node::config::{CheckConfig, CheckInit, CheckKind, Config, ProcessMatch, Track};
use vipd_node::{Caller, CheckResult};
use vipd_sim::cfg::node::web;
use vipd_sim::lan::{Act, Lan, Seen};

fn host_addr(h: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11 + h as u8))
}

/// Host `h` of `n` at priority 150 / 100 / 50, adverts every `interval_ms`, `routers:`
/// as given; with `unicast`, sending to and hearing the other hosts only. Host 0 tracks
/// a process check `nginx` (weight 0: its failure is a fault).
fn declared(h: usize, n: usize, interval_ms: u64, unicast: bool, routers: Option<u8>) -> Config {
    let priority = [150, 100, 50][h];
    let mut c = web(priority, interval_ms);
    c.instances[0].routers = routers;
    if unicast {
        c.instances[0].unicast_peers = (0..n).filter(|o| *o != h).map(host_addr).collect();
    }
    if h == 0 {
        c.checks.insert(
            "nginx".into(),
            CheckConfig {
                kind: CheckKind::Process(ProcessMatch {
                    pidfile: Some(PathBuf::from("/run/nginx.pid")),
                    name: None,
                    user: None,
                }),
                interval: Duration::from_secs(10),
                timeout: Duration::from_millis(500),
                rise: 1,
                fall: 1,
                init: CheckInit::Up,
            },
        );
        c.instances[0].track = vec![Track {
            check: "nginx".into(),
            weight: 0,
        }];
    }
    c
}

fn lan(n: usize, interval_ms: u64, unicast: bool) -> Lan {
    lan_declared(n, interval_ms, unicast, None)
}

fn lan_declared(n: usize, interval_ms: u64, unicast: bool, routers: Option<u8>) -> Lan {
    let mut b = Lan::builder().check_latency(Duration::ZERO);
    for h in 0..n {
        b = b.host(declared(h, n, interval_ms, unicast, routers));
    }
    let mut lan = b.build();
    lan.act(Act::SetCheck(0, "nginx".into(), nginx(true)));
    lan.start_all();
    lan
}

fn nginx(alive: bool) -> Option<CheckResult> {
    Some(CheckResult::Process {
        pids: if alive { vec![100] } else { vec![] },
        why: (!alive).then(|| "pid 100 exited".to_string()),
    })
}

fn plus_us(t: Instant, us: u64) -> Instant {
    Instant::from_nanos(t.as_nanos() + us * 1000)
}

/// How host 0 leaves Master.
#[derive(Debug, Clone, Copy)]
enum Leave {
    /// Its tracked process died.
    Killed,
    /// vipd stopped (SIGTERM).
    Stop,
    /// `vipctl maintenance on`.
    Maintenance,
}

fn leave(lan: &mut Lan, how: Leave) {
    match how {
        Leave::Killed => lan.act(Act::SetCheck(0, "nginx".into(), nginx(false))),
        Leave::Stop => lan.act(Act::Stop(0)),
        Leave::Maintenance => lan.act(Act::Maintenance {
            host: 0,
            on: true,
            instances: vec![],
            caller: Caller::root(),
        }),
    }
}

/// Host 0, master, leaves at `t0` = 20 intervals + 3 ms; checks who takes over when
/// (`skew_ns` after the priority-0 advert arrives), that host 0 keeps the VIP until
/// 20 ms after the new master's first advert reached it, and that the VIP never
/// lacked a holder.
fn handover(n: usize, interval_ms: u64, unicast: bool, how: Leave, skew_ns: u64) {
    handover_declared(n, interval_ms, unicast, None, how, skew_ns);
}

/// [`handover`] with `routers:` as given.
fn handover_declared(
    n: usize,
    interval_ms: u64,
    unicast: bool,
    routers: Option<u8>,
    how: Leave,
    skew_ns: u64,
) {
    let what = format!("{n} routers, {interval_ms} ms, unicast {unicast}, {routers:?}, {how:?}");
    let mut lan = lan_declared(n, interval_ms, unicast, routers);
    let t0 = ms(20 * interval_ms + 3);
    lan.run_until(t0);
    assert_eq!(lan.holders(vip50()), vec![0], "{what}");
    leave(&mut lan, how);
    lan.run_until(ms(40 * interval_ms + 1000));
    // The priority-0 advert at t0; host 1 hears it 100 µs later and, after
    // `skew_ns`, becomes master; its add takes 2 ms, then its first advert goes out.
    assert_eq!(lan.adverts(0, 0), vec![t0], "{what}");
    let master = Instant::from_nanos(plus_us(t0, 100).as_nanos() + skew_ns);
    assert_eq!(
        lan.entered(1, "web", State::Master, t0),
        Some(master),
        "{what}"
    );
    let first = plus_us(master, 2000);
    assert_eq!(lan.adverts(1, 100).first(), Some(&first), "{what}");
    // Host 0 asks for its removal 20 ms after that advert reached it (100 µs).
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), plus_us(first, 20_100)],
        "{what}"
    );
    // Make-before-break: host 1's add ended before host 0's removal did.
    let added: Vec<_> = jobs_done(&lan, 1, true)
        .into_iter()
        .filter(|(t, _)| *t >= t0)
        .collect();
    let removed = jobs_done(&lan, 0, false);
    assert_eq!(added, vec![(first, true)], "{what}");
    assert_eq!(
        removed.last(),
        Some(&(plus_us(first, 22_100), true)),
        "{what}"
    );
    // Nobody else ever took over.
    for h in 2..n {
        assert_eq!(lan.entered(h, "web", State::Master, ms(0)), None, "{what}");
    }
    assert_eq!(lan.holders(vip50()), vec![1], "{what}");
    assert_no_breach(&lan);
}

/// Skew_Time of a priority-100 backup at `interval_ms`: 156/256 of the interval.
fn skew100(interval_ms: u64) -> u64 {
    156 * interval_ms * MS / 256
}

#[test]
fn a_dead_service_with_two_routers_hands_over_make_before_break_without_skew_time() {
    // Tracked process dead at 2003 ms: priority 0, Fault, VIP kept; host 1 (its only
    // peer) master at 2003.1, first advert 2005.1; host 0 removes at 2025.2 → 2027.2.
    handover(2, 100, true, Leave::Killed, 0);
    let mut l = lan(2, 100, true);
    l.run_until(ms(2003));
    leave(&mut l, Leave::Killed);
    assert_eq!(l.state(0, "web"), Some(State::Fault));
    assert_eq!(l.holders(vip50()), vec![0]);
    l.run_until(at_ns(2_005_100_000));
    assert_eq!(l.holders(vip50()), vec![0, 1]);
    l.run_until(before(at_ns(2_027_200_000)));
    assert_eq!(l.holders(vip50()), vec![0, 1]);
    l.run_until(at_ns(2_027_200_000));
    assert_eq!(l.holders(vip50()), vec![1]);
    assert_no_breach(&l);
}

#[test]
fn a_dead_service_where_the_successor_may_wait_skew_time_gives_up_the_vip_at_once() {
    // Multicast (nobody knows there are only two routers) or three routers: host 1
    // waits its Skew_Time, 60.9375 ms, and a VIP kept meanwhile would only have the
    // dead service refuse connections: host 0 asks for its removal at once, at 2003.
    for (n, unicast) in [(2, false), (3, false), (3, true)] {
        let mut l = lan(n, 100, unicast);
        l.run_until(ms(2003));
        leave(&mut l, Leave::Killed);
        l.run_until(ms(3000));
        assert_eq!(l.adverts(0, 0), vec![ms(2003)]);
        assert_eq!(jobs_asked(&l, 0, false), vec![ms(1), ms(2003)]);
        assert_eq!(
            l.entered(1, "web", State::Master, ms(2003)),
            Some(at_ns(2_003_100_000 + skew100(100)))
        );
        assert_eq!(l.holders(vip50()), vec![1]);
        assert_no_breach(&l);
    }
}

#[test]
fn three_routers_keep_skew_time_and_one_holder_outside_the_handover() {
    // Multicast or unicast with two peers each: host 1 (priority 100) takes over after
    // its Skew_Time, and host 2 (50, Skew_Time 80.46875 ms) hears host 1's first advert
    // at 2003.1 + 60.9375 + 2 + 0.1 ms, before its own timer would run out at
    // 2003.1 + 80.46875 ms: it never takes over, and only hosts 0 and 1 ever hold the VIP.
    for unicast in [false, true] {
        for how in [Leave::Stop, Leave::Maintenance] {
            handover(3, 100, unicast, how, skew100(100));
        }
    }
}

#[test]
fn planned_stops_and_maintenance_with_two_routers_skip_skew_time_at_every_interval() {
    for interval_ms in [10, 20, 50, 100, 200, 1000, 3000] {
        handover(2, interval_ms, true, Leave::Killed, 0);
        for how in [Leave::Stop, Leave::Maintenance] {
            handover(2, interval_ms, true, how, 0);
            handover(2, interval_ms, false, how, skew100(interval_ms));
        }
    }
}

#[test]
fn two_routers_declared_over_multicast_behave_as_two_unicast_peers() {
    // `routers: 2` on both: the same instants as with one unicast peer each.
    for interval_ms in [10, 100, 200, 1000] {
        for how in [Leave::Killed, Leave::Stop, Leave::Maintenance] {
            handover_declared(2, interval_ms, false, Some(2), how, 0);
        }
    }
}

#[test]
fn three_routers_misdeclared_as_two_settle_on_the_highest_within_a_round_trip() {
    // All three say `routers: 2` over multicast: wrong, and the cost is bounded. Host 0's
    // nginx dies at 2003: priority 0, VIP kept. Hosts 1 and 2 both take over at 2003.1,
    // add the VIP by 2005.1 and advertise then (both hold it: a split brain of the
    // usual kind). At 2005.2 host 2 hears host 1's higher priority: it yields with a
    // farewell advert at its own priority and asks for its removal (done 2007.2);
    // host 1 hears host 2's advert and answers at once with an advert and gratuitous
    // ARPs, the last announcement on the LAN: ARP ends on host 1. Host 0 removes its
    // VIP 20 ms after the first new master's advert reached it (2025.2, done 2027.2).
    let mut lan = lan_declared(3, 100, false, Some(2));
    lan.run_until(ms(2003));
    leave(&mut lan, Leave::Killed);
    lan.run_until(ms(4000));
    let t = |us: u64| plus_us(ms(2003), us);
    assert_eq!(lan.entered(1, "web", State::Master, ms(2003)), Some(t(100)));
    assert_eq!(lan.entered(2, "web", State::Master, ms(2003)), Some(t(100)));
    assert_eq!(
        lan.entered(2, "web", State::Backup, ms(2003)),
        Some(t(2200))
    );
    assert_eq!(lan.state(1, "web"), Some(State::Master));
    let removals = |h| -> Vec<Instant> {
        jobs_done(&lan, h, false)
            .into_iter()
            .filter(|(at, _)| *at > ms(2003))
            .map(|(at, _)| at)
            .collect()
    };
    assert_eq!(removals(2), vec![t(4200)]);
    assert_eq!(removals(0), vec![t(24_200)]);
    let announced = |h| lan.seen(h, |s| matches!(s, Seen::Announced { .. }));
    let last = |h| announced(h).last().copied();
    assert_eq!(last(2), Some(t(2100)));
    assert!(last(1) > last(2), "{:?} {:?}", announced(1), announced(2));
    assert_eq!(lan.holders(vip50()), vec![1]);
    // Within the checker's bounds (a split brain heals within an interval).
    assert_no_breach(&lan);
}

/// One hook run: when it began, which hook, its environment.
type HookRun = (Instant, &'static str, Vec<(String, String)>);

/// Host 0's hook runs.
fn hooks(lan: &Lan) -> Vec<HookRun> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match &e.what {
            Seen::Hook { hook, env, .. } => Some((e.at, *hook, env.clone())),
            _ => None,
        })
        .collect()
}

fn var<'e>(env: &'e [(String, String)], name: &str) -> Option<&'e str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Host 0's status of its one instance, asked at `now`, and when the answer came.
fn status(lan: &mut Lan) -> (Instant, vipd_api::InstanceStatus) {
    let before = lan.timeline().len();
    lan.act(Act::Status(0));
    lan.run_for(Duration::from_millis(1));
    let reply = lan.timeline()[before..]
        .iter()
        .filter(|e| e.host == 0)
        .find_map(|e| match &e.what {
            Seen::Reply(vipd_api::Response::Status(s)) => Some((e.at, s.instances[0].clone())),
            _ => None,
        });
    match reply {
        Some(r) => r,
        None => panic!("host 0 did not answer the status request"),
    }
}

#[test]
fn hooks_and_status_say_that_a_dead_services_master_is_handing_over() {
    for (unicast, handing_over) in [(true, true), (false, false)] {
        let mut c0 = declared(0, 2, 100, unicast, None);
        c0.instances[0].notify = vipd_node::notify::NotifyConfig {
            fault: Some(vec!["/h/fault".into()]),
            ..vipd_node::notify::NotifyConfig::none()
        };
        let mut lan = Lan::builder()
            .check_latency(Duration::ZERO)
            .host(c0)
            .host(declared(1, 2, 100, unicast, None))
            .build();
        lan.act(Act::SetCheck(0, "nginx".into(), nginx(true)));
        lan.start_all();
        lan.run_until(ms(2003));
        leave(&mut lan, Leave::Killed);
        // The fault hook runs at once, told why and (with two routers) that the VIP
        // is kept for the new master.
        let runs = hooks(&lan);
        assert_eq!(runs.len(), 1, "{runs:?}");
        let (t, hook, env) = &runs[0];
        assert_eq!((*t, *hook), (ms(2003), "fault"));
        assert_eq!(var(env, "VIPD_REASON"), Some("tracked_fault"));
        assert_eq!(var(env, "VIPD_PREVIOUS"), Some("master"));
        assert_eq!(
            var(env, "VIPD_HANDOVER"),
            handing_over.then_some("1"),
            "unicast {unicast}"
        );
        // The status, answered after its kernel read (1 ms): in Fault, and with two
        // routers the VIP kept until the bound, 2003 + 399.609375 ms (Master_Down_Interval
        // at priority 1), unless the new
        // master is heard first (its first advert leaves at 2005.1).
        let (at, st) = status(&mut lan);
        assert_eq!(at, ms(2004));
        assert_eq!(st.state, vipd_api::State::Fault);
        assert_eq!(st.reason, "tracked_fault");
        let left = handing_over.then_some(2.402_609_375 - 2.004);
        match (st.handover_left_s, left) {
            (Some(got), Some(want)) => assert!((got - want).abs() < 1e-9, "{got} {want}"),
            (got, want) => assert_eq!(got, want, "unicast {unicast}"),
        }
        lan.run_until(ms(3000));
        assert_eq!(status(&mut lan).1.handover_left_s, None);
        assert_no_breach(&lan);
    }
}

#[test]
fn hooks_of_planned_handovers_say_so_too() {
    for how in [Leave::Stop, Leave::Maintenance] {
        let mut c0 = declared(0, 2, 100, false, None);
        c0.instances[0].notify = vipd_node::notify::NotifyConfig {
            backup: Some(vec!["/h/backup".into()]),
            stop: Some(vec!["/h/stop".into()]),
            ..vipd_node::notify::NotifyConfig::none()
        };
        let mut lan = Lan::builder()
            .check_latency(Duration::ZERO)
            .host(c0)
            .host(declared(1, 2, 100, false, None))
            .build();
        lan.act(Act::SetCheck(0, "nginx".into(), nginx(true)));
        lan.start_all();
        lan.run_until(ms(2003));
        leave(&mut lan, how);
        lan.run_until(ms(3000));
        let runs: Vec<_> = hooks(&lan)
            .into_iter()
            .filter(|(t, _, _)| *t >= ms(2003))
            .collect();
        assert_eq!(runs.len(), 1, "{how:?}: {runs:?}");
        let (t, hook, env) = &runs[0];
        let want = match how {
            Leave::Stop => "stopped",
            _ => "backup",
        };
        assert_eq!((*t, *hook), (ms(2003), want), "{how:?}");
        assert_eq!(var(env, "VIPD_HANDOVER"), Some("1"), "{how:?}: {env:?}");
    }
}
