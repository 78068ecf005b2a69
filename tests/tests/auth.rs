//! Authenticated adverts (`auth: {key_file}`) with real vipd: two routers sharing a key
//! elect, fail over and come back; forged priority-255 adverts from a third host (no
//! trailer, a wrong key) and a captured advert sent again move nothing and are counted,
//! where without auth the same forgery takes the VIP away; a key file that others can
//! read is refused by `vipd --check`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::inject::{capture_vrrp_ipv4, send_raw_ipv4, v3_advert, vrrp_datagram};
use vipd_e2e::lan::first_instance;
use vipd_e2e::setup::SETTLE;
use vipd_e2e::{
    assert_roles, bins, describe, exclusive, run_timeout, start_pair, vipd_yaml, wait_master,
    wait_until, Host, Lan, VipdInstance, VIP4, VIP4_CIDR,
};
use vipd_node::auth::{sign, AuthKey};

/// The key a and b share (as `openssl rand -hex 32` writes it).
const KEY: &str = "3c9f0b6e2a4d8157c0ffee1234567890abcdef0fedcba98765432100deadbeef\n";
/// A key nobody on the LAN has.
const WRONG_KEY: &str = "0123456789abcdef0123456789abcdef\n";
/// Rounds of forgeries, one every 100 ms: far below any Master_Down_Interval, so a
/// router that believed them would follow the forger throughout.
const ROUNDS: u64 = 10;

/// Writes `hex` to `h`'s `web.key` with permission bits `mode`; returns its path.
fn write_key(h: &Host, hex: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = h.dir().join("web.key");
    if let Err(e) = std::fs::write(&p, hex) {
        panic!("cannot write {}: {e}", p.display());
    }
    if let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)) {
        panic!("cannot chmod {}: {e}", p.display());
    }
    p
}

/// The web instance (VRID 51, the VIP, 200 ms) at `priority`, authenticated with `key`.
fn auth_web(priority: u8, key: &Path) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[VIP4_CIDR])
            .priority(priority)
            .auth_key_file(key)],
    )
}

/// a (192.0.2.11, priority 150) and b (192.0.2.12, 100) sharing [`KEY`], settled with a
/// the only master.
fn start_auth_pair(lan: &Lan) -> (Host, Host) {
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    for (h, priority) in [(&a, 150), (&b, 100)] {
        let key = write_key(h, KEY, 0o600);
        h.spawn_vipd(&auth_web(priority, &key));
    }
    assert_roles(
        &[&a, &b],
        "a",
        VIP4,
        SETTLE,
        "a never became the only master of the authenticated pair",
    );
    (a, b)
}

fn ipv4(h: &Host) -> Ipv4Addr {
    match h.ipv4.parse() {
        Ok(a) => a,
        Err(e) => panic!("{}'s address {}: {e}", h.name, h.ipv4),
    }
}

fn drops(h: &Host) -> BTreeMap<String, u64> {
    first_instance(&h.status()).drops.clone()
}

fn count(d: &BTreeMap<String, u64>, k: &str) -> u64 {
    d.get(k).copied().unwrap_or(0)
}

fn auth_drops(h: &Host) -> BTreeMap<String, u64> {
    drops(h)
        .into_iter()
        .filter(|(k, _)| k.starts_with("auth_"))
        .collect()
}

fn transitions(h: &Host) -> u64 {
    first_instance(&h.status()).transitions
}

/// A valid VRRPv3 advert at priority 255 for VRID 51 and the VIP, from `src` (whole
/// IPv4 datagram, TTL 255, 200 ms interval).
fn forged(src: Ipv4Addr) -> Vec<u8> {
    let vip: Ipv4Addr = VIP4.parse().expect("the VIP");
    vrrp_datagram(src, 255, &v3_advert(src, 51, 255, 20, &[vip]))
}

/// The same, with an authentication trailer made with a key nobody on the LAN has.
fn forged_with_wrong_key(src: Ipv4Addr) -> Vec<u8> {
    let vip: Ipv4Addr = VIP4.parse().expect("the VIP");
    let key = AuthKey::from_hex(WRONG_KEY).expect("a valid key");
    let message = v3_advert(src, 51, 255, 20, &[vip]);
    // Far above anything a or b has accepted: only the MAC stands in the way.
    let signed = sign(&key, IpAddr::V4(src), message, u64::MAX - 1);
    vrrp_datagram(src, 255, &signed)
}

