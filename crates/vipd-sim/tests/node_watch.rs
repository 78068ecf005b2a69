//! The event stream at node level (`vipctl watch`): which events the node publishes,
//! in which order and at which instants — state changes with their reason and
//! priority, maintenance with the caller's uid, check changes with what was seen,
//! reloads applied or refused, and drop summaries (the first at once, then at most one a
//! second per instance) — and the answer to a watch request.
//!
//! Defaults as in node_handover.rs: host 0 (priority 150) master from 342.40625 ms (the
//! read answered at 1 ms + Master_Down_Interval 341.40625 ms), its first advert at
//! 344.40625 ms after the 2 ms VIP job, then one every 100 ms, each heard 100 µs later;
//! host 1 (priority 100) backup, Master_Down_Interval 360.9375 ms.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::*;
use vipd_api::{Response, State, WatchEvent, WatchStart};
use vipd_engine::Instant;
use vipd_node::config::{CheckConfig, CheckInit, CheckKind};
use vipd_node::{Caller, CheckResult, DROP_SUMMARY_EVERY};
use vipd_sim::cfg::node::{instance, vip, web};
use vipd_sim::lan::{Act, HostId, Lan, Seen};
use vipd_wire::{Advert, V2Auth, V3Checksum, Version, MULTICAST_V4};

/// Host `h`'s published events from `from` on: (instant, event). Each event's own
/// instant is the one it was published at.
fn events(lan: &Lan, h: HostId, from: Instant) -> Vec<(Instant, WatchEvent)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h && e.at >= from)
        .filter_map(|e| match &e.what {
            Seen::Published { at, event } => {
                assert_eq!(*at, e.at, "an event stamped otherwise than when it came");
                Some((*at, event.clone()))
            }
            _ => None,
        })
        .collect()
}

fn changed(from: State, to: State, reason: &str, priority: u8) -> WatchEvent {
    WatchEvent::StateChanged {
        instance: "web".into(),
        from,
        to,
        reason: reason.into(),
        priority,
    }
}

