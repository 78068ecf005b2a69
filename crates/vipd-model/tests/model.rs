//! The CI run of the model checker: every scenario, each property holding in every
//! state explored and every `sometimes` reached. Release builds (`.ci/run`: `cargo
//! test --release -p vipd-model`) check `scenarios()`; debug builds (`cargo test
//! --workspace`) the smaller `smoke_scenarios()`.

#[test]
fn every_scenario_holds() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = std::io::stdout();
    let mut failed = Vec::new();
    let runs = if cfg!(debug_assertions) {
        vipd_model::smoke_scenarios()
    } else {
        vipd_model::scenarios()
    };
    for (label, bounds) in runs {
        let o = vipd_model::check(label, bounds, threads, None, &mut out);
        assert!(o.states > 0, "{label}: nothing explored");
        if !o.failures.is_empty() {
            failed.push(label);
        }
    }
    assert!(failed.is_empty(), "properties failed in: {failed:?}");
}
