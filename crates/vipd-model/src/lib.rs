//! vipd-model: the election model-checked. Three hosts, each running the real
//! `vipd-node` [`vipd_node::Node`] (and so the real `vipd-engine` router) with one VRRP
//! instance (VRID 51, priorities 200 / 150 / 100, preempt on, adverts every second),
//! on a network that delays, reorders, drops and partitions adverts; timers that fire
//! in any order within their bounds; checks that fail and recover, maintenance, planned
//! stops and starts, reloads that change a priority. [stateright] explores every
//! interleaving within the [`Bounds`] breadth-first and checks [`props`] in every state.
//!
//! Why stateright: it is the maintained Rust model checker (0.31, 2025), it checks
//! models written in plain Rust — so the model runs the project's own code, not a
//! re-statement of it — with `always` / `eventually` / `sometimes` properties, and it
//! prints the path of actions to a counterexample.
//!
//! # The model
//! - [`host`]: one host = a node behind a shell that answers at once; since a `Node`
//!   cannot be cloned or hashed, a state keeps each host's input log and the node is
//!   rebuilt by replaying it (the node is deterministic).
//! - [`model`]: the actions and the clock (see there for how time moves).
//! - [`props`]: what must hold, and what must sometimes happen (so that the run is
//!   known to reach failovers and handovers at all).
//!
//! # Running it
//! `cargo test --release -p vipd-model` runs the bounded scenarios of [`scenarios`]
//! (the CI run); a debug build runs [`smoke_scenarios`] (`cargo test --workspace`).
//! The network delivers each link's adverts in order unless `--reorder` is given.
//! A deeper run, every kind of disturbance at once:
//! ```text
//! cargo run -p vipd-model --release -- --events 3 --drops 2 --lates 2 --partitions 1 --all
//! ```
//! (`--help` lists the bounds.)

pub mod bounds;
pub mod host;
pub mod log;
pub mod model;
pub mod props;

use std::io::Write;
use std::time::Duration;

use stateright::{Checker, Model};

pub use bounds::{Bounds, Kinds};
pub use model::{Action, ModelState, VrrpModel};

/// The scenarios CI checks (`cargo test --release -p vipd-model`): each a family of
/// disturbances with its budgets. Measured on a loaded 2-core machine, release, 2
/// threads: 19 to 28 s in all, 177 511 unique states, depth up to 66.
pub fn scenarios() -> Vec<(&'static str, Bounds)> {
    scenario_set(false)
}

/// Smaller budgets of the same scenarios, for a debug build (`cargo test --workspace`),
/// where replaying nodes is 6 to 17 times slower; without the maintenance scenario
/// (59 090 states even with one event: 27-90 s in debug), which the release run
/// checks. Planned handovers are checked here by the stops scenario.
pub fn smoke_scenarios() -> Vec<(&'static str, Bounds)> {
    scenario_set(true)
        .into_iter()
        .filter(|(_, b)| !b.kinds.maintenance)
        .collect()
}

fn scenario_set(small: bool) -> Vec<(&'static str, Bounds)> {
    let at = |s: u64| vipd_engine::Instant::ZERO + Duration::from_secs(s);
    let base = Bounds {
        disturb_until: at(5),
        ..Bounds::quiet()
    };
    let only = |kinds: Kinds| kinds;
    let events = if small { 1 } else { 2 };
    vec![
        (
            "network: start-up with adverts lost and late",
            Bounds {
                drops: 1,
                lates: u8::from(!small),
                ..base.clone()
            },
        ),
        (
            "checks: a service dies and comes back",
            Bounds {
                events,
                kinds: only(Kinds {
                    checks: true,
                    ..Kinds::default()
                }),
                ..base.clone()
            },
        ),
        (
            "stops: SIGTERM (make-before-break) and starts",
            Bounds {
                events,
                kinds: only(Kinds {
                    stop_start: true,
                    ..Kinds::default()
                }),
                ..base.clone()
            },
        ),
        (
            "maintenance: on (make-before-break)",
            Bounds {
                events: 1,
                disturb_until: at(4),
                kinds: only(Kinds {
                    maintenance: true,
                    ..Kinds::default()
                }),
                ..base.clone()
            },
        ),
        (
            "partition: one host cut off and healed",
            Bounds {
                partitions: 1,
                lates: u8::from(!small),
                kinds: only(Kinds {
                    partition: true,
                    ..Kinds::default()
                }),
                ..base.clone()
            },
        ),
        (
            "reload: priorities changed by SIGHUP",
            Bounds {
                events: 1,
                kinds: only(Kinds {
                    reload: true,
                    ..Kinds::default()
                }),
                ..base
            },
        ),
    ]
}

/// What one run of the checker found.
pub struct Outcome {
    pub states: usize,
    pub unique: usize,
    pub depth: usize,
    pub elapsed: Duration,
    /// Properties that failed (`always`, `eventually`) or were never reached
    /// (`sometimes`), each with its path, readable.
    pub failures: Vec<String>,
}

/// Checks `bounds` breadth-first on `threads` threads (up to `max_depth` steps if
/// given), printing the numbers and any failure to `out`.
pub fn check(
    label: &str,
    bounds: Bounds,
    threads: usize,
    max_depth: Option<usize>,
    out: &mut impl Write,
) -> Outcome {
    let model = VrrpModel::new(bounds);
    let props = model.properties();
    let start = std::time::Instant::now();
    let mut builder = model.checker().threads(threads.max(1));
    if let Some(d) = max_depth {
        builder = builder.target_max_depth(d);
    }
    let checker = builder.spawn_bfs().join();
    let elapsed = start.elapsed();
    let discoveries = checker.discoveries();
    let mut failures = Vec::new();
    for p in &props {
        let found = discoveries.get(p.name);
        let failed = match p.expectation {
            stateright::Expectation::Sometimes => found.is_none(),
            _ => found.is_some(),
        };
        if !failed {
            continue;
        }
        let mut text = format!("{:?} property failed: {}\n", p.expectation, p.name);
        if let Some(path) = found {
            let states = path.clone().into_states();
            for a in path.clone().into_actions() {
                text.push_str(&format!("  {a:?}\n"));
            }
            if let Some(last) = states.last() {
                text.push_str(&describe(last));
            }
        }
        failures.push(text);
    }
    let outcome = Outcome {
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        depth: checker.max_depth(),
        elapsed,
        failures,
    };
    let _ = writeln!(
        out,
        "{label}: {} states explored, {} unique, max depth {}, {:.1} s",
        outcome.states,
        outcome.unique,
        outcome.depth,
        outcome.elapsed.as_secs_f64()
    );
    for f in &outcome.failures {
        let _ = writeln!(out, "{f}");
    }
    outcome
}

/// The last state of a path, readable.
pub fn describe(s: &ModelState) -> String {
    let mut text = format!("  last state at {}:\n", s.now);
    for (h, slot) in s.hosts.iter().enumerate() {
        let v = &slot.view;
        text.push_str(&format!(
            "    {}: running {}, state {:?}, effective {:?}, holds {}, maintenance {}, check up {}, window {:?}, handover {:?}, deadline {:?}\n",
            model::name(h),
            v.running,
            v.state.map(|s| s.as_str()),
            v.effective,
            v.holds,
            v.maintenance,
            v.check_up,
            v.window,
            v.handover,
            v.deadline,
        ));
    }
    text.push_str(&format!(
        "    under way: {}; partition {:?}; used {:?}; last disturbance {}\n",
        s.net.len(),
        s.partition.map(model::name),
        s.used,
        s.last_disturbance
    ));
    text
}
