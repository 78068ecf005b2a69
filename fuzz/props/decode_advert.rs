//! The properties `fuzz_targets/decode_advert.rs` fuzzes, as a plain function of the
//! input bytes, so that a stable test can hold generated inputs to them as well
//! (`crates/vipd-wire/tests/fuzz_decode_advert.rs` includes this file by path).
//!
//! The receive path of vipd-wire: `Ipv4Header::parse`, `Advert::parse` and
//! `Advert::decode`. None of them may panic. Whenever decode accepts something, the
//! value must emit again (apart from the values explained in `decode_and_reemit`) and
//! the emitted bytes must decode to the same value.
//!
//! Input layout (missing bytes read as zero):
//!   flags, vrid, [ttl if flags & TTL_FROM_INPUT], src (4 or 16 bytes),
//!   [dst (4 or 16 bytes) unless flags & DST_IS_GROUP], then the packet.
//! With flags & RAW_IPV4 the packet is an IPv4 datagram, as a raw socket delivers it,
//! and src, dst and TTL are taken from its header the way the daemon does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vipd_wire::{
    Advert, EmitError, Ipv4Header, RxCheck, V3Checksum, Version, MULTICAST_V4, MULTICAST_V6,
    PROTOCOL,
};

pub const V3: u8 = 0x01;
pub const SRC_V6: u8 = 0x02;
pub const DST_OTHER_FAMILY: u8 = 0x04;
pub const NO_PSEUDO_HEADER: u8 = 0x08;
pub const TTL_FROM_INPUT: u8 = 0x10;
pub const DST_IS_GROUP: u8 = 0x20;
pub const RAW_IPV4: u8 = 0x40;

struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((b, rest)) => {
                self.rest = rest;
                *b
            }
            None => 0,
        }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            *b = self.byte();
        }
        out
    }

    fn addr(&mut self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()))
        }
    }
}

fn group(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(MULTICAST_V6)
    } else {
        IpAddr::V4(MULTICAST_V4)
    }
}

/// Decodes and, on success, holds the value to the round-trip promise; whether decode
/// accepted the packet.
fn decode_and_reemit(bytes: &[u8], check: &RxCheck) -> bool {
    let Ok(value) = Advert::decode(bytes, check) else {
        return false;
    };
    assert_eq!(value.version, check.version);
    assert_eq!(value.vrid, check.vrid);
    assert!(value
        .addresses
        .iter()
        .all(|a| a.is_ipv6() == check.src.is_ipv6()));
    assert_eq!(
        Advert::parse(bytes, check.src.is_ipv6()).as_ref(),
        Ok(&value),
        "decode and parse disagree"
    );
    match value.emit(check.src, check.dst, check.v3_checksum) {
        Ok(again) => {
            assert_eq!(again.len(), value.wire_len());
            assert_eq!(
                Advert::decode(&again, check).as_ref(),
                Ok(&value),
                "re-emitted advert decodes differently"
            );
        }
        // decode refuses a count of 0 and a v3 interval of 0 (RFC 5798 errata 8299
        // and 8301) but takes a v2 Adver Int of 0 (RFC 3768 §7.1 leaves it to the
        // comparison with the configured interval); emit refuses to send it.
        Err(EmitError::V2Interval(0)) => assert_eq!(value.interval_cs, 0),
        // VRRPv2, and v3 over IPv4 without a pseudo-header, never look at the
        // destination, so decode accepts one of the other family; emit does not.
        Err(EmitError::FamilyMismatch) => {
            assert_ne!(check.src.is_ipv6(), check.dst.is_ipv6())
        }
        Err(e) => panic!("decoded {value:?} but emit says {e:?}"),
    }
    true
}

/// Holds `data` to every property; panics where one fails. Returns whether
/// `Advert::decode` accepted the packet the input lays out (so a caller can tell how
/// much of its input reached the re-emit check).
pub fn check(data: &[u8]) -> bool {
    // The whole input as an IPv4 datagram and as a bare advert of either family.
    if let Ok((header, payload)) = Ipv4Header::parse(data) {
        assert!(header.header_len >= 20 && header.header_len <= header.total_len);
        assert!(header.total_len <= data.len());
        assert_eq!(payload.len(), header.total_len - header.header_len);
    }
    for ipv6 in [false, true] {
        if let Ok(value) = Advert::parse(data, ipv6) {
            assert!(value.wire_len() <= data.len());
        }
    }

    let mut input = Input { rest: data };
    let flags = input.byte();
    let vrid = input.byte();
    let ttl = if flags & TTL_FROM_INPUT != 0 {
        input.byte()
    } else {
        255
    };
    let src_v6 = flags & SRC_V6 != 0;
    let dst_v6 = src_v6 != (flags & DST_OTHER_FAMILY != 0);
    let src = input.addr(src_v6);
    let dst = if flags & DST_IS_GROUP != 0 {
        group(dst_v6)
    } else {
        input.addr(dst_v6)
    };
    let check = RxCheck {
        version: if flags & V3 != 0 {
            Version::V3
        } else {
            Version::V2
        },
        vrid,
        src,
        dst,
        ttl,
        v3_checksum: if flags & NO_PSEUDO_HEADER != 0 {
            V3Checksum::NoPseudoHeader
        } else {
            V3Checksum::PseudoHeader
        },
    };
    let packet = input.rest;

    if flags & RAW_IPV4 != 0 {
        // What the daemon does with a datagram from its raw IPv4 socket.
        if let Ok((header, payload)) = Ipv4Header::parse(packet) {
            if header.protocol == PROTOCOL {
                let check = RxCheck {
                    src: IpAddr::V4(header.src),
                    dst: IpAddr::V4(header.dst),
                    ttl: header.ttl,
                    ..check
                };
                return decode_and_reemit(payload, &check);
            }
        }
        false
    } else {
        decode_and_reemit(packet, &check)
    }
}
