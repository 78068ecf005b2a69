//! `vipctl import keepalived` end to end: keepalived runs a configuration of the corpus
//! (tests/keepalived-import/) on one host, vipd runs what the importer made of the same
//! file on another, and the two elect and fail over as two keepalived would.
//!
//! Each configuration serves both hosts through keepalived's conditionals: config id
//! `vd` is the vipd host (`vipctl import keepalived --host vd`), keepalived's own id (the
//! machine's name) gets the other lines. `$DIR` is set to each host's directory, where
//! the tracked scripts look for their flag files.

use std::path::PathBuf;
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::lan::instance;
use vipd_e2e::{bins, exclusive, holders, wait_until, Host, Lan, Signal};

fn corpus(name: &str) -> PathBuf {
    bins::workspace_root()
        .join("tests/keepalived-import")
        .join(name)
        .join("keepalived.conf")
}

/// The corpus file with `$DIR` (where it is set) pointing at `host`'s directory.
fn conf_for(name: &str, host: &Host) -> String {
    let text = std::fs::read_to_string(corpus(name)).expect("corpus configuration");
    text.replace(
        "$DIR=/run/vipd-interop\n",
        &format!("$DIR={}\n", host.dir().display()),
    )
}

/// Converts `name` for the vipd host with the real vipctl; it must be complete (exit 0).
fn import_for(name: &str, host: &Host) -> String {
    let file = host.dir().join("keepalived-source.conf");
    std::fs::write(&file, conf_for(name, host)).expect("write source");
    let out = std::process::Command::new(bins::vipctl())
        .args(["import", "keepalived", "--host", "vd"])
        .arg(&file)
        .output()
        .expect("run vipctl import");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the import of {name} is not complete:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 YAML")
}

fn flag(host: &Host, name: &str, on: bool) {
    let path = host.dir().join(name);
    if on {
        std::fs::write(&path, "").expect("create flag");
    } else {
        let _ = std::fs::remove_file(&path);
    }
}

fn picture(k: &Host, v: &Host, vips: &[&str]) -> String {
    let held: Vec<String> = vips
        .iter()
        .map(|vip| format!("{vip}: {:?}", holders(&[k, v], vip)))
        .collect();
    let states = v
        .try_status()
        .map(|s| {
            s.instances
                .iter()
                .map(|i| {
                    format!(
                        "{} {} ({}) priority {}",
                        i.name,
                        i.state.as_str(),
                        i.reason,
                        i.priority_effective
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_else(|e| e);
    let log = k.keepalived_log();
    let tail: Vec<&str> = log.lines().rev().take(25).collect();
    format!(
        "holders: {}\nvipd: {states}\nkeepalived log (newest first):\n{}",
        held.join(", "),
        tail.join("\n")
    )
}

/// Waits until `holder` alone holds every VIP in `vips`.
fn wait_held(k: &Host, v: &Host, holder: &str, vips: &[&str], timeout: Duration, what: &str) {
    let ok = wait_until(timeout, Duration::from_millis(20), || {
        vips.iter()
            .all(|vip| holders(&[k, v], vip) == vec![holder.to_string()])
    });
    assert!(ok, "{what}:\n{}", picture(k, v, vips));
}

/// `holder` still alone holds every VIP after `pause`.
fn still_held(k: &Host, v: &Host, holder: &str, vips: &[&str], pause: Duration, what: &str) {
    std::thread::sleep(pause);
    for vip in vips {
        assert_eq!(
            holders(&[k, v], vip),
            vec![holder.to_string()],
            "{what}:\n{}",
            picture(k, v, vips)
        );
    }
}

fn state_of(v: &Host, name: &str) -> Option<State> {
    v.try_status()
        .ok()
        .and_then(|s| instance(&s, name).map(|i| i.state))
}

/// corpus 16: keepalived 150, vipd 100 with `chk_boost` weight +60 (VRRPv2, preempt).
/// keepalived is master; vipd's script succeeding lifts it to 160 and it preempts with
/// both VIPs; the script failing again drops it to 100 and keepalived preempts back;
/// keepalived stopping hands both VIPs to vipd.
#[test]
fn imported_priorities_preemption_and_script_weight_match_keepalived() {
    let _serial = exclusive();
    let name = "16-interop-preempt-weight";
    let vips = ["192.0.2.60", "192.0.2.61"];
    let lan = Lan::new("impw");
    let k = lan.host_at("ka", 51);
    let v = lan.host_at("vd", 52);
    let yaml = import_for(name, &v);
    k.spawn_keepalived(&conf_for(name, &k));
    v.spawn_vipd(&yaml);
    wait_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(15),
        "keepalived (150) should be master of both VIPs, vipd (100) backup",
    );
    still_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(4),
        "keepalived should stay master",
    );
    assert_eq!(state_of(&v, "web"), Some(State::Backup));

    // The tracked script succeeds on the vipd host: 100 + 60 = 160 > 150, vipd preempts.
    flag(&v, "boost", true);
    wait_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(10),
        "vipd (160 with chk_boost up) should preempt keepalived (150) with both VIPs",
    );
    let st = v.status();
    let web = instance(&st, "web").expect("instance web");
    assert_eq!(web.state, State::Master);
    assert_eq!(web.priority_effective, 160, "{web:?}");
    still_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(4),
        "keepalived should accept vipd (160) as master",
    );

    // The script fails again: vipd is back at 100 and keepalived (150) preempts.
    flag(&v, "boost", false);
    wait_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(10),
        "keepalived (150) should preempt vipd (back at 100)",
    );
    assert!(wait_until(
        Duration::from_secs(3),
        Duration::from_millis(20),
        || state_of(&v, "web") == Some(State::Backup)
    ));

    // keepalived stops: it sends priority 0, vipd takes both VIPs.
    assert!(k.kill_keepalived(Signal::SIGTERM));
    wait_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(6),
        "vipd should take over from stopped keepalived",
    );
    k.assert_keepalived_understands(&[]);
}

