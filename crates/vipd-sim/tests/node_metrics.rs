//! The status a node publishes for the metrics endpoint (`metrics:` configured): after
//! every kernel read (once a second when nothing prompts one) and after every state
//! change, with the counters the endpoint shows.
//!
//! Defaults as in node_handover.rs: host 0 (priority 150) master from 342.40625 ms,
//! host 1 (priority 100) backup; read latency 1 ms (a node reads at start, answered at
//! 1 ms, when its instance starts, and every second after: answered at 1001, 2001, ...
//! ms); network 100 µs, adverts every 100 ms. Here checks answer after 3 ms.

use std::net::SocketAddr;
use std::time::Duration;

use vipd_api::{State, Status};
use vipd_engine::Instant;
use vipd_node::config::{
    CheckConfig, CheckInit, CheckKind, Config, HostPort, HttpCheck, MetricsConfig, StatusMatch,
};
use vipd_node::CheckResult;
use vipd_sim::cfg::node::web;
use vipd_sim::lan::{Act, HostId, Lan, Seen, SIM_EPOCH_NS};

const MS: u64 = 1_000_000;

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * MS)
}

fn with_metrics(mut c: Config) -> Config {
    let listen: SocketAddr = "127.0.0.1:9650".parse().expect("address");
    c.metrics = Some(MetricsConfig { listen });
    c
}

fn published(lan: &Lan, h: HostId) -> Vec<(Instant, Status)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::PublishedStatus(s) => Some((e.at, (**s).clone())),
            _ => None,
        })
        .collect()
}

fn pair() -> Lan {
    let mut lan = Lan::builder()
        .host(with_metrics(web(150, 100)))
        .host(web(100, 100))
        .build();
    lan.start_all();
    lan
}

#[test]
fn published_after_every_read_and_every_state_change_and_only_with_metrics() {
    let mut lan = pair();
    lan.run_until(ms(2500));
    let p = published(&lan, 0);
    let mut at: Vec<Instant> = p.iter().map(|(t, _)| *t).collect();
    at.dedup();
    // Each read is answered read latency (1 ms) after it was asked; the state changes
    // are host 0's initialize → backup (1 ms) and backup → master (342.40625 ms).
    let mut expected: Vec<Instant> = lan
        .seen(0, |s| matches!(s, Seen::Read))
        .into_iter()
        .map(|t| t + lan.read_latency())
        .filter(|t| *t <= ms(2500))
        .chain(lan.transitions(0).into_iter().map(|(t, ..)| t))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(at, expected);
    assert_eq!(
        at,
        [
            ms(1),
            ms(4),
            Instant::from_nanos(342_406_250),
            Instant::from_nanos(345_406_250),
            Instant::from_nanos(1_345_406_250),
            Instant::from_nanos(2_345_406_250),
        ]
    );
    // Never more than a second and a read apart while nothing happens.
    assert!(at
        .windows(2)
        .all(|w| w[1].saturating_since(w[0]) <= Duration::from_millis(1001)));
    let state_at = |t: Instant| {
        p.iter()
            .rev()
            .find(|(at, _)| *at == t)
            .map(|(_, s)| s.instances[0].state)
    };
    assert_eq!(state_at(ms(1)), Some(State::Backup));
    assert_eq!(
        state_at(Instant::from_nanos(342_406_250)),
        Some(State::Master)
    );
    // The VIP as the newest read found it: not yet in the one published when host 0
    // became master (read at 4 ms), there after the read that followed its add.
    let present = |t: Instant| {
        p.iter()
            .rev()
            .find(|(at, _)| *at == t)
            .map(|(_, s)| s.instances[0].vips[0].present)
    };
    assert_eq!(present(Instant::from_nanos(342_406_250)), Some(false));
    assert_eq!(present(Instant::from_nanos(345_406_250)), Some(true));
    // Host 1 has no metrics: nothing published.
    assert!(published(&lan, 1).is_empty());
}

#[test]
fn counts_transitions_by_reason_and_dates_the_last_one() {
    let mut lan = pair();
    lan.run_until(ms(1500));
    let (_, s) = published(&lan, 0).pop().expect("published");
    let web = &s.instances[0];
    assert_eq!(web.transitions, 2);
    let reasons: Vec<(&str, u64)> = web
        .transitions_by_reason
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(reasons, [("master_down_timer", 1), ("startup", 1)]);
    // Master at 342.40625 ms on a node started at 0 (the simulation's epoch).
    // (An f64 near 1.7e9 resolves 0.24 µs.)
    let expected = (SIM_EPOCH_NS as f64 + 342_406_250.0) / 1e9;
    let got = web.last_transition_unix_s.expect("dated");
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
}

#[test]
fn a_polled_checks_duration_is_from_the_run_asked_to_its_result() {
    let mut c = with_metrics(web(150, 100));
    c.checks.insert(
        "nginx".into(),
        CheckConfig {
            kind: CheckKind::Http(HttpCheck {
                url: "http://127.0.0.1/healthz".into(),
                target: HostPort {
                    host: "127.0.0.1".into(),
                    port: 80,
                },
                host_header: "127.0.0.1".into(),
                path: "/healthz".into(),
                expect_status: vec![StatusMatch::Class(2)],
                expect_body: None,
            }),
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 1,
            fall: 1,
            init: CheckInit::Down,
        },
    );
    let mut lan = Lan::builder()
        .check_latency(Duration::from_millis(3))
        .host(c)
        .build();
    lan.act(Act::SetCheck(
        0,
        "nginx".into(),
        Some(CheckResult::Http {
            status: 200,
            body_matched: None,
        }),
    ));
    lan.start_all();
    lan.run_until(ms(1500));
    let (_, s) = published(&lan, 0).pop().expect("published");
    let check = &s.checks[0];
    assert_eq!((check.name.as_str(), check.up), ("nginx", true));
    assert_eq!(check.last_duration_s, Some(0.003));
}

/// `peers:` is reported in the status (for `vipctl status --cluster`) as configured,
/// and a reload's new list is reported from the next publication on.
#[test]
fn the_status_reports_the_configured_peers_and_a_reload_replaces_them() {
    let peer = |name: Option<&str>, a: &str| vipd_node::config::PeerConfig {
        name: name.map(str::to_owned),
        address: a.parse().expect("address"),
    };
    let mut c = with_metrics(web(150, 100));
    c.peers = vec![peer(Some("b"), "192.0.2.12:9650")];
    let mut lan = Lan::builder().host(c.clone()).host(web(100, 100)).build();
    lan.start_all();
    lan.run_until(ms(500));
    let shown = |s: &Status| -> Vec<(Option<String>, String)> {
        s.peers
            .iter()
            .map(|p| (p.name.clone(), p.address.clone()))
            .collect()
    };
    let p = published(&lan, 0);
    let (_, last) = p.last().expect("published by 500 ms");
    assert_eq!(
        shown(last),
        vec![(Some("b".into()), "192.0.2.12:9650".into())]
    );

    c.peers = vec![peer(None, "[2001:db8::12]:9650")];
    lan.schedule(ms(600), Act::Reload(0, c));
    lan.run_until(ms(1500));
    let p = published(&lan, 0);
    let after: Vec<_> = p.iter().filter(|(t, _)| *t > ms(600)).collect();
    assert!(!after.is_empty(), "published after the reload");
    for (t, s) in after {
        assert_eq!(
            shown(s),
            vec![(None, "[2001:db8::12]:9650".into())],
            "at {t:?}"
        );
    }
}
