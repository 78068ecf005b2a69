//! Health checks at node level, with exact instants: rise and fall, a check that starts
//! down, weights that change the priority and so who is master, a process that dies,
//! a runner that never answers, at most one run of a check at a time, interface and
//! file checks, reloads that add, change and remove checks, and status.
//!
//! Defaults: job latency 2 ms, read latency 1 ms, network 100 µs, check latency 1 ms.
//! A node reads the kernel when it starts (answered at 1 ms, when its instance starts)
//! and runs every polled check at once (answered at 1 ms, after the read). Polled checks
//! run every interval from the start of the previous run: 0 s, 1 s, 2 s, ...
//! Skew_Time at priority 100 and 100 ms adverts: 156/256 × 100 ms = 60.9375 ms;
//! Master_Down_Interval at 150: 300 ms + 106/256 × 100 ms = 341.40625 ms, at 100:
//! 360.9375 ms.

use std::path::PathBuf;
use std::time::Duration;

use vipd_engine::{Instant, State};
use vipd_node::config::{
    CheckConfig, CheckInit, CheckKind, Config, HostPort, HttpCheck, ProcessMatch, StatusMatch,
    Track,
};
use vipd_node::CheckResult;
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{Act, Lan, Seen};

const MS: u64 = 1_000_000;

fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

fn ms(n: u64) -> Instant {
    at(n * MS)
}

fn http() -> CheckKind {
    CheckKind::Http(HttpCheck {
        url: "http://127.0.0.1/healthz".into(),
        target: HostPort {
            host: "127.0.0.1".into(),
            port: 80,
        },
        host_header: "127.0.0.1".into(),
        path: "/healthz".into(),
        expect_status: vec![StatusMatch::Class(2)],
        expect_body: None,
    })
}

fn exec() -> CheckKind {
    CheckKind::Exec {
        argv: vec!["/usr/local/bin/check-upstream".into()],
        user: None,
    }
}

fn process() -> CheckKind {
    CheckKind::Process(ProcessMatch {
        pidfile: Some(PathBuf::from("/run/nginx.pid")),
        name: None,
        user: None,
    })
}

/// A check with the README's defaults: interval 1 s, timeout 500 ms, rise 2, fall 2,
/// init down.
fn check(kind: CheckKind) -> CheckConfig {
    CheckConfig {
        kind,
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        rise: 2,
        fall: 2,
        init: CheckInit::Down,
    }
}

/// `web(priority, 100)` with these checks, its instance tracking `track` (name, weight).
fn tracking(priority: u8, checks: &[(&str, CheckConfig)], track: &[(&str, i32)]) -> Config {
    let mut c = web(priority, 100);
    c.checks = checks
        .iter()
        .map(|(n, k)| ((*n).to_string(), k.clone()))
        .collect();
    c.instances[0].track = track
        .iter()
        .map(|(n, w)| Track {
            check: (*n).to_string(),
            weight: *w,
        })
        .collect();
    c
}

fn http_status(status: u16) -> Option<CheckResult> {
    Some(CheckResult::Http {
        status,
        body_matched: None,
    })
}

fn exit(code: i32) -> Option<CheckResult> {
    Some(CheckResult::Exited {
        code: Some(code),
        signal: None,
        output: String::new(),
    })
}

fn vip50() -> std::net::IpAddr {
    vip("192.0.2.50/24").addr
}

