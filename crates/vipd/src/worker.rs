//! A helper thread with a runtime of its own, for work that must never run on the main
//! loop's thread (health checks, notify hooks): each job it is given runs as a task of
//! its own, beside the others, and what the job yields goes back to the main loop as an
//! event.
//!
//! The thread starts with the first job, not before: a configuration without checks
//! (or without hooks) never has their thread, runtime and buffers. The main loop runs
//! with SCHED_RESET_ON_FORK ([`crate::realtime`]), so a thread it starts later still
//! runs under the normal policy.

use std::future::Future;

use tokio::sync::mpsc;
use vipd_node::Event;

/// Starts a thread on demand; see the module docs.
pub struct Worker<J> {
    name: &'static str,
    start: Box<dyn FnMut() -> std::io::Result<mpsc::UnboundedSender<J>> + Send>,
    jobs: Option<mpsc::UnboundedSender<J>>,
}

impl<J: Send + 'static> Worker<J> {
    /// Thread `name`, started by the first [`Worker::send`]: `work(job)` is each job's
    /// task, and its event goes to `results`. The thread ends once the worker is dropped.
    pub fn new<F, Fut>(name: &'static str, results: mpsc::UnboundedSender<Event>, work: F) -> Self
    where
        F: Fn(J) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Event> + Send + 'static,
    {
        Worker {
            name,
            start: Box::new(move || spawn(name, results.clone(), work.clone())),
            jobs: None,
        }
    }

    /// Hands `job` to the thread, starting it first if it is not running; gives the job
    /// back, with why, if the thread cannot take it.
    pub fn send(&mut self, job: J) -> Result<(), (J, String)> {
        if self.jobs.is_none() {
            match (self.start)() {
                Ok(jobs) => self.jobs = Some(jobs),
                Err(e) => return Err((job, format!("cannot start thread {}: {e}", self.name))),
            }
        }
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|mpsc::error::SendError(job)| {
                (job, format!("thread {} is gone", self.name))
            }),
            None => Err((job, format!("thread {} is not running", self.name))),
        };
        if sent.is_err() {
            // A thread that died is started afresh for the next job.
            self.jobs = None;
        }
        sent
    }
}

fn spawn<J, F, Fut>(
    name: &str,
    results: mpsc::UnboundedSender<Event>,
    work: F,
) -> std::io::Result<mpsc::UnboundedSender<J>>
where
    J: Send + 'static,
    F: Fn(J) -> Fut + Send + 'static,
    Fut: Future<Output = Event> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (jobs, mut rx) = mpsc::unbounded_channel::<J>();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            rt.block_on(async move {
                while let Some(job) = rx.recv().await {
                    let out = results.clone();
                    let task = work(job);
                    tokio::spawn(async move {
                        // The main loop is gone only when vipd exits.
                        let _ = out.send(task.await);
                    });
                }
            });
        })?;
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipd_node::{HookResult, HookRunId};

    fn threads_named(name: &str) -> usize {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name)
            })
            .count()
    }

    #[test]
    fn the_thread_starts_with_the_first_job() {
        let (results, mut rx) = mpsc::unbounded_channel();
        let mut w = Worker::new("vipd-test-lazy", results, |id: u64| async move {
            Event::HookDone {
                id: HookRunId(id),
                result: HookResult::Error("done".into()),
            }
        });
        // Time enough for a thread started now to be up and named.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(threads_named("vipd-test-lazy"), 0, "started before any job");
        w.send(7).map_err(|(_, why)| why).expect("sent");
        let Some(Event::HookDone { id, .. }) = rx.blocking_recv() else {
            panic!("no answer");
        };
        assert_eq!(id, HookRunId(7));
        assert_eq!(threads_named("vipd-test-lazy"), 1);
        w.send(8).map_err(|(_, why)| why).expect("sent");
        assert!(rx.blocking_recv().is_some());
        assert_eq!(
            threads_named("vipd-test-lazy"),
            1,
            "one thread for every job"
        );
    }
}
