//! VRRP advertisements: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), over IPv4 and IPv6.
//!
//! The two packet layouts are drawn, with a name for each field, in the private
//! `field` module below; everything that reads or writes an advert goes through those
//! names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::{checksum, octets};

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4, §5.1.2.3).
pub const PROTOCOL: u8 = 112;
/// The IPv4 multicast group adverts go to (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group adverts go to (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The only VRRP packet type (RFC 5798 §5.2.2).
pub const ADVERT_TYPE: u8 = 1;
/// Fixed part of every advert: version/type, VRID, priority, count, interval, checksum.
pub const FIXED_LEN: usize = field::ADDRESSES;
/// VRRPv2 carries 8 bytes of authentication data after the addresses (RFC 3768 §5.3.10).
pub const V2_AUTH_LEN: usize = 8;
/// The largest VRRPv3 interval: 12 bits of centiseconds (RFC 5798 §5.2.7).
pub const V3_MAX_INTERVAL_CS: u16 = 0x0fff;

/// Where each field of an advert lies, as byte offsets (one-byte fields) and ranges.
///
/// VRRPv3, RFC 5798 §5.1 (fields described in §5.2.1-§5.2.9):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |(rsvd) |     Max Adver Int     |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    IPvX Address(es) ...                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// VRRPv2, IPv4 only, RFC 3768 §5.1 (fields described in §5.3.1-§5.3.10):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Auth Type   |   Adver Int   |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    IP Address(es) ...                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (1)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (2)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// The two differ only in bytes 4 and 5 and in v2's trailing authentication data.
mod field {
    use std::ops::Range;

    /// Version in the high nibble, Type in the low one (RFC 5798 §5.2.1-§5.2.2,
    /// RFC 3768 §5.3.1-§5.3.2).
    pub const VER_TYPE: usize = 0;
    /// Virtual Rtr ID (RFC 5798 §5.2.3, RFC 3768 §5.3.3).
    pub const VRID: usize = 1;
    /// Priority (RFC 5798 §5.2.4, RFC 3768 §5.3.4).
    pub const PRIORITY: usize = 2;
    /// Count IPvX Addr (RFC 5798 §5.2.5, RFC 3768 §5.3.5).
    pub const COUNT: usize = 3;
    /// v3: a reserved nibble (RFC 5798 §5.2.6), then 12 bits of Max Adver Int (§5.2.7).
    pub const V3_RSVD_MAX_ADVER_INT: Range<usize> = 4..6;
    /// v2: Auth Type (RFC 3768 §5.3.6).
    pub const V2_AUTH_TYPE: usize = 4;
    /// v2: Adver Int, in seconds (RFC 3768 §5.3.7).
    pub const V2_ADVER_INT: usize = 5;
    /// Checksum (RFC 5798 §5.2.8, RFC 3768 §5.3.8).
    pub const CHECKSUM: Range<usize> = 6..8;
    /// The addresses start right after the fixed header (RFC 5798 §5.2.9, RFC 3768
    /// §5.3.9).
    pub const ADDRESSES: usize = CHECKSUM.end;

    /// The address list: `count` addresses of `addr_len` bytes each.
    pub fn addresses(count: usize, addr_len: usize) -> Range<usize> {
        ADDRESSES..ADDRESSES + count * addr_len
    }

    /// v2: Authentication Data, right after the addresses (RFC 3768 §5.3.10).
    pub fn v2_auth_data(addresses_end: usize) -> Range<usize> {
        addresses_end..addresses_end + super::V2_AUTH_LEN
    }
}

/// Bytes per address: 4 for IPv4, 16 for IPv6.
fn addr_len(ipv6: bool) -> usize {
    if ipv6 {
        16
    } else {
        4
    }
}

