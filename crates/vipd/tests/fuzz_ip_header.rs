//! The fuzz target `fuzz/fuzz_targets/ip_header.rs`, run on stable over a fixed,
//! deterministic set of inputs: its seed corpus (`fuzz/corpus/ip_header/`) and
//! mutations of it, headers of every IHL and Total Length around the bytes that arrived,
//! and random bytes, each held to the target's properties (`fuzz/props/ip_header.rs`).

#[allow(dead_code)]
#[path = "../../../fuzz/props/stable_run.rs"]
mod stable_run;

#[path = "../../../fuzz/props/ip_header.rs"]
mod props;

use stable_run::{hold, Rng};

const SEED: u64 = 0x01f4_ead3_5eed_0002;

#[test]
fn ip_header_properties_hold() {
    let mut accepted = stable_run::run("ip_header", SEED, 5_000, 20_000, 80, props::check);
    let mut rng = Rng(SEED ^ 1);
    // Every IHL (0..15) with Total Length below, at and above the bytes that arrived.
    for ihl in 0u8..16 {
        for _ in 0..500 {
            let len = rng.below(100);
            let mut d = rng.bytes(len.max(20));
            d[0] = 0x40 | ihl;
            let total = match rng.below(3) {
                0 => d.len(),
                1 => rng.below(d.len() + 1),
                _ => d.len() + 1 + rng.below(40),
            };
            d[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            accepted += usize::from(hold("ip_header", props::check, &d));
        }
    }
    assert!(accepted >= 2_000, "only {accepted} headers accepted");
}