/// Sends `datagrams` from `x` every 100 ms, [`ROUNDS`] times.
fn forge(x: &Host, datagrams: &[Vec<u8>]) {
    for _ in 0..ROUNDS {
        match send_raw_ipv4(x.ns().name(), "eth0", datagrams.to_vec()) {
            Ok(n) => assert_eq!(n, datagrams.len()),
            Err(e) => panic!("cannot send the forged adverts from x: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn authenticated_pair_elects_fails_over_and_comes_back() {
    let _serial = exclusive();
    let lan = Lan::new("authfo");
    let (a, b) = start_auth_pair(&lan);
    let both = [&a, &b];
    let st = b.status();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Backup);
    assert_eq!(inst.master_address.as_deref(), Some(a.ipv4.as_str()));
    assert!(
        inst.adverts_received > 0,
        "b heard nothing from a: {inst:?}"
    );
    assert_eq!(auth_drops(&b), BTreeMap::new(), "b dropped a's adverts");

    // a crashes: b takes over after Master_Down_Interval (721.875 ms).
    let crashed = std::time::Instant::now();
    a.crash_vipd();
    assert!(
        wait_master(&b, VIP4, Duration::from_secs(3)),
        "b did not take over within 3 s of a's crash:\n{}",
        describe(&both, VIP4)
    );
    println!(
        "authenticated failover: b master with {VIP4} {:.1} ms after a's crash",
        crashed.elapsed().as_secs_f64() * 1e3
    );

    // a starts again: its sequence numbers start at its new start time, above those of
    // its first run, so b accepts its adverts and a preempts.
    let key = write_key(&a, KEY, 0o600);
    a.spawn_vipd(&auth_web(150, &key));
    assert_roles(
        &both,
        "a",
        VIP4,
        SETTLE,
        "the restarted a did not take over again",
    );
    assert_eq!(
        auth_drops(&b),
        BTreeMap::new(),
        "b dropped adverts of the restarted a"
    );
    assert_eq!(auth_drops(&a), BTreeMap::new(), "a dropped b's adverts");
}

#[test]
fn forgeries_and_replays_move_nothing_with_auth() {
    let _serial = exclusive();
    let lan = Lan::new("authspoof");
    let x = lan.host_at("x", 66);
    let (a, b) = start_auth_pair(&lan);
    let (xa, aa) = (ipv4(&x), ipv4(&a));

    // One of a's adverts as x saw it, to be sent again: a genuine MAC, an old number.
    let captured = match capture_vrrp_ipv4(x.ns().name(), "eth0", xa, aa, Duration::from_secs(2)) {
        Ok(d) => d,
        Err(e) => panic!("x did not capture an advert of a: {e}"),
    };
    assert_eq!(
        captured.len(),
        20 + 12 + vipd_wire::auth::TRAILER_LEN,
        "a's adverts carry the trailer: {captured:02x?}"
    );
    // Let a send newer ones, which b accepts, before the replays begin.
    std::thread::sleep(Duration::from_millis(500));

    let (a_before, b_before) = (drops(&a), drops(&b));
    let (a_moves, b_moves) = (transitions(&a), transitions(&b));
    forge(
        &x,
        &[forged(xa), forged_with_wrong_key(xa), captured.clone()],
    );

    let want = |h: &Host, before: &BTreeMap<String, u64>, kinds: &[&str]| {
        let now = drops(h);
        kinds
            .iter()
            .all(|k| count(&now, k) >= count(before, k) + ROUNDS)
    };
    let arrived = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        want(&a, &a_before, &["auth_missing", "auth_bad_mac"])
            && want(
                &b,
                &b_before,
                &["auth_missing", "auth_bad_mac", "auth_replay"],
            )
    });
    assert!(
        arrived,
        "the forgeries were not all counted: a {:?} (before {a_before:?}), b {:?} (before {b_before:?})",
        drops(&a),
        drops(&b)
    );
    // Long enough for anything wrongly accepted to have shown.
    std::thread::sleep(Duration::from_millis(1000));
    let (a_after, b_after) = (drops(&a), drops(&b));
    for (h, before, after) in [("a", &a_before, &a_after), ("b", &b_before, &b_after)] {
        for k in ["auth_missing", "auth_bad_mac"] {
            assert_eq!(
                count(after, k),
                count(before, k) + ROUNDS,
                "{h}'s {k}: before {before:?}, after {after:?}"
            );
        }
    }
    assert_eq!(
        count(&b_after, "auth_replay"),
        count(&b_before, "auth_replay") + ROUNDS,
        "b's auth_replay: before {b_before:?}, after {b_after:?}"
    );
    assert_eq!(transitions(&a), a_moves, "a changed state");
    assert_eq!(transitions(&b), b_moves, "b changed state");
    assert_roles(
        &[&a, &b],
        "a",
        VIP4,
        Duration::from_millis(100),
        "the forgeries moved the VIP",
    );
    let st = b.status();
    assert_eq!(
        first_instance(&st).master_address.as_deref(),
        Some(a.ipv4.as_str()),
        "b follows someone else"
    );
    println!("forgeries with auth: a drops {a_after:?}; b drops {b_after:?}");
}