/// Where the addresses and the authentication data lie in an advert of `count`
/// addresses. VRRPv3 has no authentication data: its range is empty, at the end.
fn body_layout(version: Version, count: usize, ipv6: bool) -> (Range<usize>, Range<usize>) {
    let addresses = field::addresses(count, addr_len(ipv6));
    let auth_data = match version {
        Version::V2 => field::v2_auth_data(addresses.end),
        Version::V3 => addresses.end..addresses.end,
    };
    (addresses, auth_data)
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, whole-second intervals, plain checksum.
    V2,
    /// RFC 5798: IPv4 and IPv6, centisecond intervals, pseudo-header checksum.
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// How a VRRPv3 checksum over IPv4 is computed. IPv6 always uses the pseudo-header;
/// VRRPv2 never does. Adverts are sent in the configured form and received in either
/// (see [`Advert::receive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum V3Checksum {
    /// RFC 5798 §5.2.8 as written, and what keepalived and FRR send by default.
    #[default]
    PseudoHeader,
    /// RFC 9568 §5.2.8's form for IPv4: the VRRP message alone, like VRRPv2.
    NoPseudoHeader,
}

/// VRRPv2 authentication fields (RFC 3768 §5.3.6, §5.3.10). Type 0 means none;
/// the other types are deprecated and only carried, never checked, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct V2Auth {
    pub auth_type: u8,
    pub data: [u8; 8],
}

/// One VRRP advertisement, as a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    /// 0 = the master is leaving (RFC 5798 §5.2.4); 255 = address owner.
    pub priority: u8,
    /// Advertisement interval in centiseconds. VRRPv2 carries whole seconds, so for
    /// v2 this is a multiple of 100.
    pub interval_cs: u16,
    /// The virtual addresses; all IPv4 or all IPv6.
    pub addresses: Vec<IpAddr>,
    /// VRRPv2 only; zeros for v3.
    pub auth: V2Auth,
}

/// What the receiver expects of an advert: RFC 5798 §7.1 checks are made against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxCheck {
    pub version: Version,
    pub vrid: u8,
    /// IP source and destination, for the pseudo-header checksum.
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6) the packet arrived with.
    pub ttl: u8,
    /// The receiver's own form for VRRPv3 over IPv4: tried first; the other one is
    /// accepted too.
    pub v3_checksum: V3Checksum,
}

/// An advert that passed every receive check, and how its checksum was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub advert: Advert,
    /// VRRPv3 over IPv4: the form its checksum verified in. `None` where there is no
    /// choice (VRRPv2: never a pseudo-header; IPv6: always one).
    pub checksum: Option<V3Checksum>,
}

/// Why a received advert was dropped: one variant per reason, so each can be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    #[error("TTL/hop limit is {0}, not 255 (the packet was routed)")]
    BadTtl(u8),
    #[error("malformed IPv4 header: {0}")]
    BadIpHeader(#[from] crate::ipv4::Ipv4Error),
    #[error("IP protocol {0} is not VRRP (112)")]
    NotVrrp(u8),
    #[error("advert of {0} bytes is shorter than the 8-byte fixed header")]
    Truncated(usize),
    #[error("VRRP version {got}, expected {expected}")]
    BadVersion { got: u8, expected: u8 },
    #[error("VRRP type {0} is not ADVERTISEMENT (1)")]
    BadType(u8),
    #[error("advert claims {count} addresses but its {len} bytes hold room for fewer")]
    AddressCount { count: u8, len: usize },
    #[error("VRRPv2 advert arrived over IPv6")]
    V2OverIpv6,
    #[error("checksum mismatch: packet has {got:#06x}, computed {computed:#06x}")]
    BadChecksum { got: u16, computed: u16 },
    #[error("VRID {got} is not the configured {expected}")]
    VridMismatch { got: u8, expected: u8 },
    #[error("Max Advertise Interval is 0")]
    ZeroInterval,
    #[error("the advert lists no addresses")]
    NoAddresses,
    /// vipd's authentication trailer ([`crate::auth`]) is missing or does not hold.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

impl RxError {
    /// A short stable name for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            RxError::BadTtl(_) => "bad_ttl",
            RxError::BadIpHeader(_) => "bad_ip_header",
            RxError::NotVrrp(_) => "not_vrrp",
            RxError::Truncated(_) => "truncated",
            RxError::BadVersion { .. } => "bad_version",
            RxError::BadType(_) => "bad_type",
            RxError::AddressCount { .. } => "address_count",
            RxError::V2OverIpv6 => "v2_over_ipv6",
            RxError::BadChecksum { .. } => "bad_checksum",
            RxError::VridMismatch { .. } => "vrid_mismatch",
            RxError::ZeroInterval => "zero_interval",
            RxError::NoAddresses => "no_addresses",
            RxError::Auth(e) => e.kind(),
        }
    }
}

