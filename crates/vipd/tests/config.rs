//! The config file format, end to end: the documented example, defaults, the shipped
//! examples, and bad configs that must be pinned to the right line and field.

mod common;

use common::{parse, rejects};

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd::config::{self, ConfigError, GarpConfig, Vip};
use vipd_wire::{V3Checksum, Version};

fn vip(s: &str) -> Vip {
    s.parse().expect("test VIP")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The example from the file format's documentation, comments and all.
const DOCUMENTED: &str = "\
control_socket: /run/vipd/vipd.sock   # optional, default vipd_api::DEFAULT_SOCKET
log_level: info                        # optional: error|warn|info|debug|trace; RUST_LOG overrides
instances:
  - name: web                  # required, unique
    interface: eth0            # required, valid Linux ifname
    vrid: 51                   # required, 1..=255
    priority: 150              # default 100; 1..=255; 255 = address owner
    advert_interval: 200ms     # default: 200ms for v3, 1s for v2
    version: 3                 # 3 (default) or 2
    preempt: true              # default true
    preempt_delay: 0s          # default 0s
    accept: true               # default true
    checksum: rfc5798          # rfc5798 (default) | rfc9568
    vips: [192.0.2.50/24]      # required, 1..=255 entries
    garp:                      # all optional
      count: 3                 # default 3
      repeat_after: 2s         # default 2s
      refresh: 0s              # default 0s (off)
    unicast_peers: [192.0.2.12, 192.0.2.13]  # default none: multicast
";

#[test]
fn documented_example_parses_to_the_expected_values() {
    let c = parse(DOCUMENTED).expect("documented example is valid");
    assert_eq!(c.control_socket, PathBuf::from("/run/vipd/vipd.sock"));
    assert_eq!(c.log_level.as_deref(), Some("info"));
    assert_eq!(c.instances.len(), 1);
    let i = &c.instances[0];
    assert_eq!(i.name, "web");
    assert_eq!(
        i.unicast_peers,
        vec![
            "192.0.2.12".parse::<IpAddr>().expect("addr"),
            "192.0.2.13".parse::<IpAddr>().expect("addr")
        ]
    );
    assert_eq!(i.interface, "eth0");
    assert_eq!(i.vrid, 51);
    assert_eq!(i.priority, 150);
    assert_eq!(i.advert_interval, ms(200));
    assert_eq!(i.advert_interval_cs(), 20);
    assert_eq!(i.version, Version::V3);
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert!(i.accept);
    assert_eq!(i.checksum, V3Checksum::PseudoHeader);
    assert_eq!(i.vips, vec![vip("192.0.2.50/24")]);
    assert_eq!(
        i.vips[0].addr,
        "192.0.2.50".parse::<IpAddr>().expect("addr")
    );
    assert_eq!(i.vips[0].prefix_len, 24);
    assert_eq!(i.vips[0].to_string(), "192.0.2.50/24");
    assert!(!i.is_ipv6());
    assert_eq!(
        i.garp,
        GarpConfig {
            count: 3,
            repeat_after: Duration::from_secs(2),
            refresh: Duration::ZERO
        }
    );
}

#[test]
fn defaults_for_v3() {
    let c = parse(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [2001:db8::1]\n",
    )
    .expect("minimal v3 config");
    assert_eq!(c.control_socket, PathBuf::from(vipd_api::DEFAULT_SOCKET));
    assert_eq!(c.log_level, None);
    let i = &c.instances[0];
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_interval, ms(200));
    assert_eq!(i.advert_interval_cs(), 20);
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert!(i.accept);
    assert_eq!(i.checksum, V3Checksum::PseudoHeader);
    assert_eq!(i.vips, vec![vip("2001:db8::1/128")]);
    assert!(i.is_ipv6());
    assert!(i.unicast_peers.is_empty(), "multicast by default");
    assert_eq!(
        i.garp,
        GarpConfig {
            count: 3,
            repeat_after: Duration::from_secs(2),
            refresh: Duration::ZERO
        }
    );
}