/// corpus 17: sync group LB {front, back}, nopreempt everywhere, VRRPv3; keepalived 100,
/// vipd 150. keepalived starts alone and is master; vipd (higher, nopreempt) does not
/// preempt; keepalived stopping moves both VIPs to vipd; keepalived back (lower) stays
/// backup; vipd's `back` failing its script takes `front` along: both VIPs move back
/// to keepalived together.
#[test]
fn imported_sync_group_and_nopreempt_match_keepalived() {
    let _serial = exclusive();
    let name = "17-interop-sync-nopreempt";
    let vips = ["192.0.2.62", "192.0.2.63"];
    let lan = Lan::new("imsg");
    let k = lan.host_at("ka", 53);
    let v = lan.host_at("vd", 54);
    flag(&k, "back-ok", true);
    flag(&v, "back-ok", true);
    let yaml = import_for(name, &v);
    k.spawn_keepalived(&conf_for(name, &k));
    wait_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(15),
        "keepalived alone should become master of both",
    );

    v.spawn_vipd(&yaml);
    still_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(6),
        "vipd (150, nopreempt) must not preempt keepalived (100)",
    );
    assert_eq!(state_of(&v, "front"), Some(State::Backup));
    assert_eq!(state_of(&v, "back"), Some(State::Backup));

    assert!(k.kill_keepalived(Signal::SIGTERM));
    wait_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(6),
        "vipd should take both VIPs from stopped keepalived",
    );
    assert!(
        k.wait_keepalived_exit(Duration::from_secs(5)).is_some(),
        "keepalived did not exit"
    );

    k.spawn_keepalived(&conf_for(name, &k));
    still_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(6),
        "keepalived (100) back should stay backup",
    );

    // vipd's `back` fails its tracked script (Fault); the group takes `front` along.
    flag(&v, "back-ok", false);
    wait_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(10),
        "both VIPs should move to keepalived together when vipd's back fails",
    );
    assert!(
        wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
            state_of(&v, "back") == Some(State::Fault)
                && state_of(&v, "front") == Some(State::Backup)
        }),
        "{}",
        picture(&k, &v, &vips)
    );
    k.assert_keepalived_understands(&[]);
}

/// corpus 20: unicast peers (each host lists the other), VRRPv3 at 500 ms; vipd 150,
/// keepalived 100. keepalived stays backup only if it hears vipd's unicast adverts
/// (keepalived in unicast mode drops multicast ones); vipd hears keepalived's (no
/// `not_a_peer` drops); vipd stopping hands the VIP to keepalived; vipd back preempts.
#[test]
fn imported_unicast_peers_interoperate_with_keepalived() {
    let _serial = exclusive();
    let name = "20-interop-unicast";
    let vips = ["192.0.2.64"];
    let lan = Lan::new("imuc");
    let k = lan.host_at("ka", 55);
    let v = lan.host_at("vd", 56);
    let yaml = import_for(name, &v);
    v.spawn_vipd(&yaml);
    k.spawn_keepalived(&conf_for(name, &k));
    wait_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(10),
        "vipd (150) should be master, keepalived (100) backup",
    );
    // Longer than keepalived's Master_Down_Interval (3 x 0.5 s + skew): had it not heard
    // vipd's unicast adverts, it would be master too.
    still_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(4),
        "keepalived should hear vipd's unicast adverts and stay backup",
    );
    let log = k.keepalived_log();
    assert!(
        log.contains("Entering BACKUP STATE") && !log.contains("Entering MASTER STATE"),
        "keepalived should have stayed backup:\n{}",
        picture(&k, &v, &vips)
    );

    // vipd stops: priority 0 to its peer, keepalived takes over.
    assert!(v.kill(Signal::SIGTERM));
    wait_held(
        &k,
        &v,
        "ka",
        &vips,
        Duration::from_secs(4),
        "keepalived should take over from stopped vipd",
    );
    v.assert_exits_cleanly(Duration::from_secs(5));

    // vipd returns: it hears keepalived's unicast adverts, then preempts (150 > 100).
    v.spawn_vipd(&yaml);
    assert!(
        wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
            v.try_status()
                .ok()
                .and_then(|s| instance(&s, "api").map(|i| i.adverts_received > 0))
                == Some(true)
        }),
        "vipd heard no adverts from keepalived:\n{}",
        picture(&k, &v, &vips)
    );
    wait_held(
        &k,
        &v,
        "vd",
        &vips,
        Duration::from_secs(8),
        "vipd (150) back should preempt keepalived over unicast",
    );
    let st = v.status();
    let api = instance(&st, "api").expect("instance api");
    assert_eq!(api.state, State::Master, "{api:?}");
    assert_eq!(
        api.drops.get("not_a_peer").copied().unwrap_or(0),
        0,
        "{api:?}"
    );
    k.assert_keepalived_understands(&[]);
}
