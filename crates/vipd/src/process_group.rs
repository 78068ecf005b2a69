//! Running a program (no shell) in a process group of its own, bounded in time: what
//! the exec health check and the notify hooks share.
//!
//! The program's stdin is /dev/null; its stdout and stderr are read as they come (so a
//! program that writes a lot never blocks on a full pipe): the first non-empty line is
//! kept, at most [`MAX_LINE`] bytes, the rest discarded. At the deadline the whole
//! group is killed (SIGKILL) and the child reaped; after a normal exit whatever is left
//! of the group is killed too. Nothing here blocks a thread: it is all tokio.
//!
//! The program never holds vipd's privileges: between fork and exec the child empties
//! its ambient, inheritable, effective and permitted capability sets (and the bounding
//! set when vipd holds CAP_SETPCAP), and with a user switches to that uid and its
//! primary group with no supplementary groups ([`crate::sys::shed_privileges_at_exec`]).
//! Its environment is the caller's alone (vipd's own is cleared), it starts in `/`, and
//! the program must be named by an absolute path (no `PATH` search). vipd itself keeps
//! what it needs to kill the group at the deadline: a child of another user is killed
//! with CAP_KILL, and one is not started at all without it.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::sys::{self, ChildUser};

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

/// The `PATH` a child is given: the one a hook gets, for the programs its program runs.
pub const CHILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command for `program` (an absolute path), set up to run under [`run`]: its own
/// process group, stdin from /dev/null, stdout and stderr piped, killed if dropped,
/// started in `/` with exactly the environment `env`, without any capability, and as
/// `user` when given. Refused, saying why, when the program is not an absolute path or
/// vipd could not switch to `user`, kill a child of that user at the deadline, or keep a
/// child running as root from getting capabilities back at exec.
pub fn command<'a>(
    program: &str,
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
    user: Option<ChildUser>,
) -> Result<Command, String> {
    if !program.starts_with('/') {
        return Err(format!(
            "`{program}` is not an absolute path (no PATH search is done)"
        ));
    }
    preflight(user)?;
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .envs(env)
        .current_dir("/")
        .process_group(0)
        .kill_on_drop(true);
    sys::shed_privileges_at_exec(&mut cmd, user);
    Ok(cmd)
}

/// Whether vipd holds what running a child as `user` (or as itself) takes.
fn preflight(user: Option<ChildUser>) -> Result<(), String> {
    use rustix::thread::CapabilitySet as Cap;
    let held = sys::effective_capabilities()
        .map_err(|e| format!("cannot read vipd's capabilities: {e}"))?;
    let (uid, euid) = (
        rustix::process::getuid().as_raw(),
        rustix::process::geteuid().as_raw(),
    );
    let mut missing = Vec::new();
    if let Some(u) = user {
        if u.uid == u32::MAX || u.gid == u32::MAX {
            return Err("the user's uid or gid is -1".into());
        }
        for (cap, name) in [(Cap::SETUID, "CAP_SETUID"), (Cap::SETGID, "CAP_SETGID")] {
            if !held.contains(cap) {
                missing.push(name);
            }
        }
        // kill(2): without CAP_KILL only a process of vipd's own uid can be signalled.
        if u.uid != uid && u.uid != euid && !held.contains(Cap::KILL) {
            missing.push("CAP_KILL (to kill it at the timeout)");
        }
    }
    // A child whose uid is 0 gets the bounding set back as capabilities at exec
    // (capabilities(7), "Capabilities and execution of programs by root").
    let child_uid = user.map_or(euid, |u| u.uid);
    if child_uid == 0 && !held.contains(Cap::SETPCAP) {
        missing.push("CAP_SETPCAP (to empty the bounding set of a child running as root)");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "running it{} needs {}, which vipd does not hold",
            user.map(|u| format!(" as uid {}", u.uid))
                .unwrap_or_default(),
            missing.join(", ")
        ))
    }
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
