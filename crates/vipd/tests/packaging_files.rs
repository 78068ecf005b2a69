//! The man page and completions the Debian package ships (packaging/man,
//! packaging/completions) are what `vipd --generate-man` makes from the clap definitions
//! today. After changing the CLI, regenerate them:
//! `cargo run -p vipd -- --generate-man /tmp/gen` and copy `vipd.8` to packaging/man/,
//! `vipd.bash`, `_vipd`, `vipd.fish` to packaging/completions/.

use std::path::Path;

#[test]
fn committed_man_page_and_completions_are_current() {
    let dir = std::env::temp_dir().join(format!("vipd-gen-{}", std::process::id()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_vipd"))
        .arg("--generate-man")
        .arg(&dir)
        .status()
        .expect("run vipd --generate-man");
    assert!(status.success(), "vipd --generate-man failed: {status}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging");
    for (generated, committed) in [
        ("vipd.8", "man/vipd.8"),
        ("vipd.bash", "completions/vipd.bash"),
        ("_vipd", "completions/_vipd"),
        ("vipd.fish", "completions/vipd.fish"),
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
