//! [`Node`]: every instance of a configuration, and what the node keeps beside them.
//!
//! The node is driven like the engine, one level up (quinn-proto's Endpoint over its
//! Connections): `handle(now, event)`, then `poll_command()` until it is empty, then sleep
//! until `poll_timeout()`.
//!
//! Instances live in [`Instances`], current and leaving alike, each under a stable
//! [`InstanceId`] that every `impl Node` block names them by.
//!
//! Each concern is a part that owns its state, in a module this one imports and that
//! imports nothing of the node (`instances`, `kernel`'s reads, `checks`, `jobs`, `notify`'s hook
//! queues, `group_notify`, `announce`, `stop`, `service`, `publication`, `warn`, ...);
//! what the node does with a part, reaching several, is an `impl Node` block in a module
//! of its own that this one does not import: `demux` (datagrams to routers), `reconcile`
//! (kernel reads), `links`, `setup`, `vip_jobs`, `check_runs`, `hook_runs`,
//! `group_hooks`, `groups` (sync groups, applied after every event), `announcing`,
//! `maintenance`, `reload`, `shutdown`, `status` (control requests), `readiness`, `watch`.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use vipd_engine::{Input, Instant, Output, VipJobId};

use crate::config::Config;
use crate::instance::Instance;
use crate::instances::{InstanceId, Instances};
use crate::io::{Command, Event, Family, Level, Link, Record, RequestId, RunId, What};
use crate::jobs::Jobs;
use crate::kernel::Reads;
use crate::stop::Stopping;
use crate::warn::Warnings;

/// Facts about the host the node reports in its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub hostname: String,
    pub pid: u32,
    /// When the node started, in nanoseconds since the Unix epoch by the host's wall
    /// clock: the least first sequence number of authenticated adverts
    /// ([`crate::auth_state`]); `auth` keeps them above an earlier run's whatever the
    /// clock says.
    pub started_unix_ns: u64,
    /// What authentication kept under the state directory at the last run (nothing
    /// kept: the default).
    pub auth: crate::auth_state::AuthState,
}

