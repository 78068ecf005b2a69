//! Scenarios as data: a YAML file describes the nodes, timed actions and the exact
//! instants at which states must be entered.
//!
//! ```yaml
//! name: crash_failover
//! latency_us: 0            # default 100
//! seed: 1                  # default 0x5eed
//! loss_ppm: 0              # default 0
//! check_invariants: true   # default true
//! until: "30"              # seconds, decimal, exact to the nanosecond
//! nodes:                   # defaults: version 3, ipv4, interval_cs 100, preempt true
//!   - { host: 1, priority: 150 }
//!   - { host: 2, priority: 100, family: ipv6, preempt_delay_ms: 0 }
//! steps:
//!   - { at: "0", do: start, node: 0 }
//!   - { at: "10", do: crash, node: 0 }
//! expect:
//!   # `state` holds over the whole of [from, until): the node is in it at `from`
//!   # (transitions at that instant included) and changes state nowhere in between;
//!   # a change at `until` itself is allowed. `until` defaults to the end of the run.
//!   # Back-to-back intervals pin each transition to its exact instant.
//!   - { node: 1, state: backup, from: "0", until: "13.0234375" }
//!   - { node: 1, state: master, from: "13.0234375" }
//!   # the older form: the first entry into `enters` at or after `after` (default 0)
//!   # is at `at`, or never happens before `until` when `at: never`
//!   - { node: 1, enters: master, after: "10", at: "13.0234375" }
//! final:
//!   vip_holders: [1]
//!   states: [stopped, master]
//! ```
//! Times are strings of decimal seconds ("13.0234375"), so they read like the RFC
//! arithmetic in the comments next to them and never go through a float.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use vipd_engine::{Config, Instant, State};

use crate::cfg;
use crate::sim::{Action, NodeId, Sim};

/// Why a scenario could not be loaded or did not behave as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError(pub String);

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScenarioError {}

fn err(msg: impl Into<String>) -> ScenarioError {
    ScenarioError(msg.into())
}

/// Parses decimal seconds ("3", "3.4140625") into an exact instant.
pub fn parse_instant(s: &str) -> Result<Instant, ScenarioError> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!("bad time {s:?}: expected decimal seconds")));
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!(
            "bad time {s:?}: at most 9 decimal digits (nanoseconds)"
        )));
    }
    let secs: u64 = whole
        .parse()
        .map_err(|e| err(format!("bad time {s:?}: {e}")))?;
    let mut nanos = 0u64;
    for (i, b) in frac.bytes().enumerate() {
        nanos += u64::from(b - b'0') * 10u64.pow(8 - i as u32);
    }
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(nanos))
        .map(Instant::from_nanos)
        .ok_or_else(|| err(format!("time {s:?} is too large")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    Initialize,
    Backup,
    Master,
    Fault,
    Stopped,
}

impl From<StateName> for State {
    fn from(s: StateName) -> State {
        match s {
            StateName::Initialize => State::Initialize,
            StateName::Backup => State::Backup,
            StateName::Master => State::Master,
            StateName::Fault => State::Fault,
            StateName::Stopped => State::Stopped,
        }
    }
}

fn default_interval() -> u16 {
    100
}
fn default_version() -> u8 {
    3
}
fn default_true() -> bool {
    true
}

/// One node of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Last octet of 192.0.2.x, or the last group of fe80::x.
    pub host: u8,
    pub priority: u8,
    #[serde(default = "default_interval")]
    pub interval_cs: u16,
    #[serde(default = "default_version")]
    pub version: u8,
    #[serde(default)]
    pub family: Option<Family>,
    #[serde(default = "default_true")]
    pub preempt: bool,
    #[serde(default)]
    pub preempt_delay_ms: u64,
}

impl NodeSpec {
    pub fn config(&self) -> Result<Config, ScenarioError> {
        let family = self.family.unwrap_or(Family::Ipv4);
        let mut c = match (self.version, family) {
            (3, Family::Ipv4) => cfg::v3_ipv4(self.host, self.priority, self.interval_cs),
            (3, Family::Ipv6) => {
                cfg::v3_ipv6(u16::from(self.host), self.priority, self.interval_cs)
            }
            (2, Family::Ipv4) => cfg::v2_ipv4(self.host, self.priority, self.interval_cs),
            (v, f) => return Err(err(format!("no VRRPv{v} over {f:?}"))),
        };
        c.preempt = self.preempt;
        c.preempt_delay = Duration::from_millis(self.preempt_delay_ms);
        Ok(c)
    }
}

/// An action at an instant.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub at: String,
    #[serde(flatten)]
    pub action: Action,
}

