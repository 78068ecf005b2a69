//! The metrics endpoint (`metrics: {listen}`): two vipd, a (priority 150) and b (100),
//! each serving `/metrics` and `/status` on its LAN address, port 9650. A client host
//! scrapes them over the LAN; every `/metrics` body must pass `promtool check metrics`
//! (Debian's prometheus package; the test fails if it is missing). Then a's vipd is
//! killed: b's scrape shows it master, its transitions counter one higher, and its
//! `/status` parses as the control API's Status.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use vipd_api::{State, Status};
use vipd_e2e::web::{http_get_from, HttpAnswer};
use vipd_e2e::{
    describe, exclusive, wait_master, wait_until, web_config, Host, Lan, VIP4, VIP4_CIDR,
};

const PORT: u16 = 9650;
const LABELS: &str = r#"vrrp_instance="web",interface="eth0",vrid="51""#;

fn endpoint(h: &Host) -> SocketAddr {
    match format!("{}:{PORT}", h.ipv4).parse() {
        Ok(a) => a,
        Err(e) => panic!("{}: {e}", h.ipv4),
    }
}

fn config(h: &Host, priority: u8) -> String {
    format!(
        "{}metrics:\n  listen: \"{}\"\n",
        web_config(priority, VIP4_CIDR),
        endpoint(h)
    )
}

fn get(client: &Host, h: &Host, path: &str) -> HttpAnswer {
    match http_get_from(client, endpoint(h), path, Duration::from_secs(3)) {
        Ok(a) if a.status_line.starts_with("HTTP/1.0 200") => a,
        Ok(a) => panic!("GET {path} from {}: {a:?}", h.name),
        Err(e) => panic!("GET {path} from {}: {e}\n{}", h.name, h.vipd_log()),
    }
}

/// The value of the one series `name{labels}` in a scrape, if there.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// The sum of every `vipd_transitions_total` series of the web instance.
fn transitions(body: &str) -> u64 {
    body.lines()
        .filter(|l| l.starts_with(&format!("vipd_transitions_total{{{LABELS},reason=")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `promtool check metrics` on `body`: panics with its findings unless it passes.
fn promtool_check(body: &str, what: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "promtool cannot be run ({e}): install Debian's prometheus package \
             (apt-get install prometheus), as .ci/run does"
        ),
    };
    if let Some(mut stdin) = child.stdin.take() {
        if let Err(e) = stdin.write_all(body.as_bytes()) {
            panic!("writing to promtool: {e}");
        }
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("promtool: {e}"),
    };
    assert!(
        out.status.success(),
        "promtool check metrics failed on {what} ({}): {}{}\n--- body ---\n{body}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_and_status_follow_a_failover_and_pass_promtool() {
    let _serial = exclusive();
    let lan = Lan::new("metrics");
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    a.spawn_vipd(&config(&a, 150));
    b.spawn_vipd(&config(&b, 100));
    let both = [&a, &b];
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(5)),
        "a did not become master:\n{}",
        describe(&both, VIP4)
    );

    // Published after the read that follows a's VIP add (at most a second later).
    let state = format!("vipd_vrrp_state{{{LABELS}}}");
    let present = format!(r#"vipd_vip_present{{{LABELS},vip="{VIP4_CIDR}"}}"#);
    let settled = wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
        let (sa, sb) = (
            get(&client, &a, "/metrics").body,
            get(&client, &b, "/metrics").body,
        );
        value(&sa, &state) == Some(2.0)
            && value(&sa, &present) == Some(1.0)
            && value(&sb, &state) == Some(1.0)
            && value(&sb, &present) == Some(0.0)
    });
    let (ma, mb) = (get(&client, &a, "/metrics"), get(&client, &b, "/metrics"));
    assert!(
        settled,
        "a master with the VIP, b backup without, not in the scrapes within 3 s:\n\
         --- a ---\n{}\n--- b ---\n{}",
        ma.body, mb.body
    );
    assert_eq!(
        ma.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    promtool_check(&ma.body, "a's /metrics");
    promtool_check(&mb.body, "b's /metrics");
    assert_eq!(
        value(&ma.body, &format!("vipd_priority_effective{{{LABELS}}}")),
        Some(150.0)
    );
    assert!(
        value(&ma.body, &format!("vipd_adverts_sent_total{{{LABELS}}}")).unwrap_or(0.0) > 0.0,
        "{}",
        ma.body
    );
    let version = format!(
        r#"vipd_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&ma.body, &version), Some(1.0), "{}", ma.body);
    let before = transitions(&mb.body);
    assert!(
        before >= 1,
        "b's transitions (startup → backup): {}",
        mb.body
    );

    // a crashes: b takes over, and its next scrape says so.
    a.crash_vipd();
    assert!(
        wait_master(&b, VIP4, Duration::from_secs(5)),
        "b did not take over:\n{}",
        describe(&both, VIP4)
    );
    let mut after = get(&client, &b, "/metrics");
    let shown = wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
        after = get(&client, &b, "/metrics");
        value(&after.body, &state) == Some(2.0) && value(&after.body, &present) == Some(1.0)
    });
    assert!(shown, "b's scrape after the takeover:\n{}", after.body);
    promtool_check(&after.body, "b's /metrics after the takeover");
    assert_eq!(
        transitions(&after.body),
        before + 1,
        "one more transition (backup → master):\n{}",
        after.body
    );
    assert_eq!(
        value(
            &after.body,
            &format!(r#"vipd_transitions_total{{{LABELS},reason="master_down_timer"}}"#)
        ),
        Some(1.0),
        "{}",
        after.body
    );

    // /status: the control API's Status, as JSON.
    let st = get(&client, &b, "/status");
    assert_eq!(st.header("content-type"), Some("application/json"));
    let status: Status = match serde_json::from_str(&st.body) {
        Ok(s) => s,
        Err(e) => panic!("/status is not a Status ({e}):\n{}", st.body),
    };
    assert_eq!(Some(status.pid), b.vipd_pid());
    let web = &status.instances[0];
    assert_eq!((web.name.as_str(), web.state), ("web", State::Master));
    assert_eq!(web.transitions_by_reason.get("master_down_timer"), Some(&1));
    assert!(web.last_transition_unix_s.is_some(), "{web:?}");

    // Anything else: 404, and the daemon goes on.
    match http_get_from(&client, endpoint(&b), "/", Duration::from_secs(3)) {
        Ok(r) => assert!(r.status_line.starts_with("HTTP/1.0 404"), "{r:?}"),
        Err(e) => panic!("GET /: {e}"),
    }
    assert_eq!(b.state(), Some(State::Master));
}