/// What the node keeps per interface in use.
#[derive(Debug, Clone)]
pub(crate) struct Iface {
    pub link: Link,
    /// The interface's addresses in the newest read.
    pub addrs: Vec<crate::io::Addr>,
    /// Advert sockets per family: what the shell has open, and what is being opened.
    pub sockets: BTreeMap<Family, Socket>,
    /// Datagrams whose VRID matches no instance here.
    pub unknown_vrid: u64,
    /// When the interface's addresses were last read.
    pub last_read_ok: Instant,
    /// Reads have failed for [`crate::kernel::KERNEL_BLIND_LIMIT`]: its routers were told.
    pub blind: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Socket {
    /// The source of the socket the shell has open (confirmed).
    pub open: Option<IpAddr>,
    /// An open under way: its id and source. Only its answer counts.
    pub opening: Option<(crate::io::OpenId, IpAddr)>,
}

/// Every VRRP instance of a configuration, sans-IO.
pub struct Node {
    pub(crate) config: Config,
    pub(crate) host: HostInfo,
    pub(crate) started: Instant,
    /// The current instances and those a reload removed or restarted whose master is
    /// still handing over (make-before-break: they hear adverts and time out until the
    /// handover ends), each under a stable id.
    pub(crate) instances: Instances,
    pub(crate) ifaces: BTreeMap<String, Iface>,
    pub(crate) jobs: Jobs,
    pub(crate) reads: Reads,
    /// With `metrics:`: what the published status is made of, and whether it is due.
    pub(crate) publication: crate::publication::Publication,
    /// Status requests waiting for a kernel read that began after they arrived.
    pub(crate) status_waiting: Vec<(RequestId, crate::io::ReadId)>,
    pub(crate) stopping: Option<Stopping>,
    /// Which instances are in maintenance (kept by the shell across restarts).
    pub(crate) maintenance: crate::maintenance_state::Maintenance,
    /// Rate limits of the warnings about other routers' adverts.
    pub(crate) warnings: Warnings,
    /// Health checks and their states.
    pub(crate) checks: crate::checks::Checks,
    /// Drops counted for the event stream's summaries.
    pub(crate) drops: crate::drop_summaries::DropSummaries,
    /// Notify hook queues, per owner.
    pub(crate) hooks: crate::notify::Hooks,
    /// Sync groups' own states, for their notify hooks.
    pub(crate) group_states: crate::group_notify::GroupStates,
    /// What the service manager was told.
    pub(crate) service: crate::service::Service,
    /// Runs handed out so far.
    runs: u64,
    /// Socket opens asked for so far.
    pub(crate) opens: u64,
    /// The sequence numbers of authenticated adverts, and what is kept across restarts.
    pub(crate) auth: crate::auth_state::AuthKeeper,
    /// Announced instances (`announce:`).
    pub(crate) announces: crate::announce::Announces,
    commands: VecDeque<Command>,
}

/// Bound on the outputs followed per instance and event (a runaway engine is cut off,
/// not followed forever).
const DRAIN_ROUNDS: usize = 64;

impl Node {
    /// A node for `config`, started at `now`. Its first commands read the interfaces; the
    /// instances start as the reads show their interfaces and addresses.
    ///
    /// `maintenance` is the state the shell kept from the last run (empty if none).
    pub fn new(
        now: Instant,
        config: Config,
        host: HostInfo,
        maintenance: crate::maintenance_state::Maintenance,
    ) -> Node {
        let mut instances = Instances::default();
        for c in config.instances.iter().cloned() {
            let mut inst = Instance::new(c);
            if let Some(kept) = host.auth.accepted.get(&inst.cfg.name) {
                inst.replay = crate::auth::Replay::kept(kept);
            }
            instances.add(inst);
        }
        let mut auth = crate::auth_state::AuthKeeper::new(host.started_unix_ns, &host.auth);
        if instances.current().any(|i| i.cfg.auth.is_some()) {
            // Before anything is signed: this run's numbers reserved.
            auth.reserve_now();
        }
        let checks = crate::checks::Checks::new(now, &config.checks);
        let config_announce = config.announce.clone();
        let mut node = Node {
            config,
            host,
            started: now,
            instances,
            ifaces: BTreeMap::new(),
            jobs: Jobs::default(),
            reads: Reads::new(now),
            publication: Default::default(),
            status_waiting: Vec::new(),
            stopping: None,
            maintenance,
            warnings: Warnings::default(),
            checks,
            drops: Default::default(),
            hooks: Default::default(),
            group_states: Default::default(),
            service: Default::default(),
            runs: 0,
            opens: 0,
            auth,
            announces: crate::announce::Announces::new(now, &config_announce),
            commands: VecDeque::new(),
        };
        node.note(
            Level::Info,
            None,
            format!(
                "vipd started: {} instance{}, control socket {}",
                node.instances.len(),
                if node.instances.len() == 1 { "" } else { "s" },
                node.config.control_socket.display()
            ),
        );
        node.save_auth(now);
        node.read_kernel(now);
        node.start_checks(now);
        node
    }

    /// Feeds one event; the commands it causes are then drained with `poll_command`.
    pub fn handle(&mut self, now: Instant, event: Event) {
        let kind = crate::service::Kind::of(&event);
        match event {
            Event::Timeout => self.on_timeout(now),
            Event::Datagram(d) => self.on_datagram(now, d),
            Event::Undecodable {
                ifindex,
                family,
                error,
            } => self.reject_all(now, ifindex, family, error),
            Event::Link(link) => self.on_link_event(now, link),
            Event::LinkGone(index) => self.on_link_gone_event(now, index),
            Event::AddressesChanged(index) => self.on_addresses_changed(now, index),
            Event::MonitorClosed => self.note(
                Level::Error,
                None,
                "netlink event monitor closed; reading links and addresses once a second only",
            ),
            Event::KernelRead { id, interfaces } => self.on_kernel_read(now, id, interfaces),
            Event::SocketsOpened { id, result } => self.on_sockets_opened(now, id, result),
            Event::AdvertSent { run, ok } => self.feed_run(now, run, Input::AdvertSent { ok }),
            Event::VipJobDone { id, result } => self.on_job_done(now, id, result),
            Event::Reload(config) => self.reload(now, config),
            Event::Control {
                id,
                request,
                caller,
            } => self.on_control(now, id, request, &caller),
            Event::Stop => self.stop(now),
            Event::CheckResult { id, result } => self.on_check_result(now, id, result),
            Event::HookDone { id, result } => self.on_hook_done(now, id, result),
        }
        // Sync groups follow whatever this event did to their members, and their hooks
        // hear of what that did to the groups.
        self.sync_groups(now);
        self.notify_groups(now);
        if self.stopping.is_some() {
            // A handover may have ended (an advert heard, its bound passed, a link gone).
            self.stop_progress(now);
        }
        self.publish_if_due(now);
        self.save_auth(now);
        self.service_progress(kind);
    }

    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When to call `handle(now, Event::Timeout)` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let routers = self
            .instances
            .all()
            .filter_map(|i| i.router().and_then(|r| r.poll_timeout()));
        let own = [
            self.stop_deadlines().earliest(),
            self.hooks.next_due(),
            self.jobs.retry_at(),
            self.reads.next_poll(self.stopping.is_some()),
            self.stopping
                .is_none()
                .then(|| self.checks.next_due())
                .flatten(),
            self.drops.next_due(),
            self.announces.next_due(),
            // Nothing is written after the exit.
            self.auth
                .next_due()
                .filter(|_| !self.stopping.as_ref().is_some_and(|s| s.exited())),
        ];
        routers.chain(own.into_iter().flatten()).min()
    }

