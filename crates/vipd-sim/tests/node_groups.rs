//! Sync groups at node level, with exact instants: a frontend instance (`front`, eth0,
//! VRID 51, VIP 192.0.2.50) and a backend one (`back`, eth1 on a second segment, VRID
//! 52, VIP 192.0.2.150) in one group `lb`, on two hosts: host 0 at priority 150, host 1
//! at 100, adverts every 100 ms, preempt on.
//!
//! Defaults: job latency 2 ms, read latency 1 ms, network 100 µs. Both hosts start at
//! 0; their first kernel read is answered at 1 ms, when the routers start (held: they
//! are group members). Master_Down_Interval at priority 150: 300 ms + 106/256 × 100 ms
//! = 341.40625 ms; at 100: 300 ms + 156/256 × 100 ms = 360.9375 ms. Skew_Time at 100:
//! 60.9375 ms. Host 0's members are both ready at 1 + 341.40625 ms and the group is
//! released: both master at 342.40625 ms, VIPs confirmed (one job per interface, in
//! parallel) and first adverts at 344.40625 ms, then every 100 ms: the last before 1 s
//! goes out at 944.40625 ms and is heard at 944.50625 ms.

mod common;

use std::net::IpAddr;

use common::*;
use vipd_engine::State;
use vipd_node::config::{
    CheckConfig, CheckInit, CheckKind, Config, GroupConfig, ProcessMatch, Track,
};
use vipd_node::CheckResult;
use vipd_sim::cfg::node::{config, instance, vip};
use vipd_sim::lan::{Act, HostId, Lan, IFACE2};

fn front() -> IpAddr {
    vip("192.0.2.50/24").addr
}

fn back() -> IpAddr {
    vip("192.0.2.150/24").addr
}

/// `front` on eth0 and `back` on eth1 at `priority`, in group `lb`.
fn grouped(priority: u8) -> Config {
    let mut b = instance("back", 52, priority, 100, &["192.0.2.150/24"]);
    b.interface = IFACE2.into();
    let mut c = config(vec![
        instance("front", 51, priority, 100, &["192.0.2.50/24"]),
        b,
    ]);
    c.groups = vec![GroupConfig {
        name: "lb".into(),
        instances: vec!["front".into(), "back".into()],
        notify: vipd_node::notify::NotifyConfig::none(),
    }];
    c
}

fn lan_of(a: Config, b: Config) -> Lan {
    let mut lan = Lan::builder().two_segments().host(a).host(b).build();
    lan.start_all();
    lan
}

fn both(lan: &Lan, h: HostId) -> (Option<State>, Option<State>) {
    (lan.state(h, "front"), lan.state(h, "back"))
}

fn ready_held(lan: &Lan, h: HostId, name: &str) -> (bool, bool) {
    let node = lan.node(h).expect("running");
    let (_, r) = node
        .instances()
        .find(|(n, _)| *n == name)
        .expect("instance");
    let r = r.expect("router");
    (r.ready(), r.held())
}

const MASTER: (Option<State>, Option<State>) = (Some(State::Master), Some(State::Master));
const BACKUP: (Option<State>, Option<State>) = (Some(State::Backup), Some(State::Backup));

#[test]
fn the_group_becomes_master_together_at_start() {
    let mut lan = lan_of(grouped(150), grouped(100));
    lan.run_until(ms(1000));
    assert_eq!(
        lan.entered(0, "front", State::Master, ms(0)),
        Some(at_ns(342_406_250))
    );
    assert_eq!(
        lan.entered(0, "back", State::Master, ms(0)),
        Some(at_ns(342_406_250))
    );
    assert_eq!(both(&lan, 0), MASTER);
    assert_eq!(both(&lan, 1), BACKUP);
    assert_eq!(lan.holders(front()), vec![0]);
    assert_eq!(lan.holders(back()), vec![0]);
    assert_eq!(lan.adverts(0, 150).first(), Some(&at_ns(344_406_250)));
    assert_no_breach(&lan);
}

