//! Every YAML example in the documentation is a configuration `vipd --check` accepts.
//!
//! Read: each ```yaml block of README.md and docs/src/**/*.md, and every file of
//! examples/**/*.yaml and packaging/debian/vipd.yaml. Each goes through the loader
//! `vipd --check` runs ([`config::parse`], the file's part of the check; the host's part
//! — interfaces, addresses — is left out, as the examples are written for other hosts),
//! with key files read as a valid key whatever their path. Operator groups are looked up
//! as `--check` does: an example may only name a group that exists (`0`, `root`, `adm`).
//!
//! The block's info string says what it is:
//! - ```yaml: a complete configuration;
//! - ```yaml,fragment=instance: one item of `instances:`;
//! - ```yaml,fragment=check: one entry of `checks:`, written `name: {...}`;
//! - ```yaml,fragment=top: top-level keys, added to a minimal valid configuration;
//! - ```yaml,invalid: must be refused; the ```text block right after it holds the
//!   error (each line a part of the message; `vipd: FILE:` before a position is left out
//!   of the comparison, the position is compared);
//! - ```yaml,other: YAML that is not a vipd configuration (Prometheus, Ansible).
//!
//! A failure names the file and line of each bad block.

use std::path::{Path, PathBuf};

use vipd::config::{self, AuthKey, ConfigError};

/// The path every example is read as (errors start with it).
const FILE: &str = "/etc/vipd/vipd.yaml";

/// The instance the fragments are put beside.
const MINIMAL_INSTANCE: &str = "\
instances:
  - name: wrapper
    interface: eth0
    vrid: 250
    vips: [198.51.100.250/32]
";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The key every example's key file reads as.
fn any_key(_: &Path) -> Result<AuthKey, String> {
    AuthKey::from_hex(&"5a".repeat(32)).map_err(|e| e.to_string())
}

fn load(text: &str) -> Result<config::Config, ConfigError> {
    config::parse_with_key_reader(text, Path::new(FILE), &any_key)
}

/// One fenced block: where its fence is, its info string, its text.
struct Block {
    line: usize,
    info: String,
    text: String,
}

/// The fenced blocks of a markdown text (``` fences; indented fences in lists too).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String, usize)> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((n + 1, info.trim().to_owned(), String::new(), indent));
                }
            }
            Some((start, info, text, ind)) => {
                if trimmed.starts_with("```") && trimmed.trim_end() == "```" {
                    out.push(Block {
                        line: *start,
                        info: std::mem::take(info),
                        text: std::mem::take(text),
                    });
                    open = None;
                } else {
                    let cut = line.len().min(*ind).min(indent);
                    text.push_str(&line[cut..]);
                    text.push('\n');
                }
            }
        }
    }
    out
}

/// `fragment=instance`: the block as the only item of `instances:` (a leading `- ` is
/// added when the block has none).
fn wrap_instance(text: &str) -> String {
    let listed = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .is_some_and(|l| l.starts_with("- "));
    let mut out = String::from("instances:\n");
    let mut first = true;
    for line in text.lines() {
        if listed {
            out.push_str(&format!("  {line}\n"));
        } else if first && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            out.push_str(&format!("  - {line}\n"));
            first = false;
        } else {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// `fragment=check`: the block under `checks:`, beside a minimal instance.
fn wrap_check(text: &str) -> String {
    let mut out = String::from("checks:\n");
    for line in text.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(MINIMAL_INSTANCE);
    out
}

/// `fragment=top`: the block's keys, and a minimal instance unless the block has
/// `instances:` (or `announce:`) of its own.
fn wrap_top(text: &str) -> String {
    let own = text
        .lines()
        .any(|l| l.starts_with("instances:") || l.starts_with("announce:"));
    if own {
        text.to_owned()
    } else {
        format!("{text}{MINIMAL_INSTANCE}")
    }
}

/// The error text an `invalid` block's ```text block promises, checked against `shown`.
fn says(expected: &str, shown: &str) -> Result<(), String> {
    let tail_of_shown = shown.strip_prefix(&format!("{FILE}:")).unwrap_or(shown);
    for want in expected.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let want = want.strip_prefix("vipd: ").unwrap_or(want);
        // `FILE:LINE:COL: ...`: the file is whichever the reader used; compare the rest.
        let want = match want.find(".yaml:") {
            Some(i) => &want[i + ".yaml:".len()..],
            None => want,
        };
        if !tail_of_shown.contains(want) && !shown.contains(want) {
            return Err(format!("the error `{shown}` does not say `{want}`"));
        }
    }
    Ok(())
}

/// The problem with one block, if any.
fn check_block(block: &Block, next: Option<&Block>) -> Option<String> {
    let mut parts = block.info.split(',').map(str::trim);
    if parts.next() != Some("yaml") {
        return None;
    }
    let kind: Vec<&str> = parts.collect();
    let text = match kind.as_slice() {
        [] => block.text.clone(),
        ["fragment=instance"] => wrap_instance(&block.text),
        ["fragment=check"] => wrap_check(&block.text),
        ["fragment=top"] => wrap_top(&block.text),
        ["other"] => return None,
        ["invalid"] => {
            let Some(expected) = next.filter(|n| n.info == "text") else {
                return Some("a ```yaml,invalid block needs the error in a ```text block right after it".into());
            };
            return match load(&block.text) {
                Ok(_) => Some("marked invalid, but `vipd --check` accepts it".into()),
                Err(e) => says(&expected.text, &e.to_string()).err(),
            };
        }
        _ => {
            return Some(format!(
                "unknown kind `{}`: use yaml, yaml,fragment=instance|check|top, yaml,invalid or yaml,other",
                block.info
            ))
        }
    };
    load(&text)
        .err()
        .map(|e| format!("`vipd --check` refuses it: {e}"))
}

/// README.md and every page of the book.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "md") {
                out.push(p);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("docs/src"), &mut out);
    out
}

