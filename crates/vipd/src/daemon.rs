//! The daemon's event loop: one task owns every engine and feeds it packets, timeouts,
//! link events and I/O results; it executes what the engines decide and nothing more.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};
use vipd_engine::{Input, Output, Router};
use vipd_wire::{announce, Ipv4Header, RxError, PROTOCOL};

use crate::clock::{Clock, Wakeup};
use crate::config::{self, Config, ConfigError, Vip};
use crate::control::{self, ControlError, Pending};
use crate::instance::Instance;
use crate::netlink::{has_vip, Addr, Event, Link, Netlink, NetlinkError};
use crate::status;
use crate::vip_writer::{Done, Job, VipChanges, VipWriter};
use crate::vrrp_socket::{FrameSocket, Received, SocketError, VrrpSocket};
use crate::watcher::{Snapshot, Watcher};

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("could not remove VIPs on the way out: {0}; the next start removes them")]
    VipsLeftBehind(String),
    #[error("a second signal: stopped without waiting for the VIP removals; the next start removes any left")]
    Impatient,
}

/// A datagram from one interface's socket.
struct Rx {
    ifindex: u32,
    v6: bool,
    data: Received,
}

/// What the daemon holds per interface in use.
struct Iface {
    link: Link,
    v4: Option<Arc<VrrpSocket>>,
    v6: Option<Arc<VrrpSocket>>,
    v6_source: Option<Ipv6Addr>,
    frames: Option<FrameSocket>,
    /// The receive tasks of the IPv4 and IPv6 sockets.
    reader_v4: Option<JoinHandle<()>>,
    reader_v6: Option<JoinHandle<()>>,
    /// Datagrams whose VRID matches no instance here.
    unknown_vrid: u64,
}

impl Drop for Iface {
    fn drop(&mut self) {
        for r in [&self.reader_v4, &self.reader_v6].into_iter().flatten() {
            r.abort();
        }
    }
}

pub struct Daemon {
    config_path: PathBuf,
    config: Config,
    nl: Netlink,
    clock: Clock,
    started: std::time::Instant,
    instances: Vec<Instance>,
    ifaces: BTreeMap<String, Iface>,
    rx_tx: mpsc::Sender<Rx>,
    /// Reads links and addresses off the main loop.
    watcher: Watcher,
    /// Adds and removes VIPs off the main loop.
    vips: VipWriter,
    /// VIP changes per interface, asked for and finished.
    changes: Arc<VipChanges>,
    /// Counts instance starts (see `Instance::generation`).
    starts: u64,
    /// VIPs whose removal failed (interface name, VIP): retried every second until
    /// they are gone or an instance that is master wants them again.
    stray: Vec<(String, Vip)>,
}

impl Daemon {
    /// Runs until SIGTERM/SIGINT, then leaves gracefully.
    pub async fn run(config_path: PathBuf, config: Config) -> Result<(), DaemonError> {
        let nl = Netlink::open()?;
        let mut events = Netlink::monitor()?;
        let (_control, mut requests) = control::serve(&config.control_socket).await?;
        let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
        let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
        let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
        let (rx_tx, mut rx) = mpsc::channel::<Rx>(1024);
        let (snap_tx, mut snaps) = mpsc::channel::<Snapshot>(64);
        let changes = Arc::new(VipChanges::default());
        let watcher = Watcher::spawn(nl.clone(), interfaces(&config), changes.clone(), snap_tx);
        let (done_tx, mut done) = mpsc::unbounded_channel::<Done>();
        let vips = VipWriter::new(nl.clone(), changes.clone(), done_tx);
        let clock = Clock::start();
        let instances = config
            .instances
            .iter()
            .cloned()
            .map(Instance::new)
            .collect();
        let mut d = Daemon {
            config_path,
            config,
            nl,
            clock,
            started: std::time::Instant::now(),
            instances,
            ifaces: BTreeMap::new(),
            rx_tx,
            watcher,
            vips,
            changes,
            starts: 0,
            stray: Vec::new(),
        };
        info!(
            instances = d.instances.len(),
            control_socket = %d.config.control_socket.display(),
            "vipd started"
        );
        // The instances start as the watcher's first snapshots arrive (at once).

        let mut retry = tokio::time::interval(Duration::from_secs(1));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wakeup = Wakeup::default();
        let mut monitoring = true;
        // Every handler below is a plain function: the loop never waits inside one
        // (kernel reads and VIP changes run in tasks of their own and come back here).
        loop {
            wakeup.arm(d.next_deadline().map(|t| d.clock.to_tokio(t)));
            tokio::select! {
                Some(pkt) = rx.recv() => d.on_packet(pkt),
                () = wakeup.wait() => d.on_timeout(),
                ev = events.recv(), if monitoring => match ev {
                    Some(ev) => d.on_monitor(ev),
                    None => {
                        // The watcher still reads links and addresses every second.
                        error!("netlink event monitor closed; falling back to polling once a second");
                        monitoring = false;
                    }
                },
                Some(snap) = snaps.recv() => d.on_snapshot(snap),
                Some(result) = done.recv() => d.on_vips_done(result),
                Some(req) = requests.recv() => d.on_control(req),
                _ = retry.tick(), if !d.stray.is_empty() => d.retry_stray(),
                _ = sighup.recv() => d.reload(),
                _ = sigterm.recv() => { info!("SIGTERM: leaving"); break; }
                _ = sigint.recv() => { info!("SIGINT: leaving"); break; }
            }
        }
        d.leave(&mut done, [sigterm, sigint]).await
    }

