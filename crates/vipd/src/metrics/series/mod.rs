//! The node's published [`Status`] as Prometheus series (text format 0.0.4), built with
//! prometheus-client from a snapshot: every scrape builds a fresh registry from the
//! newest status, so nothing here is updated from the daemon's loop.
//!
//! Where keepalived-exporter has an equivalent, the meaning follows it (the README's
//! "Metrics" section maps one to the other): `vipd_vrrp_state` numbers the states as
//! keepalived does (0 init, 1 backup, 2 master, 3 fault; 98 stopped, keepalived's
//! VRRP_STATE_STOP).

use std::fmt::Write as _;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use vipd_api::{State, Status};

mod families;

use families::{count, set, Families, Labels};

/// The `Content-Type` of what [`render`] writes.
pub(crate) const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// keepalived's number for a state (keepalived-exporter's `keepalived_vrrp_state`).
pub(crate) fn state_number(s: State) -> u8 {
    match s {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stopped => 98,
    }
}

/// The series for `status`, in the Prometheus text format.
pub fn render(status: &Status) -> String {
    let mut registry = Registry::default();
    let f = Families::registered(&mut registry);
    set(
        &f.build,
        vec![("version", env!("CARGO_PKG_VERSION").to_owned())],
        1.0,
    );
    for i in &status.instances {
        let id = || -> Labels {
            vec![
                ("vrrp_instance", i.name.clone()),
                ("interface", i.interface.clone()),
                ("vrid", i.vrid.to_string()),
            ]
        };
        let with = |k: &'static str, v: &str| {
            let mut l = id();
            l.push((k, v.to_owned()));
            l
        };
        set(&f.state, id(), f64::from(state_number(i.state)));
        set(
            &f.priority_configured,
            id(),
            f64::from(i.priority_configured),
        );
        set(&f.priority_effective, id(), f64::from(i.priority_effective));
        for (reason, n) in &i.transitions_by_reason {
            count(&f.transitions, with("reason", reason), *n);
        }
        if let Some(t) = i.last_transition_unix_s {
            set(&f.last_transition, id(), t);
        }
        count(&f.adverts_sent, id(), i.adverts_sent);
        count(&f.adverts_received, id(), i.adverts_received);
        for (reason, n) in &i.drops {
            count(&f.drops, with("reason", reason), *n);
        }
        count(&f.auth_alarms, id(), i.auth_alarms);
        if i.kernel_error.is_none() {
            for v in &i.vips {
                set(
                    &f.vip_present,
                    with("vip", &v.address),
                    if v.present { 1.0 } else { 0.0 },
                );
            }
        }
    }
    for iface in &status.interfaces {
        count(
            &f.unknown_vrid,
            vec![("interface", iface.name.clone())],
            iface.unknown_vrid,
        );
    }
    for c in &status.checks {
        let l = || -> Labels { vec![("check", c.name.clone()), ("kind", c.kind.clone())] };
        set(&f.check_up, l(), if c.up { 1.0 } else { 0.0 });
        if let Some(d) = c.last_duration_s {
            set(&f.check_duration, l(), d);
        }
        count(&f.check_results, l(), c.results);
        count(&f.check_failures, l(), c.failures);
    }
    for a in &status.announced {
        let id = || -> Labels {
            vec![
                ("vrrp_instance", a.name.clone()),
                ("interface", a.interface.clone()),
            ]
        };
        for state in ["announcing", "draining", "withdrawn"] {
            let mut l = id();
            l.push(("state", state.to_owned()));
            set(
                &f.announce_state,
                l,
                if a.state == state { 1.0 } else { 0.0 },
            );
        }
        count(&f.announce_transitions, id(), a.transitions);
        for v in &a.vips {
            let mut l = id();
            l.push(("vrid", "-".to_owned()));
            l.push(("vip", v.address.clone()));
            set(&f.vip_present, l, if v.present { 1.0 } else { 0.0 });
        }
    }
    let mut out = String::new();
    if prometheus_text::encode(&mut out, &registry).is_err() {
        // Writing to a String does not fail; should the encoder ever refuse, say so in
        // the text rather than serve half of it.
        out.clear();
        let _ = writeln!(out, "# vipd: the metrics could not be encoded");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A master with two VIPs (one missing), drops and a check; a second instance
    /// whose kernel read failed.
    fn sample() -> Status {
        serde_json::from_str(
            r#"{"v":1,"host":"h1","pid":7,"uptime_s":60.0,
            "instances":[
             {"name":"web","interface":"eth0","vrid":51,"version":3,"state":"master",
              "reason":"master_down_timer","priority_configured":150,"priority_effective":140,
              "local_address":"192.0.2.1","master_address":"192.0.2.1","master_priority":140,
              "advert_interval_ms":200,"last_advert_age_s":null,
              "vips":[{"address":"192.0.2.50/24","present":true},
                      {"address":"192.0.2.51/24","present":false}],
              "in_state_s":5.0,"last_transition_unix_s":1800000000.25,"transitions":2,
              "transitions_by_reason":{"startup":1,"master_down_timer":1},
              "adverts_sent":25,"adverts_received":3,"drops":{"bad_ttl":4},"auth_alarms":2},
             {"name":"db","interface":"eth1","vrid":52,"version":2,"state":"fault",
              "reason":"link_down","priority_configured":100,"priority_effective":100,
              "local_address":null,"master_address":null,"master_priority":null,
              "advert_interval_ms":1000,"last_advert_age_s":null,
              "vips":[{"address":"192.0.2.60/24","present":false}],
              "kernel_error":"cannot read addresses: timed out",
              "in_state_s":1.0,"transitions":0,"adverts_sent":0,"adverts_received":0,
              "drops":{}}],
            "interfaces":[{"name":"eth0","unknown_vrid":9}],
            "checks":[{"name":"nginx","kind":"http","target":"http://127.0.0.1/","up":false,
              "since_s":3.0,"last_duration_s":0.125,"results":10,"failures":4}]}"#,
        )
        .expect("sample status parses")
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn every_series_of_the_sample() {
        let text = render(&sample());
        let web = r#"vrrp_instance="web",interface="eth0",vrid="51""#;
        let db = r#"vrrp_instance="db",interface="eth1",vrid="52""#;
        let version = env!("CARGO_PKG_VERSION");
        let expected = [
            format!(r#"vipd_build_info{{version="{version}"}} 1.0"#),
            format!("vipd_vrrp_state{{{web}}} 2.0"),
            format!("vipd_vrrp_state{{{db}}} 3.0"),
            format!("vipd_priority_configured{{{web}}} 150.0"),
            format!("vipd_priority_effective{{{web}}} 140.0"),
            format!(r#"vipd_transitions_total{{{web},reason="startup"}} 1"#),
            format!(r#"vipd_transitions_total{{{web},reason="master_down_timer"}} 1"#),
            format!("vipd_last_transition_timestamp_seconds{{{web}}} 1800000000.25"),
            format!("vipd_adverts_sent_total{{{web}}} 25"),
            format!("vipd_adverts_received_total{{{web}}} 3"),
            format!(r#"vipd_drops_total{{{web},reason="bad_ttl"}} 4"#),
            format!("vipd_auth_alarms_total{{{web}}} 2"),
            format!(r#"vipd_vip_present{{{web},vip="192.0.2.50/24"}} 1.0"#),
            format!(r#"vipd_vip_present{{{web},vip="192.0.2.51/24"}} 0.0"#),
            r#"vipd_unknown_vrid_total{interface="eth0"} 9"#.to_owned(),
            r#"vipd_check_up{check="nginx",kind="http"} 0.0"#.to_owned(),
            r#"vipd_check_duration_seconds{check="nginx",kind="http"} 0.125"#.to_owned(),
            r#"vipd_check_results_total{check="nginx",kind="http"} 10"#.to_owned(),
            r#"vipd_check_failures_total{check="nginx",kind="http"} 4"#.to_owned(),
        ];
        let got = lines(&text);
        for e in &expected {
            assert!(got.contains(&e.as_str()), "missing {e} in\n{text}");
        }
        // The db instance's VIP is unknown (its read failed): no series, not a 0.
        assert!(!text.contains("192.0.2.60"), "{text}");
        // Nothing it has not started: no last transition for db.
        assert!(
            !text.contains(&format!("vipd_last_transition_timestamp_seconds{{{db}}}")),
            "{text}"
        );
    }

    #[test]
    fn announced_instances_show_their_state_transitions_and_vips() {
        let mut s = sample();
        s.announced.push(vipd_api::AnnouncedStatus {
            name: "anycast".into(),
            interface: "vipd0".into(),
            state: "draining".into(),
            reason: "maintenance".into(),
            in_state_s: 0.5,
            transitions: 2,
            weight: 0,
            withdraw_below: 0,
            drain_ms: 2000,
            drain_left_s: Some(1.5),
            vips: vec![vipd_api::VipStatus {
                address: "192.0.2.80/32".into(),
                present: false,
            }],
            tracking: Vec::new(),
            maintenance: true,
        });
        let text = render(&s);
        let got = lines(&text);
        let id = r#"vrrp_instance="anycast",interface="vipd0""#;
        for e in [
            format!(r#"vipd_announce_state{{{id},state="announcing"}} 0.0"#),
            format!(r#"vipd_announce_state{{{id},state="draining"}} 1.0"#),
            format!(r#"vipd_announce_state{{{id},state="withdrawn"}} 0.0"#),
            format!("vipd_announce_transitions_total{{{id}}} 2"),
            format!(r#"vipd_vip_present{{{id},vrid="-",vip="192.0.2.80/32"}} 0.0"#),
        ] {
            assert!(got.contains(&e.as_str()), "missing {e} in\n{text}");
        }
    }

    #[test]
    fn counters_are_typed_under_their_sample_names() {
        // The 0.0.4 text format: TYPE and HELP name the `_total` series itself (the
        // OpenMetrics form names the family without it, which promtool 2.42 reads as
        // an untyped series without help).
        let text = render(&sample());
        assert!(
            text.contains("# TYPE vipd_transitions_total counter\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE vipd_vrrp_state gauge\n"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }

    #[test]
    fn states_are_numbered_as_keepalived() {
        let n: Vec<u8> = [
            State::Initialize,
            State::Backup,
            State::Master,
            State::Fault,
            State::Stopped,
        ]
        .into_iter()
        .map(state_number)
        .collect();
        assert_eq!(n, [0, 1, 2, 3, 98]);
    }
}
