//! Runs every `scenarios/*.yaml` file (see `vipd_sim::scenario` for the format).

use std::path::PathBuf;

use vipd_sim::scenario::Scenario;

#[test]
fn every_yaml_scenario_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "only {} scenario files", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let result = Scenario::load(f).and_then(|s| s.run().map(|_| s.name));
        match result {
            Ok(name) => eprintln!("ok   {name}"),
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_wrong_expectation_is_reported() {
    let s = Scenario::from_yaml(
        r#"
name: wrong
latency_us: 0
until: "10"
nodes: [{ host: 1, priority: 150 }]
steps: [{ at: "0", do: start, node: 0 }]
expect:
  - { node: 0, enters: master, at: "3.414062501" }
  - { node: 0, enters: fault, at: "1" }
final: { vip_holders: [] }
"#,
    )
    .expect("valid yaml");
    let e = s.run().expect_err("expectations are wrong");
    assert!(
        e.0.contains("expected t3.414062501, got t3.414062500"),
        "{e}"
    );
    assert!(e.0.contains("expected t1.000000000, got never"), "{e}");
    assert!(
        e.0.contains("VIP holders at the end: expected [], got [0]"),
        "{e}"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let e = Scenario::from_yaml("name: x\nuntil: \"1\"\nnodes: []\nsurprise: 1\n")
        .expect_err("unknown field");
    assert!(e.0.contains("surprise"), "{e}");
}
