//! docs/src/reference/vipctl.md and packaging/man/vipctl.8 say what `vipctl --help` says:
//! a section for every command, every flag named and no other; the man page cites no
//! per-command page (vipd ships none) and has its hand-written sections.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

#[path = "../../vipd/tests/common/flags_on_page.rs"]
mod flags;
use flags::{flags_of_help, flags_on_page};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vipctl"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run vipctl --help");
    assert!(out.status.success(), "vipctl {args:?} --help failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The commands a help lists under `Commands:` (clap's own `help` left out).
fn commands_of(help: &str) -> Vec<String> {
    help.split("\nCommands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|c| *c != "help")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every leaf command (`status`, `import keepalived`), and all the flags they have.
fn cli() -> (Vec<String>, BTreeSet<String>) {
    let mut leaves = Vec::new();
    let mut flags = flags_of_help(&help(&[]));
    let mut todo: Vec<Vec<String>> = commands_of(&help(&[]))
        .into_iter()
        .map(|c| vec![c])
        .collect();
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        flags.extend(flags_of_help(&text));
        let inner = commands_of(&text);
        if inner.is_empty() {
            leaves.push(path.join(" "));
        }
        for c in inner {
            let mut deeper = path.clone();
            deeper.push(c);
            todo.push(deeper);
        }
    }
    leaves.sort();
    (leaves, flags)
}

#[test]
fn the_reference_page_has_every_command_and_flag_and_no_other() {
    let (commands, flags) = cli();
    assert!(
        commands.contains(&"import keepalived".to_owned()),
        "{commands:?}"
    );
    let page = read("docs/src/reference/vipctl.md");
    let missing: Vec<_> = commands
        .iter()
        .filter(|c| !page.contains(&format!("\n## vipctl {c}\n")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/src/reference/vipctl.md has no `## vipctl COMMAND` section for {missing:?}"
    );
    let documented = flags_on_page(&page, "vipctl");
    let undocumented: Vec<_> = flags.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&flags).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "flags docs/src/reference/vipctl.md does not name: {undocumented:?}; flags it \
         names that vipctl does not have: {unknown:?}"
    );
}

#[test]
fn the_man_page_has_every_command_and_flag_and_cites_no_missing_page() {
    let (commands, flags) = cli();
    let man = read("packaging/man/vipctl.8");
    for c in &commands {
        assert!(
            man.contains(&format!(".SS \"vipctl {c} ")),
            "packaging/man/vipctl.8 has no COMMANDS entry for {c}"
        );
    }
    for flag in &flags {
        assert!(
            man.contains(&flag.replace('-', "\\-")),
            "packaging/man/vipctl.8 does not name {flag}"
        );
    }
    assert!(
        !man.contains("vipctl\\-status(") && !man.contains("vipctl-status("),
        "packaging/man/vipctl.8 cites per-command pages that are not shipped"
    );
    for section in ["COMMANDS", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"] {
        assert!(
            man.contains(&format!(".SH \"{section}\""))
                || man.contains(&format!(".SH {section}\n")),
            "packaging/man/vipctl.8 has no {section} section"
        );
    }
}
