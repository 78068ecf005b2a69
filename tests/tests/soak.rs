//! Soak: a seeded, bounded chaos run against three real vipd routers, to shake out races
//! in the daemon (its netlink work runs in tasks of its own, off the main loop).
//!
//! Routers a, b and c (priorities 150, 120, 100; default settings: VRRPv3, adverts every
//! 200 ms, preemption on) float 192.0.2.50/24 (instance web, VRID 51) while a client
//! pings it every 5 ms for the whole run. A seeded xorshift generator picks
//! [`ACTIONS`] actions, one every 0.8–2 s:
//!
//! - pull a router's cable (plugged back 0.5–2.5 s later);
//! - SIGSTOP its vipd (SIGCONT 0.3–1.5 s later: a stalled process);
//! - SIGTERM its vipd (restarted with the same configuration 0.5–2 s later);
//! - SIGKILL its vipd, a crash (restarted 0.5–2 s later);
//! - isolate two routers' bridge ports from each other (split brain; lifted 1–3 s
//!   later). Isolated ports cannot reach each other but still reach every other port,
//!   so isolating one port alone changes nothing: the action always isolates a pair;
//! - delete the VIP by hand (`ip addr del`) on the router holding it.
//!
//! A router has at most one disruption at a time, and at most [`MAX_DOWN`] routers are
//! down at once (cable pulled, process stopped, terminated or crashed; an isolated
//! router is not down: it still reaches the client and the third router). The client is
//! never touched. The seed is printed; `VIPD_SOAK_SEED=<n or 0xhex>` replays a run.
//!
//! Every 20 ms, throughout, the test samples each router's `ip addr` and (where its
//! vipd can answer) its state, and checks:
//!
//! 1. outside [`GRACE`] after any action (undoing one included), at most one router
//!    holds the VIP, except while some port is isolated (split brain: two masters are
//!    what VRRP does). A router whose vipd is stopped or crashed is not counted: a
//!    stopped master keeps its VIP in the kernel, and so does a crashed one until its
//!    restart removes the leftover; the check is that the running routers agree;
//!
//!    1b. Since actions (and their undoing) come every 0.7 s on average, check 1
//!    applies in few samples. So also: no two running routers hold the VIP at once for
//!    longer than [`GRACE`] outside isolation, whatever else happens meanwhile. Per
//!    VRRP, routers that hear each other resolve two masters at the next advert
//!    (≤ 200 ms); a stopped or crashed router is again not counted;
//! 2. no router holds the VIP while its vipd reports a state other than master for
//!    longer than [`GRACE`];
//! 3. no vipd reports master without the VIP on its interface for longer than
//!    [`GRACE`] (the same pairing the other way round: a VIP change lost between the
//!    engine and the kernel shows up as either);
//! 4. a running vipd (neither stopped nor shutting down) answers `status` (within 0.5 s
//!    per try) — none goes unanswered for longer than [`GRACE`]: a main loop stuck on
//!    the kernel shows up here.
//!
//! Checks 2–4 skip routers whose vipd is stopped, shutting down or dead. A vipd that
//! exits by itself, or exits other than with 0 after SIGTERM, is a violation too.
//!
//! Afterwards everything is restored (cables plugged, isolation lifted, processes
//! continued or restarted): within [`SETTLE_LIMIT`], a (highest priority, preempting)
//! must be the only master and the only holder, b and c backup; vipctl agrees with the
//! kernel on all three; the client reaches the VIP; all three vipd are running and no
//! vipd log of the run says `panicked`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use vipd_api::State;
use vipd_e2e::{
    assert_vipctl_agrees, describe, epoch_now, exclusive, vipd_yaml, wait_roles, Host, Lan, Pinger,
    Signal, VipdInstance, VIP4,
};

