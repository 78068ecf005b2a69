//! The fuzz target `fuzz/fuzz_targets/control_request.rs`, run on stable over a fixed,
//! deterministic set of inputs: its seed corpus (`fuzz/corpus/control_request/`: every
//! command) and mutations of it, requests stitched from the protocol's fields and
//! values, and random bytes, each held to the target's properties
//! (`fuzz/props/control_request.rs`).

#[allow(dead_code)]
#[path = "../../../fuzz/props/stable_run.rs"]
mod stable_run;

#[path = "../../../fuzz/props/control_request.rs"]
mod props;

use stable_run::{hold, Rng};

const SEED: u64 = 0x0c07_5e9e_5eed_0004;

#[test]
fn control_request_properties_hold() {
    let mut accepted = stable_run::run("control_request", SEED, 5_000, 5_000, 60, props::check);
    let mut rng = Rng(SEED ^ 1);
    let keys = ["\"v\"", "\"command\"", "\"on\"", "\"instances\"", "\"x\""];
    let values = [
        "1",
        "0",
        "2",
        "-1",
        "1.0",
        "18446744073709551616",
        "true",
        "false",
        "null",
        "\"status\"",
        "\"maintenance\"",
        "\"watch\"",
        "\"web\"",
        "[]",
        "[\"web\",\"db\"]",
        "[1]",
        "{}",
        "\"\\u0000\"",
    ];
    for _ in 0..20_000 {
        let mut fields: Vec<String> = Vec::new();
        // Mostly a request of this version with a command, then other fields.
        if rng.below(5) != 0 {
            fields.push("\"v\":1".into());
            fields.push(format!("\"command\":{}", values[9 + rng.below(3)]));
        }
        fields.extend((0..rng.below(4)).map(|_| {
            format!(
                "{}:{}",
                keys[rng.below(keys.len())],
                values[rng.below(values.len())]
            )
        }));
        let line = format!("{{{}}}", fields.join(","));
        accepted += usize::from(hold("control_request", props::check, line.as_bytes()));
    }
    assert!(accepted >= 2_000, "only {accepted} requests accepted");
}
