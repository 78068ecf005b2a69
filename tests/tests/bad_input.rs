//! Malformed VRRP packets from a third host are dropped and counted by reason, and
//! change nothing.
//!
//! Every corrupted packet starts from a valid advert from x for the routers' VRID and
//! VIP with priority 255, above master a's 150: accepted, it would make a step down to
//! backup at once and b follow x (RFC 5798 §6.4.3, §6.4.2). So "nothing changed" can
//! fail: and at the end the uncorrupted advert is sent once and must do exactly that.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::inject::{send_raw_ipv4, v3_advert, vrrp_datagram};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    assert_roles, assert_vipctl_agrees, start_pair, wait_until, Host, Lan, VIP4, VIP4_CIDR,
};

const PER_KIND: u64 = 3;

fn drops(h: &Host) -> BTreeMap<String, u64> {
    first_instance(&h.status()).drops.clone()
}

fn count(d: &BTreeMap<String, u64>, k: &str) -> u64 {
    d.get(k).copied().unwrap_or(0)
}

#[test]
fn bad_input_dropped_and_counted() {
    let lan = Lan::new("badin");
    let x = lan.host_at("x", 66);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let both = [&a, &b];
    let before = b.status();
    let before_inst = first_instance(&before).clone();
    assert_eq!(before_inst.state, State::Backup);

    let src: Ipv4Addr = x.ipv4.parse().expect("x's address");
    let vip: Ipv4Addr = VIP4.parse().expect("VIP");
    let valid = v3_advert(src, 51, 255, 20, &[vip]);
    assert_eq!(
        valid.len(),
        12,
        "a v3 advert with one IPv4 address is 12 bytes"
    );
    let a_before = first_instance(&a.status()).clone();
    assert_eq!(a_before.state, State::Master);

    let mut bad_checksum = valid.clone();
    bad_checksum[6] ^= 0xff;
    let mut bad_version = valid.clone();
    bad_version[0] = 0x21; // version 2, type 1
    let mut bad_type = valid.clone();
    bad_type[0] = 0x32; // version 3, type 2
    let mut address_count = valid.clone();
    address_count[3] = 3; // claims 3 addresses, carries 1
    let truncated = valid[..6].to_vec();

    let kinds: Vec<(&str, Vec<u8>)> = vec![
        ("bad_ttl", vrrp_datagram(src, 64, &valid)),
        ("bad_checksum", vrrp_datagram(src, 255, &bad_checksum)),
        ("bad_version", vrrp_datagram(src, 255, &bad_version)),
        ("bad_type", vrrp_datagram(src, 255, &bad_type)),
        ("address_count", vrrp_datagram(src, 255, &address_count)),
        ("truncated", vrrp_datagram(src, 255, &truncated)),
    ];
    let mut datagrams = Vec::new();
    for _ in 0..PER_KIND {
        for (_, d) in &kinds {
            datagrams.push(d.clone());
        }
    }
    let sent = match send_raw_ipv4(x.ns().name(), "eth0", datagrams) {
        Ok(n) => n,
        Err(e) => panic!("cannot send the crafted packets from x: {e}"),
    };
    assert_eq!(
        sent,
        kinds.len() * usize::try_from(PER_KIND).expect("small")
    );

    let base = before_inst.drops.clone();
    let a_base = a_before.drops.clone();
    let arrived = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        let (now_b, now_a) = (drops(&b), drops(&a));
        kinds.iter().all(|(k, _)| {
            count(&now_b, k) >= count(&base, k) + PER_KIND
                && count(&now_a, k) >= count(&a_base, k) + PER_KIND
        })
    });
    let (after_b, after_a) = (drops(&b), drops(&a));
    assert!(
        arrived,
        "a and b did not count every kind {PER_KIND} times; b before {base:?}, after \
         {after_b:?}; a before {a_base:?}, after {after_a:?}\nb's log:\n{}",
        b.vipd_log()
    );

    // Longer than b's Master_Down_Interval (721.875 ms): whatever a wrongly accepted
    // advert set off would have played out.
    std::thread::sleep(Duration::from_millis(1000));
    let after = b.status();
    let inst = first_instance(&after);
    let a_after = a.status();
    let a_inst = first_instance(&a_after);
    for (k, _) in &kinds {
        assert_eq!(
            count(&inst.drops, k),
            count(&base, k) + PER_KIND,
            "drops[{k}] on b: before {base:?}, after {:?}",
            inst.drops
        );
        assert_eq!(
            count(&a_inst.drops, k),
            count(&a_base, k) + PER_KIND,
            "drops[{k}] on a: before {a_base:?}, after {:?}",
            a_inst.drops
        );
    }
    // Nothing moved: a is master with the transitions it had, b backup following a.
    assert_eq!(a_inst.state, State::Master, "a changed state: {a_inst:?}");
    assert_eq!(
        a_inst.transitions, a_before.transitions,
        "a made a transition: {a_inst:?}"
    );
    assert_eq!(a_inst.master_address.as_deref(), Some(a.ipv4.as_str()));
    assert_eq!(inst.state, State::Backup, "b changed state: {inst:?}");
    assert_eq!(
        inst.transitions, before_inst.transitions,
        "b made a transition: {inst:?}"
    );
    assert_eq!(
        inst.master_address.as_deref(),
        Some(a.ipv4.as_str()),
        "b follows another master: {inst:?}"
    );
    assert_eq!(inst.master_priority, Some(150), "{inst:?}");
    assert_roles(
        &both,
        "a",
        VIP4,
        Duration::from_millis(100),
        "a is no longer the only master",
    );
    println!(
        "bad_input_dropped_and_counted: b drops {:?} (before {base:?}); a drops {:?} \
         (before {a_base:?})",
        inst.drops, a_inst.drops
    );
    assert_vipctl_agrees(&both);

    // The control: the same advert uncorrupted, once, does move a (so the corrupted ones
    // would have, had they been accepted).
    let sent = match send_raw_ipv4(x.ns().name(), "eth0", vec![vrrp_datagram(src, 255, &valid)]) {
        Ok(n) => n,
        Err(e) => panic!("cannot send the valid advert from x: {e}"),
    };
    assert_eq!(sent, 1);
    let mut seen = None;
    let moved = wait_until(Duration::from_secs(1), Duration::from_millis(5), || {
        let st = a.status();
        let i = first_instance(&st).clone();
        let ok = i.state == State::Backup && i.master_address.as_deref() == Some(x.ipv4.as_str());
        seen = Some(i);
        ok
    });
    assert!(
        moved,
        "the valid priority-255 advert from x did not make a backup following x, so the \
         corrupted ones proved nothing: {seen:?}"
    );
}