/// The VIP with its prefix length, as configured and as `ip addr` takes it.
const VIP4_CIDR: &str = "192.0.2.50/24";
/// The seed when `VIPD_SOAK_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5EED_0051;
/// How many actions the run takes (fewer if [`CHAOS_BUDGET`] runs out first).
const ACTIONS: usize = 25;
/// The chaos phase ends after this at the latest (restoring and settling take at most
/// [`SETTLE_LIMIT`] and [`SETTLED_WATCH`] more, so the run stays within 45 s).
const CHAOS_BUDGET: Duration = Duration::from_secs(38);
/// After any action, and the longest a mismatch between kernel and vipd may last.
///
/// Justification: the slowest thing VRRP itself does here is b's Master_Down_Interval
/// (3 × 200 ms + 106 ms skew ≈ 706 ms, c's ≈ 722 ms) before a backup takes over; a
/// higher-priority master that returns is obeyed at the next advert (≤ 200 ms). 1.5 s
/// is twice the former, for a loaded two-core machine.
const GRACE: Duration = Duration::from_millis(1500);
/// How often the routers are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How long one status query may take while sampling.
const STATUS_TIMEOUT: Duration = Duration::from_millis(500);
/// How long after the restore a must be the only master.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// How long the settled roles are watched afterwards (they must not change).
const SETTLED_WATCH: Duration = Duration::from_secs(1);
/// At most this many routers are down at once.
const MAX_DOWN: usize = 2;

/// A tiny xorshift64 generator (Marsaglia), seeded through one splitmix64 round so
/// that any seed, 0 included, gives a well-mixed non-zero state.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-enough in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A duration of `lo..=hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }
}

/// `VIPD_SOAK_SEED` (decimal or 0x-hex), else [`DEFAULT_SEED`].
fn seed() -> u64 {
    let Ok(s) = std::env::var("VIPD_SOAK_SEED") else {
        return DEFAULT_SEED;
    };
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    match parsed {
        Ok(v) => v,
        Err(e) => panic!("VIPD_SOAK_SEED={s:?} is not a decimal or 0x-hex u64: {e}"),
    }
}

/// Epoch seconds as UTC time of day, `HH:MM:SS.mmm`, as vipd's log lines show it.
fn utc(t: f64) -> String {
    let ms = (t * 1e3).round() as u64 % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// UTC seconds of the day of a vipd log line (`2026-01-01T09:27:07.959037Z  INFO ...`).
fn log_time_of_day(line: &str) -> Option<f64> {
    let tod = line.get(11..26)?;
    let h: f64 = tod.get(0..2)?.parse().ok()?;
    let m: f64 = tod.get(3..5)?.parse().ok()?;
    let s: f64 = tod.get(6..)?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

fn config(priority: u8) -> String {
    vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[VIP4_CIDR]).priority(priority)],
    )
}

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

/// What one sample saw of one router.
struct View {
    name: String,
    holds: bool,
    frozen: bool,
    /// `None`: not asked (stopped, shutting down, dead); `Some(Err)`: no answer.
    state: Option<Result<State, String>>,
}

/// A stretch of consecutive samples in which one check failed for one router (or for
/// the LAN as a whole).
#[derive(Clone)]
struct Episode {
    check: &'static str,
    who: String,
    from: f64,
    to: f64,
    samples: usize,
    first: String,
    last: String,
}

impl Episode {
    fn secs(&self) -> f64 {
        self.to - self.from
    }
}

const CHECK_HOLDERS: &str = "1: several running routers hold the VIP outside the grace window";
const CHECK_OVERLAP: &str = "1b: several running routers hold the VIP for longer than the grace";
const CHECK_NON_MASTER: &str = "2: VIP held by a non-master";
const CHECK_MASTERLESS: &str = "3: master without the VIP";
const CHECK_SILENT: &str = "4: vipd does not answer status";

/// How long an episode of `check` may last before it is a violation.
fn allowed(check: &str) -> f64 {
    if check == CHECK_HOLDERS {
        0.0
    } else {
        GRACE.as_secs_f64()
    }
}

