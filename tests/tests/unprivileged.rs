//! The core failover tests and the release step with vipd unprivileged: the harness
//! starts every vipd of this test binary (its name starts with `unprivileged`) through
//! `setpriv` as nobody, with no supplementary groups and only CAP_NET_ADMIN and
//! CAP_NET_RAW (ambient; nothing else in the bounding set), as the systemd unit runs it.

#[path = "failover.rs"]
mod failover;
#[path = "release.rs"]
mod release;

use vipd_e2e::{exclusive, start_pair, vipd_unprivileged, Lan, VIP4_CIDR};

/// The mode is on, and the daemon really runs as nobody with the two capabilities.
#[test]
fn vipd_runs_as_nobody_with_two_capabilities() {
    let _serial = exclusive();
    assert!(
        vipd_unprivileged(),
        "this binary should run vipd unprivileged"
    );
    let lan = Lan::new("unpriv");
    let (a, _b) = start_pair(&lan, VIP4_CIDR);
    let pid = a.vipd_pid().expect("vipd started");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(field("Uid:"), vec!["65534"; 4], "{status}");
    assert_eq!(field("Gid:"), vec!["65534"; 4], "{status}");
    // CAP_NET_ADMIN (12) and CAP_NET_RAW (13): 0x3000.
    for set in ["CapEff:", "CapPrm:", "CapBnd:", "CapAmb:"] {
        assert_eq!(field(set), vec!["0000000000003000"], "{set} in {status}");
    }
    assert_eq!(
        field("Groups:"),
        Vec::<&str>::new(),
        "no supplementary groups"
    );
}