/// An expectation about one node's state timeline, in one of two forms: `state` with
/// `from` and optionally `until` (the state holds over that whole interval), or
/// `enters` with `at` and optionally `after` (the first entry into a state).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub node: NodeId,
    /// Interval form: the state the node is in throughout [`from`, `until`).
    #[serde(default)]
    pub state: Option<StateName>,
    #[serde(default)]
    pub from: Option<String>,
    /// Decimal seconds; default the scenario's `until`.
    #[serde(default)]
    pub until: Option<String>,
    /// Entry form: the state entered.
    #[serde(default)]
    pub enters: Option<StateName>,
    #[serde(default)]
    pub after: Option<String>,
    /// Decimal seconds, or "never".
    #[serde(default)]
    pub at: Option<String>,
}

/// Checks one expectation against the finished run; the complaint if it does not hold.
fn check_expect(sim: &Sim, e: &Expect, end: Instant) -> Result<Option<String>, ScenarioError> {
    let entry = e.enters.is_some() || e.at.is_some() || e.after.is_some();
    let interval = e.state.is_some() || e.from.is_some() || e.until.is_some();
    match (e.enters, e.state) {
        (Some(enters), None) if !interval => {
            let Some(at) = &e.at else {
                return Err(err(format!("expectation {e:?}: `enters` needs `at`")));
            };
            let after = match &e.after {
                Some(a) => parse_instant(a)?,
                None => Instant::ZERO,
            };
            let got = sim.entered(e.node, enters.into(), after);
            let want = if at.trim() == "never" {
                None
            } else {
                Some(parse_instant(at)?)
            };
            Ok((got != want).then(|| {
                format!(
                    "node {} entering {enters:?} after {after}: expected {}, got {}",
                    e.node,
                    want.map_or("never".to_string(), |t| t.to_string()),
                    got.map_or("never".to_string(), |t| t.to_string()),
                )
            }))
        }
        (None, Some(state)) if !entry => {
            let Some(from) = &e.from else {
                return Err(err(format!("expectation {e:?}: `state` needs `from`")));
            };
            let from = parse_instant(from)?;
            let until = match &e.until {
                Some(u) => parse_instant(u)?,
                None => end,
            };
            if until <= from || until > end {
                return Err(err(format!(
                    "expectation {e:?}: the interval must be non-empty and end by the run's \
                     end {end}"
                )));
            }
            let want = State::from(state);
            let at_from = sim.state_at(e.node, from);
            if at_from != want {
                return Ok(Some(format!(
                    "node {} in {want:?} over [{from}, {until}): it is {at_from:?} at {from} \
                     (transitions {})",
                    e.node,
                    timeline(sim, e.node)
                )));
            }
            let inside: Vec<_> = sim
                .transitions(e.node)
                .into_iter()
                .filter(|(at, ..)| *at > from && *at < until)
                .collect();
            Ok(inside.first().map(|(at, _, to, reason)| {
                format!(
                    "node {} in {want:?} over [{from}, {until}): it entered {to:?} \
                     ({reason:?}) at {at} (transitions {})",
                    e.node,
                    timeline(sim, e.node)
                )
            }))
        }
        _ => Err(err(format!(
            "expectation {e:?}: give either `state` and `from` (and `until`), or `enters` \
             and `at` (and `after`)"
        ))),
    }
}

/// A node's transitions, for messages: `t3.414062500 Backup->Master, ...` (the first
/// dozen).
fn timeline(sim: &Sim, node: NodeId) -> String {
    const SHOWN: usize = 12;
    let all = sim.transitions(node);
    let mut t: Vec<String> = all
        .iter()
        .take(SHOWN)
        .map(|(at, from, to, _)| format!("{at} {from:?}->{to:?}"))
        .collect();
    if all.len() > SHOWN {
        t.push(format!("... {} more", all.len() - SHOWN));
    }
    if t.is_empty() {
        "none".to_string()
    } else {
        t.join(", ")
    }
}

/// What must hold when the run ends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Final {
    #[serde(default)]
    pub vip_holders: Option<Vec<NodeId>>,
    #[serde(default)]
    pub states: Option<Vec<StateName>>,
}

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub latency_us: Option<u64>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub loss_ppm: u32,
    #[serde(default = "default_true")]
    pub check_invariants: bool,
    pub until: String,
    pub nodes: Vec<NodeSpec>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub expect: Vec<Expect>,
    #[serde(default, rename = "final")]
    pub final_: Final,
}

impl Scenario {
    pub fn from_yaml(text: &str) -> Result<Scenario, ScenarioError> {
        serde_norway::from_str(text).map_err(|e| err(format!("bad scenario: {e}")))
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        Self::from_yaml(&text).map_err(|e| err(format!("{}: {e}", path.display())))
    }

