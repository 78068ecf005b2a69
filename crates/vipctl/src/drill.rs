//! `vipctl drill [INSTANCE]`: a rehearsed failover on a live pair, timed.
//!
//! On the master: (1) the cluster view (`crate::cluster`) must show a healthy backup of
//! the instance — a peer answering, its instance of the same name backup, not in
//! maintenance, priority above 0 — or the drill refuses and changes nothing; (2) with
//! the event stream open, maintenance on: the master hands over make-before-break;
//! (3) the new master is confirmed through the peer's `/status` (master, holding every
//! VIP), this node's event stream (`new_master_heard`: the node's own measure, from its
//! priority-0 advert to the new master's first) and its own status (its VIPs released);
//! (4) maintenance off, and the VIP comes back (preemption) or stays with the peer.
//! Every wait is bounded; on any failure maintenance is turned off again and the drill
//! says what happened. So it is on Ctrl-C, SIGTERM or SIGHUP ([`crate::interrupt`]):
//! caught from just before maintenance goes on, they end the drill with maintenance
//! off. The step times are measured here, by polling every [`POLL`], so they are good
//! to about that much.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vipd_api::{Command, InstanceStatus, Request, Response, State, Status, WatchEvent, WatchLine};

use crate::client::{self, ClientError};
use crate::cluster::{self, NodeReport};
use crate::interrupt::interrupted;
use crate::{report, EXIT_DAEMON_ERROR, EXIT_OK};

/// What the drill says when a signal ended it.
const INTERRUPTED: &str = "interrupted by a signal";

/// How often the statuses are polled while waiting.
pub const POLL: Duration = Duration::from_millis(10);

/// A backup ready to take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub node: String,
    pub address: String,
    pub priority: u8,
}

/// The healthy backups of `instance` among the peers, or why there are none (one
/// reason per peer).
pub fn healthy_backups(
    nodes: &[NodeReport],
    instance: &str,
) -> Result<Vec<Candidate>, Vec<String>> {
    let mut ok = Vec::new();
    let mut why = Vec::new();
    for n in nodes.iter().filter(|n| !n.here) {
        let address = n.address.clone().unwrap_or_default();
        let s = match &n.status {
            Err(e) => {
                why.push(format!("{}: cannot be reached: {e}", n.node));
                continue;
            }
            Ok(s) => s,
        };
        let Some(i) = s.instances.iter().find(|i| i.name == instance) else {
            why.push(format!("{}: has no instance `{instance}`", n.node));
            continue;
        };
        if i.maintenance {
            why.push(format!("{}: in maintenance", n.node));
        } else if i.state != State::Backup {
            why.push(format!("{}: {}, not backup", n.node, i.state.as_str()));
        } else if i.priority_effective == 0 {
            why.push(format!("{}: effective priority 0", n.node));
        } else {
            ok.push(Candidate {
                node: n.node.clone(),
                address,
                priority: i.priority_effective,
            });
        }
    }
    if nodes.iter().all(|n| n.here) {
        why.push("no peers are configured (`cluster_peers:` in vipd's configuration)".into());
    }
    if ok.is_empty() {
        Err(why)
    } else {
        Ok(ok)
    }
}

/// Which instance to drill: the one named, or the only one.
fn pick<'a>(status: &'a Status, name: Option<&str>) -> Result<&'a InstanceStatus, String> {
    match name {
        Some(n) => status
            .instances
            .iter()
            .find(|i| i.name == n)
            .ok_or_else(|| format!("vipd has no instance named `{n}`")),
        None => match status.instances.as_slice() {
            [only] => Ok(only),
            _ => Err("vipd has several instances; name the one to drill".into()),
        },
    }
}

/// How long each step may take: ten advert intervals, at least 3 s.
fn step_bound(i: &InstanceStatus) -> Duration {
    Duration::from_millis(i.advert_interval_ms.saturating_mul(10)).max(Duration::from_secs(3))
}

struct Drill<'a> {
    socket: &'a Path,
    timeout: Duration,
    name: String,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