#[test]
fn defaults_for_v2() {
    let c = parse(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    version: 2\n    vips: [192.0.2.1]\n",
    )
    .expect("minimal v2 config");
    let i = &c.instances[0];
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.advert_interval, Duration::from_secs(1));
    assert_eq!(i.advert_interval_cs(), 100);
    assert_eq!(i.vips, vec![vip("192.0.2.1/32")]);
}

#[test]
fn other_valid_settings() {
    let c = parse(
        "\
log_level: DEBUG
instances:
  - name: v2-slow
    interface: bond0.100
    vrid: 255
    priority: 255
    version: 2
    advert_interval: 3s
    preempt: false
    preempt_delay: 1.5s
    accept: true
    vips:
      - 198.51.100.1/24
      - 198.51.100.2
    garp: {count: 100, repeat_after: 0s, refresh: 2m}
  - name: v3-fast
    interface: eth0
    vrid: 255
    advert_interval: 40950ms
    checksum: rfc9568
    vips: [\"203.0.113.7/25\"]
  - name: v6-same-vrid
    interface: eth0
    vrid: 255
    advert_interval: 10ms
    vips: [fe80::1/64, 2001:db8::7]
",
    )
    .expect("valid config");
    assert_eq!(c.log_level.as_deref(), Some("debug"));
    let [a, b, v6] = &c.instances[..] else {
        panic!("expected three instances");
    };
    assert_eq!(a.interface, "bond0.100");
    assert_eq!((a.vrid, a.priority), (255, 255));
    assert_eq!(a.advert_interval_cs(), 300);
    assert!(!a.preempt && a.accept);
    assert_eq!(a.preempt_delay, ms(1500));
    assert_eq!(a.vips, vec![vip("198.51.100.1/24"), vip("198.51.100.2/32")]);
    assert_eq!(a.garp.count, 100);
    assert_eq!(a.garp.repeat_after, Duration::ZERO);
    assert_eq!(a.garp.refresh, Duration::from_secs(120));
    assert_eq!(b.advert_interval_cs(), 4095);
    assert_eq!(b.checksum, V3Checksum::NoPseudoHeader);
    assert_eq!(v6.advert_interval_cs(), 1);
    assert!(v6.is_ipv6());
}

#[test]
fn shipped_examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for (file, priority) in [("two-node-a.yaml", 150), ("two-node-b.yaml", 100)] {
        let c = config::load(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(c.instances.len(), 2, "{file}");
        let (v4, v6) = (&c.instances[0], &c.instances[1]);
        assert_eq!((v4.interface.as_str(), v4.vrid), ("eth0", 51), "{file}");
        assert_eq!((v6.interface.as_str(), v6.vrid), ("eth0", 52), "{file}");
        assert_eq!(v4.vips, vec![vip("192.0.2.50/24")], "{file}");
        assert_eq!(v6.vips, vec![vip("2001:db8::50/64")], "{file}");
        assert!(!v4.is_ipv6() && v6.is_ipv6(), "{file}");
        assert_eq!((v4.priority, v6.priority), (priority, priority), "{file}");
    }
}

#[test]
fn unreadable_file_names_the_path() {
    let missing = Path::new("/nonexistent/vipd-test/vipd.yaml");
    let e = config::load(missing).expect_err("missing file");
    assert!(matches!(e, ConfigError::Read { .. }));
    assert_eq!(e.line(), None);
    assert_eq!(
        e.to_string(),
        "/nonexistent/vipd-test/vipd.yaml: cannot read: No such file or directory (os error 2)"
    );
}

#[test]
fn rejects_unknown_fields() {
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    prio: 5\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].prio"),
        "unknown field `prio`",
    );
    rejects(
        "log_level: info\nloglevel: info\ninstances: []\n",
        2,
        Some("loglevel"),
        "unknown field `loglevel`",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1]\n    garp:\n      counts: 3\n",
        7,
        Some("instances[0].garp.counts"),
        "unknown field `counts`",
    );
}

