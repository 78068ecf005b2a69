//! The fuzz target `fuzz/fuzz_targets/decode_advert.rs`, run on stable over a fixed,
//! deterministic set of inputs: its seed corpus (`fuzz/corpus/decode_advert/`: the
//! keepalived captures and hand-made adverts of `tests/fixtures`, laid out as the
//! target reads its input, plus any input that once failed), then generated adverts
//! (valid ones of every version, family and checksum mode, and the same mutated), the
//! corpus seeds mutated, and plain random bytes. Every input is held to the target's
//! properties (`fuzz/props/decode_advert.rs`, included here by path): nothing panics,
//! and whatever decode accepts emits again and decodes to the same value.
//!
//! The seed files are derived from the fixtures; when a fixture is added, write them
//! again with `VIPD_WRITE_FUZZ_CORPUS=1 cargo test -p vipd-wire --test
//! fuzz_decode_advert`.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use vipd_wire::{checksum, Advert, V2Auth, V3Checksum, Version, MULTICAST_V4, MULTICAST_V6};

#[allow(dead_code)]
#[path = "../../../fuzz/props/decode_advert.rs"]
mod props;

#[allow(dead_code)]
#[path = "../../../fuzz/props/stable_run.rs"]
mod stable_run;

use stable_run::{hold, Rng};

use props::{
    DST_IS_GROUP, DST_OTHER_FAMILY, NO_PSEUDO_HEADER, RAW_IPV4, SRC_V6, TTL_FROM_INPUT, V3,
};

/// Generated adverts (each valid, then mutated half the time).
const GENERATED: usize = 100_000;
/// Mutations of each corpus file.
const MUTATIONS_PER_SEED: usize = 1_000;
/// Inputs of plain random bytes.
const RANDOM: usize = 20_000;
/// The generator's seed: the run is the same every time.
const SEED: u64 = 0x00f0_22ad_5eed_0051;

/// [`props::check`], and if a property fails, the failure with the input in hex, to be
/// kept as a `crash-*` file in the corpus once fixed.
fn check(input: &[u8]) -> bool {
    hold("decode_advert", props::check, input)
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    manifest().join("../../fuzz/corpus/decode_advert")
}

/// One fixture file: the VRRP payload and the IP header fields it arrived with.
struct Fixture {
    name: String,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    mode: V3Checksum,
    bytes: Vec<u8>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = manifest().join("tests/fixtures");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("tests/fixtures")
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".hex"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "only {} fixtures", names.len());
    names
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(dir.join(&name)).expect("fixture text");
            let (mut src, mut dst, mut ttl) = (None, None, None);
            let mut mode = V3Checksum::PseudoHeader;
            let mut bytes = Vec::new();
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (key, value) = line.split_once(' ').expect("`key value` lines");
                let value = value.trim();
                match key {
                    "src" => src = value.parse().ok(),
                    "dst" => dst = value.parse().ok(),
                    "ttl" => ttl = value.parse().ok(),
                    "checksum" => {
                        mode = if value == "plain" {
                            V3Checksum::NoPseudoHeader
                        } else {
                            V3Checksum::PseudoHeader
                        }
                    }
                    "hex" => bytes.extend(
                        value
                            .split_whitespace()
                            .map(|b| u8::from_str_radix(b, 16).expect("hex byte")),
                    ),
                    other => panic!("{name}: unknown key {other}"),
                }
            }
            Fixture {
                name: name.trim_end_matches(".hex").to_string(),
                src: src.expect("src"),
                dst: dst.expect("dst"),
                ttl: ttl.expect("ttl"),
                mode,
                bytes,
            }
        })
        .collect()
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn is_group(a: IpAddr) -> bool {
    a == IpAddr::V4(MULTICAST_V4) || a == IpAddr::V6(MULTICAST_V6)
}

/// An IPv4 datagram around `payload` (protocol 112 unless told otherwise), as a raw
/// socket delivers it.
fn ipv4_datagram(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut d = vec![0x45, 0];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0x40, 0, ttl, protocol, 0, 0]);
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    let sum = checksum::plain(&d);
    d[10..12].copy_from_slice(&sum.to_be_bytes());
    d.extend_from_slice(payload);
    d
}

