//! vipd's authentication trailer: an opt-in HMAC-SHA256 behind the VRRP message, so that
//! only routers holding the instance's key can take part in its election.
//!
//! An authenticated advert is the VRRP message exactly as RFC 5798 (or RFC 3768) makes
//! it — its checksum covering the message alone, as always — followed by a 44-byte
//! trailer:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! ~        VRRP message (RFC 5798 §5.1 / RFC 3768 §5.1): the      ~
//! |        fixed header, Count addresses, v2's auth data          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ <- trailer, offset 0
//! |   'v' (0x76)  |   'i' (0x69)  |   'p' (0x70)  |  Version (1)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +              Sequence Number (64 bits, big-endian)            +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! ~              MAC: HMAC-SHA256, 32 bytes (offsets 12..44)      ~
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! MAC = HMAC-SHA256(key, IP source address (4 or 16 bytes) || VRRP message (as sent,
//! checksum included) || trailer bytes 0..12 (tag and sequence number)).
//!
//! - The **tag** names the format and its version; a receiver refuses any other.
//! - The **sequence number** grows with every advert a sender sends; a receiver accepts
//!   from each source only numbers above the last it accepted from it (no replays).
//!   vipd starts it at the nanoseconds since the Unix epoch when it starts, so it keeps
//!   growing across restarts.
//! - The **source address** is covered so that an advert cannot be re-sent from another
//!   address; the destination is not (multicast and unicast copies are the same advert).
//!
//! The VRRP checksum covers the message alone, so a decoder without authentication sees
//! a normal advert followed by 44 bytes. One that insists on the exact length
//! (keepalived does) drops it: keepalived cannot take part in an authenticated group.
//!
//! This module only lays the bytes out; the MAC itself is computed by `vipd-node`.

use std::net::IpAddr;

use crate::octets;
use crate::vrrp::{Advert, RxError, Version};

/// The first four trailer bytes: "vip" and the format version, 1.
pub const TAG: [u8; 4] = [b'v', b'i', b'p', 1];
/// Bytes of HMAC-SHA256.
pub const MAC_LEN: usize = 32;
/// Bytes of the whole trailer.
pub const TRAILER_LEN: usize = field::MAC.end;

/// Where each field of the trailer lies, as ranges from its first byte.
mod field {
    use std::ops::Range;

    /// "vip" and the format version.
    pub const TAG: Range<usize> = 0..4;
    /// The sender's sequence number, big-endian.
    pub const SEQ: Range<usize> = TAG.end..TAG.end + 8;
    /// HMAC-SHA256.
    pub const MAC: Range<usize> = SEQ.end..SEQ.end + super::MAC_LEN;
    /// The trailer bytes the MAC covers: everything before it.
    pub const SIGNED: Range<usize> = TAG.start..SEQ.end;
}

/// Why an advert failed authentication: one variant per counter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no authentication trailer (a router without auth configured, keepalived, or a forgery)"
    )]
    Missing,
    #[error("{len} bytes follow the VRRP message; an authentication trailer is {TRAILER_LEN}")]
    BadLength { len: usize },
    #[error("trailer tag {got:02x?} is not {TAG:02x?} (another format or version)")]
    BadTag { got: [u8; 4] },
    #[error("the MAC does not match (another key, or the advert was altered)")]
    BadMac,
    #[error(
        "sequence number {seq} is not above {last}, the last accepted from this source (a replay)"
    )]
    Replay { seq: u64, last: u64 },
}

impl AuthError {
    /// The counter name: `auth_missing`, `auth_malformed`, `auth_bad_mac`, `auth_replay`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Missing => "auth_missing",
            AuthError::BadLength { .. } | AuthError::BadTag { .. } => "auth_malformed",
            AuthError::BadMac => "auth_bad_mac",
            AuthError::Replay { .. } => "auth_replay",
        }
    }
}

/// The trailer's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub seq: u64,
    pub mac: [u8; MAC_LEN],
}

