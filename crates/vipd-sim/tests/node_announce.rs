//! Announced instances (`announce:`) at node level, with exact instants: the VIP goes on
//! the announce interface (`vipd0`) when the tracked checks pass, a single failure does
//! not withdraw it (fall), a withdrawal drains (a local route on `lo` keeps the VIP
//! answered, not announced), maintenance and stop drain
//! the same way and the stop waits for the drain, a threshold of weights, and a crash's
//! leftover removed at the next start.
//!
//! Defaults: job latency 2 ms, read latency 1 ms, check latency 0 (checks answer at
//! once). A node reads the kernel when it starts (answered at 1 ms: the interfaces are
//! known from then) and runs its polled checks at once and every second after: 0 s, 1 s,
//! 2 s, ... A check counts from its first result; after that rise 2 and fall 2. The
//! drain time is 2 s.

mod common;

use std::time::Duration;

use common::{before, ms};
use vipd_node::config::{
    AnnounceConfig, CheckConfig, CheckInit, CheckKind, Config, HostPort, HttpCheck, StatusMatch,
    Track,
};
use vipd_node::{AnnouncePhase, Caller, CheckResult};
use vipd_sim::cfg::node::{config, vip};
use vipd_sim::lan::{Act, Lan, Seen, ANNOUNCE_IFACE, LOOPBACK};

fn http(path: &str) -> CheckConfig {
    CheckConfig {
        kind: CheckKind::Http(HttpCheck {
            url: format!("http://127.0.0.1{path}"),
            target: HostPort {
                host: "127.0.0.1".into(),
                port: 80,
            },
            host_header: "127.0.0.1".into(),
            path: path.into(),
            expect_status: vec![StatusMatch::Class(2)],
            expect_body: None,
        }),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        rise: 2,
        fall: 2,
        init: CheckInit::Down,
    }
}

fn status(code: u16) -> Option<CheckResult> {
    Some(CheckResult::Http {
        status: code,
        body_matched: None,
    })
}

fn vip80() -> std::net::IpAddr {
    vip("192.0.2.80/32").addr
}

/// No VRRP instance; one announced instance `web` of 192.0.2.80/32 on vipd0 tracking
/// `track` (check name, weight), each an http check, withdrawn below `below`.
fn announcing(track: &[(&str, i32)], below: i32) -> Config {
    let mut c = config(Vec::new());
    c.checks = track
        .iter()
        .map(|(n, _)| ((*n).to_string(), http(&format!("/{n}"))))
        .collect();
    c.announce = vec![AnnounceConfig {
        name: "web".into(),
        interface: ANNOUNCE_IFACE.into(),
        vips: vec![vip("192.0.2.80/32")],
        track: track
            .iter()
            .map(|(n, w)| Track {
                check: (*n).to_string(),
                weight: *w,
            })
            .collect(),
        withdraw_below: below,
        drain: Duration::from_secs(2),
        notify: Default::default(),
    }];
    c
}

fn lan(c: Config) -> Lan {
    let mut lan = Lan::builder()
        .check_latency(Duration::ZERO)
        .announce_ifaces()
        .host(c)
        .build();
    // Every host announces the same VIP by design: no "two holders" breach.
    lan.set_check_holders(false);
    lan.start_all();
    lan
}

fn phase(lan: &Lan) -> AnnouncePhase {
    lan.node(0)
        .and_then(|n| n.announced().next().map(|(_, p)| p))
        .expect("host 0 runs an announced instance")
}

fn on_vipd0(lan: &Lan) -> bool {
    lan.holds_on(0, ANNOUNCE_IFACE, vip80())
}

/// Kept answered locally: the local route a drain adds (not an address on lo: the
/// BGP speaker would announce that).
fn on_lo(lan: &Lan) -> bool {
    lan.holds_local_route(0, vip80()) && !lan.holds_on(0, LOOPBACK, vip80())
}

