//! Authenticated adverts (opt-in per instance, `auth:` in the configuration): an
//! HMAC-SHA256 trailer behind every advert, so that a host without the key cannot take
//! part in the election — a forged priority-255 advert moves nothing.
//!
//! The trailer's layout is `vipd_wire::auth`'s; here are the key, the MAC and the
//! sequence numbers:
//! - **Send**: the node signs the bytes of every `Output::SendAdvert` of an instance
//!   with `auth` (its current key) before handing them to the shell. The sequence number
//!   is the node's, one counter for all its instances, that never goes back across
//!   restarts whatever the wall clock does ([`crate::auth_state`]).
//! - **Receive**: before the engine sees a datagram for such an instance (running or
//!   leaving), the trailer must be there and well-formed, its MAC must match under the
//!   current or the previous key, and its sequence number must be above the last one
//!   accepted from that source (remembered per instance, for at most [`MAX_SOURCES`]
//!   sources, and kept across restarts: [`crate::auth_state`]). Whatever fails is
//!   dropped and counted under `auth_missing`, `auth_malformed`, `auth_bad_mac` or
//!   `auth_replay`; only the VRRP message goes on to the engine, whose RFC 5798 §7.1
//!   checks follow.
//!
//! The MAC is compared in constant time (`hmac`'s `verify_slice`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vipd_wire::auth::{self as trailer, AuthError, Trailer, MAC_LEN};
use vipd_wire::{RxError, Version};

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;
/// The longest key accepted, in bytes: HMAC-SHA256 hashes longer keys down to 32 bytes
/// anyway.
pub const MAX_KEY_BYTES: usize = 64;
pub use crate::auth_watch::MAX_SOURCES;

/// A secret key. Its `Debug` shows `<redacted>`, so a configuration can be printed.
#[derive(Clone)]
pub struct AuthKey {
    bytes: Vec<u8>,
    /// HMAC-SHA256 keyed with `bytes`, ready to be cloned for each advert.
    keyed: HmacSha256,
}

/// Why a key was refused. No variant shows any of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is empty; write it as hex digits, e.g. the output of `openssl rand -hex 32`")]
    Empty,
    #[error("the key has a character that is not a hexadecimal digit (at offset {0})")]
    NotHex(usize),
    #[error("the key has an odd number of hexadecimal digits ({0}); each byte takes two")]
    OddDigits(usize),
    #[error("the key is {0} bytes; at least {MIN_KEY_BYTES} are required (`openssl rand -hex 32` makes 32)")]
    TooShort(usize),
    #[error("the key is {0} bytes; at most {MAX_KEY_BYTES} are accepted")]
    TooLong(usize),
}

impl AuthKey {
    /// A key written as hex digits (`openssl rand -hex 32`), with white space around it
    /// (a final newline) allowed and none inside.
    pub fn from_hex(text: &str) -> Result<AuthKey, KeyError> {
        let digits = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if digits.is_empty() {
            return Err(KeyError::Empty);
        }
        let offset = text.len()
            - text
                .trim_start_matches(|c: char| c.is_ascii_whitespace())
                .len();
        if let Some(at) = digits.bytes().position(|b| !b.is_ascii_hexdigit()) {
            return Err(KeyError::NotHex(offset + at));
        }
        if digits.len() % 2 != 0 {
            return Err(KeyError::OddDigits(digits.len()));
        }
        let bytes: Vec<u8> = digits
            .as_bytes()
            .chunks_exact(2)
            .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1]))
            .collect();
        AuthKey::from_bytes(bytes)
    }

    /// A key of these bytes ([`MIN_KEY_BYTES`] to [`MAX_KEY_BYTES`]).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<AuthKey, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(bytes.len()));
        }
        if bytes.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooLong(bytes.len()));
        }
        // HMAC takes a key of any length; the length error cannot happen.
        let keyed =
            HmacSha256::new_from_slice(&bytes).map_err(|_| KeyError::TooLong(bytes.len()))?;
        Ok(AuthKey { bytes, keyed })
    }

    /// The key's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// HMAC-SHA256 of `input` under this key.
    pub fn mac(&self, input: &[u8]) -> [u8; MAC_LEN] {
        let mut m = self.keyed.clone();
        m.update(input);
        m.finalize().into_bytes().into()
    }

    /// Whether `mac` is the MAC of `input` under this key, compared in constant time.
    pub fn verify(&self, input: &[u8], mac: &[u8; MAC_LEN]) -> bool {
        let mut m = self.keyed.clone();
        m.update(input);
        m.verify_slice(mac).is_ok()
    }
}

/// The value of one ASCII hex digit (checked before).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for AuthKey {
    fn eq(&self, other: &AuthKey) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for AuthKey {}