/// examples/**/*.yaml and the configuration the Debian package installs.
fn yaml_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("examples"), &mut out);
    out.push(root().join("packaging/debian/vipd.yaml"));
    out
}

fn shown(path: &Path) -> String {
    let root = root();
    let root = root.canonicalize().unwrap_or(root);
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    path.strip_prefix(&root)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}

/// The problems of every markdown file's blocks, and how many blocks were checked.
fn problems_in_markdown(files: &[PathBuf]) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: cannot read: {e}", shown(file)));
                continue;
            }
        };
        let blocks = blocks(&text);
        for (i, block) in blocks.iter().enumerate() {
            if block.info.split(',').next() == Some("yaml") {
                checked += 1;
            }
            if let Some(p) = check_block(block, blocks.get(i + 1)) {
                problems.push(format!("{}:{}: {p}", shown(file), block.line));
            }
        }
    }
    (problems, checked)
}

#[test]
fn every_yaml_block_of_the_docs_passes_check() {
    let (problems, checked) = problems_in_markdown(&markdown_files());
    assert!(checked > 0, "no ```yaml block found");
    assert!(
        problems.is_empty(),
        "{} of {checked} yaml blocks are wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The configuration the Debian package installs is all comments, so that nothing
/// starts before it is filled in: from its first setting (`# control_socket:`) on, it
/// is checked with the comment marks taken off, as its header tells the reader to do.
fn uncommented(text: &str) -> String {
    let Some(start) = text.find("# control_socket:") else {
        return text.to_owned();
    };
    text[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").or(l.strip_prefix('#')).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_example_file_passes_check() {
    let files = yaml_files();
    assert!(files.len() > 1, "no example found: {files:?}");
    let problems: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).map_err(|e| e.to_string());
            let text = if f.ends_with("packaging/debian/vipd.yaml") {
                text.map(|t| uncommented(&t))
            } else {
                text
            };
            match text.and_then(|t| load(&t).map_err(|e| e.to_string())) {
                Ok(_) => None,
                Err(e) => Some(format!("{}:1: `vipd --check` refuses it: {e}", shown(f))),
            }
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checker itself: a bad block is named by file and line; the conventions hold.
#[test]
fn a_bad_block_is_named_by_file_and_line() {
    let dir = std::env::temp_dir().join(format!("vipd-doc-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let page = dir.join("page.md");
    let text = "\
# A page

```yaml
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
```

```yaml,fragment=instance
name: web
interface: eth0
vrid: 51
vips: [192.0.2.50/24]
auth: {key_file: /etc/vipd/web.key}
```

```yaml,fragment=check
nginx: {http: http://127.0.0.1/}
```

```yaml,fragment=top
metrics: {listen: 127.0.0.1:9650}
```

```yaml,invalid
instances:
  - name: web
    interface: eth0
    vrid: 0
    vips: [192.0.2.50/24]
```

```text
vipd: /etc/vipd/vipd.yaml:4:11: instances[0].vrid: 0 is out of range 1..=255
```

```yaml,other
scrape_configs: []
```

```yaml
instances:
  - name: web
    interface: eth0
    vrid: 300
    vips: [192.0.2.50/24]
```

```yaml,invalid
instances: []
```

```text
vrid
```
";
    std::fs::write(&page, text).expect("write page");
    let (problems, checked) = problems_in_markdown(std::slice::from_ref(&page));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(checked, 8, "{problems:?}");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].ends_with("page.md:43: `vipd --check` refuses it: /etc/vipd/vipd.yaml:4:11: instances[0].vrid: 300 is out of range 1..=255"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].contains("page.md:51: the error `")
            && problems[1].contains("does not say `vrid`"),
        "{}",
        problems[1]
    );
}
