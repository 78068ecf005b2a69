//! SIGHUP with a new identity for an instance (README "Signals": an instance whose VIPs
//! or VRID changed leaves gracefully and starts again). `reload.rs` covers broken files,
//! updates in place, instances added and removed, and a lowered priority; this covers
//! the restart.
//!
//! Router a (192.0.2.11, priority 150, 200 ms) alone, master of web (VRID 51, VIP
//! 192.0.2.50/24). Then:
//! 1. its VIPs become 192.0.2.50/24 and 192.0.2.51/24: a sends priority 0 for VRID 51,
//!    removes 192.0.2.50, starts again as backup and, alone, is master after its
//!    Master_Down_Interval (3 × 200 + (256 − 150) × 200 / 256 = 682.8125 ms), adding both
//!    VIPs and advertising both;
//! 2. its VRID becomes 52: the same, priority 0 for VRID 51, adverts for VRID 52 after.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{
    advert_packets, adverts_from, describe_adverts, ipv4_payload, vrrp_v4_addresses, wait_advert,
    Advert,
};
use vipd_e2e::events::{is_addition, is_deletion, texts};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    epoch_now, exclusive, master_down_ms, start_web, vipd_yaml, wait_until, Host, Lan, Monitor,
    VipdInstance, VIP4, VIP4_CIDR,
};

/// How far past the RFC timer an event may be seen (the reload's file read and kernel
/// read, a netlink round trip, `ip monitor` printing it, on a busy two-core machine).
const MARGIN_MS: f64 = 60.0;
const VIP51: &str = "192.0.2.51";

fn config(vrid: u8, vips: &[&str]) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", vrid, vips).priority(150)],
    )
}

/// Reloads `a` with `yaml` and checks the restart: priority 0 for `old_vrid` at once,
/// every old VIP deleted, then, a Master_Down_Interval after the priority 0, master of
/// `new_vrid` with every new VIP added and advertised.
fn restart(
    a: &Host,
    capture: &Monitor,
    events: &Monitor,
    yaml: &str,
    (old_vrid, old_vips): (u8, &[&str]),
    (new_vrid, new_vips): (u8, &[&str]),
    step: &str,
) {
    let mdi = master_down_ms(150, 200.0);
    let before = first_instance(&a.status()).clone();
    assert_eq!(before.state, State::Master);
    a.rewrite_vipd_config(yaml);
    let t0 = epoch_now();
    let line = match a.reload_vipd_and_wait(Duration::from_secs(2)) {
        Ok(l) => l,
        Err(l) => panic!("{step}: reload refused: {l}"),
    };
    assert!(
        line.contains("removed=1") && line.contains("added=1") && line.contains("updated=0"),
        "{step}: an identity change is a removal and an addition: {line}"
    );
    let Some(zero) = wait_advert(capture, Duration::from_secs(1), |x| {
        x.src == a.ipv4 && x.vrid == old_vrid && x.prio == 0 && x.t >= t0
    }) else {
        panic!(
            "{step}: no priority 0 for VRID {old_vrid} after SIGHUP; a's adverts: {:?}",
            describe_adverts(&adverts_from(capture, &a.ipv4, old_vrid), t0)
        );
    };
    let Some(first_new) = wait_advert(capture, Duration::from_secs(2), |x| {
        x.src == a.ipv4 && x.vrid == new_vrid && x.prio == 150 && x.t > zero.t
    }) else {
        panic!(
            "{step}: no advert for VRID {new_vrid} at priority 150 within 2 s of the \
             priority 0; a's log:\n{}",
            a.vipd_log()
        );
    };
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(10), || {
            a.state() == Some(State::Master) && new_vips.iter().all(|v| a.has_addr(v))
        }),
        "{step}: a is not master holding {new_vips:?}: {:?}",
        a.addresses()
    );
    let lines: Vec<_> = events.lines().into_iter().filter(|l| l.t >= t0).collect();
    let deleted: Vec<f64> = old_vips
        .iter()
        .filter_map(|v| lines.iter().find(|l| is_deletion(l, v)).map(|l| l.t))
        .collect();
    let added: Vec<f64> = new_vips
        .iter()
        .filter_map(|v| lines.iter().find(|l| is_addition(l, v)).map(|l| l.t))
        .collect();
    let zero_ms = (zero.t - t0) * 1e3;
    let new_ms = (first_new.t - zero.t) * 1e3;
    let after = first_instance(&a.status()).clone();
    println!(
        "{step}: {line}; priority 0 for VRID {old_vrid} {zero_ms:.1} ms after SIGHUP; old VIPs \
         deleted {:?} ms after it; new VIPs added {:?} ms after it; first VRID {new_vrid} \
         advert {new_ms:.1} ms after it (Master_Down_Interval {mdi:.4} ms), carrying {:?}",
        deleted
            .iter()
            .map(|t| format!("{:.1}", (t - zero.t) * 1e3))
            .collect::<Vec<_>>(),
        added
            .iter()
            .map(|t| format!("{:.1}", (t - zero.t) * 1e3))
            .collect::<Vec<_>>(),
        carried(capture, &first_new)
    );
    assert!(
        zero_ms <= MARGIN_MS,
        "{step}: priority 0 {zero_ms:.1} ms after SIGHUP"
    );
    assert_eq!(
        deleted.len(),
        old_vips.len(),
        "{step}: not every old VIP was deleted: {:#?}",
        texts(&lines)
    );
    for d in &deleted {
        let ms = (d - zero.t) * 1e3;
        assert!(
            ms <= MARGIN_MS,
            "{step}: an old VIP deleted {ms:.1} ms after the priority 0"
        );
    }
    assert_eq!(
        added.len(),
        new_vips.len(),
        "{step}: not every new VIP was added: {:#?}",
        texts(&lines)
    );
    for t in &added {
        let ms = (t - zero.t) * 1e3;
        assert!(
            ms >= mdi - 5.0 && ms <= mdi + MARGIN_MS,
            "{step}: a new VIP added {ms:.1} ms after the priority 0: the restarted \
             instance is master a Master_Down_Interval ({mdi:.4} ms) after it starts"
        );
    }
    assert!(
        new_ms >= mdi - 5.0 && new_ms <= mdi + MARGIN_MS,
        "{step}: first VRID {new_vrid} advert {new_ms:.1} ms after the priority 0"
    );
    let carried = carried(capture, &first_new);
    assert_eq!(
        carried, new_vips,
        "{step}: the new adverts carry {carried:?}, not {new_vips:?}"
    );
    // A new instance: its state began with the restart.
    assert_eq!(after.vrid, new_vrid);
    assert!(
        after.in_state_s < (epoch_now() - t0),
        "{step}: a's time in state ({:.3} s) goes back before the reload",
        after.in_state_s
    );
    assert_eq!(after.state, State::Master);
    assert_eq!(
        after.vips.iter().filter(|v| v.present).count(),
        new_vips.len()
    );
}

