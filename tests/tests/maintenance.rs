//! `vipctl maintenance on|off`: the master hands over make-before-break and stays
//! backup — across a reload and a restart — until off, when it takes the VIP back by
//! preemption; a client pinging the VIP every 5 ms loses no reply either way. And who
//! may do it: a caller that is neither root nor in the admin group gets "permission
//! denied" and nothing changes.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    assert_roles, bins, describe, epoch_now, exclusive, start_pair, web_config, Host, Pinger,
    Signal, VIP4, VIP4_CIDR,
};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn in_maintenance(h: &Host) -> bool {
    first_instance(&h.status()).maintenance
}

#[test]
fn maintenance_hands_over_without_loss_survives_reload_and_restart_and_off_takes_back() {
    let _serial = exclusive();
    let lan = vipd_e2e::Lan::new("maint");
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    let ping = Pinger::start_replying(&client, VIP4, Duration::from_secs(60), 100);

    // On: a hands over to b without a lost reply, and stays backup.
    let on = epoch_now();
    let out = a.vipctl(&["maintenance", "on"]);
    assert!(
        out.status.success(),
        "vipctl maintenance on failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("maintenance on for every instance"),
        "{}",
        text(&out.stdout)
    );
    assert_roles(
        &both,
        "b",
        VIP4,
        Duration::from_secs(5),
        "b did not take over",
    );
    ping.assert_replies(
        100,
        Duration::from_secs(3),
        "pings stopped after maintenance on",
    );
    assert_eq!(a.state(), Some(State::Backup));
    assert!(in_maintenance(&a));
    assert_eq!(first_instance(&a.status()).reason, "maintenance");
    assert!(a.vipctl_status_text().contains("maintenance"));
    assert!(
        a.state_dir().join("maintenance.json").is_file(),
        "the maintenance state was not kept under {}",
        a.state_dir().display()
    );
    assert!(
        a.vipd_log().contains("by uid 0"),
        "the change is not logged with the uid"
    );

    // SIGHUP: still in maintenance.
    assert!(a.reload_vipd(), "SIGHUP to a failed");
    std::thread::sleep(Duration::from_secs(1));
    assert!(in_maintenance(&a));
    // A restart (as after a reboot): a (priority 150) does not take the VIP back,
    // although it preempts b (100) otherwise. Its Master_Down_Interval is 721.875 ms.
    assert!(a.kill(Signal::SIGTERM));
    a.assert_exits_cleanly(Duration::from_secs(10));
    a.spawn_vipd(&web_config(150, VIP4_CIDR));
    std::thread::sleep(Duration::from_secs(2));
    assert!(in_maintenance(&a), "a restart forgot the maintenance");
    assert_eq!(a.state(), Some(State::Backup));
    assert_roles(&both, "b", VIP4, Duration::from_secs(1), "b lost the VIP");

    // Off: a preempts b and takes the VIP back, again without a lost reply.
    let off = epoch_now();
    let out = a.vipctl(&["maintenance", "off"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_secs(5),
        "a did not take the VIP back",
    );
    assert!(!in_maintenance(&a));
    ping.assert_replies(
        100,
        Duration::from_secs(3),
        "pings stopped after maintenance off",
    );
    let report = ping.stop();
    let lost_on: Vec<u64> = report
        .lost_after(on)
        .into_iter()
        .filter(|s| report.seqs.iter().any(|(q, t)| q > s && *t < off))
        .collect();
    let lost_off = report.lost_after(off);
    println!(
        "maintenance: on: lost {} (longest gap {:.1} ms); off: lost {} (longest gap {:.1} ms); \
         {report}",
        lost_on.len(),
        report.longest_gap_after_ms(on),
        lost_off.len(),
        report.longest_gap_after_ms(off)
    );
    assert!(
        lost_on.is_empty(),
        "maintenance on lost {lost_on:?}: {report}"
    );
    assert!(
        lost_off.is_empty(),
        "maintenance off lost {lost_off:?}: {report}"
    );
    assert_eq!(client.neigh_mac(VIP4).as_deref(), Some(a.mac()));
}

#[test]
fn an_unprivileged_caller_gets_permission_denied_and_nothing_changes() {
    let _serial = exclusive();
    let lan = vipd_e2e::Lan::new("perm");
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    // The socket stays readable by its group: give it nobody's group, so that uid
    // 65534 can connect and ask (and the node, not the file mode, decides).
    let sock = a.control_socket();
    if let Err(e) = std::os::unix::fs::chown(&sock, None, Some(65534)) {
        panic!("chown {}: {e}", sock.display());
    }
    let as_nobody = |args: &[&str]| {
        let mut c = a.command("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bins::vipctl())
            .arg("--socket")
            .arg(&sock)
            .args(args);
        vipd_e2e::util::run(&mut c)
    };
    // Reading is allowed.
    let st = as_nobody(&["status"]);
    assert!(
        st.status.success(),
        "status as nobody: {}",
        text(&st.stderr)
    );
    // Changing is not.
    let out = as_nobody(&["maintenance", "on"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("permission denied"),
        "stderr: {}",
        text(&out.stderr)
    );
    // Nothing changed: a is still master with the VIP, not in maintenance, no state kept.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(a.state(), Some(State::Master), "{}", describe(&both, VIP4));
    assert!(a.has_addr(VIP4));
    assert!(!in_maintenance(&a));
    assert!(!a.state_dir().join("maintenance.json").exists());
    assert!(
        a.vipd_log().contains("refused: uid 65534"),
        "the refusal is not logged with the uid"
    );
}
