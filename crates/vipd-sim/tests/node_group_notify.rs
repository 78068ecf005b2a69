//! Sync group notify hooks at node level, with exact instants: the group's hooks run
//! once per change of the GROUP's state (not per member), in order, one at a time in a
//! queue of the group's own; keepalived's rule for a group in fault (any member in
//! fault, until the last clears); the environment and positional form; a stop.
//!
//! The LAN is node_groups.rs's: `front` (eth0, VRID 51, 192.0.2.50) and `back` (eth1 on
//! a second segment, VRID 52, 192.0.2.150) in group `lb`, host 0 at priority 150, host 1
//! at 100, adverts every 100 ms. Both start at 0; the routers start at 1 ms (the first
//! kernel read), held in Backup; host 0's group is released at 1 + 341.40625 ms =
//! 342.40625 ms (Master_Down_Interval at 150). After host 0's backend link goes down at
//! 1000 ms, host 1's group is master at 1305.44375 ms (its `back` waits for the
//! master last heard at 944.50625 ms: + 360.9375 ms); plugged back at 2000 ms, host 0
//! preempts at 2341.40625 ms and host 1 hears it at 2343.50625 ms (node_groups.rs
//! derives each of these).
//!
//! Every hook run is answered 50 ms after it starts.

mod common;

use std::time::Duration;

use common::*;
use vipd_engine::{Instant, State};
use vipd_node::config::{Config, GroupConfig, NotifyConfig};
use vipd_node::HookResult;
use vipd_sim::cfg::node::{config, instance};
use vipd_sim::lan::{Act, HostId, Lan, Seen, IFACE, IFACE2};

const RUN: Duration = Duration::from_millis(50);

fn argv(p: &str) -> Option<Vec<String>> {
    Some(vec![p.to_string()])
}

fn every_hook(prefix: &str) -> NotifyConfig {
    NotifyConfig {
        master: argv(&format!("{prefix}/master")),
        backup: argv(&format!("{prefix}/backup")),
        fault: argv(&format!("{prefix}/fault")),
        stop: argv(&format!("{prefix}/stop")),
        any: argv(&format!("{prefix}/any")),
        timeout: Duration::from_secs(10),
        positional: false,
    }
}

/// node_groups.rs's pair at `priority`, the group with every hook (`/g/<hook>`).
fn grouped(priority: u8, positional: bool) -> Config {
    let mut b = instance("back", 52, priority, 100, &["192.0.2.150/24"]);
    b.interface = IFACE2.into();
    let mut c = config(vec![
        instance("front", 51, priority, 100, &["192.0.2.50/24"]),
        b,
    ]);
    c.groups = vec![GroupConfig {
        name: "lb".into(),
        instances: vec!["front".into(), "back".into()],
        notify: NotifyConfig {
            positional,
            ..every_hook("/g")
        },
    }];
    c
}

fn ok() -> HookResult {
    HookResult::Exited {
        code: Some(0),
        signal: None,
        output: String::new(),
    }
}

fn lan_of(a: Config, b: Config) -> Lan {
    let mut lan = Lan::builder().two_segments().host(a).host(b).build();
    lan.act(Act::SetHooks(0, Some((RUN, ok()))));
    lan.act(Act::SetHooks(1, Some((RUN, ok()))));
    lan.start_all();
    lan
}

fn var(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Host `h`'s group hook runs (those with `VIPD_GROUP`): when each began, its hook,
/// `VIPD_PREVIOUS` -> `VIPD_STATE` and `VIPD_REASON`.
fn group_runs(lan: &Lan, h: HostId) -> Vec<(Instant, &'static str, String)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Hook { hook, env, .. } if var(env, "VIPD_GROUP").is_some() => Some((
                e.at,
                *hook,
                format!(
                    "{}->{} {}",
                    var(env, "VIPD_PREVIOUS").unwrap_or_default(),
                    var(env, "VIPD_STATE").unwrap_or_default(),
                    var(env, "VIPD_REASON").unwrap_or_default()
                ),
            )),
            _ => None,
        })
        .collect()
}

fn run(t: Instant, hook: &'static str, what: &str) -> (Instant, &'static str, String) {
    (t, hook, what.to_string())
}

fn plus_run(t: Instant) -> Instant {
    t + RUN
}

