//! Frames that tell the LAN where a virtual address now lives: gratuitous ARP for
//! IPv4 (RFC 5798 §6.4.1 "broadcast a gratuitous ARP request"; RFC 5227 §3 announcement
//! form) and an unsolicited Neighbor Advertisement for IPv6 (RFC 4861 §7.2.6).
//!
//! Both are whole Ethernet frames, ready for an AF_PACKET socket.

use std::net::{Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Types, MutableIcmpv6Packet};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;

/// Ethernet header length.
const ETH_LEN: usize = 14;
/// ARP for Ethernet/IPv4.
const ARP_LEN: usize = 28;
/// Minimum Ethernet frame without FCS; shorter frames are padded (IEEE 802.3 §3.2.7).
const MIN_FRAME: usize = 60;
const IPV6_LEN: usize = 40;
/// NA header (24) plus one target link-layer address option (8).
const NA_LEN: usize = 32;

/// The all-nodes group an unsolicited NA goes to (RFC 4861 §7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A broadcast gratuitous ARP request announcing that `vip` is at `mac`:
/// sender and target protocol address are both the VIP, target hardware address zero.
pub fn gratuitous_arp(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    let mut frame = vec![0u8; MIN_FRAME];
    let src = MacAddr::from(mac);
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame[..]) {
        eth.set_destination(MacAddr::broadcast());
        eth.set_source(src);
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut frame[ETH_LEN..ETH_LEN + ARP_LEN]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(src);
        arp.set_sender_proto_addr(vip);
        arp.set_target_hw_addr(MacAddr::zero());
        arp.set_target_proto_addr(vip);
    }
    frame
}

/// An unsolicited Neighbor Advertisement for `vip` at `mac`, from `src` (an address of
/// the interface, normally its link-local one) to all-nodes, hop limit 255, Override
/// set, with a Target Link-Layer Address option (RFC 4861 §4.4, §7.2.6).
pub fn unsolicited_na(mac: [u8; 6], src: Ipv6Addr, vip: Ipv6Addr) -> Vec<u8> {
    let mut frame = vec![0u8; ETH_LEN + IPV6_LEN + NA_LEN];
    let smac = MacAddr::from(mac);
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame[..]) {
        // RFC 2464 §7: IPv6 multicast 33:33 + low 32 bits of the group.
        eth.set_destination(MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
        eth.set_source(smac);
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    if let Some(mut na) = MutableNeighborAdvertPacket::new(&mut frame[ETH_LEN + IPV6_LEN..]) {
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(icmpv6::Icmpv6Code(0));
        na.set_flags(NeighborAdvertFlags::Override);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: mac.to_vec(),
        }]);
    }
    // The checksum covers the finished message (and the pseudo-header).
    if let Some(mut icmp) = MutableIcmpv6Packet::new(&mut frame[ETH_LEN + IPV6_LEN..]) {
        let sum = icmpv6::checksum(&icmp.to_immutable(), &src, &ALL_NODES);
        icmp.set_checksum(sum);
    }
    if let Some(mut ip) = MutableIpv6Packet::new(&mut frame[ETH_LEN..ETH_LEN + IPV6_LEN]) {
        ip.set_version(6);
        ip.set_payload_length(NA_LEN as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(src);
        ip.set_destination(ALL_NODES);
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;

    const MAC: [u8; 6] = [0x02, 0, 0x5e, 0, 0x01, 0x33];

    #[test]
    fn garp_bytes() {
        let f = gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 50));
        let want: Vec<u8> = [
            &[0xff; 6][..],
            &MAC,
            &[0x08, 0x06],
            &[0, 1, 0x08, 0, 6, 4, 0, 1],
            &MAC,
            &[192, 0, 2, 50],
            &[0; 6],
            &[192, 0, 2, 50],
        ]
        .concat();
        assert_eq!(&f[..42], &want[..]);
        assert_eq!(f.len(), 60);
        assert!(f[42..].iter().all(|b| *b == 0));
    }

    #[test]
    fn na_bytes_and_checksum() {
        let src: Ipv6Addr = "fe80::1".parse().expect("addr");
        let vip: Ipv6Addr = "2001:db8::50".parse().expect("addr");
        let f = unsolicited_na(MAC, src, vip);
        assert_eq!(f.len(), 86);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14] >> 4, 6);
        assert_eq!(&f[18..20], &32u16.to_be_bytes());
        assert_eq!(f[20], 58, "next header ICMPv6");
        assert_eq!(f[21], 255, "hop limit");
        assert_eq!(&f[22..38], &src.octets());
        assert_eq!(&f[38..54], &ALL_NODES.octets());
        let icmp = &f[54..];
        assert_eq!(icmp[0], 136, "type NA");
        assert_eq!(icmp[4], 0x20, "Override only (not Solicited, not Router)");
        assert_eq!(&icmp[8..24], &vip.octets());
        assert_eq!(&icmp[24..32], &[2, 1, 0x02, 0, 0x5e, 0, 0x01, 0x33]);
        // A correct checksum makes the pseudo-header sum come out to zero.
        assert_eq!(checksum::with_ipv6_pseudo(src, ALL_NODES, 58, icmp), 0);
    }
}
