//! The process check's watch: a thread blocked in poll(2) on a pidfd for each process it
//! watches (readable the moment that process exits, in any network namespace, unlike
//! the kernel's process-events connector) and on an inotify watch of the pidfile's
//! directory (a pidfile written or removed), waking at least every `rescan` to look
//! again (a process started under a name, a pidfile on a file system without inotify).
//! Each look that finds other processes than the last one is reported at once.
//!
//! Which processes: the one whose pid is in the pidfile; or every one whose `comm`,
//! `argv[0]` or `argv[0]`'s last component is `name`; or the one in the pidfile if it
//! has that name; with `user`, only those whose real and effective uid are that user's
//! (another user's process named nginx does not keep the VIP). A zombie (dead, not yet
//! reaped) does not count. The pidfile is opened as [`super::safe_file`] says (no
//! symbolic link, FIFO or device; never quoted) and must not be writable by every user.

mod find;

pub(super) use find::{find_processes, Found};

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;
use rustix::process::{pidfd_open, Pid, PidfdFlags};
use tokio::sync::mpsc::UnboundedSender;
use vipd_node::config::ProcessMatch;
use vipd_node::{CheckResult, CheckRunId, Event};

/// The longest a watch sleeps without looking at its stop flag.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Watches until `stop` is set, reporting to `results` as `Event::CheckResult { id }`.
pub(super) fn watch(
    id: CheckRunId,
    check: &str,
    m: &ProcessMatch,
    rescan: Duration,
    stop: &AtomicBool,
    results: &UnboundedSender<Event>,
) {
    let notify = m.pidfile.as_deref().and_then(pidfile_watch);
    let mut last: Option<Found> = None;
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut since_look = Duration::MAX;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if since_look >= rescan || fds.is_empty() && last.is_none() {
            let found = find_processes(m);
            // A pidfd per process; one that died meanwhile is looked for again at once.
            let mut opened = Vec::with_capacity(found.pids.len());
            let mut raced = false;
            for pid in &found.pids {
                match i32::try_from(*pid).ok().and_then(Pid::from_raw) {
                    Some(p) => match pidfd_open(p, PidfdFlags::empty()) {
                        Ok(fd) => opened.push(fd),
                        Err(_) => raced = true,
                    },
                    None => raced = true,
                }
            }
            if raced {
                continue;
            }
            fds = opened;
            since_look = Duration::ZERO;
            if last.as_ref() != Some(&found) {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let result = CheckResult::Process {
                    pids: found.pids.clone(),
                    why: found.why.clone(),
                };
                if results.send(Event::CheckResult { id, result }).is_err() {
                    return;
                }
                tracing::debug!(check, pids = ?found.pids, "process check looked");
                last = Some(found);
            }
        }
        let sleep = rescan.saturating_sub(since_look).min(MAX_SLEEP);
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|fd| PollFd::new(fd, PollFlags::IN))
            .collect();
        if let Some(n) = &notify {
            polled.push(PollFd::new(n, PollFlags::IN));
        }
        let timeout = Timespec {
            tv_sec: i64::try_from(sleep.as_secs()).unwrap_or(1),
            tv_nsec: i64::from(sleep.subsec_nanos()),
        };
        let started = std::time::Instant::now();
        let woke = match poll(&mut polled, Some(&timeout)) {
            Ok(n) => n > 0,
            // EINTR and the like: look again.
            Err(_) => true,
        };
        drop(polled);
        since_look = since_look.saturating_add(started.elapsed());
        if woke {
            if let Some(n) = &notify {
                drain(n);
            }
            // A death or a pidfile change: look now.
            since_look = Duration::MAX;
        }
    }
}

/// An inotify watch of the pidfile's directory (none if inotify is unavailable: the
/// periodic look still sees every change).
fn pidfile_watch(pidfile: &Path) -> Option<OwnedFd> {
    let dir = pidfile.parent()?;
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).ok()?;
    let mask = inotify::WatchFlags::CLOSE_WRITE
        | inotify::WatchFlags::MOVED_TO
        | inotify::WatchFlags::MOVED_FROM
        | inotify::WatchFlags::CREATE
        | inotify::WatchFlags::DELETE;
    inotify::add_watch(&fd, dir, mask).ok()?;
    Some(fd)
}

/// Reads and forgets the pending inotify events (bounded).
fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 4096];
    for _ in 0..64 {
        match rustix::io::read(fd, &mut buf) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_sees_a_death_at_once() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let dir = std::env::temp_dir().join(format!("vipd-proc-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pidfile = dir.join("sleep.pid");
        std::fs::write(&pidfile, format!("{}\n", child.id())).expect("pidfile");
        let m = ProcessMatch {
            pidfile: Some(pidfile),
            name: None,
            user: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            watch(CheckRunId(1), "t", &m, Duration::from_secs(30), &flag, &tx)
        });
        let first = rx.blocking_recv().expect("first look");
        assert!(
            matches!(first, Event::CheckResult { result: CheckResult::Process { ref pids, .. }, .. } if pids.len() == 1)
        );
        let killed = std::time::Instant::now();
        child.kill().expect("kill");
        let next = rx.blocking_recv().expect("the death");
        let seen = killed.elapsed();
        assert!(
            matches!(next, Event::CheckResult { result: CheckResult::Process { ref pids, .. }, .. } if pids.is_empty()),
            "{next:?}"
        );
        // With a 30 s rescan, only the pidfd can have told this fast.
        assert!(seen < Duration::from_millis(500), "{seen:?}");
        stop.store(true, Ordering::Relaxed);
        let _ = child.wait();
        let _ = t.join();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
