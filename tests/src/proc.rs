//! Child processes the tests start: daemons writing to a log file ([`Proc`]) and tools
//! whose output lines are collected with arrival timestamps ([`Monitor`]). Both are
//! killed when dropped.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::util::{epoch_now, wait_until};

fn send(child: &Child, sig: Signal) -> bool {
    match i32::try_from(child.id()) {
        Ok(pid) => kill(Pid::from_raw(pid), sig).is_ok(),
        Err(_) => false,
    }
}

/// Waits (bounded) for a child to exit.
fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(timeout, Duration::from_millis(5), || {
        match child.try_wait() {
            Ok(Some(s)) => status = Some(s),
            Ok(None) => {}
            Err(_) => return true,
        }
        status.is_some()
    });
    status
}

/// A long-running process (vipd, keepalived) with stdout and stderr in a log file.
pub struct Proc {
    what: String,
    child: Child,
    log: PathBuf,
    exit: Option<ExitStatus>,
}

impl Proc {
    /// Starts `cmd` with both output streams appended to `log`.
    pub fn spawn(mut cmd: Command, what: &str, log: &Path) -> Proc {
        let file = match File::options().create(true).append(true).open(log) {
            Ok(f) => f,
            Err(e) => panic!("cannot open log {}: {e}", log.display()),
        };
        let err = match file.try_clone() {
            Ok(f) => f,
            Err(e) => panic!("cannot duplicate log handle: {e}"),
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err));
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start {what} ({cmd:?}): {e}"),
        };
        Proc {
            what: what.to_string(),
            child,
            log: log.to_path_buf(),
            exit: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal; false if the process is already gone.
    pub fn signal(&mut self, sig: Signal) -> bool {
        if self.exited().is_some() {
            return false;
        }
        send(&self.child, sig)
    }

    /// The exit status if the process has exited (reaping it).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.exit = Some(s);
            }
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = wait_bounded(&mut self.child, timeout);
        }
        self.exit
    }

    /// The last `n` lines of the log, for failure reports.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(n);
        lines[from..].join("\n")
    }

    pub fn what(&self) -> &str {
        &self.what
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited().is_none() {
            send(&self.child, Signal::SIGKILL);
            self.exit = wait_bounded(&mut self.child, Duration::from_secs(3));
        }
    }
}

/// One output line of a monitored tool, stamped when the harness read it.
#[derive(Debug, Clone)]
pub struct Line {
    /// Seconds since the Unix epoch.
    pub t: f64,
    /// From stderr rather than stdout.
    pub stderr: bool,
    pub text: String,
}

/// A tool whose output lines are collected as they come (`ip monitor`, `tcpdump`,
/// `ping`).
pub struct Monitor {
    what: String,
    child: Child,
    lines: Arc<Mutex<Vec<Line>>>,
    readers: Vec<JoinHandle<()>>,
}

fn reader(
    stream: impl Read + Send + 'static,
    stderr: bool,
    lines: Arc<Mutex<Vec<Line>>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        // Ends at EOF, i.e. when the process exits (it is killed at the latest on drop).
        for text in BufReader::new(stream).lines() {
            let Ok(text) = text else { break };
            let line = Line {
                t: epoch_now(),
                stderr,
                text,
            };
            match lines.lock() {
                Ok(mut l) => l.push(line),
                Err(p) => p.into_inner().push(line),
            }
        }
    })
}