pub fn drill(
    socket: &Path,
    name: Option<&str>,
    timeout: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    // Before any thread starts (the peers' reads, the event stream): a thread started
    // earlier would still die of the signals.
    if let Err(e) = crate::interrupt::catch() {
        let _ = writeln!(err, "vipctl: drill refused, nothing changed: {e}");
        return EXIT_DAEMON_ERROR;
    }
    let own = match own_status(socket, timeout) {
        Ok(s) => s,
        Err(Failure::Client(e)) => return report(err, &e),
        Err(Failure::Said(m)) => {
            let _ = writeln!(err, "vipctl: {m}");
            return EXIT_DAEMON_ERROR;
        }
    };
    let inst = match pick(&own, name) {
        Ok(i) => i.clone(),
        Err(m) => {
            let _ = writeln!(err, "vipctl: {m}");
            return EXIT_DAEMON_ERROR;
        }
    };
    let refuse = |err: &mut dyn Write, m: String| {
        let _ = writeln!(err, "vipctl: drill refused, nothing changed: {m}");
        EXIT_DAEMON_ERROR
    };
    if inst.maintenance {
        return refuse(err, format!("{} is already in maintenance", inst.name));
    }
    if inst.state != State::Master {
        return refuse(
            err,
            format!(
                "this node is {} for {}, not master; run the drill on the master",
                inst.state.as_str(),
                inst.name
            ),
        );
    }
    let peers = own.peers.clone();
    let nodes = cluster::gather(own, &peers, cluster::PEER_TIMEOUT);
    let candidates = match healthy_backups(&nodes, &inst.name) {
        Ok(c) => c,
        Err(why) => {
            return refuse(
                err,
                format!("no healthy backup of {} ({})", inst.name, why.join("; ")),
            )
        }
    };
    let mut d = Drill {
        socket,
        timeout,
        name: inst.name.clone(),
        out,
        err,
    };
    for c in &candidates {
        d.say(format!(
            "backup ready: {} ({}), priority {}",
            c.node, c.address, c.priority
        ));
    }
    d.run(&inst, &candidates)
}

enum Failure {
    Client(ClientError),
    Said(String),
}

fn own_status(socket: &Path, timeout: Duration) -> Result<Status, Failure> {
    match client::call(socket, &Request::new(Command::Status), timeout) {
        Ok(Response::Status(s)) => Ok(s),
        Ok(Response::Error { message, .. }) => Err(Failure::Said(format!(
            "vipd refused the request: {message}"
        ))),
        Ok(_) => Err(Failure::Said("vipd answered with no status".into())),
        Err(e) => Err(Failure::Client(e)),
    }
}

