//! `vipctl drill`: two vipd, a (priority 150, master) and b (100), each with a metrics
//! listener on its LAN address and the other as its peer. The drill on a hands web over
//! to b and back, printing each step with its time, and the VIP ends on a. With b's
//! vipd stopped, the drill refuses: a keeps the VIP, maintenance stays off. Ctrl-C in
//! the middle of a drill ends it with maintenance off again.

use std::time::{Duration, Instant};

use vipd_api::State;
use vipd_e2e::{
    bins, describe, vipd_yaml, wait_master, wait_until, Host, Lan, Proc, Signal, VipdInstance,
    VIP4, VIP4_CIDR,
};

const PORT: u16 = 9650;

fn config(h: &Host, priority: u8, other: &Host) -> String {
    let mut y = vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[VIP4_CIDR]).priority(priority)],
    );
    y.push_str(&format!(
        "metrics:\n  listen: \"{}:{PORT}\"\ncluster_peers:\n  - name: {}\n    address: \"{}:{PORT}\"\n",
        h.ipv4, other.name, other.ipv4
    ));
    y
}

/// The milliseconds in the line starting with `prefix`, e.g. `return: 712 ms` → 712.
fn millis_after(out: &str, prefix: &str) -> Option<u64> {
    let line = out.lines().find(|l| l.starts_with(prefix))?;
    line[prefix.len()..].split_whitespace().next()?.parse().ok()
}

/// a (150) master and b (100) backup on `lan`, each the other's peer, settled.
fn pair(lan: &Lan) -> (Host, Host) {
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    a.spawn_vipd(&config(&a, 150, &b));
    b.spawn_vipd(&config(&b, 100, &a));
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(5)),
        "a did not become master:\n{}",
        describe(&[&a, &b], VIP4)
    );
    // b's published status says backup after its first kernel read (within a second).
    std::thread::sleep(Duration::from_millis(1500));
    (a, b)
}

#[test]
fn drill_hands_over_and_back_and_refuses_without_a_healthy_backup() {
    let lan = Lan::new("drill");
    let (a, b) = pair(&lan);
    let both = [&a, &b];

    // Not on the backup.
    let o = b.vipctl(&["drill"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not master; run the drill on the master"),
        "{err}"
    );

    let started = Instant::now();
    let o = a.vipctl(&["drill", "web"]);
    let took = started.elapsed();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    println!("--- drill on a ({} ms) ---\n{out}{err}", took.as_millis());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{err}\n{}",
        describe(&both, VIP4)
    );
    assert!(
        out.starts_with(&format!(
            "backup ready: b ({}:{PORT}), priority 100\n",
            b.ipv4
        )),
        "{out}"
    );
    let handover = millis_after(&out, "handover to b: ");
    let back = millis_after(&out, "maintenance off: return: ");
    // 200 ms adverts: b takes over within its Skew_Time (121.9 ms) of a's priority-0
    // advert — far below its Master_Down_Interval (721.9 ms), what a handover without
    // the priority-0 advert would take — and a preempts within Master_Down_Interval
    // (3 × 200 ms + skew) of maintenance off.
    assert!(handover.is_some_and(|ms| ms < 500), "{out}");
    assert!(back.is_some_and(|ms| ms < 2000), "{out}");
    // The node's own measure of the handover, from its event.
    let heard: Option<f64> = out
        .lines()
        .find_map(|l| l.split("(new master heard after ").nth(1))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok());
    assert!(heard.is_some_and(|h| h > 100.0 && h < 500.0), "{out}");
    assert!(
        out.contains(&format!("new master {} heard ", b.ipv4)),
        "{out}"
    );
    assert!(out.contains("master -> backup (maintenance"), "{out}");
    assert!(out.contains("backup -> master ("), "{out}");
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(2)),
        "the VIP did not end on a:\n{}",
        describe(&both, VIP4)
    );
    assert!(!b.has_addr(VIP4), "{}", describe(&both, VIP4));
    let web = &a.status().instances[0];
    assert!(!web.maintenance, "{web:?}");

    // b's vipd gone: refused, nothing changed.
    b.crash_vipd();
    let logged = a.vipd_log().matches("maintenance").count();
    let o = a.vipctl(&["drill"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    println!("--- drill on a without b ---\n{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("vipctl: drill refused, nothing changed: no healthy backup of web (b: cannot be reached: connection refused"),
        "{err}"
    );
    let web = &a.status().instances[0];
    assert_eq!(
        (web.state, web.maintenance),
        (State::Master, false),
        "{web:?}"
    );
    assert!(a.has_addr(VIP4), "{}", describe(&both, VIP4));
    // No maintenance request reached vipd (each is logged).
    assert_eq!(
        a.vipd_log().matches("maintenance").count(),
        logged,
        "a's log:\n{}",
        a.vipd_log()
    );
}

/// Ctrl-C while the drill waits for the backup to take over: b's vipd is paused
/// (SIGSTOP), so the drill is still waiting, a in maintenance, when SIGINT comes. The
/// drill must turn maintenance off before it exits (it used to die of the signal and
/// leave the instance in maintenance: a node that never becomes master again).
#[test]
fn ctrl_c_during_a_drill_turns_maintenance_off() {
    let lan = Lan::new("drillint");
    let (a, b) = pair(&lan);
    let both = [&a, &b];

    let mut c = a.command(bins::vipctl());
    c.arg("--socket")
        .arg(a.control_socket())
        .args(["drill", "web"]);
    // Killed when the test ends, passed or not; its output in the LAN's directory.
    let mut drill = Proc::spawn(c, "vipctl drill", &lan.dir().join("drill.out"));
    let printed = |drill: &Proc, start: &str| {
        let ok = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            drill.log_text().lines().any(|l| l.starts_with(start))
        });
        assert!(
            ok,
            "no {start:?} from the drill; so far:\n{}",
            drill.log_text()
        );
    };
    // The peer checked: pause b, so that nobody takes over while the drill waits.
    printed(&drill, "backup ready: b");
    assert!(b.kill(Signal::SIGSTOP), "b's vipd had exited");
    printed(&drill, "maintenance on: this node backup");
    assert!(a.status().instances[0].maintenance, "{}", drill.log_text());
    assert!(drill.signal(Signal::SIGINT), "vipctl drill had exited");
    let status = drill.wait_exit(Duration::from_secs(5));
    let out = drill.log_text();
    println!("--- drill on a, interrupted ---\n{out}");
    let Some(status) = status else {
        panic!("vipctl drill still running 5 s after SIGINT:\n{out}");
    };
    assert_eq!(status.code(), Some(1), "{status}: {out}");
    assert!(
        out.contains("drill failed: interrupted by a signal"),
        "{out}"
    );
    assert!(out.contains("maintenance is off again for web"), "{out}");
    assert!(!a.status().instances[0].maintenance, "{out}");
    assert!(b.kill(Signal::SIGCONT), "b's vipd had exited");
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(5)),
        "a did not become master again:\n{}",
        describe(&both, VIP4)
    );
}
