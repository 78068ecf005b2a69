//! The exec check: a program (no shell) in a process group of its own, optionally as
//! another user. Exit 0 is up. At the timeout the whole group is killed and the child
//! reaped; after a normal exit whatever is left of the group is killed too. Its output
//! is read as it comes (so a program that writes a lot never blocks on a full pipe):
//! the first line is kept, at most [`MAX_LINE`] bytes, and the rest is discarded.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Pid, User};
use tokio::io::{AsyncRead, AsyncReadExt};
use vipd_node::CheckResult;

/// The most of the first output line kept for status.
pub const MAX_LINE: usize = 200;

/// How long the output may still come after the program exited (a child it left
/// behind holding the pipe open is killed with the group then).
const OUTPUT_GRACE: Duration = Duration::from_millis(100);

/// How long a killed group's child is waited for.
const REAP_WAIT: Duration = Duration::from_secs(2);

pub(super) async fn run(
    check: &str,
    argv: &[String],
    user: Option<&str>,
    timeout: Duration,
) -> CheckResult {
    let Some((program, args)) = argv.split_first() else {
        return CheckResult::Error("no program to run".into());
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .env("VIPD_CHECK", check);
    if let Some(name) = user {
        let name = name.to_owned();
        // getpwnam may ask a directory service: a blocking thread, within the timeout.
        let found = tokio::time::timeout_at(
            deadline,
            tokio::task::spawn_blocking(move || User::from_name(&name)),
        )
        .await;
        match found {
            Ok(Ok(Ok(Some(u)))) => {
                // std drops the supplementary groups when it switches user as root.
                cmd.uid(u.uid.as_raw()).gid(u.gid.as_raw());
            }
            Ok(Ok(Ok(None))) => return CheckResult::Error(format!("no user {user:?}")),
            Ok(Ok(Err(e))) => return CheckResult::Error(format!("looking up user: {e}")),
            Ok(Err(e)) => return CheckResult::Error(format!("looking up user: {e}")),
            Err(_) => return CheckResult::TimedOut(timeout),
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return CheckResult::Error(format!("cannot run {program}: {e}")),
    };
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
            return CheckResult::Error(format!("waiting for {program}: {e}"));
        }
        Err(_) => {
            kill_group();
            // Reaped here; one in uninterruptible sleep is left to kill_on_drop.
            let _ = tokio::time::timeout(REAP_WAIT, child.wait()).await;
            if let Some(t) = out {
                t.abort();
            }
            if let Some(t) = err {
                t.abort();
            }
            return CheckResult::TimedOut(timeout);
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
    use std::os::unix::process::ExitStatusExt;
    CheckResult::Exited {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn exit_codes_and_the_first_line() {
        let r = run(
            "t",
            &argv(&["sh", "-c", "echo; echo hello; echo more; exit 3"]),
            None,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(
            r,
            CheckResult::Exited {
                code: Some(3),
                signal: None,
                output: "hello".into()
            }
        );
        let r = run(
            "t",
            &argv(&["sh", "-c", "echo oops >&2"]),
            None,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(
            r,
            CheckResult::Exited {
                code: Some(0),
                signal: None,
                output: "oops".into()
            }
        );
        let r = run(
            "t",
            &argv(&["/nonexistent/check"]),
            None,
            Duration::from_secs(5),
        )
        .await;
        assert!(matches!(r, CheckResult::Error(e) if e.contains("cannot run")));
    }

    #[tokio::test]
    async fn a_hang_is_killed_with_its_group_at_the_timeout() {
        let started = std::time::Instant::now();
        // The shell's child (sleep) is in the group too and holds the pipe.
        let r = run(
            "t",
            &argv(&["sh", "-c", "sleep 1000 & sleep 1000"]),
            None,
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(r, CheckResult::TimedOut(Duration::from_millis(300)));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_flood_of_output_is_drained_and_bounded() {
        // 32 MiB without a newline, then a line: the first line kept is 200 bytes.
        let r = run(
            "t",
            &argv(&[
                "sh",
                "-c",
                "head -c 33554432 /dev/zero | tr '\\\\0' x; echo; exit 0",
            ]),
            None,
            Duration::from_secs(20),
        )
        .await;
        match r {
            CheckResult::Exited {
                code: Some(0),
                output,
                ..
            } => assert_eq!(output.len(), MAX_LINE),
            other => panic!("{other:?}"),
        }
    }
}
