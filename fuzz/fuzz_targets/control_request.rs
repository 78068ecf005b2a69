//! Fuzzes the properties in `props/control_request.rs` (read there what they are and how the input
//! is laid out); the stable test that holds generated inputs to the same properties is
//! named there.
//!
//!   cargo +nightly fuzz run control_request fuzz/corpus/control_request
//!
//! The seed corpus is `corpus/control_request/seed-*`; `crash-*` files there are inputs that once
//! failed and must keep passing.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../props/control_request.rs"]
mod props;

fuzz_target!(|data: &[u8]| {
    props::check(data);
});
