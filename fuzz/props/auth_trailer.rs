//! The properties `fuzz_targets/auth_trailer.rs` fuzzes, as a plain function of the
//! input bytes, so that a stable test holds generated inputs to them as well
//! (`crates/vipd-wire/tests/fuzz_auth_trailer.rs` includes this file by path).
//!
//! The receive side of vipd's authentication trailer (`vipd_wire::auth`):
//! `Trailer::parse` on the bytes after a VRRP message, and `auth::split` on a whole
//! received advert. Neither may panic; a trailer parse succeeds exactly on
//! `TRAILER_LEN` bytes that start with the tag, and what it accepts emits to the same
//! bytes; a split's message and trailer are the input, in order, with nothing left out.
//!
//! Input layout (missing bytes read as zero): flags (bit 0: VRRPv3, bit 1: IPv6), then
//! the advert as received.

use vipd_wire::auth::{self, AuthError, Trailer, TAG, TRAILER_LEN};
use vipd_wire::{Advert, RxError, Version};

/// Holds `data` to every property; panics where one fails. Returns whether the split
/// found a whole trailer (so a caller can tell how much of its input got that far).
pub fn check(data: &[u8]) -> bool {
    // The whole input as the bytes after a message.
    match Trailer::parse(data) {
        Ok(t) => {
            assert_eq!(data.len(), TRAILER_LEN);
            assert_eq!(&data[..TAG.len()], &TAG[..]);
            assert_eq!(&t.emit()[..], data, "a parsed trailer emits other bytes");
        }
        Err(AuthError::Missing) => assert!(data.is_empty()),
        Err(AuthError::BadLength { len }) => {
            assert_eq!(len, data.len());
            assert_ne!(len, TRAILER_LEN);
        }
        Err(AuthError::BadTag { got }) => {
            assert_eq!(data.len(), TRAILER_LEN);
            assert_eq!(&got[..], &data[..TAG.len()]);
            assert_ne!(got, TAG);
        }
        Err(e) => panic!("Trailer::parse answered {e:?}, which only a MAC check may"),
    }

    let (flags, packet) = data.split_first().map_or((0, &[][..]), |(f, p)| (*f, p));
    let version = if flags & 0x01 != 0 {
        Version::V3
    } else {
        Version::V2
    };
    let ipv6 = flags & 0x02 != 0;
    match auth::split(packet, version, ipv6) {
        Ok(signed) => {
            let n = signed.message.len();
            assert_eq!(n + TRAILER_LEN, packet.len());
            assert_eq!(signed.message, &packet[..n]);
            assert_eq!(&signed.trailer.emit()[..], &packet[n..]);
            // The message is the one the split measured: its own length check agrees.
            let (message, rest) =
                Advert::split_message(packet, version, ipv6).expect("split_message after split");
            assert_eq!(message, signed.message);
            assert_eq!(rest.len(), TRAILER_LEN);
            // What the MAC covers starts with the source and holds the whole message.
            let src = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 11));
            let input = signed.mac_input(src);
            assert_eq!(input.len(), 4 + n + 12);
            assert_eq!(&input[4..4 + n], signed.message);
            true
        }
        Err(RxError::Auth(_)) => {
            // The message itself was whole: only the trailer was wrong.
            assert!(Advert::split_message(packet, version, ipv6).is_ok());
            false
        }
        Err(_) => false,
    }
}
