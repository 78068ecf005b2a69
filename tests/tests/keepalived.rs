//! Interoperability with keepalived (VRRPv2 and VRRPv3 over IPv4), both ways round:
//! keepalived master with a vipd backup, and vipd master with a keepalived backup. In
//! each, the master is stopped (the other must take over), then started again (it must
//! take the VIP back: both sides preempt).
//!
//! Both sides use a 1 s advertisement interval (`advert_int 1` / `advert_interval: 1s`,
//! which VRRPv2 requires to match).

use std::time::{Duration, Instant};

use vipd_api::State;
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    holders, keepalived_conf, master_down_ms, skew_ms, vipd_yaml, wait_until, Host,
    KeepalivedInstance, Lan, Signal, VipdInstance, VIP4,
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

/// Waits until exactly `holder` holds the VIP and vipd on `v` is in `vipd_state`.
fn wait_for(
    k: &Host,
    v: &Host,
    holder: &str,
    vipd_state: State,
    timeout: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    wait_until(timeout, Duration::from_millis(20), || {
        holders(&[k, v], VIP4) == vec![holder.to_string()] && v.state() == Some(vipd_state)
    })
    .then(|| start.elapsed())
}

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

/// keepalived logs why it drops a packet; none of that may be about vipd's adverts.
fn assert_keepalived_understands(k: &Host) {
    let log = k.keepalived_log();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.to_lowercase();
            [
                "invalid",
                "checksum",
                "ttl",
                "mismatch",
                "wrong",
                "malformed",
                "bad ",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "keepalived complained about received adverts:\n{}",
        complaints.join("\n")
    );
}

/// keepalived is master (150), vipd backup (100).
fn keepalived_master(id: &str, version: u8) {
    let lan = Lan::new(id);
    let k = lan.host("ka", "192.0.2.31", "2001:db8::31");
    let v = lan.host("vipd", "192.0.2.32", "2001:db8::32");
    k.spawn_keepalived(&ka_config(version, 150));
    v.spawn_vipd(&vipd_config(version, 100));
    let t = wait_for(&k, &v, "ka", State::Backup, Duration::from_secs(15));
    assert!(
        t.is_some(),
        "v{version}: keepalived should be master, vipd backup:\n{}",
        picture(&k, &v)
    );
    // Stable for more than vipd's Master_Down_Interval (3 × 1 s + skew): vipd hears
    // keepalived.
    std::thread::sleep(Duration::from_millis(4000));
    assert_eq!(
        holders(&[&k, &v], VIP4),
        vec!["ka".to_string()],
        "{}",
        picture(&k, &v)
    );
    assert_eq!(v.state(), Some(State::Backup));
    assert_vipd_understands(&v, &k);
    v.assert_vipctl_agrees_with_kernel();

    // Stop keepalived: it sends priority 0, vipd takes over after Skew_Time
    // (156 × 1 s / 256 = 609.375 ms), long before Master_Down_Interval (3.609 s).
    assert!(k.kill_keepalived(Signal::SIGTERM));
    let took = wait_for(&k, &v, "vipd", State::Master, Duration::from_secs(6));
    assert!(
        took.is_some(),
        "v{version}: vipd did not take over from stopped keepalived:\n{}",
        picture(&k, &v)
    );
    let skew = skew_ms(100, 1000.0);
    let took_ms = took.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN);
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
    let back = wait_for(&k, &v, "ka", State::Backup, Duration::from_secs(10));
    assert!(
        back.is_some(),
        "v{version}: keepalived did not take the VIP back from vipd:\n{}",
        picture(&k, &v)
    );
    println!(
        "keepalived_interop_v{version} (keepalived master): vipd took over {:.0} ms after \
         SIGTERM to keepalived; keepalived took back {:.0} ms after its restart",
        took.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN),
        back.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN)
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        holders(&[&k, &v], VIP4),
        vec!["ka".to_string()],
        "{}",
        picture(&k, &v)
    );
    let st = v.status();
    assert_eq!(
        first_instance(&st).reason,
        "higher_priority_advert",
        "{st:?}"
    );
    assert_vipd_understands(&v, &k);
    assert_keepalived_understands(&k);
    // Only the vipd host: keepalived has no vipctl.
    v.assert_vipctl_agrees_with_kernel();
}

/// vipd is master (150), keepalived backup (100).
fn vipd_master(id: &str, version: u8) {
    let lan = Lan::new(id);
    let k = lan.host("ka", "192.0.2.41", "2001:db8::41");
    let v = lan.host("vipd", "192.0.2.42", "2001:db8::42");
    v.spawn_vipd(&vipd_config(version, 150));
    k.spawn_keepalived(&ka_config(version, 100));
    let t = wait_for(&k, &v, "vipd", State::Master, Duration::from_secs(15));
    assert!(
        t.is_some(),
        "v{version}: vipd should be master, keepalived backup:\n{}",
        picture(&k, &v)
    );
    // Longer than keepalived's Master_Down_Interval: keepalived hears vipd.
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(
        holders(&[&k, &v], VIP4),
        vec!["vipd".to_string()],
        "keepalived does not accept vipd's adverts:\n{}",
        picture(&k, &v)
    );
    let log = k.keepalived_log();
    assert!(
        log.contains("BACKUP"),
        "keepalived's log should show it in BACKUP:\n{}",
        tail(&log, 40)
    );
    v.assert_vipctl_agrees_with_kernel();

    // Stop vipd: priority 0, keepalived takes over.
    assert!(v.kill(Signal::SIGTERM));
    let exit = v.wait_vipd_exit(Duration::from_secs(5));
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "vipd exit: {exit:?}");
    let start = Instant::now();
    assert!(
        wait_until(Duration::from_secs(6), Duration::from_millis(20), || {
            holders(&[&k, &v], VIP4) == vec!["ka".to_string()]
        }),
        "v{version}: keepalived did not take over from stopped vipd:\n{}",
        picture(&k, &v)
    );
    let took = start.elapsed();

    // vipd returns and preempts keepalived.
    v.spawn_vipd(&vipd_config(version, 150));
    let back = wait_for(&k, &v, "vipd", State::Master, Duration::from_secs(10));
    assert!(
        back.is_some(),
        "v{version}: vipd did not take the VIP back:\n{}",
        picture(&k, &v)
    );
    // It preempts when its Master_Down_Timer (3 × 1 s + 414 ms) fires.
    let limit = master_down_ms(150, 1000.0) + 1000.0;
    let back_ms = back.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN);
    assert!(
        back_ms <= limit,
        "v{version}: vipd preempted {back_ms:.0} ms after starting (limit {limit:.0} ms)"
    );
    println!(
        "keepalived_interop_v{version} (vipd master): keepalived took over {:.0} ms after \
         vipd exited; vipd took back {:.0} ms after its restart",
        took.as_secs_f64() * 1e3,
        back.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN)
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        holders(&[&k, &v], VIP4),
        vec!["vipd".to_string()],
        "{}",
        picture(&k, &v)
    );
    assert_vipd_understands(&v, &k);
    assert_keepalived_understands(&k);
    // Only the vipd host: keepalived has no vipctl.
    v.assert_vipctl_agrees_with_kernel();
}

#[test]
fn keepalived_interop_v2() {
    keepalived_master("kav2a", 2);
    vipd_master("kav2b", 2);
}

#[test]
fn keepalived_interop_v3() {
    keepalived_master("kav3a", 3);
    vipd_master("kav3b", 3);
}