#[test]
fn a_member_that_cannot_start_holds_the_whole_group() {
    // Host 0's backend interface is down from the start: `back` is in Fault, so `front`
    // never becomes master there although it has the higher priority; host 1's
    // members are both master at 1 + 360.9375 ms (host 0 sends nothing).
    let mut lan = Lan::builder()
        .two_segments()
        .host(grouped(150))
        .host(grouped(100))
        .build();
    lan.act(Act::IfaceLink(0, IFACE2, false));
    lan.start_all();
    lan.run_until(ms(2000));
    assert_eq!(lan.entered(0, "front", State::Master, ms(0)), None);
    assert_eq!(both(&lan, 0), (Some(State::Backup), Some(State::Fault)));
    assert_eq!(ready_held(&lan, 0, "front"), (true, true));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(
        lan.entered(1, "back", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(lan.holders(front()), vec![1]);
    assert_eq!(lan.holders(back()), vec![1]);
    assert_no_breach(&lan);
}

#[test]
fn backend_link_down_on_the_master_moves_both_and_plugging_it_back_moves_both_back() {
    let mut lan = lan_of(grouped(150), grouped(100));
    lan.run_until(ms(1000));
    lan.act(Act::IfaceLink(0, IFACE2, false));
    // 1000: host 0's `back` goes to Fault (its VIP removed at once: 1002 ms); the group
    // holds `front`, which hands over make-before-break: priority 0 at 1000 ms on eth0,
    // its VIP kept.
    assert_eq!(
        lan.entered(0, "back", State::Fault, ms(1000)),
        Some(ms(1000))
    );
    assert_eq!(
        lan.entered(0, "front", State::Backup, ms(1000)),
        Some(ms(1000))
    );
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    // Host 1: `front` heard the priority 0 at 1000.1 ms and is ready Skew_Time later,
    // at 1061.0375 ms, but held: `back` still waits for the master it last heard at
    // 944.50625 ms, until 944.50625 + 360.9375 = 1305.44375 ms. Then both are master
    // in the same instant.
    lan.run_until(ms(1100));
    assert_eq!(both(&lan, 1), BACKUP);
    assert_eq!(ready_held(&lan, 1, "front"), (true, true));
    assert_eq!(ready_held(&lan, 1, "back"), (false, true));
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(1000)),
        Some(at_ns(1_305_443_750))
    );
    assert_eq!(
        lan.entered(1, "back", State::Master, ms(1000)),
        Some(at_ns(1_305_443_750))
    );
    // Host 1's VIPs are confirmed at 1307.44375 ms, with its first adverts; host 0 hears
    // the frontend one at 1307.54375 ms and removes its VIP 20 ms later (done at
    // 1329.54375 ms), well inside its handover bound (1000 + 399.609375 ms:
    // Master_Down_Interval at priority 1, the longest any router with 100 ms adverts
    // waits).
    assert_eq!(lan.holders(front()), vec![1]);
    assert_eq!(lan.holders(back()), vec![1]);
    assert_eq!(
        jobs_done(&lan, 0, false).last(),
        Some(&(at_ns(1_329_543_750), true))
    );
    // Host 0's `front` hears a lower priority (preempt): ready at 1000 + 341.40625 ms,
    // held by `back` in Fault.
    assert_eq!(both(&lan, 0), (Some(State::Backup), Some(State::Fault)));
    assert_eq!(ready_held(&lan, 0, "front"), (true, true));
    // Plugged back at 2 s: `back` is Backup and, hearing only host 1's lower priority,
    // ready at 2000 + 341.40625 ms; the group is released and both preempt together.
    lan.act(Act::IfaceLink(0, IFACE2, true));
    lan.run_until(ms(3000));
    assert_eq!(
        lan.entered(0, "front", State::Master, ms(2000)),
        Some(at_ns(2_341_406_250))
    );
    assert_eq!(
        lan.entered(0, "back", State::Master, ms(2000)),
        Some(at_ns(2_341_406_250))
    );
    // Host 0's adverts at 2343.40625 ms reach host 1 at 2343.50625 ms: both back.
    assert_eq!(
        lan.entered(1, "front", State::Backup, ms(2000)),
        Some(at_ns(2_343_506_250))
    );
    assert_eq!(
        lan.entered(1, "back", State::Backup, ms(2000)),
        Some(at_ns(2_343_506_250))
    );
    assert_eq!(lan.holders(front()), vec![0]);
    assert_eq!(lan.holders(back()), vec![0]);
    assert_no_breach(&lan);
}