/// The announce events published: (instant, from, to).
fn moves(lan: &Lan) -> Vec<(vipd_node::Instant, String, String)> {
    lan.timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Published {
                at,
                event: vipd_api::WatchEvent::Announce { from, to, .. },
            } => Some((*at, from.clone(), to.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn checks_passing_announce_a_failing_one_drains_through_lo_and_rise_announces_again() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    // The check is up at 0 s (its first result); the interfaces are known at 1 ms:
    // announcing at 1 ms, the VIP on vipd0 when the add is done, 2 ms later.
    lan.run_until(before(ms(3)));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    assert!(!on_vipd0(&lan));
    lan.run_until(ms(3));
    assert!(on_vipd0(&lan) && !on_lo(&lan));
    // One failure (the run at 3 s), then success again at 4 s: fall 2 keeps the route.
    lan.run_until(ms(2500));
    lan.act(Act::SetCheck(0, "nginx".into(), status(503)));
    lan.run_until(ms(3500));
    lan.act(Act::SetCheck(0, "nginx".into(), status(200)));
    lan.run_until(ms(4500));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    assert!(on_vipd0(&lan));
    // Failing from 4.5 s: runs at 5 s and 6 s fail, down at 6 s: draining until 8 s, the
    // local route in place and the VIP off vipd0 at 6.002 s (both jobs 2 ms).
    lan.act(Act::SetCheck(0, "nginx".into(), status(503)));
    lan.run_until(before(ms(6000)));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    lan.run_until(ms(6000));
    assert_eq!(phase(&lan), AnnouncePhase::Draining { until: ms(8000) });
    lan.run_until(ms(6002));
    assert!(!on_vipd0(&lan) && on_lo(&lan));
    // The drain ends at 8 s: the local route gone at 8.002 s.
    lan.run_until(before(ms(8002)));
    assert!(on_lo(&lan));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
    lan.run_until(ms(8002));
    assert!(!on_lo(&lan) && !on_vipd0(&lan));
    // Healthy from 8.5 s: successes at 9 s and 10 s, up at 10 s (rise 2), on vipd0 at
    // 10.002 s.
    lan.act(Act::SetCheck(0, "nginx".into(), status(200)));
    lan.run_until(before(ms(10_000)));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
    lan.run_until(ms(10_002));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    assert!(on_vipd0(&lan) && !on_lo(&lan));
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    let seen: Vec<_> = moves(&lan)
        .into_iter()
        .map(|(t, a, b)| (t, s(&a, &b)))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ms(1), s("withdrawn", "announcing")),
            (ms(6000), s("announcing", "draining")),
            (ms(8000), s("draining", "withdrawn")),
            (ms(10_000), s("withdrawn", "announcing")),
        ]
    );
}

#[test]
fn maintenance_drains_and_stays_withdrawn_until_it_is_off() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    assert!(on_vipd0(&lan));
    lan.act(Act::Maintenance {
        host: 0,
        on: true,
        instances: vec!["web".into()],
        caller: Caller::root(),
    });
    assert_eq!(phase(&lan), AnnouncePhase::Draining { until: ms(3500) });
    lan.run_until(ms(1502));
    assert!(!on_vipd0(&lan) && on_lo(&lan));
    lan.run_until(ms(3502));
    assert!(!on_vipd0(&lan) && !on_lo(&lan));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
    // The checks pass all along; maintenance keeps it withdrawn.
    lan.run_until(ms(4000));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
    lan.act(Act::Maintenance {
        host: 0,
        on: false,
        instances: vec!["web".into()],
        caller: Caller::root(),
    });
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    lan.run_until(ms(4002));
    assert!(on_vipd0(&lan));
}

#[test]
fn maintenance_during_a_drain_back_off_announces_at_once() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    let m = |on| Act::Maintenance {
        host: 0,
        on,
        instances: vec!["web".into()],
        caller: Caller::root(),
    };
    lan.act(m(true));
    lan.run_until(ms(2000));
    lan.act(m(false));
    // Announced again (the add on vipd0 first), then the local route removed: both done
    // at 2.002 s.
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    lan.run_until(ms(2002));
    assert!(on_vipd0(&lan) && !on_lo(&lan));
    lan.run_until(ms(5000));
    assert!(on_vipd0(&lan) && !on_lo(&lan));
}

