//! The fuzz target `fuzz/fuzz_targets/config_load.rs`, run on stable over a fixed,
//! deterministic set of inputs: its seed corpus (`fuzz/corpus/config_load/`: the
//! examples' configurations) and mutations of it, configurations stitched from the
//! seeds' lines, and random bytes, each held to the target's properties
//! (`fuzz/props/config_load.rs`: no panic, the same answer twice, a refusal that names
//! the file and a line in it).

#[allow(dead_code)]
#[path = "../../../fuzz/props/stable_run.rs"]
mod stable_run;

#[path = "../../../fuzz/props/config_load.rs"]
mod props;

use stable_run::{hold, mutate, Rng};

const SEED: u64 = 0x0c0f_1910_ad5e_ed03;

#[test]
fn config_load_properties_hold() {
    let mut accepted = stable_run::run("config_load", SEED, 1_000, 1_000, 200, props::check);
    let mut rng = Rng(SEED ^ 1);
    let corpus = stable_run::corpus("config_load");
    let lines: Vec<Vec<u8>> = corpus
        .iter()
        .flat_map(|(_, b)| b.split(|c| *c == b'\n').map(<[u8]>::to_vec))
        .collect();
    // Lines of the seeds in another order, some dropped, some twice, some changed.
    for _ in 0..1_000 {
        let (_, base) = &corpus[rng.below(corpus.len())];
        let mut text: Vec<Vec<u8>> = base.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect();
        for _ in 0..=rng.below(3) {
            let i = rng.below(text.len());
            match rng.below(4) {
                0 => {
                    text.remove(i);
                }
                1 => text.insert(i, lines[rng.below(lines.len())].clone()),
                2 => text[i] = mutate(&mut rng, &text[i]),
                _ => {
                    let j = rng.below(text.len());
                    text.swap(i, j);
                }
            }
            if text.is_empty() {
                break;
            }
        }
        accepted += usize::from(hold("config_load", props::check, &text.join(&b'\n')));
    }
    // The seeds at least are valid configurations.
    assert!(accepted >= corpus.len(), "only {accepted} texts accepted");
}