/// `grouped(priority)` with `back` tracking the process check `db` (fault).
fn grouped_tracking(priority: u8) -> Config {
    let mut c = grouped(priority);
    c.checks.insert(
        "db".into(),
        CheckConfig {
            kind: CheckKind::Process(ProcessMatch {
                pidfile: Some("/run/db.pid".into()),
                name: None,
                user: None,
            }),
            interval: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_millis(500),
            rise: 1,
            fall: 1,
            init: CheckInit::Up,
        },
    );
    c.instances[1].track = vec![Track {
        check: "db".into(),
        weight: 0,
    }];
    c
}

#[test]
fn a_failing_tracked_check_of_one_member_moves_both() {
    let mut lan = lan_of(grouped_tracking(150), grouped(100));
    lan.run_until(ms(1000));
    assert_eq!(both(&lan, 0), MASTER);
    lan.act(Act::SetCheck(
        0,
        "db".into(),
        Some(CheckResult::Process {
            pids: vec![],
            why: Some("pid 100 exited".into()),
        }),
    ));
    // 1000: `back` to Fault with priority 0 on eth1 (a tracked fault is not a dead
    // link), `front` held: priority 0 on eth0, make-before-break. Host 1 hears both at
    // 1000.1 ms; each member is ready Skew_Time later, 1061.0375 ms: both master then.
    assert_eq!(lan.adverts(0, 0), vec![ms(1000), ms(1000)]);
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(1000)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(
        lan.entered(1, "back", State::Master, ms(1000)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(both(&lan, 0), (Some(State::Backup), Some(State::Fault)));
    assert_eq!(lan.holders(front()), vec![1]);
    assert_eq!(lan.holders(back()), vec![1]);
    // The process is back at 2 s: `back` waits Master_Down_Interval and both preempt
    // together at 2000 + 341.40625 ms.
    lan.act(Act::SetCheck(
        0,
        "db".into(),
        Some(CheckResult::Process {
            pids: vec![200],
            why: None,
        }),
    ));
    lan.run_until(ms(3000));
    assert_eq!(
        lan.entered(0, "front", State::Master, ms(2000)),
        Some(at_ns(2_341_406_250))
    );
    assert_eq!(
        lan.entered(0, "back", State::Master, ms(2000)),
        Some(at_ns(2_341_406_250))
    );
    assert_eq!(lan.holders(front()), vec![0]);
    assert_eq!(lan.holders(back()), vec![0]);
    assert_no_breach(&lan);
}

#[test]
fn a_partitioned_backend_segment_does_not_split_the_group() {
    let mut lan = lan_of(grouped(150), grouped(100));
    lan.run_until(ms(1000));
    // The backend segment splits at 1 s; the frontend still joins the hosts. Host 1's
    // `back` last heard host 0 at 944.50625 ms: ready at 1305.44375 ms. Without the
    // group it would take the backend VIP (a split brain on eth1); held by `front`,
    // which still follows host 0, it stays Backup.
    lan.act(Act::PartitionSegment(IFACE2, vec![vec![0], vec![1]]));
    lan.run_until(ms(1_305_443_750 / 1_000_000));
    assert_eq!(ready_held(&lan, 1, "back"), (false, true));
    lan.run_until(ms(3000));
    assert_eq!(ready_held(&lan, 1, "back"), (true, true));
    assert_eq!(both(&lan, 1), BACKUP);
    assert_eq!(both(&lan, 0), MASTER);
    assert_eq!(lan.holders(back()), vec![0]);
    assert_eq!(lan.holders(front()), vec![0]);
    // Healed at 3 s: host 1's `back` hears host 0 again and waits for it as before.
    lan.act(Act::Heal);
    lan.run_until(ms(4000));
    assert_eq!(ready_held(&lan, 1, "back"), (false, true));
    assert_eq!(lan.entered(1, "back", State::Master, ms(0)), None);
    assert_eq!(lan.entered(1, "front", State::Master, ms(0)), None);
    assert_eq!(
        lan.transitions(0)
            .iter()
            .filter(|(t, ..)| *t > ms(1000))
            .count(),
        0
    );
    assert_no_breach(&lan);
}

#[test]
fn a_full_partition_makes_each_side_master_of_both_and_healing_restores_one() {
    let mut lan = lan_of(grouped(150), grouped(100));
    lan.run_until(ms(1000));
    // Both segments split: host 1 hears nobody; both members are ready at
    // 944.50625 + 360.9375 = 1305.44375 ms and it becomes master of both (a split
    // brain on both segments, as for instances without a group).
    lan.act(Act::Partition(vec![vec![0], vec![1]]));
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(1000)),
        Some(at_ns(1_305_443_750))
    );
    assert_eq!(
        lan.entered(1, "back", State::Master, ms(1000)),
        Some(at_ns(1_305_443_750))
    );
    assert_eq!(both(&lan, 0), MASTER);
    // Healed at 2 s: host 1's adverts (every 100 ms from 1307.44375 ms) reach host 0 at
    // 2007.54375 ms; host 0, master at a higher priority, answers at once, and host 1
    // yields on both segments when the answers arrive, 2007.64375 ms.
    lan.act(Act::Heal);
    lan.run_until(ms(3000));
    assert_eq!(
        lan.entered(1, "front", State::Backup, ms(2000)),
        Some(at_ns(2_007_643_750))
    );
    assert_eq!(
        lan.entered(1, "back", State::Backup, ms(2000)),
        Some(at_ns(2_007_643_750))
    );
    assert_eq!(both(&lan, 0), MASTER);
    assert_eq!(lan.holders(front()), vec![0]);
    assert_eq!(lan.holders(back()), vec![0]);
    assert_no_breach(&lan);
}

