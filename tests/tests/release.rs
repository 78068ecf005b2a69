//! `vipd --release`: after a crash (SIGKILL) the old master still holds the VIP; the
//! release step (systemd's `ExecStopPost=`) removes it, so the new master is the only
//! holder, also when the configuration file no longer parses. An address equal to a VIP
//! that was added by hand stays.

use std::time::Duration;

use vipd_e2e::{
    describe, exclusive, holders, start_pair, wait_master, web_config, Host, Lan, VIP4, VIP4_CIDR,
};

/// Runs `vipd --config <h's config> --release` in `h`'s namespace (unprivileged in
/// that mode, as systemd's `ExecStopPost=` runs it): (success, stdout).
fn release(h: &Host) -> (bool, String) {
    let cfg = h.vipd_config_path().expect("vipd was started");
    let out = h
        .vipd_command()
        .arg("--config")
        .arg(&cfg)
        .arg("--release")
        .output()
        .expect("run vipd --release");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!(
        "vipd --release on {}: {}\n{stdout}{}",
        h.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), stdout)
}

#[test]
fn release_after_sigkill_leaves_one_holder() {
    let _serial = exclusive();
    let lan = Lan::new("release");
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];

    a.crash_vipd();
    assert!(a.has_addr(VIP4), "after SIGKILL a still holds the VIP");
    assert!(
        wait_master(&b, VIP4, Duration::from_secs(3)),
        "b did not take over:\n{}",
        describe(&both, VIP4)
    );
    assert_eq!(
        holders(&both, VIP4).len(),
        2,
        "two holders before the release"
    );

    // The file no longer parses: the release falls back on what the daemon remembered.
    a.rewrite_vipd_config("instances: [ { name: web, interface: eth0\n  vips: {{{\n");
    let (ok, out) = release(&a);
    assert!(ok, "vipd --release failed with a broken config");
    assert!(out.contains("released 192.0.2."), "{out}");
    assert_eq!(
        holders(&both, VIP4),
        vec!["b".to_string()],
        "after the release only the new master holds the VIP:\n{}",
        describe(&both, VIP4)
    );
    assert!(a.has_addr("192.0.2.11"), "a's own address must stay");

    // An address equal to the VIP added by hand is not vipd's: it stays (valid config
    // this time).
    a.rewrite_vipd_config(&web_config(150, VIP4_CIDR));
    a.exec_ok(&["ip", "addr", "add", VIP4_CIDR, "dev", "eth0"]);
    let (ok, out) = release(&a);
    assert!(ok, "vipd --release failed");
    assert!(out.contains("kept"), "{out}");
    assert!(
        a.has_addr(VIP4),
        "the hand-added address was removed: {:?}",
        a.addresses()
    );
    a.exec_ok(&["ip", "addr", "del", VIP4_CIDR, "dev", "eth0"]);
    assert!(b.has_addr(VIP4), "b still the master");
}
