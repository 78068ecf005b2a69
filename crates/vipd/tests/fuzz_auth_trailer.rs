//! The fuzz target `fuzz/fuzz_targets/auth_trailer.rs`, run on stable over a fixed,
//! deterministic set of inputs: its seed corpus (`fuzz/corpus/auth_trailer/`) and
//! mutations of it, signed adverts of every version and family (valid, then mutated),
//! and random bytes, each held to the target's properties (`fuzz/props/auth_trailer.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vipd_wire::auth::{self, Trailer};
use vipd_wire::{Advert, V2Auth, V3Checksum, Version, MULTICAST_V4, MULTICAST_V6};

#[allow(dead_code)]
#[path = "../../../fuzz/props/stable_run.rs"]
mod stable_run;

#[path = "../../../fuzz/props/auth_trailer.rs"]
mod props;

use stable_run::{hold, mutate, Rng};

const SEED: u64 = 0x0a07_7a11_e45e_ed01;
const SIGNED: usize = 20_000;

/// A valid signed advert of a random version, family and size, in the target's layout.
fn signed(rng: &mut Rng) -> Vec<u8> {
    let (version, ipv6) = match rng.below(3) {
        0 => (Version::V2, false),
        1 => (Version::V3, false),
        _ => (Version::V3, true),
    };
    let count = 1 + rng.below(if ipv6 { 4 } else { 8 });
    let addresses = (0..count)
        .map(|k| {
            if ipv6 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x50 + k as u16))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50 + k as u8))
            }
        })
        .collect();
    let advert = Advert {
        version,
        vrid: 1 + rng.below(255) as u8,
        priority: 1 + rng.below(254) as u8,
        interval_cs: if version == Version::V2 {
            100
        } else {
            1 + rng.below(4095) as u16
        },
        addresses,
        auth: V2Auth::default(),
    };
    let (src, dst) = if ipv6 {
        (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 11)),
            IpAddr::V6(MULTICAST_V6),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
            IpAddr::V4(MULTICAST_V4),
        )
    };
    let message = advert
        .emit(src, dst, V3Checksum::PseudoHeader)
        .expect("a valid advert emits");
    let mut mac = [0u8; 32];
    mac.copy_from_slice(&rng.bytes(32));
    let trailer = Trailer {
        seq: rng.next(),
        mac,
    };
    let flags = u8::from(version == Version::V3) | (u8::from(ipv6) << 1);
    let mut out = vec![flags];
    out.extend(auth::append(message, &trailer));
    out
}

#[test]
fn auth_trailer_properties_hold() {
    let mut accepted = stable_run::run("auth_trailer", SEED, 2_000, 10_000, 80, props::check);
    let mut rng = Rng(SEED ^ 1);
    for _ in 0..SIGNED {
        let s = signed(&mut rng);
        assert!(
            hold("auth_trailer", props::check, &s),
            "a valid signed advert was not split: {s:02x?}"
        );
        accepted += usize::from(hold("auth_trailer", props::check, &mutate(&mut rng, &s)));
    }
    // Besides the valid ones, enough mutated and corpus inputs got as far as a whole
    // trailer for the split's properties to count.
    assert!(accepted >= 1_000, "only {accepted} other inputs split");
}