impl Drill<'_> {
    fn say(&mut self, line: String) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn maintenance(&mut self, on: bool) -> Result<(), String> {
        let command = Command::Maintenance {
            on,
            instances: vec![self.name.clone()],
        };
        match client::call(self.socket, &Request::new(command), self.timeout) {
            Ok(Response::Done { .. }) => Ok(()),
            Ok(Response::Error { message, .. }) => Err(format!("vipd refused: {message}")),
            Ok(_) => Err("vipd answered with something else".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Turns maintenance off after a failure and says what happened.
    fn abort(&mut self, what: String) -> u8 {
        let _ = writeln!(self.err, "vipctl: drill failed: {what}");
        match self.maintenance(false) {
            Ok(()) => {
                let _ = writeln!(
                    self.err,
                    "vipctl: maintenance is off again for {}",
                    self.name
                );
            }
            Err(e) => {
                let _ = writeln!(
                    self.err,
                    "vipctl: could not turn maintenance off for {} ({e}); run `vipctl maintenance off {}`",
                    self.name, self.name
                );
            }
        }
        EXIT_DAEMON_ERROR
    }

    /// This node's instance now.
    fn own(&self) -> Result<InstanceStatus, String> {
        match own_status(self.socket, self.timeout) {
            Ok(s) => s
                .instances
                .into_iter()
                .find(|i| i.name == self.name)
                .ok_or_else(|| format!("{} is gone from vipd's status", self.name)),
            Err(Failure::Client(e)) => Err(e.to_string()),
            Err(Failure::Said(m)) => Err(m),
        }
    }

    fn run(&mut self, inst: &InstanceStatus, candidates: &[Candidate]) -> u8 {
        let bound = step_bound(inst);
        let events = match self.subscribe() {
            Ok(rx) => rx,
            Err(e) => {
                let _ = writeln!(
                    self.err,
                    "vipctl: drill refused, nothing changed: cannot watch events: {e}"
                );
                return EXIT_DAEMON_ERROR;
            }
        };
        if interrupted() {
            let _ = writeln!(self.err, "vipctl: drill {INTERRUPTED}; nothing changed");
            return EXIT_DAEMON_ERROR;
        }
        let t0 = Instant::now();
        if let Err(e) = self.maintenance(true) {
            // It may have been applied all the same (an answer that timed out).
            return self.abort(format!("maintenance on: {e}"));
        }
        let mut seen: Vec<(Duration, WatchEvent)> = Vec::new();
        // This node backup (the watch says so).
        let backup = wait_event(&events, t0, bound, &mut seen, |e| {
            matches!(
                e,
                WatchEvent::StateChanged {
                    to: State::Backup,
                    ..
                }
            )
        });
        if interrupted() {
            return self.abort(INTERRUPTED.into());
        }
        let Some(backup) = backup else {
            return self.abort(format!(
                "this node did not turn backup within {} ms",
                ms(bound)
            ));
        };
        self.say(format!(
            "maintenance on: this node backup after {} ms",
            ms(backup)
        ));
        // The peer master with every VIP; this node heard it (the node's event) and
        // released its VIPs.
        let mut released = None;
        let mut taken: Option<(Duration, &Candidate)> = None;
        let deadline = t0 + bound;
        while (released.is_none() || taken.is_none()) && Instant::now() < deadline {
            if interrupted() {
                return self.abort(INTERRUPTED.into());
            }
            if released.is_none() {
                match self.own() {
                    Ok(i) if i.vips.iter().all(|v| !v.present) && i.kernel_error.is_none() => {
                        released = Some(t0.elapsed());
                    }
                    Ok(_) => {}
                    Err(e) => return self.abort(format!("cannot read this node's status: {e}")),
                }
            }
            if taken.is_none() {
                taken = candidates
                    .iter()
                    .find(|c| peer_is_master(c, &self.name))
                    .map(|c| (t0.elapsed(), c));
            }
            std::thread::sleep(POLL);
        }
        drain(&events, t0, &mut seen);
        let Some((took, by)) = taken else {
            return self.abort(format!(
                "no backup became master holding the VIPs within {} ms (this node released them: {})",
                ms(bound),
                if released.is_some() { "yes" } else { "no" }
            ));
        };
        if released.is_none() {
            return self.abort(format!(
                "{} is master, but this node still holds VIPs after {} ms",
                by.node,
                ms(bound)
            ));
        }
        // The node's own measure: from its priority-0 advert to the new master's first.
        let heard = seen.iter().find_map(|(_, e)| match e {
            WatchEvent::NewMasterHeard { after_us, .. } => Some(*after_us),
            _ => None,
        });
        self.say(match heard {
            Some(us) => format!(
                "handover to {}: {} ms (new master heard after {:.1} ms)",
                by.node,
                ms(took),
                us as f64 / 1000.0
            ),
            // A vipd without the event: the handover ended by its bound, or it is older.
            None => format!(
                "handover to {}: {} ms (this node reported no new master heard)",
                by.node,
                ms(took)
            ),
        });
        // Maintenance off: back (preemption), or staying with the peer.
        let t1 = Instant::now();
        if let Err(e) = self.maintenance(false) {
            let _ = writeln!(
                self.err,
                "vipctl: maintenance off failed: {e}; run `vipctl maintenance off {}`",
                self.name
            );
            return EXIT_DAEMON_ERROR;
        }
        let mut back = None;
        while back.is_none() && t1.elapsed() < bound {
            if interrupted() {
                let _ = writeln!(
                    self.err,
                    "vipctl: drill interrupted after maintenance off; not waiting for the return"
                );
                return EXIT_DAEMON_ERROR;
            }
            drain(&events, t0, &mut seen);
            match self.own() {
                Ok(i) if i.state == State::Master && i.vips.iter().all(|v| v.present) => {
                    back = Some(t1.elapsed());
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = writeln!(self.err, "vipctl: cannot read this node's status: {e}");
                    return EXIT_DAEMON_ERROR;
                }
            }
            std::thread::sleep(POLL);
        }
        drain(&events, t0, &mut seen);
        match back {
            Some(b) => self.say(format!("maintenance off: return: {} ms", ms(b))),
            None => self.say(format!(
                "maintenance off: the VIPs stay with {} (no preemption here, or a preempt_delay over {} ms)",
                by.node,
                ms(bound)
            )),
        }
        self.say("events:".into());
        for (at, e) in &seen {
            self.say(format!(
                "  +{:>5} ms  {}",
                ms(*at),
                crate::watch::describe_event(e)
            ));
        }
        EXIT_OK
    }

    /// Opens the event stream for the instance; the lines come on the channel, each with
    /// when it arrived.
    fn subscribe(&mut self) -> Result<mpsc::Receiver<(Instant, WatchLine)>, String> {
        let request = Request::new(Command::Watch {
            instances: vec![self.name.clone()],
        });
        let mut reader: BufReader<UnixStream> =
            client::open_stream(self.socket, &request, self.timeout).map_err(|e| e.to_string())?;
        let mut first = String::new();
        (&mut reader)
            .take(1024 * 1024)
            .read_line(&mut first)
            .map_err(|e| e.to_string())?;
        match crate::printable::parse::<Response>(first.as_bytes()) {
            Ok(Response::Watching { .. }) => {}
            Ok(Response::Error { message, .. }) => return Err(message),
            Ok(_) => return Err("vipd answered with something else".into()),
            Err(e) => return Err(e.to_string()),
        }
        reader
            .get_ref()
            .set_read_timeout(None)
            .map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        // Ends when vipd closes the stream or this process exits.
        std::thread::spawn(move || {
            let mut line = String::new();
            loop {
                line.clear();
                match (&mut reader).take(1024 * 1024).read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if let Ok(l) = crate::printable::parse::<WatchLine>(line.as_bytes()) {
                            if tx.send((Instant::now(), l)).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Ok(rx)
    }
}

fn peer_is_master(c: &Candidate, instance: &str) -> bool {
    let Ok(addr) = c.address.parse() else {
        return false;
    };
    let Ok(body) = crate::http_get::get(addr, "/status", cluster::PEER_TIMEOUT) else {
        return false;
    };
    let Ok(s) = crate::printable::parse::<Status>(&body) else {
        return false;
    };
    s.instances.iter().any(|i| {
        i.name == instance
            && i.state == State::Master
            && !i.vips.is_empty()
            && i.vips.iter().all(|v| v.present)
    })
}

/// Waits up to `bound` after `t0` for an event matching `want`, recording every event.
fn wait_event(
    rx: &mpsc::Receiver<(Instant, WatchLine)>,
    t0: Instant,
    bound: Duration,
    seen: &mut Vec<(Duration, WatchEvent)>,
    want: impl Fn(&WatchEvent) -> bool,
) -> Option<Duration> {
    let deadline = t0 + bound;
    loop {
        if interrupted() {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let (at, line) = match rx.recv_timeout(left.min(POLL)) {
            Ok(got) => got,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        };
        let after = at.saturating_duration_since(t0);
        let hit = want(&line.event);
        seen.push((after, line.event));
        if hit {
            return Some(after);
        }
    }
}

fn drain(
    rx: &mpsc::Receiver<(Instant, WatchLine)>,
    t0: Instant,
    seen: &mut Vec<(Duration, WatchEvent)>,
) {
    while let Ok((at, line)) = rx.try_recv() {
        seen.push((at.saturating_duration_since(t0), line.event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample_status;

    fn peer(name: &str, state: State, maintenance: bool) -> NodeReport {
        let mut s = sample_status();
        s.instances.truncate(1);
        s.instances[0].state = state;
        s.instances[0].maintenance = maintenance;
        s.instances[0].priority_effective = 100;
        NodeReport {
            node: name.into(),
            address: Some(format!("192.0.2.{}:9650", 10 + name.len())),
            here: false,
            status: Ok(s),
        }
    }

    fn here() -> NodeReport {
        NodeReport {
            node: "a".into(),
            address: None,
            here: true,
            status: Ok(sample_status()),
        }
    }

    #[test]
    fn a_backup_answering_and_not_in_maintenance_is_healthy() {
        let nodes = vec![
            here(),
            peer("b", State::Backup, false),
            peer("cc", State::Backup, true),
        ];
        assert_eq!(
            healthy_backups(&nodes, "web"),
            Ok(vec![Candidate {
                node: "b".into(),
                address: "192.0.2.11:9650".into(),
                priority: 100
            }])
        );
    }

    #[test]
    fn none_healthy_says_why_for_each_peer() {
        let mut down = peer("b", State::Backup, false);
        down.status = Err("connection refused".into());
        let nodes = vec![
            here(),
            down,
            peer("cc", State::Backup, true),
            peer("ddd", State::Fault, false),
        ];
        assert_eq!(
            healthy_backups(&nodes, "web"),
            Err(vec![
                "b: cannot be reached: connection refused".to_owned(),
                "cc: in maintenance".to_owned(),
                "ddd: fault, not backup".to_owned(),
            ])
        );
        assert_eq!(
            healthy_backups(&[here(), peer("b", State::Backup, false)], "db"),
            Err(vec!["b: has no instance `db`".to_owned()])
        );
        assert_eq!(
            healthy_backups(&[here()], "web"),
            Err(vec![
                "no peers are configured (`cluster_peers:` in vipd's configuration)".to_owned()
            ])
        );
    }

    #[test]
    fn the_instance_is_the_named_or_the_only_one() {
        let s = sample_status();
        assert_eq!(pick(&s, Some("web")).map(|i| i.name.as_str()), Ok("web"));
        assert!(pick(&s, None).is_err(), "two instances: must be named");
        assert_eq!(
            pick(&s, Some("nope")).map(|i| i.name.clone()),
            Err("vipd has no instance named `nope`".into())
        );
        let mut one = sample_status();
        one.instances.truncate(1);
        assert_eq!(pick(&one, None).map(|i| i.name.as_str()), Ok("web"));
    }

    #[test]
    fn each_step_is_bounded_by_ten_intervals_or_three_seconds() {
        let mut i = sample_status().instances.remove(0);
        i.advert_interval_ms = 200;
        assert_eq!(step_bound(&i), Duration::from_secs(3));
        i.advert_interval_ms = 1000;
        assert_eq!(step_bound(&i), Duration::from_secs(10));
    }
}
