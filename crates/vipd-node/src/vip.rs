//! [`Vip`]: a virtual address with its prefix length, written `addr[/prefix]`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A virtual IP address and the prefix length it is added with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl Vip {
    /// Longest prefix for the address's family: 32 or 128.
    pub fn max_prefix_len(addr: IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why a VIP string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VipParseError {
    #[error("`{0}` is not an IP address")]
    BadAddress(String),
    #[error("`{text}` has a bad prefix length; expected /1 to /{max}")]
    BadPrefix { text: String, max: u8 },
    #[error("{addr} is {kind} and cannot be a VIP")]
    Unusable { addr: IpAddr, kind: &'static str },
}

impl FromStr for Vip {
    type Err = VipParseError;

    /// Parses `192.0.2.50/24`, `192.0.2.50` (= /32), `2001:db8::50/64`, `2001:db8::50`
    /// (= /128).
    fn from_str(text: &str) -> Result<Vip, VipParseError> {
        let s = text.trim();
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| VipParseError::BadAddress(s.to_owned()))?;
        let max = Vip::max_prefix_len(addr);
        let prefix_len = match prefix_text {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if (1..=max).contains(&n) && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(VipParseError::BadPrefix {
                        text: s.to_owned(),
                        max,
                    })
                }
            },
        };
        if let Some(kind) = unusable(addr) {
            return Err(VipParseError::Unusable { addr, kind });
        }
        Ok(Vip { addr, prefix_len })
    }
}

/// Addresses that make no sense as a floating VIP.
fn unusable(addr: IpAddr) -> Option<&'static str> {
    match addr {
        a if a.is_unspecified() => Some("unspecified"),
        a if a.is_loopback() => Some("a loopback address"),
        a if a.is_multicast() => Some("a multicast address"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip(s: &str) -> Result<Vip, VipParseError> {
        s.parse()
    }

    #[test]
    fn parses_with_and_without_prefix() {
        let v = vip("192.0.2.50/24").expect("valid");
        assert_eq!(v.addr, "192.0.2.50".parse::<IpAddr>().expect("addr"));
        assert_eq!(v.prefix_len, 24);
        assert_eq!(v.to_string(), "192.0.2.50/24");
        assert_eq!(vip("192.0.2.50").expect("valid").prefix_len, 32);
        assert_eq!(vip("2001:db8::50").expect("valid").prefix_len, 128);
        assert_eq!(
            vip("2001:db8::50/64").expect("valid").to_string(),
            "2001:db8::50/64"
        );
    }

    #[test]
    fn rejects_bad_addresses_and_prefixes() {
        assert_eq!(
            vip("192.0.2.300/24"),
            Err(VipParseError::BadAddress("192.0.2.300/24".into()))
        );
        assert!(matches!(
            vip("192.0.2.1/33"),
            Err(VipParseError::BadPrefix { max: 32, .. })
        ));
        assert!(matches!(
            vip("2001:db8::1/129"),
            Err(VipParseError::BadPrefix { max: 128, .. })
        ));
        for bad in ["192.0.2.1/0", "192.0.2.1/", "192.0.2.1/+8", "192.0.2.1/x"] {
            assert!(
                matches!(vip(bad), Err(VipParseError::BadPrefix { .. })),
                "{bad}"
            );
        }
        for bad in [
            "0.0.0.0",
            "::",
            "127.0.0.1/8",
            "::1",
            "224.0.0.18",
            "ff02::12",
        ] {
            assert!(
                matches!(vip(bad), Err(VipParseError::Unusable { .. })),
                "{bad}"
            );
        }
        assert!(vip("255.255.255.255").is_err());
        assert!(vip("web").is_err());
    }
}