    /// Where the interval expectations (`state`, `from`, `until`) leave a node's
    /// timeline open: each node's intervals must tile [0, the run's end) without gap or
    /// overlap, so that every transition is pinned to its instant. One line per gap or
    /// overlap; empty when they tile.
    pub fn timeline_gaps(&self) -> Result<Vec<String>, ScenarioError> {
        let end = parse_instant(&self.until)?;
        let mut gaps = Vec::new();
        for node in 0..self.nodes.len() {
            let mut spans = Vec::new();
            for e in self
                .expect
                .iter()
                .filter(|e| e.node == node && e.state.is_some())
            {
                let Some(from) = &e.from else { continue };
                let until = match &e.until {
                    Some(u) => parse_instant(u)?,
                    None => end,
                };
                spans.push((parse_instant(from)?, until));
            }
            spans.sort();
            let mut covered = Instant::ZERO;
            for (from, until) in spans {
                if from > covered {
                    gaps.push(format!(
                        "node {node}: nothing expected over [{covered}, {from})"
                    ));
                } else if from < covered {
                    gaps.push(format!(
                        "node {node}: intervals overlap over [{from}, {})",
                        covered.min(until)
                    ));
                }
                covered = covered.max(until);
            }
            if covered < end {
                gaps.push(format!(
                    "node {node}: nothing expected over [{covered}, {end})"
                ));
            }
        }
        Ok(gaps)
    }

    /// Builds the LAN, schedules the steps, runs to `until` and checks every
    /// expectation; returns the finished simulation for further inspection.
    pub fn run(&self) -> Result<Sim, ScenarioError> {
        let mut b = Sim::builder()
            .check_invariants(self.check_invariants)
            .loss_ppm(self.loss_ppm);
        if let Some(us) = self.latency_us {
            b = b.latency(Duration::from_micros(us));
        }
        if let Some(seed) = self.seed {
            b = b.seed(seed);
        }
        for n in &self.nodes {
            b = b.node(n.config()?);
        }
        let mut sim = b.build().map_err(|e| err(format!("config: {e}")))?;
        for s in &self.steps {
            let node_ok = match &s.action {
                Action::Start { node }
                | Action::Stop { node }
                | Action::Crash { node }
                | Action::LinkDown { node }
                | Action::LinkUp { node }
                | Action::Tracked { node, .. }
                | Action::VipAddOk { node, .. }
                | Action::AdvertSendOk { node, .. }
                | Action::VipsRemoved { node } => *node < sim.len(),
                Action::Partition { groups } => groups.iter().flatten().all(|n| *n < sim.len()),
                Action::Heal => true,
            };
            if !node_ok {
                return Err(err(format!("step {s:?} names a node that does not exist")));
            }
            sim.schedule(parse_instant(&s.at)?, s.action.clone());
        }
        let until = parse_instant(&self.until)?;
        sim.run_until(until);

        let mut problems = Vec::new();
        for e in &self.expect {
            if e.node >= sim.len() {
                return Err(err(format!("expectation names node {}", e.node)));
            }
            if let Some(p) = check_expect(&sim, e, until)? {
                problems.push(p);
            }
        }
        if let Some(h) = &self.final_.vip_holders {
            if &sim.vip_holders() != h {
                problems.push(format!(
                    "VIP holders at the end: expected {h:?}, got {:?}",
                    sim.vip_holders()
                ));
            }
        }
        if let Some(states) = &self.final_.states {
            let got: Vec<State> = (0..sim.len()).map(|n| sim.state(n)).collect();
            let want: Vec<State> = states.iter().map(|s| State::from(*s)).collect();
            if got != want {
                problems.push(format!("states at the end: expected {want:?}, got {got:?}"));
            }
        }
        if !sim.violations().is_empty() {
            problems.push(format!("invariant violations: {:?}", sim.violations()));
        }
        if problems.is_empty() {
            Ok(sim)
        } else {
            Err(err(format!(
                "scenario {}: {}",
                self.name,
                problems.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_seconds_exactly() {
        assert_eq!(parse_instant("0"), Ok(Instant::ZERO));
        assert_eq!(
            parse_instant("13.0234375"),
            Ok(Instant::from_nanos(13_023_437_500))
        );
        assert_eq!(
            parse_instant("1.000000001"),
            Ok(Instant::from_nanos(1_000_000_001))
        );
        assert!(parse_instant("1.0000000001").is_err());
        assert!(parse_instant("-1").is_err());
        assert!(parse_instant("1e3").is_err());
        assert!(parse_instant("").is_err());
    }

    #[test]
    fn steps_flatten_the_action() {
        let s = Scenario::from_yaml(
            "name: x\nuntil: \"1\"\nnodes: [{host: 1, priority: 100}]\n\
             steps:\n  - { at: \"0.5\", do: tracked, node: 0, weight: -10, fault: false }\n  - { at: \"0\", do: heal }\n",
        )
        .expect("valid yaml");
        assert_eq!(
            s.steps[0].action,
            Action::Tracked {
                node: 0,
                weight: -10,
                fault: false
            }
        );
        assert_eq!(s.steps[1].action, Action::Heal);
    }
}
