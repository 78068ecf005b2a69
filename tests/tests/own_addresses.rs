//! Addresses vipd did and did not add.
//!
//! - `vipd --check`, run inside a host's namespace, warns about a VIP in no subnet of its
//!   interface (IPv4 and IPv6) and still exits 0; it exits 1 with an error for a VIP
//!   that is already an address of the interface that vipd did not add, and accepts a
//!   leftover that vipd itself added (it is tagged).
//! - An IPv6 VIP left behind by a crash (SIGKILL) is removed when vipd starts again.
//!   IPv6 addresses have no label, so vipd can only know the leftover as its own by the
//!   kernel's address protocol (IFA_PROTO, 0x76): this shows the kernel keeps the tag.
//! - An address the operator added by hand before vipd starts is refused (the instance
//!   does not start, and says why) and kept.

use std::path::Path;
use std::time::Duration;

use vipd_api::State;
use vipd_e2e::events::{about, is_deletion, texts, wait_deleted};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    bins, describe, epoch_now, holders, run_timeout, start_pair, vipd_yaml, wait_master,
    wait_roles, wait_until, web_config, Host, Lan, VipdInstance, VIP6, VIP6_CIDR,
};

/// `vipd --check --config <file>` inside `h`'s namespace, with the config `yaml` (plus
/// `h`'s control socket): (exit code, stdout, stderr).
fn check(h: &Host, name: &str, yaml: &str) -> (Option<i32>, String, String) {
    let path = h.dir().join(name);
    std::fs::write(&path, h.vipd_config_text(yaml)).expect("write a config file");
    check_file(h, &path)
}