/// The addresses `advert` carried, from the capture's bytes.
fn carried(capture: &Monitor, advert: &Advert) -> Vec<String> {
    let mut a = advert_packets(capture)
        .into_iter()
        .find(|(x, _)| x == advert)
        .and_then(|(_, bytes)| ipv4_payload(&bytes).map(vrrp_v4_addresses))
        .unwrap_or_default();
    a.sort();
    a
}

#[test]
fn reload_with_new_vips_or_vrid_restarts_the_instance() {
    let _serial = exclusive();
    let lan = Lan::new("rlident");
    let a = lan.host_at("a", 11);
    start_web(&[(&a, 150)], VIP4_CIDR);
    let capture = lan.capture_with("br0", &["-x"], "ip proto 112");
    let events = a.address_events();

    restart(
        &a,
        &capture,
        &events,
        &config(51, &[VIP4_CIDR, "192.0.2.51/24"]),
        (51, &[VIP4]),
        (51, &[VIP4, VIP51]),
        "new VIPs",
    );
    restart(
        &a,
        &capture,
        &events,
        &config(52, &[VIP4_CIDR, "192.0.2.51/24"]),
        (51, &[VIP4, VIP51]),
        (52, &[VIP4, VIP51]),
        "new VRID",
    );
    // VRID 51 is silent since its priority 0.
    let t = epoch_now();
    std::thread::sleep(Duration::from_millis(500));
    let stale: Vec<_> = adverts_from(&capture, &a.ipv4, 51)
        .into_iter()
        .filter(|x| x.t >= t)
        .collect();
    assert!(
        stale.is_empty(),
        "a still advertises VRID 51: {:?}",
        describe_adverts(&stale, t)
    );
}
