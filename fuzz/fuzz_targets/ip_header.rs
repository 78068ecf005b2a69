//! Fuzzes the properties in `props/ip_header.rs` (read there what they are and how the input
//! is laid out); the stable test that holds generated inputs to the same properties is
//! named there.
//!
//!   cargo +nightly fuzz run ip_header fuzz/corpus/ip_header
//!
//! The seed corpus is `corpus/ip_header/seed-*`; `crash-*` files there are inputs that once
//! failed and must keep passing.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../props/ip_header.rs"]
mod props;

fuzz_target!(|data: &[u8]| {
    props::check(data);
});
