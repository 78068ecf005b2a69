//! A helper thread with a runtime of its own, for work that must never run on the main
//! loop's thread (health checks, notify hooks): each job it is given runs as a task of
//! its own, beside the others, and what the job yields goes back to the main loop as an
//! event.

use std::future::Future;

use tokio::sync::mpsc;
use vipd_node::Event;

/// Starts thread `name` and returns where to send it jobs; `work(job)` is the job's
/// task, and its event goes to `results`. The thread ends once the returned sender is
/// dropped.
pub fn spawn<J, F, Fut>(
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