/// Why an advert could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("an advert carries 1 to 255 addresses, not {0}")]
    AddressCount(usize),
    #[error("addresses of both families in one advert")]
    MixedFamilies,
    #[error("VRRPv2 is IPv4 only")]
    V2Ipv6,
    #[error("VRRPv2 intervals are whole seconds from 1 to 255, not {0} cs")]
    V2Interval(u16),
    #[error("VRRPv3 intervals are 1 to 4095 cs, not {0}")]
    V3Interval(u16),
    #[error("source and destination are of different families")]
    FamilyMismatch,
}

/// The VRID of a received VRRP message, read before any other check to find the
/// virtual router it is for (RFC 5798 §5.2.3, RFC 3768 §5.3.3: the second octet).
/// Everything else is checked by [`Advert::receive`] once the router is known.
pub fn peek_vrid(bytes: &[u8]) -> Result<u8, RxError> {
    bytes
        .get(field::VRID)
        .copied()
        .ok_or(RxError::Truncated(bytes.len()))
}

/// Whether the checksum of an advert of `version` over IPv6 (`ipv6`) or IPv4 covers the
/// IP pseudo-header: RFC 5798 §5.2.8 for VRRPv3 (over IPv4 only in the `mode` that
/// RFC 9568 §5.2.8 keeps), never for VRRPv2 (RFC 3768 §5.3.8).
pub fn covers_pseudo_header(version: Version, mode: V3Checksum, ipv6: bool) -> bool {
    version == Version::V3 && (ipv6 || mode == V3Checksum::PseudoHeader)
}

/// Readdresses an emitted advert, `message`, written for destination `old` (the VRRP
/// group), to be sent to `new` instead (a unicast peer): where its checksum covers the
/// pseudo-header ([`covers_pseudo_header`]), the checksum is updated in place (RFC 1624,
/// [`checksum::readdressed`]); otherwise, or for a message too short to hold a checksum
/// or addresses of different families, nothing changes.
pub fn readdress(message: &mut [u8], version: Version, mode: V3Checksum, old: IpAddr, new: IpAddr) {
    if !covers_pseudo_header(version, mode, old.is_ipv6()) {
        return;
    }
    let Some(field) = message.get_mut(field::CHECKSUM) else {
        return;
    };
    let got = u16::from_be_bytes(octets(field));
    if let Some(sum) = checksum::readdressed(got, old, new) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
}

