//! Hand-made VRRP packets, sent from inside a namespace with a raw IPv4 socket
//! (`IP_HDRINCL`), so a test controls every header field: TTL, version, checksum,
//! length.
//!
//! The sender runs on a short-lived thread that joins the namespace with `setns(2)`
//! (network namespaces are per thread), so the test process itself never sends a packet
//! outside a test namespace. [`capture_vrrp_ipv4`] receives the same way, so that a
//! captured advert can be sent again (a replay).

use std::fs::File;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vipd_wire::{Advert, V2Auth, V3Checksum, Version, MULTICAST_V4, PROTOCOL};

/// An IPv4 datagram as it goes on the wire (the kernel fills in the total length,
/// the header checksum and the identification).
pub fn ipv4_datagram(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut d = Vec::with_capacity(20 + payload.len());
    d.push(0x45); // version 4, IHL 5
    d.push(0); // DSCP/ECN
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0x40, 0]); // id, DF
    d.push(ttl);
    d.push(protocol);
    d.extend_from_slice(&[0, 0]); // header checksum: the kernel computes it
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    d.extend_from_slice(payload);
    d
}

/// A valid VRRPv3 advert (RFC 5798 pseudo-header checksum) from `src` to the VRRP group.
pub fn v3_advert(
    src: Ipv4Addr,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    vips: &[Ipv4Addr],
) -> Vec<u8> {
    v3_advert_to(src, MULTICAST_V4, vrid, priority, interval_cs, vips)
}

/// A valid VRRPv3 advert from `src` to `dst` (its checksum covers that pseudo-header):
/// unicast, as to a unicast peer, or to the group.
pub fn v3_advert_to(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    vips: &[Ipv4Addr],
) -> Vec<u8> {
    let adv = Advert {
        version: Version::V3,
        vrid,
        priority,
        interval_cs,
        addresses: vips.iter().map(|a| IpAddr::V4(*a)).collect(),
        auth: V2Auth::default(),
    };
    match adv.emit(IpAddr::V4(src), IpAddr::V4(dst), V3Checksum::PseudoHeader) {
        Ok(b) => b,
        Err(e) => panic!("cannot build the advert {adv:?}: {e}"),
    }
}

/// A VRRP datagram to 224.0.0.18.
pub fn vrrp_datagram(src: Ipv4Addr, ttl: u8, vrrp: &[u8]) -> Vec<u8> {
    ipv4_datagram(src, MULTICAST_V4, ttl, PROTOCOL, vrrp)
}

fn send_in_ns(ns: &str, iface: &str, datagrams: &[Vec<u8>]) -> io::Result<usize> {
    let nsfile = File::open(format!("/run/netns/{ns}"))?;
    setns(&nsfile, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    // IPPROTO_RAW (255) implies IP_HDRINCL: the datagram is sent as given.
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255)))?;
    s.bind_device(Some(iface.as_bytes()))?;
    let mut sent = 0;
    for d in datagrams {
        let dst = if d.len() >= 20 {
            Ipv4Addr::new(d[16], d[17], d[18], d[19])
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "datagram shorter than an IPv4 header",
            ));
        };
        crate::lan::assert_allowed_destination(&dst.to_string());
        s.send_to(d, &SockAddr::from(SocketAddrV4::new(dst, 0)))?;
        sent += 1;
        // Keep them apart so none is lost to a full queue.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Ok(sent)
}

/// Sends whole IPv4 datagrams out of `iface` inside namespace `ns`. Only the VRRP
/// group 224.0.0.18 and documentation addresses are accepted as destinations.
pub fn send_raw_ipv4(ns: &str, iface: &str, datagrams: Vec<Vec<u8>>) -> io::Result<usize> {
    let ns = ns.to_string();
    let iface = iface.to_string();
    let t = std::thread::spawn(move || send_in_ns(&ns, &iface, &datagrams));
    match t.join() {
        Ok(r) => r,
        Err(_) => Err(io::Error::other("the sender thread panicked")),
    }
}

fn capture_in_ns(
    ns: &str,
    iface: &str,
    local: Ipv4Addr,
    from: Ipv4Addr,
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    let nsfile = File::open(format!("/run/netns/{ns}"))?;
    setns(&nsfile, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(PROTOCOL))),
    )?;
    s.bind_device(Some(iface.as_bytes()))?;
    s.join_multicast_v4(&MULTICAST_V4, &local)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 2048];
    // Bounded: each read waits at most until the deadline.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no VRRP datagram from {from} within {timeout:?}"),
            ));
        }
        s.set_read_timeout(Some(left))?;
        let n = (&s).read(&mut buf)?;
        let d = &buf[..n];
        if d.len() >= 20 && d[12..16] == from.octets() {
            return Ok(d.to_vec());
        }
    }
}

/// Waits up to `timeout` for the next VRRP datagram from `from` on `iface` inside
/// namespace `ns` (whose address there is `local`: it joins 224.0.0.18 with it) and
/// returns it whole, IPv4 header included, ready for [`send_raw_ipv4`].
pub fn capture_vrrp_ipv4(
    ns: &str,
    iface: &str,
    local: Ipv4Addr,
    from: Ipv4Addr,
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    let ns = ns.to_string();
    let iface = iface.to_string();
    let t = std::thread::spawn(move || capture_in_ns(&ns, &iface, local, from, timeout));
    match t.join() {
        Ok(r) => r,
        Err(_) => Err(io::Error::other("the capturing thread panicked")),
    }
}
