//! keepalived interoperability at vipd's default advert interval (200 ms, VRRPv3:
//! keepalived `vrrp_version 3`, `advert_int 0.2`) over IPv4, and over IPv6 (keepalived
//! always speaks VRRPv3 there), both ways round: keepalived master (150) with a vipd
//! backup (100), and vipd master (150) with a keepalived backup (100). The master is
//! stopped with SIGTERM; it sends priority 0 and the backup must take the VIP Skew_Time
//! ((256 − 100) × 200 ms / 256 = 121.875 ms) after it — not Master_Down_Interval
//! (721.875 ms) after the last advert. `keepalived.rs` covers VRRPv2 and VRRPv3 at 1 s.
//!
//! The takeover is timed on the wire, by one clock: the priority 0 and the backup's
//! first advert as master are both `tcpdump`'s kernel capture times in the bridge
//! namespace, so no bound compares a kernel time with when the harness read a line
//! (`ip monitor` lines are stamped when read, late by however long the reader was not
//! scheduled). The master's stop is timed from just before the signal to its priority 0
//! on the wire; the VIP must then appear on the backup (`ip monitor address`).

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::capture::{adverts, describe_adverts, wait_advert};
use vipd_e2e::events::wait_added;
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    epoch_now, exclusive, holders, keepalived_conf, master_down_ms, skew_ms, vipd_yaml, wait_until,
    Host, KeepalivedInstance, Lan, Signal, VipdInstance, VIP4, VIP4_CIDR, VIP6, VIP6_CIDR,
};

/// How far past Skew_Time after the priority 0 the backup may send its first advert as
/// master: its timer and a send, on a busy two-core machine.
const MARGIN_MS: f64 = 60.0;
/// How long the stopped master may take from the signal to its priority 0 on the wire
/// (keepalived's parent passes SIGTERM on to its VRRP child first).
const STOP_MS: f64 = 60.0;

#[derive(Clone, Copy, PartialEq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn vip(self) -> (&'static str, &'static str) {
        match self {
            Family::V4 => (VIP4, VIP4_CIDR),
            Family::V6 => (VIP6, VIP6_CIDR),
        }
    }

    /// The source `h` sends adverts from: its IPv4 address, or its link-local one.
    fn source(self, h: &Host) -> String {
        match self {
            Family::V4 => h.ipv4.clone(),
            Family::V6 => h.link_local().unwrap_or_default(),
        }
    }
}

fn vipd_config(family: Family, priority: u8) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[family.vip().1]).priority(priority)],
    )
}

