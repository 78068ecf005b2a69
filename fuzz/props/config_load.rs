//! The properties `fuzz_targets/config_load.rs` fuzzes, as a plain function of the input
//! bytes, so that a stable test holds generated inputs to them as well
//! (`crates/vipd/tests/fuzz_config_load.rs` includes this file by path).
//!
//! The configuration loader on any text: `vipd::config::parse`, the path `vipd --check`
//! and start-up take once the file is read (`config::load` reads at most 1 MiB of UTF-8
//! and hands it over). It must never panic; it answers the same text the same way every
//! time; a refusal is a sentence, and the line it points at is in the text.

use std::path::Path;

/// Where the text is said to come from, in messages.
pub const FILE: &str = "/etc/vipd/vipd.yaml";

/// Holds `data` to every property; panics where one fails. Returns whether the text
/// was accepted as a configuration.
pub fn check(data: &[u8]) -> bool {
    // `load` reads the file into a String: bytes that are not UTF-8 never get further.
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let path = Path::new(FILE);
    let first = vipd::config::parse(text, path);
    let again = vipd::config::parse(text, path);
    match (&first, &again) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("the same text was accepted once and refused once"),
    }
    match first {
        Ok(_) => true,
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with(FILE), "`{shown}` does not name the file");
            assert!(!e.message().is_empty(), "`{shown}` says nothing");
            if let Some(line) = e.line() {
                let lines = text.lines().count().max(1);
                assert!(
                    line >= 1 && line <= lines + 1,
                    "`{shown}` points at line {line} of a text of {lines}"
                );
            }
            false
        }
    }
}