/// Read-only view over the bytes of an advert, smoltcp style: lengths are checked
/// once, then the accessors cannot go out of bounds. The check comes in two steps
/// because RFC 5798 §7.1 puts the version and type checks between them:
/// `new_checked` makes sure of the fixed header, which every accessor here reads,
/// and `check_len` of the addresses and authentication data behind it, which only
/// the `Body` it returns reads.
#[derive(Debug, Clone, Copy)]
pub struct AdvertPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AdvertPacket<T> {
    /// Wraps `buffer` after checking it holds at least the fixed header.
    pub fn new_checked(buffer: T) -> Result<Self, RxError> {
        let len = buffer.as_ref().len();
        if len < FIXED_LEN {
            return Err(RxError::Truncated(len));
        }
        Ok(AdvertPacket { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// A two-byte field of the fixed header, big-endian.
    fn read_u16(&self, field: Range<usize>) -> u16 {
        u16::from_be_bytes(octets(&self.b()[field]))
    }
    pub fn version(&self) -> u8 {
        self.b()[field::VER_TYPE] >> 4
    }
    pub fn kind(&self) -> u8 {
        self.b()[field::VER_TYPE] & 0x0f
    }
    pub fn vrid(&self) -> u8 {
        self.b()[field::VRID]
    }
    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }
    pub fn count(&self) -> u8 {
        self.b()[field::COUNT]
    }
    /// v2: Auth Type; v3: the reserved nibble and the top of Max Adver Int.
    pub fn byte4(&self) -> u8 {
        self.b()[field::V2_AUTH_TYPE]
    }
    /// v3: Max Adver Int, 12 bits of centiseconds (RFC 5798 §5.2.7).
    pub fn v3_interval_cs(&self) -> u16 {
        self.read_u16(field::V3_RSVD_MAX_ADVER_INT) & V3_MAX_INTERVAL_CS
    }
    /// v2: Adver Int in seconds (RFC 3768 §5.3.7).
    pub fn v2_interval_s(&self) -> u8 {
        self.b()[field::V2_ADVER_INT]
    }
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }
    pub fn len(&self) -> usize {
        self.b().len()
    }
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Checks that the advert holds everything its fixed header announces: `count`
    /// addresses of the family it arrived over and, for VRRPv2, the authentication
    /// data. The one length check past the fixed header, for `decode` and `parse`
    /// alike; the [`Body`] it returns is the only way to those bytes.
    fn check_len(&self, version: Version, ipv6: bool) -> Result<Body<'_>, RxError> {
        let (addresses, auth_data) = body_layout(version, usize::from(self.count()), ipv6);
        let end = auth_data.end;
        match (self.b().get(addresses), self.b().get(auth_data)) {
            (Some(addresses), Some(auth_data)) => Ok(Body {
                end,
                addresses,
                auth_data,
                ipv6,
            }),
            _ => Err(RxError::AddressCount {
                count: self.count(),
                len: self.len(),
            }),
        }
    }

    /// A copy of the VRRP message (the first `len` bytes, as [`Self::check_len`] gave
    /// them) with the checksum field zeroed: what the checksum covers.
    fn message_with_checksum_zeroed(&self, len: usize) -> Vec<u8> {
        let mut bytes = self.b()[..len.min(self.len())].to_vec();
        bytes[field::CHECKSUM].fill(0);
        bytes
    }
}

/// The part of an advert after the fixed header, cut to the length its count gives
/// by [`AdvertPacket::check_len`].
struct Body<'a> {
    /// Where the VRRP message ends: after the addresses and (v2) the authentication
    /// data. Anything past it (vipd's authentication trailer) is not part of it.
    end: usize,
    /// `count` addresses, back to back.
    addresses: &'a [u8],
    /// VRRPv2's 8 bytes of authentication data; empty for VRRPv3.
    auth_data: &'a [u8],
    ipv6: bool,
}

impl Body<'_> {
    fn addresses(&self) -> Vec<IpAddr> {
        let chunks = self.addresses.chunks_exact(addr_len(self.ipv6));
        if self.ipv6 {
            chunks.map(|a| IpAddr::from(octets::<16>(a))).collect()
        } else {
            chunks.map(|a| IpAddr::from(octets::<4>(a))).collect()
        }
    }
}

impl Advert {
    /// The address family of the advert (v4 unless its first address is IPv6).
    pub fn is_ipv6(&self) -> bool {
        matches!(self.addresses.first(), Some(IpAddr::V6(_)))
    }

    /// Bytes this advert takes on the wire.
    pub fn wire_len(&self) -> usize {
        let (_, auth_data) = body_layout(self.version, self.addresses.len(), self.is_ipv6());
        auth_data.end
    }

    /// Validates and decodes a received advert per RFC 5798 §7.1 (and RFC 3768 §7.1
    /// for v2). The checks run in the RFC's order; the first failure is returned.
    /// [`Advert::receive`] also says which checksum form it was sent with.
    pub fn decode(bytes: &[u8], check: &RxCheck) -> Result<Advert, RxError> {
        Self::receive(bytes, check).map(|r| r.advert)
    }