impl Trailer {
    /// Reads the bytes that follow a VRRP message as a trailer.
    pub fn parse(bytes: &[u8]) -> Result<Trailer, AuthError> {
        if bytes.is_empty() {
            return Err(AuthError::Missing);
        }
        if bytes.len() != TRAILER_LEN {
            return Err(AuthError::BadLength { len: bytes.len() });
        }
        let got: [u8; 4] = octets(&bytes[field::TAG]);
        if got != TAG {
            return Err(AuthError::BadTag { got });
        }
        Ok(Trailer {
            seq: u64::from_be_bytes(octets(&bytes[field::SEQ])),
            mac: octets(&bytes[field::MAC]),
        })
    }

    /// The trailer's bytes.
    pub fn emit(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0u8; TRAILER_LEN];
        out[field::TAG].copy_from_slice(&TAG);
        out[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        out[field::MAC].copy_from_slice(&self.mac);
        out
    }
}

/// An authenticated advert taken apart (its MAC not checked yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed<'a> {
    /// The VRRP message, for the engine once the MAC holds.
    pub message: &'a [u8],
    pub trailer: Trailer,
}

impl Signed<'_> {
    /// What the MAC must be of, had this arrived from `src`.
    pub fn mac_input(&self, src: IpAddr) -> Vec<u8> {
        mac_input(src, self.message, self.trailer.seq)
    }
}

/// Splits a received advert into its VRRP message and its trailer. `version` and `ipv6`
/// are the receiving instance's: they give the message's length with its count.
pub fn split(bytes: &[u8], version: Version, ipv6: bool) -> Result<Signed<'_>, RxError> {
    let (message, rest) = Advert::split_message(bytes, version, ipv6)?;
    Ok(Signed {
        message,
        trailer: Trailer::parse(rest)?,
    })
}

/// The bytes the MAC covers: the IP source address, the VRRP message, then the
/// trailer's tag and sequence number.
pub fn mac_input(src: IpAddr, message: &[u8], seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + message.len() + field::SIGNED.len());
    match src {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
    out.extend_from_slice(message);
    out.extend_from_slice(&TAG);
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// `message` with its trailer behind it: what goes on the wire.
pub fn append(mut message: Vec<u8>, trailer: &Trailer) -> Vec<u8> {
    message.extend_from_slice(&trailer.emit());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(TRAILER_LEN, 44);
        assert_eq!(field::SIGNED, 0..12);
        let t = Trailer {
            seq: 0x0102_0304_0506_0708,
            mac: [0xaa; MAC_LEN],
        };
        let b = t.emit();
        assert_eq!(&b[..12], &[0x76, 0x69, 0x70, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[12..], &[0xaa; 32]);
        assert_eq!(Trailer::parse(&b), Ok(t));
    }

    #[test]
    fn each_malformation_has_its_error() {
        let b = Trailer {
            seq: 7,
            mac: [1; MAC_LEN],
        }
        .emit();
        assert_eq!(Trailer::parse(&[]), Err(AuthError::Missing));
        assert_eq!(
            Trailer::parse(&b[..43]),
            Err(AuthError::BadLength { len: 43 })
        );
        let mut longer = b.to_vec();
        longer.push(0);
        assert_eq!(
            Trailer::parse(&longer),
            Err(AuthError::BadLength { len: 45 })
        );
        let mut v2 = b;
        v2[3] = 2;
        assert_eq!(
            Trailer::parse(&v2),
            Err(AuthError::BadTag {
                got: [0x76, 0x69, 0x70, 2]
            })
        );
        for (e, kind) in [
            (AuthError::Missing, "auth_missing"),
            (AuthError::BadLength { len: 1 }, "auth_malformed"),
            (AuthError::BadTag { got: [0; 4] }, "auth_malformed"),
            (AuthError::BadMac, "auth_bad_mac"),
            (AuthError::Replay { seq: 1, last: 2 }, "auth_replay"),
        ] {
            assert_eq!(e.kind(), kind);
            assert_eq!(RxError::from(e).kind(), kind);
        }
    }
}
