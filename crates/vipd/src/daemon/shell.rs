//! The shell proper: what executes the node's commands (sockets, VIP jobs, kernel
//! reads, checks, hooks, control replies, watchers, the state file, systemd) and turns
//! the results known at once into events; and the node as the hot path drives it.

use std::collections::{BTreeMap, VecDeque};

use tokio::sync::oneshot;
use tracing::{debug, error, info, warn};
use vipd_node::{Command, Event, ExitError, Level, Node, Record, RequestId};

use crate::checks::CheckRunner;
use crate::clock::Clock;
use crate::config_reader::ConfigReader;
use crate::control::Pending;
use crate::event_stream::{Outgoing, Watchers};
use crate::hooks::HookRunner;
use crate::hot_path;
use crate::service_manager::ServiceManager;
use crate::sockets::Sockets;
use crate::state::StateWriter;
use crate::vip_writer::VipWriter;
use crate::watcher::Watcher;

use super::DaemonError;

/// What executes the node's commands.
pub(super) struct Shell {
    pub(super) config: ConfigReader,
    pub(super) sockets: Sockets,
    pub(super) vips: VipWriter,
    pub(super) watcher: Watcher,
    pub(super) checks: CheckRunner,
    pub(super) hooks: HookRunner,
    /// Control requests waiting for the node's answer.
    pub(super) replies: BTreeMap<RequestId, oneshot::Sender<vipd_api::Response>>,
    pub(super) requests: u64,
    /// Writes the maintenance state under the state directory, off the loop.
    pub(super) state: StateWriter,
    /// The event stream's watchers (`vipctl watch`).
    pub(super) watchers: Watchers,
    /// Watch requests waiting for the node's answer: the instances and the channel to
    /// the connection, registered if the node says yes.
    pub(super) streams: BTreeMap<RequestId, (Vec<String>, tokio::sync::mpsc::Sender<Outgoing>)>,
    /// The node's newest published status, for the metrics endpoint.
    pub(super) status: tokio::sync::watch::Sender<Option<std::sync::Arc<vipd_api::Status>>>,
    /// systemd, when vipd runs under it: readiness, status line, watchdog.
    pub(super) service: ServiceManager,
}

/// The node with its shell and clock, as the hot path drives it.
pub(super) struct Hot<'a> {
    shell: &'a mut Shell,
    node: &'a mut Node,
    clock: &'a Clock,
    /// Set once the node asked to exit; later events are then left alone.
    pub(super) exit: Option<Result<(), ExitError>>,
}

impl<'a> Hot<'a> {
    pub(super) fn new(shell: &'a mut Shell, node: &'a mut Node, clock: &'a Clock) -> Self {
        Hot {
            shell,
            node,
            clock,
            exit: None,
        }
    }
}

impl hot_path::Core for Hot<'_> {
    fn timer_due(&self) -> bool {
        self.exit.is_none()
            && self
                .node
                .poll_timeout()
                .is_some_and(|t| t <= self.clock.now())
    }

    fn handle(&mut self, event: Event) {
        if self.exit.is_some() {
            return;
        }
        self.node.handle(self.clock.now(), event);
        self.exit = self.shell.execute(self.clock, self.node);
    }
}

impl Shell {
    /// Executes the node's commands until it has none; results that are known at once
    /// (a send, an open) go straight back to it. Returns the exit result once asked to.
    pub(super) fn execute(
        &mut self,
        clock: &Clock,
        node: &mut Node,
    ) -> Option<Result<(), ExitError>> {
        let mut answers = VecDeque::new();
        loop {
            while let Some(command) = node.poll_command() {
                match command {
                    Command::Exit(result) => return Some(result),
                    other => {
                        if let Some(answer) = self.run(clock, other) {
                            answers.push_back(answer);
                        }
                    }
                }
            }
            let answer = answers.pop_front()?;
            node.handle(clock.now(), answer);
        }
    }

