//! The one place in vipd that needs `unsafe`: building a `sockaddr_ll` for AF_PACKET,
//! which neither socket2 nor nix can construct safely; a few libc calls (the scheduler,
//! resource limits, mlockall); and the code a child runs between fork and exec
//! ([`shed_privileges_at_exec`]).
#![allow(unsafe_code)]

use rustix::thread::{CapabilitySet, CapabilitySets};

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

/// Puts the calling thread (and only it: on Linux `sched_setscheduler(0, ..)` names
/// the calling thread) under SCHED_FIFO at `priority`, with SCHED_RESET_ON_FORK, so
/// every thread or process it creates afterwards starts under the normal policy.
pub fn set_fifo(priority: u8) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: `param` is a valid sched_param that lives across the call; pid 0 is the
    // calling thread.
    let r = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The calling thread's scheduling policy (SCHED_RESET_ON_FORK masked off) and priority.
pub fn scheduler() -> std::io::Result<(i32, i32)> {
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain calls on the calling thread; `param` is a valid out-parameter.
    let (policy, r) = unsafe {
        (
            libc::sched_getscheduler(0),
            libc::sched_getparam(0, &mut param),
        )
    };
    if policy < 0 || r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((policy & !libc::SCHED_RESET_ON_FORK, param.sched_priority))
}

/// Sets RLIMIT_RTTIME: the CPU time, in microseconds, a real-time thread may use without
/// blocking; past `soft` the kernel sends SIGXCPU, past `hard` SIGKILL.
pub fn limit_rttime(soft_us: u64, hard_us: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft_us,
        rlim_max: hard_us,
    };
    // SAFETY: `lim` is a valid rlimit that lives across the call.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A resource limit's soft value (`RLIM_INFINITY` as `u64::MAX`).
pub fn soft_limit(resource: RlimitResource) -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let which = match resource {
        RlimitResource::RtPrio => libc::RLIMIT_RTPRIO,
        RlimitResource::MemLock => libc::RLIMIT_MEMLOCK,
    };
    // SAFETY: `lim` is a valid out-parameter.
    let r = unsafe { libc::getrlimit(which, &mut lim) };
    if r == 0 {
        Ok(lim.rlim_cur)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The limits [`soft_limit`] reads.
#[derive(Debug, Clone, Copy)]
pub enum RlimitResource {
    RtPrio,
    MemLock,
}

/// mlockall(MCL_CURRENT | MCL_FUTURE), and with `on_fault` MCL_ONFAULT: every page in
/// RAM now, and every page that comes in later, stays there; with MCL_ONFAULT pages that
/// were never touched are not brought in for it.
pub fn lock_all_memory(on_fault: bool) -> std::io::Result<()> {
    let flags = libc::MCL_CURRENT | libc::MCL_FUTURE | if on_fault { libc::MCL_ONFAULT } else { 0 };
    // SAFETY: no pointers; affects only this process's page locking.
    let r = unsafe { libc::mlockall(flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whom a child runs as: a uid and its primary group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildUser {
    pub uid: u32,
    pub gid: u32,
}

/// Makes `cmd`'s child, between fork and exec, give up every privilege vipd holds:
/// the bounding set emptied (when vipd may: CAP_SETPCAP), with `user` the supplementary
/// groups cleared and the real, effective and saved gid and uid switched, then the
/// ambient set cleared and the effective, permitted and inheritable sets emptied
/// (capabilities(7): "Ambient capability set", capset(2)). The program starts with
/// CapEff = CapPrm = CapInh = CapAmb = 0. A step that fails fails the spawn with its
/// errno (nothing runs with privileges it was meant to lose).
pub fn shed_privileges_at_exec(cmd: &mut tokio::process::Command, user: Option<ChildUser>) {
    // SAFETY: the closure runs in the forked child, which has one thread; it makes only
    // raw system calls through rustix (no allocation, no locks), which is what is
    // allowed between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            shed(user).map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error()))
        });
    }
}

/// The work of [`shed_privileges_at_exec`], in the child.
fn shed(user: Option<ChildUser>) -> rustix::io::Result<()> {
    use rustix::thread as t;
    let held = t::capabilities(None)?;
    // The bounding set first: a uid switch away from root takes CAP_SETPCAP with it.
    if held.effective.contains(CapabilitySet::SETPCAP) {
        for cap in 0..64u32 {
            match t::remove_capability_from_bounding_set(CapabilitySet::from_bits_retain(1 << cap))
            {
                Ok(()) => {}
                // Past the kernel's last capability.
                Err(rustix::io::Errno::INVAL) => break,
                Err(e) => return Err(e),
            }
        }
    }
    if let Some(u) = user {
        // Per thread, which in the forked child is the whole process.
        t::set_thread_groups(&[])?;
        let gid = rustix::process::Gid::from_raw(u.gid);
        t::set_thread_res_gid(gid, gid, gid)?;
        let uid = rustix::process::Uid::from_raw(u.uid);
        t::set_thread_res_uid(uid, uid, uid)?;
    }
    t::clear_ambient_capability_set()?;
    let none = CapabilitySet::empty();
    t::set_capabilities(
        None,
        CapabilitySets {
            effective: none,
            permitted: none,
            inheritable: none,
        },
    )
}

/// The calling thread's effective capabilities (vipd's threads all hold the same).
pub fn effective_capabilities() -> std::io::Result<CapabilitySet> {
    rustix::thread::capabilities(None)
        .map(|c| c.effective)
        .map_err(std::io::Error::from)
}