#[test]
fn stop_withdraws_first_and_exits_after_the_drain() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    lan.act(Act::Stop(0));
    lan.run_until(ms(1502));
    assert!(!on_vipd0(&lan) && on_lo(&lan));
    // Still answering locally until the drain ends at 3.5 s; the local route removed at
    // 3.502 s, and only then the exit.
    lan.run_until(before(ms(3502)));
    assert!(on_lo(&lan));
    assert!(lan.seen(0, |s| matches!(s, Seen::Exit(_))).is_empty());
    lan.run_until(ms(4000));
    assert!(!on_lo(&lan));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![ms(3502)]
    );
}

#[test]
fn weights_withdraw_below_the_threshold_only() {
    // Two checks of weight -10, withdrawn below -15: one failing (-10) keeps the
    // route, both failing (-20) withdraw it.
    let mut lan = lan(announcing(&[("a", -10), ("b", -10)], -15));
    lan.run_until(ms(500));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    lan.act(Act::SetCheck(0, "a".into(), status(503)));
    lan.run_until(ms(2500));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    lan.act(Act::SetCheck(0, "b".into(), status(503)));
    // b's runs at 3 s and 4 s fail: down at 4 s.
    lan.run_until(before(ms(4000)));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    lan.run_until(ms(4000));
    assert_eq!(phase(&lan), AnnouncePhase::Draining { until: ms(6000) });
}

#[test]
fn a_crash_leftover_is_removed_by_the_next_start_when_the_checks_fail() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    lan.act(Act::Crash(0));
    lan.run_until(ms(2000));
    // The VIP stays on vipd0 after the crash (the kernel keeps it).
    assert!(on_vipd0(&lan));
    lan.act(Act::SetCheck(0, "nginx".into(), status(503)));
    lan.act(Act::Start(0));
    // The first read (2.001 s) finds it while withdrawn: removed at 2.003 s.
    lan.run_until(before(ms(2003)));
    assert!(on_vipd0(&lan));
    lan.run_until(ms(2003));
    assert!(!on_vipd0(&lan));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
}

#[test]
fn a_crash_during_a_drain_leaves_a_local_route_the_next_start_removes() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    lan.act(Act::Maintenance {
        host: 0,
        on: true,
        instances: vec!["web".into()],
        caller: Caller::root(),
    });
    lan.run_until(ms(1600));
    lan.act(Act::Crash(0));
    lan.run_until(ms(2000));
    assert!(on_lo(&lan), "the kernel keeps the drain's local route");
    // Restarted (in maintenance, kept on disk): the first read (2.001 s) shows lo, the
    // local route is removed at once: gone at 2.003 s.
    lan.act(Act::Start(0));
    lan.run_until(before(ms(2003)));
    assert!(on_lo(&lan));
    lan.run_until(ms(2003));
    assert!(!on_lo(&lan) && !on_vipd0(&lan));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
}

#[test]
fn a_vip_removed_behind_vipds_back_is_added_again_at_the_next_read() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    lan.act(Act::RemoveAddr(0, vip80()));
    assert!(!on_vipd0(&lan));
    // Reads come every second from the first (1 ms): the one answered at 2.001 s finds
    // it missing; added again 2 ms later.
    lan.run_until(before(ms(2003)));
    assert!(!on_vipd0(&lan));
    lan.run_until(ms(2003));
    assert!(on_vipd0(&lan));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
}