    /// The configuration running now.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The interfaces the configuration uses, each once.
    pub fn interfaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .config
            .instances
            .iter()
            .map(|i| i.interface.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The routers of instances a reload removed or restarted that are still handing
    /// over their VIPs (make-before-break), for tests and tools.
    pub fn leaving(&self) -> impl Iterator<Item = (&str, &vipd_engine::Router)> {
        self.instances
            .leaving()
            .filter_map(|i| i.router().map(|r| (i.cfg.name.as_str(), r)))
    }

    /// Each instance's name, state and router (if running), for tests and tools.
    pub fn instances(&self) -> impl Iterator<Item = (&str, Option<&vipd_engine::Router>)> {
        self.instances
            .current()
            .map(|i| (i.cfg.name.as_str(), i.router()))
    }

    fn on_timeout(&mut self, now: Instant) {
        let due = |i: &Instance| {
            i.router()
                .and_then(|r| r.poll_timeout())
                .is_some_and(|t| t <= now)
        };
        let mut n = 0;
        while let Some(id) = self.instances.current_id_at(n) {
            n += 1;
            if self.instances.get(id).is_some_and(due) {
                self.feed(now, id, Input::Timeout);
            }
        }
        for id in self.instances.leaving_ids().into_iter().rev() {
            if self.instances.get(id).is_some_and(due) {
                self.feed_leaving(now, id, Input::Timeout);
            }
        }
        if self.jobs.retry_at().is_some_and(|t| t <= now) {
            self.retry_stray();
        }
        if self
            .reads
            .next_poll(self.stopping.is_some())
            .is_some_and(|t| t <= now)
        {
            self.read_kernel(now);
        }
        self.hooks_due(now);
        let due = self.stop_deadlines();
        if due.handovers.is_some_and(|t| t <= now) {
            self.handover_deadline(now);
        }
        if due.vips.is_some_and(|t| t <= now) {
            self.stop_deadline();
        }
        if due.hooks.is_some_and(|t| t <= now) {
            self.hooks_deadline();
        }
        self.checks_due(now);
        self.drop_summaries_due(now);
        self.announce_due(now);
    }

    /// Asks the shell to keep the authentication state if a save is due (see
    /// [`crate::auth_state`]); `force`: on the way out, if anything changed.
    fn save_auth_with(&mut self, now: Instant, force: bool) {
        let Some(next_seq) = self.auth.save_due(now, force) else {
            return;
        };
        let accepted = self
            .instances
            .current()
            .filter(|i| i.cfg.auth.is_some() && !i.replay.is_empty())
            .map(|i| (i.cfg.name.clone(), i.replay.kept_numbers()))
            .collect();
        self.push(Command::SaveAuth(crate::auth_state::AuthState {
            next_seq,
            accepted,
        }));
    }

    fn save_auth(&mut self, now: Instant) {
        // Nothing runs after the exit.
        if !self.stopping.as_ref().is_some_and(|s| s.exited()) {
            self.save_auth_with(now, false);
        }
    }

    /// On the way out, just before the exit: whatever changed since the last save.
    pub(crate) fn save_auth_final(&mut self) {
        let at = self.auth.last_save().unwrap_or(Instant::ZERO);
        self.save_auth_with(at, true);
    }

    // ---- helpers for the other modules --------------------------------------------

    pub(crate) fn push(&mut self, command: Command) {
        self.commands.push_back(command);
    }

    pub(crate) fn note(&mut self, level: Level, instance: Option<&str>, text: impl Into<String>) {
        self.record(level, instance, What::Note(text.into()));
    }

    pub(crate) fn record(&mut self, level: Level, instance: Option<&str>, what: What) {
        let priority = instance.and_then(|name| {
            self.instances
                .named(name)
                .and_then(|i| i.router())
                .map(|r| r.effective_priority())
        });
        self.push(Command::Record(Record {
            level,
            instance: instance.map(str::to_string),
            priority,
            what,
        }));
    }

    pub(crate) fn next_run(&mut self) -> RunId {
        self.runs += 1;
        RunId(self.runs)
    }

    pub(crate) fn ifindex(&self, name: &str) -> Option<u32> {
        self.ifaces.get(name).map(|f| f.link.index)
    }

    /// Feeds `input` to the router of run `run`, if it still runs.
    pub(crate) fn feed_run(&mut self, now: Instant, run: RunId, input: Input) {
        if let Some(id) = self.instances.id_of_run(run) {
            self.feed(now, id, input);
        }
    }

    /// Feeds `input` to instance `id`'s router (if running) and executes what follows.
    pub(crate) fn feed(&mut self, now: Instant, id: InstanceId, input: Input) {
        self.feed_from(now, id, input, None);
    }

    /// [`Self::feed`] for an advert received `from` an address: what it is dropped for
    /// names the sender.
    pub(crate) fn feed_from(
        &mut self,
        now: Instant,
        id: InstanceId,
        input: Input,
        from: Option<IpAddr>,
    ) {
        if let Some(r) = self.instances.get_mut(id).and_then(Instance::router_mut) {
            r.handle(now, input);
        }
        self.drain(now, id, from);
    }

    /// Feeds `input` to leaving instance `id`'s router: only its VIP removal matters
    /// (when the handover ends); once it has ended the instance is gone.
    pub(crate) fn feed_leaving(&mut self, now: Instant, id: InstanceId, input: Input) {
        let Some(inst) = self.instances.get_mut(id) else {
            return;
        };
        let Some(r) = inst.router_mut() else {
            self.instances.remove(id);
            return;
        };
        r.handle(now, input);
        let mut removals = Vec::new();
        for _ in 0..DRAIN_ROUNDS {
            match r.poll_output() {
                Some(Output::DelVips { id }) => removals.push(id),
                Some(_) => {}
                None => break,
            }
        }
        let done = r.handover().is_none();
        let run = inst.run;
        let name = inst.cfg.name.clone();
        let interface = inst.cfg.interface.clone();
        let vips = inst.cfg.vips.clone();
        for engine_id in removals {
            if let Some(index) = self.ifindex(&interface) {
                let owner = crate::jobs::Owner { run, engine_id };
                self.submit_job(
                    Some(owner),
                    interface.clone(),
                    index,
                    crate::io::VipOp::Remove,
                    vips.clone(),
                    Some(name.clone()),
                );
            }
        }
        if done {
            self.instances.remove(id);
        }
    }

    /// Ends the handovers of leaving instances that share a VIP with instance `id`
    /// (about to start): their removal must come before anything the new one does.
    pub(crate) fn end_leaving_for(&mut self, now: Instant, id: InstanceId) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let vips: Vec<IpAddr> = inst.cfg.vips.iter().map(|v| v.addr).collect();
        let shares = |i: &Instance| i.cfg.vips.iter().any(|v| vips.contains(&v.addr));
        for k in self.instances.leaving_ids().into_iter().rev() {
            if self.instances.get(k).is_some_and(shares) {
                self.feed_leaving(now, k, Input::EndHandover);
            }
        }
    }

