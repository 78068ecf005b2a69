//! The daemon's event loop: a thin shell around [`vipd_node::Node`]. One `select!` turns
//! whatever happened (a datagram, a deadline, a kernel event, the result of a read or a
//! VIP job, a control request, a signal) into a node event, and executes the commands
//! the node answers with. It decides nothing: every decision is the node's (and its
//! engines'). Nothing in the loop waits: sockets are sent on without blocking, kernel
//! reads, VIP jobs, configuration reads and control replies run in tasks of their own.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};
use vipd_node::{Command, Event, ExitError, HostInfo, Level, Maintenance, Node, Record, RequestId};

use crate::checks::CheckRunner;
use crate::clock::{Clock, Wakeup};
use crate::config::{Config, ConfigError};
use crate::config_reader::ConfigReader;
use crate::control::{self, ControlError, Pending};
use crate::event_stream::{Outgoing, Watchers};
use crate::hooks::HookRunner;
use crate::hot_path;
use crate::netlink::{Netlink, NetlinkError};
use crate::service_manager::ServiceManager;
use crate::sockets::{Opened, Sockets};
use crate::state::StateWriter;
use crate::vip_writer::VipWriter;
use crate::watcher::Watcher;

/// Why the daemon could not run, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("cannot start a thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    Exit(#[from] ExitError),
    #[error(transparent)]
    Realtime(#[from] crate::realtime::RealtimeError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// What executes the node's commands.
struct Shell {
    config: ConfigReader,
    sockets: Sockets,
    vips: VipWriter,
    watcher: Watcher,
    checks: CheckRunner,
    hooks: HookRunner,
    /// Control requests waiting for the node's answer.
    replies: BTreeMap<RequestId, oneshot::Sender<vipd_api::Response>>,
    requests: u64,
    /// Writes the maintenance state under the state directory, off the loop.
    state: StateWriter,
    /// The event stream's watchers (`vipctl watch`).
    watchers: Watchers,
    /// Watch requests waiting for the node's answer: the instances and the channel to
    /// the connection, registered if the node says yes.
    streams: BTreeMap<RequestId, (Vec<String>, tokio::sync::mpsc::Sender<Outgoing>)>,
    /// The node's newest published status, for the metrics endpoint.
    status: tokio::sync::watch::Sender<Option<std::sync::Arc<vipd_api::Status>>>,
    /// systemd, when vipd runs under it: readiness, status line, watchdog.
    service: ServiceManager,
}

/// The signals vipd acts on, caught from the moment they are installed.
pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers (inside the runtime). Do it first: until then an early
    /// SIGHUP or SIGTERM has its default action and kills the process.
    pub fn install() -> Result<Signals, DaemonError> {
        let catch = |kind| signal(kind).map_err(DaemonError::Signals);
        Ok(Signals {
            term: catch(SignalKind::terminate())?,
            int: catch(SignalKind::interrupt())?,
            hup: catch(SignalKind::hangup())?,
        })
    }
}

