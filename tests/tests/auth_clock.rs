//! Authenticated adverts across a restart with the wall clock an hour behind (a VM
//! restored from a snapshot, a boot before NTP), with real vipd: a (192.0.2.11,
//! priority 150) and b (192.0.2.12, 100) share a key; a stops, b takes over, a starts
//! again under libfaketime one hour behind. Its adverts must still be numbered above
//! everything it sent before (the reservation kept in its state directory), so b
//! accepts them and yields: one holder again within b's Master_Down_Interval + 1 s of
//! a's first advert, measured from tcpdump's capture times (the kernel's). With a's
//! state directory emptied as well, a re-syncs by itself (its numbers jump ahead once b
//! has advertised below it for longer than a's Master_Down_Interval).

use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{adverts_from, describe_adverts};
use vipd_e2e::lan::first_instance;
use vipd_e2e::setup::SETTLE;
use vipd_e2e::{
    assert_roles, bins, describe, epoch_now, exclusive, master_down_ms, vipd_yaml, wait_master,
    wait_until, Host, Lan, Proc, Signal, VipdInstance, VIP4, VIP4_CIDR,
};

/// The key a and b share.
const KEY: &str = "5a1e0c3d9b7f2486a0c1e2d3f4051627384950a1b2c3d4e5f60718293a4b5c6d\n";
/// The restarted a's wall clock, relative to the true one.
const BEHIND: &str = "-1h";

fn write_key(h: &Host) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = h.dir().join("web.key");
    if let Err(e) = std::fs::write(&p, KEY) {
        panic!("cannot write {}: {e}", p.display());
    }
    if let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
        panic!("cannot chmod {}: {e}", p.display());
    }
    p
}

/// The web instance (VRID 51, the VIP, 200 ms) at `priority`, authenticated.
fn auth_web(priority: u8, key: &Path) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[VIP4_CIDR])
            .priority(priority)
            .auth_key_file(key)],
    )
}

/// Starts vipd on `h` with `yaml` under `faketime` (wall clock [`BEHIND`], monotonic
/// clock untouched), with `h`'s control socket and state directory, and waits until it
/// answers.
fn spawn_vipd_behind(h: &Host, yaml: &str) -> Proc {
    let cfg = h.dir().join("vipd-behind.yaml");
    if let Err(e) = std::fs::write(&cfg, h.vipd_config_text(yaml)) {
        panic!("cannot write {}: {e}", cfg.display());
    }
    let mut cmd = h.command("faketime");
    cmd.args(["-m", "-f", BEHIND])
        .arg(bins::vipd())
        .arg("--config")
        .arg(&cfg)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("RUST_LOG", "info,vipd=debug,vipd_engine=debug");
    let log = h.dir().join("vipd-behind.log");
    let p = Proc::spawn(cmd, &format!("vipd on {} (clock {BEHIND})", h.name), &log);
    let ready = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
        h.try_status().is_ok()
    });
    assert!(
        ready,
        "vipd under faketime on {} did not answer within 5 s; log:\n{}",
        h.name,
        p.log_text()
    );
    p
}

/// a (150) and b (100) authenticated, a the only master; then a leaves (SIGTERM) and b
/// takes over. Returns both hosts and a's key file.
fn a_master_then_a_stopped(lan: &Lan) -> (Host, Host, PathBuf) {
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let key_a = write_key(&a);
    let key_b = write_key(&b);
    a.spawn_vipd(&auth_web(150, &key_a));
    b.spawn_vipd(&auth_web(100, &key_b));
    let both = [&a, &b];
    assert_roles(&both, "a", VIP4, SETTLE, "a never became the only master");
    assert!(a.kill(Signal::SIGTERM), "cannot signal a's vipd");
    assert!(
        a.wait_vipd_exit(Duration::from_secs(5)).is_some(),
        "a's vipd did not exit"
    );
    assert!(
        wait_master(&b, VIP4, Duration::from_secs(3)),
        "b did not take over:\n{}",
        describe(&both, VIP4)
    );
    (a, b, key_a)
}

