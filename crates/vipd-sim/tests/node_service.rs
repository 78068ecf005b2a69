//! What a node tells its service manager (systemd's sd_notify protocol, carried by the
//! shell): ready once every instance runs or says why it cannot, ready again after a
//! reload, stopping, and a status line whenever it changes — with exact instants.
//!
//! Defaults as in node_handover.rs: host 0 (priority 150) master from 342.40625 ms,
//! host 1 (priority 100) backup; read latency 1 ms (the first read is answered at 1 ms,
//! when the instance starts); network 100 µs, adverts every 100 ms.

mod common;

use common::{ms, pair};
use vipd_engine::Instant;
use vipd_node::service::ServiceNote;
use vipd_sim::cfg::node::{instance, web};
use vipd_sim::lan::{Act, HostId, Lan, Seen};

fn notes(lan: &Lan, h: HostId) -> Vec<(Instant, ServiceNote)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Service(n) => Some((e.at, n.clone())),
            _ => None,
        })
        .collect()
}

fn status(s: &str) -> ServiceNote {
    ServiceNote::Status(s.into())
}

#[test]
fn ready_when_the_instance_starts_and_the_line_follows_the_election() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    let master_at = Instant::from_nanos(342_406_250);
    assert_eq!(
        notes(&lan, 0),
        [
            (ms(1), status("web waiting")),
            (ms(1), ServiceNote::Ready),
            (ms(1), status("web backup")),
            (master_at, status("web master")),
        ]
    );
    assert_eq!(
        notes(&lan, 1),
        [
            (ms(1), status("web waiting")),
            (ms(1), ServiceNote::Ready),
            (ms(1), status("web backup")),
        ]
    );
}

#[test]
fn an_instance_without_its_interface_does_not_hold_readiness_back() {
    let mut c = web(150, 100);
    let mut other = instance("api", 52, 150, 100, &["192.0.2.60/24"]);
    other.interface = "eth9".into();
    c.instances.push(other);
    let mut lan = Lan::builder().host(c).build();
    lan.start_all();
    lan.run_until(ms(500));
    let n = notes(&lan, 0);
    // Ready at the first read's answer: web runs, api knows why it waits.
    assert_eq!(n[1], (ms(1), ServiceNote::Ready));
    assert_eq!(n[2], (ms(1), status("web backup, api waiting")));
    assert_eq!(
        n.iter().filter(|(_, x)| *x == ServiceNote::Ready).count(),
        1
    );
}

#[test]
fn a_reload_is_followed_by_ready_and_a_stop_says_stopping_and_nothing_after() {
    let mut lan = pair();
    lan.run_until(ms(500));
    let mut c = web(150, 100);
    c.instances[0].priority = 120;
    lan.schedule(ms(600), Act::Reload(0, c));
    lan.schedule(ms(700), Act::ReloadFails(0, "bad file".into()));
    lan.schedule(ms(800), Act::Stop(0));
    lan.run_until(ms(3000));
    let after: Vec<(Instant, ServiceNote)> = notes(&lan, 0)
        .into_iter()
        .filter(|(t, _)| *t >= ms(600))
        .collect();
    let readies: Vec<Instant> = after
        .iter()
        .filter(|(_, n)| *n == ServiceNote::Ready)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(readies, [ms(600), ms(700)], "{after:?}");
    let stopping: Vec<&(Instant, ServiceNote)> = after
        .iter()
        .filter(|(_, n)| *n == ServiceNote::Stopping)
        .collect();
    assert_eq!(stopping, [&(ms(800), ServiceNote::Stopping)]);
    // Stopping is the last thing said.
    assert_eq!(after.last(), Some(&(ms(800), ServiceNote::Stopping)));
}

#[test]
fn maintenance_and_checks_show_in_the_line() {
    use vipd_node::config::{CheckConfig, CheckInit, CheckKind};
    let mut c = web(150, 100);
    let link = CheckConfig {
        kind: CheckKind::Interface("eth0".into()),
        interval: std::time::Duration::from_secs(1),
        timeout: std::time::Duration::from_millis(500),
        rise: 1,
        fall: 1,
        init: CheckInit::Up,
    };
    c.checks.insert("link".into(), link);
    let mut lan = Lan::builder().host(c).build();
    lan.start_all();
    lan.schedule(
        ms(500),
        Act::Maintenance {
            host: 0,
            on: true,
            instances: vec![],
            caller: vipd_node::Caller {
                uid: 0,
                gid: 0,
                groups: vec![],
            },
        },
    );
    lan.run_until(ms(1000));
    let lines: Vec<String> = notes(&lan, 0)
        .into_iter()
        .filter_map(|(_, n)| match n {
            ServiceNote::Status(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(
        lines.contains(&"web backup; 1 check up".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("web ") && l.contains("(maintenance); 1 check up")),
        "{lines:?}"
    );
}
