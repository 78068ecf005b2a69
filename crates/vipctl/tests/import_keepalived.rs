//! `vipctl import keepalived` on the corpus in tests/keepalived-import/: each directory
//! holds a `keepalived.conf` (and its includes), optional `args` (default `--host lb1`),
//! and the expected results: `expected.yaml` (stdout), `expected.status` (exit status)
//! and, for status 2, `expected.stderr`. Every produced YAML must pass the real
//! `vipd --config FILE --check`.
//!
//! vipd comes from `$VIPD_BIN_DIR` when set, else it is built next to this vipctl.
//! Regenerate the expected files on purpose only, after reading the diff:
//! `VIPCTL_IMPORT_BLESS=1 cargo test -p vipctl --test import_keepalived`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/keepalived-import")
}

/// vipd from `$VIPD_BIN_DIR` (as the end-to-end harness takes it), else from the same
/// target directory and profile as this vipctl, built first (a no-op when current).
fn vipd() -> PathBuf {
    if let Some(dir) = std::env::var_os("VIPD_BIN_DIR") {
        return PathBuf::from(dir).join("vipd");
    }
    let vipctl = PathBuf::from(env!("CARGO_BIN_EXE_vipctl"));
    let dir = vipctl.parent().expect("binary directory").to_path_buf();
    let vipd = dir.join("vipd");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-q", "-p", "vipd", "--bin", "vipd"]);
    if dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build -p vipd");
    assert!(status.success(), "cargo build -p vipd failed");
    assert!(vipd.exists(), "no vipd at {}", vipd.display());
    vipd
}

#[test]
fn corpus_converts_to_the_expected_yaml_and_passes_vipd_check() {
    let bless = std::env::var_os("VIPCTL_IMPORT_BLESS").is_some();
    let vipd = vipd();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("corpus directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("keepalived.conf").exists())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 12,
        "the corpus has {} configurations",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let args =
            std::fs::read_to_string(dir.join("args")).unwrap_or_else(|_| "--host lb1".into());
        let out = Command::new(env!("CARGO_BIN_EXE_vipctl"))
            .current_dir(dir)
            .args(["import", "keepalived"])
            .args(args.split_whitespace())
            .arg("keepalived.conf")
            .output()
            .expect("run vipctl import");
        let status = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if bless {
            std::fs::write(dir.join("expected.status"), format!("{status}\n")).expect("write");
            if status == 2 {
                std::fs::write(dir.join("expected.stderr"), &stderr).expect("write");
                let _ = std::fs::remove_file(dir.join("expected.yaml"));
            } else {
                std::fs::write(dir.join("expected.yaml"), &stdout).expect("write");
            }
        }
        let want_status: i32 = std::fs::read_to_string(dir.join("expected.status"))
            .map(|s| s.trim().parse().unwrap_or(-2))
            .unwrap_or(-2);
        if status != want_status {
            failures.push(format!(
                "{name}: exit status {status}, expected {want_status}\n{stderr}"
            ));
            continue;
        }
        if status == 2 {
            let want = std::fs::read_to_string(dir.join("expected.stderr")).unwrap_or_default();
            if stderr != want || !stdout.is_empty() {
                failures.push(format!("{name}: stderr\n{stderr}\nexpected\n{want}"));
            }
            continue;
        }
        let want = std::fs::read_to_string(dir.join("expected.yaml")).unwrap_or_default();
        if stdout != want {
            failures.push(format!(
                "{name}: output differs from expected.yaml:\n{stdout}"
            ));
        }
        // Every review item is a REVIEW comment in the output, and status 1 says so.
        let reviews = stdout.matches("# REVIEW ").count();
        if (reviews > 0) != (status == 1) {
            failures.push(format!(
                "{name}: {reviews} REVIEW comments but exit status {status}"
            ));
        }
        let file = std::env::temp_dir().join(format!(
            "vipctl-import-test-{}-{name}.yaml",
            std::process::id()
        ));
        std::fs::write(&file, &stdout).expect("write temp");
        let check = Command::new(&vipd)
            .arg("--config")
            .arg(&file)
            .arg("--check")
            .output()
            .expect("run vipd --check");
        let _ = std::fs::remove_file(&file);
        if !check.status.success() {
            failures.push(format!(
                "{name}: vipd --check refused the output:\n{}",
                String::from_utf8_lossy(&check.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn check_on_this_host_runs_vipd_check_and_fails_with_it() {
    let vipd = vipd();
    let dir = corpus().join("01-basic");
    let ok = Command::new(env!("CARGO_BIN_EXE_vipctl"))
        .current_dir(&dir)
        .args([
            "import",
            "keepalived",
            "--host",
            "lb1",
            "--check-on-this-host",
            "--vipd",
        ])
        .arg(&vipd)
        .arg("keepalived.conf")
        .output()
        .expect("run vipctl");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // vipd's verdict is passed on.
    assert!(String::from_utf8_lossy(&ok.stderr).contains("is valid"));
    // A vipd that refuses everything: the import fails with status 2 and its words.
    let refuse = Command::new(env!("CARGO_BIN_EXE_vipctl"))
        .current_dir(&dir)
        .args([
            "import",
            "keepalived",
            "--host",
            "lb1",
            "--check-on-this-host",
            "--vipd",
            "/bin/false",
        ])
        .arg("keepalived.conf")
        .output()
        .expect("run vipctl");
    assert_eq!(refuse.status.code(), Some(2));
    assert!(refuse.stdout.is_empty());
    assert!(String::from_utf8_lossy(&refuse.stderr).contains("vipd --check refused"));
}
