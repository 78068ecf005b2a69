//! Adverts captured from keepalived, and a few hand-written RFC corner cases, held
//! to the codec both ways: the bytes decode to exactly the value written out here,
//! and that value emits to exactly the bytes. See `tests/fixtures/README.md` for how
//! the fixtures were made and what the file format is.

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use vipd_wire::checksum;
use vipd_wire::{
    Advert, Received, RxCheck, RxError, V2Auth, V3Checksum, Version, MULTICAST_V4, MULTICAST_V6,
    PROTOCOL,
};

/// One `.hex` file: the VRRP payload and the IP header fields it arrived with.
#[derive(Debug)]
struct Fixture {
    name: String,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    mode: V3Checksum,
    bytes: Vec<u8>,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn parse_fixture(name: &str, text: &str) -> Fixture {
    let (mut src, mut dst, mut ttl) = (None, None, None);
    let mut mode = V3Checksum::PseudoHeader;
    let mut bytes = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{name}:{}: expected `key value`", n + 1));
        let value = value.trim();
        match key {
            "src" => src = Some(value.parse::<IpAddr>().expect("src is an IP address")),
            "dst" => dst = Some(value.parse::<IpAddr>().expect("dst is an IP address")),
            "ttl" => ttl = Some(value.parse::<u8>().expect("ttl is 0..=255")),
            "checksum" => {
                mode = match value {
                    "pseudo" => V3Checksum::PseudoHeader,
                    "plain" => V3Checksum::NoPseudoHeader,
                    other => panic!("{name}:{}: unknown checksum mode {other:?}", n + 1),
                }
            }
            "hex" => {
                for byte in value.split_whitespace() {
                    bytes.push(u8::from_str_radix(byte, 16).unwrap_or_else(|_| {
                        panic!("{name}:{}: {byte:?} is not a hex byte", n + 1)
                    }));
                }
            }
            other => panic!("{name}:{}: unknown key {other:?}", n + 1),
        }
    }
    Fixture {
        name: name.to_owned(),
        src: src.unwrap_or_else(|| panic!("{name}: no src line")),
        dst: dst.unwrap_or_else(|| panic!("{name}: no dst line")),
        ttl: ttl.unwrap_or_else(|| panic!("{name}: no ttl line")),
        mode,
        bytes,
    }
}

fn load(name: &str) -> Fixture {
    let path = fixtures_dir().join(format!("{name}.hex"));
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()));
    parse_fixture(name, &text)
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().expect("test IPv6 literal"))
}

fn v2(vrid: u8, priority: u8, interval_cs: u16, addresses: Vec<IpAddr>, auth: V2Auth) -> Advert {
    Advert {
        version: Version::V2,
        vrid,
        priority,
        interval_cs,
        addresses,
        auth,
    }
}

fn v3(vrid: u8, priority: u8, interval_cs: u16, addresses: Vec<IpAddr>) -> Advert {
    Advert {
        version: Version::V3,
        vrid,
        priority,
        interval_cs,
        addresses,
        auth: V2Auth::default(),
    }
}

/// The value each fixture must decode to. Every `.hex` file needs an entry here.
fn expected(name: &str) -> Option<Advert> {
    let no_auth = V2Auth::default();
    let three_v4 = vec![v4(192, 0, 2, 60), v4(192, 0, 2, 61), v4(192, 0, 2, 62)];
    Some(match name {
        "keepalived_v2_ipv4" => v2(51, 150, 100, vec![v4(192, 0, 2, 50)], no_auth),
        "keepalived_v2_ipv4_prio0" => v2(51, 0, 100, vec![v4(192, 0, 2, 50)], no_auth),
        "keepalived_v2_ipv4_3vips" => v2(52, 150, 100, three_v4, no_auth),
        "keepalived_v2_ipv4_auth_pass" => v2(
            53,
            150,
            100,
            vec![v4(192, 0, 2, 53)],
            V2Auth {
                auth_type: 1,
                data: *b"vwfix\0\0\0",
            },
        ),
        "keepalived_v3_ipv6_in_v2_config" => v3(54, 150, 100, vec![v6("2001:db8::54")]),
        "keepalived_v3_ipv4" => v3(51, 150, 20, vec![v4(192, 0, 2, 50)]),
        "keepalived_v3_ipv4_prio0" => v3(51, 0, 20, vec![v4(192, 0, 2, 50)]),
        "keepalived_v3_ipv4_3vips" => v3(52, 150, 100, three_v4),
        "keepalived_v3_ipv6" => v3(51, 150, 100, vec![v6("2001:db8::50")]),
        "keepalived_v3_ipv6_prio0" => v3(51, 0, 100, vec![v6("2001:db8::50")]),
        "keepalived_v3_ipv6_2vips" => {
            v3(52, 150, 100, vec![v6("2001:db8::60"), v6("2001:db8::61")])
        }
        "hand_v3_ipv6_2addrs" => v3(7, 255, 4095, vec![v6("fe80::1"), v6("2001:db8::7")]),
        "hand_v2_auth0" => v2(
            1,
            100,
            25500,
            vec![v4(192, 0, 2, 10), v4(192, 0, 2, 11)],
            no_auth,
        ),
        "hand_v3_ipv4_no_pseudo" => v3(200, 1, 1, vec![v4(192, 0, 2, 200)]),
        _ => return None,
    })
}

