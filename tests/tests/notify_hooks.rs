//! Notify hooks with the real daemon: two vipd routers, hook scripts (written here into
//! the LAN's temporary directory) that append a line with their environment to a file.
//!
//! b's `backup` hook hangs: it records itself, starts a child `sleep 1000` and waits for
//! it. The master (a) crashes while it hangs: b takes the VIP in the usual bound all the
//! same (hooks never hold up the protocol), the hanging hook is killed at b's
//! `notify_timeout` together with its child, and only then do b's `any` (for backup),
//! `master` and `any` (for master) hooks run, in that order, with the transition's
//! VIPD_* values. A SIGTERM then runs b's `stop` hook before vipd exits. a's `any`
//! hook gets keepalived's positional arguments (`notify_positional`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::setup::SETTLE;
use vipd_e2e::{
    describe, epoch_now, exclusive, master_down_ms, wait_master, wait_until, web_config, Lan,
    Signal, VIP4, VIP4_CIDR,
};

/// b's `notify_timeout`: long enough that a settles and crashes while the hang runs.
const HOOK_TIMEOUT: Duration = Duration::from_secs(6);

/// Appends one line: the time, then `key=value` for the hook's VIPD_* variables, its
/// arguments, PATH, the names of every variable it was given and what its open file
/// descriptors are.
const RECORD: &str = r#"#!/bin/sh
log=$1
shift
echo "$(date +%s.%N) hook=$VIPD_HOOK instance=$VIPD_INSTANCE state=$VIPD_STATE previous=$VIPD_PREVIOUS reason=$VIPD_REASON priority=$VIPD_PRIORITY vips=$VIPD_VIPS args=$* path=$PATH names=$(env | cut -d= -f1 | sort | tr '\n' ,) fds=$(for f in /proc/$$/fd/*; do readlink "$f"; done | tr '\n' ,)" >> "$log"
"#;

/// Records itself like RECORD, then writes its pid and its child's to the file named by
/// its second argument and waits for the child (`sleep 1000`) forever.
const HANG: &str = r#"#!/bin/sh
echo "$(date +%s.%N) hook=$VIPD_HOOK instance=$VIPD_INSTANCE state=$VIPD_STATE hanging" >> "$1"
sleep 1000 &
echo "$$ $!" > "$2.tmp"
mv "$2.tmp" "$2"
wait
"#;

fn write_script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a hook script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// `web_config(priority)` with this `notify` block and timeout.
fn hooked(priority: u8, notify: &str, timeout: Duration) -> String {
    format!(
        "{}    notify:\n{notify}    notify_timeout: {}ms\n",
        web_config(priority, VIP4_CIDR),
        timeout.as_millis()
    )
}

/// The lines of a hook log (none yet: empty).
fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The value of `key=` in a line (up to the next space).
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
}

fn time_of(line: &str) -> f64 {
    line.split(' ')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(f64::NAN)
}

