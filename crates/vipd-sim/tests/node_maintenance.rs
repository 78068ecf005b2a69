//! Node-level scenarios of maintenance (`vipctl maintenance on|off`) and of who may ask
//! for it. Defaults as in node_handover.rs: host 0 (priority 150) master from
//! 342.40625 ms, host 1 (priority 100) backup; job 2 ms, network 100 µs, adverts every
//! 100 ms; Skew_Time of host 1: 60.9375 ms; Master_Down_Interval of host 0: 341.40625 ms.

mod common;

use common::*;
use vipd_api::Response;
use vipd_engine::State;
use vipd_node::{Caller, Maintenance};
use vipd_sim::cfg::node::{web, ADMIN_GID};
use vipd_sim::lan::{Act, HostId, Lan, Seen};

fn maintenance(lan: &mut Lan, host: HostId, on: bool, instances: &[&str], caller: Caller) {
    lan.act(Act::Maintenance {
        host,
        on,
        instances: instances.iter().map(|s| s.to_string()).collect(),
        caller,
    });
}

fn user(uid: u32, gid: u32, groups: &[u32]) -> Caller {
    Caller {
        uid,
        gid,
        groups: groups.to_vec(),
    }
}

fn replies(lan: &Lan, h: HostId) -> Vec<Response> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Reply(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn saved(lan: &Lan, h: HostId) -> Vec<Maintenance> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Saved(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn status_of(lan: &mut Lan, h: HostId) -> vipd_api::InstanceStatus {
    lan.act(Act::Status(h));
    let t = lan.now();
    lan.run_until(t + std::time::Duration::from_millis(5));
    match replies(lan, h).pop() {
        Some(Response::Status(s)) => s.instances[0].clone(),
        other => panic!("no status: {other:?}"),
    }
}

#[test]
fn maintenance_on_hands_over_make_before_break_and_stays_backup_across_a_restart() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    maintenance(&mut lan, 0, true, &[], Caller::root());
    // 1000: priority 0, backup (maintenance), the VIP kept; host 1 master at
    // 1061.0375, first advert at 1063.0375, heard at 1063.1375: host 0 removes it then.
    lan.run_until(ms(2000));
    assert_eq!(lan.adverts(0, 0), vec![ms(1000)]);
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(500)),
        Some(ms(1000))
    );
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(
        jobs_asked(&lan, 0, false),
        vec![ms(1), at_ns(1_063_137_500)]
    );
    assert_eq!(
        replies(&lan, 0),
        vec![Response::Done {
            v: 1,
            message: "maintenance on for every instance".into()
        }]
    );
    assert_eq!(saved(&lan, 0), vec![Maintenance::everything()]);
    let st = status_of(&mut lan, 0);
    assert!(st.maintenance);
    assert_eq!(st.reason, "maintenance");
    assert_eq!(st.state, vipd_api::State::Backup);
    // A reload does not end it, nor does a restart: host 0 (150) never preempts host 1.
    lan.act(Act::Reload(0, web(150, 100)));
    lan.run_until(ms(3000));
    lan.act(Act::Stop(0));
    lan.run_until(ms(4000));
    lan.act(Act::Start(0));
    lan.run_until(ms(10_000));
    assert_eq!(lan.state(0, "web"), Some(State::Backup));
    assert_eq!(jobs_asked(&lan, 0, true), vec![at_ns(342_406_250)]);
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert!(status_of(&mut lan, 0).maintenance);
    // Off at 10010: Master_Down_Interval as at start, 341.40625 ms; host 1's adverts
    // (lower, preempted) do not hold it back: master at 10351.40625, add → 10353.40625.
    lan.run_until(ms(10_010));
    maintenance(&mut lan, 0, false, &[], Caller::root());
    lan.run_until(ms(11_000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(10_000)),
        Some(at_ns(10_351_406_250))
    );
    assert!(lan.adverts(0, 150).contains(&at_ns(10_353_406_250)));
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_eq!(saved(&lan, 0).last(), Some(&Maintenance::default()));
    assert!(!status_of(&mut lan, 0).maintenance);
    assert_no_breach(&lan);
}

#[test]
fn maintenance_is_refused_to_others_and_nothing_changes() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    // uid 1000, not in the admin group: refused.
    maintenance(&mut lan, 0, true, &["web"], user(1000, 1000, &[4, 27]));
    lan.run_until(ms(2000));
    match replies(&lan, 0).as_slice() {
        [Response::Error { message, .. }] => {
            assert!(message.starts_with("permission denied"), "{message}")
        }
        other => panic!("expected one permission error: {other:?}"),
    }
    assert!(lan.adverts(0, 0).is_empty());
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(saved(&lan, 0).is_empty());
    assert!(!notes_with(&lan, 0, "refused: uid 1000").is_empty());
    // An unknown instance: refused, nothing changes.
    maintenance(&mut lan, 0, true, &["nope"], Caller::root());
    lan.run_until(ms(2100));
    assert!(lan.adverts(0, 0).is_empty());
    assert!(saved(&lan, 0).is_empty());
    // A member of the admin group (supplementary group): allowed.
    maintenance(&mut lan, 0, true, &["web"], user(1000, 1000, &[ADMIN_GID]));
    lan.run_until(ms(3000));
    assert_eq!(lan.adverts(0, 0), vec![ms(2100)]);
    assert_eq!(
        notes_with(&lan, 0, "maintenance on for web by uid 1000"),
        vec![ms(2100)]
    );
    assert_eq!(lan.holders(vip50()), vec![1]);
    assert_no_breach(&lan);
}