    /// SIGTERM/SIGINT: every instance leaves (a master sends priority 0 and removes its
    /// VIPs); waits for the removals, and fails if a VIP could not be removed. A second
    /// signal stops the waiting.
    async fn leave(
        &mut self,
        done: &mut mpsc::UnboundedReceiver<Done>,
        [mut sigterm, mut sigint]: [tokio::signal::unix::Signal; 2],
    ) -> Result<(), DaemonError> {
        self.shutdown_all();
        // Let the VIP removals just asked for finish (each netlink call is bounded).
        let finished = tokio::select! {
            finished = self.vips.finish(SHUTDOWN_WAIT) => Some(finished),
            _ = sigterm.recv() => None,
            _ = sigint.recv() => None,
        };
        let Some(finished) = finished else {
            return Err(DaemonError::Impatient);
        };
        if !finished {
            // Whatever was left undone: every VIP gets one more, direct try below.
            error!(
                "VIP changes still under way after {SHUTDOWN_WAIT:?}; removing all VIPs directly"
            );
            let all: Vec<(String, Vip)> = self
                .instances
                .iter()
                .flat_map(|i| i.cfg.vips.iter().map(|v| (i.cfg.interface.clone(), *v)))
                .collect();
            for (interface, vip) in all {
                self.note_stray(interface, vip);
            }
        }
        while let Ok(result) = done.try_recv() {
            if let Done::RemoveFailed { interface, vip } = result {
                self.note_stray(interface, vip);
            }
        }
        if !self.stray.is_empty() {
            // One more try each before giving up.
            self.remove_stray_now().await;
        }
        if !self.stray.is_empty() {
            let left: Vec<String> = self
                .stray
                .iter()
                .map(|(iface, vip)| format!("{vip} on {iface}"))
                .collect();
            return Err(DaemonError::VipsLeftBehind(left.join(", ")));
        }
        info!("vipd stopped");
        Ok(())
    }

