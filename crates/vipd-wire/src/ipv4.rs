//! The IPv4 header a raw socket hands us in front of each VRRP advert (RFC 791 §3.1).
//!
//! Only what receive validation needs is read; the kernel builds the header on send.

use std::net::Ipv4Addr;

use crate::octets;

/// Where the fields read here lie in an IPv4 header, RFC 791 §3.1:
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version|  IHL  |Type of Service|          Total Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Identification        |Flags|      Fragment Offset    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Source Address                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Destination Address                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Options                    |    Padding    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
mod field {
    use std::ops::Range;

    /// Version in the high nibble, IHL (header length in 32-bit words) in the low one.
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    /// The header without options ends with the destination address.
    pub const MIN_HEADER_LEN: usize = DST.end;
}

/// Why an IPv4 header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4Error {
    #[error("IPv4 datagram of {0} bytes is shorter than the 20-byte minimum header")]
    Truncated(usize),
    #[error("IP version field is {0}, not 4")]
    NotV4(u8),
    #[error("IPv4 header length (IHL) is {0} words; at least 5 are required")]
    BadIhl(u8),
    #[error("IPv4 header says {header} bytes but only {got} arrived")]
    ShortDatagram { header: usize, got: usize },
}

/// The fields of an IPv4 header that VRRP receive processing looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub protocol: u8,
    /// Header length in bytes (IHL × 4), options included.
    pub header_len: usize,
    /// Total length from the header.
    pub total_len: usize,
}

impl Ipv4Header {
    /// Parses the header at the front of `datagram` and returns it with the payload.
    ///
    /// RFC 791 §3.1: the header is IHL 32-bit words long (options included), and the
    /// datagram is Total Length bytes; bytes past Total Length (link padding) are ignored.
    pub fn parse(datagram: &[u8]) -> Result<(Ipv4Header, &[u8]), Ipv4Error> {
        if datagram.len() < field::MIN_HEADER_LEN {
            return Err(Ipv4Error::Truncated(datagram.len()));
        }
        // From here on every field of the option-less header is in bounds.
        let version = datagram[field::VER_IHL] >> 4;
        if version != 4 {
            return Err(Ipv4Error::NotV4(version));
        }
        let ihl = datagram[field::VER_IHL] & 0x0f;
        if ihl < 5 {
            return Err(Ipv4Error::BadIhl(ihl));
        }
        let header_len = usize::from(ihl) * 4;
        let total_len = usize::from(u16::from_be_bytes(octets(&datagram[field::TOTAL_LEN])));
        if total_len < header_len {
            return Err(Ipv4Error::ShortDatagram {
                header: header_len,
                got: total_len,
            });
        }
        if datagram.len() < total_len {
            return Err(Ipv4Error::ShortDatagram {
                header: total_len,
                got: datagram.len(),
            });
        }
        let header = Ipv4Header {
            src: Ipv4Addr::from(octets(&datagram[field::SRC])),
            dst: Ipv4Addr::from(octets(&datagram[field::DST])),
            ttl: datagram[field::TTL],
            protocol: datagram[field::PROTOCOL],
            header_len,
            total_len,
        };
        Ok((header, &datagram[header_len..total_len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ihl: u8, total: u16) -> Vec<u8> {
        let mut h = vec![0u8; usize::from(total)];
        h[0] = 0x40 | ihl;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[8] = 255;
        h[9] = 112;
        h[12..16].copy_from_slice(&[192, 0, 2, 1]);
        h[16..20].copy_from_slice(&[224, 0, 0, 18]);
        h
    }

    #[test]
    fn honours_ihl_with_options() {
        let mut d = header(6, 32);
        d[24] = 0xaa;
        let (h, payload) = Ipv4Header::parse(&d).expect("valid header");
        assert_eq!(h.header_len, 24);
        assert_eq!(payload.len(), 8);
        assert_eq!(payload[0], 0xaa);
        assert_eq!(h.ttl, 255);
        assert_eq!(h.src, Ipv4Addr::new(192, 0, 2, 1));
    }

    #[test]
    fn ignores_link_padding_past_total_length() {
        let mut d = header(5, 28);
        d.extend_from_slice(&[0; 18]);
        let (_, payload) = Ipv4Header::parse(&d).expect("valid header");
        assert_eq!(payload.len(), 8);
    }

    #[test]
    fn refuses_bad_headers() {
        assert_eq!(
            Ipv4Header::parse(&[0x45; 10]),
            Err(Ipv4Error::Truncated(10))
        );
        assert_eq!(Ipv4Header::parse(&header(4, 28)), Err(Ipv4Error::BadIhl(4)));
        let mut v6 = header(5, 28);
        v6[0] = 0x65;
        assert_eq!(Ipv4Header::parse(&v6), Err(Ipv4Error::NotV4(6)));
        let mut short = header(5, 28);
        short.truncate(24);
        assert!(matches!(
            Ipv4Header::parse(&short),
            Err(Ipv4Error::ShortDatagram { .. })
        ));
        // IHL pointing past Total Length.
        let mut over = header(15, 40);
        over[2..4].copy_from_slice(&40u16.to_be_bytes());
        assert!(matches!(
            Ipv4Header::parse(&over),
            Err(Ipv4Error::ShortDatagram { .. })
        ));
    }
}
