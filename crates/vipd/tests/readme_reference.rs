//! The README's configuration reference lists exactly the fields the parser accepts.

use std::collections::BTreeSet;

use vipd::config::reference::field_paths;

/// The first column of every row of the README's "Configuration reference" table.
fn documented() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let text = std::fs::read_to_string(path).expect("README.md is readable");
    let start = text
        .find("### Configuration reference")
        .expect("README has a Configuration reference section");
    let section = &text[start..];
    let end = section[3..].find("\n#").map_or(section.len(), |e| e + 3);
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_documents_every_field_and_no_other() {
    let documented = documented();
    let accepted: BTreeSet<String> = field_paths().into_iter().collect();
    let undocumented: Vec<_> = accepted.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "fields the parser accepts but the README does not list: {undocumented:?}; \
         fields the README lists but the parser does not accept: {unknown:?}"
    );
}
