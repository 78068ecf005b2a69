//! What the configuration tests share: parsing a text as a file at [`FILE`], and the
//! assertion that a bad one is pinned to its line, column and field.

use std::path::Path;

use vipd::config::{self, Config, ConfigError};

pub const FILE: &str = "/etc/vipd.yaml";

pub fn parse(text: &str) -> Result<Config, ConfigError> {
    config::parse(text, Path::new(FILE))
}

/// Asserts that `text` is rejected at `line` with `field` named, and that the message
/// (after the position and field) contains `says`.
#[track_caller]
pub fn rejects(text: &str, line: usize, field: Option<&str>, says: &str) {
    let e = match parse(text) {
        Ok(c) => panic!("accepted a bad config:\n{text}\nparsed as {c:?}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    assert_eq!(e.line(), Some(line), "wrong line in `{shown}`");
    assert_eq!(e.field(), field, "wrong field in `{shown}`");
    assert!(
        e.message().contains(says),
        "`{shown}` does not say `{says}`"
    );
    let column = e.column().expect("has a column");
    let prefix = match field {
        Some(f) => format!("{FILE}:{line}:{column}: {f}: "),
        None => format!("{FILE}:{line}:{column}: "),
    };
    assert!(shown.starts_with(&prefix), "`{shown}` lacks `{prefix}`");
}