#[test]
fn a_master_restarted_with_its_clock_an_hour_behind_is_the_one_holder_again() {
    let _serial = exclusive();
    let lan = Lan::new("authclock");
    let (a, b, key_a) = a_master_then_a_stopped(&lan);
    let both = [&a, &b];

    let capture = lan.capture("br0", "ip proto 112");
    let _a_again = spawn_vipd_behind(&a, &auth_web(150, &key_a));
    // The restarted vipd reads the clock an hour behind (its status' Unix times).
    let behind_s = epoch_now()
        - first_instance(&a.status())
            .last_transition_unix_s
            .unwrap_or(0.0);
    assert!(
        (3590.0..3610.0).contains(&behind_s),
        "faketime did not set a's clock an hour back: {behind_s} s"
    );
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(3)),
        "the restarted a did not become master:\n{}",
        describe(&both, VIP4)
    );
    // Room for b to keep advertising if it does not hear a.
    let mdi_s = master_down_ms(100, 200.0) / 1e3;
    std::thread::sleep(Duration::from_secs_f64(mdi_s + 2.5));

    let from_a = adverts_from(&capture, &a.ipv4, 51);
    let first = from_a
        .iter()
        .find(|x| x.prio == 150)
        .unwrap_or_else(|| panic!("no advert of the restarted a captured"));
    let from_b = adverts_from(&capture, &b.ipv4, 51);
    let last_b = from_b.last().map_or(first.t, |x| x.t);
    let two_holders_s = (last_b - first.t).max(0.0);
    println!(
        "a restarted {BEHIND}: b's last advert {:.1} ms after a's first (bound {:.1} ms)",
        (last_b - first.t) * 1e3,
        (mdi_s + 1.0) * 1e3
    );
    assert!(
        two_holders_s <= mdi_s + 1.0,
        "b kept advertising {:.1} ms after the restarted a's first advert (bound {:.1} ms): a {:?}, b {:?}",
        two_holders_s * 1e3,
        (mdi_s + 1.0) * 1e3,
        describe_adverts(&from_a, first.t),
        describe_adverts(&from_b, first.t)
    );
    let sb = b.status();
    let bi = first_instance(&sb);
    assert_eq!(bi.state, State::Backup, "{bi:?}");
    assert_eq!(
        bi.drops.get("auth_replay"),
        None,
        "b dropped a's adverts: {bi:?}"
    );
    assert!(
        !b.has_addr(VIP4),
        "b still holds the VIP:\n{}",
        describe(&both, VIP4)
    );
    assert!(a.has_addr(VIP4));
    // What a kept for its next start: a reservation above the numbers it uses now.
    let kept = std::fs::read_to_string(a.state_dir().join("auth.json")).unwrap_or_default();
    assert!(kept.contains("\"next_seq\""), "a's auth.json: {kept:?}");
}

/// The same restart with a's state directory emptied too (a snapshot from before its
/// first run): b drops a's adverts as replays and stays master; a, master again and
/// hearing b below it for longer than its Master_Down_Interval, moves its numbers ahead
/// and b yields. b warned about the replays; `vipctl status` shows the alarm.
#[test]
fn with_its_kept_numbers_lost_too_the_restarted_master_resyncs() {
    let _serial = exclusive();
    let lan = Lan::new("authresync");
    let (a, b, key_a) = a_master_then_a_stopped(&lan);
    let both = [&a, &b];
    let kept = a.state_dir().join("auth.json");
    match std::fs::remove_file(&kept) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot remove {}: {e}", kept.display()),
    }

    let capture = lan.capture("br0", "ip proto 112");
    let a_again = spawn_vipd_behind(&a, &auth_web(150, &key_a));
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(3)),
        "the restarted a did not become master:\n{}",
        describe(&both, VIP4)
    );
    // a's Master_Down_Interval to notice, then one of b's adverts to answer.
    let a_mdi_s = master_down_ms(150, 200.0) / 1e3;
    let bound_s = a_mdi_s + 0.2 + 1.0;
    std::thread::sleep(Duration::from_secs_f64(bound_s + 1.5));

    let from_a = adverts_from(&capture, &a.ipv4, 51);
    let first = from_a
        .iter()
        .find(|x| x.prio == 150)
        .unwrap_or_else(|| panic!("no advert of the restarted a captured"));
    let from_b = adverts_from(&capture, &b.ipv4, 51);
    let last_b = from_b.last().map_or(first.t, |x| x.t);
    println!(
        "a restarted {BEHIND} without its kept numbers: b's last advert {:.1} ms after a's first (bound {:.1} ms)",
        (last_b - first.t) * 1e3,
        bound_s * 1e3
    );
    assert!(
        last_b - first.t <= bound_s,
        "b kept advertising {:.1} ms after a's first advert: a {:?}, b {:?}",
        (last_b - first.t) * 1e3,
        describe_adverts(&from_a, first.t),
        describe_adverts(&from_b, first.t)
    );
    assert!(
        !b.has_addr(VIP4),
        "b still holds the VIP:\n{}",
        describe(&both, VIP4)
    );
    assert!(
        a_again.log_text().contains("does not hear us"),
        "a did not say why it moved its numbers"
    );
    let sb = b.status();
    let bi = first_instance(&sb);
    assert_eq!(bi.state, State::Backup, "{bi:?}");
    assert!(
        bi.drops.get("auth_replay").copied().unwrap_or(0) > 0,
        "{bi:?}"
    );
    assert_eq!(bi.auth_alarms, 1, "{bi:?}");
    let text = b.vipctl_status_text();
    assert!(text.contains("auth alarms: 1"), "{text}");
}