fn no_breach(lan: &Lan) {
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

fn runs(lan: &Lan, h: usize, name: &str) -> Vec<Instant> {
    lan.seen(
        h,
        |s| matches!(s, Seen::CheckRun { check } if check == name),
    )
}

/// Host 0 at 150 tracking `track` of `checks`, host 1 at 100 tracking nothing; host 0
/// set up to answer its checks as `answers` says before anything starts. Checks answer
/// at once (check latency 0), so the first results are in before the routers start.
fn pair(
    checks: &[(&str, CheckConfig)],
    track: &[(&str, i32)],
    answers: &[(&str, Option<CheckResult>)],
) -> Lan {
    let mut lan = Lan::builder()
        .check_latency(Duration::ZERO)
        .host(tracking(150, checks, track))
        .host(web(100, 100))
        .build();
    for (name, a) in answers {
        lan.act(Act::SetCheck(0, (*name).to_string(), a.clone()));
    }
    lan.start_all();
    lan
}

/// Host 0's first advert as master: master at 1 ms + 341.40625 ms, VIP confirmed 2 ms
/// later.
const A_FIRST_ADVERT: u64 = 344_406_250;

#[test]
fn a_check_that_starts_down_keeps_the_node_from_the_vip_until_it_rises() {
    let mut lan = pair(
        &[("web_http", check(http()))],
        &[("web_http", 0)],
        &[("web_http", http_status(503))],
    );
    lan.run_until(ms(2500));
    // The router starts (1 ms) hearing that its fault-tracked check is down (init):
    // straight to Fault; it never took the VIP. Host 1 is master after its
    // Master_Down_Interval: 1 ms + 360.9375 ms.
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    assert_eq!(lan.entered(0, "web", State::Master, ms(0)), None);
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at(361_937_500))
    );
    assert_eq!(runs(&lan, 0, "web_http"), vec![ms(0), ms(1000), ms(2000)]);
    // Healthy from 2.5 s: the run at 3 s is the first success (rise 2), the one at 4 s
    // the second: up at 4 s, Backup at once, and (preempting 100) master one
    // Master_Down_Interval later: 4 s + 341.40625 ms.
    lan.act(Act::SetCheck(0, "web_http".into(), http_status(200)));
    lan.run_until(at(4000 * MS - 1));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    lan.run_until(ms(5000));
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(2500)),
        Some(ms(4000))
    );
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(2500)),
        Some(at(4_000 * MS + 341_406_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    no_breach(&lan);
}

#[test]
fn a_healthy_check_counts_from_its_first_result() {
    // The first success brings the check up at once (not after `rise` runs): the node
    // is master at the usual instant.
    let mut lan = pair(&[("web_http", check(http()))], &[("web_http", 0)], &[]);
    lan.run_until(ms(1000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at(342_406_250))
    );
    assert_eq!(lan.adverts(0, 150).first(), Some(&at(A_FIRST_ADVERT)));
    no_breach(&lan);
}

#[test]
fn fall_failures_in_a_row_put_the_master_in_fault_and_rise_brings_it_back() {
    let mut lan = pair(&[("web_http", check(http()))], &[("web_http", 0)], &[]);
    lan.run_until(ms(2500));
    lan.act(Act::SetCheck(0, "web_http".into(), http_status(503)));
    // The run at 3 s fails once (fall 2: still up), the one at 4 s twice: down at 4 s;
    // the master hands over with priority 0 and host 1 takes over after its
    // Skew_Time: 4 s + 100 µs + 60.9375 ms.
    lan.run_until(at(4000 * MS - 1));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.run_until(ms(4500));
    assert_eq!(lan.entered(0, "web", State::Fault, ms(0)), Some(ms(4000)));
    assert_eq!(lan.adverts(0, 0), vec![ms(4000)]);
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at(4_000 * MS + 100_000 + 60_937_500))
    );
    // A single success is not enough (rise 2): the run at 5 s succeeds, the one at 6 s
    // too: up at 6 s, then master again 341.40625 ms later.
    lan.act(Act::SetCheck(0, "web_http".into(), http_status(200)));
    lan.run_until(at(6000 * MS - 1));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    lan.run_until(ms(7000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(4500)),
        Some(at(6_000 * MS + 341_406_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    no_breach(&lan);
}

#[test]
fn a_negative_weight_lets_the_backup_preempt_and_recovery_moves_the_vip_back() {
    let mut lan = pair(&[("upstream", check(exec()))], &[("upstream", -60)], &[]);
    lan.run_until(ms(2500));
    lan.act(Act::SetCheck(0, "upstream".into(), exit(1)));
    // Down at 4 s (fails at 3 s and 4 s): 150 - 60 = 90. Host 0's next advert (its
    // adverts go out at 344.40625 ms + k × 100 ms) carries 90, below host 1's 100:
    // host 1 no longer resets its Master_Down_Timer and takes over 360.9375 ms after
    // the last advert at 150 reached it (3.94440625 s + 100 µs).
    lan.run_until(ms(4500));
    assert_eq!(lan.adverts(0, 90).first(), Some(&at(4_044_406_250)));
    let taken = 3_944_406_250 + 100_000 + 360_937_500;
    assert_eq!(lan.entered(1, "web", State::Master, ms(0)), Some(at(taken)));
    assert_eq!(lan.state(0, "web"), Some(State::Backup));
    let st = lan.node(0).expect("running").instances().next();
    let r = st.and_then(|(_, r)| r).expect("router");
    assert_eq!(r.effective_priority(), 90);
    // Recovery from 4.5 s: successes at 5 s and 6 s, up at 6 s: back to 150, and host 0
    // (a preempting backup) ignores host 1's adverts from then on. Host 1 advertises
    // every 100 ms from the answer it gave host 0's farewell advert (at 90, sent when
    // host 0 yielded to host 1's first advert): `taken` + 2 ms + 2 × 100 µs. Host 0's
    // Master_Down_Timer, armed at priority 90 by the last of them it accepted
    // (5.90764375 s + 100 µs), moves with the priority to 150 (RFC 5798 §6.1: Skew_Time
    // depends on it) and runs out 300 ms + 106/256 × 100 ms after that advert, not
    // 300 ms + 166/256 × 100 ms.
    lan.act(Act::SetCheck(0, "upstream".into(), exit(0)));
    lan.run_until(ms(7000));
    let last_heard = taken + 2 * MS + 200_000 + 16 * 100 * MS + 100_000;
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(4500)),
        Some(at(last_heard + 341_406_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    no_breach(&lan);
}

#[test]
fn a_dead_process_is_seen_at_once_and_its_return_too() {
    let mut lan = pair(&[("nginx", check(process()))], &[("nginx", 0)], &[]);
    lan.run_until(ms(2000));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    // The watch reports the death the moment it happens: priority 0 at once, host 1
    // master after its Skew_Time.
    lan.act(Act::SetCheck(
        0,
        "nginx".into(),
        Some(CheckResult::Process {
            pids: vec![],
            why: Some("pid 100 exited".into()),
        }),
    ));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    assert_eq!(lan.adverts(0, 0), vec![ms(2000)]);
    lan.run_until(ms(3000));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at(2_000 * MS + 100_000 + 60_937_500))
    );
    // It comes back (a new pid): Backup at once, master 341.40625 ms later.
    lan.act(Act::SetCheck(
        0,
        "nginx".into(),
        Some(CheckResult::Process {
            pids: vec![200],
            why: None,
        }),
    ));
    lan.run_until(ms(4000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(2500)),
        Some(at(3_000 * MS + 341_406_250))
    );
    // One watch all along; no polling.
    let watches = lan.seen(0, |s| matches!(s, Seen::Watch { on: true, .. }));
    assert_eq!(watches, vec![ms(0)]);
    assert!(runs(&lan, 0, "nginx").is_empty());
    no_breach(&lan);
}

#[test]
fn a_runner_that_never_answers_still_lets_the_check_fall_and_starts_no_second_run() {
    let mut lan = pair(&[("web_http", check(http()))], &[("web_http", 0)], &[]);
    lan.run_until(ms(2500));
    lan.act(Act::SetCheck(0, "web_http".into(), None));
    // The run at 3 s never answers: one failure at 3 s + 500 ms + 1 s, another a second
    // later (fall 2): down at 5.5 s. No run starts while it is under way.
    lan.run_until(ms(5499));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.run_until(ms(5500));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    lan.run_until(ms(10_000));
    assert_eq!(
        runs(&lan, 0, "web_http"),
        vec![ms(0), ms(1000), ms(2000), ms(3000)]
    );
    no_breach(&lan);
}

#[test]
fn a_slow_check_is_never_run_twice_at_once() {
    let mut lan = Lan::builder()
        .check_latency(Duration::from_millis(1500))
        .host(tracking(150, &[("slow", check(http()))], &[("slow", -10)]))
        .build();
    lan.start_all();
    lan.run_until(ms(5000));
    // Each run answers 1.5 s after it began; the next (due 1 s after) waits for it.
    assert_eq!(
        runs(&lan, 0, "slow"),
        vec![ms(0), ms(1500), ms(3000), ms(4500)]
    );
}

#[test]
fn interface_checks_follow_link_events_and_reads() {
    let uplink = CheckConfig {
        kind: CheckKind::Interface("eth1".into()),
        ..check(http())
    };
    let mut lan = Lan::builder()
        .host(tracking(150, &[("uplink", uplink)], &[("uplink", 0)]))
        .host(web(100, 100))
        .build();
    lan.act(Act::OtherLink(0, "eth1".into(), true));
    lan.start_all();
    lan.run_until(ms(1000));
    // The read that starts the router shows eth1 up first: no Fault on the way.
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at(342_406_250))
    );
    assert_eq!(lan.entered(0, "web", State::Fault, ms(0)), None);
    lan.act(Act::OtherLink(0, "eth1".into(), false));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    lan.run_until(ms(1500));
    lan.act(Act::OtherLink(0, "eth1".into(), true));
    assert_eq!(lan.state(0, "web"), Some(State::Backup));
    lan.run_until(ms(2000));
    lan.act(Act::OtherLinkGone(0, "eth1".into()));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    // Reads once a second keep saying so.
    lan.run_until(ms(5000));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    assert_eq!(lan.holders(vip50()), vec![1]);
    no_breach(&lan);
}