fn check_file(h: &Host, path: &Path) -> (Option<i32>, String, String) {
    let mut c = h.command(bins::vipd());
    c.arg("--check").arg("--config").arg(path);
    let Some(out) = run_timeout(&mut c, Duration::from_secs(10)) else {
        panic!("vipd --check {} did not exit within 10 s", path.display());
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn web(vips: &[&str]) -> String {
    vipd_yaml(Some("debug"), &[VipdInstance::new("web", 51, vips)])
}

#[test]
fn check_warns_about_a_vip_in_no_subnet() {
    let lan = Lan::new("chksubnet");
    let h = lan.host_at("h", 11);
    // Narrow eth0's subnets: 192.0.2.0/25 and 2001:db8::/112.
    h.exec_ok(&["ip", "addr", "del", "192.0.2.11/24", "dev", "eth0"]);
    h.exec_ok(&["ip", "addr", "add", "192.0.2.11/25", "dev", "eth0"]);
    h.exec_ok(&["ip", "addr", "del", "2001:db8::11/64", "dev", "eth0"]);
    h.exec_ok(&[
        "ip",
        "addr",
        "add",
        "2001:db8::11/112",
        "dev",
        "eth0",
        "nodad",
    ]);

    for (vip, covered) in [
        ("192.0.2.50/24", true),
        ("192.0.2.200/24", false),
        ("2001:db8::50/64", true),
        ("2001:db8::1:50/64", false),
    ] {
        let (code, stdout, stderr) = check(&h, "subnet.yaml", &web(&[vip]));
        println!(
            "vipd --check, VIP {vip}: exit {code:?}; stdout {}; stderr {}",
            stdout.trim(),
            stderr.trim()
        );
        assert_eq!(code, Some(0), "a warning is not an error: {stderr}");
        assert!(stdout.contains("is valid"), "{stdout}");
        let warning =
            format!("vipd: warning: instance web: VIP {vip} is not in any subnet on eth0");
        assert_eq!(
            stderr.contains(&warning),
            !covered,
            "VIP {vip} (covered by eth0's subnets: {covered}): stderr {stderr}"
        );
        assert!(!stderr.contains("error"), "{stderr}");
    }
    assert!(
        !h.has_addr("192.0.2.50") && !h.has_addr("192.0.2.200"),
        "--check must not touch the interface"
    );
}

#[test]
fn check_refuses_a_vip_that_is_already_the_hosts_address() {
    let lan = Lan::new("chkown");
    let h = lan.host_at("h", 11);
    let yaml = web(&["192.0.2.50/24"]);
    let (code, _, stderr) = check(&h, "own.yaml", &yaml);
    assert_eq!(code, Some(0), "{stderr}");

    h.exec_ok(&["ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"]);
    let (code, stdout, stderr) = check(&h, "own.yaml", &yaml);
    println!(
        "vipd --check with 192.0.2.50/24 added by hand: exit {code:?}; stderr {}",
        stderr.trim()
    );
    assert_eq!(code, Some(1), "stdout {stdout} stderr {stderr}");
    assert!(
        stderr.contains(
            "vipd: error: instance web: VIP 192.0.2.50/24 is already an address of eth0 \
             that vipd did not add"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains("is valid"), "{stdout}");
    assert!(h.has_addr("192.0.2.50"), "--check must not touch it");
}

#[test]
fn ipv6_leftover_removed_operator_address_kept() {
    let lan = Lan::new("own6");
    let (a, b) = start_pair(&lan, VIP6_CIDR);
    let both = [&a, &b];
    // (iproute2 6.1 does not print an address's protocol: the tag is seen by what vipd
    // does with the address, below.)

    // 1. a crashes: its VIP stays in the kernel, b takes over.
    a.crash_vipd();
    assert!(
        a.has_addr(VIP6),
        "after SIGKILL the VIP should still be on a"
    );
    assert!(
        wait_master(&b, VIP6, Duration::from_secs(3)),
        "b did not take over after a crashed:\n{}",
        describe(&both, VIP6)
    );
    // --check knows the leftover as vipd's own.
    let cfg = a.vipd_config_path().expect("a's config file");
    let (code, _, stderr) = check_file(&a, &cfg);
    assert_eq!(
        code,
        Some(0),
        "--check took vipd's own leftover for the host's address: {stderr}"
    );
    // Restarted (priority 50, below b), vipd removes the leftover and stays backup.
    let events = a.address_events();
    let restarted = epoch_now();
    a.spawn_vipd(&web_config(50, VIP6_CIDR));
    let Some(deleted) = wait_deleted(&events, VIP6, restarted, Duration::from_secs(3)) else {
        panic!(
            "the restarted vipd did not remove its IPv6 leftover (did the kernel keep the \
             address's protocol, 0x76?):\n{}\nlog:\n{}",
            describe(&both, VIP6),
            a.vipd_log()
        );
    };
    println!(
        "ipv6 leftover removed {:.1} ms after restarting vipd (including start-up)",
        (deleted.t - restarted) * 1e3
    );
    assert!(
        wait_roles(&both, "b", VIP6, Duration::from_secs(3)),
        "b should be the only master:\n{}",
        describe(&both, VIP6)
    );
    assert_eq!(holders(&both, VIP6), vec!["b".to_string()]);

    // 2. Both leave; the operator gives a 2001:db8::50 by hand; vipd must leave it be.
    for h in both {
        assert!(h.kill(vipd_e2e::Signal::SIGTERM));
        h.assert_left(VIP6, Duration::from_secs(5));
    }
    a.exec_ok(&["ip", "addr", "add", VIP6_CIDR, "dev", "eth0", "nodad"]);
    let (code, _, stderr) = check_file(&a, &cfg);
    assert_eq!(code, Some(1), "--check should refuse: {stderr}");
    assert!(
        stderr.contains(&format!(
            "VIP {VIP6_CIDR} is already an address of eth0 that vipd did not add"
        )),
        "{stderr}"
    );
    let started = epoch_now();
    a.spawn_vipd(&web_config(150, VIP6_CIDR));
    // Longer than start-up, the leftover cleanup and a Master_Down_Interval (682.8 ms).
    let mut seen = None;
    let refused = wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        let st = a.status();
        let i = first_instance(&st).clone();
        let ok = i.state == State::Initialize && i.reason.contains("refusing to manage it");
        seen = Some(i);
        ok
    });
    assert!(
        refused,
        "a's instance should wait, refusing the address added by hand: {seen:#?}\nlog:\n{}",
        a.vipd_log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let st = a.status();
    let inst = first_instance(&st);
    println!(
        "operator's {VIP6_CIDR} on a: {:.1} s after starting vipd still there: {}; vipd: {} \
         ({})",
        epoch_now() - started,
        a.has_addr(VIP6),
        inst.state.as_str(),
        inst.reason
    );
    assert_eq!(inst.state, State::Initialize, "{inst:?}");
    assert!(a.has_addr(VIP6), "vipd removed the operator's address");
    let touched: Vec<_> = about(&events, VIP6)
        .into_iter()
        .filter(|l| l.t >= started)
        .collect();
    assert!(
        !touched.iter().any(|l| is_deletion(l, VIP6)),
        "vipd deleted the operator's address: {:#?}",
        texts(&touched)
    );
    assert!(
        a.vipd_log()
            .contains("is already an address of eth0 that vipd did not add"),
        "a's log does not say why:\n{}",
        a.vipd_log()
    );
}
