//! What vipd's children hold when vipd runs as the packaged unit runs it: the harness
//! starts vipd of this test binary (its name starts with `unprivileged`) as nobody with
//! only CAP_NET_ADMIN and CAP_NET_RAW, ambient (and all the bounding set holds). An exec
//! check and a `master` notify hook each copy their /proc/self/status; neither holds a
//! capability (CapEff, CapPrm, CapInh and CapAmb all 0, where vipd's are 0x3000), both
//! run as nobody. The bounding set is left as vipd's (emptying it needs CAP_SETPCAP,
//! which the unit does not give): printed, not asserted. A check with `user: root` is
//! not started at all: vipd lacks CAP_SETUID, CAP_SETGID and CAP_KILL (it could not
//! kill it at the timeout), and the check's result says so.

use std::path::Path;
use std::time::Duration;

use vipd_e2e::setup::SETTLE;
use vipd_e2e::{
    describe, vipd_unprivileged, wait_master, wait_until, web_config, Lan, VIP4, VIP4_CIDR,
};

/// The whitespace-separated values of `name` (e.g. `CapEff:`) in a status text.
fn field<'a>(status: &'a str, name: &str) -> Vec<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default()
}

fn read_when_written(path: &Path, what: &str) -> String {
    let written = wait_until(SETTLE, Duration::from_millis(20), || {
        std::fs::read_to_string(path).is_ok_and(|t| t.contains("CapAmb:"))
    });
    assert!(written, "{what} did not write {}", path.display());
    std::fs::read_to_string(path).expect("written")
}

#[test]
fn a_check_and_a_hook_run_without_any_capability() {
    assert!(
        vipd_unprivileged(),
        "this binary should run vipd unprivileged"
    );
    let lan = Lan::new("unprivkids");
    let a = lan.host_at("a", 11);
    // The host's directory is handed to nobody when vipd starts: the children write there.
    let check_out = a.dir().join("check.status");
    let hook_out = a.dir().join("hook.status");
    let root_out = a.dir().join("root.status");
    let copy = |to: &Path| {
        format!(
            "[/bin/sh, -c, \"cat /proc/self/status > {}\"]",
            to.display()
        )
    };
    let yaml = format!(
        "checks:\n  caps:\n    exec: {}\n    interval: 200ms\n  as_root:\n    exec: [/bin/sh, -c, \"cat /proc/self/status > {}\"]\n    user: root\n    interval: 200ms\n{}    track:\n      - {{check: caps, weight: -1}}\n      - {{check: as_root, weight: -1}}\n    notify:\n      master: {}\n",
        copy(&check_out),
        root_out.display(),
        web_config(150, VIP4_CIDR),
        copy(&hook_out),
    );
    a.spawn_vipd(&yaml);
    assert!(
        wait_master(&a, VIP4, SETTLE),
        "a did not become master within {SETTLE:?}:\n{}",
        describe(&[&a], VIP4)
    );
    let pid = a.vipd_pid().expect("vipd runs");
    let vipd_status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    // The premise: vipd itself holds the two capabilities.
    assert_eq!(field(&vipd_status, "CapEff:"), vec!["0000000000003000"]);
    assert_eq!(field(&vipd_status, "CapAmb:"), vec!["0000000000003000"]);
    for (what, path) in [
        ("the exec check", &check_out),
        ("the master hook", &hook_out),
    ] {
        let status = read_when_written(path, what);
        println!(
            "{what}: Uid {:?} CapEff {:?} CapPrm {:?} CapInh {:?} CapAmb {:?} CapBnd {:?}",
            field(&status, "Uid:"),
            field(&status, "CapEff:"),
            field(&status, "CapPrm:"),
            field(&status, "CapInh:"),
            field(&status, "CapAmb:"),
            field(&status, "CapBnd:"),
        );
        for set in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:"] {
            assert_eq!(
                field(&status, set),
                vec!["0000000000000000"],
                "{what}: {set} in\n{status}"
            );
        }
        assert_eq!(
            field(&status, "Uid:"),
            vec!["65534"; 4],
            "{what}:\n{status}"
        );
        assert_eq!(
            field(&status, "Groups:"),
            Vec::<&str>::new(),
            "{what}:\n{status}"
        );
    }
    // The user: root check: refused before it runs, with the reason.
    let mut last = None;
    let refused = wait_until(SETTLE, Duration::from_millis(50), || {
        last = a
            .status()
            .checks
            .into_iter()
            .find(|c| c.name == "as_root")
            .and_then(|c| c.last_result);
        last.as_deref().is_some_and(|r| r.contains("CAP_KILL"))
    });
    println!("the user: root check: {last:?}");
    assert!(refused, "the user: root check's last result: {last:?}");
    for cap in ["CAP_SETUID", "CAP_SETGID"] {
        assert!(last.as_deref().is_some_and(|r| r.contains(cap)), "{last:?}");
    }
    assert!(!root_out.exists(), "the user: root check ran");
}
