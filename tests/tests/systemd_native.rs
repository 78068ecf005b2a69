//! vipd under a real systemd (booted test hosts, tests/src/hosts.rs), as the packaged
//! unit runs it: `Type=notify` readiness, the status line, structured journal fields,
//! and the watchdog that removes a hung master's VIP.
//!
//! Two hosts on the test bridge: `a` (priority 150) and `b` (100), VIP 192.0.2.50,
//! adverts every 200 ms (Master_Down_Interval of b: 3 × 0.2 + 0.6094 × 0.2 = 0.72 s).

use std::time::Duration;

use vipd_e2e::events::{wait_added, wait_deleted};
use vipd_e2e::hosts::Booted;
use vipd_e2e::util::{epoch_now, exclusive, wait_until};
use vipd_e2e::Lan;

const VIP: &str = "192.0.2.50";

/// The unit's WatchdogSec.
const WATCHDOG: Duration = Duration::from_secs(2);

fn config(priority: u8) -> String {
    format!(
        "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    priority: {priority}\n    \
         advert_interval: 200ms\n    vips: [{VIP}/24]\n"
    )
}

fn status_text(h: &Booted) -> String {
    h.exec_ok(&["systemctl", "show", "-P", "StatusText", "vipd"])
        .trim()
        .to_string()
}

fn start(h: &Booted) {
    h.exec_ok(&["systemctl", "start", "vipd"]);
}

/// `config(priority)` with an exec check (tracked) and a master hook that each record
/// the capability sets they run with under the unit, in the state directory.
fn config_with_children(priority: u8) -> String {
    let record = |file: &str| {
        format!("[/bin/sh, -c, 'grep ^Cap /proc/self/status > /var/lib/vipd/{file}; exit 0']")
    };
    format!(
        "checks:\n  caps:\n    exec: {}\n    interval: 500ms\n{}    track: [caps]\n    \
         notify:\n      master: {}\n",
        record("check-caps"),
        config(priority),
        record("hook-caps")
    )
}

/// Every capability set in `/proc/self/status` lines is empty.
fn no_capabilities(status: &str) -> bool {
    let sets: Vec<&str> = status.lines().filter(|l| l.starts_with("Cap")).collect();
    sets.len() == 5
        && sets.iter().all(|l| {
            let v = l.split_whitespace().nth(1).unwrap_or("");
            // CapBnd: the unit's bounding set (two capabilities) stays, as vipd lacks
            // CAP_SETPCAP to empty it; NoNewPrivileges keeps it from being used.
            l.starts_with("CapBnd") || v.chars().all(|c| c == '0')
        })
}

#[test]
fn systemd_sees_readiness_status_journal_fields_and_a_hung_master_loses_its_vip() {
    let _timing = exclusive();
    let lan = Lan::new("sdnative");
    let a = Booted::boot(lan.host_at("a", 11));
    let b = Booted::boot(lan.host_at("b", 12));
    eprintln!(
        "booted a in {:.2} s, b in {:.2} s",
        a.boot_time.as_secs_f64(),
        b.boot_time.as_secs_f64()
    );
    a.install_vipd(&config_with_children(150));
    b.install_vipd(&config(100));

    // `systemctl start` returns only once vipd is ready: its control socket answers at
    // once and the instance has started (Type=simple returned before either).
    start(&b);
    let right_after = b.exec(&["vipctl", "status", "--json"]);
    assert!(
        right_after.status.success(),
        "vipctl status failed right after `systemctl start` returned: {}",
        String::from_utf8_lossy(&right_after.stderr)
    );
    let status: vipd_api::Status = serde_json::from_slice(&right_after.stdout)
        .unwrap_or_else(|e| panic!("vipctl status --json: {e}"));
    assert_eq!(
        status.instances[0].state,
        vipd_api::State::Backup,
        "the instance had not started when `systemctl start` returned: {status:?}"
    );
    assert_eq!(status_text(&b), "web backup");

    let a_events = a.host.address_events();
    let b_events = b.host.address_events();
    start(&a);
    // a preempts b; the status line follows.
    let became = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        status_text(&a) == "web master; 1 check up" && a.host.has_addr(VIP)
    });
    assert!(became, "a: status {:?}", status_text(&a));
    assert!(wait_until(
        Duration::from_secs(3),
        Duration::from_millis(50),
        || { !b.host.has_addr(VIP) }
    ));
    let shown = a.exec_ok(&["systemctl", "status", "--no-pager", "vipd"]);
    assert!(
        shown.contains("Status: \"web master; 1 check up\""),
        "systemctl status does not show the status line:\n{shown}"
    );

    // The tracked exec check and the master hook ran under the unit's system-call
    // filter (it refuses capset(2)) without a capability.
    for file in ["check-caps", "hook-caps"] {
        let path = format!("/var/lib/vipd/{file}");
        let caps = a.exec_ok(&["cat", &path]);
        assert!(no_capabilities(&caps), "{file}: {caps}");
    }

    // The journal has the instance's transitions as fields of their own.
    let fields = a.journal(&["-u", "vipd", "INSTANCE=web", "-o", "verbose"]);
    for want in [
        "STATE=backup",
        "PREVIOUS_STATE=initialize",
        "STATE=master",
        "PREVIOUS_STATE=backup",
        "VRRP_PRIORITY=150",
    ] {
        assert!(
            fields.lines().any(|l| l.trim() == want),
            "journalctl -u vipd INSTANCE=web lacks {want}:\n{fields}"
        );
    }
    assert!(
        fields.lines().any(|l| l.trim().starts_with("REASON=")),
        "no REASON field:\n{fields}"
    );
    let lines = a.journal(&["-u", "vipd", "INSTANCE=web", "-o", "cat"]);
    assert!(
        lines.contains("web: state changed from backup to master"),
        "{lines}"
    );

    // SIGSTOP: a's loop hangs with the VIP on its interface. b takes over after
    // Master_Down_Interval; systemd's watchdog kills a's vipd and ExecStopPost
    // releases the VIP. Both times from `ip monitor` lines on this machine's clock.
    let stopped_at = epoch_now();
    a.exec_ok(&[
        "systemctl",
        "kill",
        "--kill-who=main",
        "-s",
        "SIGSTOP",
        "vipd",
    ]);
    let b_added = wait_added(&b_events, VIP, stopped_at, Duration::from_secs(3))
        .unwrap_or_else(|| panic!("b did not take the VIP after a's vipd was stopped"));
    let a_deleted = wait_deleted(&a_events, VIP, stopped_at, WATCHDOG * 3)
        .unwrap_or_else(|| panic!("a kept the VIP {:?} after SIGSTOP", WATCHDOG * 3));
    let both = a_deleted.t - b_added.t;
    let hung_to_released = a_deleted.t - stopped_at;
    eprintln!(
        "SIGSTOP → b holds the VIP after {:.3} s; a's VIP released after {:.3} s; two holders for {:.3} s",
        b_added.t - stopped_at,
        hung_to_released,
        both
    );
    assert!(
        both <= (WATCHDOG + Duration::from_secs(1)).as_secs_f64(),
        "two holders for {both:.3} s (bound: WatchdogSec + 1 s)"
    );
    let watchdog = a.journal(&["-u", "vipd"]);
    assert!(
        watchdog.contains("Watchdog timeout"),
        "systemd did not report a watchdog timeout:\n{watchdog}"
    );
    // Restarted (Restart=on-failure), a is master again with its VIP, b backup.
    let back = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        status_text(&a) == "web master; 1 check up" && a.host.has_addr(VIP) && !b.host.has_addr(VIP)
    });
    assert!(back, "a did not come back as master: {:?}", status_text(&a));
}

