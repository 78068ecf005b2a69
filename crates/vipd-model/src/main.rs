//! `vipd-model`: the model checker with bounds of your choosing (deeper than CI's).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use vipd_model::{Bounds, Kinds};

/// Model-check three vipd nodes within these bounds (every interleaving).
#[derive(Parser)]
struct Args {
    /// Adverts lost.
    #[arg(long, default_value_t = 2)]
    drops: u8,
    /// Adverts delivered as late as --delay-ms allows.
    #[arg(long, default_value_t = 2)]
    lates: u8,
    /// Disturbances: check failures and recoveries, maintenance, stops and starts, reloads.
    #[arg(long, default_value_t = 2)]
    events: u8,
    /// Partitions (one host cut off, healed before --until).
    #[arg(long, default_value_t = 1)]
    partitions: u8,
    /// Disturbances happen up to this many seconds.
    #[arg(long, default_value_t = 6)]
    until: u64,
    /// The longest an advert is under way, in milliseconds.
    #[arg(long, default_value_t = 20)]
    delay_ms: u64,
    /// How late a timer may fire, in milliseconds.
    #[arg(long, default_value_t = 0)]
    slack_ms: u64,
    /// Let one host's adverts to another overtake each other.
    #[arg(long)]
    reorder: bool,
    /// Stop at this depth (steps); unbounded when absent (time bounds it).
    #[arg(long)]
    depth: Option<usize>,
    /// Checker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Run the CI scenarios instead.
    #[arg(long)]
    ci: bool,
    #[arg(long)]
    checks: bool,
    #[arg(long)]
    maintenance: bool,
    #[arg(long)]
    stop_start: bool,
    #[arg(long)]
    reload: bool,
    #[arg(long)]
    partition: bool,
    /// Every kind of disturbance.
    #[arg(long)]
    all: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut out = std::io::stdout();
    let runs = if a.ci {
        vipd_model::scenarios()
    } else {
        let kinds = if a.all {
            Kinds::ALL
        } else {
            Kinds {
                checks: a.checks,
                maintenance: a.maintenance,
                stop_start: a.stop_start,
                reload: a.reload,
                partition: a.partition,
            }
        };
        vec![(
            "custom",
            Bounds {
                drops: a.drops,
                lates: a.lates,
                events: a.events,
                partitions: a.partitions,
                kinds,
                disturb_until: vipd_engine::Instant::ZERO + Duration::from_secs(a.until),
                max_delay: Duration::from_millis(a.delay_ms),
                timer_slack: Duration::from_millis(a.slack_ms),
                reorder_link: a.reorder,
                ..Bounds::quiet()
            },
        )]
    };
    let mut ok = true;
    for (label, bounds) in runs {
        ok &= vipd_model::check(label, bounds, threads, a.depth, &mut out)
            .failures
            .is_empty();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
