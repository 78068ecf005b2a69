//! Bounded waiting, wall-clock timestamps and command helpers.

use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Wall-clock seconds since the Unix epoch, the clock `ping -D`, `tcpdump -tt` and the
/// line monitors stamp with, so their timestamps can be compared.
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

static EXCLUSIVE: Mutex<()> = Mutex::new(());

/// Serializes the timing-critical tests of one test binary (they measure tens of
/// milliseconds and the machine may have two cores). Survives a poisoned lock: a test
/// that panicked while holding it says nothing about the next one.
pub fn exclusive() -> MutexGuard<'static, ()> {
    EXCLUSIVE.lock().unwrap_or_else(|p| p.into_inner())
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
}
