//! `notify:`, `notify_timeout`, `notify_positional` in the config file: the README's
//! shape, defaults, and bad values pinned to their line and field.

mod common;

use common::{parse, rejects};

use std::time::Duration;

fn instance(extra: &str) -> String {
    format!(
        "instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    vips: [192.0.2.50/24]\n{extra}"
    )
}

#[test]
fn the_documented_form_parses() {
    let c = parse(&instance(
        "    notify:\n      master: [/usr/local/bin/vip-up, --quiet]\n      backup: [/usr/local/bin/vip-down]\n      fault: [/usr/local/bin/vip-down]\n      stopped: [/usr/local/bin/vip-down]\n      any: [/usr/local/bin/log-transition]\n    notify_timeout: 5s\n    notify_positional: true\n",
    ))
    .expect("parses");
    let n = &c.instances[0].notify;
    assert_eq!(
        n.master.as_deref(),
        Some(&["/usr/local/bin/vip-up".to_string(), "--quiet".to_string()][..])
    );
    assert_eq!(
        n.backup.as_deref(),
        Some(&["/usr/local/bin/vip-down".to_string()][..])
    );
    assert_eq!(n.fault, n.backup);
    assert_eq!(n.stop, n.backup);
    assert_eq!(
        n.any.as_deref(),
        Some(&["/usr/local/bin/log-transition".to_string()][..])
    );
    assert_eq!(n.timeout, Duration::from_secs(5));
    assert!(n.positional);
}

#[test]
fn defaults_no_hooks_ten_seconds_named_form() {
    let c = parse(&instance("")).expect("parses");
    let n = &c.instances[0].notify;
    assert!(n.is_empty());
    assert_eq!(n.timeout, Duration::from_secs(10));
    assert!(!n.positional);
    let c = parse(&instance("    notify: {any: [/bin/true]}\n")).expect("parses");
    assert_eq!(c.instances[0].notify.master, None);
    assert!(!c.instances[0].notify.is_empty());
}

#[test]
fn rejects_bad_hooks_at_their_line() {
    rejects(
        &instance("    notify:\n      master: [vip-up]\n"),
        7,
        Some("instances[0].notify.master[0]"),
        "`vip-up` is not an absolute path",
    );
    rejects(
        &instance("    notify:\n      backup: [./down.sh, x]\n"),
        7,
        Some("instances[0].notify.backup[0]"),
        "is not an absolute path",
    );
    rejects(
        &instance("    notify:\n      any: /usr/local/bin/log --all\n"),
        7,
        Some("instances[0].notify.any"),
        "write the program and its arguments as a list",
    );
    rejects(
        &instance("    notify:\n      fault: []\n"),
        7,
        Some("instances[0].notify.fault"),
        "the list is empty",
    );
    rejects(
        &instance("    notify:\n      master_up: [/bin/true]\n"),
        7,
        Some("instances[0].notify.master_up"),
        "expected one of `master`, `backup`, `fault`, `stopped`, `any`",
    );
    rejects(
        &instance("    notify_timeout: 50ms\n"),
        6,
        Some("instances[0].notify_timeout"),
        "out of range 100ms..=60m",
    );
    rejects(
        &instance("    notify_timeout: 2h\n"),
        6,
        Some("instances[0].notify_timeout"),
        "out of range",
    );
    rejects(
        &instance("    notify_positional: yes please\n"),
        6,
        Some("instances[0].notify_positional"),
        "",
    );
}
