//! A sync group end to end: two routers, a and b, each with `eth0` on the frontend
//! segment (`br0`, 192.0.2.0/24) and `eth1` on a backend segment (`br1`,
//! 192.0.2.128/25; longest-prefix match keeps its traffic on eth1). One vipd per
//! router runs two instances in one group `lb`:
//!
//! | instance | interface | VRID | VIP             | a   | b   |
//! | -------- | --------- | ---- | --------------- | --- | --- |
//! | front    | eth0      | 61   | 192.0.2.60/24   | 150 | 100 |
//! | back     | eth1      | 62   | 192.0.2.160/25  | 150 | 100 |
//!
//! a is master of both. Pulling a's backend cable puts a's `back` in Fault; the group
//! makes a's `front` (whose link is fine) hand over too, and b takes both VIPs together
//! — b's `front` is ready at once (a's priority 0) but waits for b's `back`, which
//! needs b's Master_Down_Interval (3 × 200 ms + 156/256 × 200 ms ≈ 722 ms). Plugging
//! the cable back makes a preempt both together. Without the group a would keep the
//! frontend VIP and b would take only the backend one.
//!
//! The group has `master`, `backup` and `fault` hooks (scripts written here into the
//! LAN's temporary directory) that append a line with the group's environment to a file
//! per host: after the pull, b ran its group `master` hook exactly once (not once per
//! member), with `VIPD_GROUP=lb` and `VIPD_INSTANCES=front back`, and a its group
//! `fault` hook once.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::lan::instance;
use vipd_e2e::{
    assert_vipctl_agrees, describe_all, epoch_now, exclusive, vipd_yaml, wait_until, Host, Lan,
    VipdInstance,
};

const FRONT_VIP: &str = "192.0.2.60";
const BACK_VIP: &str = "192.0.2.160";
const A_ETH1: &str = "192.0.2.141";
const B_ETH1: &str = "192.0.2.142";

/// Appends one line to the file named by its first argument: the hook and the group's
/// variables, `|`-separated (VIPD_INSTANCES and VIPD_VIPS hold spaces).
const RECORD: &str = r#"#!/bin/sh
echo "hook=$VIPD_HOOK|group=$VIPD_GROUP|instances=$VIPD_INSTANCES|state=$VIPD_STATE|previous=$VIPD_PREVIOUS|reason=$VIPD_REASON|vips=$VIPD_VIPS|instance=$VIPD_INSTANCE" >> "$1"
"#;