#[test]
fn rejects_out_of_range_numbers() {
    let with = |line: &str| {
        format!("instances:\n  - name: a\n    interface: eth0\n    {line}\n    vips: [192.0.2.1]\n")
    };
    let vrid = Some("instances[0].vrid");
    rejects(&with("vrid: 0"), 4, vrid, "0 is out of range 1..=255");
    rejects(&with("vrid: 256"), 4, vrid, "256 is out of range 1..=255");
    rejects(&with("vrid: -1"), 4, vrid, "-1 is out of range 1..=255");
    rejects(
        &with("vrid: web"),
        4,
        vrid,
        "expected an integer in 1..=255",
    );
    let prio = Some("instances[0].priority");
    rejects(
        &with("vrid: 1\n    priority: 0"),
        5,
        prio,
        "0 is out of range 1..=255",
    );
    rejects(&with("vrid: 1\n    priority: 300"), 5, prio, "out of range");
    let version = Some("instances[0].version");
    rejects(
        &with("vrid: 1\n    version: 4"),
        5,
        version,
        "expected 2 or 3",
    );
    rejects(
        &with("vrid: 1\n    garp:\n      count: 0"),
        6,
        Some("instances[0].garp.count"),
        "0 is out of range 1..=100",
    );
}

#[test]
fn rejects_bad_durations_listing_the_units() {
    let with = |value: &str| {
        format!(
            "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1]\n    advert_interval: {value}\n"
        )
    };
    let field = Some("instances[0].advert_interval");
    rejects(&with("200"), 6, field, "`200` has no unit");
    rejects(&with("200"), 6, field, "ms, s, m or h");
    rejects(&with("fast"), 6, field, "`fast` is not a duration");
    rejects(&with("fast"), 6, field, "ms, s, m or h");
    rejects(&with("-1s"), 6, field, "negative");
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    preempt_delay: 2 minutes\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].preempt_delay"),
        "ms, s, m or h",
    );
}

#[test]
fn rejects_intervals_that_do_not_fit_the_version() {
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    advert_interval: 15ms\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].advert_interval"),
        "15ms is not a whole number of centiseconds",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    advert_interval: 41s\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].advert_interval"),
        "10ms to 40950ms",
    );
    // The version comes after the interval: the interval is still the field to blame.
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    advert_interval: 1500ms\n    version: 2\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].advert_interval"),
        "1.5s is not a whole number of seconds",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    version: 2\n    advert_interval: 0s\n    vips: [192.0.2.1]\n",
        6,
        Some("instances[0].advert_interval"),
        "1s to 255s",
    );
}

#[test]
fn rejects_bad_vip_lists() {
    let with = |vips: &str| {
        format!("instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: {vips}\n")
    };
    rejects(
        &with("[]"),
        5,
        Some("instances[0].vips"),
        "at least one VIP",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n",
        2,
        Some("instances[0].vips"),
        "missing field `vips`",
    );
    rejects(
        &with("\n      - 192.0.2.1/24\n      - 2001:db8::1/64"),
        7,
        Some("instances[0].vips[1]"),
        "must all be one address family",
    );
    rejects(
        &with("[192.0.2.300/24]"),
        5,
        Some("instances[0].vips[0]"),
        "`192.0.2.300/24` is not an IP address",
    );
    rejects(
        &with("[192.0.2.1/24, 192.0.2.2/33]"),
        5,
        Some("instances[0].vips[1]"),
        "expected /1 to /32",
    );
    rejects(
        &with("\n      - 192.0.2.1/24\n      - 192.0.2.2/24\n      - 192.0.2.1/32"),
        8,
        Some("instances[0].vips[2]"),
        "192.0.2.1 is listed twice (also vips[0])",
    );
    rejects(
        &with("[224.0.0.18]"),
        5,
        Some("instances[0].vips[0]"),
        "multicast",
    );
}

