//! Opt-in real-time operation (`realtime_priority`, `lock_memory`): the thread that runs
//! the node and its sockets under SCHED_FIFO, guarded by RLIMIT_RTTIME, and the process's
//! memory locked in RAM. The system calls are in `sys`.
//!
//! Only the main loop's thread is raised: it is raised after the helper threads (logging,
//! netlink, configuration reader) exist, and with SCHED_RESET_ON_FORK, so threads it
//! starts later (tokio's blocking pool) and hook processes run under the normal policy.

use std::time::Duration;

use crate::sys;

/// RLIMIT_RTTIME soft limit: a real-time thread that runs this long without blocking gets
/// SIGXCPU, whose default action ends vipd. The loop blocks every few milliseconds at
/// most (each advert interval, each batch of packets): only a runaway loop gets there.
pub const RTTIME_SOFT: Duration = Duration::from_millis(500);
/// RLIMIT_RTTIME hard limit: SIGKILL, should SIGXCPU not have ended it.
pub const RTTIME_HARD: Duration = Duration::from_secs(1);

/// Linux capability numbers (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;
const CAP_SYS_NICE: u32 = 23;

/// Why real-time operation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("realtime_priority: cannot set the RLIMIT_RTTIME guard: {0}")]
    Guard(#[source] std::io::Error),
    #[error("realtime_priority: {priority}: cannot switch to SCHED_FIFO ({source}); it needs CAP_SYS_NICE or RLIMIT_RTPRIO >= {priority} (see \"Advert intervals and real-time tuning\" in the vipd book)")]
    Raise {
        priority: u8,
        #[source]
        source: std::io::Error,
    },
    #[error("lock_memory: mlockall failed ({0}); it needs CAP_IPC_LOCK or an RLIMIT_MEMLOCK above vipd's mapped memory (see \"Advert intervals and real-time tuning\" in the vipd book)")]
    Lock(#[source] std::io::Error),
}

/// Puts the calling thread under SCHED_FIFO at `priority`, first setting the
/// RLIMIT_RTTIME guard ([`RTTIME_SOFT`], [`RTTIME_HARD`]). 0 does nothing.
pub fn raise(priority: u8) -> Result<(), RealtimeError> {
    if priority == 0 {
        return Ok(());
    }
    let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    sys::limit_rttime(us(RTTIME_SOFT), us(RTTIME_HARD)).map_err(RealtimeError::Guard)?;
    sys::set_fifo(priority).map_err(|source| RealtimeError::Raise { priority, source })
}

/// Locks the process's memory in RAM: mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT).
/// Every page vipd has touched by now (start-up has run every part of the hot path but
/// the state changes) and every page it touches later stays in RAM, so memory pressure
/// can never make the loop wait for a page to come back. MCL_ONFAULT keeps the pages
/// never touched out: without it the whole binary, libc and each helper thread's 2 MiB
/// stack would be brought in and locked (17 MB resident instead of about 6.5 MB).
pub fn lock_memory() -> Result<(), RealtimeError> {
    sys::lock_all_memory(true).map_err(RealtimeError::Lock)
}

/// Whether the calling thread runs under SCHED_FIFO, and at which priority.
pub fn current_fifo_priority() -> Option<i32> {
    match sys::scheduler() {
        Ok((policy, prio)) if policy == nix::libc::SCHED_FIFO => Some(prio),
        _ => None,
    }
}

/// What this process has that the options need, for `--check`.
#[derive(Debug, Clone, Copy)]
pub struct Privileges {
    /// The effective capability set (CapEff in /proc/self/status).
    pub cap_eff: u64,
    /// RLIMIT_RTPRIO's soft value.
    pub rtprio_limit: u64,
    /// RLIMIT_MEMLOCK's soft value, in bytes (`u64::MAX`: unlimited).
    pub memlock_limit: u64,
}

impl Privileges {
    /// This process's.
    pub fn current() -> Privileges {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Privileges {
            cap_eff: cap_eff(&status).unwrap_or(0),
            rtprio_limit: sys::soft_limit(sys::RlimitResource::RtPrio).unwrap_or(0),
            memlock_limit: sys::soft_limit(sys::RlimitResource::MemLock).unwrap_or(0),
        }
    }

    fn has(&self, cap: u32) -> bool {
        self.cap_eff & (1 << cap) != 0
    }
}

/// The memory vipd locks, at most, that RLIMIT_MEMLOCK must allow without CAP_IPC_LOCK
/// (its mappings: code, heap, thread stacks), with room to spare.
pub const MEMLOCK_NEEDED: u64 = 256 * 1024 * 1024;

/// What `--check` says about the options with these privileges: (errors, warnings).
pub fn check(priority: u8, lock: bool, p: &Privileges) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if priority > 0 && !p.has(CAP_SYS_NICE) && p.rtprio_limit < u64::from(priority) {
        errors.push(format!(
            "realtime_priority: {priority} needs CAP_SYS_NICE (or RLIMIT_RTPRIO >= {priority}), which this process lacks (RLIMIT_RTPRIO is {}): vipd would refuse to start; give the service AmbientCapabilities=CAP_SYS_NICE or LimitRTPRIO={priority} (under systemd: install the drop-in {DROP_IN} as /etc/systemd/system/vipd.service.d/realtime.conf)",
            p.rtprio_limit
        ));
    }
    if lock && !p.has(CAP_IPC_LOCK) && p.memlock_limit < MEMLOCK_NEEDED {
        warnings.push(format!(
            "lock_memory: this process lacks CAP_IPC_LOCK and RLIMIT_MEMLOCK is {} bytes: mlockall will likely fail and vipd refuse to start; give the service AmbientCapabilities=CAP_IPC_LOCK or LimitMEMLOCK=infinity (the drop-in {DROP_IN} does)",
            p.memlock_limit
        ));
    }
    (errors, warnings)
}