/// `realtime_priority` and `lock_memory` under the shipped unit: refused at
/// ExecStartPre (`vipd --check` tries the calls) with a message naming the shipped
/// drop-in; with that drop-in copied as it is, the loop runs under SCHED_FIFO and
/// keeps feeding the watchdog.
#[test]
fn realtime_needs_the_shipped_drop_in_and_runs_under_it_with_the_watchdog() {
    let _timing = exclusive();
    let lan = Lan::new("sdrealtime");
    let a = Booted::boot(lan.host_at("a", 11));
    let config = format!("realtime_priority: 50\nlock_memory: true\n{}", config(150));
    a.install_vipd(&config);

    let refused = a.exec(&["systemctl", "start", "vipd"]);
    assert!(
        !refused.status.success(),
        "vipd started with realtime_priority under the bare unit"
    );
    let log = a.journal(&["-u", "vipd"]);
    assert!(
        log.contains("realtime.conf"),
        "the refusal does not name the drop-in:\n{log}"
    );
    // Restart=on-failure would try again a second later: stop that.
    a.exec_ok(&["systemctl", "stop", "vipd"]);

    // The capabilities alone (the drop-in this README used to show) are not enough:
    // the sandbox refuses the calls, and `vipd --check` finds that by trying them, so
    // the start fails at ExecStartPre rather than in the daemon.
    a.write(
        "/etc/systemd/system/vipd.service.d/caps.conf",
        "[Service]\nAmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE CAP_IPC_LOCK\n\
         CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE CAP_IPC_LOCK\n",
        0o644,
    );
    a.exec_ok(&["systemctl", "daemon-reload"]);
    let since = a.exec_ok(&["date", "+%Y-%m-%d %H:%M:%S.%N"]);
    let refused = a.exec(&["systemctl", "start", "vipd"]);
    assert!(
        !refused.status.success(),
        "started with the capabilities alone"
    );
    a.exec_ok(&["systemctl", "stop", "vipd"]);
    let log = a.journal(&["-u", "vipd", "--since", since.trim()]);
    assert!(
        log.contains("Control process exited") && log.contains("realtime.conf"),
        "ExecStartPre (vipd --check) did not refuse, naming the drop-in:\n{log}"
    );
    assert!(
        !log.contains("vipd started"),
        "the daemon itself ran:\n{log}"
    );
    let _ = std::fs::remove_file(a.path("/etc/systemd/system/vipd.service.d/caps.conf"));

    let drop_in = vipd_e2e::bins::workspace_root().join("packaging/systemd/realtime.conf");
    let text = std::fs::read_to_string(&drop_in).expect("the shipped drop-in");
    a.write(
        "/etc/systemd/system/vipd.service.d/realtime.conf",
        &text,
        0o644,
    );
    a.exec_ok(&["systemctl", "daemon-reload"]);
    start(&a);
    let pid = a
        .exec_ok(&["systemctl", "show", "-P", "MainPID", "vipd"])
        .trim()
        .to_string();
    let policy = a.exec_ok(&["chrt", "-p", &pid]);
    assert!(
        policy.contains("SCHED_FIFO") && policy.contains("priority: 50"),
        "the loop's thread is not under SCHED_FIFO 50: {policy}"
    );
    // Four watchdog intervals later: still the same process, not restarted.
    let restarts = || a.exec_ok(&["systemctl", "show", "-P", "NRestarts", "vipd"]);
    let before = restarts();
    std::thread::sleep(WATCHDOG * 4);
    assert_eq!(restarts(), before);
    let now = a
        .exec_ok(&["systemctl", "show", "-P", "MainPID", "vipd"])
        .trim()
        .to_string();
    assert_eq!(now, pid);
    assert_eq!(status_text(&a), "web master");
}