fn ka_config(family: Family, priority: u8) -> String {
    keepalived_conf(
        "vte2e",
        &KeepalivedInstance {
            version: 3,
            vrid: 51,
            priority,
            advert_int: "0.2".into(),
            vips: vec![family.vip().1.into()],
        },
    )
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn picture(k: &Host, v: &Host, vip: &str) -> String {
    format!(
        "keepalived host holds {vip}: {}; vipd host holds it: {}, vipd: {:?}\nkeepalived \
         log (tail):\n{}\nvipd log (tail):\n{}",
        k.has_addr(vip),
        v.has_addr(vip),
        v.try_status().map(|s| s.instances.first().map(|i| (
            i.state,
            i.reason.clone(),
            i.drops.clone(),
            i.master_address.clone(),
            i.master_advert_interval_ms
        ))),
        tail(&k.keepalived_log(), 25),
        tail(&v.vipd_log(), 15)
    )
}

/// One scenario: keepalived on `ka`, vipd on `vipd`, the master (`vipd_master` says
/// which) at 150, the backup at 100; settle, check both follow each other for longer
/// than a Master_Down_Interval, stop the master and time the takeover.
fn scenario(id: &str, family: Family, vipd_master: bool) {
    let (vip, _) = family.vip();
    let lan = Lan::new(id);
    let k = lan.host_at("ka", 31);
    let v = lan.host_at("vipd", 32);
    let (kp, vp) = if vipd_master { (100, 150) } else { (150, 100) };
    let capture = lan.capture("br0", "ip proto 112 or ip6 proto 112");
    if vipd_master {
        v.spawn_vipd(&vipd_config(family, vp));
        k.spawn_keepalived(&ka_config(family, kp));
    } else {
        k.spawn_keepalived(&ka_config(family, kp));
        v.spawn_vipd(&vipd_config(family, vp));
    }
    let (master, backup) = if vipd_master { (&v, &k) } else { (&k, &v) };
    let vipd_state = if vipd_master {
        State::Master
    } else {
        State::Backup
    };
    let settled = wait_until(Duration::from_secs(15), Duration::from_millis(20), || {
        holders(&[&k, &v], vip) == vec![master.name.clone()] && v.state() == Some(vipd_state)
    });
    assert!(
        settled,
        "{id}: {} should be master:\n{}",
        master.name,
        picture(&k, &v, vip)
    );
    // Longer than the backup's Master_Down_Interval: it accepts the master's adverts.
    let mdi = master_down_ms(100, 200.0);
    std::thread::sleep(Duration::from_secs_f64(2.0 * mdi / 1e3));
    assert_eq!(
        holders(&[&k, &v], vip),
        vec![master.name.clone()],
        "{id}: the backup does not accept the master's adverts:\n{}",
        picture(&k, &v, vip)
    );
    let st = v.status();
    let vi = first_instance(&st);
    for bad in [
        "bad_checksum",
        "bad_version",
        "bad_ttl",
        "interval_mismatch",
        "address_mismatch",
        "address_count",
        "truncated",
    ] {
        assert_eq!(
            vi.drops.get(bad).copied().unwrap_or(0),
            0,
            "{id}: vipd dropped keepalived's adverts as {bad}: {:?}",
            vi.drops
        );
    }
    if !vipd_master {
        assert_eq!(
            vi.master_address.as_deref(),
            Some(family.source(&k).as_str()),
            "{id}: {vi:?}"
        );
        assert_eq!(vi.master_advert_interval_ms, Some(200), "{id}: {vi:?}");
    }
    let master_src = family.source(master);
    let on_wire = adverts(&capture);
    assert!(
        on_wire
            .iter()
            .any(|x| x.src == master_src && x.prio == 150 && x.version == 3 && x.intvl == 20),
        "{id}: no VRRPv3 advert at 150 every 20 cs from {master_src}: {:?}",
        describe_adverts(&on_wire[on_wire.len().saturating_sub(6)..], epoch_now())
    );

    let events = backup.address_events();
    let sent = epoch_now();
    if vipd_master {
        assert!(v.kill(Signal::SIGTERM));
    } else {
        assert!(k.kill_keepalived(Signal::SIGTERM));
    }
    let Some(added) = wait_added(&events, vip, sent, Duration::from_secs(3)) else {
        panic!(
            "{id}: {} did not take the VIP within 3 s of SIGTERM to {}:\n{}",
            backup.name,
            master.name,
            picture(&k, &v, vip)
        );
    };
    let Some(zero) = wait_advert(&capture, Duration::from_secs(1), |x| {
        x.src == master_src && x.prio == 0 && x.t >= sent
    }) else {
        panic!(
            "{id}: no priority 0 from {master_src} after SIGTERM: {:?}",
            describe_adverts(&adverts(&capture), sent)
        );
    };
    // The backup took over when it sent its first advert as master: a kernel capture
    // time, like the priority 0's.
    let backup_src = family.source(backup);
    let Some(took) = wait_advert(&capture, Duration::from_secs(1), |x| {
        x.src == backup_src && x.t > zero.t
    }) else {
        panic!(
            "{id}: no advert from {backup_src} after the priority 0 although it added \
             {vip}: {:?}",
            describe_adverts(&adverts(&capture), zero.t)
        );
    };
    let skew = skew_ms(100, 200.0);
    let zero_ms = (zero.t - sent) * 1e3;
    let after_zero = (took.t - zero.t) * 1e3;
    let from_signal = (took.t - sent) * 1e3;
    println!(
        "{id}: {} master, SIGTERM; priority 0 from {master_src} {zero_ms:.1} ms later; {} \
         advertised as master {after_zero:.1} ms after it, {from_signal:.1} ms after the \
         signal, and its `ip monitor` showed {vip} added {:.1} ms after the priority 0 \
         (read time, not a bound) (Skew_Time {skew:.3} ms, Master_Down_Interval {mdi:.3} ms)",
        master.name,
        backup.name,
        (added.t - zero.t) * 1e3
    );
    assert!(
        zero_ms <= STOP_MS,
        "{id}: the priority 0 came {zero_ms:.1} ms after SIGTERM"
    );
    assert!(
        (skew - 5.0..=skew + MARGIN_MS).contains(&after_zero),
        "{id}: {} took over {after_zero:.1} ms after the priority 0; Skew_Time is {skew:.3} ms",
        backup.name
    );
    assert!(
        from_signal <= skew + STOP_MS + MARGIN_MS,
        "{id}: takeover {from_signal:.1} ms after SIGTERM"
    );
    if vipd_master {
        v.assert_left(vip, Duration::from_secs(5));
    } else {
        assert!(
            k.wait_keepalived_exit(Duration::from_secs(5)).is_some(),
            "{id}: keepalived did not exit"
        );
        assert!(
            wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
                v.state() == Some(State::Master) && !k.has_addr(vip)
            }),
            "{id}: vipd should be master and keepalived's VIP gone:\n{}",
            picture(&k, &v, vip)
        );
        v.assert_vipctl_agrees_with_kernel();
    }
    assert_eq!(holders(&[&k, &v], vip), vec![backup.name.clone()]);
}

#[test]
fn keepalived_master_200ms_v3_ipv4() {
    let _serial = exclusive();
    scenario("ka200k4", Family::V4, false);
}

#[test]
fn vipd_master_200ms_v3_ipv4() {
    let _serial = exclusive();
    scenario("ka200v4", Family::V4, true);
}

#[test]
fn keepalived_master_ipv6() {
    let _serial = exclusive();
    scenario("ka200k6", Family::V6, false);
}

#[test]
fn vipd_master_ipv6() {
    let _serial = exclusive();
    scenario("ka200v6", Family::V6, true);
}