#[test]
fn unicast_peers_of_either_family() {
    let c = parse(
        "\
instances:
  - name: v4
    interface: eth0
    vrid: 51
    version: 2
    vips: [192.0.2.50/24]
    unicast_peers:
      - 192.0.2.12
      - 198.51.100.7
  - name: v6
    interface: eth0
    vrid: 51
    vips: [2001:db8::50/64]
    unicast_peers: [\"fe80::12\", fe80::13]
",
    )
    .expect("valid unicast config");
    let addrs =
        |list: &[&str]| -> Vec<IpAddr> { list.iter().map(|a| a.parse().expect("addr")).collect() };
    assert_eq!(
        c.instances[0].unicast_peers,
        addrs(&["192.0.2.12", "198.51.100.7"])
    );
    assert_eq!(
        c.instances[1].unicast_peers,
        addrs(&["fe80::12", "fe80::13"])
    );
}

#[test]
fn rejects_bad_unicast_peers() {
    let with = |vips: &str, peers: &str| {
        format!(
            "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: {vips}\n    unicast_peers: {peers}\n"
        )
    };
    let v4 = "[192.0.2.50/24]";
    let v6 = "[2001:db8::50/64]";
    rejects(
        &with(v4, "[]"),
        6,
        Some("instances[0].unicast_peers"),
        "at least one peer is required; leave unicast_peers out to use multicast",
    );
    rejects(
        &with(
            v4,
            "\n      - 192.0.2.12\n      - 192.0.2.13\n      - 192.0.2.12",
        ),
        9,
        Some("instances[0].unicast_peers[2]"),
        "192.0.2.12 is listed twice (also unicast_peers[0])",
    );
    rejects(
        &with(v4, "\n      - 192.0.2.12\n      - fe80::12"),
        8,
        Some("instances[0].unicast_peers[1]"),
        "fe80::12 is IPv6 but unicast_peers[0] is IPv4",
    );
    rejects(
        &with(v4, "[fe80::12]"),
        6,
        Some("instances[0].unicast_peers[0]"),
        "fe80::12 is IPv6 but the VIPs are IPv4",
    );
    rejects(
        &with(v6, "\n      - fe80::12\n      - 2001:db8::12"),
        8,
        Some("instances[0].unicast_peers[1]"),
        "2001:db8::12 is not link-local",
    );
    rejects(
        &with(v4, "\n      - 192.0.2.12\n      - 192.0.2.50"),
        8,
        Some("instances[0].unicast_peers[1]"),
        "192.0.2.50 is one of this instance's VIPs",
    );
    rejects(
        &with(v4, "[192.0.2.12/24]"),
        6,
        Some("instances[0].unicast_peers[0]"),
        "without a prefix length",
    );
    rejects(
        &with(v4, "[192.0.2.300]"),
        6,
        Some("instances[0].unicast_peers[0]"),
        "`192.0.2.300` is not an IP address",
    );
    for (bad, kind) in [
        ("224.0.0.18", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("255.255.255.255", "broadcast"),
    ] {
        rejects(
            &with(v4, &format!("[{bad}]")),
            6,
            Some("instances[0].unicast_peers[0]"),
            kind,
        );
    }
    rejects(
        &with(v4, "192.0.2.12"),
        6,
        Some("instances[0].unicast_peers"),
        "a list of the peers' addresses",
    );
    // Another instance's VIP is no advert source either.
    rejects(
        "\
instances:
  - name: a
    interface: eth0
    vrid: 1
    vips: [192.0.2.50/24]
    unicast_peers: [192.0.2.12]
  - name: b
    interface: eth0
    vrid: 2
    vips: [192.0.2.60/24]
    unicast_peers:
      - 192.0.2.13
      - 192.0.2.50
",
        13,
        Some("instances[1].unicast_peers[1]"),
        "192.0.2.50 is a VIP of instances[0] (a)",
    );
}

#[test]
fn rejects_v2_with_ipv6() {
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    version: 2\n    vips: [2001:db8::1/64]\n",
        5,
        Some("instances[0].version"),
        "VRRPv2 is IPv4-only",
    );
}

#[test]
fn rejects_rfc9568_checksum_where_it_means_nothing() {
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    checksum: rfc9568\n    vips: [2001:db8::1/64]\n",
        5,
        Some("instances[0].checksum"),
        "only changes VRRPv3 over IPv4",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    checksum: none\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].checksum"),
        "expected `rfc5798` or `rfc9568`",
    );
}

