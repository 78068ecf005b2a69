//! The man page and completions the Debian package ships (packaging/man,
//! packaging/completions) are what `vipctl --generate-man` makes from the clap definitions
//! today. After changing the CLI, regenerate them:
//! `cargo run -p vipctl -- --generate-man /tmp/gen` and copy `vipctl.8` to packaging/man/,
//! `vipctl.bash`, `_vipctl`, `vipctl.fish` to packaging/completions/.

use std::path::Path;

#[test]
fn committed_man_page_and_completions_are_current() {
    let dir = std::env::temp_dir().join(format!("vipctl-gen-{}", std::process::id()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_vipctl"))
        .arg("--generate-man")
        .arg(&dir)
        .status()
        .expect("run vipctl --generate-man");
    assert!(status.success(), "vipctl --generate-man failed: {status}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging");
    for (generated, committed) in [
        ("vipctl.8", "man/vipctl.8"),
        ("vipctl.bash", "completions/vipctl.bash"),
        ("_vipctl", "completions/_vipctl"),
        ("vipctl.fish", "completions/vipctl.fish"),
    ] {
        let new = std::fs::read_to_string(dir.join(generated)).expect("generated file");
        let old = std::fs::read_to_string(root.join(committed)).unwrap_or_default();
        assert!(
            !new.is_empty() && new == old,
            "packaging/{committed} is stale: regenerate it (see this test's doc)"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
