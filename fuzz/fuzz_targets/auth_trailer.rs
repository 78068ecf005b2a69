//! Fuzzes the properties in `props/auth_trailer.rs` (read there what they are and how the input
//! is laid out); the stable test that holds generated inputs to the same properties is
//! named there.
//!
//!   cargo +nightly fuzz run auth_trailer fuzz/corpus/auth_trailer
//!
//! The seed corpus is `corpus/auth_trailer/seed-*`; `crash-*` files there are inputs that once
//! failed and must keep passing.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../props/auth_trailer.rs"]
mod props;

fuzz_target!(|data: &[u8]| {
    props::check(data);
});