#[test]
fn rejects_duplicates_across_instances() {
    rejects(
        "\
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
  - name: web
    interface: eth1
    vrid: 52
    vips: [192.0.2.51/24]
",
        6,
        Some("instances[1].name"),
        "instance name `web` is already used by instances[0]",
    );
    rejects(
        "\
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
  - name: api
    interface: eth1
    vrid: 51
    vips: [192.0.2.52/24]
  - name: db
    interface: eth0
    vrid: 51
    vips: [192.0.2.51/24]
",
        12,
        Some("instances[2].vrid"),
        "VRID 51 on eth0 for IPv4 is already used by instances[0]",
    );
    rejects(
        "instances: []\n",
        1,
        Some("instances"),
        "at least one instance",
    );
}

#[test]
fn rejects_bad_names() {
    rejects(
        "instances:\n  - name: a\n    interface: eth0/1\n    vrid: 1\n    vips: [192.0.2.1]\n",
        3,
        Some("instances[0].interface"),
        "not a valid interface name",
    );
    rejects(
        "instances:\n  - name: a\n    interface: averyveryverylongname\n    vrid: 1\n    vips: [192.0.2.1]\n",
        3,
        Some("instances[0].interface"),
        "longer than 15 bytes",
    );
    rejects(
        "instances:\n  - name: web.1\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1]\n",
        2,
        Some("instances[0].name"),
        "use only letters, digits",
    );
    let long = format!("/run/{}.sock", "x".repeat(120));
    rejects(
        &format!("control_socket: {long}\ninstances: []\n"),
        1,
        Some("control_socket"),
        "Unix sockets allow at most 107",
    );
    rejects(
        "log_level: chatty\ninstances: []\n",
        1,
        Some("log_level"),
        "unknown log level `chatty`",
    );
}

#[test]
fn rejects_wrong_types_and_repeated_keys() {
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    preempt: maybe\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].preempt"),
        "expected a boolean",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: 192.0.2.1\n",
        5,
        Some("instances[0].vips"),
        "expected a list",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vrid: 2\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].vrid"),
        "duplicate field `vrid`",
    );
    rejects(
        "log_level: info\n",
        1,
        Some("instances"),
        "missing field `instances`",
    );
}

#[test]
fn rejects_yaml_syntax_errors() {
    // A tab used for indentation.
    rejects(
        "instances:\n  - name: a\n\tinterface: eth0\n    vrid: 1\n    vips: [192.0.2.1]\n",
        3,
        None,
        "tab character",
    );
    // A key indented less than its siblings.
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n   vrid: 1\n    vips: [192.0.2.1]\n",
        4,
        None,
        "",
    );
    // An unclosed flow sequence.
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1\n",
        6,
        None,
        "",
    );
    rejects("- a\n- b\n", 1, None, "expected a mapping with `instances`");
    let two_docs = "instances: []\n---\ninstances: []\n";
    rejects(two_docs, 2, None, "more than one document");
}

#[test]
fn rejects_what_vipd_cannot_honour_or_keep_apart() {
    // Accept_Mode false would need a packet filter vipd does not install.
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    accept: false\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].accept"),
        "not supported",
    );
    // The same VIP in two instances: they would remove each other's address.
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1/24]\n  - name: b\n    interface: eth1\n    vrid: 2\n    vips: [192.0.2.9, 192.0.2.1/32]\n",
        9,
        Some("instances[1].vips"),
        "already managed by instances[0]",
    );
    // A fraction that overflows while being added up is too large, not a panic.
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    preempt_delay: 340282366920938463463374607431.9s\n    vips: [192.0.2.1]\n",
        5,
        Some("instances[0].preempt_delay"),
        "",
    );
}

#[test]
fn rejects_a_garp_refresh_that_floods_the_lan() {
    let text = "\
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
    garp:
      refresh: 100ms
";
    rejects(
        text,
        7,
        Some("instances[0].garp.refresh"),
        "100ms is too often; use 0s (never) or at least 1s",
    );
    let ok = text.replace("100ms", "1s");
    assert_eq!(
        parse(&ok).expect("1 s is allowed").instances[0]
            .garp
            .refresh,
        Duration::from_secs(1)
    );
}