    /// Instance `id`'s router leaves (priority 0 if it was master) and removes its VIPs
    /// at once, without the make-before-break wait: for a router about to be dropped.
    pub(crate) fn leave_now(&mut self, now: Instant, id: InstanceId) {
        if let Some(r) = self.instances.get_mut(id).and_then(Instance::router_mut) {
            r.handle(now, Input::Shutdown);
            r.handle(now, Input::EndHandover);
        }
        self.drain(now, id, None);
    }

    /// Turns everything instance `id`'s engine wants into commands; `from`: the sender
    /// of the advert it was just handed, if that is what it was handed.
    pub(crate) fn drain(&mut self, now: Instant, id: InstanceId, from: Option<IpAddr>) {
        for _ in 0..DRAIN_ROUNDS {
            let out = self
                .instances
                .get_mut(id)
                .and_then(Instance::router_mut)
                .and_then(|r| r.poll_output());
            let Some(out) = out else {
                return;
            };
            self.execute(now, id, out, from);
        }
        let Some(name) = self.instances.get(id).map(|i| i.cfg.name.clone()) else {
            return;
        };
        self.note(
            Level::Error,
            Some(&name),
            "engine kept producing outputs; the rest is deferred",
        );
    }

    fn execute(&mut self, now: Instant, id: InstanceId, out: Output, from: Option<IpAddr>) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let name = inst.cfg.name.clone();
        match out {
            Output::SendAdvert { bytes, .. } => {
                inst.send_advert(bytes, &mut self.auth, &mut self.commands);
            }
            Output::AddVips { id: job } => self.vip_job(now, id, job, true),
            Output::DelVips { id: job } => self.vip_job(now, id, job, false),
            Output::Announce { count } => {
                if let Some(iface) = self.ifaces.get(&inst.cfg.interface) {
                    let src6 = self.v6_source(&inst.cfg.interface);
                    inst.announce(count, iface.link.mac, src6, &mut self.commands);
                }
            }
            Output::StateChanged { from, to, reason } => {
                let priority = inst.router().map_or(0, |r| r.effective_priority());
                if let Some(inst) = self.instances.get_mut(id) {
                    *inst
                        .transitions_by_reason
                        .entry(reason.as_str())
                        .or_insert(0) += 1;
                }
                self.publication.state_changed();
                self.record(
                    Level::Info,
                    Some(&name),
                    What::StateChanged { from, to, reason },
                );
                let event = vipd_api::WatchEvent::StateChanged {
                    instance: name,
                    from: crate::publication::api_state(from),
                    to: crate::publication::api_state(to),
                    reason: reason.as_str().to_string(),
                    priority,
                };
                self.publish(now, event);
                if let Some(name) = self.instances.get(id).map(|i| i.cfg.name.clone()) {
                    if self.group_of(&name).is_some() {
                        self.group_states.member_changed(&name, reason);
                    }
                }
                self.notify_transition(now, id, from, to, reason);
            }
            Output::Dropped(reason) => {
                self.count_drop(now, id, &reason);
                let Some(inst) = self.instances.get(id) else {
                    return;
                };
                let (level, what) = self.warnings.dropped(now, &inst.cfg, reason, from);
                self.record(level, Some(&name), what);
            }
            Output::AddressMismatch { from, addresses } => {
                let cfg = &inst.cfg;
                if let Some(what) = self.warnings.address_mismatch(now, cfg, from, &addresses) {
                    self.record(Level::Warn, Some(&name), what);
                }
            }
            Output::OtherChecksumForm { from, form } => {
                let cfg = &inst.cfg;
                if let Some(what) = self.warnings.checksum_form(now, cfg, from, form) {
                    self.record(Level::Warn, Some(&name), what);
                }
            }
            Output::NewMasterHeard { from, after } => {
                self.record(
                    Level::Info,
                    Some(&name),
                    What::Note(format!(
                        "handover complete: new master {from} heard {:.1} ms after our priority-0 advert",
                        after.as_secs_f64() * 1000.0
                    )),
                );
                let after_us = u64::try_from(after.as_micros()).unwrap_or(u64::MAX);
                let event = vipd_api::WatchEvent::NewMasterHeard {
                    instance: name,
                    master: from.to_string(),
                    after_us,
                };
                self.publish(now, event);
            }
        }
    }

    /// Hands VIP job `engine_id` of instance `id` to the shell, or answers it at once
    /// when there is no interface to run it on.
    fn vip_job(&mut self, now: Instant, id: InstanceId, engine_id: VipJobId, add: bool) {
        let Some(inst) = self.instances.get(id) else {
            return;
        };
        let Some(index) = self.ifindex(&inst.cfg.interface) else {
            // Routers only run on a known interface; should that ever change, an add
            // must still get its answer.
            let run = inst.run;
            self.feed_run(
                now,
                run,
                Input::VipApplied {
                    id: engine_id,
                    ok: !add,
                },
            );
            return;
        };
        let owner = crate::jobs::Owner {
            run: inst.run,
            engine_id,
        };
        let interface = inst.cfg.interface.clone();
        let vips = inst.cfg.vips.clone();
        let op = if add {
            crate::io::VipOp::Add {
                label: inst.label(),
            }
        } else {
            crate::io::VipOp::Remove
        };
        let instance = Some(inst.cfg.name.clone());
        self.submit_job(Some(owner), interface, index, op, vips, instance);
    }
}
