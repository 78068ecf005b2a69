//! The properties `fuzz_targets/ip_header.rs` fuzzes, as a plain function of the input
//! bytes, so that a stable test holds generated inputs to them as well
//! (`crates/vipd-wire/tests/fuzz_ip_header.rs` includes this file by path).
//!
//! `Ipv4Header::parse`, what the daemon runs on every datagram of its raw IPv4 socket
//! (on IPv6 the kernel hands over the payload, and the source, destination and hop
//! limit come as socket ancillary data: there is no IPv6 header for vipd to parse). It
//! must never panic; it accepts exactly a version-4 header of IHL >= 5 words whose Total
//! Length covers the header and fits in what arrived (RFC 791 §3.1); the fields it
//! returns are the header's bytes, and the payload is the bytes from IHL × 4 up to Total
//! Length (link padding after it ignored).

use std::net::Ipv4Addr;

use vipd_wire::{Ipv4Error, Ipv4Header};

/// Holds `data` to every property; panics where one fails. Returns whether the header
/// was accepted.
pub fn check(data: &[u8]) -> bool {
    let result = Ipv4Header::parse(data);
    let expected_ok = data.len() >= 20 && data[0] >> 4 == 4 && data[0] & 0x0f >= 5 && {
        let header_len = usize::from(data[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
        total >= header_len && total <= data.len()
    };
    match result {
        Ok((h, payload)) => {
            assert!(expected_ok, "accepted {data:02x?}");
            assert_eq!(h.header_len, usize::from(data[0] & 0x0f) * 4);
            assert_eq!(
                h.total_len,
                usize::from(u16::from_be_bytes([data[2], data[3]]))
            );
            assert_eq!(h.ttl, data[8]);
            assert_eq!(h.protocol, data[9]);
            assert_eq!(h.src, Ipv4Addr::new(data[12], data[13], data[14], data[15]));
            assert_eq!(h.dst, Ipv4Addr::new(data[16], data[17], data[18], data[19]));
            assert_eq!(payload, &data[h.header_len..h.total_len]);
            true
        }
        Err(e) => {
            assert!(!expected_ok, "refused {data:02x?}: {e}");
            match e {
                Ipv4Error::Truncated(n) => assert_eq!(n, data.len()),
                Ipv4Error::NotV4(v) => assert_eq!(v, data[0] >> 4),
                Ipv4Error::BadIhl(i) => assert_eq!(i, data[0] & 0x0f),
                Ipv4Error::ShortDatagram { header, got } => assert!(got < header),
            }
            assert!(!e.to_string().is_empty());
            false
        }
    }
}