    /// Executes one command; returns its result if it is known at once.
    fn run(&mut self, clock: &Clock, command: Command) -> Option<Event> {
        match command {
            Command::ReadKernel { id, interfaces } => self.watcher.read(id, interfaces),
            Command::OpenSockets {
                id,
                interface,
                ifindex,
                family,
                source,
            } => return self.sockets.open(id, interface, ifindex, family, source),
            Command::CloseSockets { interface } => self.sockets.close(&interface),
            Command::SendAdvert {
                run,
                interface,
                family,
                src,
                to,
            } => {
                let ok = self.sockets.send_advert(&interface, family, src, &to);
                return Some(Event::AdvertSent { run, ok });
            }
            Command::Announce {
                interface,
                instance,
                frames,
            } => match self.sockets.send_frames(&interface, &frames) {
                (sent, None) => debug!(instance, frames = sent, "announced VIPs"),
                (sent, Some(e)) => warn!(
                    instance,
                    sent,
                    of = frames.len(),
                    "announce frames not all sent: {e}"
                ),
            },
            Command::VipJob(job) => self.vips.submit(job),
            Command::Reply { id, response } => {
                let response = self.maybe_watch(id, response);
                if let Some(reply) = self.replies.remove(&id) {
                    // The connection's task writes it; a client that left is no matter.
                    let _ = reply.send(response);
                }
            }
            Command::Record(record) => log(&record),
            Command::Publish(p) => {
                let time = crate::stamp::rfc3339_ms(crate::stamp::wall_time(
                    p.at,
                    clock.now(),
                    std::time::SystemTime::now(),
                ));
                self.watchers.publish(&time, p.event);
            }
            Command::RunCheck {
                id,
                check,
                kind,
                timeout,
            } => self.checks.run(id, check, kind, timeout),
            Command::WatchProcess {
                id,
                check,
                process,
                rescan,
            } => self.checks.watch(id, check, process, rescan),
            Command::StopWatch { id } => self.checks.stop(id),
            Command::RunHook {
                id,
                owner,
                hook,
                argv,
                env,
                timeout,
            } => {
                debug!(instance = owner.name(), hook, ?argv, "running notify hook");
                self.hooks.run(id, argv, env, timeout);
            }
            Command::SaveMaintenance(m) => self.state.save(m),
            Command::Service(note) => self.service.tell(&note),
            Command::SaveAuth(a) => self.state.save_auth(a),
            Command::PublishStatus(status) => {
                // Receivers only read the newest; none (no metrics task) is no matter.
                self.status.send_replace(Some(std::sync::Arc::new(*status)));
            }
            // Handled by `execute`.
            Command::Exit(_) => {}
        }
        None
    }

    pub(super) fn request(&mut self, p: Pending) -> Event {
        self.requests += 1;
        let id = RequestId(self.requests);
        self.replies.insert(id, p.reply);
        if let (Some(tx), vipd_api::Command::Watch { instances }) = (p.stream, &p.request.command) {
            self.streams.insert(id, (instances.clone(), tx));
        }
        Event::Control {
            id,
            request: p.request,
            caller: p.caller,
        }
    }
}

impl Shell {
    /// The node's answer to request `id`: a watch it accepted becomes a watcher from
    /// here on (every event published after this reply reaches it), unless there are
    /// too many already.
    fn maybe_watch(&mut self, id: RequestId, response: vipd_api::Response) -> vipd_api::Response {
        let Some((instances, tx)) = self.streams.remove(&id) else {
            return response;
        };
        if !matches!(response, vipd_api::Response::Watching { .. }) {
            return response;
        }
        match self.watchers.add(instances, tx) {
            Ok(()) => response,
            Err(e) => vipd_api::Response::Error {
                v: vipd_api::PROTOCOL_VERSION,
                message: e.to_string(),
            },
        }
    }

    /// The node asked to exit: watchers get an `end` record (waited for up to
    /// [`crate::event_stream::END_WAIT`], off any loop: nothing else runs now).
    pub(super) async fn finish(&mut self, exit: Result<(), ExitError>) -> Result<(), DaemonError> {
        let time = crate::stamp::rfc3339_ms(std::time::SystemTime::now());
        let told = self.watchers.close(&time, "vipd is stopping");
        let written = futures::future::join_all(told.iter().map(|tx| tx.closed()));
        let _ = tokio::time::timeout(crate::event_stream::END_WAIT, written).await;
        exit.map_err(DaemonError::from)
    }
}

/// A node record as a log line; in the journal with fields of its own.
fn log(r: &Record) {
    if crate::journal::active() {
        return crate::journal::log_record(r);
    }
    let instance = r.instance.as_deref().unwrap_or("");
    match r.level {
        Level::Debug => debug!(instance, "{}", r.what),
        Level::Info => info!(instance, "{}", r.what),
        Level::Warn => warn!(instance, "{}", r.what),
        Level::Error => error!(instance, "{}", r.what),
    }
}
