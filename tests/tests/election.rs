//! Election: with several vipd routers on one LAN, exactly one (the highest priority)
//! holds the VIP, and what `vipctl status` says agrees with the kernel.

use std::time::Duration;

use vipd_api::State;
use vipd_e2e::lan::first_instance;
use vipd_e2e::{describe, holders, start_web, Host, Lan, VIP4, VIP4_CIDR};

/// `vipctl status --json` and `vipctl status` agree with `ip addr` on `h` (the shared
/// check), and all three show `h` in the role the election should have given it.
fn check_vipctl_agrees(h: &Host, expect_master: bool) {
    let agreed = h.assert_vipctl_agrees_with_kernel();
    let in_kernel = agreed
        .kernel
        .has("eth0", VIP4.parse().expect("VIP4 is an address"));
    assert_eq!(in_kernel, expect_master, "{}: ip addr", h.name);
    assert_eq!(h.has_addr(VIP4), expect_master, "{}: ip addr now", h.name);
    let st = &agreed.json;
    let inst = first_instance(st);
    assert_eq!(inst.name, "web");
    assert_eq!(inst.vrid, 51);
    let want = if expect_master {
        State::Master
    } else {
        State::Backup
    };
    assert_eq!(inst.state, want, "{}: vipctl state ({inst:?})", h.name);
    assert_eq!(inst.vips.len(), 1, "{}: {inst:?}", h.name);
    assert_eq!(inst.vips[0].address, VIP4_CIDR);
    assert_eq!(
        inst.vips[0].present, in_kernel,
        "{}: vipctl says present={} but ip addr says {}",
        h.name, inst.vips[0].present, in_kernel
    );
    assert_eq!(
        inst.local_address.as_deref(),
        Some(h.ipv4.as_str()),
        "{}",
        h.name
    );

    let text = &agreed.text;
    let word = want.as_str();
    let other = if expect_master { "backup" } else { "master" };
    assert!(
        text.to_lowercase().contains(word),
        "{}: `vipctl status` does not say {word}:\n{text}",
        h.name
    );
    // The state line (e.g. `state: backup (startup)`) names this state, not the other.
    let state_lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| l.starts_with("state"))
        .collect();
    assert!(
        !state_lines.is_empty(),
        "{}: no `state` line in `vipctl status`:\n{text}",
        h.name
    );
    for l in &state_lines {
        assert!(
            l.contains(word) && !l.contains(other),
            "{}: state line {l:?} should say {word}:\n{text}",
            h.name
        );
    }
    println!("{} vipctl status:\n{text}", h.name);
}

/// Elects among routers `(name, n, priority)`, each at 192.0.2.`n`.
fn run_election(id: &str, routers: &[(&str, u8, u8)]) {
    let lan = Lan::new(id);
    let hosts: Vec<Host> = routers
        .iter()
        .map(|(name, n, _)| lan.host_at(name, *n))
        .collect();
    let (best, best_n, _) = *routers
        .iter()
        .max_by_key(|r| r.2)
        .expect("at least one host");
    let best_addr = format!("192.0.2.{best_n}");
    let with_priorities: Vec<(&Host, u8)> =
        hosts.iter().zip(routers).map(|(h, r)| (h, r.2)).collect();
    start_web(&with_priorities, VIP4_CIDR);
    let refs: Vec<&Host> = hosts.iter().collect();
    assert_eq!(holders(&refs, VIP4), vec![best.to_string()]);
    let transitions: Vec<u64> = refs
        .iter()
        .map(|h| first_instance(&h.status()).transitions)
        .collect();

    // Stays that way: three more advert intervals and no flapping.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        holders(&refs, VIP4),
        vec![best.to_string()],
        "{}",
        describe(&refs, VIP4)
    );
    for (h, t) in refs.iter().zip(&transitions) {
        let st = h.status();
        let inst = first_instance(&st);
        assert_eq!(inst.transitions, *t, "{} changed state: {inst:?}", h.name);
        if h.name == best {
            assert!(inst.adverts_sent > 0, "master sends adverts: {inst:?}");
        } else {
            assert!(inst.adverts_received > 0, "backup hears adverts: {inst:?}");
            assert_eq!(
                inst.master_address.as_deref(),
                Some(best_addr.as_str()),
                "{}: master address",
                h.name
            );
        }
        check_vipctl_agrees(h, h.name == best);
    }
}

#[test]
fn election_two_nodes() {
    run_election("elect2", &[("a", 11, 150), ("b", 12, 100)]);
}

#[test]
fn election_three_nodes() {
    // The best is neither first nor last.
    run_election("elect3", &[("a", 21, 100), ("b", 22, 200), ("c", 23, 150)]);
}