fn rx_check(f: &Fixture, a: &Advert) -> RxCheck {
    RxCheck {
        version: a.version,
        vrid: a.vrid,
        src: f.src,
        dst: f.dst,
        ttl: f.ttl,
        v3_checksum: f.mode,
    }
}

fn other_mode(mode: V3Checksum) -> V3Checksum {
    match mode {
        V3Checksum::PseudoHeader => V3Checksum::NoPseudoHeader,
        V3Checksum::NoPseudoHeader => V3Checksum::PseudoHeader,
    }
}

/// A different source address of the same family.
fn other_src(src: IpAddr) -> IpAddr {
    match src {
        IpAddr::V4(_) => v4(192, 0, 2, 99),
        IpAddr::V6(_) => v6("fe80::99"),
    }
}

/// Runs every check on one fixture and returns it for fixture-specific asserts.
fn check_fixture(name: &str) -> Fixture {
    let f = load(name);
    let want = expected(name).unwrap_or_else(|| panic!("{name}: no expected value"));
    let got_sum = u16::from_be_bytes([f.bytes[6], f.bytes[7]]);

    // The IP header is what RFC 5798 §5.1 asks for: TTL/hop limit 255, sent to the
    // VRRP group.
    assert_eq!(f.ttl, 255, "{name}: TTL/hop limit");
    let group = if f.src.is_ipv6() {
        IpAddr::V6(MULTICAST_V6)
    } else {
        IpAddr::V4(MULTICAST_V4)
    };
    assert_eq!(f.dst, group, "{name}: destination");

    // Bytes -> value, with every RFC 5798 §7.1 check.
    let check = rx_check(&f, &want);
    assert_eq!(
        Advert::decode(&f.bytes, &check),
        Ok(want.clone()),
        "{name}: decode"
    );
    assert_eq!(
        Advert::parse(&f.bytes, f.src.is_ipv6()),
        Ok(want.clone()),
        "{name}: parse"
    );
    assert_eq!(want.wire_len(), f.bytes.len(), "{name}: wire_len");

    // Value -> bytes, byte for byte (checksum included).
    let emitted = want
        .emit(f.src, f.dst, f.mode)
        .expect("fixture value emits");
    assert_eq!(emitted, f.bytes, "{name}: emit");

    // Both checksum modes of the receiver. Only VRRPv3 over IPv4 has a choice, and a
    // receiver takes either form whichever it sends (RFC 9568 §5.2.8), told which
    // one the advert came in; VRRPv2 never uses a pseudo-header and VRRPv3 over IPv6
    // always does, so for them the mode is ignored and no form is reported.
    let choice = want.version == Version::V3 && !f.src.is_ipv6();
    for mode in [f.mode, other_mode(f.mode)] {
        let received = Advert::receive(
            &f.bytes,
            &RxCheck {
                v3_checksum: mode,
                ..check
            },
        );
        assert_eq!(
            received,
            Ok(Received {
                advert: want.clone(),
                checksum: choice.then_some(f.mode),
            }),
            "{name}: received by a router sending {mode:?}"
        );
    }
    // With the checksum damaged, neither form matches; the error names the receiver's
    // own form's sum.
    let mut damaged = f.bytes.clone();
    damaged[6] ^= 0x01;
    let decoded = Advert::decode(&damaged, &check);
    assert!(
        matches!(decoded, Err(RxError::BadChecksum { got, .. }) if got == got_sum ^ 0x0100),
        "{name}: a damaged checksum must fail, got {decoded:?}"
    );

    // The pseudo-header covers the IP source, so a VRRPv3 advert checked against
    // another source fails (unless it was sent without one); VRRPv2 does not care.
    let moved = RxCheck {
        src: other_src(f.src),
        ..check
    };
    let decoded = Advert::decode(&f.bytes, &moved);
    let covers_src =
        want.version == Version::V3 && (f.src.is_ipv6() || f.mode == V3Checksum::PseudoHeader);
    if covers_src {
        assert!(
            matches!(decoded, Err(RxError::BadChecksum { .. })),
            "{name}: another source must fail the pseudo-header checksum, got {decoded:?}"
        );
    } else {
        assert_eq!(decoded, Ok(want.clone()), "{name}: source must not matter");
    }

    // The other §7.1 checks, against the same good bytes.
    assert_eq!(
        Advert::decode(&f.bytes, &RxCheck { ttl: 254, ..check }),
        Err(RxError::BadTtl(254)),
        "{name}: routed packet"
    );
    let other_version = match want.version {
        Version::V2 => Version::V3,
        Version::V3 => Version::V2,
    };
    assert!(
        matches!(
            Advert::decode(
                &f.bytes,
                &RxCheck {
                    version: other_version,
                    ..check
                }
            ),
            Err(RxError::BadVersion { .. })
        ),
        "{name}: version mismatch"
    );
    let other_vrid = want.vrid.wrapping_add(1);
    assert_eq!(
        Advert::decode(
            &f.bytes,
            &RxCheck {
                vrid: other_vrid,
                ..check
            }
        ),
        Err(RxError::VridMismatch {
            got: want.vrid,
            expected: other_vrid
        }),
        "{name}: VRID mismatch"
    );
    let short = &f.bytes[..f.bytes.len() - 1];
    assert!(
        matches!(
            Advert::decode(short, &check),
            Err(RxError::AddressCount { .. })
        ),
        "{name}: truncated advert"
    );
    f
}

macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_fixture(stringify!($name));
            }
        )*
        /// The names the macro made a test for, to match against the directory.
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

fixture_tests!(
    keepalived_v2_ipv4,
    keepalived_v2_ipv4_prio0,
    keepalived_v2_ipv4_3vips,
    keepalived_v2_ipv4_auth_pass,
    keepalived_v3_ipv6_in_v2_config,
    keepalived_v3_ipv4,
    keepalived_v3_ipv4_prio0,
    keepalived_v3_ipv4_3vips,
    keepalived_v3_ipv6,
    keepalived_v3_ipv6_prio0,
    keepalived_v3_ipv6_2vips,
    hand_v3_ipv6_2addrs,
    hand_v2_auth0,
    hand_v3_ipv4_no_pseudo,
);

#[test]
fn every_fixture_file_has_a_test() {
    let on_disk: BTreeSet<String> = fs::read_dir(fixtures_dir())
        .expect("fixtures directory is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .map(|p| {
            p.file_stem()
                .expect("a .hex file has a stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(on_disk, tested, "fixture files and fixture tests differ");
    for name in TESTED {
        assert!(expected(name).is_some(), "{name}: no expected value");
    }
}

#[test]
fn keepalived_sends_from_the_veth_addresses() {
    for name in TESTED.iter().filter(|n| n.starts_with("keepalived_")) {
        let f = load(name);
        let want = if f.src.is_ipv6() {
            // The link-local address of vwfix-a0, from its fixed MAC 02:00:00:00:0a:01.
            v6("fe80::ff:fe00:a01")
        } else {
            v4(192, 0, 2, 1)
        };
        assert_eq!(f.src, want, "{name}: source");
        assert_eq!(f.mode, V3Checksum::PseudoHeader, "{name}: checksum mode");
    }
}

/// Going to priority 0 changes the priority byte and, with it, the checksum; nothing
/// else.
#[test]
fn priority_zero_adverts_differ_only_in_priority_and_checksum() {
    for (live, leaving) in [
        ("keepalived_v2_ipv4", "keepalived_v2_ipv4_prio0"),
        ("keepalived_v3_ipv4", "keepalived_v3_ipv4_prio0"),
        ("keepalived_v3_ipv6", "keepalived_v3_ipv6_prio0"),
    ] {
        let (a, b) = (load(live), load(leaving));
        assert_eq!(a.bytes.len(), b.bytes.len());
        let differing: Vec<usize> = (0..a.bytes.len())
            .filter(|&i| a.bytes[i] != b.bytes[i])
            .collect();
        assert_eq!(b.bytes[2], 0, "{leaving}: priority");
        assert!(
            differing.iter().all(|i| [2, 6, 7].contains(i)),
            "{live} vs {leaving}: bytes {differing:?} differ"
        );
    }
}

/// What keepalived leaves in the fields the codec does not turn into values: the v3
/// reserved nibble is zero, and v2 without authentication sends type 0 and zero data.
#[test]
fn keepalived_reserved_and_auth_bytes() {
    for name in TESTED.iter().filter(|n| n.starts_with("keepalived_v3")) {
        let f = load(name);
        assert_eq!(f.bytes[4] >> 4, 0, "{name}: reserved nibble");
    }
    for name in ["keepalived_v2_ipv4", "keepalived_v2_ipv4_3vips"] {
        let f = load(name);
        assert_eq!(f.bytes[4], 0, "{name}: auth type");
        assert_eq!(&f.bytes[f.bytes.len() - 8..], &[0; 8], "{name}: auth data");
    }
    let pass = load("keepalived_v2_ipv4_auth_pass");
    assert_eq!(pass.bytes[4], 1, "simple text password");
    assert_eq!(&pass.bytes[pass.bytes.len() - 8..], b"vwfix\0\0\0");
}

/// RFC 5798 §5.2.6: the reserved nibble "MUST be set to zero on transmission and
/// ignored on reception". With the checksum fixed up to cover it, a set nibble decodes
/// to the same value, and re-emitting writes it as zero again. With the original
/// checksum it fails: the checksum covers the whole message, reserved bits included.
#[test]
fn v3_reserved_nibble_is_ignored_on_receive() {
    for name in [
        "keepalived_v3_ipv4",
        "keepalived_v3_ipv6",
        "hand_v3_ipv6_2addrs",
    ] {
        let f = load(name);
        let want = expected(name).expect("listed fixture");
        let check = rx_check(&f, &want);
        for nibble in 1..=0x0fu8 {
            let mut bytes = f.bytes.clone();
            bytes[4] |= nibble << 4;
            assert!(
                matches!(
                    Advert::decode(&bytes, &check),
                    Err(RxError::BadChecksum { .. })
                ),
                "{name}: reserved bits under the old checksum"
            );
            bytes[6] = 0;
            bytes[7] = 0;
            let sum = checksum::with_pseudo(f.src, f.dst, PROTOCOL, &bytes)
                .expect("fixture addresses share a family");
            bytes[6..8].copy_from_slice(&sum.to_be_bytes());
            assert_eq!(
                Advert::decode(&bytes, &check),
                Ok(want.clone()),
                "{name}: reserved nibble {nibble:#x} must be ignored"
            );
            assert_eq!(
                want.emit(f.src, f.dst, f.mode).expect("emit"),
                f.bytes,
                "{name}: emit writes the nibble as zero"
            );
        }
    }
}

/// VRRPv2 over IPv6 does not exist (RFC 3768 is IPv4 only): an IPv6 packet checked as
/// v2 is refused before its bytes are looked at further.
#[test]
fn v2_over_ipv6_is_refused() {
    let f = load("hand_v3_ipv6_2addrs");
    let mut bytes = f.bytes.clone();
    bytes[0] = 0x21;
    let check = RxCheck {
        version: Version::V2,
        vrid: 7,
        src: f.src,
        dst: f.dst,
        ttl: 255,
        v3_checksum: V3Checksum::PseudoHeader,
    };
    assert_eq!(Advert::decode(&bytes, &check), Err(RxError::V2OverIpv6));
}

#[test]
fn the_line_format_parser_reads_what_it_should() {
    let f = parse_fixture(
        "inline",
        "# a comment\n\nsrc 192.0.2.9\ndst 224.0.0.18\nttl 255\nchecksum plain\nhex 31 01\nhex ff 01 00 01 00 00\n",
    );
    assert_eq!(f.name, "inline");
    assert_eq!(f.src, v4(192, 0, 2, 9));
    assert_eq!(f.dst, IpAddr::V4(MULTICAST_V4));
    assert_eq!(f.ttl, 255);
    assert_eq!(f.mode, V3Checksum::NoPseudoHeader);
    assert_eq!(f.bytes, [0x31, 0x01, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00]);
}
