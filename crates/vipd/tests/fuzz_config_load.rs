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
    // The seeds at least are valid configurations (the corpus's `crash-` inputs,
    // what fuzzing once found, need not be).
    let seeds = corpus
        .iter()
        .filter(|(name, _)| name.starts_with("seed-"))
        .count();
    assert!(
        seeds >= 2 && accepted >= seeds,
        "only {accepted} texts accepted"
    );
}

/// What the fuzzer found in CI: a seed with lone carriage returns (or U+0085, U+2028,
/// U+2029) for some of its line feeds was blamed at a line past its end, since the YAML
/// reader counts those as line breaks. Each is now refused at its own line and column,
/// counted in line feeds, before YAML reads anything.
#[test]
fn odd_line_breaks_are_refused_where_they_stand() {
    let corpus = stable_run::corpus("config_load");
    let (_, seed) = corpus
        .iter()
        .find(|(name, _)| name.starts_with("seed-"))
        .expect("a seed configuration in fuzz/corpus/config_load");
    let seed = std::str::from_utf8(seed).expect("the seed is UTF-8");
    let lines: Vec<&str> = seed.split('\n').collect();
    assert!(lines.len() > 10, "the seed has {} lines", lines.len());
    for odd in ["\r", "\u{85}", "\u{2028}", "\u{2029}"] {
        // Lines 1..=5 end in \n, line 6 in the odd break, the rest in it too.
        let text = format!("{}\n{}", lines[..5].join("\n"), lines[5..].join(odd));
        assert!(!props::check(text.as_bytes()), "{odd:?}: accepted");
        let err =
            vipd::config::parse(&text, std::path::Path::new(props::FILE)).expect_err("refused");
        let column = lines[5].chars().count() + 1;
        assert_eq!(
            err.position().map(|p| (p.line, p.column)),
            Some((6, column)),
            "{err}"
        );
        assert!(err.to_string().contains("ends a line for YAML"), "{err}");
    }
}