/// A scratch directory of this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("vipd-config-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn only_a_regular_file_of_sane_size_is_read() {
    let dir = Scratch::new("files");
    // A FIFO would block the reader forever (nobody writes to it): refused at once.
    let fifo = dir.0.join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let started = std::time::Instant::now();
    let e = config::load(&fifo).expect_err("a FIFO is no config file");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "load waited on the FIFO"
    );
    assert!(
        e.to_string().ends_with("cannot read: not a regular file"),
        "{e}"
    );
    // A directory likewise.
    let e = config::load(&dir.0).expect_err("a directory is no config file");
    assert!(
        e.to_string().ends_with("cannot read: not a regular file"),
        "{e}"
    );
    // More than 1 MiB: refused before it is parsed.
    let big = dir.0.join("big.yaml");
    let mut text = String::from("# padding\n");
    while text.len() <= 1024 * 1024 {
        text.push_str("# a comment line to make the file large ........................\n");
    }
    std::fs::write(&big, &text).expect("write");
    let e = config::load(&big).expect_err("too large");
    assert!(
        e.to_string()
            .contains("more than the 1048576 a configuration may have"),
        "{e}"
    );
}

/// A key file in `dir` holding `text`, with permission bits `mode`.
fn key_file(dir: &Scratch, name: &str, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.0.join(name);
    std::fs::write(&p, text).expect("write the key file");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

/// One instance whose `auth` mapping is `auth` (lines from 7 on; `key_file` on line 8).
fn with_auth(auth: &str) -> String {
    format!(
        "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    vips: [192.0.2.50/24]\n    priority: 150\n    auth:\n{auth}"
    )
}

const KEY_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
const KEY_B: &str = "ffeeddccbbaa99887766554433221100\n";

#[test]
fn auth_reads_the_key_files() {
    let dir = Scratch::new("auth-ok");
    let a = key_file(&dir, "web.key", KEY_A, 0o600);
    let b = key_file(&dir, "web.key.old", KEY_B, 0o400);
    let c = parse(&with_auth(&format!(
        "      key_file: {}\n      previous_key_file: {}\n",
        a.display(),
        b.display()
    )))
    .expect("valid auth");
    let auth = c.instances[0].auth.clone().expect("auth is set");
    assert_eq!(auth.key, config::AuthKey::from_hex(KEY_A).expect("key A"));
    assert_eq!(
        auth.previous_key,
        Some(config::AuthKey::from_hex(KEY_B).expect("key B"))
    );
    assert_eq!(auth.key.len(), 32);
    // No key in any printout of the configuration.
    let shown = format!("{c:?}");
    assert!(
        shown
            .contains("auth: Some(AuthConfig { key: <redacted>, previous_key: Some(<redacted>) })"),
        "{shown}"
    );
    assert!(
        !shown.contains("0011") && !shown.contains("ffee"),
        "{shown}"
    );
    // Without `auth`, none.
    let plain = parse(
        "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    vips: [192.0.2.50/24]\n",
    )
    .expect("valid");
    assert_eq!(plain.instances[0].auth, None);
}

#[test]
fn auth_refuses_key_files_others_can_read() {
    let dir = Scratch::new("auth-mode");
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
        let p = key_file(&dir, &format!("web-{mode:o}.key"), KEY_A, mode);
        let text = with_auth(&format!("      key_file: {}\n", p.display()));
        rejects(
            &text,
            8,
            Some("instances[0].auth.key_file"),
            &format!(
                "key file {} has mode {mode:04o}; it must be readable by its owner only (0600 or stricter): chmod 600 {}",
                p.display(),
                p.display()
            ),
        );
    }
    // The previous key is held to the same rule, and blamed on its own line.
    let good = key_file(&dir, "good.key", KEY_A, 0o600);
    let open = key_file(&dir, "open.key", KEY_B, 0o644);
    rejects(
        &with_auth(&format!(
            "      key_file: {}\n      previous_key_file: {}\n",
            good.display(),
            open.display()
        )),
        9,
        Some("instances[0].auth.previous_key_file"),
        "has mode 0644",
    );
}

