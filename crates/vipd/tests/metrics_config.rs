//! `metrics: {listen}`: off by default, the address parsed, errors pinned to the line.

use std::path::Path;

use vipd::config::{self, Config, ConfigError};

const INSTANCE: &str = "\
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
";

fn parse(top: &str) -> Result<Config, ConfigError> {
    config::parse(&format!("{top}{INSTANCE}"), Path::new("/etc/vipd.yaml"))
}

#[test]
fn off_by_default() {
    assert_eq!(parse("").expect("valid").metrics, None);
}

#[test]
fn listen_v4_and_v6() {
    let c = parse("metrics:\n  listen: 127.0.0.1:9650\n").expect("valid");
    assert_eq!(
        c.metrics.map(|m| m.listen),
        Some("127.0.0.1:9650".parse().expect("addr"))
    );
    let c = parse("metrics: {listen: \"[::1]:9651\"}\n").expect("valid");
    assert_eq!(
        c.metrics.map(|m| m.listen),
        Some("[::1]:9651".parse().expect("addr"))
    );
}

#[test]
fn bad_address_is_pinned_to_its_line() {
    for bad in [
        "localhost:9650",
        "127.0.0.1",
        "127.0.0.1:99999",
        "127.0.0.1:0",
    ] {
        let e = parse(&format!("log_level: info\nmetrics:\n  listen: \"{bad}\"\n"))
            .expect_err(bad)
            .to_string();
        assert!(
            e.starts_with("/etc/vipd.yaml:3:") && e.contains("metrics.listen"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn listen_is_required_and_nothing_else_is_accepted() {
    let e = parse("metrics: {}\n").expect_err("no listen").to_string();
    assert!(
        e.starts_with("/etc/vipd.yaml:1:") && e.contains("metrics.listen") && e.contains("missing"),
        "{e}"
    );
    let e = parse("metrics:\n  listen: 127.0.0.1:9650\n  path: /m\n")
        .expect_err("unknown field")
        .to_string();
    assert!(
        e.starts_with("/etc/vipd.yaml:3:") && e.contains("path"),
        "{e}"
    );
}
