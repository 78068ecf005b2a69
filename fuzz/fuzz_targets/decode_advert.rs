//! Fuzzes the receive path of vipd-wire (`Ipv4Header::parse`, `Advert::parse`,
//! `Advert::decode` and re-emitting what decode accepts): the properties and the input
//! layout are in `props/decode_advert.rs`, which the stable test
//! `crates/vipd-wire/tests/fuzz_decode_advert.rs` runs too, over generated inputs.
//!
//!   cargo +nightly fuzz run decode_advert fuzz/corpus/decode_advert
//!
//! The seed corpus (`corpus/decode_advert/seed-*`) holds the keepalived captures of
//! `crates/vipd-wire/tests/fixtures` in this layout; `crash-*` files there are inputs
//! that once failed and must keep passing.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../props/decode_advert.rs"]
mod props;

fuzz_target!(|data: &[u8]| {
    props::check(data);
});
