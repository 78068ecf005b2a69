//! Running a program (no shell) in a process group of its own, bounded in time: what
//! the exec health check and the notify hooks share.
//!
//! The program's stdin is /dev/null; its stdout and stderr are read as they come (so a
//! program that writes a lot never blocks on a full pipe): the first non-empty line is
//! kept, at most [`MAX_LINE`] bytes, the rest discarded. At the deadline the whole
//! group is killed (SIGKILL) and the child reaped; after a normal exit whatever is left
//! of the group is killed too. Nothing here blocks a thread: it is all tokio.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// The most of the first output line kept.
pub const MAX_LINE: usize = 200;

/// How long the output may still come after the program exited (a child it left
/// behind holding the pipe open is killed with the group then).
const OUTPUT_GRACE: Duration = Duration::from_millis(100);

/// How long a killed group's child is waited for.
const REAP_WAIT: Duration = Duration::from_secs(2);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The program exited (or a signal ended it); the first line of its output.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        output: String,
    },
    /// The deadline passed: the group was killed.
    TimedOut,
    /// It could not be started.
    CannotStart(String),
    /// Waiting for it failed (the group was killed).
    WaitFailed(String),
}

/// A command for `program`, set up to run under [`run`]: its own process group,
/// stdin from /dev/null, stdout and stderr piped, killed if dropped.
pub fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    cmd
}

/// Runs `cmd` (made by [`command`]) until it ends or `deadline` passes.
pub async fn run(mut cmd: Command, deadline: tokio::time::Instant) -> Ended {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ended::CannotStart(e.to_string()),
    };
    // The group's id is the child's pid (process_group(0)).
    let group = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .map(Pid::from_raw);
    let kill_group = || {
        if let Some(g) = group {
            // ESRCH: nothing left of the group.
            let _ = killpg(g, Signal::SIGKILL);
        }
    };
    let out = child.stdout.take().map(|s| tokio::spawn(first_line(s)));
    let err = child.stderr.take().map(|s| tokio::spawn(first_line(s)));
    let status = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            kill_group();
            return Ended::WaitFailed(e.to_string());
        }
        Err(_) => {
            kill_group();
            // Reaped here; one in uninterruptible sleep is left to kill_on_drop.
            let _ = tokio::time::timeout(REAP_WAIT, child.wait()).await;
            for task in [out, err].into_iter().flatten() {
                task.abort();
            }
            return Ended::TimedOut;
        }
    };
    // Whatever the program left running in its group goes with it.
    kill_group();
    let mut line = String::new();
    for task in [out, err].into_iter().flatten() {
        let abort = task.abort_handle();
        match tokio::time::timeout(OUTPUT_GRACE, task).await {
            Ok(Ok(Some(l))) if line.is_empty() => line = l,
            Ok(_) => {}
            Err(_) => abort.abort(),
        }
    }
    Ended::Exited {
        code: status.code(),
        signal: status.signal(),
        output: line,
    }
}

/// Reads `r` to its end; returns its first non-empty line (at most [`MAX_LINE`]
/// bytes), discarding everything else.
async fn first_line(mut r: impl AsyncRead + Unpin) -> Option<String> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let mut done = false;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if done {
            continue;
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                if line.iter().any(|c| !c.is_ascii_whitespace()) {
                    done = true;
                    break;
                }
                line.clear();
            } else if line.len() < MAX_LINE {
                line.push(b);
            }
        }
    }
    let text = String::from_utf8_lossy(&line).trim().to_owned();
    (!text.is_empty()).then_some(text)
}