#[test]
fn a_file_value_times_its_weight_sets_the_priority_and_below_minus_253_faults() {
    let drain = CheckConfig {
        kind: CheckKind::File(PathBuf::from("/etc/vipd/drain")),
        ..check(http())
    };
    let mut lan = pair(&[("drain", drain)], &[("drain", 2)], &[]);
    lan.run_until(ms(1500));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    let value = |v| {
        Some(CheckResult::Value {
            value: v,
            note: None,
        })
    };
    // -30 × 2 = -60: priority 90 from the run at 2 s on (no rise or fall).
    lan.act(Act::SetCheck(0, "drain".into(), value(-30)));
    lan.run_until(ms(2000));
    let r = |lan: &Lan| {
        lan.node(0)
            .and_then(|n| n.instances().next())
            .and_then(|(_, r)| r.map(|r| (r.state(), r.effective_priority())))
    };
    assert_eq!(r(&lan), Some((State::Master, 90)));
    // -127 × 2 = -254 < -253: Fault.
    lan.act(Act::SetCheck(0, "drain".into(), value(-127)));
    lan.run_until(ms(3000));
    assert_eq!(r(&lan).map(|x| x.0), Some(State::Fault));
    lan.act(Act::SetCheck(0, "drain".into(), value(0)));
    lan.run_until(ms(4000));
    assert_eq!(r(&lan), Some((State::Backup, 150)));
    no_breach(&lan);
}

