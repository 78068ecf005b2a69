//! The two address lists of an instance, checked entry by entry while deserializing
//! (so an error points at the offending entry): `vips` and `unicast_peers`.

use std::fmt;
use std::net::IpAddr;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use vipd_node::config::Vip;

use super::fields::MAX_VIPS;

/// The `vips` list: 1 to 255 addresses of one family, no duplicates.
///
/// Checked element by element, so an error points at the offending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipList(pub Vec<Vip>);

impl<'de> Deserialize<'de> for VipList {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VipList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of addresses such as [192.0.2.50/24]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<VipList, A::Error> {
                let mut vips: Vec<Vip> = Vec::new();
                while let Some(vip) = seq.next_element_seed(NextVip { before: &vips })? {
                    vips.push(vip);
                }
                if vips.is_empty() {
                    return Err(de::Error::custom(
                        "at least one VIP is required, e.g. [192.0.2.50/24]",
                    ));
                }
                Ok(VipList(vips))
            }
        }
        de.deserialize_seq(V)
    }
}

/// One entry of a [`VipList`], checked against the entries before it.
struct NextVip<'a> {
    before: &'a [Vip],
}

impl<'de> DeserializeSeed<'de> for NextVip<'_> {
    type Value = Vip;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Vip, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NextVip<'_> {
    type Value = Vip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an address such as 192.0.2.50/24 or 2001:db8::50/64")
    }

    scalars_as_text!();

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Vip, E> {
        let vip: Vip = s.parse().map_err(E::custom)?;
        if self.before.len() >= MAX_VIPS {
            return Err(E::custom(format!(
                "too many VIPs; an instance can have at most {MAX_VIPS}"
            )));
        }
        if let Some(i) = self.before.iter().position(|v| v.addr == vip.addr) {
            return Err(E::custom(format!(
                "{} is listed twice (also vips[{i}])",
                vip.addr
            )));
        }
        if let Some(first) = self.before.first() {
            if first.addr.is_ipv4() != vip.addr.is_ipv4() {
                return Err(E::custom(format!(
                    "{} is {} but vips[0] is {}; an instance's VIPs must all be one \
                     address family (use a second instance for the other)",
                    vip.addr,
                    family(vip.addr),
                    family(first.addr)
                )));
            }
        }
        Ok(vip)
    }
}

/// The `unicast_peers` list: at least one address (no prefix length), all of one family,
/// no duplicates, each one a host could send from. The checks against the rest of the
/// instance (its family, its VIPs) are `validate`'s.
///
/// Checked element by element, so an error points at the offending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerList(pub Vec<IpAddr>);

impl<'de> Deserialize<'de> for PeerList {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PeerList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of the peers' addresses such as [192.0.2.12, 192.0.2.13]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PeerList, A::Error> {
                let mut peers: Vec<IpAddr> = Vec::new();
                while let Some(peer) = seq.next_element_seed(NextPeer { before: &peers })? {
                    peers.push(peer);
                }
                if peers.is_empty() {
                    return Err(de::Error::custom(
                        "at least one peer is required; leave unicast_peers out to use multicast",
                    ));
                }
                Ok(PeerList(peers))
            }
        }
        de.deserialize_seq(V)
    }
}

/// One entry of a [`PeerList`], checked against the entries before it.
struct NextPeer<'a> {
    before: &'a [IpAddr],
}

impl<'de> DeserializeSeed<'de> for NextPeer<'_> {
    type Value = IpAddr;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<IpAddr, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NextPeer<'_> {
    type Value = IpAddr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an address such as 192.0.2.12 or fe80::12")
    }

    scalars_as_text!();

    fn visit_str<E: de::Error>(self, s: &str) -> Result<IpAddr, E> {
        let text = s.trim();
        if text.contains('/') {
            return Err(E::custom(format!(
                "`{text}`: a peer is an address, without a prefix length"
            )));
        }
        let peer: IpAddr = text
            .parse()
            .map_err(|_| E::custom(format!("`{text}` is not an IP address")))?;
        let unusable = match peer {
            a if a.is_unspecified() => Some("unspecified"),
            a if a.is_loopback() => Some("a loopback address"),
            a if a.is_multicast() => Some("a multicast address"),
            IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
            _ => None,
        };
        if let Some(kind) = unusable {
            return Err(E::custom(format!(
                "{peer} is {kind} and cannot be a unicast peer"
            )));
        }
        if let Some(i) = self.before.iter().position(|p| *p == peer) {
            return Err(E::custom(format!(
                "{peer} is listed twice (also unicast_peers[{i}])"
            )));
        }
        if let Some(first) = self.before.first() {
            if first.is_ipv4() != peer.is_ipv4() {
                return Err(E::custom(format!(
                    "{peer} is {} but unicast_peers[0] is {}; an instance's peers are all \
                     of its address family",
                    family(peer),
                    family(*first)
                )));
            }
        }
        Ok(peer)
    }
}

fn family(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}