/// An instance's authentication: the key it signs with and accepts, and during a key
/// rotation the previous key, still accepted on receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub key: AuthKey,
    pub previous_key: Option<AuthKey>,
}

/// `message` (a VRRP message as the engine wrote it) signed by `src` with `key` and
/// sequence number `seq`: the message with its trailer behind it.
pub fn sign(key: &AuthKey, src: IpAddr, message: Vec<u8>, seq: u64) -> Vec<u8> {
    let mac = key.mac(&trailer::mac_input(src, &message, seq));
    trailer::append(message, &Trailer { seq, mac })
}

/// The last sequence number accepted from each source, for one instance.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    last: BTreeMap<IpAddr, Accepted>,
    /// Counts acceptances, to find the source heard from least recently.
    tick: u64,
}

#[derive(Debug, Clone, Copy)]
struct Accepted {
    seq: u64,
    tick: u64,
}

impl Replay {
    /// Whether `seq` from `src` is new: above the last one accepted from it.
    pub fn check(&self, src: IpAddr, seq: u64) -> Result<(), AuthError> {
        match self.last.get(&src) {
            Some(a) if seq <= a.seq => Err(AuthError::Replay { seq, last: a.seq }),
            _ => Ok(()),
        }
    }

    /// Remembers `seq` as the last accepted from `src`.
    pub fn accept(&mut self, src: IpAddr, seq: u64) {
        self.tick += 1;
        if !self.last.contains_key(&src) && self.last.len() >= MAX_SOURCES {
            let oldest = self
                .last
                .iter()
                .min_by_key(|(_, a)| a.tick)
                .map(|(addr, _)| *addr);
            if let Some(oldest) = oldest {
                self.last.remove(&oldest);
            }
        }
        self.last.insert(
            src,
            Accepted {
                seq,
                tick: self.tick,
            },
        );
    }

    /// Remembers what a run kept ([`crate::auth_state::AuthState::accepted`]).
    pub fn kept(numbers: &BTreeMap<IpAddr, u64>) -> Replay {
        let mut r = Replay::default();
        for (src, seq) in numbers {
            r.accept(*src, *seq);
        }
        r
    }

    /// The last number accepted from each source, to be kept across a restart.
    pub fn kept_numbers(&self) -> BTreeMap<IpAddr, u64> {
        self.last.iter().map(|(src, a)| (*src, a.seq)).collect()
    }