/// The target's input for a packet checked as `version` with `mode`, from `src` to
/// `dst` with `ttl`; `raw` wraps an IPv4 packet in its IPv4 header instead.
fn layout(
    version: Version,
    vrid: u8,
    (src, dst, ttl): (IpAddr, IpAddr, u8),
    mode: V3Checksum,
    raw: bool,
    packet: &[u8],
) -> Vec<u8> {
    let mut flags = TTL_FROM_INPUT;
    if version == Version::V3 {
        flags |= V3;
    }
    if src.is_ipv6() {
        flags |= SRC_V6;
    }
    if src.is_ipv6() != dst.is_ipv6() {
        flags |= DST_OTHER_FAMILY;
    }
    if mode == V3Checksum::NoPseudoHeader {
        flags |= NO_PSEUDO_HEADER;
    }
    if is_group(dst) {
        flags |= DST_IS_GROUP;
    }
    let mut input = vec![flags, vrid, ttl];
    input.extend(octets(src));
    if !is_group(dst) {
        input.extend(octets(dst));
    }
    match (raw, src, dst) {
        (true, IpAddr::V4(s), IpAddr::V4(d)) => {
            input[0] |= RAW_IPV4;
            input.extend(ipv4_datagram(s, d, ttl, vipd_wire::PROTOCOL, packet));
        }
        _ => input.extend_from_slice(packet),
    }
    input
}

/// The version a fixture's packet says it is.
fn version_of(bytes: &[u8]) -> Version {
    if bytes.first().is_some_and(|b| b >> 4 == 3) {
        Version::V3
    } else {
        Version::V2
    }
}

/// The seed files the fixtures make: `seed-<fixture>` (the payload with its header
/// fields) and, for IPv4, `seed-<fixture>-raw` (the whole datagram).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for f in fixtures() {
        let v = version_of(&f.bytes);
        let vrid = f.bytes.get(1).copied().unwrap_or(0);
        let ip = (f.src, f.dst, f.ttl);
        out.push((
            format!("seed-{}", f.name),
            layout(v, vrid, ip, f.mode, false, &f.bytes),
        ));
        if f.src.is_ipv4() && f.dst.is_ipv4() {
            out.push((
                format!("seed-{}-raw", f.name),
                layout(v, vrid, ip, f.mode, true, &f.bytes),
            ));
        }
    }
    out
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    stable_run::corpus("decode_advert")
}

#[test]
fn corpus_holds_every_fixture_and_each_decodes() {
    let want = seeds();
    if std::env::var_os("VIPD_WRITE_FUZZ_CORPUS").is_some() {
        fs::create_dir_all(corpus_dir()).expect("corpus directory");
        for (name, bytes) in &want {
            fs::write(corpus_dir().join(name), bytes).expect("write a seed");
        }
    }
    let have = corpus();
    for (name, bytes) in &want {
        let Some((_, file)) = have.iter().find(|(n, _)| n == name) else {
            panic!(
                "fuzz/corpus/decode_advert/{name} is missing; write the seeds with \
                 VIPD_WRITE_FUZZ_CORPUS=1"
            );
        };
        assert_eq!(file, bytes, "{name} differs from its fixture");
        // The captures are valid adverts as they were received: they reach the
        // re-emit check.
        assert!(check(bytes), "{name}: decode refused a captured advert");
    }
    let stale: Vec<&String> = have
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("seed-") && !want.iter().any(|(w, _)| w == *n))
        .collect();
    assert!(stale.is_empty(), "seed files without a fixture: {stale:?}");
}

/// A random advert: version, family, checksum mode, addresses, and the header fields
/// it arrives with, mostly those a sender would use.
fn random_advert(rng: &mut Rng) -> (Version, u8, (IpAddr, IpAddr, u8), V3Checksum, Vec<u8>) {
    let v6 = rng.chance(3);
    let version = if v6 || rng.chance(2) {
        Version::V3
    } else {
        Version::V2
    };
    let addr = |rng: &mut Rng| -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(
                u128::from(rng.next()) << 64 | u128::from(rng.next()),
            ))
        } else {
            IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
        }
    };
    let most = if rng.chance(8) { 40 } else { 4 };
    let count = 1 + rng.below(most);
    let interval_cs = match version {
        Version::V2 => 100 * (1 + rng.below(255) as u16),
        Version::V3 => 1 + rng.below(4095) as u16,
    };
    let mut auth = V2Auth::default();
    if version == Version::V2 && rng.chance(4) {
        auth.auth_type = rng.byte() % 3;
        auth.data = [rng.byte(); 8];
    }
    let advert = Advert {
        version,
        vrid: rng.byte(),
        priority: rng.byte(),
        interval_cs,
        addresses: (0..count).map(|_| addr(rng)).collect(),
        auth,
    };
    let src = addr(rng);
    let dst = if rng.chance(4) {
        addr(rng)
    } else if v6 {
        IpAddr::V6(MULTICAST_V6)
    } else {
        IpAddr::V4(MULTICAST_V4)
    };
    let mode = if !v6 && version == Version::V3 && rng.chance(3) {
        V3Checksum::NoPseudoHeader
    } else {
        V3Checksum::PseudoHeader
    };
    let ttl = if rng.chance(8) { rng.byte() } else { 255 };
    let bytes = advert.emit(src, dst, mode).unwrap_or_default();
    (version, advert.vrid, (src, dst, ttl), mode, bytes)
}

