//! The Debian package on a booted Debian 12 host (tests/src/hosts.rs), never on the
//! machine that runs the tests: install, what it puts where and with which owners, the
//! unit as systemd loads it, remove (the configuration stays), purge (it and the system
//! user go).

use vipd_e2e::hosts::{deb, Booted};
use vipd_e2e::Lan;

fn stat(h: &Booted, path: &str) -> String {
    h.exec_ok(&["stat", "-c", "%U:%G %a", path])
        .trim()
        .to_string()
}

#[test]
fn installs_removes_and_purges_on_a_booted_host() {
    let lan = Lan::new("package");
    let h = Booted::boot(lan.host_at("pkg", 21));
    let package = deb();
    let inside = "/root/vipd.deb";
    std::fs::copy(&package, h.path(inside)).expect("copy the package into the host");
    h.exec_ok(&["dpkg", "-i", inside]);

    assert!(h.exec_ok(&["vipd", "--version"]).starts_with("vipd "));
    assert!(h.exec_ok(&["vipctl", "--version"]).starts_with("vipctl "));
    let user = h.exec_ok(&["getent", "passwd", "vipd"]);
    assert!(
        user.contains("/var/lib/vipd") && user.contains("nologin"),
        "{user}"
    );
    // The configuration: root:vipd 0640 (it may name key files and peers).
    assert_eq!(stat(&h, "/etc/vipd/vipd.yaml"), "root:vipd 640");
    // What the README and the man pages point at is there.
    for f in [
        "/usr/share/doc/vipd/README.md",
        "/usr/share/doc/vipd/examples/two-node-a.yaml",
        "/usr/share/doc/vipd/examples/nginx/nginx-vip.conf",
        "/usr/share/doc/vipd/examples/systemd/realtime.conf",
        "/usr/share/man/man8/vipd.8.gz",
        "/usr/share/man/man8/vipctl.8.gz",
        "/usr/share/man/man5/vipd.yaml.5.gz",
        "/usr/share/bash-completion/completions/vipctl",
    ] {
        h.exec_ok(&["test", "-f", f]);
    }
    // Every relative link of the installed README leads to an installed file (the
    // book's pages and images under docs/src/).
    let readme = h.exec_ok(&["cat", "/usr/share/doc/vipd/README.md"]);
    let links: Vec<&str> = readme
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|l| l.split('#').next().unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.contains("://"))
        .collect();
    assert!(links.len() > 10, "links found in the README: {links:?}");
    for link in links {
        let path = format!("/usr/share/doc/vipd/{link}");
        let there = h.exec(&["test", "-f", &path]);
        assert!(
            there.status.success(),
            "the README links to {link}, not installed"
        );
    }
    // The shipped examples pass --check as they are.
    for f in ["two-node-a.yaml", "nginx/vipd-a.yaml"] {
        let path = format!("/usr/share/doc/vipd/examples/{f}");
        let out = h.exec(&["vipd", "--config", &path, "--check"]);
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // systemd loads the unit; installing starts nothing (the example is not a config).
    h.exec_ok(&[
        "systemd-analyze",
        "verify",
        "--man=no",
        "/lib/systemd/system/vipd.service",
    ]);
    let active = h.exec(&["systemctl", "is-active", "vipd"]);
    assert_eq!(String::from_utf8_lossy(&active.stdout).trim(), "inactive");

    h.exec_ok(&["dpkg", "-r", "vipd"]);
    h.exec_ok(&["test", "!", "-e", "/usr/sbin/vipd"]);
    h.exec_ok(&["test", "!", "-e", "/usr/bin/vipctl"]);
    h.exec_ok(&["test", "-e", "/etc/vipd/vipd.yaml"]);
    h.exec_ok(&["dpkg", "-P", "vipd"]);
    h.exec_ok(&["test", "!", "-e", "/etc/vipd/vipd.yaml"]);
    assert!(!h.exec(&["getent", "passwd", "vipd"]).status.success());
    assert!(!h.exec(&["getent", "group", "vipd"]).status.success());
}
