//! The book's getting-started page, run as a reader runs it: every ```sh block of
//! docs/src/getting-started.md marked `host=a`, `host=b`, `host=both` or `host=client`
//! is run, in the page's order, exactly as written: on two booted Debian 12 test hosts
//! (tests/src/hosts.rs) and on a plain client host of the same LAN. Between the blocks
//! the test waits, as the page tells the reader to, and checks what the page promises:
//! nginx answers with the host's name, the package installs, `--check` passes, a is
//! master, the client is served by a, then by b once nginx stops on a (and `vipctl
//! watch` on b shows the takeover), then by a again.
//!
//! The one block not run is the build on another machine: the test copies the package
//! under test (`VIPD_DEB`, else `cargo deb -p vipd`) into each host's home directory,
//! where the page's `scp` puts it.

use std::path::Path;
use std::time::Duration;

use vipd_e2e::hosts::{deb, Booted};
use vipd_e2e::util::wait_until;
use vipd_e2e::Lan;

const PAGE: &str = "docs/src/getting-started.md";
const VIP: &str = "192.0.2.50";

/// A command block of the page meant for a host.
#[derive(Debug)]
struct Block {
    host: String,
    step: String,
    background: bool,
    text: String,
}

/// The ```sh blocks with a `host=` attribute, in page order.
fn blocks(page: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_end().strip_prefix("```sh,") else {
            continue;
        };
        let mut block = Block {
            host: String::new(),
            step: String::new(),
            background: false,
            text: String::new(),
        };
        for attr in info.split(',') {
            match attr.split_once('=') {
                Some(("host", v)) => block.host = v.to_string(),
                Some(("step", v)) => block.step = v.to_string(),
                None if attr == "background" => block.background = true,
                _ => panic!("{PAGE}: unknown attribute {attr:?} in ```sh,{info}"),
            }
        }
        for l in lines.by_ref() {
            if l.trim_end() == "```" {
                break;
            }
            block.text.push_str(l);
            block.text.push('\n');
        }
        assert!(
            !block.host.is_empty() && !block.step.is_empty(),
            "{PAGE}: ```sh,{info} needs host= and step="
        );
        found.push(block);
    }
    found
}

/// What a block printed, and the check that it ran without an error.
fn ok(who: &str, block: &Block, out: std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{who}: step {} failed ({}):\n{}\nstdout: {stdout}\nstderr: {}",
        block.step,
        out.status,
        block.text,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("---- {who}: {} ----\n{stdout}", block.step);
    stdout
}

/// Runs a block in a booted host's shell, from root's home directory (where the reader
/// put the package).
fn run_on(h: &Booted, block: &Block) -> String {
    let script = format!("cd /root\n{}", block.text);
    ok(h.name(), block, h.exec(&["bash", "-e", "-c", &script]))
}

fn served_by(out: &str, name: &str) {
    assert_eq!(
        out.trim(),
        format!("served by {name}"),
        "the page promises `served by {name}`"
    );
}

#[test]
fn a_reader_follows_the_getting_started_page_to_a_failover() {
    let root = vipd_e2e::bins::workspace_root();
    let page = match std::fs::read_to_string(root.join(PAGE)) {
        Ok(p) => p,
        Err(e) => panic!("cannot read {PAGE}: {e}"),
    };
    let blocks = blocks(&page);
    // The page and this test agree on the steps; a step renamed, added or dropped on
    // either side fails here first.
    let steps: Vec<String> = blocks
        .iter()
        .map(|b| format!("{}:{}", b.host, b.step))
        .collect();
    assert_eq!(
        steps,
        [
            "both:nginx",
            "both:install",
            "a:config",
            "b:config",
            "both:start",
            "a:status",
            "client:before",
            "b:watch",
            "a:fail",
            "client:after",
            "b:status",
            "a:recover",
            "client:back"
        ],
        "{PAGE}'s steps"
    );

    let lan = Lan::new("gstart");
    let client = lan.host_at("client", 100);
    let a = Booted::boot(lan.host_at("a", 11));
    let b = Booted::boot(lan.host_at("b", 12));
    let package = deb();
    let Some(file) = package.file_name().and_then(|f| f.to_str()) else {
        panic!("{} has no file name", package.display());
    };
    for h in [&a, &b] {
        let inside = format!("/root/{file}");
        if let Err(e) = std::fs::copy(&package, h.path(&inside)) {
            panic!("cannot copy {} into {}: {e}", package.display(), h.name());
        }
    }
    let watch_log = lan.dir().join("watch-b.log");
    let mut watch = None;

    for block in &blocks {
        // What the reader waits for before the step (the page says so).
        match (block.host.as_str(), block.step.as_str()) {
            ("a", "status") => {
                let elected =
                    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
                        a.host.has_addr(VIP) && !b.host.has_addr(VIP)
                    });
                assert!(elected, "a does not hold {VIP} after vipd started on both");
            }
            ("client", "after") => {
                let moved = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
                    b.host.has_addr(VIP) && !a.host.has_addr(VIP)
                });
                assert!(moved, "{VIP} did not move to b when nginx stopped on a");
            }
            ("client", "back") => {
                let back = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
                    a.host.has_addr(VIP) && !b.host.has_addr(VIP)
                });
                assert!(back, "{VIP} did not come back to a with nginx");
            }
            _ => {}
        }
        let hosts: Vec<&Booted> = match block.host.as_str() {
            "a" => vec![&a],
            "b" => vec![&b],
            "both" => vec![&a, &b],
            "client" => {
                let out = client.exec(&["bash", "-e", "-c", &block.text]);
                let printed = ok("client", block, out);
                match block.step.as_str() {
                    "before" | "back" => served_by(&printed, "a"),
                    "after" => served_by(&printed, "b"),
                    other => panic!("no check for client step {other}"),
                }
                continue;
            }
            other => panic!("{PAGE}: unknown host {other}"),
        };
        for h in hosts {
            if block.background {
                let script = format!("cd /root\n{}", block.text);
                watch = Some(h.spawn(&["bash", "-e", "-c", &script], &watch_log));
                // Give it its first line: the watch has begun before the next step.
                let begun = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
                    read(&watch_log).contains("watching")
                });
                assert!(begun, "vipctl watch did not begin:\n{}", read(&watch_log));
                continue;
            }
            let printed = run_on(h, block);
            match block.step.as_str() {
                "nginx" => served_by(printed.lines().last().unwrap_or(""), h.name()),
                "install" => {
                    let version = printed.lines().last().unwrap_or("");
                    assert!(version.starts_with("vipd "), "{printed}");
                }
                "start" => assert!(
                    printed
                        .contains("vipd: configuration /etc/vipd/vipd.yaml is valid (1 instance)"),
                    "{printed}"
                ),
                "status" => assert!(
                    printed.contains("state: master") && printed.contains(VIP),
                    "the page promises `master` with {VIP}:\n{printed}"
                ),
                "config" | "fail" | "recover" => {}
                other => panic!("no check for step {other}"),
            }
        }
    }

    // The second terminal showed the takeover.
    let seen = wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
        read(&watch_log).contains("backup -> master")
    });
    let shown = read(&watch_log);
    eprintln!("---- b: vipctl watch ----\n{shown}");
    assert!(
        seen,
        "vipctl watch on b did not show the takeover:\n{shown}"
    );
    if let Some(mut child) = watch {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
