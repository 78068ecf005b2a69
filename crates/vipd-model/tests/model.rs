//! The CI run of the model checker: every scenario of `vipd_model::scenarios()`, each
//! property holding in every state explored and every `sometimes` reached.

#[test]
fn every_scenario_holds() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = std::io::stdout();
    let mut failed = Vec::new();
    for (label, bounds) in vipd_model::scenarios() {
        let o = vipd_model::check(label, bounds, threads, None, &mut out);
        assert!(o.states > 0, "{label}: nothing explored");
        if !o.failures.is_empty() {
            failed.push(label);
        }
    }
    assert!(failed.is_empty(), "properties failed in: {failed:?}");
}