    /// How many sources are remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

/// Checks an advert that arrived from `src` for an instance with `auth`, remembering its
/// sequence number in `replay` if it passes. Returns the VRRP message, for the engine.
pub fn verify<'b>(
    auth: &AuthConfig,
    replay: &mut Replay,
    src: IpAddr,
    bytes: &'b [u8],
    version: Version,
    ipv6: bool,
) -> Result<&'b [u8], RxError> {
    let signed = trailer::split(bytes, version, ipv6)?;
    let input = signed.mac_input(src);
    let mac = &signed.trailer.mac;
    let genuine = auth.key.verify(&input, mac)
        || auth
            .previous_key
            .as_ref()
            .is_some_and(|k| k.verify(&input, mac));
    if !genuine {
        return Err(AuthError::BadMac.into());
    }
    replay.check(src, signed.trailer.seq)?;
    replay.accept(src, signed.trailer.seq);
    Ok(signed.message)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
    /// The fixture of vipd-wire's tests/auth_trailer.rs: a VRRPv3 advert from
    /// 192.0.2.11 (VRID 51, priority 150, 200 ms, VIP 192.0.2.50), sequence
    /// 1_700_000_000_000_000_000, key 00 01 .. 1f. The MAC was computed with
    /// `openssl dgst -sha256 -mac HMAC -macopt hexkey:...` over the MAC input.
    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    const MESSAGE: &str = "313396010014d3e9c0000232";
    const SEQ: u64 = 1_700_000_000_000_000_000;
    const SIGNED: &str = "313396010014d3e9c0000232\
                          7669700117979cfe362a0000\
                          be62bbab2a3e4ced214944009949156ff9dae9990af228c717d6e736e7b9d0ff";

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn key() -> AuthKey {
        AuthKey::from_hex(KEY_HEX).expect("fixture key")
    }

    fn other_key() -> AuthKey {
        AuthKey::from_hex(&"ab".repeat(32)).expect("other key")
    }

    fn only(key: AuthKey) -> AuthConfig {
        AuthConfig {
            key,
            previous_key: None,
        }
    }

    #[test]
    fn signs_the_fixture() {
        assert_eq!(sign(&key(), SRC, bytes(MESSAGE), SEQ), bytes(SIGNED));
    }

    #[test]
    fn verifies_the_fixture_once() {
        let wire = bytes(SIGNED);
        let mut replay = Replay::default();
        let got = verify(&only(key()), &mut replay, SRC, &wire, Version::V3, false);
        assert_eq!(got, Ok(&bytes(MESSAGE)[..]));
        // The same bytes again: a replay.
        assert_eq!(
            verify(&only(key()), &mut replay, SRC, &wire, Version::V3, false),
            Err(RxError::Auth(AuthError::Replay {
                seq: SEQ,
                last: SEQ
            }))
        );
    }

    #[test]
    fn each_failure_has_its_reason() {
        let wire = bytes(SIGNED);
        let mut replay = Replay::default();
        let mut check = |auth: &AuthConfig, src: IpAddr, b: &[u8]| {
            verify(auth, &mut replay, src, b, Version::V3, false)
                .map(<[u8]>::len)
                .map_err(|e| e.kind())
        };
        assert_eq!(
            check(&only(key()), SRC, &bytes(MESSAGE)),
            Err("auth_missing")
        );
        assert_eq!(check(&only(key()), SRC, &wire[..50]), Err("auth_malformed"));
        assert_eq!(check(&only(other_key()), SRC, &wire), Err("auth_bad_mac"));
        // The same advert from another source: the source is covered.
        let elsewhere = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66));
        assert_eq!(check(&only(key()), elsewhere, &wire), Err("auth_bad_mac"));
        // Every bit of the message and the trailer is covered.
        for bit in 0..wire.len() * 8 {
            let mut bad = wire.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let got = check(&only(key()), SRC, &bad);
            assert!(
                matches!(
                    got,
                    Err("auth_bad_mac" | "auth_malformed" | "address_count")
                ),
                "bit {bit}: {got:?}"
            );
        }
        // Nothing was accepted, so the genuine advert still is.
        assert_eq!(check(&only(key()), SRC, &wire), Ok(12));
    }

    #[test]
    fn the_previous_key_is_accepted_during_a_rotation() {
        let wire = bytes(SIGNED);
        let rotating = AuthConfig {
            key: other_key(),
            previous_key: Some(key()),
        };
        let mut replay = Replay::default();
        assert!(verify(&rotating, &mut replay, SRC, &wire, Version::V3, false).is_ok());
        let newer = sign(&other_key(), SRC, bytes(MESSAGE), SEQ + 1);
        assert!(verify(&rotating, &mut replay, SRC, &newer, Version::V3, false).is_ok());
    }

    #[test]
    fn replay_memory_is_bounded_and_forgets_the_quietest_source() {
        let mut r = Replay::default();
        let src = |n: usize| IpAddr::V4(Ipv4Addr::new(192, 0, 2, u8::try_from(n).expect("small")));
        for n in 0..MAX_SOURCES {
            r.accept(src(n), 10);
        }
        // Source 0 is heard again: source 1 is now the quietest.
        r.accept(src(0), 11);
        r.accept(src(200), 10);
        assert_eq!(r.len(), MAX_SOURCES);
        assert!(r.check(src(0), 11).is_err());
        assert!(r.check(src(1), 1).is_ok(), "source 1 was forgotten");
        assert!(r.check(src(2), 10).is_err());
        assert!(r.check(src(200), 10).is_err());
    }

    #[test]
    fn keys_from_hex() {
        assert_eq!(key().len(), 32);
        assert_eq!(
            AuthKey::from_hex("  00112233445566778899aabbccddeeff \n").map(|k| k.len()),
            Ok(16)
        );
        assert_eq!(
            AuthKey::from_hex("00112233445566778899AABBCCDDEEFF"),
            AuthKey::from_hex("00112233445566778899aabbccddeeff")
        );
        assert_eq!(AuthKey::from_hex(" \n").err(), Some(KeyError::Empty));
        assert_eq!(
            AuthKey::from_hex(&"ab".repeat(15)).err(),
            Some(KeyError::TooShort(15))
        );
        assert_eq!(
            AuthKey::from_hex(&"ab".repeat(65)).err(),
            Some(KeyError::TooLong(65))
        );
        assert_eq!(
            AuthKey::from_hex(&format!("{}a", "ab".repeat(16))).err(),
            Some(KeyError::OddDigits(33))
        );
        assert_eq!(
            AuthKey::from_hex(&format!(" {} {}", "ab".repeat(8), "ab".repeat(8))).err(),
            Some(KeyError::NotHex(17))
        );
        assert_eq!(
            AuthKey::from_hex(&format!("0x{}", "ab".repeat(16))).err(),
            Some(KeyError::NotHex(1))
        );
    }

    #[test]
    fn keys_never_show() {
        let auth = AuthConfig {
            key: key(),
            previous_key: Some(other_key()),
        };
        let shown = format!("{auth:?} {auth:#?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        for secret in ["0001020304", "00, 01", "abab", "171, 171", "ab, ab"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
