//! The exec check: a program (no shell, an absolute path) in a process group of its
//! own, optionally as another user, without capabilities, with only `PATH` and
//! `VIPD_CHECK` in its environment. Exit 0 is up. Running it, bounded by the timeout, is
//! [`crate::process_group`]'s: at the timeout the whole group is killed and the child
//! reaped; after a normal exit whatever is left of the group is killed too; the first
//! line of its output is kept, at most [`crate::process_group::MAX_LINE`] bytes.

use std::time::Duration;

use nix::unistd::User;
use vipd_node::CheckResult;

use crate::process_group::{self, Ended};
use crate::sys::ChildUser;

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
    let mut as_user = None;
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
                as_user = Some(ChildUser {
                    uid: u.uid.as_raw(),
                    gid: u.gid.as_raw(),
                })
            }
            Ok(Ok(Ok(None))) => return CheckResult::Error(format!("no user {user:?}")),
            Ok(Ok(Err(e))) => return CheckResult::Error(format!("looking up user: {e}")),
            Ok(Err(e)) => return CheckResult::Error(format!("looking up user: {e}")),
            Err(_) => return CheckResult::TimedOut(timeout),
        }
    }
    let env = [("PATH", process_group::CHILD_PATH), ("VIPD_CHECK", check)];
    let mut cmd = match process_group::command(program, env, as_user) {
        Ok(c) => c,
        Err(e) => return CheckResult::Error(format!("cannot run {program}: {e}")),
    };
    cmd.args(args);
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
            &argv(&["/bin/sh", "-c", "echo; echo hello; echo more; exit 3"]),
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
            &argv(&["/bin/sh", "-c", "echo oops >&2"]),
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
            &argv(&["/bin/sh", "-c", "sleep 1000 & sleep 1000"]),
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
                "/bin/sh",
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

    /// The `Cap*`, `Uid`, `Gid` and `Groups` lines of the program's /proc/self/status,
    /// as `Name=value ...` (sh builtins only: the shell is the process looked at).
    const STATUS: &str = "while read -r k v; do case $k in Cap*|Uid:|Gid:|Groups:) \
        printf '%s%s ' \"$k\" \"$(echo $v | tr ' ' ,)\";; esac; done < /proc/self/status; echo end";

    async fn status_of(user: Option<&str>) -> String {
        match run(
            "t",
            &argv(&["/bin/sh", "-c", STATUS]),
            user,
            Duration::from_secs(5),
        )
        .await
        {
            CheckResult::Exited {
                code: Some(0),
                output,
                ..
            } => output,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_program_holds_no_capability_and_only_its_environment() {
        // These tests run as root: without the drop a child would hold every capability.
        let out = status_of(None).await;
        for set in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            assert!(
                out.contains(&format!("{set}0000000000000000 ")),
                "{set} in {out}"
            );
        }
        std::env::set_var("VIPD_EXEC_TEST_SECRET", "leaked");
        let r = run(
            "mine",
            &argv(&[
                "/bin/sh",
                "-c",
                "echo \"$(env | cut -d= -f1 | sort | tr '\\n' ,)$(pwd)\"",
            ]),
            None,
            Duration::from_secs(5),
        )
        .await;
        match r {
            // sh adds PWD (and may add SHLVL and _).
            CheckResult::Exited { output, .. } => {
                assert!(!output.contains("VIPD_EXEC_TEST_SECRET"), "{output}");
                assert!(output.contains("PATH,"), "{output}");
                assert!(output.contains("VIPD_CHECK,"), "{output}");
                assert!(output.ends_with(",/"), "{output}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_user_check_runs_as_that_user_with_nothing_more() {
        let out = status_of(Some("nobody")).await;
        assert!(out.contains("Uid:65534,65534,65534,65534 "), "{out}");
        // nobody's primary group, and no supplementary group (root's 0 among them).
        let nogroup = User::from_name("nobody")
            .ok()
            .flatten()
            .map(|u| u.gid.as_raw())
            .expect("a user nobody");
        assert!(
            out.contains(&format!("Gid:{nogroup},{nogroup},{nogroup},{nogroup} ")),
            "{out}"
        );
        assert!(out.contains("Groups: Cap"), "{out}");
        for set in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            assert!(
                out.contains(&format!("{set}0000000000000000 ")),
                "{set} in {out}"
            );
        }
    }

    /// A `user:` check is started only when vipd can kill it at the timeout: here a
    /// thread that gave up CAP_KILL (capabilities are per thread) is refused, and with
    /// CAP_KILL the program and its child are killed at the timeout.
    #[test]
    fn a_user_check_is_run_only_when_it_can_be_killed() {
        use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
        let dir = std::env::temp_dir().join(format!("vipd-exec-kill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        let pidfile = dir.join("pids");
        let script = format!("sleep 1000 & echo $$ $! > {}; wait", pidfile.display());
        let script2 = script.clone();
        let without_kill = std::thread::spawn(move || {
            let mut caps = capabilities(None).expect("capget");
            caps.effective.remove(CapabilitySet::KILL);
            set_capabilities(None, caps).expect("capset");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(run(
                "t",
                &argv(&["/bin/sh", "-c", &script2]),
                Some("nobody"),
                Duration::from_millis(300),
            ))
        })
        .join()
        .expect("thread");
        assert!(
            matches!(&without_kill, CheckResult::Error(e) if e.contains("CAP_KILL")),
            "{without_kill:?}"
        );
        assert!(
            !pidfile.exists(),
            "the program ran without a way to kill it"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let r = rt.block_on(run(
            "t",
            &argv(&["/bin/sh", "-c", &script]),
            Some("nobody"),
            Duration::from_millis(300),
        ));
        assert_eq!(r, CheckResult::TimedOut(Duration::from_millis(300)));
        let pids: Vec<i32> = std::fs::read_to_string(&pidfile)
            .expect("the check wrote its pids")
            .split_whitespace()
            .map(|p| p.parse().expect("a pid"))
            .collect();
        let alive = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        };
        let mut looks = 0;
        while pids.iter().any(|p| alive(*p)) && looks < 100 {
            looks += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            !pids.iter().any(|p| alive(*p)),
            "{pids:?} survived the timeout"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
