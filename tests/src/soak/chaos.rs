//! The soak's chaos driver: picks actions with a seeded generator (pull a cable, stop,
//! terminate or kill a vipd, isolate two routers, delete the VIP by hand), undoes each
//! after a while, and samples every router for the [`Checker`] in between.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use vipd_sim::SplitMix64;

use super::checker::{Checker, View};
use super::report::utc;
use super::rng::Draw;
use super::{config, GRACE, MAX_DOWN, SAMPLE_EVERY, STATUS_TIMEOUT, VIP4_CIDR};
use crate::lan::Host;
use crate::util::{epoch_now, wait_until};
use crate::VIP4;

/// A SIGSTOPped vipd. Dropping this sends SIGCONT, also while a panic unwinds, so no
/// process is ever left stopped. (The process cannot be reaped while it is stopped,
/// short of SIGKILL, which the harness only sends after this is dropped: the pid
/// cannot have been reused.)
struct Stopped {
    pid: Pid,
}

impl Stopped {
    fn stop(pid: u32) -> Result<Stopped, String> {
        let pid = Pid::from_raw(i32::try_from(pid).map_err(|e| e.to_string())?);
        kill(pid, Signal::SIGSTOP).map_err(|e| format!("SIGSTOP {pid}: {e}"))?;
        Ok(Stopped { pid })
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = kill(self.pid, Signal::SIGCONT);
    }
}

/// What is being done to a router (one thing at a time).
enum Down {
    CablePulled,
    Stopped(Stopped),
    /// SIGTERM sent; restarted when undone.
    Terminated,
    /// SIGKILL sent (or the process died by itself); restarted when undone.
    Killed,
    Isolated,
}

impl Down {
    fn name(&self) -> &'static str {
        match self {
            Down::CablePulled => "cable pulled",
            Down::Stopped(_) => "stopped",
            Down::Terminated => "terminated",
            Down::Killed => "killed",
            Down::Isolated => "isolated",
        }
    }
}

struct Router<'h> {
    host: &'h Host,
    /// The disruption under way and when it is undone.
    down: Option<(Down, Instant)>,
}

impl Router<'_> {
    fn name(&self) -> &str {
        &self.host.name
    }

    /// Counts against [`MAX_DOWN`]: everything but isolation.
    fn is_down(&self) -> bool {
        matches!(&self.down, Some((d, _)) if !matches!(d, Down::Isolated))
    }

    /// Its vipd is stopped or dead without having cleaned up: it may keep a VIP.
    fn frozen(&self) -> bool {
        matches!(&self.down, Some((Down::Stopped(_) | Down::Killed, _)))
    }

    /// Its vipd should be running and answering.
    fn should_answer(&self) -> bool {
        !matches!(
            &self.down,
            Some((Down::Stopped(_) | Down::Terminated | Down::Killed, _))
        )
    }
}

/// The action kinds, as the generator picks them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Kind {
    Cable,
    Stop,
    Term,
    Kill,
    Isolate,
    DelVip,
}

/// Every action kind; a run takes each at least once (see [`Chaos::act`]).
pub const KINDS: [Kind; 6] = [
    Kind::Cable,
    Kind::Stop,
    Kind::Term,
    Kind::Kill,
    Kind::Isolate,
    Kind::DelVip,
];

/// The chaos driver: the routers it disrupts (each with its configuration, for
/// restarts), what it did and what its [`Checker`] found.
pub struct Chaos<'h> {
    routers: Vec<Router<'h>>,
    configs: Vec<String>,
    /// The run's generator (the test draws the gaps between actions from it too).
    pub rng: SplitMix64,
    /// When the run began (epoch seconds).
    pub t0: f64,
    /// When the last action (or undo) was taken.
    last_event: Instant,
    /// Every action and undo, with when it began (epoch seconds).
    pub events: Vec<(f64, String)>,
    /// How many actions of each kind were taken.
    pub taken: BTreeMap<Kind, usize>,
    /// Unexpected process exits and other faults found along the way.
    pub faults: Vec<(f64, String)>,
    pub checker: Checker,
    last_sample: Option<Instant>,
}

