//! The command lines: a bad configuration is refused with its file and line, `--check`
//! accepts a good one, and vipctl without a daemon says so plainly.

use std::path::Path;
use std::time::Duration;

use vipd_e2e::{bins, run_timeout, Host, Lan};

/// Runs `vipd <args>` inside `h`'s namespace (it must end within 10 s).
fn vipd(h: &Host, args: &[&str], config: &Path) -> (Option<i32>, String, String) {
    let mut c = h.command(bins::vipd());
    c.args(args).arg("--config").arg(config);
    let Some(out) = run_timeout(&mut c, Duration::from_secs(10)) else {
        panic!(
            "vipd {args:?} --config {} did not exit within 10 s",
            config.display()
        );
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `vips` line of a good instance.
const VIPS: &str = "vips: [\"192.0.2.50/24\"]";

/// A configuration file's text: `control_socket: "<sock>"`, then one instance, web on
/// eth0 (lines 1 to 4), whose further lines (from line 5 on) are `rest`.
fn web_file(sock: &impl std::fmt::Display, rest: &[&str]) -> String {
    let mut text =
        format!("control_socket: \"{sock}\"\ninstances:\n  - name: web\n    interface: eth0\n");
    for l in rest {
        text.push_str(&format!("    {l}\n"));
    }
    text
}

fn write(h: &Host, name: &str, text: &str) -> std::path::PathBuf {
    let p = h.dir().join(name);
    std::fs::write(&p, text).expect("write a config file into the test's temp dir");
    p
}

#[test]
fn bad_config_refused() {
    let lan = Lan::new("badcfg");
    let h = lan.host_at("h", 11);
    let sock = h.control_socket();
    let sock = sock.display();

    // (file name, text, line that must be named, words the message must contain); the
    // instance's own lines start at line 5.
    let cases: Vec<(&str, String, usize, Vec<&str>)> = vec![
        (
            "vrid0.yaml",
            web_file(&sock, &["vrid: 0", VIPS]),
            5,
            vec!["vrid"],
        ),
        (
            "typo.yaml",
            web_file(&sock, &["vrid: 51", "priorty: 100", VIPS]),
            6,
            vec!["priorty"],
        ),
        (
            "badvip.yaml",
            web_file(
                &sock,
                &[
                    "vrid: 51",
                    "priority: 100",
                    "advert_interval: 200ms",
                    "vips: [\"192.0.2.300/24\"]",
                ],
            ),
            8,
            vec!["192.0.2.300"],
        ),
        (
            "interval.yaml",
            web_file(
                &sock,
                &["vrid: 51", "version: 2", "advert_interval: 200ms", VIPS],
            ),
            7,
            vec!["advert_interval"],
        ),
    ];
    for (name, text, line, words) in &cases {
        let path = write(&h, name, text);
        let shown = path.display().to_string();
        for check in [false, true] {
            let args: &[&str] = if check { &["--check"] } else { &[] };
            let (code, stdout, stderr) = vipd(&h, args, &path);
            println!(
                "vipd {args:?} {name}: exit {code:?}; stderr: {}",
                stderr.trim()
            );
            assert_eq!(
                code,
                Some(1),
                "{name} (check={check}): exit {code:?}\nstdout {stdout}\nstderr {stderr}"
            );
            assert!(
                stderr.contains(&shown),
                "{name}: stderr does not name the file {shown}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("{shown}:{line}:")),
                "{name}: stderr does not name line {line} as `{shown}:{line}:`: {stderr}"
            );
            for w in words {
                assert!(
                    stderr.contains(w),
                    "{name}: stderr does not mention {w}: {stderr}"
                );
            }
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    assert!(
        !Path::new(&sock.to_string()).exists(),
        "a refused configuration must not start the control socket"
    );

    // A good configuration passes --check (inside a namespace that has eth0).
    let good = write(
        &h,
        "good.yaml",
        &web_file(
            &sock,
            &["vrid: 51", "priority: 150", "advert_interval: 200ms", VIPS],
        ),
    );
    let (code, stdout, stderr) = vipd(&h, &["--check"], &good);
    println!(
        "vipd --check good.yaml: exit {code:?}; stdout: {}; stderr: {}",
        stdout.trim(),
        stderr.trim()
    );
    assert_eq!(
        code,
        Some(0),
        "--check on a good config: stdout {stdout} stderr {stderr}"
    );
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(
        !h.has_addr("192.0.2.50"),
        "--check must not touch the interface"
    );

    // A file that does not exist.
    let missing = h.dir().join("missing.yaml");
    let (code, _, stderr) = vipd(&h, &[], &missing);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}

#[test]
fn vipctl_daemon_down() {
    let dir = std::env::temp_dir().join(format!("vte2e-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sock = dir.join("nobody-listens.sock");
    for args in [&["status"][..], &["status", "--json"][..]] {
        let mut c = std::process::Command::new(bins::vipctl());
        c.arg("--socket").arg(&sock).args(args);
        let Some(out) = run_timeout(&mut c, Duration::from_secs(10)) else {
            panic!("vipctl {args:?} without a daemon did not exit within 10 s");
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!(
            "vipctl {args:?} (no daemon): {}; stderr: {}",
            out.status,
            stderr.trim()
        );
        assert!(
            !out.status.success(),
            "vipctl {args:?} succeeded without a daemon"
        );
        assert_ne!(out.status.code(), None, "vipctl died of a signal");
        assert!(
            !stderr.trim().is_empty(),
            "no message on stderr (stdout: {stdout})"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "vipctl panicked: {stderr}"
        );
        assert!(
            !stderr.contains("Os {") && !stderr.contains("kind:"),
            "not a plain message (Debug output): {stderr}"
        );
        assert!(
            stderr.lines().count() <= 4,
            "a plain message is short: {stderr}"
        );
        assert!(
            stderr.contains(&sock.display().to_string()),
            "the message should name the socket it tried: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
