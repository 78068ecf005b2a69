//! Interoperability with keepalived (VRRPv2 and VRRPv3 over IPv4), both ways round:
//! keepalived master with a vipd backup, and vipd master with a keepalived backup. In
//! each, the master is stopped (the other must take over), then started again (it must
//! take the VIP back: both sides preempt).
//!
//! Both sides use a 1 s advertisement interval (`advert_int 1` / `advert_interval: 1s`,
//! which VRRPv2 requires to match).

use std::time::{Duration, Instant};

use vipd_api::State;
use vipd_e2e::events::wait_added;
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    epoch_now, exclusive, holders, keepalived_conf, master_down_ms, skew_ms, vipd_yaml, wait_until,
    Host, KeepalivedInstance, Lan, Signal, VipdInstance, VIP4,
};

fn vipd_config(version: u8, priority: u8) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &["192.0.2.50/24"])
            .priority(priority)
            .version(version)
            .advert_interval("1s")],
    )
}

fn ka_config(version: u8, priority: u8) -> String {
    keepalived_conf(
        "vte2e",
        &KeepalivedInstance {
            version,
            vrid: 51,
            priority,
            advert_int: "1".into(),
            vips: vec!["192.0.2.50/24".into()],
        },
    )
}

fn picture(k: &Host, v: &Host) -> String {
    format!(
        "keepalived host {} holds VIP: {}; vipd host {} holds VIP: {}, vipd: {:?}\n\
         keepalived log (tail):\n{}",
        k.name,
        k.has_addr(VIP4),
        v.name,
        v.has_addr(VIP4),
        v.try_status().map(|s| {
            s.instances.first().map(|i| {
                (
                    i.state,
                    i.reason.clone(),
                    i.drops.clone(),
                    i.master_address.clone(),
                )
            })
        }),
        tail(&k.keepalived_log(), 30)
    )
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits until exactly `holder` holds the VIP and vipd on `v` is in `vipd_state`;
/// returns how long that took. Panics with `what` and the picture if not within
/// `timeout`.
fn wait_for(
    k: &Host,
    v: &Host,
    (holder, vipd_state): (&str, State),
    timeout: Duration,
    what: &str,
) -> Duration {
    let start = Instant::now();
    let came = wait_until(timeout, Duration::from_millis(20), || {
        holders(&[k, v], VIP4) == vec![holder.to_string()] && v.state() == Some(vipd_state)
    });
    assert!(came, "{what}:\n{}", picture(k, v));
    start.elapsed()
}

/// After `pause`, `holder` is still the only one holding the VIP.
fn still_held(k: &Host, v: &Host, holder: &str, pause: Duration, what: &str) {
    std::thread::sleep(pause);
    assert_eq!(
        holders(&[k, v], VIP4),
        vec![holder.to_string()],
        "{what}{}",
        picture(k, v)
    );
}

/// Each side took the other's adverts as they were meant, and vipctl agrees with the
/// kernel on the vipd host (keepalived has no vipctl).
fn assert_both_understand(k: &Host, v: &Host) {
    assert_vipd_understands(v, k);
    k.assert_keepalived_understands(&[]);
    v.assert_vipctl_agrees_with_kernel();
}

/// keepalived's log lines about its VRRP state and the adverts that move it.
fn state_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Entering") || l.contains("priority 0"))
        .map(str::to_string)
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// keepalived master with vipd backup.
const KA_MASTER: (&str, State) = ("ka", State::Backup);
/// vipd master with keepalived backup.
const VIPD_MASTER: (&str, State) = ("vipd", State::Master);

/// vipd accepted the other side's adverts: no interop drops, and the master it knows is
/// the keepalived host.
fn assert_vipd_understands(v: &Host, k: &Host) {
    let st = v.status();
    let inst = first_instance(&st);
    for bad in [
        "bad_checksum",
        "bad_version",
        "bad_ttl",
        "interval_mismatch",
        "address_mismatch",
        "auth_mismatch",
        "address_count",
        "truncated",
    ] {
        assert!(
            inst.drops.get(bad).copied().unwrap_or(0) == 0,
            "vipd dropped keepalived's adverts as {bad}: {:?}",
            inst.drops
        );
    }
    assert!(inst.adverts_received > 0, "vipd heard no adverts: {inst:?}");
    if inst.state == State::Backup {
        assert_eq!(
            inst.master_address.as_deref(),
            Some(k.ipv4.as_str()),
            "{inst:?}"
        );
    }
}

/// keepalived is master (150), vipd backup (100).
fn keepalived_master(id: &str, version: u8) {
    let lan = Lan::new(id);
    let k = lan.host_at("ka", 31);
    let v = lan.host_at("vipd", 32);
    k.spawn_keepalived(&ka_config(version, 150));
    v.spawn_vipd(&vipd_config(version, 100));
    wait_for(
        &k,
        &v,
        KA_MASTER,
        Duration::from_secs(15),
        &format!("v{version}: keepalived should be master, vipd backup"),
    );
    // Stable for more than vipd's Master_Down_Interval (3 × 1 s + skew): vipd hears
    // keepalived.
    still_held(&k, &v, "ka", Duration::from_millis(4000), "");
    assert_eq!(v.state(), Some(State::Backup));
    assert_vipd_understands(&v, &k);
    v.assert_vipctl_agrees_with_kernel();

    // Stop keepalived: it sends priority 0, vipd takes over after Skew_Time
    // (156 × 1 s / 256 = 609.375 ms), long before Master_Down_Interval (3.609 s).
    assert!(k.kill_keepalived(Signal::SIGTERM));
    let took = wait_for(
        &k,
        &v,
        VIPD_MASTER,
        Duration::from_secs(6),
        &format!("v{version}: vipd did not take over from stopped keepalived"),
    );
    let skew = skew_ms(100, 1000.0);
    let took_ms = ms(took);
    assert!(
        took_ms >= skew - 20.0 && took_ms <= skew + 1000.0,
        "v{version}: vipd took over {took_ms:.0} ms after SIGTERM to keepalived; expected \
         Skew_Time {skew:.3} ms after its priority-0 advert (plus at most 1 s of slack)"
    );
    v.assert_vipctl_agrees_with_kernel();
    assert!(
        k.wait_keepalived_exit(Duration::from_secs(5)).is_some(),
        "keepalived did not exit"
    );

    // keepalived returns: it starts as backup, hears vipd's lower priority and preempts.
    k.spawn_keepalived(&ka_config(version, 150));
    let back = wait_for(
        &k,
        &v,
        KA_MASTER,
        Duration::from_secs(10),
        &format!("v{version}: keepalived did not take the VIP back from vipd"),
    );
    println!(
        "keepalived_interop_v{version} (keepalived master): vipd took over {took_ms:.0} ms \
         after SIGTERM to keepalived; keepalived took back {:.0} ms after its restart",
        ms(back)
    );
    still_held(&k, &v, "ka", Duration::from_millis(1500), "");
    let st = v.status();
    assert_eq!(
        first_instance(&st).reason,
        "higher_priority_advert",
        "{st:?}"
    );
    assert_both_understand(&k, &v);
}

/// vipd is master (150), keepalived backup (100).
fn vipd_master(id: &str, version: u8) {
    let lan = Lan::new(id);
    let k = lan.host_at("ka", 41);
    let v = lan.host_at("vipd", 42);
    v.spawn_vipd(&vipd_config(version, 150));
    k.spawn_keepalived(&ka_config(version, 100));
    wait_for(
        &k,
        &v,
        VIPD_MASTER,
        Duration::from_secs(15),
        &format!("v{version}: vipd should be master, keepalived backup"),
    );
    // Longer than keepalived's Master_Down_Interval: keepalived hears vipd.
    still_held(
        &k,
        &v,
        "vipd",
        Duration::from_millis(4500),
        "keepalived does not accept vipd's adverts:\n",
    );
    // keepalived entered BACKUP at start-up and never became master: it accepted vipd's
    // adverts all along (had it not, it would have entered MASTER after its
    // Master_Down_Interval, 3.6 s, with the VIP on both hosts).
    let log = k.keepalived_log();
    let states = state_lines(&log);
    assert!(
        states.iter().any(|l| l.contains("Entering BACKUP STATE"))
            && !states.iter().any(|l| l.contains("Entering MASTER STATE")),
        "v{version}: keepalived should have entered BACKUP and stayed there while vipd was \
         master; its state lines: {states:#?}\n{}",
        picture(&k, &v)
    );
    v.assert_vipctl_agrees_with_kernel();

    // Stop vipd: it sends priority 0 and keepalived takes over after its Skew_Time
    // (256 − 100) × 1 s / 256 = 609.375 ms. Had keepalived not acted on the priority 0
    // (or had vipd not sent it), keepalived would take over when its
    // Master_Down_Interval (3609.375 ms after vipd's last advert, which came at most 1 s
    // before the signal) runs out: 2609.375 ms after the signal at the earliest. Timed
    // from the signal to the VIP appearing on keepalived's host.
    let skew = skew_ms(100, 1000.0);
    let earliest_master_down = master_down_ms(100, 1000.0) - 1000.0;
    let limit = skew + 250.0;
    assert!(limit + 1000.0 < earliest_master_down);
    let k_events = k.address_events();
    let sent = epoch_now();
    assert!(v.kill(Signal::SIGTERM));
    let added = wait_added(&k_events, VIP4, sent, Duration::from_secs(6));
    v.assert_exits_cleanly(Duration::from_secs(5));
    let Some(added) = added else {
        panic!(
            "v{version}: keepalived did not take over within 6 s of SIGTERM to vipd:\n{}",
            picture(&k, &v)
        );
    };
    let took_ms = (added.t - sent) * 1e3;
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(20), || {
            holders(&[&k, &v], VIP4) == vec!["ka".to_string()]
        }),
        "v{version}: keepalived should be the only holder after vipd left:\n{}",
        picture(&k, &v)
    );
    let log = k.keepalived_log();
    let states = state_lines(&log);
    println!(
        "keepalived_interop_v{version} (vipd master): keepalived added the VIP \
         {took_ms:.0} ms after SIGTERM to vipd (Skew_Time {skew:.3} ms, limit {limit:.0} \
         ms; by Master_Down_Interval it would be {earliest_master_down:.0} ms at the \
         earliest); keepalived's state lines: {states:#?}"
    );
    assert!(
        took_ms >= skew - 20.0 && took_ms <= limit,
        "v{version}: keepalived took over {took_ms:.0} ms after SIGTERM to vipd; expected \
         its Skew_Time {skew:.3} ms after vipd's priority-0 advert (limit {limit:.0} ms; \
         a takeover by Master_Down_Interval would be {earliest_master_down:.0} ms at the \
         earliest)\n{}",
        picture(&k, &v)
    );
    assert!(
        states
            .iter()
            .any(|l| l.contains("Backup received priority 0 advertisement")),
        "v{version}: keepalived's log does not say it received vipd's priority 0: \
         {states:#?}"
    );

    // vipd returns and preempts keepalived.
    v.spawn_vipd(&vipd_config(version, 150));
    let back = wait_for(
        &k,
        &v,
        VIPD_MASTER,
        Duration::from_secs(10),
        &format!("v{version}: vipd did not take the VIP back"),
    );
    // It preempts when its Master_Down_Timer (3 × 1 s + 414 ms) fires.
    let limit = master_down_ms(150, 1000.0) + 1000.0;
    let back_ms = ms(back);
    assert!(
        back_ms <= limit,
        "v{version}: vipd preempted {back_ms:.0} ms after starting (limit {limit:.0} ms)"
    );
    println!(
        "keepalived_interop_v{version} (vipd master): vipd took back {back_ms:.0} ms \
         after its restart"
    );
    still_held(&k, &v, "vipd", Duration::from_millis(1500), "");
    assert_both_understand(&k, &v);
}

#[test]
fn keepalived_interop_v2() {
    let _serial = exclusive();
    keepalived_master("kav2a", 2);
    vipd_master("kav2b", 2);
}

#[test]
fn keepalived_interop_v3() {
    let _serial = exclusive();
    keepalived_master("kav3a", 3);
    vipd_master("kav3b", 3);
}
