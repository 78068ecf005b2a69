//! vipd's authentication trailer (`vipd_wire::auth`) both ways, on a fixture written out
//! byte by byte: an authenticated VRRPv3 advert from 192.0.2.11 (VRID 51, priority 150,
//! 200 ms, VIP 192.0.2.50), sequence number 1.7e18, keyed with the 32 bytes 00..1f.
//!
//! The MAC was computed outside this code base, with
//! `xxd -r -p <<< "$MAC_INPUT_HEX" | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102..1f`;
//! this crate only lays the bytes out, `vipd-node`'s tests check the MAC itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vipd_wire::auth::{self, AuthError, Signed, Trailer, TRAILER_LEN};
use vipd_wire::{Advert, RxCheck, RxError, V2Auth, V3Checksum, Version, MULTICAST_V4};

const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
const SEQ: u64 = 1_700_000_000_000_000_000;

/// The VRRP message: its checksum (d3 e9) over the message and the pseudo-header only.
const MESSAGE: [u8; 12] = [
    0x31, 0x33, 0x96, 0x01, 0x00, 0x14, 0xd3, 0xe9, 0xc0, 0x00, 0x02, 0x32,
];
/// "vip", version 1, then the sequence number 1_700_000_000_000_000_000 big-endian.
const TAG_AND_SEQ: [u8; 12] = [
    0x76, 0x69, 0x70, 0x01, 0x17, 0x97, 0x9c, 0xfe, 0x36, 0x2a, 0x00, 0x00,
];
const MAC: [u8; 32] = [
    0xbe, 0x62, 0xbb, 0xab, 0x2a, 0x3e, 0x4c, 0xed, 0x21, 0x49, 0x44, 0x00, 0x99, 0x49, 0x15, 0x6f,
    0xf9, 0xda, 0xe9, 0x99, 0x0a, 0xf2, 0x28, 0xc7, 0x17, 0xd6, 0xe7, 0x36, 0xe7, 0xb9, 0xd0, 0xff,
];

fn advert() -> Advert {
    Advert {
        version: Version::V3,
        vrid: 51,
        priority: 150,
        interval_cs: 20,
        addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50))],
        auth: V2Auth::default(),
    }
}

fn wire() -> Vec<u8> {
    [&MESSAGE[..], &TAG_AND_SEQ, &MAC].concat()
}

fn check() -> RxCheck {
    RxCheck {
        version: Version::V3,
        vrid: 51,
        src: SRC,
        dst: IpAddr::V4(MULTICAST_V4),
        ttl: 255,
        v3_checksum: V3Checksum::PseudoHeader,
    }
}

#[test]
fn emits_the_fixture() {
    let message = advert()
        .emit(SRC, IpAddr::V4(MULTICAST_V4), V3Checksum::PseudoHeader)
        .expect("emit");
    assert_eq!(message, MESSAGE);
    let trailer = Trailer { seq: SEQ, mac: MAC };
    assert_eq!(auth::append(message, &trailer), wire());
    assert_eq!(wire().len(), 12 + TRAILER_LEN);
}

#[test]
fn splits_the_fixture() {
    let bytes = wire();
    let signed = auth::split(&bytes, Version::V3, false).expect("a well-formed trailer");
    assert_eq!(
        signed,
        Signed {
            message: &MESSAGE,
            trailer: Trailer { seq: SEQ, mac: MAC },
        }
    );
    // The MAC covers the source, the message, the tag and the sequence number.
    let input = signed.mac_input(SRC);
    assert_eq!(
        input,
        [&[192, 0, 2, 11][..], &MESSAGE, &TAG_AND_SEQ].concat()
    );
    assert_eq!(
        hex(&input),
        "c000020b313396010014d3e9c00002327669700117979cfe362a0000"
    );
}

/// The checksum covers the VRRP message alone: a decoder that does not know the trailer
/// sees the same advert as without it.
#[test]
fn a_decoder_without_auth_sees_a_normal_advert() {
    assert_eq!(Advert::decode(&wire(), &check()), Ok(advert()));
    assert_eq!(Advert::decode(&MESSAGE, &check()), Ok(advert()));
    assert_eq!(Advert::parse(&wire(), false), Ok(advert()));
}

#[test]
fn malformed_trailers_are_refused_by_reason() {
    let bytes = wire();
    let split = |b: &[u8]| auth::split(b, Version::V3, false).map(|s| s.trailer);
    assert_eq!(split(&MESSAGE), Err(RxError::Auth(AuthError::Missing)));
    assert_eq!(
        split(&bytes[..bytes.len() - 1]),
        Err(RxError::Auth(AuthError::BadLength { len: 43 }))
    );
    let mut other = bytes.clone();
    other[12] = b'V';
    assert_eq!(
        split(&other),
        Err(RxError::Auth(AuthError::BadTag {
            got: [b'V', b'i', b'p', 1]
        }))
    );
    // Too short for the message the count announces: the codec's own length errors.
    assert_eq!(split(&bytes[..6]), Err(RxError::Truncated(6)));
    let mut three = bytes.clone();
    three[3] = 3;
    // 3 addresses take bytes 8..20: the trailer's first 8 bytes would be read as two of
    // them, leaving 36 bytes behind: not a trailer.
    assert_eq!(
        split(&three),
        Err(RxError::Auth(AuthError::BadLength { len: 36 }))
    );
    three[3] = 20;
    assert_eq!(
        split(&three),
        Err(RxError::AddressCount {
            count: 20,
            len: bytes.len()
        })
    );
}

/// VRRPv2 keeps its 8 bytes of authentication data inside the message; IPv6 sources
/// go into the MAC as 16 bytes.
#[test]
fn v2_and_ipv6_message_boundaries() {
    let v2 = Advert {
        version: Version::V2,
        interval_cs: 100,
        ..advert()
    };
    let message = v2
        .emit(SRC, IpAddr::V4(MULTICAST_V4), V3Checksum::PseudoHeader)
        .expect("emit v2");
    assert_eq!(message.len(), 20);
    let bytes = auth::append(message.clone(), &Trailer { seq: 9, mac: MAC });
    let signed = auth::split(&bytes, Version::V2, false).expect("v2 trailer");
    assert_eq!(signed.message, &message[..]);
    assert_eq!(signed.trailer.seq, 9);

    let src6 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 11));
    let input = auth::mac_input(src6, &[1, 2], 0x0102);
    assert_eq!(input.len(), 16 + 2 + 12);
    assert_eq!(&input[..2], &[0xfe, 0x80]);
    assert_eq!(
        &input[16..],
        &[1, 2, 0x76, 0x69, 0x70, 1, 0, 0, 0, 0, 0, 0, 1, 2]
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