/// Where vipd's own service file keeps what the options need: the drop-in to copy.
pub const DROP_IN: &str = "/usr/share/doc/vipd/examples/systemd/realtime.conf";

/// `--check` tries what the options do, on a thread of its own that ends at once: a
/// sandbox (systemd's RestrictRealtime=, a SystemCallFilter= without @resources, or
/// without @memlock) refuses the calls even with the capabilities, which the static
/// look in [`check`] cannot see. ExecStartPre runs under the unit's sandbox, so the
/// service then fails before it starts, with this error, rather than vipd at start.
pub fn trial(priority: u8, lock: bool) -> Vec<String> {
    let run = std::thread::Builder::new()
        .name("vipd-rt-trial".into())
        .spawn(move || {
            let mut errors = Vec::new();
            if let Err(e) = raise(priority) {
                errors.push(format!(
                    "{e}; this is refused here even where the capability is given when a sandbox forbids it (systemd: RestrictRealtime=yes, SystemCallFilter=~@resources): install the drop-in {DROP_IN} as /etc/systemd/system/vipd.service.d/realtime.conf"
                ));
            }
            if lock {
                if let Err(e) = lock_memory() {
                    errors.push(format!(
                        "{e}; a sandbox can refuse it too (systemd: SystemCallFilter= without @memlock): install the drop-in {DROP_IN}"
                    ));
                }
            }
            errors
        });
    match run.map(|t| t.join()) {
        Ok(Ok(errors)) => errors,
        Ok(Err(_)) => vec!["realtime_priority: the trial thread panicked".into()],
        Err(e) => vec![format!(
            "realtime_priority: cannot start a trial thread: {e}"
        )],
    }
}

/// CapEff from the text of /proc/<pid>/status.
fn cap_eff(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

/// The process's resident set (VmRSS), in kB.
pub fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let v = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    v.trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cap_eff() {
        let status = "Name:\tvipd\nCapPrm:\t0000000000000000\nCapEff:\t0000000000800000\n";
        assert_eq!(cap_eff(status), Some(1 << CAP_SYS_NICE));
        assert_eq!(cap_eff("Name: x\n"), None);
    }

    #[test]
    fn check_names_the_missing_capability() {
        let none = Privileges {
            cap_eff: 0,
            rtprio_limit: 0,
            memlock_limit: 8 << 20,
        };
        let (errors, warnings) = check(50, true, &none);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("CAP_SYS_NICE"), "{errors:?}");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("CAP_IPC_LOCK"), "{warnings:?}");
        // Off: nothing to say.
        assert_eq!(check(0, false, &none), (vec![], vec![]));
        // The capabilities, or limits high enough, are each enough.
        let caps = Privileges {
            cap_eff: (1 << CAP_SYS_NICE) | (1 << CAP_IPC_LOCK),
            ..none
        };
        assert_eq!(check(50, true, &caps), (vec![], vec![]));
        let limits = Privileges {
            cap_eff: 0,
            rtprio_limit: 50,
            memlock_limit: u64::MAX,
        };
        assert_eq!(check(50, true, &limits), (vec![], vec![]));
        let low = Privileges {
            rtprio_limit: 49,
            ..limits
        };
        assert_eq!(check(50, false, &low).0.len(), 1);
    }
}
