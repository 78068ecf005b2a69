//! Finding the binaries under test, building them when they are missing or stale.
//!
//! Cargo does not build other packages' binaries for an integration test, so the
//! harness runs `$CARGO build -p <package> --bins` itself, once per test process, when
//! the binary is missing or older than the sources it is built from. `VIPD_BIN_DIR`
//! points the harness at prebuilt binaries instead (then nothing is built).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The workspace root (the parent of this package's directory).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Source directories each binary is built from (its own crate and the workspace
/// crates it depends on).
fn sources_of(package: &str) -> &'static [&'static str] {
    match package {
        "vipd" => &[
            "crates/vipd",
            "crates/vipd-node",
            "crates/vipd-engine",
            "crates/vipd-wire",
            "crates/vipd-api",
        ],
        "vipctl" => &["crates/vipctl", "crates/vipd-api"],
        _ => &[],
    }
}

/// The newest modification time of any file under `dir` (bounded depth and count).
fn newest_under(dir: &Path, depth: u32, budget: &mut u32, newest: &mut Option<SystemTime>) {
    if depth > 8 || *budget == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            newest_under(&path, depth + 1, budget, newest);
        } else if let Ok(m) = meta.modified() {
            keep_newest(newest, m);
        }
    }
}

fn keep_newest(newest: &mut Option<SystemTime>, m: SystemTime) {
    match newest {
        Some(n) if *n >= m => {}
        _ => *newest = Some(m),
    }
}

fn is_stale(bin: &Path, package: &str) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return true;
    };
    let root = workspace_root();
    let mut newest = None;
    let mut budget = 20_000;
    for dir in sources_of(package) {
        newest_under(&root.join(dir), 0, &mut budget, &mut newest);
    }
    for f in ["Cargo.toml", "Cargo.lock"] {
        if let Ok(m) = std::fs::metadata(root.join(f)).and_then(|m| m.modified()) {
            keep_newest(&mut newest, m);
        }
    }
    newest.is_some_and(|n| n > built)
}

fn build(package: &str) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("vipd-e2e: building {package} (missing or older than its sources)");
    let mut child = Command::new(&cargo)
        .args(["build", "-p", package, "--bins"])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {cargo:?} build -p {package}: {e}"))?;
    // Bounded: a cold build of the workspace takes a few minutes at most.
    let start = Instant::now();
    let limit = Duration::from_secs(30 * 60);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(format!(
                    "`cargo build -p {package} --bins` failed ({status}); fix the build or run \
                     `cargo build --workspace` and retry"
                ))
            }
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`cargo build -p {package}` took longer than {limit:?}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("waiting for cargo build: {e}")),
        }
    }
}

fn locate(package: &str) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("VIPD_BIN_DIR") {
        let p = PathBuf::from(dir).join(package);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "VIPD_BIN_DIR is set but {} does not exist; run `cargo build --workspace` \
                 or unset VIPD_BIN_DIR",
                p.display()
            ))
        };
    }
    let p = target_dir().join("debug").join(package);
    if is_stale(&p, package) {
        build(package)?;
    }
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} is missing after building; run `cargo build --workspace`",
            p.display()
        ))
    }
}

static VIPD: OnceLock<Result<PathBuf, String>> = OnceLock::new();
static VIPCTL: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The `vipd` binary (built first if needed). Panics with instructions when it cannot
/// be had.
pub fn vipd() -> PathBuf {
    match VIPD.get_or_init(|| locate("vipd")) {
        Ok(p) => p.clone(),
        Err(e) => panic!("vipd binary unavailable: {e}"),
    }
}

/// The `vipctl` binary (built first if needed).
pub fn vipctl() -> PathBuf {
    match VIPCTL.get_or_init(|| locate("vipctl")) {
        Ok(p) => p.clone(),
        Err(e) => panic!("vipctl binary unavailable: {e}"),
    }
}