impl<'h> Chaos<'h> {
    pub fn new(hosts: &[(&'h Host, u8)], seed: u64) -> Chaos<'h> {
        Chaos {
            routers: hosts
                .iter()
                .map(|&(host, _)| Router { host, down: None })
                .collect(),
            configs: hosts.iter().map(|&(_, p)| config(p)).collect(),
            rng: SplitMix64::new(seed),
            t0: epoch_now(),
            last_event: Instant::now(),
            events: Vec::new(),
            taken: BTreeMap::new(),
            faults: Vec::new(),
            checker: Checker::default(),
            last_sample: None,
        }
    }

    /// Records an action (or undo) that began at `t` (epoch seconds).
    fn event_at(&mut self, t: f64, text: String) {
        println!("soak: +{:6.3}s {} {text}", t - self.t0, utc(t));
        self.events.push((t, text));
        self.last_event = Instant::now();
    }

    pub fn event(&mut self, text: String) {
        self.event_at(epoch_now(), text);
    }

    fn fault(&mut self, text: String) {
        let t = epoch_now();
        println!("soak: FAULT +{:.3}s {} {text}", t - self.t0, utc(t));
        self.faults.push((t, text));
    }

    fn down_count(&self) -> usize {
        self.routers.iter().filter(|r| r.is_down()).count()
    }

    fn free(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.routers[i].down.is_none())
            .collect()
    }

    /// The action kinds not taken so far.
    pub fn missing_kinds(&self) -> Vec<Kind> {
        KINDS
            .iter()
            .copied()
            .filter(|k| !self.taken.contains_key(k))
            .collect()
    }

    /// Picks and takes one action; returns what it was, if any was possible. Kinds not
    /// taken yet come first (for the first half of the tries), so that every run, whatever
    /// its seed, exercises each kind early on.
    pub fn act(&mut self) -> Option<Kind> {
        // Bounded: a few tries for a kind that something can be done with.
        for attempt in 0..16 {
            let missing = self.missing_kinds();
            let pool: &[Kind] = if attempt < 8 && !missing.is_empty() {
                &missing
            } else {
                &KINDS
            };
            let kind = pool[self.rng.below(pool.len())];
            let free = self.free();
            let now = Instant::now();
            let t = epoch_now();
            match kind {
                Kind::Cable | Kind::Stop | Kind::Term | Kind::Kill => {
                    if free.is_empty() || self.down_count() >= MAX_DOWN {
                        continue;
                    }
                    // Half the time the router holding the VIP, if it is free: what
                    // happens to a master is what matters most.
                    let holders: Vec<usize> = free
                        .iter()
                        .copied()
                        .filter(|&i| self.routers[i].host.has_addr(VIP4))
                        .collect();
                    let i = if !holders.is_empty() && self.rng.below(2) == 0 {
                        holders[self.rng.below(holders.len())]
                    } else {
                        free[self.rng.below(free.len())]
                    };
                    self.disrupt(i, kind, now, t);
                }
                Kind::Isolate => {
                    if free.len() < 2 {
                        continue;
                    }
                    let first = self.rng.below(free.len());
                    let mut second = self.rng.below(free.len() - 1);
                    if second >= first {
                        second += 1;
                    }
                    let (i, j) = (free[first], free[second]);
                    let t = epoch_now();
                    let until = now + self.rng.millis(1000, 3000);
                    for k in [i, j] {
                        self.routers[k].host.set_isolated(true);
                        self.routers[k].down = Some((Down::Isolated, until));
                    }
                    let text = format!(
                        "isolate {} and {} (split brain) for {} ms",
                        self.routers[i].name(),
                        self.routers[j].name(),
                        until.duration_since(now).as_millis()
                    );
                    self.event_at(t, text);
                }
                Kind::DelVip => {
                    let holders: Vec<usize> = free
                        .iter()
                        .copied()
                        .filter(|&i| self.routers[i].host.has_addr(VIP4))
                        .collect();
                    if holders.is_empty() {
                        continue;
                    }
                    let i = holders[self.rng.below(holders.len())];
                    let t = epoch_now();
                    let out = self.routers[i]
                        .host
                        .exec(&["ip", "addr", "del", VIP4_CIDR, "dev", "eth0"]);
                    let outcome = if out.status.success() {
                        "done".to_string()
                    } else {
                        format!(
                            "failed ({}): {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        )
                    };
                    let text = format!(
                        "ip addr del {VIP4_CIDR} on {}: {outcome}",
                        self.routers[i].name()
                    );
                    self.event_at(t, text);
                }
            }
            *self.taken.entry(kind).or_default() += 1;
            return Some(kind);
        }
        None
    }

    /// Cable, stop, terminate or kill router `i`.
    fn disrupt(&mut self, i: usize, kind: Kind, now: Instant, t: f64) {
        let name = self.routers[i].name().to_string();
        let host = self.routers[i].host;
        if !self.check_alive(i) {
            return;
        }
        let held = if host.has_addr(VIP4) {
            " (it held the VIP)"
        } else {
            ""
        };
        let (down, hold, text) = match kind {
            Kind::Cable => {
                host.pull_cable();
                let hold = self.rng.millis(500, 2500);
                (Down::CablePulled, hold, "pull cable".to_string())
            }
            Kind::Stop => {
                let Some(pid) = host.vipd_pid() else {
                    panic!("no vipd on {name}");
                };
                let stopped = match Stopped::stop(pid) {
                    Ok(s) => s,
                    Err(e) => panic!("cannot stop vipd on {name}: {e}"),
                };
                let hold = self.rng.millis(300, 1500);
                (
                    Down::Stopped(stopped),
                    hold,
                    format!("SIGSTOP vipd (pid {pid})"),
                )
            }
            Kind::Term => {
                let sent = host.kill(Signal::SIGTERM);
                let hold = self.rng.millis(500, 2000);
                (
                    Down::Terminated,
                    hold,
                    format!("SIGTERM vipd (sent: {sent})"),
                )
            }
            Kind::Kill => {
                let sent = host.kill(Signal::SIGKILL);
                let hold = self.rng.millis(500, 2000);
                (Down::Killed, hold, format!("SIGKILL vipd (sent: {sent})"))
            }
            Kind::Isolate | Kind::DelVip => unreachable!("not a disruption of one router"),
        };
        self.routers[i].down = Some((down, now + hold));
        self.event_at(
            t,
            format!("{name}: {text}{held}, undone in {} ms", hold.as_millis()),
        );
    }

    /// Whether router `i`'s vipd, which should be running, is; if it exited by
    /// itself, that is a fault, and it is restarted soon like a crashed one.
    fn check_alive(&mut self, i: usize) -> bool {
        if !self.routers[i].should_answer()
            && !matches!(&self.routers[i].down, Some((Down::Stopped(_), _)))
        {
            return true;
        }
        let host = self.routers[i].host;
        if host.vipd_running() {
            return true;
        }
        let status = host.wait_vipd_exit(Duration::from_millis(10));
        let name = host.name.clone();
        let tail: Vec<String> = host
            .vipd_log()
            .lines()
            .rev()
            .take(15)
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        self.fault(format!(
            "vipd on {name} exited by itself ({status:?}); last log lines:\n    {}",
            tail.join("\n    ")
        ));
        // Whatever was under way (a stop guard is dropped: SIGCONT to a dead pid that
        // is not reaped yet is harmless) gives way to a restart.
        self.routers[i].down = Some((Down::Killed, Instant::now() + Duration::from_millis(500)));
        false
    }

    /// Undoes router `i`'s disruption.
    fn undo(&mut self, i: usize) {
        let Some((down, _)) = self.routers[i].down.take() else {
            return;
        };
        let t = epoch_now();
        let host = self.routers[i].host;
        let name = host.name.clone();
        let what = down.name();
        let text = match down {
            Down::CablePulled => {
                host.plug_cable();
                "plug cable".to_string()
            }
            Down::Stopped(stopped) => {
                drop(stopped);
                "SIGCONT vipd".to_string()
            }
            Down::Isolated => {
                host.set_isolated(false);
                "isolation lifted".to_string()
            }
            Down::Terminated => {
                match host.wait_vipd_exit(Duration::from_secs(5)) {
                    Some(s) if s.code() == Some(0) => {}
                    Some(s) => self.fault(format!(
                        "vipd on {name} exited with {s} after SIGTERM (0 expected); log:\n{}",
                        host.vipd_log()
                    )),
                    None => {
                        self.fault(format!(
                            "vipd on {name} still running 5 s after SIGTERM; log:\n{}",
                            host.vipd_log()
                        ));
                        host.kill(Signal::SIGKILL);
                        host.wait_vipd_exit(Duration::from_secs(3));
                    }
                }
                self.restart(i)
            }
            Down::Killed => {
                if host.wait_vipd_exit(Duration::from_secs(3)).is_none() {
                    self.fault(format!("vipd on {name} still running 3 s after SIGKILL"));
                }
                self.restart(i)
            }
        };
        self.event_at(t, format!("{name}: {text} (was {what})"));
    }

    /// Starts router `i`'s vipd again with its configuration.
    fn restart(&mut self, i: usize) -> String {
        let host = self.routers[i].host;
        let started = Instant::now();
        host.start_vipd(&self.configs[i]);
        let answered = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            host.try_status_within(STATUS_TIMEOUT).is_ok()
        });
        if !answered {
            self.fault(format!(
                "restarted vipd on {} did not answer within 5 s; log:\n{}",
                host.name,
                host.vipd_log()
            ));
        }
        format!(
            "vipd restarted (pid {}, answering after {} ms)",
            host.vipd_pid().unwrap_or_default(),
            started.elapsed().as_millis()
        )
    }

    /// Undoes the disruptions that are due.
    fn undo_due(&mut self) {
        let now = Instant::now();
        for i in 0..self.routers.len() {
            if self.routers[i]
                .down
                .as_ref()
                .is_some_and(|(_, at)| *at <= now)
            {
                self.undo(i);
            }
        }
    }

    pub fn restore_all(&mut self) {
        for i in 0..self.routers.len() {
            self.undo(i);
        }
    }

    /// Samples every router and feeds the checker; returns the views.
    pub fn sample(&mut self) -> Vec<View> {
        self.last_sample = Some(Instant::now());
        for i in 0..self.routers.len() {
            self.check_alive(i);
        }
        let in_grace = self.last_event.elapsed() < GRACE;
        let isolated = self
            .routers
            .iter()
            .any(|r| matches!(&r.down, Some((Down::Isolated, _))));
        let t = epoch_now();
        let views: Vec<View> = self
            .routers
            .iter()
            .map(|r| {
                let holds = r.host.has_addr(VIP4);
                let state = r.should_answer().then(|| {
                    r.host.try_status_within(STATUS_TIMEOUT).and_then(|s| {
                        match s.instances.first() {
                            Some(i) => Ok(i.state),
                            None => Err("status without instances".to_string()),
                        }
                    })
                });
                View {
                    name: r.name().to_string(),
                    holds,
                    frozen: r.frozen(),
                    state,
                }
            })
            .collect();
        self.checker.observe(t, in_grace, isolated, &views);
        views
    }

    fn sample_due(&self) -> bool {
        self.last_sample.is_none_or(|s| s.elapsed() >= SAMPLE_EVERY)
    }

    /// Runs for `dur`, undoing what is due and sampling.
    pub fn idle(&mut self, dur: Duration) {
        let until = Instant::now() + dur;
        // Bounded: each round sleeps at least 1 ms.
        let rounds = dur.as_millis() + 1;
        for _ in 0..rounds {
            if Instant::now() >= until {
                break;
            }
            self.undo_due();
            if self.sample_due() {
                self.sample();
            }
            let next_sample = self
                .last_sample
                .map_or(Instant::now(), |s| s + SAMPLE_EVERY);
            let wake = next_sample.min(until);
            let sleep = wake.saturating_duration_since(Instant::now());
            std::thread::sleep(sleep.max(Duration::from_millis(1)));
        }
    }
}