fn write_script(dir: &Path) -> PathBuf {
    let path = dir.join("record.sh");
    std::fs::write(&path, RECORD).expect("write the hook script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// The lines of a hook log (none yet: empty).
fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The lines of `log` whose hook is `hook`.
fn runs_of(log: &Path, hook: &str) -> Vec<String> {
    let tag = format!("hook={hook}|");
    lines(log)
        .into_iter()
        .filter(|l| l.starts_with(&tag))
        .collect()
}

/// One router's configuration: both instances at `priority`, in group `lb`, its
/// `master`, `backup` and `fault` hooks recording to `log` with `record`.
fn config(priority: u8, record: &Path, log: &Path) -> String {
    let instances = [
        VipdInstance::new("front", 61, &["192.0.2.60/24"])
            .interface("eth0")
            .priority(priority),
        VipdInstance::new("back", 62, &["192.0.2.160/25"])
            .interface("eth1")
            .priority(priority),
    ];
    let mut yaml = vipd_yaml(Some("debug"), &instances);
    yaml.push_str("groups:\n  - name: lb\n    instances: [front, back]\n    notify:\n");
    let (r, l) = (record.display(), log.display());
    for hook in ["master", "backup", "fault"] {
        yaml.push_str(&format!("      {hook}: [{r}, {l}]\n"));
    }
    yaml
}

/// Whether `h` holds both VIPs (`true`) or neither (`false`), each on its own interface.
fn holds_both(h: &Host, want: bool) -> bool {
    h.has_addr_on("eth0", FRONT_VIP) == want && h.has_addr_on("eth1", BACK_VIP) == want
}

/// Whether `h` shows `front` and `back` in `states`.
fn states_are(h: &Host, states: [State; 2]) -> bool {
    let Ok(st) = h.try_status() else {
        return false;
    };
    ["front", "back"]
        .iter()
        .zip(states)
        .all(|(n, s)| instance(&st, n).is_some_and(|i| i.state == s))
}

/// Polls every 5 ms, up to `timeout`, for `master` to hold both VIPs and `other` none;
/// returns when `master` got the first and the second VIP, in ms after `since`.
fn both_move_to(
    master: &Host,
    other: &Host,
    since: f64,
    timeout: Duration,
    what: &str,
) -> (f64, f64) {
    let (mut front_at, mut back_at) = (None, None);
    let moved = wait_until(timeout, Duration::from_millis(5), || {
        let now = (epoch_now() - since) * 1e3;
        if front_at.is_none() && master.has_addr_on("eth0", FRONT_VIP) {
            front_at = Some(now);
        }
        if back_at.is_none() && master.has_addr_on("eth1", BACK_VIP) {
            back_at = Some(now);
        }
        front_at.is_some() && back_at.is_some() && holds_both(other, false)
    });
    assert!(
        moved,
        "{what}: not within {timeout:?} (front at {front_at:?} ms, back at {back_at:?} ms)\n{}",
        describe_all(&[master, other])
    );
    (front_at.unwrap_or(f64::NAN), back_at.unwrap_or(f64::NAN))
}

#[test]
fn a_sync_group_moves_both_vips_when_one_link_fails_and_back_when_it_returns() {
    let _serial = exclusive();
    let lan = Lan::new("sgroup");
    lan.add_segment("br1");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    for (h, v4) in [(&a, A_ETH1), (&b, B_ETH1)] {
        lan.attach(h, "br1", "eth1", &[&format!("{v4}/25")]);
    }
    let route = a.exec_ok(&["ip", "-4", "route", "get", BACK_VIP]);
    assert!(
        route.contains("dev eth1"),
        "{BACK_VIP} should route over eth1: {route}"
    );

    let hooks = lan.dir().join("hooks");
    std::fs::create_dir_all(&hooks).expect("hook dir");
    let record = write_script(&hooks);
    let (a_log, b_log) = (hooks.join("a.log"), hooks.join("b.log"));
    a.spawn_vipd(&config(150, &record, &a_log));
    b.spawn_vipd(&config(100, &record, &b_log));
    use State::{Backup, Fault, Master};
    let settled = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        states_are(&a, [Master, Master])
            && states_are(&b, [Backup, Backup])
            && holds_both(&a, true)
            && holds_both(&b, false)
    });
    assert!(settled, "start-up:\n{}", describe_all(&[&a, &b]));
    assert_vipctl_agrees(&[&a, &b]);
    // The group hooks so far: a's backup (start-up) then master; b's backup. Hooks run
    // after the transitions, so wait (bounded) for them to be written.
    let started = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        runs_of(&a_log, "master").len() == 1 && runs_of(&b_log, "backup").len() == 1
    });
    assert!(
        started,
        "start-up group hooks: a {:?}, b {:?}",
        lines(&a_log),
        lines(&b_log)
    );
    assert!(
        runs_of(&b_log, "master").is_empty(),
        "b: {:?}",
        lines(&b_log)
    );
    // vipctl shows the group, released on a, held on b (each waits for the other).
    let st = a.vipctl_status_json();
    for i in &st.instances {
        let g = i.group.as_ref().expect("a group member shows its group");
        assert_eq!((g.name.as_str(), g.held), ("lb", false), "a: {i:?}");
    }
    let text = b.vipctl_status_text();
    assert!(
        text.contains("sync group: lb (held, waiting for front (backup), back (backup))"),
        "b's vipctl status:\n{text}"
    );

    // a's backend cable is pulled: both VIPs go to b.
    let pulled = epoch_now();
    a.pull_cable_on("eth1");
    let (front_ms, back_ms) = both_move_to(
        &b,
        &a,
        pulled,
        Duration::from_secs(3),
        "b did not take both VIPs (and a give up both) after a's backend cable was pulled",
    );
    let moved = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        states_are(&a, [Backup, Fault]) && states_are(&b, [Master, Master])
    });
    assert!(moved, "after the pull:\n{}", describe_all(&[&a, &b]));
    // b's `front` would have taken over Skew_Time (≈ 122 ms) after a's priority 0; the
    // group kept it until b's `back` could follow, one Master_Down_Interval (≈ 722 ms)
    // after a's last backend advert. Both went together.
    assert!(
        (front_ms - back_ms).abs() <= 100.0,
        "the VIPs moved apart: front after {front_ms:.1} ms, back after {back_ms:.1} ms"
    );
    assert!(
        front_ms >= 300.0,
        "front moved after {front_ms:.1} ms: sooner than b's backend could follow"
    );
    assert!(
        back_ms <= 1500.0,
        "back moved only after {back_ms:.1} ms (Master_Down_Interval ≈ 722 ms)"
    );
    let st = a.vipctl_status_json();
    let front = instance(&st, "front").expect("front listed");
    let g = front.group.as_ref().expect("group shown");
    assert!(g.held, "a's front should be held: {front:?}");
    assert!(
        g.waiting_for
            .iter()
            .any(|w| (w.instance.as_str(), w.state.as_str()) == ("back", "fault")),
        "a's front waits for its back: {front:?}"
    );
    // The group's hooks: b ran `master` once for the group (its two members became
    // master in one instant: one group transition), with the group's environment; a
    // ran `fault` once (its `back` faulted; `front`, held in Backup, added no run).
    let hooked = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        !runs_of(&b_log, "master").is_empty() && !runs_of(&a_log, "fault").is_empty()
    });
    assert!(
        hooked,
        "group hooks after the pull: a {:?}, b {:?}",
        lines(&a_log),
        lines(&b_log)
    );
    // A while later nothing has changed (a's front, ready, stays held).
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        states_are(&a, [Backup, Fault]) && holds_both(&a, false) && holds_both(&b, true),
        "1 s after the pull:\n{}",
        describe_all(&[&a, &b])
    );
    // Checked a second after the first runs were seen: no second run came.
    let b_master = runs_of(&b_log, "master");
    assert_eq!(
        b_master,
        vec![
            "hook=master|group=lb|instances=front back|state=master|previous=backup|\
             reason=sync_group|vips=192.0.2.60/24 192.0.2.160/25|instance="
                .to_string()
        ],
        "b's group master runs"
    );
    let a_fault = runs_of(&a_log, "fault");
    assert_eq!(
        a_fault,
        vec![
            "hook=fault|group=lb|instances=front back|state=fault|previous=master|\
             reason=link_down|vips=192.0.2.60/24 192.0.2.160/25|instance="
                .to_string()
        ],
        "a's group fault runs"
    );
    assert_eq!(runs_of(&a_log, "master").len(), 1, "a: {:?}", lines(&a_log));
    assert_eq!(runs_of(&a_log, "backup").len(), 1, "a: {:?}", lines(&a_log));

    // The cable returns: a preempts both, together.
    let plugged = epoch_now();
    a.plug_cable_on("eth1");
    let (front_back_ms, back_back_ms) = both_move_to(
        &a,
        &b,
        plugged,
        Duration::from_secs(5),
        "a did not take both VIPs back after its backend cable returned",
    );
    let back = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        states_are(&a, [Master, Master]) && states_are(&b, [Backup, Backup])
    });
    assert!(
        back,
        "after the cable returned:\n{}",
        describe_all(&[&a, &b])
    );
    assert!(
        (front_back_ms - back_back_ms).abs() <= 100.0,
        "the VIPs came back apart: front after {front_back_ms:.1} ms, back after \
         {back_back_ms:.1} ms"
    );
    assert_vipctl_agrees(&[&a, &b]);
    // The cable back: a's group went fault -> backup -> master, b's master -> backup.
    let returned = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        runs_of(&a_log, "master").len() == 2 && runs_of(&b_log, "backup").len() == 2
    });
    assert!(
        returned,
        "group hooks after the cable returned: a {:?}, b {:?}",
        lines(&a_log),
        lines(&b_log)
    );
    let hooks_of = |log: &Path| -> Vec<String> {
        lines(log)
            .iter()
            .map(|l| l.split('|').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        hooks_of(&a_log),
        [
            "hook=backup",
            "hook=master",
            "hook=fault",
            "hook=backup",
            "hook=master"
        ],
        "a's group hooks, in order"
    );
    assert_eq!(
        hooks_of(&b_log),
        ["hook=backup", "hook=master", "hook=backup"],
        "b's group hooks, in order"
    );
    // vipctl counts the group's runs apart from its members': a's five, none failed.
    let counted = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        a.vipctl_status_json().instances.iter().all(|i| {
            i.group
                .as_ref()
                .and_then(|g| g.notify.as_ref())
                .is_some_and(|n| (n.runs, n.failed) == (5, 0))
        })
    });
    assert!(
        counted,
        "a's group hook counters:\n{}",
        a.vipctl_status_text()
    );
    println!(
        "sync_groups: backend cable pulled: b held front after {front_ms:.1} ms, back after \
         {back_ms:.1} ms; plugged back: a held front after {front_back_ms:.1} ms, back after \
         {back_back_ms:.1} ms"
    );
}