#[test]
fn the_group_hook_runs_once_per_group_transition_in_order() {
    let mut lan = lan_of(grouped(150, false), grouped(100, false));
    lan.run_until(ms(1000));
    lan.act(Act::IfaceLink(0, IFACE2, false));
    lan.run_until(ms(2000));
    lan.act(Act::IfaceLink(0, IFACE2, true));
    lan.run_until(ms(3000));

    // Host 0: Backup when its routers start (1 ms); Master when the group is released
    // (both members in the same instant: one run, not two); Fault when `back` loses its
    // link at 1000 ms (`front`, held, follows into Backup: no second run); Backup when
    // the link is back (`back` recovered) at 2000 ms; Master at 2341.40625 ms. Each
    // transition runs its hook then `any`, 50 ms apart (one at a time).
    let m0 = at_ns(342_406_250);
    let m1 = at_ns(2_341_406_250);
    assert_eq!(
        group_runs(&lan, 0),
        vec![
            run(ms(1), "backup", "initialize->backup startup"),
            run(ms(51), "any", "initialize->backup startup"),
            run(m0, "master", "backup->master sync_group"),
            run(plus_run(m0), "any", "backup->master sync_group"),
            run(ms(1000), "fault", "master->fault link_down"),
            run(ms(1050), "any", "master->fault link_down"),
            run(ms(2000), "backup", "fault->backup recovered"),
            run(ms(2050), "any", "fault->backup recovered"),
            run(m1, "master", "backup->master sync_group"),
            run(plus_run(m1), "any", "backup->master sync_group"),
        ]
    );
    // Host 1: Backup at start, Master when both its members take over at 1305.44375
    // ms, Backup when host 0's preempting adverts arrive at 2343.50625 ms.
    let m = at_ns(1_305_443_750);
    let b = at_ns(2_343_506_250);
    assert_eq!(
        group_runs(&lan, 1),
        vec![
            run(ms(1), "backup", "initialize->backup startup"),
            run(ms(51), "any", "initialize->backup startup"),
            run(m, "master", "backup->master sync_group"),
            run(plus_run(m), "any", "backup->master sync_group"),
            run(b, "backup", "master->backup higher_priority_advert"),
            run(plus_run(b), "any", "master->backup higher_priority_advert"),
        ]
    );
    assert_no_breach(&lan);
    // The status shows the group's own counters, the same under each member: host 0's
    // ten runs, all ended.
    lan.act(Act::Status(0));
    let t = lan.now();
    lan.run_until(t + Duration::from_millis(5));
    let status = lan
        .timeline()
        .iter()
        .filter(|e| e.host == 0)
        .find_map(|e| match &e.what {
            Seen::Reply(vipd_api::Response::Status(s)) => Some(s.clone()),
            _ => None,
        })
        .expect("a status reply");
    for i in &status.instances {
        let n = i
            .group
            .as_ref()
            .and_then(|g| g.notify.clone())
            .expect("group hook counters");
        assert_eq!(
            (n.runs, n.failed, n.dropped, n.running, n.pending),
            (10, 0, 0, None, 0),
            "{}",
            i.name
        );
    }
}

#[test]
fn the_group_is_in_fault_while_any_member_is_and_leaves_it_once() {
    // keepalived's rule: one member in fault puts the group in fault; it stays there
    // while any member is, and leaves once the last recovers. Host 0 (master): eth1 down
    // at 1000 ms, eth0 down at 1200 ms, eth1 back at 1400 ms, eth0 back at 1600 ms.
    let mut lan = lan_of(grouped(150, false), grouped(100, false));
    lan.schedule(ms(1000), Act::IfaceLink(0, IFACE2, false));
    lan.schedule(ms(1200), Act::IfaceLink(0, IFACE, false));
    lan.schedule(ms(1400), Act::IfaceLink(0, IFACE2, true));
    lan.schedule(ms(1600), Act::IfaceLink(0, IFACE, true));
    lan.run_until(ms(1700));
    assert_eq!(
        lan.entered(0, "front", State::Fault, ms(1000)),
        Some(ms(1200))
    );
    assert_eq!(
        lan.entered(0, "back", State::Backup, ms(1000)),
        Some(ms(1400))
    );
    let runs: Vec<(Instant, &str, String)> = group_runs(&lan, 0)
        .into_iter()
        .filter(|(t, _, _)| *t >= ms(1000))
        .collect();
    assert_eq!(
        runs,
        vec![
            run(ms(1000), "fault", "master->fault link_down"),
            run(ms(1050), "any", "master->fault link_down"),
            run(ms(1600), "backup", "fault->backup recovered"),
            run(ms(1650), "any", "fault->backup recovered"),
        ]
    );
}