#[test]
fn maintenance_of_one_member_moves_the_group_and_status_says_why() {
    let mut lan = lan_of(grouped(150), grouped(100));
    lan.run_until(ms(1000));
    lan.act(Act::Maintenance {
        host: 0,
        on: true,
        instances: vec!["back".into()],
        caller: vipd_node::Caller::root(),
    });
    // Both hand over at 1000 ms (priority 0 on each segment); host 1 is master of both
    // Skew_Time after hearing them: 1061.0375 ms.
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(1000)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(
        lan.entered(1, "back", State::Master, ms(1000)),
        Some(at_ns(1_061_037_500))
    );
    let node = lan.node(0).expect("running");
    let view = node.group_view("front").expect("in a group");
    assert_eq!(view.name, "lb");
    assert_eq!(view.waiting_for, vec![("back".to_string(), "maintenance")]);
    // The control socket's status says the same: `front` held and ready (host 1's
    // lower priority is not followed), waiting for `back` in maintenance.
    lan.act(Act::Status(0));
    lan.run_until(ms(2005));
    let replies: Vec<vipd_api::Response> = lan
        .timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match &e.what {
            vipd_sim::lan::Seen::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let Some(vipd_api::Response::Status(st)) = replies.last() else {
        panic!("no status reply: {replies:?}");
    };
    let front = st
        .instances
        .iter()
        .find(|i| i.name == "front")
        .expect("front");
    assert_eq!(
        front.group,
        Some(vipd_api::GroupMembership {
            name: "lb".into(),
            held: true,
            ready: true,
            waiting_for: vec![vipd_api::GroupWait {
                instance: "back".into(),
                state: "maintenance".into(),
            }],
            notify: None,
        })
    );
    assert_eq!(front.reason, "sync_group");
    assert_no_breach(&lan);
}

#[test]
fn without_the_group_the_same_failure_splits_the_pair_across_hosts() {
    // The contrast: the same two instances with no `groups`. Host 0's backend link goes
    // down at 1 s; host 0 stays master of `front` while host 1 takes `back` at
    // 944.50625 + 360.9375 = 1305.44375 ms: the frontend VIP on one host, the backend
    // VIP on the other.
    let mut a = grouped(150);
    a.groups.clear();
    let mut b = grouped(100);
    b.groups.clear();
    let mut lan = lan_of(a, b);
    lan.run_until(ms(1000));
    lan.act(Act::IfaceLink(0, IFACE2, false));
    lan.run_until(ms(2000));
    assert_eq!(both(&lan, 0), (Some(State::Master), Some(State::Fault)));
    assert_eq!(both(&lan, 1), (Some(State::Backup), Some(State::Master)));
    assert_eq!(
        lan.entered(1, "back", State::Master, ms(1000)),
        Some(at_ns(1_305_443_750))
    );
    assert_eq!(lan.holders(front()), vec![0]);
    assert_eq!(lan.holders(back()), vec![1]);
    assert_no_breach(&lan);
}

#[test]
fn a_reload_that_adds_the_group_applies_it_at_once() {
    // Ungrouped, host 0's backend link goes down at 1 s: it keeps `front`, host 1 takes
    // `back` at 1305.44375 ms (as in the contrast test above).
    let mut a = grouped(150);
    a.groups.clear();
    let mut b = grouped(100);
    b.groups.clear();
    let mut lan = lan_of(a, b);
    lan.run_until(ms(1000));
    lan.act(Act::IfaceLink(0, IFACE2, false));
    lan.run_until(ms(2000));
    assert_eq!(both(&lan, 0), (Some(State::Master), Some(State::Fault)));
    // Host 0 reloads with the group at 2 s (the instances unchanged): `front` is held
    // at once and hands over (priority 0 at 2000 ms); host 1's `front` takes over
    // Skew_Time after hearing it: 2000.1 + 60.9375 = 2061.0375 ms.
    lan.act(Act::Reload(0, grouped(150)));
    assert_eq!(lan.adverts(0, 0), vec![ms(2000)]);
    assert_eq!(
        lan.entered(0, "front", State::Backup, ms(2000)),
        Some(ms(2000))
    );
    lan.run_until(ms(3000));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(2000)),
        Some(at_ns(2_061_037_500))
    );
    assert_eq!(lan.holders(front()), vec![1]);
    assert_eq!(lan.holders(back()), vec![1]);
    assert_eq!(ready_held(&lan, 0, "front"), (true, true));
    assert_no_breach(&lan);
}

