//! The addresses the tests may use: 192.0.2.0/24 and 2001:db8::/64 (RFC 5737 / RFC
//! 3849 documentation ranges), plus the VRRP groups as destinations.

use std::net::IpAddr;

/// Whether `a` is in 192.0.2.0/24 or 2001:db8::/64 (RFC 5737 / RFC 3849 documentation
/// ranges), the only addresses these tests use.
pub fn is_documentation_address(a: &str) -> bool {
    match a.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.octets()[..3] == [192, 0, 2],
        Ok(IpAddr::V6(v6)) => v6.segments()[..4] == [0x2001, 0xdb8, 0, 0],
        Err(_) => false,
    }
}

/// Panics unless `a` is a documentation address.
pub fn assert_documentation_address(a: &str) {
    assert!(
        is_documentation_address(a),
        "{a} is outside 192.0.2.0/24 and 2001:db8::/64; the tests use no other addresses"
    );
}

/// Panics unless `a` is a documentation address or a VRRP group.
pub fn assert_allowed_destination(a: &str) {
    assert!(
        is_documentation_address(a) || a == "224.0.0.18" || a == "ff02::12",
        "{a} is not a destination the tests may send to"
    );
}
