//! The reference pages and man pages say what the code does, both ways:
//! - docs/src/reference/configuration.md and packaging/man/vipd.yaml.5 list exactly the
//!   fields the parser accepts ([`field_paths`], read from the parser's own types);
//! - docs/src/reference/metrics.md lists exactly the series a scrape has, with their
//!   types and labels;
//! - docs/src/reference/vipd.md and packaging/man/vipd.8 name every flag of `vipd
//!   --help` and no other, and the man page has its hand-written sections;
//! - tests/README.md names every package .ci/run installs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use vipd::config::reference::field_paths;

#[path = "common/flags_on_page.rs"]
mod flags;
use flags::{flags_of_help, flags_on_page};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Asserts `documented` and `real` hold the same names, naming what each lacks.
#[track_caller]
fn same(what: &str, page: &str, documented: &BTreeSet<String>, real: &BTreeSet<String>) {
    let missing: Vec<_> = real.difference(documented).collect();
    let unknown: Vec<_> = documented.difference(real).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{what} that {page} does not list: {missing:?}; {what} that {page} lists but do \
         not exist: {unknown:?}"
    );
}

/// The first column (`name`, in backticks) of every table row of a page whose header's
/// first cell is `header`.
fn first_column(text: &str, header: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        if cells.first().map(String::as_str) == Some(header) {
            in_table = true;
            continue;
        }
        if in_table && !cells[0].starts_with("---") {
            rows.push(cells);
        }
    }
    rows
}

fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn accepted_fields() -> BTreeSet<String> {
    field_paths().into_iter().collect()
}

#[test]
fn the_configuration_reference_lists_every_field_and_no_other() {
    let text = read("docs/src/reference/configuration.md");
    let documented: BTreeSet<String> = first_column(&text, "field")
        .iter()
        .flat_map(|row| ticked(&row[0]))
        .collect();
    same(
        "fields",
        "docs/src/reference/configuration.md",
        &documented,
        &accepted_fields(),
    );
    for row in first_column(&text, "field") {
        assert_eq!(
            row.len(),
            4,
            "configuration.md: `{}` needs field | type | default | meaning",
            row[0]
        );
    }
}

/// The field names vipd.yaml(5) gives a `.TP` entry.
fn in_man_page(text: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0] == ".TP")
        .filter_map(|w| w[1].strip_prefix("\\fB")?.split("\\fR").next())
        .map(|f| f.replace("\\-", "-"))
        .collect()
}

#[test]
fn the_configuration_man_page_lists_every_field_and_no_other() {
    let text = read("packaging/man/vipd.yaml.5");
    let fields = text
        .split("\n.SH FIELDS\n")
        .nth(1)
        .and_then(|rest| rest.split("\n.SH ").next())
        .expect("vipd.yaml.5 has a FIELDS section");
    same(
        "fields",
        "packaging/man/vipd.yaml.5",
        &in_man_page(fields),
        &accepted_fields(),
    );
    let description = text
        .split("\n.SH DESCRIPTION\n")
        .nth(1)
        .and_then(|rest| rest.split("\n.SH ").next())
        .expect("vipd.yaml.5 has a DESCRIPTION section");
    let unnamed: Vec<String> = accepted_fields()
        .into_iter()
        .filter(|f| !f.contains(['.', '[']))
        .filter(|f| !description.contains(&format!("\\fB{f}\\fR")))
        .collect();
    assert!(
        unnamed.is_empty(),
        "the DESCRIPTION of packaging/man/vipd.yaml.5 does not name the top-level fields \
         {unnamed:?}"
    );
}

/// A scrape of a node with every kind of series: an instance with a VIP, a check, an
/// interface with unknown VRIDs, an announced instance.
fn scrape() -> String {
    let status: vipd_api::Status = serde_json::from_str(
        r#"{"v":1,"host":"h1","pid":7,"uptime_s":60.0,
        "instances":[
         {"name":"web","interface":"eth0","vrid":51,"version":3,"state":"master",
          "reason":"master_down_timer","priority_configured":150,"priority_effective":140,
          "local_address":"192.0.2.1","master_address":"192.0.2.1","master_priority":140,
          "advert_interval_ms":200,"last_advert_age_s":null,
          "vips":[{"address":"192.0.2.50/24","present":true}],
          "in_state_s":5.0,"last_transition_unix_s":1800000000.25,"transitions":2,
          "transitions_by_reason":{"startup":1,"master_down_timer":1},
          "adverts_sent":25,"adverts_received":3,"drops":{"bad_ttl":4},"auth_alarms":2}],
        "interfaces":[{"name":"eth0","unknown_vrid":9}],
        "checks":[{"name":"nginx","kind":"http","target":"http://127.0.0.1/","up":false,
          "since_s":3.0,"last_duration_s":0.125,"results":10,"failures":4}],
        "announced":[{"name":"edge","interface":"vipd0","state":"announcing",
          "reason":"startup","in_state_s":1.0,"transitions":1,"weight":0,
          "withdraw_below":0,"drain_ms":2000,
          "vips":[{"address":"198.51.100.7/32","present":true}],
          "tracking":[],"maintenance":false}]}"#,
    )
    .expect("the sample status parses");
    vipd::render_metrics(&status)
}

