//! Bounded waiting, wall-clock timestamps, command helpers and the timing lock.

use std::cell::Cell;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// Polls `f` every `poll` until it returns true or `timeout` has passed. Bounded both in
/// time and in the number of calls. Returns whether `f` came true.
pub fn wait_until(timeout: Duration, poll: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let poll = poll.max(Duration::from_micros(100));
    let max_calls = timeout.as_micros() / poll.as_micros() + 2;
    let mut calls: u128 = 0;
    loop {
        if f() {
            return true;
        }
        calls += 1;
        if start.elapsed() >= timeout || calls >= max_calls {
            return false;
        }
        std::thread::sleep(poll);
    }
}

/// Wall-clock seconds since the Unix epoch, the clock the outage probe's kernel receive
/// times (`SO_TIMESTAMPNS`), `tcpdump -tt` and the line monitors stamp with, so their
/// timestamps can be compared.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Runs a command to completion and returns its output; panics only if it cannot be
/// started at all (a missing tool is a broken test machine, not a test result).
pub fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    }
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that should end by itself, killing it after `timeout`; `None` if it
/// had to be killed.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Option<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    };
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Ends when the child does (at the latest once it is killed below).
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(out)) => Some(out),
        Ok(Err(e)) => panic!("waiting for {cmd:?}: {e}"),
        Err(_) => {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            None
        }
    }
}

/// The lock file every end-to-end test of this machine takes (see [`exclusive`]).
pub fn timing_lock_path() -> PathBuf {
    std::env::temp_dir().join("vipd-e2e-timing.lock")
}

/// How long a test waits for the timing lock before it gives up: longer than the whole
/// end-to-end suite takes on its own, so only a stuck holder makes it run out.
pub const TIMING_LOCK_WAIT: Duration = Duration::from_secs(30 * 60);

thread_local! {
    /// Whether this thread holds the exclusive timing lock (so [`shared`] need not, and
    /// must not, wait for it).
    static HOLDS_EXCLUSIVE: Cell<bool> = const { Cell::new(false) };
}

/// A hold on the timing lock file, shared or exclusive; released when dropped (also
/// when the test panics, and by the kernel when the process dies).
pub struct TimingLock {
    exclusive: bool,
    _lock: Flock<File>,
}

impl Drop for TimingLock {
    fn drop(&mut self) {
        if self.exclusive {
            HOLDS_EXCLUSIVE.with(|h| h.set(false));
        }
    }
}

/// Takes the timing lock (`flock(2)` on [`timing_lock_path`]), waiting for it at most
/// [`TIMING_LOCK_WAIT`]; panics if it does not come.
fn take(exclusive: bool) -> TimingLock {
    let path = timing_lock_path();
    match take_at(&path, exclusive, TIMING_LOCK_WAIT) {
        Some(lock) => lock,
        None => panic!(
            "the timing lock {} was held by another test for more than {TIMING_LOCK_WAIT:?} \
             (a stuck test run? `fuser {}` names it)",
            path.display(),
            path.display()
        ),
    }
}

/// `flock(2)` on `path`, shared or exclusive, polled every 20 ms for at most `wait`.
/// Every call opens the file anew, so two threads of one process exclude each other
/// exactly as two processes do.
fn take_at(path: &Path, exclusive: bool, wait: Duration) -> Option<TimingLock> {
    let started = Instant::now();
    let arg = if exclusive {
        FlockArg::LockExclusiveNonblock
    } else {
        FlockArg::LockSharedNonblock
    };
    let poll = Duration::from_millis(20);
    let max_tries = wait.as_millis() / poll.as_millis() + 1;
    for _ in 0..max_tries {
        let file = match File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) => panic!("cannot open the timing lock {}: {e}", path.display()),
        };
        match Flock::lock(file, arg) {
            Ok(lock) => {
                if exclusive {
                    HOLDS_EXCLUSIVE.with(|h| h.set(true));
                }
                let waited = started.elapsed();
                if waited > Duration::from_secs(1) {
                    eprintln!(
                        "vipd-e2e: waited {:.1} s for the {} timing lock {}",
                        waited.as_secs_f64(),
                        if exclusive { "exclusive" } else { "shared" },
                        path.display()
                    );
                }
                return Some(TimingLock {
                    exclusive,
                    _lock: lock,
                });
            }
            Err((_, Errno::EWOULDBLOCK)) => {}
            Err((_, e)) => panic!("flock {}: {e}", path.display()),
        }
        if started.elapsed() >= wait {
            break;
        }
        std::thread::sleep(poll);
    }
    None
}

/// Serialises the timing-critical tests (they measure tens of milliseconds and the
/// machine has two cores) across every thread and every process on this machine: an
/// exclusive `flock(2)` on [`timing_lock_path`]. Every other end-to-end test holds the
/// same lock shared for as long as its [`crate::Lan`] lives ([`shared`]), so a timed
/// test never runs beside any other end-to-end test, whichever test binary, thread
/// count or runner (`cargo test`, `cargo nextest`, two runs at once) starts them. Take
/// it before [`crate::Lan::new`] and keep it to the end of the test.
pub fn exclusive() -> TimingLock {
    assert!(
        !HOLDS_EXCLUSIVE.with(Cell::get),
        "exclusive() taken twice on one thread: it would wait for itself"
    );
    take(true)
}

/// The shared hold [`crate::Lan::new`] takes: `None` if this thread already holds the
/// exclusive one (a timed test's LAN).
pub fn shared() -> Option<TimingLock> {
    if HOLDS_EXCLUSIVE.with(Cell::get) {
        None
    } else {
        Some(take(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_is_bounded() {
        let t = Instant::now();
        assert!(!wait_until(
            Duration::from_millis(50),
            Duration::from_millis(5),
            || false
        ));
        assert!(t.elapsed() < Duration::from_secs(2));
        let mut n = 0;
        assert!(wait_until(
            Duration::from_secs(1),
            Duration::from_millis(1),
            || {
                n += 1;
                n == 3
            }
        ));
    }

    #[test]
    fn timing_lock_excludes_across_threads() {
        let path = std::env::temp_dir().join(format!(
            "vipd-e2e-lock-selftest-{}.lock",
            std::process::id()
        ));
        let short = Duration::from_millis(100);
        let other = |exclusive: bool| {
            let p = path.clone();
            std::thread::spawn(move || take_at(&p, exclusive, short).is_some())
                .join()
                .expect("lock thread")
        };
        let ex = take_at(&path, true, short).expect("exclusive on a fresh file");
        assert!(HOLDS_EXCLUSIVE.with(Cell::get));
        assert!(!other(false), "shared beside exclusive");
        assert!(!other(true), "exclusive beside exclusive");
        drop(ex);
        assert!(!HOLDS_EXCLUSIVE.with(Cell::get));
        let sh = take_at(&path, false, short).expect("shared on a free file");
        assert!(other(false), "two shared holds at once");
        assert!(!other(true), "exclusive beside shared");
        drop(sh);
        assert!(other(true), "exclusive once released");
        let _ = std::fs::remove_file(&path);
    }
}
