//! What the stable property tests of the fuzz targets share (each includes this file by
//! path next to its target's `props/*.rs`): a seeded generator, so that every run holds
//! the same inputs to the properties; the target's seed corpus and mutations of it;
//! and a failure that prints its input in hex, to be kept as a `crash-*` file in the
//! corpus once fixed.

use std::path::PathBuf;

/// SplitMix64: small, seeded, the same sequence everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    /// True one time in `one_in` (`one_in` > 0).
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// The target's corpus files (seeds and kept crashes), sorted by name.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(f.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
}

/// `input` changed a little: bytes flipped, set to edge values, inserted, removed,
/// a run duplicated, or cut short, one to four times over.
pub fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b':', b'"'][rng.below(8)];
            }
            2 => {
                let i = rng.below(len + 1);
                out.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                out.remove(rng.below(len));
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(16)).min(len);
                let run = out[a..b].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, run);
            }
            _ => out.truncate(rng.below(len + 1)),
        }
    }
    out
}

/// `check(input)`, and if a property fails, the failure with the input in hex.
pub fn hold(target: &str, check: impl Fn(&[u8]) -> bool, input: &[u8]) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(input))) {
        Ok(accepted) => accepted,
        Err(e) => {
            let what = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            let hex: Vec<String> = input.iter().map(|b| format!("{b:02x}")).collect();
            panic!(
                "a {target} property failed ({what}) on the input (hex) {}",
                hex.concat()
            );
        }
    }
}

/// Holds the corpus, `per_seed` mutations of each corpus file, and `random` inputs of
/// up to `max_random` random bytes to `check`; returns how many inputs were accepted.
pub fn run(
    target: &str,
    seed: u64,
    per_seed: usize,
    random: usize,
    max_random: usize,
    check: impl Fn(&[u8]) -> bool,
) -> usize {
    let mut rng = Rng(seed);
    let mut accepted = 0;
    for (_, bytes) in corpus(target) {
        accepted += usize::from(hold(target, &check, &bytes));
        for _ in 0..per_seed {
            let m = mutate(&mut rng, &bytes);
            accepted += usize::from(hold(target, &check, &m));
        }
    }
    for _ in 0..random {
        let n = rng.below(max_random + 1);
        let b = rng.bytes(n);
        accepted += usize::from(hold(target, &check, &b));
    }
    accepted
}