fn last_reply(lan: &Lan, h: HostId) -> Response {
    lan.timeline()
        .iter()
        .rev()
        .filter(|e| e.host == h)
        .find_map(|e| match &e.what {
            Seen::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .expect("a reply")
}

#[test]
fn a_backup_publishes_its_start_then_the_takeover_when_the_master_crashes() {
    let mut lan = pair();
    lan.run_until(ms(900));
    // A watcher starts on host 1: the answer says where it stands.
    lan.act(Act::Watch {
        host: 1,
        instances: vec![],
    });
    assert_eq!(
        last_reply(&lan, 1),
        Response::Watching {
            v: 1,
            instances: vec![WatchStart {
                name: "web".into(),
                state: State::Backup,
                priority: 100,
                maintenance: false,
            }]
        }
    );
    lan.act(Act::Crash(0));
    lan.run_until(ms(2000));
    // Crashed at 900 ms: host 0's last advert went out at 844.40625 ms and was heard at
    // 844.50625 ms; host 1 takes over one Master_Down_Interval later, 1205.44375 ms.
    assert_eq!(
        events(&lan, 1, ms(0)),
        vec![
            (
                ms(1),
                changed(State::Initialize, State::Backup, "startup", 100)
            ),
            (
                at_ns(844_506_250 + 360_937_500),
                changed(State::Backup, State::Master, "master_down_timer", 100)
            ),
        ]
    );
    // Host 0 started, became master, and published nothing more before the crash.
    assert_eq!(
        events(&lan, 0, ms(0)),
        vec![
            (
                ms(1),
                changed(State::Initialize, State::Backup, "startup", 150)
            ),
            (
                at_ns(342_406_250),
                changed(State::Backup, State::Master, "master_down_timer", 150)
            ),
        ]
    );
    assert_no_breach(&lan);
}

#[test]
fn a_watch_of_an_unknown_instance_is_refused_and_one_of_a_named_instance_answered() {
    let mut lan = pair();
    lan.run_until(ms(500));
    lan.act(Act::Watch {
        host: 0,
        instances: vec!["db".into()],
    });
    assert_eq!(
        last_reply(&lan, 0),
        Response::Error {
            v: 1,
            message: "no instance named db".into()
        }
    );
    lan.act(Act::Watch {
        host: 0,
        instances: vec!["web".into()],
    });
    assert_eq!(
        last_reply(&lan, 0),
        Response::Watching {
            v: 1,
            instances: vec![WatchStart {
                name: "web".into(),
                state: State::Master,
                priority: 150,
                maintenance: false,
            }]
        }
    );
}

#[test]
fn maintenance_is_published_with_the_uid_before_the_state_change_it_causes() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    let admin = Caller {
        uid: 0,
        gid: 0,
        groups: vec![],
    };
    lan.act(Act::Maintenance {
        host: 0,
        on: true,
        instances: vec![],
        caller: admin.clone(),
    });
    lan.run_until(ms(2000));
    lan.act(Act::Maintenance {
        host: 0,
        on: false,
        instances: vec!["web".into()],
        caller: admin,
    });
    lan.run_until(ms(2500));
    let on = |on| WatchEvent::Maintenance {
        instance: "web".into(),
        on,
        uid: 0,
    };
    // On at 1000 ms: host 0 hands over (an advert of priority 0) at once; the event
    // carries its effective priority, 150, as the status shows it. Host 1 takes over at
    // 1061.0375 ms (below) and its first advert, sent after its 2 ms VIP job, is heard
    // 100 µs later, at 1063.1375 ms: the handover is complete, 63137.5 µs after the
    // priority-0 advert (whole microseconds in the event). Off at 2000 ms: it
    // preempts (discarding host 1's lower-priority adverts) when its
    // Master_Down_Interval has passed, 2341.40625 ms.
    assert_eq!(
        events(&lan, 0, ms(500)),
        vec![
            (ms(1000), on(true)),
            (
                ms(1000),
                changed(State::Master, State::Backup, "maintenance", 150)
            ),
            (
                at_ns(1_063_137_500),
                WatchEvent::NewMasterHeard {
                    instance: "web".into(),
                    master: "192.0.2.12".into(),
                    after_us: 63_137,
                }
            ),
            (ms(2000), on(false)),
            (
                at_ns(2_341_406_250),
                changed(State::Backup, State::Master, "master_down_timer", 150)
            ),
        ]
    );
    // Host 1 hears the priority-0 advert at 1000.1 ms and takes over after its
    // Skew_Time (60.9375 ms); it steps down at host 0's first advert, sent after the
    // 2 ms VIP job and heard 100 µs later.
    assert_eq!(
        events(&lan, 1, ms(500)),
        vec![
            (
                at_ns(1_061_037_500),
                changed(State::Backup, State::Master, "master_down_timer", 100)
            ),
            (
                at_ns(2_343_506_250),
                changed(State::Master, State::Backup, "higher_priority_advert", 100)
            ),
        ]
    );
    assert_no_breach(&lan);
}

/// An http check with the README's defaults (interval 1 s, rise 2, fall 2, init down).
fn http_check() -> CheckConfig {
    CheckConfig {
        kind: CheckKind::Http(vipd_node::config::HttpCheck {
            url: "http://127.0.0.1/healthz".into(),
            target: vipd_node::config::HostPort {
                host: "127.0.0.1".into(),
                port: 80,
            },
            host_header: "127.0.0.1".into(),
            path: "/healthz".into(),
            expect_status: vec![vipd_node::config::StatusMatch::Class(2)],
            expect_body: None,
        }),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        rise: 2,
        fall: 2,
        init: CheckInit::Down,
    }
}

fn http(status: u16) -> Option<CheckResult> {
    Some(CheckResult::Http {
        status,
        body_matched: None,
    })
}

#[test]
fn check_changes_are_published_with_what_was_seen_and_failures_below_fall_are_not() {
    let mut c = web(150, 100);
    c.checks.insert("web_http".into(), http_check());
    let mut lan = Lan::builder().check_latency(Duration::ZERO).host(c).build();
    lan.act(Act::SetCheck(0, "web_http".into(), http(200)));
    lan.start_all();
    lan.run_until(ms(2500));
    lan.act(Act::SetCheck(0, "web_http".into(), http(503)));
    lan.run_until(ms(6500));
    let check = |up, saw: &str| WatchEvent::Check {
        check: "web_http".into(),
        up,
        saw: saw.into(),
    };
    // Runs at 0 s, 1 s, 2 s, ... answered at once: the first success counts at once;
    // failing from 3 s, down at the second failure (4 s); nothing else changes.
    let checks: Vec<_> = events(&lan, 0, ms(0))
        .into_iter()
        .filter(|(_, e)| matches!(e, WatchEvent::Check { .. }))
        .collect();
    assert_eq!(
        checks,
        vec![
            (ms(0), check(true, "HTTP 200")),
            (ms(4000), check(false, "HTTP 503 (expected 2xx)")),
        ]
    );
}

#[test]
fn reloads_are_published_with_what_changed_or_why_they_were_refused() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::ReloadFails(
        0,
        "/etc/vipd/vipd.yaml line 3: priority: 300 is not in 1..=254".into(),
    ));
    let mut two = web(150, 100);
    two.instances
        .push(instance("db", 52, 150, 100, &["192.0.2.60/24"]));
    two.instances[0].priority = 140;
    two.checks.insert("web_http".into(), http_check());
    lan.run_until(ms(1500));
    lan.act(Act::Reload(0, two));
    lan.run_until(ms(1600));
    let published: Vec<_> = events(&lan, 0, ms(900))
        .into_iter()
        .filter(|(_, e)| {
            matches!(
                e,
                WatchEvent::ReloadApplied { .. } | WatchEvent::ReloadRejected { .. }
            )
        })
        .collect();
    assert_eq!(
        published,
        vec![
            (
                ms(1000),
                WatchEvent::ReloadRejected {
                    error: "/etc/vipd/vipd.yaml line 3: priority: 300 is not in 1..=254".into()
                }
            ),
            (
                ms(1500),
                WatchEvent::ReloadApplied {
                    changes: vec![
                        "updated web".into(),
                        "added db".into(),
                        "check added: web_http".into()
                    ]
                }
            ),
        ]
    );
}

