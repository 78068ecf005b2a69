//! Runs the node's notify hooks (`Command::RunHook`) away from the main loop, on a
//! thread of their own ("vipd-hooks", started with the first hook) with a runtime of
//! its own: a hook that hangs, spins or floods its output never delays an advert.
//!
//! Each run is [`crate::process_group::run`]: the argv (no shell) in a process group of
//! its own, stdin from /dev/null, the first line of its output kept (bounded), the
//! whole group killed with SIGKILL at the timeout. Its environment is exactly the one
//! the node gave (the daemon's own is cleared), it starts in `/`, and it holds no
//! capability (vipd's ambient ones are not passed on). The answer is
//! `Event::HookDone`; whether the run failed is the node's call.

use std::time::Duration;

use tokio::sync::mpsc;
use vipd_node::{Event, HookResult, HookRunId};

use crate::process_group::{self, Ended};

/// One run for the hooks' runtime.
struct Job {
    id: HookRunId,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

/// The handle the main loop keeps; dropping it ends the hooks' thread once the runs
/// under way have ended.
pub struct HookRunner {
    jobs: crate::worker::Worker<Job>,
    results: mpsc::UnboundedSender<Event>,
}

impl HookRunner {
    /// The hooks' runner (its thread starts with the first hook); answers come back
    /// on `results`.
    pub fn new(results: mpsc::UnboundedSender<Event>) -> HookRunner {
        let jobs =
            crate::worker::Worker::new("vipd-hooks", results.clone(), |job: Job| async move {
                let result = run(&job.argv, &job.env, job.timeout).await;
                Event::HookDone { id: job.id, result }
            });
        HookRunner { jobs, results }
    }

    /// Runs a hook once; the answer is `Event::HookDone { id, .. }`.
    pub fn run(
        &mut self,
        id: HookRunId,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        timeout: Duration,
    ) {
        let job = Job {
            id,
            argv,
            env,
            timeout,
        };
        if let Err((job, why)) = self.jobs.send(job) {
            let _ = self.results.send(Event::HookDone {
                id: job.id,
                result: HookResult::Error(format!("the hook runner: {why}")),
            });
        }
    }
}

/// One run of a hook, bounded by `timeout`.
pub async fn run(argv: &[String], env: &[(String, String)], timeout: Duration) -> HookResult {
    let Some((program, args)) = argv.split_first() else {
        return HookResult::Error("no program to run".into());
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let env = env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut cmd = match process_group::command(program, env, None) {
        Ok(c) => c,
        Err(e) => return HookResult::Error(format!("cannot run {program}: {e}")),
    };
    cmd.args(args);
    match process_group::run(cmd, deadline).await {
        Ended::Exited {
            code,
            signal,
            output,
        } => HookResult::Exited {
            code,
            signal,
            output,
        },
        Ended::TimedOut => HookResult::TimedOut(timeout),
        Ended::CannotStart(e) => HookResult::Error(format!("cannot run {program}: {e}")),
        Ended::WaitFailed(e) => HookResult::Error(format!("waiting for {program}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn the_environment_is_exactly_the_nodes() {
        std::env::set_var("VIPD_TEST_SECRET", "leaked");
        let env = vec![
            ("VIPD_STATE".to_string(), "master".to_string()),
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
        ];
        // `env` prints the whole environment, one variable a line; keep it on one.
        let r = run(
            &argv(&[
                "/bin/sh",
                "-c",
                "echo \"$(env | sort | tr '\\n' ' ')$(pwd)\"",
            ]),
            &env,
            Duration::from_secs(5),
        )
        .await;
        match r {
            HookResult::Exited {
                code: Some(0),
                output,
                ..
            } => {
                // sh itself adds PWD (and may add SHLVL and _), nothing else of ours.
                assert!(output.contains("VIPD_STATE=master"), "{output}");
                assert!(output.contains("PATH=/usr/bin:/bin"), "{output}");
                assert!(!output.contains("VIPD_TEST_SECRET"), "{output}");
                assert!(output.ends_with(" /"), "{output}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_hang_is_killed_with_its_child_at_the_timeout() {
        let dir = std::env::temp_dir().join(format!("vipd-hook-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pidfile = dir.join("child.pid");
        let script = format!("sleep 1000 & echo $! > {}; wait", pidfile.display());
        let started = std::time::Instant::now();
        let r = run(
            &argv(&["/bin/sh", "-c", &script]),
            &[],
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(r, HookResult::TimedOut(Duration::from_millis(500)));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("the hook wrote its child's pid")
            .trim()
            .parse()
            .expect("a pid");
        // The grandchild was killed with the group: gone, or a zombie until its new
        // parent reaps it. A SIGKILL takes effect when the process next runs: up to
        // a second (100 looks).
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        };
        let mut looks = 0;
        while alive() && looks < 100 {
            looks += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(), "sleep {pid} survived its hook's timeout");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn failures_are_reported_as_they_are() {
        let r = run(&argv(&["/nonexistent/hook"]), &[], Duration::from_secs(5)).await;
        assert!(
            matches!(&r, HookResult::Error(e) if e.contains("cannot run /nonexistent/hook")),
            "{r:?}"
        );
        let r = run(
            &argv(&["/bin/sh", "-c", "echo bad >&2; exit 4"]),
            &[],
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(
            r,
            HookResult::Exited {
                code: Some(4),
                signal: None,
                output: "bad".into()
            }
        );
    }
}
