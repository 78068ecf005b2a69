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

/// The field names the hand-written man page vipd.yaml(5) gives a `.TP` entry.
fn in_man_page() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packaging/man/vipd.yaml.5"
    );
    let text = std::fs::read_to_string(path).expect("vipd.yaml.5 is readable");
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0] == ".TP")
        .filter_map(|w| w[1].strip_prefix("\\fB")?.split("\\fR").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_man_page_describes_every_field() {
    let described = in_man_page();
    let missing: Vec<_> = field_paths()
        .into_iter()
        .filter(|f| !described.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "fields the parser accepts but packaging/man/vipd.yaml.5 does not describe: \
         {missing:?}"
    );
}
