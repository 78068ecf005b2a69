//! Raw IP sockets for VRRP (protocol 112), one per interface and address family.
//!
//! RFC 5798 §5.1.1.3/§5.1.2.3: adverts are sent with TTL / hop limit 255 to 224.0.0.18
//! or ff02::12 (or, for unicast peers, to each peer's address); receivers check it is
//! still 255. Sockets are bound to the device, `IP_MULTICAST_ALL` is off (or every group
//! joined on the host would arrive), and our own multicast is not looped back. Adverts
//! unicast to the host arrive on the same socket.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::libc;
use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    SockaddrIn, SockaddrIn6,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use vipd_wire::{MULTICAST_V4, MULTICAST_V6, PROTOCOL};

/// What went wrong setting up or using a VRRP socket.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("cannot open a raw VRRP socket on {iface}: {source} (vipd needs root or CAP_NET_RAW)")]
    Open {
        iface: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot set {what} on the VRRP socket for {iface}: {source}")]
    Option {
        iface: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

/// The largest datagram read: an IP datagram can be no longer.
pub const MAX_DATAGRAM: usize = 65_536;

/// A datagram as received, before VRRP decoding.
#[derive(Debug)]
pub enum Received {
    /// IPv4: the whole datagram, header included (its IHL and TTL are checked by the
    /// codec).
    V4(Vec<u8>),
    /// IPv6: the VRRP payload with what the kernel said about it.
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        payload: Vec<u8>,
    },
}

/// A raw VRRP socket bound to one interface.
pub struct VrrpSocket {
    sock: UdpSocket,
    ifindex: u32,
    v6: bool,
}

fn opt<'a>(iface: &'a str, what: &'static str) -> impl FnOnce(io::Error) -> SocketError + 'a {
    move |source| SocketError::Option {
        iface: iface.to_string(),
        what,
        source,
    }
}

/// A raw protocol-112 socket bound to `iface` (SO_BINDTODEVICE), so it neither sends
/// nor receives on any other interface.
fn raw_on_device(domain: Domain, iface: &str) -> Result<Socket, SocketError> {
    let s = Socket::new(domain, Type::RAW, Some(Protocol::from(i32::from(PROTOCOL)))).map_err(
        |source| SocketError::Open {
            iface: iface.into(),
            source,
        },
    )?;
    s.bind_device(Some(iface.as_bytes()))
        .map_err(opt(iface, "SO_BINDTODEVICE"))?;
    Ok(s)
}

impl VrrpSocket {
    /// IPv4 VRRP on `iface`.
    pub fn open_v4(iface: &str, ifindex: u32) -> Result<VrrpSocket, SocketError> {
        let s = raw_on_device(Domain::IPV4, iface)?;
        s.set_multicast_all_v4(false)
            .map_err(opt(iface, "IP_MULTICAST_ALL"))?;
        s.set_multicast_loop_v4(false)
            .map_err(opt(iface, "IP_MULTICAST_LOOP"))?;
        s.set_multicast_ttl_v4(255)
            .map_err(opt(iface, "IP_MULTICAST_TTL"))?;
        s.set_ttl_v4(255).map_err(opt(iface, "IP_TTL"))?;
        // An instance whose advert source address was just removed (renumbering) still
        // says goodbye from it: its priority 0 must carry the address the backups follow,
        // or they ignore it and take over only at Master_Down_Interval. Without
        // IP_TRANSPARENT the kernel refuses a source that is no longer local
        // (ENETUNREACH). Every other advert is sent from a current address anyway.
        s.set_ip_transparent_v4(true)
            .map_err(opt(iface, "IP_TRANSPARENT"))?;
        s.join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(opt(iface, "IP_ADD_MEMBERSHIP 224.0.0.18"))?;
        Self::finish(s, iface, ifindex, false)
    }

    /// IPv6 VRRP on `iface`, sending from the link-local address `source`.
    pub fn open_v6(iface: &str, ifindex: u32, source: Ipv6Addr) -> Result<VrrpSocket, SocketError> {
        let s = raw_on_device(Domain::IPV6, iface)?;
        s.set_multicast_all_v6(false)
            .map_err(opt(iface, "IPV6_MULTICAST_ALL"))?;
        s.set_multicast_loop_v6(false)
            .map_err(opt(iface, "IPV6_MULTICAST_LOOP"))?;
        s.set_multicast_hops_v6(255)
            .map_err(opt(iface, "IPV6_MULTICAST_HOPS"))?;
        s.set_unicast_hops_v6(255)
            .map_err(opt(iface, "IPV6_UNICAST_HOPS"))?;
        s.set_multicast_if_v6(ifindex)
            .map_err(opt(iface, "IPV6_MULTICAST_IF"))?;
        s.join_multicast_v6(&MULTICAST_V6, ifindex)
            .map_err(opt(iface, "IPV6_JOIN_GROUP ff02::12"))?;
        s.set_recv_hoplimit_v6(true)
            .map_err(opt(iface, "IPV6_RECVHOPLIMIT"))?;
        setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(|e| opt(iface, "IPV6_RECVPKTINFO")(e.into()))?;
        // The checksum is computed and checked by the codec (RFC 5798 §5.2.8), so the
        // kernel's IPV6_CHECKSUM is left off and both directions agree.
        s.bind(&SocketAddrV6::new(source, 0, 0, ifindex).into())
            .map_err(opt(iface, "bind to the link-local address"))?;
        Self::finish(s, iface, ifindex, true)
    }

    fn finish(s: Socket, iface: &str, ifindex: u32, v6: bool) -> Result<VrrpSocket, SocketError> {
        s.set_nonblocking(true).map_err(opt(iface, "O_NONBLOCK"))?;
        let std: std::net::UdpSocket = s.into();
        let sock = UdpSocket::from_std(std).map_err(opt(iface, "tokio registration"))?;
        Ok(VrrpSocket { sock, ifindex, v6 })
    }

    /// Sends one advert from `src` to `dst` (the VRRP group or a unicast peer, of the
    /// socket's family). It never waits: a full send queue (EAGAIN) is a failed send,
    /// reported to the engine like any other, so one stuck interface cannot stall the
    /// event loop.
    pub fn send(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> io::Result<()> {
        let fd = self.sock.as_raw_fd();
        let iov = [IoSlice::new(payload)];
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) if !self.v6 => {
                // IP_PKTINFO pins the interface and the source address, so a VIP that is
                // also on the interface is never picked as the advert source.
                let info = libc::in_pktinfo {
                    ipi_ifindex: i32::try_from(self.ifindex).unwrap_or(0),
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from_ne_bytes(src.octets()),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let dst = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                self.sock.try_io(Interest::WRITABLE, || {
                    sendmsg(
                        fd,
                        &iov,
                        &[ControlMessage::Ipv4PacketInfo(&info)],
                        MsgFlags::empty(),
                        Some(&dst),
                    )
                    .map_err(io::Error::from)
                })?;
            }
            (IpAddr::V6(_), IpAddr::V6(dst)) if self.v6 => {
                // The interface as the scope of the group and of link-local peers (the
                // socket is bound to the device as well).
                let dst = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, self.ifindex));
                self.sock.try_io(Interest::WRITABLE, || {
                    sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&dst)).map_err(io::Error::from)
                })?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "advert source or destination of the wrong address family for this socket",
                ))
            }
        }
        Ok(())
    }

    /// Waits for the next datagram. `buf` is the caller's reusable buffer; it should
    /// hold [`MAX_DATAGRAM`] bytes so no advert (up to 255 IPv6 addresses) is cut.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        if !self.v6 {
            let (n, _) = self.sock.recv_from(buf).await?;
            return Ok(Received::V4(buf[..n.min(buf.len())].to_vec()));
        }
        let fd = self.sock.as_raw_fd();
        let (n, src, dst, hop_limit) = self
            .sock
            .async_io(Interest::READABLE, || {
                let mut cmsg = nix::cmsg_space!(libc::c_int, libc::in6_pktinfo);
                let mut iov = [IoSliceMut::new(&mut *buf)];
                let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
                    .map_err(io::Error::from)?;
                let mut hop_limit = 0u8;
                let mut dst = MULTICAST_V6;
                for c in msg.cmsgs().map_err(io::Error::from)? {
                    match c {
                        ControlMessageOwned::Ipv6HopLimit(h) => {
                            hop_limit = u8::try_from(h).unwrap_or(0)
                        }
                        ControlMessageOwned::Ipv6PacketInfo(p) => {
                            dst = Ipv6Addr::from(p.ipi6_addr.s6_addr)
                        }
                        _ => {}
                    }
                }
                let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED);
                Ok((msg.bytes, src, dst, hop_limit))
            })
            .await?;
        Ok(Received::V6 {
            src,
            dst,
            hop_limit,
            payload: buf[..n.min(buf.len())].to_vec(),
        })
    }
}

/// An AF_PACKET socket that sends gratuitous ARP / unsolicited NA frames on one
/// interface. It is opened with protocol 0, so it receives nothing.
pub struct FrameSocket {
    sock: Socket,
    ifindex: u32,
}

impl FrameSocket {
    pub fn open(iface: &str, ifindex: u32) -> Result<FrameSocket, SocketError> {
        let sock =
            Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0))).map_err(|source| {
                SocketError::Open {
                    iface: iface.into(),
                    source,
                }
            })?;
        sock.set_nonblocking(true)
            .map_err(opt(iface, "O_NONBLOCK"))?;
        Ok(FrameSocket { sock, ifindex })
    }

    /// Sends one whole Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "short frame"));
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let addr = crate::sys::link_addr(self.ifindex, ethertype, dst)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad interface index"))?;
        nix::sys::socket::sendto(self.sock.as_raw_fd(), frame, &addr, MsgFlags::empty())
            .map_err(io::Error::from)?;
        Ok(())
    }
}