    /// [`Advert::decode`], saying which checksum form a VRRPv3 advert over IPv4 came
    /// in.
    pub fn receive(bytes: &[u8], check: &RxCheck) -> Result<Received, RxError> {
        // RFC 5798 §7.1: "MUST verify that the IP TTL is 255" / "IPv6 Hop Limit is 255".
        if check.ttl != 255 {
            return Err(RxError::BadTtl(check.ttl));
        }
        let p = AdvertPacket::new_checked(bytes)?;
        // §7.1: "MUST verify the VRRP version is 3" (or 2 for an RFC 3768 instance).
        if p.version() != check.version.number() {
            return Err(RxError::BadVersion {
                got: p.version(),
                expected: check.version.number(),
            });
        }
        // §5.2.2: the only type is ADVERTISEMENT; others MUST be discarded.
        if p.kind() != ADVERT_TYPE {
            return Err(RxError::BadType(p.kind()));
        }
        let v6 = check.src.is_ipv6();
        if v6 && check.version == Version::V2 {
            return Err(RxError::V2OverIpv6);
        }
        // §7.1: "MUST verify that the received packet contains the complete VRRP packet
        // (including fixed fields, and IPvX address(es))"; RFC 3768 adds the auth data.
        let body = p.check_len(check.version, v6)?;
        // §7.1: "MUST verify the VRRP checksum". The checksum covers the VRRP message,
        // as long as its count makes it (§5.2.8: "the entire VRRP message"); bytes
        // after it, such as vipd's authentication trailer (`crate::auth`), are not
        // part of it.
        let got = p.checksum();
        let zeroed = p.message_with_checksum_zeroed(body.end);
        let sum = |form| match (check.version, form, v6) {
            // RFC 3768 §5.3.8: the VRRP message alone.
            (Version::V2, _, _) => Some(checksum::plain(&zeroed)),
            // RFC 9568 §5.2.8's IPv4 variant without pseudo-header.
            (Version::V3, V3Checksum::NoPseudoHeader, false) => Some(checksum::plain(&zeroed)),
            // RFC 5798 §5.2.8: with the IPv4 or IPv6 pseudo-header.
            (Version::V3, _, _) => checksum::with_pseudo(check.src, check.dst, PROTOCOL, &zeroed),
        };
        let own = check.v3_checksum;
        let computed = sum(own);
        let form = if computed == Some(got) {
            own
        } else {
            // RFC 9568 §5.2.8: VRRPv3 over IPv4 is checksummed with the pseudo-header
            // (RFC 5798) or without it; a receiver takes either, whichever form it
            // sends itself. VRRPv2 and IPv6 have no choice.
            let other = match own {
                V3Checksum::PseudoHeader => V3Checksum::NoPseudoHeader,
                V3Checksum::NoPseudoHeader => V3Checksum::PseudoHeader,
            };
            let choice = check.version == Version::V3 && !v6;
            if !choice || sum(other) != Some(got) {
                // A pseudo-header of mixed families has no sum: nothing matches it.
                let computed = computed.unwrap_or(0);
                return Err(RxError::BadChecksum { got, computed });
            }
            other
        };
        // §7.1: "MUST verify that the VRID is configured on the receiving interface".
        if p.vrid() != check.vrid {
            return Err(RxError::VridMismatch {
                got: p.vrid(),
                expected: check.vrid,
            });
        }
        let advert = Self::from_view(&p, &body, check.version);
        // RFC 5798 erratum 8301: an advert with a Max Advertise Interval of 0 is
        // discarded (a master cannot advertise every 0 cs; a backup would compute a
        // Master_Down_Interval of Skew_Time alone). VRRPv2's Adver Int must equal the
        // configured one (RFC 3768 §7.1), which the engine checks.
        if check.version == Version::V3 && advert.interval_cs == 0 {
            return Err(RxError::ZeroInterval);
        }
        // RFC 5798 erratum 8299: an advert with an address count of 0 is ignored (a
        // virtual router has at least one address; RFC 3768 §5.3.5 alike for VRRPv2).
        if advert.addresses.is_empty() {
            return Err(RxError::NoAddresses);
        }
        let checksum = (check.version == Version::V3 && !v6).then_some(form);
        Ok(Received { advert, checksum })
    }

