//! Wire formats spoken by vipd: VRRP adverts (RFC 3768 VRRPv2, RFC 5798 VRRPv3,
//! IPv4 and IPv6), the IPv4 header they arrive in on a raw socket, gratuitous ARP
//! and unsolicited ICMPv6 Neighbor Advertisement frames, and the layout of vipd's own
//! authentication trailer behind an advert ([`auth`]).
//!
//! Everything here is pure: bytes in, values out (and back). Parsing checks lengths
//! first and never panics on any input; the fuzz target in `fuzz/` holds it to that.

pub mod announce;
pub mod auth;
pub mod checksum;
pub mod ipv4;
pub mod vrrp;

pub use ipv4::{Ipv4Error, Ipv4Header};
pub use vrrp::{
    covers_pseudo_header, peek_vrid, readdress, Advert, EmitError, Received, RxCheck, RxError,
    V2Auth, V3Checksum, Version, ADVERT_TYPE, MULTICAST_V4, MULTICAST_V6, PROTOCOL,
};

/// An `N`-byte array from a slice known to be `N` bytes long: a field of a buffer whose
/// length has been checked, or a chunk of `N`.
fn octets<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}
