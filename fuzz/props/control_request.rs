//! The properties `fuzz_targets/control_request.rs` fuzzes, as a plain function of the
//! input bytes, so that a stable test holds generated inputs to them as well
//! (`crates/vipd/tests/fuzz_control_request.rs` includes this file by path).
//!
//! The control socket's request parser (`vipd::parse_control_request`), on any line a
//! client may send: it must never panic; it accepts only a request of this protocol
//! version; what it accepts written out again (as `vipctl` writes requests) parses to
//! the same request; a refusal is a sentence.

/// Holds `data` to every property; panics where one fails. Returns whether the line
/// was accepted as a request.
pub fn check(data: &[u8]) -> bool {
    // The socket reads a line into a String: bytes that are not UTF-8 never get further.
    let Ok(line) = std::str::from_utf8(data) else {
        return false;
    };
    match vipd::parse_control_request(line) {
        Ok(request) => {
            assert_eq!(request.v, vipd_api::PROTOCOL_VERSION);
            let written = serde_json::to_string(&request).expect("a request serializes");
            let back = vipd::parse_control_request(&written)
                .unwrap_or_else(|e| panic!("{written} (from {line:?}) does not parse: {e}"));
            assert_eq!(back, request, "{written} parses to another request");
            true
        }
        Err(e) => {
            assert!(!e.is_empty());
            false
        }
    }
}