    /// Splits received bytes into the VRRP message — as long as its count of addresses
    /// makes it for `version` and the family it arrived over, checked like `decode`
    /// checks it — and whatever follows (vipd's authentication trailer, or nothing).
    /// The version field itself is not looked at: `decode` checks it.
    pub fn split_message(
        bytes: &[u8],
        version: Version,
        ipv6: bool,
    ) -> Result<(&[u8], &[u8]), RxError> {
        let p = AdvertPacket::new_checked(bytes)?;
        let end = p.check_len(version, ipv6)?.end;
        Ok(bytes.split_at(end))
    }

    /// Decodes the fields without §7.1 validation (for tools and tests); still never panics.
    pub fn parse(bytes: &[u8], ipv6: bool) -> Result<Advert, RxError> {
        let p = AdvertPacket::new_checked(bytes)?;
        let version = match p.version() {
            2 => Version::V2,
            3 => Version::V3,
            v => {
                return Err(RxError::BadVersion {
                    got: v,
                    expected: 3,
                })
            }
        };
        let body = p.check_len(version, ipv6)?;
        Ok(Self::from_view(&p, &body, version))
    }

    /// Reads the fields from a view and the body its length check gave.
    fn from_view(p: &AdvertPacket<&[u8]>, body: &Body<'_>, version: Version) -> Advert {
        let (interval_cs, auth) = match version {
            Version::V3 => (p.v3_interval_cs(), V2Auth::default()),
            Version::V2 => (
                u16::from(p.v2_interval_s()) * 100,
                V2Auth {
                    auth_type: p.byte4(),
                    data: octets(body.auth_data),
                },
            ),
        };
        Advert {
            version,
            vrid: p.vrid(),
            priority: p.priority(),
            interval_cs,
            addresses: body.addresses(),
            auth,
        }
    }