/// An advert for VRID 51 from 192.0.2.99 (not simulated) with a damaged checksum.
fn damaged() -> Vec<u8> {
    let a = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        interval_cs: 10,
        addresses: vec![vip("192.0.2.50/24").addr],
        auth: V2Auth::default(),
    };
    let mut bytes = a
        .emit(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)),
            IpAddr::V4(MULTICAST_V4),
            V3Checksum::PseudoHeader,
        )
        .expect("emit");
    bytes[6] ^= 0xff;
    bytes
}

#[test]
fn drops_are_summarised_at_once_then_at_most_once_a_second_per_instance() {
    let mut lan = pair();
    let r99 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
    // Damaged adverts at 1.05 s + k × 300 ms (k = 0..8, the last at 3.45 s), and one more
    // at 6 s after a quiet spell.
    for k in 0..9 {
        lan.schedule(ms(1050 + k * 300), Act::Arrive(1, r99, damaged()));
    }
    lan.schedule(ms(6000), Act::Arrive(1, r99, damaged()));
    lan.run_until(ms(8000));
    let drops = |total: u64| WatchEvent::Drops {
        instance: "web".into(),
        total,
        by_reason: [("bad_checksum".to_string(), total)].into(),
    };
    let every = u64::try_from(DROP_SUMMARY_EVERY.as_millis()).expect("ms");
    assert_eq!(every, 1000);
    // 1.05 s at once; 1.35, 1.65, 1.95 at 2.05; 2.25, 2.55, 2.85 at 3.05; 3.15 and 3.45
    // at 4.05; 6 s at once (quiet for more than a second).
    let summaries: Vec<_> = events(&lan, 1, ms(0))
        .into_iter()
        .filter(|(_, e)| matches!(e, WatchEvent::Drops { .. }))
        .collect();
    assert_eq!(
        summaries,
        vec![
            (ms(1050), drops(1)),
            (ms(2050), drops(3)),
            (ms(3050), drops(3)),
            (ms(4050), drops(2)),
            (ms(6000), drops(1)),
        ]
    );
    // The adverts of host 0 are not drops: host 0 publishes none.
    assert!(events(&lan, 0, ms(0))
        .iter()
        .all(|(_, e)| !matches!(e, WatchEvent::Drops { .. })));
}
