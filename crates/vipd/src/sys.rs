//! The one place in vipd that needs `unsafe`: building a `sockaddr_ll` for AF_PACKET,
//! which neither socket2 nor nix can construct safely.
#![allow(unsafe_code)]

use nix::libc;
use nix::sys::socket::{LinkAddr, SockaddrLike};

/// A link-layer address naming interface `ifindex`, for sending whole Ethernet frames.
pub fn link_addr(ifindex: u32, ethertype: u16, dst_mac: [u8; 6]) -> Option<LinkAddr> {
    let mut sll_addr = [0u8; 8];
    sll_addr[..6].copy_from_slice(&dst_mac);
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ethertype.to_be(),
        sll_ifindex: i32::try_from(ifindex).ok()?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr,
    };
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `sll` is a fully initialised sockaddr_ll that lives across the call, and
    // `len` is exactly its size; `from_raw` copies it and checks the family.
    unsafe {
        LinkAddr::from_raw(
            (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            Some(len),
        )
    }
}