/// Each family of a scrape: its type and the label names of its series.
fn families(scrape: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in scrape.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                out.entry(name.to_owned()).or_default().0 = kind.to_owned();
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let family = line.split(['{', ' ']).next().unwrap_or_default().to_owned();
            let labels = line
                .split_once('{')
                .and_then(|(_, l)| l.split_once('}'))
                .map(|(l, _)| l)
                .unwrap_or_default();
            let names = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, _)| k.to_owned());
            out.entry(family).or_default().1.extend(names);
        }
    }
    out
}

#[test]
fn the_metrics_reference_lists_every_series_with_its_type_and_labels() {
    let text = read("docs/src/reference/metrics.md");
    let real = families(&scrape());
    let mut documented = BTreeMap::new();
    for row in first_column(&text, "series") {
        assert!(
            row.len() >= 4,
            "metrics.md: `{}` needs series | type | labels | meaning",
            row[0]
        );
        let labels: BTreeSet<String> = ticked(&row[2]).into_iter().collect();
        for name in ticked(&row[0]) {
            documented.insert(name, (row[1].clone(), labels.clone()));
        }
    }
    same(
        "series",
        "docs/src/reference/metrics.md",
        &documented.keys().cloned().collect(),
        &real.keys().cloned().collect(),
    );
    for (name, (kind, labels)) in &real {
        let (doc_kind, doc_labels) = &documented[name];
        assert_eq!(doc_kind, kind, "metrics.md: the type of {name}");
        assert_eq!(doc_labels, labels, "metrics.md: the labels of {name}");
    }
}

#[test]
fn the_vipd_reference_and_man_page_name_every_flag_and_no_other() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vipd"))
        .arg("--help")
        .output()
        .expect("run vipd --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let real = flags_of_help(&help);
    assert!(real.contains("--check"), "{help}");
    same(
        "flags",
        "docs/src/reference/vipd.md",
        &flags_on_page(&read("docs/src/reference/vipd.md"), "vipd"),
        &real,
    );
    let man = read("packaging/man/vipd.8");
    for flag in &real {
        let roff = flag.replace('-', "\\-");
        assert!(
            man.contains(&roff),
            "packaging/man/vipd.8 does not name {flag}"
        );
    }
    for section in [
        "OPTIONS",
        "SIGNALS",
        "EXIT STATUS",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            man.contains(&format!(".SH \"{section}\""))
                || man.contains(&format!(".SH {section}\n")),
            "packaging/man/vipd.8 has no {section} section"
        );
    }
}

/// The Debian packages `.ci/run` installs with apt-get.
fn ci_packages() -> BTreeSet<String> {
    let run = read(".ci/run");
    let mut joined = String::new();
    let mut in_install = false;
    for line in run.lines() {
        if line.trim_start().starts_with("apt-get install") {
            in_install = true;
        }
        if in_install {
            joined.push_str(line.trim_end_matches('\\'));
            joined.push(' ');
            if !line.ends_with('\\') {
                break;
            }
        }
    }
    joined
        .split_whitespace()
        .skip(2)
        .take_while(|w| !w.starts_with('>'))
        .filter(|w| !w.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_tests_readme_names_every_package_ci_installs() {
    let packages = ci_packages();
    assert!(packages.contains("nginx"), "{packages:?}");
    let readme = read("tests/README.md");
    let named: BTreeSet<String> = ticked(&readme).into_iter().collect();
    let missing: Vec<_> = packages.iter().filter(|p| !named.contains(*p)).collect();
    assert!(
        missing.is_empty(),
        "tests/README.md does not name (in backticks) these packages .ci/run installs: \
         {missing:?}"
    );
}

/// The variable names a hook's environment is built from: the string literals `"VIPD_..."`
/// and `"PATH"` in the code that builds it.
fn hook_variables_in_code() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in [
        "crates/vipd-node/src/notify.rs",
        "crates/vipd-node/src/announce.rs",
    ] {
        let code = read(file);
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for literal in code.split('"').skip(1).step_by(2) {
            if literal == "PATH"
                || (literal.starts_with("VIPD_")
                    && literal[5..]
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_'))
            {
                out.insert(literal.to_owned());
            }
        }
    }
    out
}

#[test]
fn the_hooks_reference_lists_every_variable_and_no_other() {
    let text = read("docs/src/reference/hooks.md");
    let documented: BTreeSet<String> = first_column(&text, "variable")
        .iter()
        .flat_map(|row| ticked(&row[0]))
        .collect();
    let real = hook_variables_in_code();
    assert!(real.contains("VIPD_STATE"), "{real:?}");
    same(
        "hook variables",
        "docs/src/reference/hooks.md",
        &documented,
        &real,
    );
}