    /// A VIP change finished (see [`VipWriter`]).
    fn on_vips_done(&mut self, result: Done) {
        match result {
            Done::Added {
                instance,
                generation,
                seq,
                id,
                ok,
            } => {
                // Only the newest add of the running start counts: an older one (the
                // instance stopped, restarted, or left Master and came back since) says
                // nothing about the VIPs the engine now waits for.
                let Some(i) = self.instances.iter().position(|x| {
                    x.cfg.name == instance && x.generation == generation && x.add_seq == seq
                }) else {
                    return;
                };
                let now = self.clock.now();
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle(now, Input::VipApplied { id, ok });
                }
                self.drain(i);
            }
            Done::Removed {
                instance,
                generation,
                id,
                ok,
            } => {
                // Every VIP change the engine asked for gets its answer, though it acts
                // on none for a removal. Ids count per router: only the start that
                // asked may hear it.
                let Some(i) = self
                    .instances
                    .iter()
                    .position(|x| x.cfg.name == instance && x.generation == generation)
                else {
                    return;
                };
                let now = self.clock.now();
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle(now, Input::VipApplied { id, ok });
                }
                self.drain(i);
            }
            Done::RemoveFailed { interface, vip } => self.note_stray(interface, vip),
        }
    }

    fn note_stray(&mut self, interface: String, vip: Vip) {
        let key = (interface, vip);
        if !self.stray.contains(&key) {
            self.stray.push(key);
        }
    }

    fn next_deadline(&self) -> Option<vipd_engine::Instant> {
        self.instances
            .iter()
            .filter_map(|i| i.router.as_ref().and_then(|r| r.poll_timeout()))
            .min()
    }

    // ---- set-up ----------------------------------------------------------------

    /// Brings up the instances on `link` that are not running yet (interface or
    /// address missing at start, or after a reload or a source change), from what the
    /// watcher read of it.
    fn setup_waiting(&mut self, link: &Link, addrs: &[Addr]) {
        for i in 0..self.instances.len() {
            if self.instances[i].router.is_none() && self.instances[i].cfg.interface == link.name {
                if let Err(why) = self.setup(i, link, addrs) {
                    self.note_waiting(i, why);
                }
            }
        }
    }

    /// Records (and logs, once per reason) why instance `i` is not running.
    fn note_waiting(&mut self, i: usize, why: String) {
        let inst = &mut self.instances[i];
        if inst.waiting.as_deref() != Some(why.as_str()) {
            warn!(instance = %inst.cfg.name, "not started yet: {why}");
            inst.waiting = Some(why);
        }
    }

    fn iface(&mut self, link: &Link) -> Result<&mut Iface, String> {
        let name = &link.name;
        if !self.ifaces.contains_key(name) {
            if link.mac == [0; 6] {
                return Err(format!(
                    "interface {name} has no Ethernet address; VIPs cannot be announced on it"
                ));
            }
            let frames = FrameSocket::open(name, link.index).map_err(|e| e.to_string())?;
            self.ifaces.insert(
                name.to_string(),
                Iface {
                    link: link.clone(),
                    v4: None,
                    v6: None,
                    v6_source: None,
                    frames: Some(frames),
                    reader_v4: None,
                    reader_v6: None,
                    unknown_vrid: 0,
                },
            );
        }
        self.ifaces
            .get_mut(name)
            .ok_or_else(|| format!("interface {name} vanished"))
    }

    /// The advert source among `addrs`: the first IPv4 address that is not a VIP of
    /// ours, or the IPv6 link-local address; not a tentative one, except `in_use` (a
    /// link flap makes the kernel run DAD on the link-local address again, and the
    /// source in use stays right meanwhile).
    fn pick_source(&self, addrs: &[Addr], v6: bool, in_use: Option<IpAddr>) -> Option<IpAddr> {
        let ours: Vec<IpAddr> = self
            .instances
            .iter()
            .flat_map(|i| i.cfg.vips.iter().map(|v| v.addr))
            .collect();
        addrs
            .iter()
            .find(|a| {
                (!a.tentative || Some(a.addr) == in_use)
                    && a.addr.is_ipv6() == v6
                    && !ours.contains(&a.addr)
                    && (!v6 || a.link_local)
            })
            .map(|a| a.addr)
    }

    /// Starts instance `i` on `link`: the advert source is the interface's first IPv4
    /// address that is not a VIP of ours, or its (non-tentative) IPv6 link-local one.
    fn setup(&mut self, i: usize, link: &Link, addrs: &[Addr]) -> Result<(), String> {
        let name = link.name.clone();
        let index = link.index;
        let v6 = self.instances[i].is_ipv6();
        let primary = self.pick_source(addrs, v6, None).ok_or_else(|| {
            if v6 {
                "no usable IPv6 link-local address on the interface (yet)".to_string()
            } else {
                "no IPv4 address on the interface to send adverts from".to_string()
            }
        })?;
        let rx_tx = self.rx_tx.clone();
        let iface = self.iface(link)?;
        let need_socket = if v6 {
            iface.v6.is_none() || iface.v6_source != primary_v6(primary)
        } else {
            iface.v4.is_none()
        };
        if need_socket {
            let sock = if let IpAddr::V6(src) = primary {
                VrrpSocket::open_v6(&name, index, src)
            } else {
                VrrpSocket::open_v4(&name, index)
            }
            .map_err(|e: SocketError| e.to_string())?;
            let sock = Arc::new(sock);
            let reader = sock.clone();
            let task = tokio::spawn(async move {
                let mut buf = vec![0u8; crate::vrrp_socket::MAX_DATAGRAM];
                loop {
                    match reader.recv(&mut buf).await {
                        Ok(data) => {
                            if rx_tx
                                .send(Rx {
                                    ifindex: index,
                                    v6,
                                    data,
                                })
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        Err(e) => {
                            warn!(error = %e, "VRRP receive failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            });
            // A socket for a new source address replaces the old one and its reader.
            let old = if v6 {
                iface.v6 = Some(sock);
                iface.v6_source = primary_v6(primary);
                iface.reader_v6.replace(task)
            } else {
                iface.v4 = Some(sock);
                iface.reader_v4.replace(task)
            };
            if let Some(old) = old {
                old.abort();
            }
        }
        let link_up = iface.link.up;
        let inst = &mut self.instances[i];
        let router = Router::new(inst.engine_config(primary)).map_err(|e| e.to_string())?;
        inst.router = Some(router);
        self.starts += 1;
        inst.generation = self.starts;
        inst.waiting = None;
        info!(
            instance = %inst.cfg.name,
            interface = %name,
            vrid = inst.cfg.vrid,
            source = %primary,
            priority = inst.cfg.priority,
            "instance starting"
        );
        let now = self.clock.now();
        if let Some(r) = self.instances[i].router.as_mut() {
            if !link_up {
                r.handle(now, Input::LinkDown);
            }
            r.handle(now, Input::Startup);
        }
        self.drain(i);
        Ok(())
    }

    // ---- events ----------------------------------------------------------------

    fn on_packet(&mut self, pkt: Rx) {
        let now = self.clock.now();
        let (src, dst, ttl, payload) = match pkt.data {
            Received::V4(datagram) => match Ipv4Header::parse(&datagram) {
                Ok((h, payload)) => {
                    if h.protocol != PROTOCOL {
                        self.reject_all(pkt.ifindex, false, RxError::NotVrrp(h.protocol));
                        return;
                    }
                    (
                        IpAddr::V4(h.src),
                        IpAddr::V4(h.dst),
                        h.ttl,
                        payload.to_vec(),
                    )
                }
                Err(e) => {
                    // RFC 5798 §7.1 cannot even start: the IP header is malformed.
                    self.reject_all(pkt.ifindex, false, RxError::BadIpHeader(e));
                    return;
                }
            },
            Received::V6 {
                src,
                dst,
                hop_limit,
                payload,
            } => (IpAddr::V6(src), IpAddr::V6(dst), hop_limit, payload),
        };
        let Some(&vrid) = payload.get(1) else {
            self.reject_all(pkt.ifindex, pkt.v6, RxError::Truncated(payload.len()));
            return;
        };
        let target = self.instances.iter().position(|inst| {
            inst.cfg.vrid == vrid
                && inst.is_ipv6() == pkt.v6
                && self
                    .ifaces
                    .get(&inst.cfg.interface)
                    .is_some_and(|f| f.link.index == pkt.ifindex)
        });
        let Some(i) = target else {
            // RFC 5798 §7.1: a VRID not configured on this interface is discarded.
            if let Some(f) = self
                .ifaces
                .values_mut()
                .find(|f| f.link.index == pkt.ifindex)
            {
                f.unknown_vrid += 1;
            }
            debug!(vrid, %src, "advert for a VRID not configured here");
            return;
        };
        if let Some(r) = self.instances[i].router.as_mut() {
            r.handle(
                now,
                Input::Packet {
                    src,
                    dst,
                    ttl,
                    bytes: &payload,
                },
            );
        }
        self.drain(i);
    }

    /// A packet no instance can claim is counted by every instance on that socket.
    fn reject_all(&mut self, ifindex: u32, v6: bool, e: RxError) {
        let now = self.clock.now();
        for i in self.on_iface(ifindex, v6) {
            if let Some(r) = self.instances[i].router.as_mut() {
                r.handle(now, Input::Rejected(e.clone()));
            }
            self.drain(i);
        }
    }

    fn on_iface(&self, ifindex: u32, v6: bool) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| {
                let inst = &self.instances[i];
                inst.is_ipv6() == v6
                    && self
                        .ifaces
                        .get(&inst.cfg.interface)
                        .is_some_and(|f| f.link.index == ifindex)
            })
            .collect()
    }

    fn on_timeout(&mut self) {
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            let due = self.instances[i]
                .router
                .as_ref()
                .and_then(|r| r.poll_timeout())
                .is_some_and(|t| t <= now);
            if due {
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle(now, Input::Timeout);
                }
                self.drain(i);
            }
        }
    }

    /// An event from the kernel's event monitor: the freshest news there is.
    fn on_monitor(&mut self, ev: Event) {
        let ours = match &ev {
            Event::Link(link) => self.ifaces.contains_key(&link.name),
            Event::LinkGone(index) => self.ifaces.values().any(|f| f.link.index == *index),
            Event::Addresses(_) => false,
        };
        if ours {
            self.watcher.link_event();
        }
        self.on_netlink(ev);
    }

    fn on_netlink(&mut self, ev: Event) {
        match ev {
            Event::Link(link) => {
                let Some(f) = self.ifaces.get_mut(&link.name) else {
                    return;
                };
                let was = f.link.up;
                let index_changed = f.link.index != link.index;
                f.link = link.clone();
                if index_changed {
                    // Deleted and re-created: sockets are tied to the old index.
                    self.forget_iface(&link.name);
                    return;
                }
                if was != link.up {
                    info!(interface = %link.name, up = link.up, "link state changed");
                    let input = if link.up {
                        Input::LinkUp
                    } else {
                        Input::LinkDown
                    };
                    self.feed_iface(&link.name, input);
                }
            }
            Event::LinkGone(index) => {
                let name = self
                    .ifaces
                    .iter()
                    .find(|(_, f)| f.link.index == index)
                    .map(|(n, _)| n.clone());
                if let Some(name) = name {
                    warn!(interface = %name, "interface removed");
                    self.feed_iface(&name, Input::LinkDown);
                    self.forget_iface(&name);
                }
            }
            // Read again, off the main loop; the snapshot does the rest. Events of
            // other interfaces matter only to instances still waiting to start.
            Event::Addresses(index) => {
                let ours = self.ifaces.values().any(|f| f.link.index == index);
                if ours || self.instances.iter().any(|i| i.router.is_none()) {
                    self.watcher.poke();
                }
            }
        }
    }

    /// What the watcher read of one interface (once a second, and after address
    /// events): catches up with anything the event monitor missed (its messages can be
    /// dropped under load), checks advert sources and VIPs against the kernel, and
    /// starts instances that were waiting for this interface.
    fn on_snapshot(&mut self, snap: Snapshot) {
        // Link state read before a link event the loop has handled since is stale.
        let link_current = snap.link_epoch == self.watcher.link_events();
        let link = match snap.link {
            Ok(link) => link,
            Err(NetlinkError::NoSuchInterface(_)) => {
                if let Some(index) = self.ifindex(&snap.name).filter(|_| link_current) {
                    self.on_netlink(Event::LinkGone(index));
                }
                for i in 0..self.instances.len() {
                    if self.instances[i].router.is_none()
                        && self.instances[i].cfg.interface == snap.name
                    {
                        self.note_waiting(i, format!("interface {} does not exist", snap.name));
                    }
                }
                return;
            }
            Err(e) => {
                warn!(interface = %snap.name, "cannot read link state: {e}");
                return;
            }
        };
        if self.ifaces.contains_key(&link.name) && link_current {
            self.on_netlink(Event::Link(link.clone()));
        }
        let addrs = match snap.addrs {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                // Not knowing is no reason to change anything: a slow kernel must not
                // make a healthy master hand over.
                warn!(interface = %link.name, "cannot read addresses; nothing changed: {e}");
                return;
            }
            None => return,
        };
        if self.ifindex(&link.name) == Some(link.index) {
            self.check_primaries(link.index, &addrs);
            // A snapshot taken before vipd's own last VIP change, or while one is under
            // way, may not show it yet.
            if snap.epoch == self.changes.count(&snap.name) && !self.changes.busy(&snap.name) {
                self.check_vips(link.index, &addrs);
            }
        }
        self.setup_waiting(&link, &addrs);
    }

    /// Retries the VIP removals that failed, except for VIPs a master now holds again
    /// and those on interfaces that are gone (their addresses went with them).
    fn retry_stray(&mut self) {
        for (interface, vip) in std::mem::take(&mut self.stray) {
            if self.vip_wanted(&interface, &vip) {
                continue;
            }
            let Some(index) = self.ifindex(&interface) else {
                continue;
            };
            self.vips.submit(
                &interface,
                Job::Remove {
                    instance: String::new(),
                    asked_by: None,
                    index,
                    vips: vec![vip],
                },
            );
        }
    }

    fn vip_wanted(&self, interface: &str, vip: &Vip) -> bool {
        self.instances.iter().any(|i| {
            i.cfg.interface == interface
                && i.cfg.vips.contains(vip)
                && i.router
                    .as_ref()
                    .is_some_and(|r| r.state() == vipd_engine::State::Master)
        })
    }

    /// At shutdown: one last, direct try at the VIP removals that failed.
    async fn remove_stray_now(&mut self) {
        let stray = std::mem::take(&mut self.stray);
        for (iface, vip) in stray {
            let link = match self.nl.link_by_name(&iface).await {
                Ok(link) => link,
                // Gone, and its addresses with it.
                Err(NetlinkError::NoSuchInterface(_)) => continue,
                Err(e) => {
                    warn!(interface = %iface, vip = %vip, "VIP removal not tried: {e}");
                    self.stray.push((iface, vip));
                    continue;
                }
            };
            match self.nl.del_vip(link.index, &vip).await {
                Ok(true) => info!(interface = %iface, vip = %vip, "VIP removed (retry)"),
                Ok(false) | Err(NetlinkError::DeviceGone(_)) => {}
                Err(e) => {
                    warn!(interface = %iface, vip = %vip, "VIP removal failed again: {e}");
                    self.stray.push((iface, vip));
                }
            }
        }
    }

    /// An instance whose advert source address is gone or no longer the first one
    /// leaves gracefully and is set up again with the new source.
    fn check_primaries(&mut self, index: u32, addrs: &[Addr]) {
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if self.ifindex(&inst.cfg.interface) != Some(index) {
                continue;
            }
            let Some(current) = inst.router.as_ref().map(|r| r.config().primary) else {
                continue;
            };
            let now_primary = self.pick_source(addrs, inst.is_ipv6(), Some(current));
            if now_primary == Some(current) {
                continue;
            }
            warn!(
                instance = %inst.cfg.name,
                old = %current,
                new = ?now_primary,
                "advert source address changed; restarting the instance"
            );
            let now = self.clock.now();
            if let Some(r) = self.instances[i].router.as_mut() {
                r.handle(now, Input::Shutdown);
            }
            self.drain(i);
            let inst = &mut self.instances[i];
            inst.router = None;
            inst.waiting = Some("advert source address changed".into());
        }
    }

    /// A master whose VIP vanished from the interface (removed by hand or by another
    /// program) is told so, and adds it back.
    fn check_vips(&mut self, index: u32, addrs: &[Addr]) {
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            let on_iface = self
                .ifaces
                .get(&inst.cfg.interface)
                .is_some_and(|f| f.link.index == index);
            let Some(state) = inst.router.as_ref().map(|r| r.state()) else {
                continue;
            };
            if !on_iface {
                continue;
            }
            let present: Vec<bool> = inst.cfg.vips.iter().map(|v| has_vip(addrs, v)).collect();
            let input = if state == vipd_engine::State::Master {
                if present.iter().all(|here| *here) {
                    continue;
                }
                warn!(instance = %inst.cfg.name, "a VIP was removed from the interface behind vipd's back; adding it again");
                Input::VipsMissing
            } else {
                if !present.iter().any(|here| *here) {
                    continue;
                }
                warn!(instance = %inst.cfg.name, state = state.as_str(), "a VIP is on the interface of a non-master; removing it");
                Input::VipsPresent
            };
            if let Some(r) = self.instances[i].router.as_mut() {
                r.handle(now, input);
            }
            self.drain(i);
        }
    }

    fn feed_iface(&mut self, name: &str, input: Input<'static>) {
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            if self.instances[i].cfg.interface == name {
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle(now, input.clone());
                }
                self.drain(i);
            }
        }
    }

    /// Drops an interface and the engines on it; they are set up again when it returns.
    fn forget_iface(&mut self, name: &str) {
        self.ifaces.remove(name);
        for inst in self
            .instances
            .iter_mut()
            .filter(|i| i.cfg.interface == name)
        {
            inst.router = None;
            inst.waiting = Some(format!("interface {name} is gone"));
        }
    }

    fn on_control(&mut self, p: Pending) {
        match p.request.command {
            vipd_api::Command::Status => {
                let draft = status::build(self);
                let nl = self.nl.clone();
                tokio::spawn(async move {
                    let s = draft.complete(&nl).await;
                    let _ = p.reply.send(vipd_api::Response::Status(s));
                });
            }
        }
    }

    // ---- executing the engine's decisions -----------------------------------

    /// Executes every output of instance `i`, feeding I/O results back, until the
    /// engine has nothing more to say.
    fn drain(&mut self, i: usize) {
        // Bounded: each round either empties the queue or follows an I/O result fed
        // back (AdvertSent) and what the engine made of it.
        for _ in 0..16 {
            let outs: Vec<Output> = match self.instances[i].router.as_mut() {
                Some(r) => std::iter::from_fn(|| r.poll_output()).collect(),
                None => return,
            };
            if outs.is_empty() {
                return;
            }
            for out in outs {
                self.execute(i, out);
            }
        }
        error!(instance = %self.instances[i].cfg.name, "engine kept producing outputs; deferred");
    }

    fn execute(&mut self, i: usize, out: Output) {
        let inst = &self.instances[i];
        let name = inst.cfg.name.clone();
        let Some(iface) = self.ifaces.get(&inst.cfg.interface) else {
            // No interface, no engine: routers only exist on a known interface. Should
            // that ever change, a VIP change must still get its answer (an add fails;
            // a removal has nothing to remove).
            let answer = match out {
                Output::AddVips { id } => Some((id, false)),
                Output::DelVips { id } => Some((id, true)),
                _ => None,
            };
            if let Some((id, ok)) = answer {
                let now = self.clock.now();
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle(now, Input::VipApplied { id, ok });
                }
            }
            return;
        };
        let index = iface.link.index;
        match out {
            Output::SendAdvert {
                priority, bytes, ..
            } => {
                let sock = if inst.is_ipv6() { &iface.v6 } else { &iface.v4 };
                let src = inst.router.as_ref().map(|r| r.config().primary);
                let ok = match (sock, src) {
                    (Some(sock), Some(src)) => match sock.send(src, &bytes) {
                        Ok(()) => true,
                        Err(e) => {
                            // Reported to the engine: a master that cannot advertise
                            // gives up its VIPs after a few failures.
                            warn!(instance = %name, priority, error = %e, "advert not sent");
                            false
                        }
                    },
                    _ => false,
                };
                let now = self.clock.now();
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle(now, Input::AdvertSent { ok });
                }
            }
            // Off the main loop; the add's result comes back through `on_vips_done`.
            Output::AddVips { id } => {
                let seq = inst.add_seq + 1;
                let job = Job::Add {
                    instance: name,
                    generation: inst.generation,
                    seq,
                    id,
                    index,
                    vips: inst.cfg.vips.clone(),
                    label: inst.label(),
                };
                let interface = inst.cfg.interface.clone();
                self.instances[i].add_seq = seq;
                self.vips.submit(&interface, job);
            }
            Output::DelVips { id } => {
                let job = Job::Remove {
                    instance: name,
                    asked_by: Some((inst.generation, id)),
                    index,
                    vips: inst.cfg.vips.clone(),
                };
                let interface = inst.cfg.interface.clone();
                self.vips.submit(&interface, job);
            }
            Output::Announce { count } => {
                let mac = iface.link.mac;
                let src6 = iface.v6_source;
                if let Some(frames) = &iface.frames {
                    let mut sent = 0u32;
                    for vip in &inst.cfg.vips {
                        let frame = match (vip.addr, src6) {
                            (IpAddr::V4(a), _) => announce::gratuitous_arp(mac, a),
                            (IpAddr::V6(a), Some(src)) => announce::unsolicited_na(mac, src, a),
                            (IpAddr::V6(_), None) => continue,
                        };
                        for _ in 0..count {
                            match frames.send(&frame) {
                                Ok(()) => sent += 1,
                                Err(e) => {
                                    warn!(instance = %name, vip = %vip, error = %e, "announce frame not sent");
                                    break;
                                }
                            }
                        }
                    }
                    debug!(instance = %name, frames = sent, "announced VIPs");
                }
            }
            Output::StateChanged { from, to, reason } => {
                info!(
                    instance = %name,
                    from = from.as_str(),
                    to = to.as_str(),
                    reason = reason.as_str(),
                    "state changed"
                );
            }
            Output::Dropped(reason) => {
                debug!(instance = %name, kind = reason.kind(), "dropped: {reason}");
            }
        }
    }

    // ---- reload and shutdown ----------------------------------------------------

    /// SIGHUP: re-reads the configuration. A bad one is refused and the running one
    /// stays. Unchanged instances keep running untouched; an instance with the same
    /// name, interface, VRID, version and VIPs is updated in place (priority, interval,
    /// preemption, announcements: no state change, a master keeps its VIPs); other
    /// changed or removed ones leave gracefully (priority 0, VIPs removed); new or
    /// changed ones start.
    fn reload(&mut self) {
        let new = match config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!("reload refused, keeping the running configuration: {e}");
                return;
            }
        };
        if new.control_socket != self.config.control_socket {
            warn!("control_socket changes take effect at the next restart");
        }
        let now = self.clock.now();
        let mut keep = Vec::new();
        let old = std::mem::take(&mut self.instances);
        let mut leaving = Vec::new();
        let mut updated = 0;
        for mut inst in old {
            if new.instances.contains(&inst.cfg) {
                keep.push(inst);
                continue;
            }
            let same = new
                .instances
                .iter()
                .find(|c| c.name == inst.cfg.name && inst.cfg.same_identity(c));
            match same.map(|c| inst.update_in_place(now, c)) {
                Some(Ok(())) => {
                    info!(instance = %inst.cfg.name, "instance updated in place");
                    updated += 1;
                    keep.push(inst);
                }
                Some(Err(e)) => {
                    info!(instance = %inst.cfg.name, "instance restarts: {e}");
                    leaving.push(inst);
                }
                None => leaving.push(inst),
            }
        }
        // Let the leaving ones say goodbye through the normal output path.
        self.instances = leaving;
        for i in 0..self.instances.len() {
            if let Some(r) = self.instances[i].router.as_mut() {
                r.handle(now, Input::Shutdown);
            }
            self.drain(i);
        }
        let removed = self.instances.len();
        self.instances = keep;
        let mut added = 0;
        for c in &new.instances {
            if !self.instances.iter().any(|i| i.cfg == *c) {
                self.instances.push(Instance::new(c.clone()));
                added += 1;
            }
        }
        self.config = new;
        info!(
            removed,
            added,
            updated,
            kept = self.instances.len() - added - updated,
            "configuration reloaded"
        );
        // New and restarted instances start from the next snapshots (at once).
        self.watcher.set_names(interfaces(&self.config));
    }

    fn shutdown_all(&mut self) {
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            if let Some(r) = self.instances[i].router.as_mut() {
                r.handle(now, Input::Shutdown);
            }
            self.drain(i);
        }
    }

    // ---- for status ---------------------------------------------------------------

    pub(crate) fn instances(&self) -> &[Instance] {
        &self.instances
    }
    pub(crate) fn now(&self) -> vipd_engine::Instant {
        self.clock.now()
    }
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
    pub(crate) fn ifindex(&self, name: &str) -> Option<u32> {
        self.ifaces.get(name).map(|f| f.link.index)
    }
}

/// The interfaces `config` uses, each once.
/// How long a stopping daemon waits for its last VIP removals (the systemd unit's
/// TimeoutStopSec leaves room for this and one direct try per VIP).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(20);

fn interfaces(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = config
        .instances
        .iter()
        .map(|i| i.interface.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn primary_v6(a: IpAddr) -> Option<Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}
