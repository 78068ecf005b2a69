//! `vipd --check` with `realtime_priority` and `lock_memory`: it names the capability the
//! process lacks (the service's bounding set without CAP_SYS_NICE, CAP_IPC_LOCK, as
//! `setpriv` makes it here), and says nothing of them when they are there (root).

use std::time::Duration;

use vipd_e2e::{bins, run_timeout, Lan};

#[test]
fn check_names_a_missing_capability() {
    let lan = Lan::new("rtcheck");
    let h = lan.host_at("h", 11);
    let path = h.dir().join("rt.yaml");
    let text = format!(
        "control_socket: \"{}\"\nrealtime_priority: 50\nlock_memory: true\ninstances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    advert_interval: 10ms\n    vips: [\"192.0.2.50/24\"]\n",
        h.control_socket().display()
    );
    std::fs::write(&path, text).expect("write the config");

    let mut without = h.command("setpriv");
    without
        .args(["--bounding-set=-sys_nice,-ipc_lock", "--"])
        .arg(bins::vipd())
        .arg("--check")
        .arg("--config")
        .arg(&path);
    let out = run_timeout(&mut without, Duration::from_secs(10)).expect("--check ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: realtime_priority: 50 needs CAP_SYS_NICE"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: lock_memory") && stderr.contains("CAP_IPC_LOCK"),
        "{stderr}"
    );

    let mut with = h.command(bins::vipd());
    with.arg("--check").arg("--config").arg(&path);
    let out = run_timeout(&mut with, Duration::from_secs(10)).expect("--check ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("CAP_SYS_NICE") && !stderr.contains("CAP_IPC_LOCK"),
        "{stderr}"
    );
}

/// The scheduling policy and real-time priority of a thread (fields 41 and 40 of its
/// /proc stat, counted after the command name's closing parenthesis).
fn policy(stat: &str) -> (u32, u32) {
    let rest = &stat[stat.rfind(')').expect("stat has a comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let field = |n: usize| f[n - 3].parse::<u32>().expect("a number");
    (field(41), field(40))
}

#[test]
fn only_the_loop_runs_realtime_and_memory_is_locked() {
    let lan = Lan::new("rtrun");
    let h = lan.host_at("h", 11);
    h.start_vipd(
        "realtime_priority: 50\nlock_memory: true\ninstances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    advert_interval: 10ms\n    vips: [\"192.0.2.50/24\"]\n",
    );
    let pid = h.vipd_pid().expect("vipd runs");
    let ready = vipd_e2e::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        h.vipd_log()
            .contains("realtime_priority: the main loop runs under SCHED_FIFO")
    });
    assert!(ready, "vipd did not raise itself:\n{}", h.vipd_log());
    let mut main = None;
    let mut helpers = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let task = task.expect("task").path();
        let tid: u32 = task
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .expect("a tid");
        let stat = std::fs::read_to_string(task.join("stat")).expect("stat");
        if tid == pid {
            main = Some(policy(&stat));
        } else {
            helpers.push(policy(&stat));
        }
    }
    assert_eq!(main, Some((1, 50)), "the main thread: SCHED_FIFO 50");
    assert!(!helpers.is_empty(), "vipd has helper threads");
    assert!(
        helpers.iter().all(|&(p, _)| p == 0),
        "helper threads not all SCHED_OTHER: {helpers:?}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let locked = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmLck");
    assert!(locked > 0, "no memory locked");
}
