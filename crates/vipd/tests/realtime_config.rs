//! `realtime_priority` and `lock_memory`: defaults, range, errors pinned to the line.

use std::path::Path;

use vipd::config::{self, Config, ConfigError};

const INSTANCE: &str = "\
instances:
  - name: web
    interface: eth0
    vrid: 51
    advert_interval: 10ms
    vips: [192.0.2.50/24]
";

fn parse(top: &str) -> Result<Config, ConfigError> {
    config::parse(&format!("{top}{INSTANCE}"), Path::new("/etc/vipd.yaml"))
}

#[test]
fn off_by_default() {
    let c = parse("").expect("valid");
    assert_eq!((c.realtime_priority, c.lock_memory), (0, false));
    let c = parse("realtime_priority: 0\nlock_memory: false\n").expect("valid");
    assert_eq!((c.realtime_priority, c.lock_memory), (0, false));
}

#[test]
fn set() {
    let c = parse("realtime_priority: 50\nlock_memory: true\n").expect("valid");
    assert_eq!((c.realtime_priority, c.lock_memory), (50, true));
    let c = parse("realtime_priority: 99\n").expect("valid");
    assert_eq!(c.realtime_priority, 99);
}

#[test]
fn out_of_range_or_wrong_type_is_pinned() {
    let e = parse("log_level: info\nrealtime_priority: 100\n")
        .expect_err("100 is out of range")
        .to_string();
    assert!(e.starts_with("/etc/vipd.yaml:2:"), "{e}");
    assert!(
        e.contains("realtime_priority") && e.contains("0..=99"),
        "{e}"
    );
    let e = parse("realtime_priority: -1\n")
        .expect_err("negative")
        .to_string();
    assert!(e.starts_with("/etc/vipd.yaml:1:"), "{e}");
    let e = parse("lock_memory: yes please\n")
        .expect_err("not a bool")
        .to_string();
    assert!(
        e.starts_with("/etc/vipd.yaml:1:") && e.contains("lock_memory"),
        "{e}"
    );
}