    /// Writes the advert with its checksum. `src` and `dst` are the IP addresses it will
    /// be sent with (the pseudo-header needs them for v3).
    pub fn emit(&self, src: IpAddr, dst: IpAddr, mode: V3Checksum) -> Result<Vec<u8>, EmitError> {
        let n = self.addresses.len();
        if n == 0 || n > 255 {
            return Err(EmitError::AddressCount(n));
        }
        let v6 = self.is_ipv6();
        if self.addresses.iter().any(|a| a.is_ipv6() != v6) {
            return Err(EmitError::MixedFamilies);
        }
        if src.is_ipv6() != dst.is_ipv6() {
            return Err(EmitError::FamilyMismatch);
        }
        let mut out = vec![0u8; self.wire_len()];
        out[field::VER_TYPE] = (self.version.number() << 4) | ADVERT_TYPE;
        out[field::VRID] = self.vrid;
        out[field::PRIORITY] = self.priority;
        // 1..=255, checked above.
        out[field::COUNT] = n as u8;
        match self.version {
            Version::V2 => {
                if v6 || src.is_ipv6() {
                    return Err(EmitError::V2Ipv6);
                }
                if !self.interval_cs.is_multiple_of(100)
                    || !(100..=25500).contains(&self.interval_cs)
                {
                    return Err(EmitError::V2Interval(self.interval_cs));
                }
                // RFC 3768 §5.3.6-§5.3.7.
                out[field::V2_AUTH_TYPE] = self.auth.auth_type;
                out[field::V2_ADVER_INT] = (self.interval_cs / 100) as u8;
            }
            Version::V3 => {
                if !(1..=V3_MAX_INTERVAL_CS).contains(&self.interval_cs) {
                    return Err(EmitError::V3Interval(self.interval_cs));
                }
                // RFC 5798 §5.2.6-§5.2.7; the interval fits in 12 bits, so the reserved
                // nibble stays zero as it MUST.
                out[field::V3_RSVD_MAX_ADVER_INT].copy_from_slice(&self.interval_cs.to_be_bytes());
            }
        }
        let (addresses, auth_data) = body_layout(self.version, n, v6);
        for (slot, a) in out[addresses]
            .chunks_exact_mut(addr_len(v6))
            .zip(&self.addresses)
        {
            match a {
                IpAddr::V4(a) => slot.copy_from_slice(&a.octets()),
                IpAddr::V6(a) => slot.copy_from_slice(&a.octets()),
            }
        }
        if self.version == Version::V2 {
            out[auth_data].copy_from_slice(&self.auth.data);
        }
        let sum = if covers_pseudo_header(self.version, mode, v6) {
            checksum::with_pseudo(src, dst, PROTOCOL, &out).ok_or(EmitError::FamilyMismatch)?
        } else {
            checksum::plain(&out)
        };
        out[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3() -> Advert {
        Advert {
            version: Version::V3,
            vrid: 51,
            priority: 150,
            interval_cs: 20,
            addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50))],
            auth: V2Auth::default(),
        }
    }

    fn check(a: &Advert, src: IpAddr) -> RxCheck {
        RxCheck {
            version: a.version,
            vrid: a.vrid,
            src,
            dst: if src.is_ipv6() {
                IpAddr::V6(MULTICAST_V6)
            } else {
                IpAddr::V4(MULTICAST_V4)
            },
            ttl: 255,
            v3_checksum: V3Checksum::PseudoHeader,
        }
    }

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn v3_round_trip() {
        let a = v3();
        let c = check(&a, SRC);
        let bytes = a
            .emit(c.src, c.dst, V3Checksum::PseudoHeader)
            .expect("emit");
        assert_eq!(bytes.len(), 12);
        assert_eq!(&bytes[..6], &[0x31, 51, 150, 1, 0, 20]);
        assert_eq!(Advert::decode(&bytes, &c), Ok(a));
    }

    #[test]
    fn each_rx_check_has_its_own_error() {
        let a = v3();
        let c = check(&a, SRC);
        let good = a
            .emit(c.src, c.dst, V3Checksum::PseudoHeader)
            .expect("emit");
        assert_eq!(
            Advert::decode(&good, &RxCheck { ttl: 254, ..c }),
            Err(RxError::BadTtl(254))
        );
        assert_eq!(Advert::decode(&good[..7], &c), Err(RxError::Truncated(7)));
        assert_eq!(
            Advert::decode(&good[..11], &c),
            Err(RxError::AddressCount { count: 1, len: 11 })
        );
        let mut bad = good.clone();
        bad[0] = 0x21;
        assert!(matches!(
            Advert::decode(&bad, &c),
            Err(RxError::BadVersion {
                got: 2,
                expected: 3
            })
        ));
        let mut bad = good.clone();
        bad[0] = 0x32;
        assert_eq!(Advert::decode(&bad, &c), Err(RxError::BadType(2)));
        let mut bad = good.clone();
        bad[11] ^= 1;
        assert!(matches!(
            Advert::decode(&bad, &c),
            Err(RxError::BadChecksum { .. })
        ));
        assert_eq!(
            Advert::decode(&good, &RxCheck { vrid: 52, ..c }),
            Err(RxError::VridMismatch {
                got: 51,
                expected: 52
            })
        );
        // A receiver that sends without the pseudo-header takes the same bytes all the
        // same (RFC 9568 §5.2.8), and is told they came with one.
        let plain = RxCheck {
            v3_checksum: V3Checksum::NoPseudoHeader,
            ..c
        };
        assert_eq!(
            Advert::receive(&good, &plain),
            Ok(Received {
                advert: a.clone(),
                checksum: Some(V3Checksum::PseudoHeader)
            })
        );
        assert_eq!(
            Advert::receive(&good, &c),
            Ok(Received {
                advert: a,
                checksum: Some(V3Checksum::PseudoHeader)
            })
        );
    }

    /// `bytes` with the checksum `c` expects in `form` put in.
    fn checksummed(mut bytes: Vec<u8>, c: &RxCheck, form: V3Checksum) -> Vec<u8> {
        bytes[6..8].fill(0);
        let sum = match (c.version, form) {
            (Version::V3, V3Checksum::PseudoHeader) => {
                checksum::with_pseudo(c.src, c.dst, PROTOCOL, &bytes).expect("one family")
            }
            _ => checksum::plain(&bytes),
        };
        bytes[6..8].copy_from_slice(&sum.to_be_bytes());
        bytes
    }

    #[test]
    fn zero_interval_and_no_addresses_are_refused_with_errors_of_their_own() {
        let a = v3();
        let c = check(&a, SRC);
        for form in [V3Checksum::PseudoHeader, V3Checksum::NoPseudoHeader] {
            let good = a.emit(c.src, c.dst, form).expect("emit");
            // RFC 5798 erratum 8301: Max Advertise Interval 0.
            let mut zero = good.clone();
            zero[4..6].fill(0);
            let zero = checksummed(zero, &c, form);
            assert_eq!(Advert::decode(&zero, &c), Err(RxError::ZeroInterval));
            // The reserved nibble is not part of the interval.
            let mut zero = zero;
            zero[4] = 0xf0;
            let zero = checksummed(zero, &c, form);
            assert_eq!(Advert::decode(&zero, &c), Err(RxError::ZeroInterval));
            // RFC 5798 erratum 8299: an address count of 0 (the header alone).
            let mut empty = good[..FIXED_LEN].to_vec();
            empty[3] = 0;
            let empty = checksummed(empty, &c, form);
            assert_eq!(Advert::decode(&empty, &c), Err(RxError::NoAddresses));
            // parse, which checks nothing, still reads them.
            assert_eq!(
                Advert::parse(&empty, false).map(|a| a.addresses),
                Ok(vec![])
            );
        }
        // VRRPv2 with no addresses (the 8 bytes of authentication data follow the
        // header) is refused the same way; its interval is the engine's to check.
        let v2 = RxCheck {
            version: Version::V2,
            ..c
        };
        let mut bytes = vec![0x21, 51, 150, 0, 0, 1, 0, 0];
        bytes.extend([0; V2_AUTH_LEN]);
        let bytes = checksummed(bytes, &v2, V3Checksum::NoPseudoHeader);
        assert_eq!(Advert::decode(&bytes, &v2), Err(RxError::NoAddresses));
        assert_eq!(RxError::ZeroInterval.kind(), "zero_interval");
        assert_eq!(RxError::NoAddresses.kind(), "no_addresses");
    }

    /// `decode` and `parse` share one length check: every cut of a good advert that
    /// keeps the fixed header is refused by both, with the same error.
    #[test]
    fn decode_and_parse_refuse_the_same_short_adverts() {
        let mut v2 = v3();
        v2.version = Version::V2;
        v2.interval_cs = 100;
        for a in [v3(), v2] {
            let c = check(&a, SRC);
            let good = a.emit(c.src, c.dst, c.v3_checksum).expect("emit");
            for len in FIXED_LEN..good.len() {
                let want = Err(RxError::AddressCount { count: 1, len });
                assert_eq!(Advert::decode(&good[..len], &c), want, "{a:?} cut to {len}");
                assert_eq!(
                    Advert::parse(&good[..len], false),
                    want,
                    "{a:?} cut to {len}"
                );
            }
        }
    }

    #[test]
    fn emit_refuses_what_the_wire_cannot_say() {
        let mut a = v3();
        a.interval_cs = 0;
        assert_eq!(
            a.emit(SRC, IpAddr::V4(MULTICAST_V4), V3Checksum::PseudoHeader),
            Err(EmitError::V3Interval(0))
        );
        a.interval_cs = 100;
        a.version = Version::V2;
        a.addresses = vec![];
        assert_eq!(
            a.emit(SRC, IpAddr::V4(MULTICAST_V4), V3Checksum::PseudoHeader),
            Err(EmitError::AddressCount(0))
        );
        a.addresses = vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50))];
        a.interval_cs = 150;
        assert_eq!(
            a.emit(SRC, IpAddr::V4(MULTICAST_V4), V3Checksum::PseudoHeader),
            Err(EmitError::V2Interval(150))
        );
    }
}
