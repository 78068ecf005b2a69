//! The daemon's event loop: a thin shell around [`vipd_node::Node`]. One `select!` turns
//! whatever happened (a datagram, a deadline, a kernel event, the result of a read or a
//! VIP job, a control request, a signal) into a node event, and executes the commands
//! the node answers with. It decides nothing: every decision is the node's (and its
//! engines'). Nothing in the loop waits: sockets are sent on without blocking, kernel
//! reads, VIP jobs, configuration reads and control replies run in tasks of their own.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info};
use vipd_node::{Event, ExitError, HostInfo, Maintenance, Node};

use crate::checks::CheckRunner;
use crate::clock::{Clock, Wakeup};
use crate::config::{Config, ConfigError};
use crate::config_reader::ConfigReader;
use crate::control::{self, ControlError};
use crate::event_stream::Watchers;
use crate::hooks::HookRunner;
use crate::hot_path;
use crate::netlink::{Netlink, NetlinkError};
use crate::service_manager::ServiceManager;
use crate::sockets::{Opened, Sockets};
use crate::state::StateWriter;
use crate::vip_writer::VipWriter;
use crate::watcher::Watcher;

mod shell;

use shell::{Hot, Shell};

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