#[test]
fn reload_adds_changes_and_removes_checks() {
    // Checks answer after 1 ms here.
    let mut lan = Lan::builder()
        .host(web(150, 100))
        .host(web(100, 100))
        .build();
    lan.start_all();
    lan.run_until(ms(1000));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    // A reload adds a fault-tracked check that fails. Until its first result it changes
    // nothing (the master keeps its VIP through the reload); the result at 1.001 s
    // puts the master in Fault.
    lan.act(Act::SetCheck(0, "x".into(), http_status(500)));
    let with_x = tracking(150, &[("x", check(http()))], &[("x", 0)]);
    lan.act(Act::Reload(0, with_x.clone()));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.run_until(ms(1001));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    assert_eq!(runs(&lan, 0, "x"), vec![ms(1000)]);
    // Tracking it with a weight instead: -20 while failing, 130 > 100, master again.
    lan.run_until(ms(1500));
    let weighted = tracking(150, &[("x", check(http()))], &[("x", -20)]);
    lan.act(Act::Reload(0, weighted));
    lan.run_until(ms(2500));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    let r = lan
        .node(0)
        .and_then(|n| n.instances().next())
        .and_then(|(_, r)| r);
    assert_eq!(r.map(|r| r.effective_priority()), Some(130));
    // The unchanged check kept its schedule (runs at 1 s, 2 s): no extra run at 1.5 s.
    assert_eq!(runs(&lan, 0, "x"), vec![ms(1000), ms(2000)]);
    // A changed check starts over: its watch ends and a new one begins.
    let p = tracking(150, &[("x", check(process()))], &[("x", 0)]);
    lan.act(Act::Reload(0, p));
    let mut q = tracking(150, &[("x", check(process()))], &[("x", 0)]);
    q.checks.insert(
        "x".into(),
        CheckConfig {
            interval: Duration::from_secs(5),
            ..check(process())
        },
    );
    lan.run_until(ms(3000));
    lan.act(Act::Reload(0, q));
    let watches: Vec<(Instant, bool)> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Watch { on, .. } if e.host == 0 => Some((e.at, *on)),
            _ => None,
        })
        .collect();
    assert_eq!(
        watches,
        vec![(ms(2500), true), (ms(3000), false), (ms(3000), true)]
    );
    // Removed: no more runs, no watch, no tracking.
    lan.act(Act::Reload(0, web(150, 100)));
    lan.run_until(ms(6000));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Watch { on: false, .. }))
            .len(),
        2
    );
    no_breach(&lan);
}