#[derive(Default)]
struct Checker {
    samples: usize,
    first_sample: Option<f64>,
    last_sample: Option<f64>,
    longest_between: f64,
    open: BTreeMap<(&'static str, String), Episode>,
    violations: Vec<Episode>,
    /// Per check: episodes within what is allowed, and the longest of them.
    transient: BTreeMap<&'static str, (usize, f64)>,
    /// Samples in which check 1 applied (no grace window, no isolation).
    holders_checked: usize,
    /// Samples in which check 1b applied (no isolation).
    overlap_checked: usize,
    /// Samples in which a stopped or crashed router still held the VIP while a running
    /// one held it too (what check 1 leaves out).
    frozen_overlap: usize,
}

impl Checker {
    /// One sample: `in_grace` within [`GRACE`] of an action, `isolated` while some port
    /// is isolated.
    fn observe(&mut self, t: f64, in_grace: bool, isolated: bool, views: &[View]) {
        self.samples += 1;
        if let Some(last) = self.last_sample {
            self.longest_between = self.longest_between.max(t - last);
        }
        self.first_sample.get_or_insert(t);
        self.last_sample = Some(t);

        let mut failing: Vec<(&'static str, String, String)> = Vec::new();
        let mut unknown: Vec<(&'static str, String)> = Vec::new();
        let picture = || {
            views
                .iter()
                .map(|v| {
                    let st = match &v.state {
                        None => "not asked".to_string(),
                        Some(Ok(s)) => s.as_str().to_string(),
                        Some(Err(_)) => "no answer".to_string(),
                    };
                    format!(
                        "{}: {}{}, {st}",
                        v.name,
                        if v.holds { "holds" } else { "-" },
                        if v.frozen { " (frozen)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if views.iter().any(|v| v.holds && v.frozen) && views.iter().any(|v| v.holds && !v.frozen) {
            self.frozen_overlap += 1;
        }
        let running_holders = views.iter().filter(|v| v.holds && !v.frozen).count();
        if !isolated {
            self.overlap_checked += 1;
            if running_holders > 1 {
                failing.push((CHECK_OVERLAP, String::new(), picture()));
            }
            if !in_grace {
                self.holders_checked += 1;
                if running_holders > 1 {
                    failing.push((CHECK_HOLDERS, String::new(), picture()));
                }
            }
        }
        for v in views {
            match &v.state {
                None => {}
                Some(Err(e)) => {
                    failing.push((CHECK_SILENT, v.name.clone(), e.clone()));
                    unknown.push((CHECK_NON_MASTER, v.name.clone()));
                    unknown.push((CHECK_MASTERLESS, v.name.clone()));
                }
                Some(Ok(s)) => {
                    if v.holds && *s != State::Master {
                        failing.push((CHECK_NON_MASTER, v.name.clone(), picture()));
                    }
                    if !v.holds && *s == State::Master {
                        failing.push((CHECK_MASTERLESS, v.name.clone(), picture()));
                    }
                }
            }
        }
        let keys: Vec<(&'static str, String)> = self.open.keys().cloned().collect();
        for key in keys {
            let still = failing.iter().any(|(c, w, _)| (*c, w) == (key.0, &key.1));
            if !still && !unknown.contains(&key) {
                if let Some(ep) = self.open.remove(&key) {
                    self.close(ep);
                }
            }
        }
        for (check, who, detail) in failing {
            let ep = self
                .open
                .entry((check, who.clone()))
                .or_insert_with(|| Episode {
                    check,
                    who,
                    from: t,
                    to: t,
                    samples: 0,
                    first: detail.clone(),
                    last: String::new(),
                });
            ep.to = t;
            ep.samples += 1;
            ep.last = detail;
        }
    }

    fn close(&mut self, ep: Episode) {
        if ep.secs() >= allowed(ep.check) {
            self.violations.push(ep);
        } else {
            let e = self.transient.entry(ep.check).or_insert((0, 0.0));
            e.0 += 1;
            e.1 = e.1.max(ep.secs());
        }
    }

    fn close_all(&mut self) {
        for (_, ep) in std::mem::take(&mut self.open) {
            self.close(ep);
        }
        self.violations
            .sort_by(|a, b| a.from.total_cmp(&b.from).then(a.check.cmp(b.check)));
    }

    /// Mean time between samples, in seconds.
    fn mean_interval(&self) -> f64 {
        match (self.first_sample, self.last_sample) {
            (Some(a), Some(b)) if self.samples > 1 => (b - a) / (self.samples - 1) as f64,
            _ => 0.0,
        }
    }
}

/// The action kinds, as the generator picks them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Cable,
    Stop,
    Term,
    Kill,
    Isolate,
    DelVip,
}

const KINDS: [Kind; 6] = [
    Kind::Cable,
    Kind::Stop,
    Kind::Term,
    Kind::Kill,
    Kind::Isolate,
    Kind::DelVip,
];

struct Chaos<'h> {
    routers: Vec<Router<'h>>,
    configs: Vec<String>,
    rng: XorShift,
    t0: f64,
    /// When the last action (or undo) was taken.
    last_event: Instant,
    events: Vec<(f64, String)>,
    taken: BTreeMap<Kind, usize>,
    /// Unexpected process exits and other faults found along the way.
    faults: Vec<(f64, String)>,
    checker: Checker,
    last_sample: Option<Instant>,
}

impl<'h> Chaos<'h> {
    fn new(hosts: &[(&'h Host, u8)], seed: u64) -> Chaos<'h> {
        Chaos {
            routers: hosts
                .iter()
                .map(|&(host, _)| Router { host, down: None })
                .collect(),
            configs: hosts.iter().map(|&(_, p)| config(p)).collect(),
            rng: XorShift::new(seed),
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

    fn event(&mut self, text: String) {
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

    /// Picks and takes one action; returns what it was, if any was possible.
    fn act(&mut self) -> Option<Kind> {
        // Bounded: a few tries for a kind that something can be done with.
        for _ in 0..16 {
            let kind = KINDS[self.rng.below(KINDS.len())];
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
        let answered =
            vipd_e2e::wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
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

    fn restore_all(&mut self) {
        for i in 0..self.routers.len() {
            self.undo(i);
        }
    }

    /// Samples every router and feeds the checker; returns the views.
    fn sample(&mut self) -> Vec<View> {
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
        self.last_sample
            .map_or(true, |s| s.elapsed() >= SAMPLE_EVERY)
    }

    /// Runs for `dur`, undoing what is due and sampling.
    fn idle(&mut self, dur: Duration) {
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

/// Log lines (not DEBUG) of every vipd run on `hosts` between `from` and `to` (epoch
/// seconds), at most `max`, for a violation report.
fn log_excerpt(hosts: &[&Host], from: f64, to: f64, max: usize) -> String {
    let day = |t: f64| t.rem_euclid(86_400.0);
    let (lo, hi) = (day(from), day(to));
    let mut lines: Vec<(f64, String)> = Vec::new();
    for h in hosts {
        for (_, text) in h.vipd_logs() {
            for l in text.lines() {
                if l.contains(" DEBUG ") {
                    continue;
                }
                if let Some(t) = log_time_of_day(l) {
                    if t >= lo && t <= hi {
                        lines.push((t, format!("{}| {l}", h.name)));
                    }
                }
            }
        }
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = lines.len();
    let mut out: Vec<String> = lines.into_iter().take(max).map(|(_, l)| l).collect();
    if n > max {
        out.push(format!("... {} more", n - max));
    }
    out.join("\n")
}

/// a is master holding the VIP, b and c are backup without it.
fn settled_roles(views: &[View]) -> bool {
    views.iter().all(|v| {
        let (want, holds) = if v.name == "a" {
            (State::Master, true)
        } else {
            (State::Backup, false)
        };
        v.holds == holds && matches!(&v.state, Some(Ok(s)) if *s == want)
    })
}

#[test]
fn seeded_chaos_keeps_one_master() {
    let _serial = exclusive();
    let seed = seed();
    println!("soak: seed {seed} ({seed:#x}); replay with VIPD_SOAK_SEED={seed}");
    let lan = Lan::new("soak");
    let a = lan.host("a", "192.0.2.11", "2001:db8::11");
    let b = lan.host("b", "192.0.2.12", "2001:db8::12");
    let c = lan.host("c", "192.0.2.13", "2001:db8::13");
    let client = lan.host("client", "192.0.2.100", "2001:db8::100");
    let all = [&a, &b, &c];
    for (h, p) in [(&a, 150), (&b, 120), (&c, 100)] {
        h.spawn_vipd(&config(p));
    }
    assert!(
        wait_roles(&all, "a", VIP4, Duration::from_secs(10)),
        "a never became the only master:\n{}",
        describe(&all, VIP4)
    );
    let ping = Pinger::start(&client, VIP4, Duration::from_secs(120));
    assert!(
        ping.wait_replies(100, Duration::from_secs(5)),
        "the client cannot ping the VIP held by a"
    );

    // Declared after the hosts: dropped first, so a stopped vipd is continued before
    // anything else is torn down, also when the test panics.
    let mut chaos = Chaos::new(&[(&a, 150), (&b, 120), (&c, 100)], seed);
    let begun = Instant::now();
    let mut actions = 0;
    let mut idle_picks = 0;
    // Bounded: ACTIONS rounds, and the budget.
    for _ in 0..ACTIONS {
        let gap = chaos.rng.millis(800, 2000);
        if begun.elapsed() + gap > CHAOS_BUDGET {
            chaos.event(format!(
                "chaos budget of {CHAOS_BUDGET:?} reached after {actions} actions"
            ));
            break;
        }
        match chaos.act() {
            Some(_) => actions += 1,
            None => idle_picks += 1,
        }
        chaos.idle(gap);
    }
    let chaos_secs = begun.elapsed().as_secs_f64();

    // Restore everything, then a must be the only master, b and c backup.
    chaos.restore_all();
    chaos.event("everything restored".to_string());
    let restored = epoch_now();
    let restored_at = Instant::now();
    let mut settled: Option<f64> = None;
    let mut final_problems: Vec<String> = Vec::new();
    // Bounded by SETTLE_LIMIT (each round samples and sleeps).
    while restored_at.elapsed() < SETTLE_LIMIT {
        let views = chaos.sample();
        if settled_roles(&views) {
            settled = Some(epoch_now() - restored);
            break;
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    match settled {
        Some(_) => {
            // Nothing happens any more: the roles must stay as they are.
            let watch_until = Instant::now() + SETTLED_WATCH;
            while Instant::now() < watch_until {
                let views = chaos.sample();
                if !settled_roles(&views) {
                    final_problems.push(format!(
                        "the settled roles changed {:.3} s after the restore:\n{}",
                        epoch_now() - restored,
                        describe(&all, VIP4)
                    ));
                    break;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        }
        None => final_problems.push(format!(
            "{SETTLE_LIMIT:?} after everything was restored, a is not the only master \
             holding {VIP4} with b and c backup:\n{}",
            describe(&all, VIP4)
        )),
    }
    chaos.checker.close_all();

    let pings_back = ping.wait_replies(100, Duration::from_secs(5));
    if !pings_back {
        final_problems.push(format!(
            "the client cannot ping {VIP4} after the restore:\n{}",
            describe(&all, VIP4)
        ));
    }
    let report = ping.stop();

    // Every vipd is running and none of the run's logs shows a panic.
    let mut error_lines = Vec::new();
    for h in all {
        if !h.vipd_running() {
            final_problems.push(format!(
                "vipd on {} is not running at the end; log:\n{}",
                h.name,
                h.vipd_log()
            ));
        }
        for (path, text) in h.vipd_logs() {
            for l in text.lines() {
                if l.contains("panicked") {
                    final_problems.push(format!("{}: {l}", path.display()));
                }
                if l.contains(" ERROR ") {
                    error_lines.push(format!("{}| {l}", h.name));
                }
            }
        }
    }

    // The summary.
    let mut s = String::new();
    let _ = writeln!(
        s,
        "seed {seed} ({seed:#x}); replay: VIPD_SOAK_SEED={seed} cargo test -p vipd-e2e \
         --test soak -- --nocapture"
    );
    let _ = writeln!(
        s,
        "{actions} actions in {chaos_secs:.1} s ({idle_picks} rounds found nothing to do): {}",
        chaos
            .taken
            .iter()
            .map(|(k, n)| format!("{k:?} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "samples: {} (mean interval {:.1} ms, longest {:.1} ms); check 1 applied in {}, \
         1b in {}; a stopped or crashed router kept the VIP while a running one held it in {}",
        chaos.checker.samples,
        chaos.checker.mean_interval() * 1e3,
        chaos.checker.longest_between * 1e3,
        chaos.checker.holders_checked,
        chaos.checker.overlap_checked,
        chaos.checker.frozen_overlap
    );
    match report.longest_gap() {
        Some((gap, at)) => {
            let before = chaos
                .events
                .iter()
                .rev()
                .find(|(t, _)| *t <= at + 0.005)
                .map(|(t, e)| format!("{:.3} s after `{e}`", at - t))
                .unwrap_or_else(|| "before the first action".into());
            let _ = writeln!(
                s,
                "ping: longest gap {:.1} ms from {} ({before}); after the restore {:.1} ms; {report}",
                gap.as_secs_f64() * 1e3,
                utc(at),
                report
                    .longest_gap_after(restored)
                    .map_or(f64::NAN, |g| g.as_secs_f64() * 1e3)
            );
        }
        None => {
            let _ = writeln!(s, "ping: no gap measured; {report}");
        }
    }
    match settled {
        Some(t) => {
            let _ = writeln!(
                s,
                "settled: a the only master {:.0} ms after the restore",
                t * 1e3
            );
        }
        None => {
            let _ = writeln!(s, "settled: not within {SETTLE_LIMIT:?}");
        }
    }
    let _ = writeln!(
        s,
        "transient mismatches (within what is allowed): {}",
        if chaos.checker.transient.is_empty() {
            "none".to_string()
        } else {
            chaos
                .checker
                .transient
                .iter()
                .map(|(c, (n, longest))| format!("[{c}] {n}, longest {:.0} ms", longest * 1e3))
                .collect::<Vec<_>>()
                .join("; ")
        }
    );
    let _ = writeln!(s, "vipd ERROR log lines: {}", error_lines.len());
    for l in error_lines.iter().take(20) {
        let _ = writeln!(s, "  {l}");
    }
    let _ = writeln!(
        s,
        "violations: {}, faults: {}, final problems: {}",
        chaos.checker.violations.len(),
        chaos.faults.len(),
        final_problems.len()
    );
    println!("soak summary:\n{s}");

    let clean =
        chaos.checker.violations.is_empty() && chaos.faults.is_empty() && final_problems.is_empty();
    if !clean {
        let mut r = s.clone();
        let _ = writeln!(r, "\nevents:");
        for (t, e) in &chaos.events {
            let _ = writeln!(r, "  +{:6.3}s {} {e}", t - chaos.t0, utc(*t));
        }
        for v in &chaos.checker.violations {
            let _ = writeln!(
                r,
                "\nVIOLATION [{}] {}: from +{:.3}s {} to +{:.3}s {} ({:.0} ms, {} samples)\n  \
                 first: {}\n  last:  {}\n  vipd logs around it:\n{}",
                v.check,
                if v.who.is_empty() { "LAN" } else { &v.who },
                v.from - chaos.t0,
                utc(v.from),
                v.to - chaos.t0,
                utc(v.to),
                v.secs() * 1e3,
                v.samples,
                v.first,
                v.last,
                log_excerpt(&all, v.from - 2.0, v.to + 0.5, 60)
            );
        }
        for (t, f) in &chaos.faults {
            let _ = writeln!(r, "\nFAULT at +{:.3}s {}: {f}", t - chaos.t0, utc(*t));
        }
        for p in &final_problems {
            let _ = writeln!(r, "\nFINAL: {p}");
        }
        panic!("soak run with seed {seed} found problems:\n{r}");
    }
    assert_vipctl_agrees(&all);
    drop(chaos);
}

// ---- the test's own machinery (no namespaces, no root) ----------------------------

fn view(name: &str, holds: bool, frozen: bool, state: Option<Result<State, String>>) -> View {
    View {
        name: name.to_string(),
        holds,
        frozen,
        state,
    }
}

#[test]
fn xorshift_is_deterministic_and_in_range() {
    let (mut x, mut y) = (XorShift::new(7), XorShift::new(7));
    let mut z = XorShift::new(0);
    for _ in 0..1000 {
        assert_eq!(x.next(), y.next());
        assert_ne!(z.next(), 0);
        let d = x.millis(800, 2000);
        assert_eq!(d, y.millis(800, 2000));
        assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(2000));
        let k = x.below(3);
        assert!(k < 3 && k == y.below(3));
    }
    assert_ne!(XorShift::new(1).next(), XorShift::new(2).next());
}

#[test]
fn checker_counts_running_holders_outside_the_exemption() {
    let master = || Some(Ok(State::Master));
    let two = [
        view("a", true, false, master()),
        view("b", true, false, master()),
    ];
    let mut c = Checker::default();
    c.observe(10.0, true, false, &two);
    c.observe(
        10.02,
        false,
        false,
        &[
            view("a", true, false, master()),
            view("b", false, false, Some(Ok(State::Backup))),
        ],
    );
    // A stopped or crashed holder does not count.
    c.observe(
        10.04,
        false,
        false,
        &[
            view("a", true, true, None),
            view("b", true, false, master()),
        ],
    );
    c.close_all();
    assert!(
        c.violations.is_empty(),
        "{:?}",
        c.violations.iter().map(|v| v.check).collect::<Vec<_>>()
    );
    // One sample is enough.
    c.observe(11.0, false, false, &two);
    c.observe(
        11.02,
        false,
        false,
        &[
            view("a", true, false, master()),
            view("b", false, false, Some(Ok(State::Backup))),
        ],
    );
    c.close_all();
    assert_eq!(c.violations.len(), 1);
    assert_eq!(c.violations[0].check, CHECK_HOLDERS);
    assert_eq!(c.samples, 5);
    // Isolated: two masters are fine, for as long as it lasts.
    let mut c = Checker::default();
    for k in 0..=150 {
        c.observe(f64::from(k) * 0.02, false, true, &two);
    }
    c.close_all();
    assert!(c.violations.is_empty());
    // Within the grace of one action after another, two running holders for 2 s.
    for k in 0..=100 {
        c.observe(10.0 + f64::from(k) * 0.02, true, false, &two);
    }
    c.close_all();
    assert_eq!(c.violations.len(), 1);
    assert_eq!(c.violations[0].check, CHECK_OVERLAP);
}

#[test]
fn checker_allows_short_mismatches_only() {
    let mut c = Checker::default();
    let backup_holding = [view("b", true, false, Some(Ok(State::Backup)))];
    let fine = [view("b", false, false, Some(Ok(State::Backup)))];
    // 1.0 s: transient.
    for k in 0..=50 {
        c.observe(20.0 + f64::from(k) * 0.02, false, false, &backup_holding);
    }
    c.observe(21.1, false, false, &fine);
    assert!(c.violations.is_empty());
    assert_eq!(c.transient.get(CHECK_NON_MASTER).map(|t| t.0), Some(1));
    // 2.0 s, with unanswered samples in between (they neither end nor extend it): a
    // violation, and the silence is a transient of its own.
    for k in 0..=100 {
        let state = if (40..60).contains(&k) {
            Some(Err("timeout".to_string()))
        } else {
            Some(Ok(State::Backup))
        };
        c.observe(
            30.0 + f64::from(k) * 0.02,
            false,
            false,
            &[view("b", true, false, state)],
        );
    }
    c.observe(32.1, false, false, &fine);
    c.close_all();
    assert_eq!(
        c.violations.len(),
        1,
        "{:?}",
        c.violations.iter().map(|v| v.check).collect::<Vec<_>>()
    );
    assert_eq!(c.violations[0].check, CHECK_NON_MASTER);
    assert!((c.violations[0].secs() - 2.0).abs() < 1e-6);
    assert_eq!(c.transient.get(CHECK_SILENT).map(|t| t.0), Some(1));
    // A master without its VIP.
    let mut c = Checker::default();
    for k in 0..=100 {
        c.observe(
            40.0 + f64::from(k) * 0.02,
            false,
            false,
            &[view("a", false, false, Some(Ok(State::Master)))],
        );
    }
    c.close_all();
    assert_eq!(c.violations.len(), 1);
    assert_eq!(c.violations[0].check, CHECK_MASTERLESS);
}