#[test]
fn auth_refuses_bad_keys_and_paths() {
    let dir = Scratch::new("auth-bad");
    let at = |file: &Path| with_auth(&format!("      key_file: {}\n", file.display()));
    let field = Some("instances[0].auth.key_file");
    let missing = dir.0.join("missing.key");
    rejects(
        &at(&missing),
        8,
        field,
        &format!(
            "cannot read key file {}: No such file or directory",
            missing.display()
        ),
    );
    let short = key_file(&dir, "short.key", "0011223344556677\n", 0o600);
    rejects(
        &at(&short),
        8,
        field,
        "the key is 8 bytes; at least 16 are required",
    );
    let words = key_file(&dir, "words.key", "correct horse battery staple\n", 0o600);
    rejects(
        &at(&words),
        8,
        field,
        "not a hexadecimal digit (at offset 1)",
    );
    let empty = key_file(&dir, "empty.key", "", 0o600);
    rejects(&at(&empty), 8, field, "the key is empty");
    rejects(
        &with_auth("      key_file: etc/web.key\n"),
        8,
        field,
        "`etc/web.key` is not an absolute path",
    );
    rejects(
        &with_auth("      previous_key_file: /etc/vipd/web.key\n"),
        8,
        Some("instances[0].auth.key_file"),
        "missing field `key_file`",
    );
    rejects(
        &with_auth("      keyfile: /etc/vipd/web.key\n"),
        8,
        Some("instances[0].auth.keyfile"),
        "unknown field `keyfile`",
    );
    // A directory, and a FIFO (which would block an open): refused at once.
    rejects(&at(&dir.0), 8, field, "is not a regular file");
    let fifo = dir.0.join("fifo.key");
    let made = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let started = std::time::Instant::now();
    rejects(&at(&fifo), 8, field, "is not a regular file");
    assert!(started.elapsed() < Duration::from_secs(1));
    let big = key_file(&dir, "big.key", &"ab".repeat(3000), 0o600);
    rejects(
        &at(&big),
        8,
        field,
        "is 6000 bytes; it should hold one hex key",
    );
}

#[test]
fn state_dir_and_operator_group() {
    const INSTANCES: &str =
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1]\n";
    let c = parse(INSTANCES).expect("defaults");
    assert_eq!(c.state_dir, PathBuf::from("/var/lib/vipd"));
    assert_eq!(c.admin_gid, None);
    // A group name is resolved to its gid when the file is read (root is gid 0
    // everywhere); a number is a gid.
    let c = parse(&format!(
        "state_dir: /tmp/vipd-state\noperator_group: root\n{INSTANCES}"
    ))
    .expect("state_dir and operator_group");
    assert_eq!(c.state_dir, PathBuf::from("/tmp/vipd-state"));
    assert_eq!(c.admin_gid, Some(0));
    let c = parse(&format!("operator_group: 4242\n{INSTANCES}")).expect("numeric gid");
    assert_eq!(c.admin_gid, Some(4242));
    rejects(
        &format!("operator_group: no-such-group-vipd\n{INSTANCES}"),
        1,
        Some("operator_group"),
        "group `no-such-group-vipd` does not exist",
    );
    rejects(
        &format!("state_dir: var/lib/vipd\n{INSTANCES}"),
        1,
        Some("state_dir"),
        "not an absolute path",
    );
}

const TWO: &str = "\
instances:
  - name: front
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
  - name: back
    interface: eth1
    vrid: 52
    vips: [192.0.2.150/24]
  - name: other
    interface: eth2
    vrid: 53
    vips: [192.0.2.200/24]
";

#[test]
fn sync_groups_parse() {
    let c = parse(&format!(
        "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n"
    ))
    .expect("valid");
    assert_eq!(
        c.groups,
        vec![config::GroupConfig {
            name: "lb".into(),
            instances: vec!["front".into(), "back".into()],
            notify: config::NotifyConfig::none(),
        }]
    );
    assert!(parse(TWO).expect("valid").groups.is_empty());
}

