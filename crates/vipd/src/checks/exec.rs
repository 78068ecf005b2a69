//! The exec check: a program (no shell) in a process group of its own, optionally as
//! another user. Exit 0 is up. Running it, bounded by the timeout, is
//! [`crate::process_group`]'s: at the timeout the whole group is killed and the child
//! reaped; after a normal exit whatever is left of the group is killed too; the first
//! line of its output is kept, at most [`crate::process_group::MAX_LINE`] bytes.

use std::time::Duration;

use nix::unistd::User;
use vipd_node::CheckResult;

use crate::process_group::{self, Ended};

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
    let mut cmd = process_group::command(program);
    cmd.args(args).env("VIPD_CHECK", check);
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
    match process_group::run(cmd, deadline).await {
        Ended::Exited {
            code,
            signal,
            output,
        } => CheckResult::Exited {
            code,
            signal,
            output,
        },
        Ended::TimedOut => CheckResult::TimedOut(timeout),
        Ended::CannotStart(e) => CheckResult::Error(format!("cannot run {program}: {e}")),
        Ended::WaitFailed(e) => CheckResult::Error(format!("waiting for {program}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process_group::MAX_LINE;

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
