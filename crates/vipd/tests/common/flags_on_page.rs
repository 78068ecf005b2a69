//! The command-line flags a reference page names and a `--help` shows, shared by the vipd and vipctl
//! reference tests (crates/vipctl/tests/reference_page.rs includes this file by path).

use std::collections::BTreeSet;

/// Every `-f` / `--flag` in a code span of `text` that starts with `program` or a dash.
pub fn flags_on_page(text: &str, program: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for span in text.split('`').skip(1).step_by(2) {
        if !(span.starts_with(program) || span.starts_with('-')) {
            continue;
        }
        for word in span.split([' ', ',', '|']) {
            let word = word.split(['=', '<', '[']).next().unwrap_or_default();
            if word.len() > 1
                && word.starts_with('-')
                && word[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                out.insert(word.to_owned());
            }
        }
    }
    out
}

/// The long and short flags `--help` shows, as `--flag` and `-f`.
pub fn flags_of_help(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in help.lines().map(str::trim_start) {
        if !line.starts_with('-') {
            continue;
        }
        // The flags, not the description after them (two spaces on).
        let flags = line.split("  ").next().unwrap_or_default();
        for word in flags.split([' ', ',']) {
            let word = word.split(['=', '<', '[']).next().unwrap_or_default();
            if word.len() > 1 && word.starts_with('-') {
                out.insert(word.to_owned());
            }
        }
    }
    out
}