#[test]
fn status_shows_each_check_and_what_each_instance_makes_of_it() {
    let mut lan = pair(
        &[("up", check(exec())), ("nginx", check(process()))],
        &[("up", -60), ("nginx", 0)],
        &[("up", exit(3))],
    );
    lan.run_until(ms(1500));
    lan.act(Act::Status(0));
    lan.run_until(ms(1510));
    let reply = lan
        .timeline()
        .iter()
        .rev()
        .find_map(|e| match &e.what {
            Seen::Reply(vipd_api::Response::Status(s)) if e.host == 0 => Some(s.clone()),
            _ => None,
        })
        .expect("a status reply");
    let up = reply
        .checks
        .iter()
        .find(|c| c.name == "up")
        .expect("check up");
    assert!(!up.up);
    assert_eq!(up.kind, "exec");
    assert_eq!(up.exit_code, Some(3));
    assert_eq!(up.last_result.as_deref(), Some("exit 3"));
    assert_eq!(up.error.as_deref(), Some("exit 3"));
    assert_eq!((up.results, up.failures), (2, 2));
    let nginx = reply
        .checks
        .iter()
        .find(|c| c.name == "nginx")
        .expect("check nginx");
    assert!(nginx.up);
    assert_eq!(nginx.pids, vec![100]);
    assert_eq!(nginx.target, "pidfile /run/nginx.pid");
    let inst = &reply.instances[0];
    assert_eq!(inst.priority_effective, 90);
    let failing: Vec<(&str, bool, i64)> = inst
        .tracking
        .iter()
        .map(|t| (t.check.as_str(), t.failing, t.adds))
        .collect();
    assert_eq!(failing, vec![("up", true, -60), ("nginx", false, 0)]);
}
