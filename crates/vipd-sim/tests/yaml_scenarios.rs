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
        let result = Scenario::load(f).and_then(|s| {
            // Every file pins every node's whole timeline and its final states.
            let gaps = s.timeline_gaps()?;
            if !gaps.is_empty() {
                return Err(vipd_sim::scenario::ScenarioError(format!(
                    "the state intervals do not cover the run: {}",
                    gaps.join("; ")
                )));
            }
            if s.final_.states.is_none() {
                return Err(vipd_sim::scenario::ScenarioError(
                    "no final states".to_string(),
                ));
            }
            s.run().map(|_| s.name)
        });
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
fn a_wrong_interval_is_reported() {
    // Node 0 is backup over [0, 3.4140625) and master from then on.
    let s = Scenario::from_yaml(
        r#"
name: wrong_intervals
latency_us: 0
until: "10"
nodes: [{ host: 1, priority: 150 }]
steps: [{ at: "0", do: start, node: 0 }]
expect:
  - { node: 0, state: backup, from: "0", until: "3.4140625" }
  - { node: 0, state: master, from: "3.4140625" }
  # one nanosecond too long: the transition falls inside
  - { node: 0, state: backup, from: "0", until: "3.414062501" }
  # one nanosecond too early: still backup at its start
  - { node: 0, state: master, from: "3.414062499", until: "10" }
  - { node: 0, state: initialize, from: "1", until: "2" }
final: { states: [master] }
"#,
    )
    .expect("valid yaml");
    let e = s.run().expect_err("three intervals are wrong");
    let problems: Vec<&str> = e.0.split("; ").collect();
    assert_eq!(problems.len(), 3, "{e}");
    assert!(
        e.0.contains(
            "over [t0.000000000, t3.414062501): it entered Master (MasterDown) at t3.414062500"
        ),
        "{e}"
    );
    assert!(
        e.0.contains("over [t3.414062499, t10.000000000): it is Backup at t3.414062499"),
        "{e}"
    );
    assert!(e.0.contains("it is Backup at t1.000000000"), "{e}");
    assert_eq!(
        s.timeline_gaps().expect("times parse"),
        vec![
            "node 0: intervals overlap over [t0.000000000, t3.414062500)".to_string(),
            "node 0: intervals overlap over [t1.000000000, t2.000000000)".to_string(),
            "node 0: intervals overlap over [t3.414062499, t3.414062501)".to_string(),
            "node 0: intervals overlap over [t3.414062500, t10.000000000)".to_string(),
        ]
    );

    // Mixed forms, a missing `from`, an interval past the end: refused outright.
    for bad in [
        r#"{ node: 0, state: master, at: "1" }"#,
        r#"{ node: 0, state: master }"#,
        r#"{ node: 0, enters: master, from: "1" }"#,
        r#"{ node: 0, state: master, from: "5", until: "11" }"#,
        r#"{ node: 0, state: master, from: "5", until: "5" }"#,
    ] {
        let s = Scenario::from_yaml(&format!(
            "name: bad\nuntil: \"10\"\nnodes: [{{ host: 1, priority: 150 }}]\nexpect: [{bad}]\n"
        ))
        .expect("valid yaml");
        let e = s.run().expect_err("a malformed expectation");
        assert!(e.0.starts_with("expectation "), "{bad}: {e}");
    }
    let gap = Scenario::from_yaml(
        "name: gap\nuntil: \"10\"\nnodes: [{ host: 1, priority: 150 }]\nexpect:\n  \
         - { node: 0, state: backup, from: \"1\", until: \"2\" }\n",
    )
    .expect("valid yaml");
    assert_eq!(
        gap.timeline_gaps().expect("times parse"),
        vec![
            "node 0: nothing expected over [t0.000000000, t1.000000000)".to_string(),
            "node 0: nothing expected over [t2.000000000, t10.000000000)".to_string(),
        ]
    );
}

#[test]
fn unknown_fields_are_refused() {
    let e = Scenario::from_yaml("name: x\nuntil: \"1\"\nnodes: []\nsurprise: 1\n")
        .expect_err("unknown field");
    assert!(e.0.contains("surprise"), "{e}");
}