#[test]
fn hooks_run_on_each_state_with_the_state_in_their_environment_and_stop_waits_for_them() {
    let mut c = announcing(&[("nginx", 0)], 0);
    let hook = |name: &str| Some(vec![format!("/usr/local/bin/{name}")]);
    c.announce[0].notify = vipd_node::announce::AnnounceNotify {
        announcing: hook("up"),
        draining: hook("drain"),
        withdrawn: hook("down"),
        any: None,
        timeout: Duration::from_secs(5),
    };
    let mut lan = lan(c);
    // Every hook takes 100 ms.
    lan.act(Act::SetHooks(
        0,
        Some((
            Duration::from_millis(100),
            vipd_node::HookResult::Exited {
                code: Some(0),
                signal: None,
                output: String::new(),
            },
        )),
    ));
    lan.run_until(ms(1500));
    lan.act(Act::Stop(0));
    lan.run_until(ms(5000));
    let hooks: Vec<(vipd_node::Instant, String, String)> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Hook { argv, env, .. } => {
                let state = env
                    .iter()
                    .find(|(k, _)| k == "VIPD_STATE")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                Some((e.at, argv[0].clone(), state))
            }
            _ => None,
        })
        .collect();
    let h = |t, p: &str, s: &str| (t, p.to_string(), s.to_string());
    assert_eq!(
        hooks,
        vec![
            h(ms(1), "/usr/local/bin/up", "announcing"),
            h(ms(1500), "/usr/local/bin/drain", "draining"),
            h(ms(3500), "/usr/local/bin/down", "withdrawn"),
        ]
    );
    // The local route goes at 3.502 s; the exit waits for the withdrawn hook (3.6 s).
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![ms(3600)]
    );
}

#[test]
fn reload_updates_in_place_and_a_removed_entry_is_withdrawn_at_once() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(1500));
    // A new drain time: updated in place, still announcing, nothing moves.
    let mut c = announcing(&[("nginx", 0)], 0);
    c.announce[0].drain = Duration::from_millis(500);
    lan.act(Act::Reload(0, c.clone()));
    lan.run_until(ms(1600));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    assert!(on_vipd0(&lan));
    // The new drain time applies: maintenance at 1.6 s drains until 2.1 s.
    lan.act(Act::Maintenance {
        host: 0,
        on: true,
        instances: vec!["web".into()],
        caller: Caller::root(),
    });
    assert_eq!(phase(&lan), AnnouncePhase::Draining { until: ms(2100) });
    lan.act(Act::Maintenance {
        host: 0,
        on: false,
        instances: vec!["web".into()],
        caller: Caller::root(),
    });
    lan.run_until(ms(2500));
    assert!(on_vipd0(&lan) && !on_lo(&lan));
    // The entry removed: its VIP leaves vipd0 at once (2.502 s), no drain.
    c.announce.clear();
    c.instances = vipd_sim::cfg::node::web(100, 100).instances;
    lan.act(Act::Reload(0, c));
    lan.run_until(ms(2502));
    assert!(!on_vipd0(&lan) && !on_lo(&lan));
    assert_eq!(lan.node(0).map(|n| n.announced().count()), Some(0));
}

#[test]
fn a_failed_add_leaves_it_withdrawn_until_the_next_read_adds_it_again() {
    let mut lan = Lan::builder()
        .check_latency(Duration::ZERO)
        .announce_ifaces()
        .host(announcing(&[("nginx", 0)], 0))
        .build();
    lan.set_check_holders(false);
    lan.act(Act::FailAdds(0, 1));
    lan.start_all();
    // Asked at 1 ms, refused at 3 ms: withdrawn. The read answered at 1.001 s tries
    // again; on vipd0 at 1.003 s.
    lan.run_until(ms(3));
    assert_eq!(phase(&lan), AnnouncePhase::Withdrawn);
    assert!(!on_vipd0(&lan));
    lan.run_until(before(ms(1003)));
    assert!(!on_vipd0(&lan));
    lan.run_until(ms(1003));
    assert!(on_vipd0(&lan));
    assert_eq!(phase(&lan), AnnouncePhase::Announcing);
    let warned = lan
        .notes(0, vipd_node::Level::Warn)
        .into_iter()
        .any(|(_, t)| t.contains("withdrawn; trying again at the next read"));
    assert!(warned, "{:?}", lan.notes(0, vipd_node::Level::Warn));
}

#[test]
fn an_announced_instance_can_be_watched_by_name() {
    let mut lan = lan(announcing(&[("nginx", 0)], 0));
    lan.run_until(ms(500));
    lan.act(Act::Watch {
        host: 0,
        instances: vec!["web".into()],
    });
    let replies: Vec<vipd_api::Response> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert!(
        matches!(replies.last(), Some(vipd_api::Response::Watching { .. })),
        "{replies:?}"
    );
}