#[test]
fn a_held_master_keeps_its_vip_until_the_other_groups_slowest_member_took_over() {
    let mut lan = lan_of(grouped(150), grouped(100));
    // The backend cable is pulled just after host 0's advert of 944.40625 ms went out
    // (heard at 944.50625 ms): host 1's `back` needs its whole Master_Down_Interval,
    // until 944.50625 + 360.9375 = 1305.44375 ms, longer than host 0's own
    // (944.5 + 341.40625 = 1285.90625 ms). Host 0's `front` keeps its VIP for
    // Master_Down_Interval at priority 1 (399.609375 ms, until 1344.109375 ms), so it
    // is still there when host 1 adds it (done at 1307.44375 ms) and goes only after
    // host 1's advert is heard (1307.54375 ms) + 20 ms, removal done at 1329.54375 ms.
    lan.run_until(at_ns(944_500_000));
    lan.act(Act::IfaceLink(0, IFACE2, false));
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(1, "front", State::Master, ms(900)),
        Some(at_ns(1_305_443_750))
    );
    assert_eq!(
        jobs_done(&lan, 1, true).first(),
        Some(&(at_ns(1_307_443_750), true))
    );
    assert_eq!(
        jobs_done(&lan, 0, false).last(),
        Some(&(at_ns(1_329_543_750), true))
    );
    assert_eq!(lan.holders(front()), vec![1]);
    assert_no_breach(&lan);
}