/// Runs until SIGTERM/SIGINT, then leaves gracefully.
pub async fn run(
    config_path: PathBuf,
    config: Config,
    signals: Signals,
) -> Result<(), DaemonError> {
    let Signals {
        term: mut sigterm,
        int: mut sigint,
        hup: mut sighup,
    } = signals;
    let nl = Netlink::open()?;
    let mut monitor = Netlink::monitor()?;
    // Announced instances' interface, before the node's first read looks for it. One
    // that cannot be made leaves those instances withdrawn (their status says why).
    let mut announce_ifaces: Vec<&str> = config
        .announce
        .iter()
        .map(|a| a.interface.as_str())
        .collect();
    announce_ifaces.dedup();
    for name in announce_ifaces {
        if let Err(e) = crate::announce_iface::ensure(&nl, name).await {
            error!("{e}; announced instances on it stay withdrawn");
        }
    }
    let (_control, mut requests) = control::serve(&config.control_socket).await?;
    let (status, snapshot) = tokio::sync::watch::channel(None);
    let _metrics = match &config.metrics {
        Some(m) => Some(crate::metrics::serve(m.listen, snapshot).await?),
        None => None,
    };
    let (datagram_tx, mut datagrams) = mpsc::channel::<Event>(1024);
    let (opened_tx, mut opened) = mpsc::unbounded_channel::<Opened>();
    let (results_tx, mut results) = mpsc::unbounded_channel::<Event>();
    let mut shell = Shell {
        config: ConfigReader::spawn(
            config_path,
            results_tx.clone(),
            crate::release::path_for(&config.control_socket),
            crate::release::Remembered::from_config(&config),
        )
        .map_err(DaemonError::Thread)?,
        sockets: Sockets::new(datagram_tx, opened_tx),
        vips: VipWriter::new(nl.clone(), results_tx.clone()),
        checks: CheckRunner::new(results_tx.clone()),
        hooks: HookRunner::new(results_tx.clone()),
        watcher: Watcher::spawn(nl, results_tx),
        replies: BTreeMap::new(),
        requests: 0,
        state: StateWriter::spawn(config.state_dir.clone()),
        watchers: Watchers::default(),
        streams: BTreeMap::new(),
        status,
        service: ServiceManager::from_env(),
    };
    // Read before the loop starts. An unreadable state is taken as every instance in
    // maintenance: taking the VIPs back unasked is the worse mistake.
    let maintenance = match crate::state::load_maintenance(&config.state_dir) {
        Ok(m) => m,
        Err(e) => {
            error!("{e}; every instance starts in maintenance (`vipctl maintenance off` ends it)");
            Maintenance::everything()
        }
    };
    if !maintenance.is_empty() {
        info!(all = maintenance.all, instances = ?maintenance.instances, "starting in maintenance");
    }
    // The helper threads exist now: only this one, the loop's, is raised.
    enter_realtime(&config)?;
    let clock = Clock::start();
    let host = host_info(&config.state_dir);
    let mut node = Node::new(clock.now(), config, host, maintenance);
    let mut wakeup = Wakeup::default();
    let mut monitoring = true;
    loop {
        // From this loop only: a stalled loop stops feeding it.
        shell.service.feed_watchdog();
        if let Some(exit) = shell.execute(&clock, &mut node) {
            return shell.finish(exit).await;
        }
        // The hot path (`hot_path`): a due timer before anything else, received packets
        // in bounded batches with the timers looked at between any two.
        let mut hot = Hot::new(&mut shell, &mut node, &clock);
        hot_path::fire_due_timers(&mut hot);
        if let Some(exit) = hot.exit {
            return shell.finish(exit).await;
        }
        // One timer for both: the node's deadline and the watchdog's next feeding (a
        // timeout before the node's deadline is harmless to it).
        let next = node.poll_timeout().map(|t| clock.to_tokio(t));
        wakeup.arm(next.into_iter().chain(shell.service.watchdog_due()).min());
        let event = tokio::select! {
            biased;
            () = wakeup.wait() => Event::Timeout,
            _ = sigterm.recv() => { info!("SIGTERM: leaving"); Event::Stop }
            _ = sigint.recv() => { info!("SIGINT: leaving"); Event::Stop }
            Some(o) = opened.recv() => shell.sockets.install(o),
            Some(ev) = results.recv() => ev,
            ev = monitor.recv(), if monitoring => ev.unwrap_or_else(|| {
                monitoring = false;
                Event::MonitorClosed
            }),
            Some(p) = requests.recv() => shell.request(p),
            _ = sighup.recv() => {
                shell.service.reloading();
                shell.config.request();
                continue;
            }
            Some(ev) = datagrams.recv() => {
                let mut hot = Hot::new(&mut shell, &mut node, &clock);
                hot_path::packet_batch(ev, &mut datagrams, &mut hot);
                if let Some(exit) = hot.exit {
                    return shell.finish(exit).await;
                }
                continue;
            }
        };
        node.handle(clock.now(), event);
    }
}

/// The node with its shell and clock, as the hot path drives it.
struct Hot<'a> {
    shell: &'a mut Shell,
    node: &'a mut Node,
    clock: &'a Clock,
    /// Set once the node asked to exit; later events are then left alone.
    exit: Option<Result<(), ExitError>>,
}

impl<'a> Hot<'a> {
    fn new(shell: &'a mut Shell, node: &'a mut Node, clock: &'a Clock) -> Self {
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
    fn execute(&mut self, clock: &Clock, node: &mut Node) -> Option<Result<(), ExitError>> {
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

    fn request(&mut self, p: Pending) -> Event {
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
    async fn finish(&mut self, exit: Result<(), ExitError>) -> Result<(), DaemonError> {
        let time = crate::stamp::rfc3339_ms(std::time::SystemTime::now());
        let told = self.watchers.close(&time, "vipd is stopping");
        let written = futures::future::join_all(told.iter().map(|tx| tx.closed()));
        let _ = tokio::time::timeout(crate::event_stream::END_WAIT, written).await;
        exit.map_err(DaemonError::from)
    }
}

/// `realtime_priority`, `lock_memory`: for this thread, once the helpers run.
fn enter_realtime(config: &Config) -> Result<(), DaemonError> {
    if config.lock_memory {
        crate::realtime::lock_memory()?;
        info!(
            rss_kb = crate::realtime::rss_kb(),
            "lock_memory: memory locked"
        );
    }
    if config.realtime_priority > 0 {
        crate::realtime::raise(config.realtime_priority)?;
        info!(
            priority = config.realtime_priority,
            "realtime_priority: the main loop runs under SCHED_FIFO"
        );
    }
    Ok(())
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

/// The host as the node needs it, with what authentication kept in `state_dir` (read
/// before the loop, like the maintenance state).
fn host_info(state_dir: &std::path::Path) -> HostInfo {
    // Unreadable: numbered from the wall clock, peers' numbers not remembered (the
    // node's re-sync covers a clock that is behind).
    let auth = crate::state::load_auth(state_dir).unwrap_or_else(|e| {
        error!("{e}; authenticated adverts are numbered from the wall clock this run");
        vipd_node::AuthState::default()
    });
    HostInfo {
        hostname: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".into()),
        pid: std::process::id(),
        // The least first sequence number of authenticated adverts (the kept state
        // decides above it). A clock before 1970 gives 0.
        started_unix_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        auth,
    }
}