#[test]
fn sync_group_notify_parses() {
    let c = parse(&format!(
        "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n    notify:\n      \
         master: [/usr/local/bin/up, lb]\n      fault: [/bin/f]\n    notify_timeout: 2s\n    \
         notify_positional: true\n"
    ))
    .expect("valid");
    let n = &c.groups[0].notify;
    assert_eq!(
        n.master,
        Some(vec!["/usr/local/bin/up".to_string(), "lb".to_string()])
    );
    assert_eq!(n.fault, Some(vec!["/bin/f".to_string()]));
    assert_eq!(
        (n.backup.clone(), n.stop.clone(), n.any.clone()),
        (None, None, None)
    );
    assert_eq!(n.timeout, std::time::Duration::from_secs(2));
    assert!(n.positional);
}

#[test]
fn rejects_bad_sync_group_notify() {
    rejects(
        &format!(
            "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n    notify:\n      \
             backup: [up.sh]\n"
        ),
        18,
        Some("groups[0].notify.backup[0]"),
        "`up.sh` is not an absolute path",
    );
    rejects(
        &format!(
            "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n    notify_timeout: 2h\n"
        ),
        17,
        Some("groups[0].notify_timeout"),
        "120m is out of range 100ms..=60m",
    );
    rejects(
        &format!(
            "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n    notify:\n      \
             master: [/bin/m]\n      promoted: [/bin/p]\n"
        ),
        19,
        Some("groups[0].notify.promoted"),
        "unknown field `promoted`",
    );
}

#[test]
fn rejects_bad_sync_groups() {
    rejects(
        &format!("{TWO}groups:\n  - name: lb\n    instances: [front, nothere]\n"),
        16,
        Some("groups[0].instances[1]"),
        "no instance is named `nothere`",
    );
    rejects(
        &format!("{TWO}groups:\n  - name: lb\n    instances: [front]\n"),
        16,
        Some("groups[0].instances"),
        "a sync group needs at least 2 instances, this one has 1",
    );
    rejects(
        &format!(
            "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n  - name: lb2\n    instances: [other, back]\n"
        ),
        18,
        Some("groups[1].instances[1]"),
        "instance `back` is already in group `lb` (groups[0])",
    );
    rejects(
        &format!("{TWO}groups:\n  - name: lb\n    instances: [front, front]\n"),
        16,
        Some("groups[0].instances[1]"),
        "instance `front` is listed twice in this group",
    );
    rejects(
        &format!(
            "{TWO}groups:\n  - name: lb\n    instances: [front, back]\n  - name: lb\n    instances: [other, front]\n"
        ),
        17,
        Some("groups[1].name"),
        "group name `lb` is already used by groups[0]",
    );
    rejects(
        &format!("{TWO}groups:\n  - instances: [front, back]\n"),
        15,
        Some("groups[0].name"),
        "missing field `name`",
    );
    rejects(
        &format!("{TWO}groups:\n  - name: lb\n    instances: [front, back]\n    vrid: 3\n"),
        17,
        Some("groups[0].vrid"),
        "unknown field `vrid`",
    );
}

#[test]
fn routers_declared_and_checked_against_unicast_peers() {
    let with = |extra: &str| {
        format!("instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.50/24]\n{extra}")
    };
    let c = parse(&with("")).expect("parses");
    assert_eq!(c.instances[0].routers, None);
    let c = parse(&with("    routers: 2\n")).expect("parses");
    assert_eq!(c.instances[0].routers, Some(2));
    let c = parse(&with(
        "    routers: 3\n    unicast_peers: [192.0.2.12, 192.0.2.13]\n",
    ))
    .expect("parses");
    assert_eq!(c.instances[0].routers, Some(3));
    let field = Some("instances[0].routers");
    rejects(
        &with("    routers: 1\n"),
        6,
        field,
        "1 is out of range 2..=255",
    );
    rejects(
        &with("    routers: 2\n    unicast_peers: [192.0.2.12, 192.0.2.13]\n"),
        6,
        field,
        "2 routers, but unicast_peers lists 2 (so 3 routers with this one)",
    );
}