fn alive(pid: i32) -> bool {
    // Gone, or a zombie waiting for its reaper, is dead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn hooks_run_in_order_with_their_environment_and_a_hang_is_killed_with_its_child() {
    let _serial = exclusive();
    let lan = Lan::new("notify");
    let hooks = lan.dir().join("hooks");
    std::fs::create_dir_all(&hooks).expect("hook dir");
    let record = write_script(&hooks, "record.sh", RECORD);
    let hang = write_script(&hooks, "hang.sh", HANG);
    let log = hooks.join("b.log");
    let pids = hooks.join("hang.pids");
    let (r, l) = (record.display(), log.display());
    let notify = format!(
        "      master: [{r}, {l}, one, two]\n      backup: [{}, {l}, {}]\n      stopped: [{r}, {l}]\n      any: [{r}, {l}]\n",
        hang.display(),
        pids.display()
    );

    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let both = [&a, &b];
    // a first, settled as master, with keepalived's form of `notify` (any, with
    // `notify_positional`); then b, which hears it and stays backup.
    let a_log = hooks.join("a.log");
    let a_notify = format!("      any: [{r}, {}]\n", a_log.display());
    a.spawn_vipd(&format!(
        "{}    notify_positional: true\n",
        hooked(150, &a_notify, HOOK_TIMEOUT)
    ));
    assert!(
        wait_master(&a, VIP4, SETTLE),
        "a did not become master within {SETTLE:?}:\n{}",
        describe(&[&a], VIP4)
    );
    // keepalived's notify arguments: TYPE NAME STATE PRIORITY.
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
            lines(&a_log).len() >= 2
        }),
        "a's hooks: {:?}",
        lines(&a_log)
    );
    let a_args: Vec<String> = lines(&a_log)
        .iter()
        .map(|l| {
            let from = l.find(" args=").map_or(0, |i| i + 6);
            let to = l.find(" path=").unwrap_or(l.len());
            l.get(from..to).unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(
        a_args,
        ["INSTANCE web BACKUP 150", "INSTANCE web MASTER 150"],
        "{:#?}",
        lines(&a_log)
    );
    b.spawn_vipd(&hooked(100, &notify, HOOK_TIMEOUT));
    let b_started = epoch_now();

    // b's startup backup hook is hanging now, with its child.
    assert!(
        wait_until(Duration::from_secs(3), Duration::from_millis(20), || pids
            .exists()),
        "the hanging backup hook never wrote its pids; log: {:?}\n{}",
        lines(&log),
        b.vipd_log()
    );
    let text = std::fs::read_to_string(&pids).expect("pids");
    let hang_pids: Vec<i32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(hang_pids.len(), 2, "pids file {text:?}");
    assert!(
        hang_pids.iter().all(|p| alive(*p)),
        "the hang ended before the failover: {:.1} s of its {HOOK_TIMEOUT:?} went by",
        epoch_now() - b_started
    );
    assert_eq!(b.state(), Some(State::Backup));

    // The master crashes while b's hook hangs: b takes over in the usual bound.
    let crashed = epoch_now();
    a.crash_vipd();
    let bound_ms = master_down_ms(100, 200.0) + 250.0;
    assert!(
        wait_until(
            Duration::from_secs_f64(bound_ms / 1e3),
            Duration::from_millis(5),
            || b.has_addr(VIP4)
        ),
        "b did not take the VIP within {bound_ms:.1} ms of a's crash, with its hook hanging:\n{}",
        describe(&both, VIP4)
    );
    let took_ms = (epoch_now() - crashed) * 1e3;
    assert!(
        hang_pids.iter().all(|p| alive(*p)),
        "the hang should still run"
    );
    assert_eq!(b.state(), Some(State::Master));

    // The hang is killed at its timeout, its child with it; then the rest runs.
    let deadline = HOOK_TIMEOUT + Duration::from_secs(5);
    assert!(
        wait_until(deadline, Duration::from_millis(20), || lines(&log).len()
            >= 4),
        "the hooks after the hang did not run; log: {:?}\n{}",
        lines(&log),
        b.vipd_log()
    );
    assert!(
        hang_pids.iter().all(|p| !alive(*p)),
        "the hang's processes {hang_pids:?} outlived its timeout"
    );
    let got = lines(&log);
    let hooks_seen: Vec<(&str, &str)> = got
        .iter()
        .map(|l| (field(l, "hook"), field(l, "state")))
        .collect();
    assert_eq!(
        hooks_seen,
        [
            ("backup", "backup"),
            ("any", "backup"),
            ("master", "master"),
            ("any", "master")
        ],
        "{got:#?}"
    );
    // Not before the timeout: the hang began at the first line.
    let held = time_of(&got[1]) - time_of(&got[0]);
    assert!(
        held >= HOOK_TIMEOUT.as_secs_f64() - 0.05 && held < HOOK_TIMEOUT.as_secs_f64() + 3.0,
        "the hook after the hang ran {held:.3} s after it began (timeout {HOOK_TIMEOUT:?})"
    );
    let master = &got[2];
    for (key, value) in [
        ("instance", "web"),
        ("state", "master"),
        ("previous", "backup"),
        ("reason", "master_down_timer"),
        ("priority", "100"),
        ("vips", VIP4_CIDR),
        ("path", vipd_node_path()),
    ] {
        assert_eq!(field(master, key), value, "{key} in {master}");
    }
    assert!(master.contains(" args=one two "), "{master}");
    // Nothing of the daemon's environment (the harness sets RUST_LOG for it): only
    // vipd's variables and what sh itself sets.
    let names = field(master, "names");
    for name in names.split(',').filter(|n| !n.is_empty()) {
        assert!(
            name.starts_with("VIPD_") || ["PATH", "PWD", "SHLVL", "_", "OLDPWD"].contains(&name),
            "unexpected variable {name} in the hook's environment: {names}"
        );
    }
    assert!(names.contains("VIPD_VIPS"), "{names}");
    // None of vipd's sockets, pidfds, epoll or event descriptors leaked into it.
    let fds = field(master, "fds");
    assert!(
        fds.contains("/dev/null") && !fds.contains("socket:") && !fds.contains("anon_inode:"),
        "the hook's descriptors: {fds}"
    );

    // The counters: four runs (the last one's answer may still be on its way), the
    // hang failed by timeout.
    let notify_status = || b.vipctl_status_json().instances[0].notify.clone();
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
            notify_status().is_some_and(|n| n.runs == 4)
        }),
        "{:?}",
        notify_status()
    );
    let n = notify_status().expect("notify status");
    assert_eq!(
        (n.runs, n.failed, n.timed_out, n.dropped),
        (4, 1, 1, 0),
        "{n:?}"
    );
    assert!(
        n.last_failure
            .as_deref()
            .is_some_and(|f| f.starts_with("backup: ran longer than 6000ms")),
        "{n:?}"
    );
    let text = b.vipctl_status_text();
    assert!(
        text.contains("notify hooks: 4 runs, 1 failed (1 timed out), 0 dropped"),
        "{text}"
    );

    // SIGTERM: the stopped hook (then any) runs before vipd exits.
    assert!(b.kill(Signal::SIGTERM), "b's vipd was gone");
    b.assert_exits_cleanly(Duration::from_secs(10));
    let got = lines(&log);
    let tail: Vec<(&str, &str)> = got[4..]
        .iter()
        .map(|l| (field(l, "hook"), field(l, "state")))
        .collect();
    assert_eq!(
        tail,
        [("stopped", "stopped"), ("any", "stopped")],
        "{got:#?}"
    );
    println!(
        "notify_hooks: b held {VIP4} {took_ms:.1} ms after a's crash (bound {bound_ms:.1} ms) \
         while its hook hung; the hang was killed {held:.3} s after it began; the master \
         hook's environment: {names}; its descriptors: {fds}"
    );
}

/// The PATH vipd gives hooks.
fn vipd_node_path() -> &'static str {
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}
