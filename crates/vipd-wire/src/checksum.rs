//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP uses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One's-complement sum of 16-bit big-endian words, not yet folded or inverted.
fn sum_words(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // Folding leaves at most 16 bits.
    !(acc as u16)
}

/// RFC 1071 checksum of `data` alone (VRRPv2, RFC 3768 §5.3.8).
pub fn plain(data: &[u8]) -> u16 {
    fold(sum_words(data, 0))
}

/// RFC 1071 checksum of `data` preceded by the IPv4 pseudo-header
/// (source, destination, zero, protocol, length), as RFC 5798 §5.2.8 asks for VRRPv3.
pub fn with_ipv4_pseudo(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, data: &[u8]) -> u16 {
    let mut acc = sum_words(&src.octets(), 0);
    acc = sum_words(&dst.octets(), acc);
    acc += u64::from(protocol);
    acc += data.len() as u64;
    fold(sum_words(data, acc))
}

/// RFC 1071 checksum of `data` preceded by the IPv6 pseudo-header of RFC 8200 §8.1
/// (source, destination, upper-layer length, zeros, next header).
pub fn with_ipv6_pseudo(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, data: &[u8]) -> u16 {
    let mut acc = sum_words(&src.octets(), 0);
    acc = sum_words(&dst.octets(), acc);
    acc += data.len() as u64;
    acc += u64::from(next_header);
    fold(sum_words(data, acc))
}

/// The pseudo-header checksum for either family; `None` when the families differ.
pub fn with_pseudo(src: IpAddr, dst: IpAddr, protocol: u8, data: &[u8]) -> Option<u16> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(with_ipv4_pseudo(s, d, protocol, data)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(with_ipv6_pseudo(s, d, protocol, data)),
        _ => None,
    }
}

/// A pseudo-header checksum `checksum`, computed for destination `old`, updated for the
/// same message sent to `new` instead (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). Nothing
/// else of the message need be known, so any message whose checksum covers the
/// pseudo-header can be readdressed. `None` when the families differ.
pub fn readdressed(checksum: u16, old: IpAddr, new: IpAddr) -> Option<u16> {
    let (old, new): (Vec<u8>, Vec<u8>) = match (old, new) {
        (IpAddr::V4(o), IpAddr::V4(n)) => (o.octets().to_vec(), n.octets().to_vec()),
        (IpAddr::V6(o), IpAddr::V6(n)) => (o.octets().to_vec(), n.octets().to_vec()),
        _ => return None,
    };
    let mut acc = u64::from(!checksum);
    for w in old.chunks_exact(2) {
        acc += u64::from(!u16::from_be_bytes([w[0], w[1]]));
    }
    Some(fold(sum_words(&new, acc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before inversion).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(plain(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(plain(&[0xab]), plain(&[0xab, 0x00]));
    }

    #[test]
    fn a_correct_checksum_sums_to_zero() {
        let mut data = vec![
            0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x00, 0x00, 192, 0, 2, 50,
        ];
        let c = with_ipv4_pseudo(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            112,
            &data,
        );
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(
            with_ipv4_pseudo(
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(224, 0, 0, 18),
                112,
                &data
            ),
            0
        );
    }

    #[test]
    fn readdressed_equals_computed_afresh() {
        // A small xorshift: many messages and addresses, both families.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..2000 {
            let len = 8 + (next() % 40) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let (src, a, b) = if round % 2 == 0 {
                let v4 = |n: u64| IpAddr::V4(Ipv4Addr::from(n as u32));
                (v4(next()), v4(next()), v4(next()))
            } else {
                let v6 = |n: u64, m: u64| {
                    IpAddr::V6(Ipv6Addr::from(u128::from(n) << 64 | u128::from(m)))
                };
                (v6(next(), next()), v6(next(), next()), v6(next(), next()))
            };
            let for_a = with_pseudo(src, a, 112, &data).expect("one family");
            let for_b = with_pseudo(src, b, 112, &data).expect("one family");
            assert_eq!(
                readdressed(for_a, a, b),
                Some(for_b),
                "{src} {a} -> {b} {data:?}"
            );
        }
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(readdressed(0x1234, v4, v6), None);
    }
}