#[test]
fn the_group_hook_gets_its_group_members_and_vips_and_keepalived_arguments() {
    let mut lan = lan_of(grouped(150, true), grouped(100, true));
    lan.run_until(ms(1000));
    let master = lan
        .timeline()
        .iter()
        .filter(|e| e.host == 0)
        .find_map(|e| match &e.what {
            Seen::Hook {
                owner,
                hook: "master",
                argv,
                env,
                timeout,
                ..
            } => Some((e.at, owner.clone(), argv.clone(), env.clone(), *timeout)),
            _ => None,
        })
        .expect("a master run");
    let (t, owner, argv, mut env, timeout) = master;
    assert_eq!(t, at_ns(342_406_250));
    assert_eq!(owner, "lb");
    assert_eq!(argv, ["/g/master", "GROUP", "lb", "MASTER", "0"]);
    assert_eq!(timeout, Duration::from_secs(10));
    env.sort();
    let expected: Vec<(String, String)> = [
        ("PATH", vipd_node::notify::HOOK_PATH),
        ("VIPD_GROUP", "lb"),
        ("VIPD_HOOK", "master"),
        ("VIPD_INSTANCES", "front back"),
        ("VIPD_PREVIOUS", "backup"),
        ("VIPD_REASON", "sync_group"),
        ("VIPD_STATE", "master"),
        ("VIPD_VIPS", "192.0.2.50/24 192.0.2.150/24"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(env, expected);
}

#[test]
fn group_and_member_hooks_run_in_queues_of_their_own() {
    // Each member has its own hooks too; every run is answered after 500 ms. Each owner
    // runs backup at 1 ms, its `any` at 501 ms, the master transition (342.40625 ms)
    // waits in its FIFO until 1001 ms, its `any` at 1501 ms: the same instants for the
    // group and both members, so none waits for another's runs (one shared queue would
    // spread the nine runs 500 ms apart).
    let mut a = grouped(150, false);
    let mut b = grouped(100, false);
    for c in [&mut a, &mut b] {
        for i in &mut c.instances {
            i.notify = every_hook("/i");
        }
    }
    let mut lan = Lan::builder().two_segments().host(a).host(b).build();
    lan.act(Act::SetHooks(0, Some((Duration::from_millis(500), ok()))));
    lan.start_all();
    lan.run_until(ms(2000));
    let starts = |owner: &str, hook: &str| -> Vec<Instant> {
        lan.timeline()
            .iter()
            .filter(|e| e.host == 0)
            .filter_map(|e| match &e.what {
                Seen::Hook {
                    owner: o, hook: k, ..
                } if o == owner && *k == hook => Some(e.at),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        lan.entered(0, "front", State::Master, ms(0)),
        Some(at_ns(342_406_250))
    );
    for owner in ["lb", "front", "back"] {
        assert_eq!(starts(owner, "backup"), vec![ms(1)], "{owner}");
        assert_eq!(starts(owner, "any"), vec![ms(501), ms(1501)], "{owner}");
        assert_eq!(starts(owner, "master"), vec![ms(1001)], "{owner}");
    }
}

#[test]
fn a_stopping_node_runs_the_group_stop_hook_and_waits_for_it() {
    let mut lan = lan_of(grouped(150, false), grouped(100, false));
    lan.run_until(ms(1000));
    lan.act(Act::Stop(0));
    lan.run_until(ms(3000));
    let runs: Vec<(Instant, &str, String)> = group_runs(&lan, 0)
        .into_iter()
        .filter(|(t, _, _)| *t >= ms(1000))
        .collect();
    // Both members stop in the same instant: the group goes from Master to Stopped in
    // one transition (no Backup on the way).
    assert_eq!(
        runs,
        vec![
            run(ms(1000), "stopped", "master->stopped shutdown"),
            run(ms(1050), "any", "master->stopped shutdown"),
        ]
    );
    let exit = lan.seen(0, |s| matches!(s, Seen::Exit(Ok(()))));
    assert_eq!(exit.len(), 1);
    // The exit waits for the group's `any` run, answered at 1100 ms (the VIP handover
    // ended before: host 1 is master a Skew_Time after hearing priority 0, at
    // 1061.0375 ms, and host 0 removes its VIPs once it hears host 1).
    assert_eq!(exit[0], ms(1100));
    assert!(
        lan.entered(1, "front", State::Master, ms(1000)) < Some(ms(1100)),
        "the handover ended before the hooks"
    );
}