/// The control: the same forged advert without auth takes the VIP away from a.
#[test]
fn without_auth_the_same_forgery_takes_the_vip() {
    let _serial = exclusive();
    let lan = Lan::new("authctl");
    let x = lan.host_at("x", 66);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let a_moves = transitions(&a);
    forge(&x, &[forged(ipv4(&x))]);
    // The last forgery is at most 100 ms old: a (Master_Down_Interval 682 ms) still
    // follows x.
    let st = a.status();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Backup, "a is not backup: {inst:?}");
    assert!(!a.has_addr(VIP4), "a still holds the VIP");
    assert_eq!(inst.master_address.as_deref(), Some(x.ipv4.as_str()));
    assert!(inst.transitions > a_moves);
    // Once x is silent, a takes the VIP back.
    assert_roles(
        &[&a, &b],
        "a",
        VIP4,
        SETTLE,
        "a did not take the VIP back once the forgeries stopped",
    );
}

#[test]
fn a_key_file_others_can_read_is_refused_by_check() {
    let lan = Lan::new("authcfg");
    let h = lan.host_at("h", 11);
    let key = write_key(&h, KEY, 0o644);
    let text = h.vipd_config_text(&auth_web(150, &key));
    let cfg = h.dir().join("auth.yaml");
    if let Err(e) = std::fs::write(&cfg, &text) {
        panic!("cannot write {}: {e}", cfg.display());
    }
    let line = text
        .lines()
        .position(|l| l.contains("key_file"))
        .map(|i| i + 1)
        .expect("the config names the key file");
    let check = || {
        let mut c = h.command(bins::vipd());
        c.arg("--check").arg("--config").arg(&cfg);
        match run_timeout(&mut c, Duration::from_secs(10)) {
            Some(out) => (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            None => panic!("vipd --check did not exit within 10 s"),
        }
    };
    let (code, stdout, stderr) = check();
    println!(
        "vipd --check with a 0644 key file: exit {code:?}; {}",
        stderr.trim()
    );
    assert_eq!(code, Some(1), "stdout {stdout}\nstderr {stderr}");
    let at = format!("{}:{line}:", cfg.display());
    assert!(stderr.contains(&at), "no `{at}` in: {stderr}");
    for words in [
        "instances[0].auth.key_file",
        &format!("key file {} has mode 0644", key.display()),
        &format!("chmod 600 {}", key.display()),
    ] {
        assert!(stderr.contains(words), "no `{words}` in: {stderr}");
    }
    assert!(
        !stderr.contains(KEY.trim()),
        "the key is in the error: {stderr}"
    );

    // Readable by its owner only: accepted.
    write_key(&h, KEY, 0o600);
    let (code, stdout, stderr) = check();
    assert_eq!(code, Some(0), "stdout {stdout}\nstderr {stderr}");
    assert!(stdout.contains("is valid"), "{stdout}");
}