/// Changes `bytes` in one of a few ways a fuzzer would.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    match rng.below(7) {
        0 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        1 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes[i] = rng.byte();
        }
        2 => {
            let keep = rng.below(bytes.len() + 1);
            bytes.truncate(keep);
        }
        3 => {
            let n = 1 + rng.below(24);
            bytes.extend(rng.bytes(n));
        }
        4 if !bytes.is_empty() => {
            let i = rng.below(bytes.len());
            bytes.remove(i);
        }
        5 if !bytes.is_empty() => {
            // A field at an interesting value: 0, 1, 0xff, 0x80.
            let i = rng.below(bytes.len().min(24));
            bytes[i] = [0, 1, 0xff, 0x80][rng.below(4)];
        }
        _ => {
            let i = rng.below(bytes.len() + 1);
            let b = rng.byte();
            bytes.insert(i, b);
        }
    }
}

/// Puts a correct checksum into a mutated VRRP packet, so that changes behind the
/// checksum (count, interval, version, length) reach the checks after it.
fn fix_checksum(
    bytes: &mut [u8],
    version: Version,
    (src, dst): (IpAddr, IpAddr),
    mode: V3Checksum,
) {
    if bytes.len() < 8 {
        return;
    }
    bytes[6] = 0;
    bytes[7] = 0;
    let sum = match (version, mode, src) {
        (Version::V2, ..) | (Version::V3, V3Checksum::NoPseudoHeader, IpAddr::V4(_)) => {
            Some(checksum::plain(bytes))
        }
        _ => checksum::with_pseudo(src, dst, vipd_wire::PROTOCOL, bytes),
    };
    if let Some(sum) = sum {
        bytes[6..8].copy_from_slice(&sum.to_be_bytes());
    }
}

#[test]
fn generated_inputs_keep_the_fuzz_properties() {
    let mut rng = Rng(SEED);
    let (mut runs, mut accepted) = (0usize, 0usize);

    // Adverts of every kind; half of them changed (and half of those re-checksummed).
    let mut generated_accepted = 0;
    for _ in 0..GENERATED {
        let (version, vrid, ip, mode, mut bytes) = random_advert(&mut rng);
        let mutated = rng.chance(2);
        if mutated {
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut bytes);
            }
            if rng.chance(2) {
                fix_checksum(&mut bytes, version, (ip.0, ip.1), mode);
            }
        }
        let raw = ip.0.is_ipv4() && rng.chance(3);
        let mut input = layout(version, vrid, ip, mode, raw, &bytes);
        if mutated && rng.chance(8) {
            // The layout itself: flags, addresses, the IPv4 header.
            mutate(&mut rng, &mut input);
        }
        runs += 1;
        if check(&input) {
            generated_accepted += 1;
        }
    }
    accepted += generated_accepted;

    // The corpus (fixtures and past failures), as they are and mutated.
    let corpus = corpus();
    assert!(!corpus.is_empty(), "the seed corpus is empty");
    for (_, seed) in &corpus {
        runs += 1;
        if check(seed) {
            accepted += 1;
        }
        for _ in 0..MUTATIONS_PER_SEED {
            let mut input = seed.clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut input);
            }
            runs += 1;
            if check(&input) {
                accepted += 1;
            }
        }
    }

    // Plain random bytes, of every length up to a long advert.
    for _ in 0..RANDOM {
        let n = rng.below(120);
        let input = rng.bytes(n);
        runs += 1;
        if check(&input) {
            accepted += 1;
        }
    }

    println!(
        "decode_advert properties held on {runs} inputs; decode accepted {accepted} \
         ({generated_accepted} of the {GENERATED} generated adverts)"
    );
    // Both sides were exercised: a good share reached the re-emit check, and most
    // changed inputs were refused.
    assert!(
        generated_accepted >= GENERATED / 3,
        "only {generated_accepted} of {GENERATED} generated adverts decoded: the generator \
         no longer makes valid adverts, so the re-emit property went untested"
    );
    assert!(accepted < runs, "decode accepted every input");
}
