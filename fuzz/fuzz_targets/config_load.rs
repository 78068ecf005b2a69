//! Fuzzes the properties in `props/config_load.rs` (read there what they are and how the input
//! is laid out); the stable test that holds generated inputs to the same properties is
//! named there.
//!
//!   cargo +nightly fuzz run config_load fuzz/corpus/config_load
//!
//! The seed corpus is `corpus/config_load/seed-*`; `crash-*` files there are inputs that once
//! failed and must keep passing.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../props/config_load.rs"]
mod props;

fuzz_target!(|data: &[u8]| {
    props::check(data);
});
