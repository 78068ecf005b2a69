//! `announce:`: announced instances (no VRRP); defaults, an announce-only file, and
//! errors pinned to file, line and field.

use std::path::Path;
use std::time::Duration;

use vipd::config::{self, Config, ConfigError};

fn parse(text: &str) -> Result<Config, ConfigError> {
    config::parse(text, Path::new("/etc/vipd.yaml"))
}

const CHECKS: &str = "\
checks:
  nginx:
    tcp: 127.0.0.1:80
";

#[test]
fn an_announce_only_file_takes_the_defaults() {
    let c = parse(&format!(
        "{CHECKS}announce:\n  - name: web\n    vips: [192.0.2.80/32, 192.0.2.81/32]\n    track: [nginx]\n  \
         - name: web6\n    vips: [\"2001:db8::80/128\"]\n"
    ))
    .expect("valid");
    assert!(c.instances.is_empty());
    let a = &c.announce[0];
    assert_eq!(a.name, "web");
    assert_eq!(a.interface, "vipd0");
    assert_eq!(a.drain, Duration::from_secs(2));
    assert_eq!(a.withdraw_below, 0);
    assert_eq!(a.vips.len(), 2);
    assert_eq!(a.track[0].check, "nginx");
    assert!(c.announce[1].vips[0].addr.is_ipv6());
}

#[test]
fn every_field_is_read() {
    let c = parse(&format!(
        "{CHECKS}announce:\n  - name: web\n    via: bgp\n    interface: anycast0\n    vips: [192.0.2.80/32]\n    \
         track: [{{check: nginx, weight: -20}}]\n    withdraw_below: -10\n    drain: 500ms\n    \
         notify:\n      draining: [/usr/local/bin/drain, web]\n    notify_timeout: 3s\n"
    ))
    .expect("valid");
    let a = &c.announce[0];
    assert_eq!(
        a.notify.draining.as_deref(),
        Some(&["/usr/local/bin/drain".to_string(), "web".to_string()][..])
    );
    assert_eq!(a.notify.timeout, Duration::from_secs(3));
    assert_eq!(a.interface, "anycast0");
    assert_eq!(a.drain, Duration::from_millis(500));
    assert_eq!(a.withdraw_below, -10);
    assert_eq!(a.track[0].weight, -20);
}

#[test]
fn bad_announce_entries_name_file_line_and_field() {
    let vrrp =
        "instances:\n  - name: db\n    interface: eth0\n    vrid: 51\n    vips: [192.0.2.50/24]\n";
    let cases = [
        // A network route, not a host route.
        (
            "announce:\n  - name: web\n    vips: [192.0.2.80/24]\n",
            "/etc/vipd.yaml:6:",
            "announce[0].vips[0]",
            "host route",
        ),
        (
            "announce:\n  - name: web\n    via: ospf\n    vips: [192.0.2.80/32]\n",
            "/etc/vipd.yaml:6:",
            "announce[0].via",
            "bgp",
        ),
        (
            "announce:\n  - name: web\n    interface: lo\n    vips: [192.0.2.80/32]\n",
            "/etc/vipd.yaml:6:",
            "announce[0].interface",
            "drain",
        ),
        (
            "announce:\n  - name: web\n    vips: [192.0.2.80/32]\n    drain: 11s\n",
            "/etc/vipd.yaml:7:",
            "announce[0].drain",
            "longer than 10s",
        ),
        (
            "announce:\n  - name: web\n    vips: [192.0.2.80/32]\n    track: [apache]\n",
            "/etc/vipd.yaml:7:",
            "announce[0].track[0]",
            "unknown check",
        ),
        (
            "announce:\n  - name: web\n    vips: [192.0.2.80/32]\n  - name: web\n    vips: [192.0.2.81/32]\n",
            "/etc/vipd.yaml:7:",
            "announce[1].name",
            "already used",
        ),
        (
            "announce:\n  - name: web\n    vips: [192.0.2.80/32]\n    notify: {announcing: [hook]}\n",
            "/etc/vipd.yaml:7:",
            "announce[0].notify.announcing[0]",
            "absolute path",
        ),
        (
            "announce:\n  - vips: [192.0.2.80/32]\n",
            "/etc/vipd.yaml:",
            "announce[0].name",
            "missing field",
        ),
        (
            "announce:\n  - name: web\n    vips: [192.0.2.80/32]\n    weight: 3\n",
            "/etc/vipd.yaml:7:",
            "announce[0]",
            "weight",
        ),
    ];
    for (text, at, field, words) in cases {
        let e = parse(&format!("{CHECKS}{text}"))
            .expect_err(text)
            .to_string();
        assert!(e.starts_with(at), "{text:?}: {e}");
        assert!(e.contains(field), "{text:?}: {e}");
        assert!(e.contains(words), "{text:?}: {e}");
    }
    // Against the VRRP instances: a name, a VIP or an interface of theirs.
    let cases = [
        (
            "announce:\n  - name: db\n    vips: [192.0.2.80/32]\n",
            "announce[0].name",
            "instances[0]",
        ),
        (
            "announce:\n  - name: web\n    vips: [192.0.2.50/32]\n",
            "announce[0].vips[0]",
            "already managed",
        ),
        (
            "announce:\n  - name: web\n    interface: eth0\n    vips: [192.0.2.80/32]\n",
            "announce[0].interface",
            "instances[0]",
        ),
    ];
    for (text, field, words) in cases {
        let e = parse(&format!("{CHECKS}{vrrp}{text}"))
            .expect_err(text)
            .to_string();
        assert!(e.starts_with("/etc/vipd.yaml:1"), "{text:?}: {e}");
        assert!(e.contains(field), "{text:?}: {e}");
        assert!(e.contains(words), "{text:?}: {e}");
    }
    // Neither instances nor announce entries.
    let e = parse(CHECKS).expect_err("empty").to_string();
    assert!(e.contains("instances"), "{e}");
}