/// SIGKILL to every process left in `child`'s process group (its own: see
/// [`Monitor::spawn`]): a grandchild that outlived the child (a shell's background job,
/// killed with it) would hold the output pipes open, and the readers would wait for it
/// forever. (Seen: a `sh -c` wrapper whose INT trap could not be set, since SIGINT was
/// ignored when it started, was SIGKILLed and left `vipctl watch` running; the test
/// hung in `stop` for 23 minutes.)
///
/// Only while the child is not reaped (alive, or a zombie: its pid, and with it the
/// group's id, cannot be given to another process until it is reaped), so that the
/// signal can never reach a group that is not ours.
fn kill_group(child: &Child) {
    if let (Ok(_), Ok(pid)) = (peek(child), i32::try_from(child.id())) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// The child's state without reaping it: `StillAlive` while it runs, its exit once it
/// has exited (a zombie), an error once it is reaped.
fn peek(child: &Child) -> nix::Result<WaitStatus> {
    let pid = i32::try_from(child.id()).map_err(|_| nix::errno::Errno::ESRCH)?;
    let unreaped = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    waitid(Id::Pid(Pid::from_raw(pid)), unreaped)
}

/// Waits (bounded) for the child to exit without reaping it.
fn wait_unreaped(child: &Child, timeout: Duration) -> bool {
    wait_until(timeout, Duration::from_millis(5), || {
        !matches!(peek(child), Ok(WaitStatus::StillAlive))
    })
}

/// Stops the child (`first`, then after 2 s SIGKILL), then everything left in its
/// group, then reaps it.
fn stop_with_group(child: &mut Child, first: Signal) {
    if !wait_unreaped(child, Duration::ZERO) {
        send(child, first);
        if !wait_unreaped(child, Duration::from_secs(2)) {
            send(child, Signal::SIGKILL);
            let _ = wait_unreaped(child, Duration::from_secs(2));
        }
    }
    kill_group(child);
    let _ = wait_bounded(child, Duration::from_secs(2));
}

impl Monitor {
    /// Starts `cmd` in a process group of its own, so that whatever it starts is
    /// stopped with it.
    pub fn spawn(mut cmd: Command, what: &str) -> Monitor {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start {what} ({cmd:?}): {e}"),
        };
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(reader(out, false, lines.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(reader(err, true, lines.clone()));
        }
        Monitor {
            what: what.to_string(),
            child,
            lines,
            readers,
        }
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<Line> {
        match self.lines.lock() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Waits up to `timeout` for a line matching `pred`; returns the first such line.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Line) -> bool) -> Option<Line> {
        let mut found = None;
        wait_until(timeout, Duration::from_millis(1), || {
            found = self.lines().into_iter().find(|l| pred(l));
            found.is_some()
        });
        found
    }

    /// Stops the tool (SIGINT first so it can print a summary, then SIGKILL) and
    /// returns everything it printed.
    pub fn stop(&mut self) -> Vec<Line> {
        stop_with_group(&mut self.child, Signal::SIGINT);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.lines()
    }

    pub fn what(&self) -> &str {
        &self.what
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        stop_with_group(&mut self.child, Signal::SIGKILL);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell's background job outlives the shell (SIGINT kills the shell; the job,
    /// started with SIGINT ignored, stays) and holds the output pipe: stopping the
    /// monitor ends it too instead of waiting for it (30 s here; it was forever).
    #[test]
    fn stopping_a_monitor_ends_what_its_command_started() {
        let mut c = Command::new("sh");
        c.args(["-c", "sleep 30 & echo started $!; wait"]);
        let mut m = Monitor::spawn(c, "sh with a background sleep");
        let line = m
            .wait_for(Duration::from_secs(5), |l| l.text.starts_with("started "))
            .expect("the shell started its job");
        let job: i32 = line.text["started ".len()..].trim().parse().expect("a pid");
        let t0 = std::time::Instant::now();
        m.stop();
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "stop took {:?}",
            t0.elapsed()
        );
        // The job is gone (not even a zombie of ours: init reaps it).
        let gone = wait_until(Duration::from_secs(2), Duration::from_millis(10), || {
            std::fs::read_to_string(format!("/proc/{job}/stat"))
                .map_or(true, |s| s.contains(" Z ") || !s.contains("(sleep)"))
        });
        assert!(gone, "the background sleep {job} still runs");
    }
}
